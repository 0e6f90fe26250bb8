#!/usr/bin/env bash
# Block tax: O_DIRECT 4 KiB random-read rate on a loop device (direct I/O, scheduler none,
# sparse backing file: the loop path is pure CPU, so a per-I/O tax shows most), side by side
# in one run, for
#   (a) nothing attached, (b) novascope's block probe (default --block.slow-threshold=50ms),
#   (c) libbpf-tools `biolatency`, (d) `biolatency -Q -D` (queue time, per disk: closer to
#   what novascope exports).
# Variants are interleaved over several rounds and the median kept, so a noisy neighbour hurts
# every variant alike. A second pass, with BPF run-time statistics on, gives the mean CPU time
# of one run of each hook's program (ns), which other tenants' I/O does not disturb.
# Usage: block-tax.sh [SECONDS] [ROUNDS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/stats-common.bash
SECS=${1:-3}
ROUNDS=${2:-5}
THREADS=${3:-1}
B=build/tests/progs
[ -x $B/dio_bench ] || make -s $B/dio_bench
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done; pids=(); }
img=$(mktemp /tmp/block-tax.XXXXXX)
truncate -s 1G "$img"
dev=$(losetup -f --show --direct-io=on "$img")
name=$(basename "$dev")
echo none >/sys/block/$name/queue/scheduler
trap 'cleanup; losetup -d $dev; rm -f $img' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_variant() {
	case $1 in
	none) ;;
	novascope)
		bin/novascope --probes=block --web.listen-address=127.0.0.1:$port ${NS_FLAGS:-} >/dev/null 2>&1 &
		pids+=($!)
		for _ in $(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:$port/health && break; sleep 0.1; done ;;
	biolatency) /usr/sbin/biolatency 3600 >/dev/null 2>&1 & pids+=($!); sleep 1.5 ;;
	biolatency-QD) /usr/sbin/biolatency -Q -D 3600 >/dev/null 2>&1 & pids+=($!); sleep 1.5 ;;
	esac
}
bench() { $B/dio_bench "$dev" "$SECS" "$THREADS" read; }

declare -A res
variants=(none novascope biolatency biolatency-QD)
$B/dio_bench "$dev" 1 "$THREADS" read >/dev/null # warm up
for r in $(seq 1 "$ROUNDS"); do
	for v in "${variants[@]}"; do
		start_variant $v
		res[$v]+="$(bench) "
		cleanup
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# Pass 2: mean ns per program run, BPF_ENABLE_STATS held by a helper for the pass.
stats_hold
prog_ns() { # pid -> "name:ns_per_run ..." for the programs that pid holds and that ran
	prog_stats "$1" | tr ' ' '\n' | awk -F: '$2 > 0 {printf "%s%s:%.0f", sep, $1, $3 / $2; sep = " "} END {print ""}'
}
declare -A cost
for r in $(seq 1 "$ROUNDS"); do
	for v in novascope biolatency biolatency-QD; do
		start_variant $v
		bench >/dev/null
		cost[$v]+="$(prog_ns "${pids[0]}") "
		cleanup
	done
done
# Median per program across rounds: "name:ns name:ns ..." -> "name:median ..."
cost_median() { tr ' ' '\n' | grep : | awk -F: '{v[$1] = v[$1] " " $2} END {for (k in v) print k, v[k]}' |
	while read -r name vals; do echo "$name:$(echo "$vals" | median)"; done | sort | paste -sd' '; }
kill $stats_pid; wait $stats_pid 2>/dev/null || true

python3 - "$ROUNDS" "$SECS" "$THREADS" "$(uname -r)" \
	"$(echo "${res[none]}" | median)" "$(echo "${res[novascope]}" | median)" \
	"$(echo "${res[biolatency]}" | median)" "$(echo "${res[biolatency-QD]}" | median)" \
	"$(echo "${cost[novascope]}" | cost_median)" "$(echo "${cost[biolatency]}" | cost_median)" \
	"$(echo "${cost[biolatency-QD]}" | cost_median)" <<'PY'
import sys
rounds, secs, threads, kernel = sys.argv[1:5]
a, b, c, d = map(float, sys.argv[5:9])
print(f"O_DIRECT 4 KiB random reads on a loop device ({threads} thread(s)), kernel {kernel}:")
print(f"median of {rounds} interleaved rounds x {secs}s\n")
print("| variant | IOPS | us per I/O | tax per I/O (us) |")
print("|---|---|---|---|")
for name, v in [("(a) nothing attached", a), ("(b) novascope block probe", b),
                ("(c) libbpf-tools biolatency", c), ("(d) libbpf-tools biolatency -Q -D", d)]:
    print(f"| {name} | {v:.0f} | {1e6 / v:.2f} | {1e6 / v - 1e6 / a:+.2f} |")
def progs(s):
    return {k: float(v) for k, v in (x.split(":") for x in s.split())}
print(f"\nMean CPU time of one program run, ns (BPF run-time stats on; median of {rounds} rounds):\n")
print("| variant | issue | complete | insert | issue + complete |")
print("|---|---|---|---|---|")
for name, arg in [("novascope", 9), ("biolatency", 10), ("biolatency -Q -D", 11)]:
    p = progs(sys.argv[arg])
    g = lambda k: next((v for n, v in p.items() if n.startswith(k)), None)
    i, c, q = g("block_rq_issue"), g("block_rq_complete"), g("block_rq_insert")
    f = lambda v: "-" if v is None else f"{v:.0f}"
    print(f"| {name} | {f(i)} | {f(c)} | {f(q)} | {f((i or 0) + (c or 0))} |")
PY
