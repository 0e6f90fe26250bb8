#!/usr/bin/env bash
# Sched tax: cost of a context switch, side by side in one run, for
#   (a) nothing attached, (b) empty tp_btf programs on the same hooks
#   (scripts/bench/empty_sched.bpf.c, held by tests/progs/bpf_hold: the cost of running any BPF
#   program there), (c) novascope's sched probe (--probes=sched; default accounting, and (c')
#   with --sched.accounting=timestamps), (d) libbpf-tools `runqlat` (Debian libbpf-tools; tp_btf
#   sched_wakeup/_new/sched_switch), and (e) a floor: the least an exact per-cgroup wait histogram
#   does at sched_switch (scripts/bench/sched_floor.bpf.c: task storage, run_delay, the cgroup's
#   hash entry, the histogram), held by bpf_hold.
# Workload: tests/progs/pipe_pingpong, two processes pinned to CPU 0 passing a byte through two
# pipes (what `perf bench sched pipe` does), so that every round trip is exactly two task-to-task
# switches and two wakeups; it reads both processes' CPU-time clocks around the loop only.
#
# Pass 1 (the tax): CPU time per round trip. On this VM the host's contention is charged to the
# guest's tasks as CPU time (no steal accounting) and comes in spells of seconds, so one long run
# per variant is either lucky or not. Each visit of a variant takes RUNS short samples, keeps the
# least (noise only ever adds time); ROUNDS rounds visit the variants in rotating order. Printed:
# the least per variant over all rounds, and the ratio novascope / runqlat paired within each
# round (median with its distribution-free 95% interval, and quartiles), which does not depend on
# one lucky visit.
# Pass 2 (the programs): with BPF run-time stats on, the time of one run of each program (the
# least of 3 visits) and how many runs a switch takes; net of an empty program (the stats' own
# clock reads), that is the work each tool adds beyond entering its programs.
# Usage: sched-tax.sh [LOOPS] [ROUNDS]   (env RUNS: samples per visit, default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/stats-common.bash
LOOPS=${1:-20000}
ROUNDS=${2:-15}
RUNS=${RUNS:-5}
RUNQLAT=${RUNQLAT:-$(command -v runqlat || dpkg -L libbpf-tools 2>/dev/null | grep '/runqlat$' | head -1)}
[ -x "$RUNQLAT" ] || { echo "sched-tax: runqlat not found (apt-get install libbpf-tools)" >&2; exit 1; }
[ -x build/tests/progs/pipe_pingpong ] || { echo "sched-tax: build/tests/progs/pipe_pingpong missing (make bench builds it)" >&2; exit 1; }

pids=()
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; pids=(); }
restore() { cleanup; sysctl -qw kernel.bpf_stats_enabled="$stats_before" || true; }
trap restore EXIT
# Run-time stats add two clock reads to every program run: they must be off for pass 1.
sysctl -qw kernel.bpf_stats_enabled=0
if [ "$(sysctl -n kernel.bpf_stats_enabled)" != 0 ]; then
	echo "sched-tax: BPF run-time stats stay on (another process holds BPF_ENABLE_STATS);" \
		"pass 1 would charge their clock reads to every program" >&2
	exit 1
fi

# RUNS samples of LOOPS round trips; prints the least, in CPU-us per round trip of the two pinned
# processes (the BPF programs run in their context).
bench() {
	build/tests/progs/pipe_pingpong "$LOOPS" "$RUNS" 0 | sort -n | head -1 | awk '{printf "%.4f\n", $1 / 1000}'
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_variant() { # name [extra novascope flags]
	case $1 in
	none) ;;
	empty) build/tests/progs/bpf_hold build/bench/empty_sched.bpf.o >/dev/null & pids+=($!); sleep 0.5 ;;
	floor) build/tests/progs/bpf_hold build/bench/sched_floor.bpf.o >/dev/null & pids+=($!); sleep 0.5 ;;
	novascope | novascope_ts)
		acc=auto
		[ "$1" = novascope ] || acc=timestamps
		bin/novascope --probes=sched --sched.accounting=$acc --web.listen-address=127.0.0.1:$port \
			"${@:2}" >/dev/null 2>&1 &
		pids+=($!); sleep 1 ;;
	runqlat) "$RUNQLAT" >/dev/null 2>&1 & pids+=($!); sleep 1.5 ;;
	esac
}

declare -A res
variants=(none empty novascope novascope_ts runqlat floor)
nv=${#variants[@]}
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 0 $((nv - 1))); do
		v=${variants[$(((i + r) % nv))]}
		start_variant "$v"
		res[$v]+="$(bench) "
		cleanup
	done
done

# Pass 2: "name runs ns" per program, over one bench of each variant, stats held by a helper.
stats_hold
declare -A cost
for _ in 1 2 3; do
	for v in empty novascope runqlat floor; do
		start_variant "$v"
		before=$(prog_stats "${pids[0]}")
		RUNS=1 bench >/dev/null
		cost[$v]+="${before// /,}|$(prog_stats "${pids[0]}" | tr ' ' ',') "
		cleanup
	done
done
kill "$stats_pid"; wait "$stats_pid" 2>/dev/null || true

python3 - "$ROUNDS" "$RUNS" "$LOOPS" "$(uname -r)" "${res[none]}" "${res[empty]}" \
	"${res[novascope]}" "${res[novascope_ts]}" "${res[runqlat]}" "${res[floor]}" \
	"${cost[empty]}" "${cost[novascope]}" "${cost[runqlat]}" "${cost[floor]}" <<'PY'
import math, statistics, sys
rounds, runs, loops, kernel = sys.argv[1:5]
a, e, n, t, r, f = ([float(x) for x in s.split()] for s in sys.argv[5:11])
print(f"pipe ping-pong pinned to CPU 0 (2 switches + 2 wakeups per round trip), kernel "
      f"{kernel}, CPU time; {rounds} rounds of interleaved visits, each the least of {runs} samples x "
      f"{loops} round trips\n")
print("| variant | CPU us/round trip (least) | overhead ns/switch |")
print("|---|---|---|")
ov = lambda v: (min(v) - min(a)) * 1000 / 2
for name, v in [("(a) nothing attached", a), ("(b) empty tp_btf programs, same hooks", e),
                ("(c) novascope sched probe (default: schedstat accounting)", n),
                ("(c') novascope sched probe, --sched.accounting=timestamps", t),
                ("(d) libbpf-tools runqlat", r),
                ("(e) floor: task storage + run_delay + cgroup hash + histogram", f)]:
    print(f"| {name} | {min(v):.3f} | {ov(v):.0f} |")
def median_ci(q):
    """Distribution-free ~95% interval of the median of sorted q: the k-th smallest to the k-th
    largest, k the largest with P(Binomial(n, 1/2) < k) <= 2.5%."""
    n, k, tail = len(q), 0, 0.0
    while tail + math.comb(n, k) / 2**n <= 0.025:
        tail += math.comb(n, k) / 2**n
        k += 1
    return (q[k - 1], q[n - k]) if k else None
def paired(x):
    q = sorted((xi - ai) / (ri - ai) for xi, ai, ri in zip(x, a, r) if ri > ai)
    if len(q) < 2:
        return "n/a"
    qs, ci = statistics.quantiles(q, n=4), median_ci(q)
    ci = f"95% CI of the median {ci[0]:.2f}-{ci[1]:.2f}, " if ci else ""
    return (f"{statistics.median(q):.2f}x ({ci}quartiles {qs[0]:.2f}-{qs[2]:.2f}, "
            f"{len(q)} rounds)")
print(f"\nnovascope overhead / runqlat overhead: least of all rounds {ov(n) / ov(r):.2f}x, "
      f"paired per round {paired(n)} (target <= 0.6)")
print(f"with --sched.accounting=timestamps: {ov(t) / ov(r):.2f}x, paired {paired(t)}")
print(f"floor / runqlat: {ov(f) / ov(r):.2f}x, paired {paired(f)}")

def progs(s):  # "before|after before|after ..." -> {name: (runs, ns)} of the least ns per run
    best = {}
    for visit in s.split():
        b, c = ({p.split(":")[0]: tuple(map(int, p.split(":")[1:])) for p in x.split(",") if p}
                for x in visit.split("|"))
        for k in c:
            d = (c[k][0] - b.get(k, (0, 0))[0], c[k][1] - b.get(k, (0, 0))[1])
            if d[0] and (k not in best or d[1] / d[0] < best[k][1] / best[k][0]):
                best[k] = d
    return best
switches = 2 * int(loops)
costs = {name: progs(s) for name, s in zip(("empty", "novascope", "runqlat", "floor"), sys.argv[11:15])}
em = costs["empty"]
runs_e = sum(c for c, _ in em.values())
empty_ns = sum(ns for _, ns in em.values()) / max(runs_e, 1)
print(f"\nPrograms under BPF run-time stats, the least of 3 visits of {loops} round trips each (an "
      f"empty program reads {empty_ns:.0f} ns per run: the stats' clock reads, subtracted below)\n")
print("| variant | program | runs per switch | ns per run | net of empty |")
print("|---|---|---|---|---|")
work = {}
for v in ("novascope", "runqlat", "floor"):
    work[v] = 0.0
    for name, (cnt, ns) in sorted(costs[v].items()):
        if not cnt:
            continue
        per = cnt / switches
        net = ns / cnt - empty_ns
        work[v] += per * net
        print(f"| {v} | {name} | {per:.2f} | {ns / cnt:.0f} | {net:.0f} |")
print(f"\nWork per switch beyond entering the programs: novascope {work['novascope']:.0f} ns, "
      f"runqlat {work['runqlat']:.0f} ns, floor {work['floor']:.0f} ns")
PY
