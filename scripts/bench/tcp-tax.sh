#!/usr/bin/env bash
# TCP tax: what novascope's tcp probe costs TCP traffic, side by side in one run:
#   bulk  one connection writing 64 KiB chunks for SECS seconds (MB/s)
#   rr    one connection, 64-byte request/response ping-pong (round trips/s)
#   crr   connect, 64-byte ping-pong, server closes, again (connections/s)
# between two network namespaces joined by a veth pair, with (a) nothing attached and (b)
# `novascope --probes=tcp`. Variants are interleaved over ROUNDS rounds; medians are printed.
# On a shared machine the throughput medians move by several percent from run to run, so a
# last pass also measures the cost directly: with --collect.bpf-stats, the CPU time spent in
# the probe's BPF programs per unit of work, and as a share of all CPU time busy meanwhile.
# Usage: tcp-tax.sh [SECS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-3}
ROUNDS=${2:-5}
X=build/tests/progs/tcp_xfer
[ -x $X ] && [ -x bin/novascope ] || { echo "make all build/tests/progs/tcp_xfer first" >&2; exit 1; }
NSA=nsbta$$ NSB=nsbtb$$
pids=() daemon=
cleanup() {
	[ -z "$daemon" ] || { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true; }
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	ip netns del $NSA 2>/dev/null || true
	ip netns del $NSB 2>/dev/null || true
}
trap cleanup EXIT
ip netns add $NSA
ip netns add $NSB
ip link add va netns $NSA type veth peer name vb netns $NSB
ip -n $NSA addr add 10.78.0.1/24 dev va
ip -n $NSB addr add 10.78.0.2/24 dev vb
ip -n $NSA link set va up
ip -n $NSB link set vb up
ip netns exec $NSB $X serve 5001 >/dev/null & pids+=($!)
ip netns exec $NSB $X echo 5002 >/dev/null & pids+=($!)
ip netns exec $NSB $X echo1 5003 >/dev/null & pids+=($!)
sleep 0.5
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run() { ip netns exec $NSA $X "$1" 10.78.0.2 "$2" "$SECS"; }
workloads() { echo "$(run bulk 5001) $(run rr 5002) $(run crr 5003)"; }
variant() {
	case $1 in
	none) workloads ;;
	tcp)
		bin/novascope --probes=tcp --web.listen-address=127.0.0.1:$port >/dev/null 2>&1 &
		daemon=$!
		for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$port/health && break; sleep 0.1; done
		workloads
		kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon= ;;
	esac
}

declare -A res
for r in $(seq 1 "$ROUNDS"); do
	for v in none tcp; do res[$v]+="$(variant $v);"; done
done

# BPF time: "bpf_ns runs busy_ns" around each workload.
bpf_now() {
	curl -sf http://127.0.0.1:$port/metrics | awk '
		/^novascope_bpf_run_time_seconds_total\{probe="tcp"\}/ { t = $2 }
		/^novascope_bpf_run_count_total\{probe="tcp"\}/ { c = $2 }
		END { printf "%.0f %.0f", t * 1e9, c }'
	awk '$1 == "cpu" { printf " %.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / 100 }' /proc/stat
}
bin/novascope --probes=tcp --collect.bpf-stats --collect.interval=200ms \
	--web.listen-address=127.0.0.1:$port >/dev/null 2>&1 &
daemon=$!
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$port/health && break; sleep 0.1; done
stats=""
for w in "bulk 5001" "rr 5002" "crr 5003"; do
	sleep 0.5
	before=$(bpf_now)
	out=$(run $w)
	sleep 0.5
	stats+="$out $before $(bpf_now);"
done
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=

python3 - "$SECS" "$ROUNDS" "${res[none]}" "${res[tcp]}" "$stats" <<'PY'
import statistics, sys
secs, rounds = sys.argv[1], sys.argv[2]
def parse(s):
    rows = [list(map(float, r.split())) for r in s.split(";") if r.strip()]
    return [statistics.median(col) for col in zip(*rows)]
none, tcp = parse(sys.argv[3]), parse(sys.argv[4])
print(f"veth between two namespaces, median of {rounds} interleaved rounds x {secs} s each\n")
print("| workload | nothing attached | novascope --probes=tcp | change |")
print("|---|---|---|---|")
names = ["bulk throughput (MB/s)", "request/response, 64 B (round trips/s)",
         "connect+request+close (connections/s)"]
for n, a, b in zip(names, none, tcp):
    print(f"| {n} | {a:.1f} | {b:.1f} | {(b - a) * 100 / a:+.2f}% |")
loss = (none[0] - tcp[0]) * 100 / none[0]
print(f"\nbulk throughput loss: {loss:.2f}% (target < 2%)")
secs = float(secs)
print("\nCPU time in the probe's BPF programs (separate pass, --collect.bpf-stats):\n")
print("| workload | BPF runs per unit | BPF ns per run | BPF us per unit | share of busy CPU |")
print("|---|---|---|---|---|")
units = ["MB", "round trip", "connection"]
for n, u, row in zip(names, units, [r for r in sys.argv[5].split(";") if r.strip()]):
    rate, t0, c0, b0, t1, c1, b1 = map(float, row.split())
    work = rate * secs
    runs, ns, busy = c1 - c0, t1 - t0, b1 - b0
    print(f"| {n.split(' (')[0]} | {runs / work:.1f} per {u} | {ns / max(runs, 1):.0f} | "
          f"{ns / work / 1e3:.2f} | {ns * 100 / busy:.2f}% |")
PY
