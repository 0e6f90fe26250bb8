#!/usr/bin/env bash
# What the RDMA probes cost.
#  1. rdma_uprobes: ns per (ibv_reg_mr + ibv_dereg_mr) of a client on the test libraries
#     (instant registrations), with nothing attached, with uprobe_multi links and with one
#     perf uprobe per function. Each iteration runs three probed functions (ibv_reg_mr, the
#     ibv_reg_mr_iova2 it calls, ibv_dereg_mr), each with a uprobe and a uretprobe.
#     For scale: the same functions with empty bpftrace uprobes and uretprobes.
#  2. rdma_counters: the daemon's own collection time with only that probe, on the fixture
#     tree (2 ports, ~150 files), and the time to detach the uprobes at shutdown.
# Usage: scripts/bench/rdma-tax.sh [iterations]   (after make all build/tests/progs/rdma_client)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-300000}
bin=bin/novascope
client=build/tests/progs/rdma_client
fake=build/tests/rdma_fake
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # flags...
	local p
	p=$(port)
	url=http://127.0.0.1:$p
	"$bin" --web.listen-address=127.0.0.1:$p "$@" >"$tmp/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -s -o /dev/null "$url/health" && return 0; sleep 0.1; done
	cat "$tmp/log" >&2
	exit 1
}
stop() { # sets stop_ms: how long the shutdown (detaching) took
	local t0
	t0=$(date +%s%N)
	kill "$pid"
	wait "$pid" || true
	pid=
	stop_ms=$((($(date +%s%N) - t0) / 1000000))
}
run() { # median of 3 runs, ns per iteration
	for _ in 1 2 3; do
		LD_LIBRARY_PATH=$fake NS_FAKE_RDMA_MR=0 $client bench "$n" | awk '{print $2}'
	done | sort -n | sed -n 2p
}

base=$(run)
lib=$PWD/$fake/libibverbs.so.1
probes="ibv_reg_mr ibv_reg_mr_iova2 ibv_dereg_mr"
bt="$(for f in $probes; do printf 'uprobe:%s:%s {} uretprobe:%s:%s {} ' "$lib" $f "$lib" $f; done)"
bpftrace -e "$bt" >"$tmp/bt" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q Attaching "$tmp/bt" && break; sleep 0.1; done
sleep 1
empty=$(run)
stop
bt_stop=$stop_ms
start --probes=rdma_uprobes --rdma.lib-path=$fake --collect.bpf-stats
multi=$(run)
sleep 1.2
bpf_ns=$(curl -s "$url/metrics" | awk '/^novascope_bpf_run_time_seconds_total/{t=$2} /^novascope_bpf_run_count_total/{c=$2} END{printf "%.0f", t/c*1e9}')
stop
multi_stop=$stop_ms
start --probes=rdma_uprobes --rdma.lib-path=$fake --rdma.uprobe-multi=false
perf=$(run)
stop
perf_stop=$stop_ms
cp -a tests/fixtures/rdma "$tmp/ib"
start --probes=rdma_counters --rdma.sysfs-root="$tmp/ib" --collect.interval=100ms
sleep 5
coll=$(curl -s "$url/metrics" | awk '/^novascope_collect_duration_seconds_sum/{s=$2} /^novascope_collect_duration_seconds_count/{c=$2} END{printf "%.3f", s/c*1000}')
stop

printf '%-44s %12s %16s %12s\n' variant "ns/iter" "ns/probed call" "detach ms"
printf '%-44s %12s %16s %12s\n' "nothing attached" "$base" - -
for v in "empty uprobe+uretprobe (bpftrace):$empty:$bt_stop" "uprobe_multi links (6.6+):$multi:$multi_stop" "perf uprobe per function:$perf:$perf_stop"; do
	IFS=: read -r name val st <<<"$v"
	printf '%-44s %12s %16.0f %12s\n' "$name" "$val" "$(echo "($val - $base) / 3" | bc -l)" "$st"
done
printf '\nBPF time per program run (kernel.bpf_stats, uprobe_multi run): %s ns\n' "$bpf_ns"
printf 'rdma_counters collection on the fixture tree (2 ports): %s ms per interval\n' "$coll"
