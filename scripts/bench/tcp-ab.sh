#!/usr/bin/env bash
# Bulk TCP throughput, paired A/B over many short rounds: nothing attached vs `novascope
# --probes=tcp` (plus any variants named in VARIANTS: `empty` = empty programs on the probe's
# hooks, `idle` = a novascope process with no hook on the TCP path, a control for the agent
# process itself). On a shared VM the throughput drifts by 10-30% within seconds, so
# one tcp-tax.sh run cannot resolve a 2% change; pairing each round's runs and averaging log
# ratios over many rounds gives a confidence interval for it.
# Usage: tcp-ab.sh [ROUNDS] [SECS]    (VARIANTS="tcp empty idle" to add controls)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-40}
SECS=${2:-2}
X=build/tests/progs/tcp_xfer
HOLD=build/tests/progs/bpf_hold
EMPTY=build/bench/empty_tcp.bpf.o
for f in $X $HOLD $EMPTY bin/novascope; do
	[ -e $f ] || { echo "missing $f: make all $X $HOLD $EMPTY" >&2; exit 1; }
done
NSA=nsaba$$ NSB=nsabb$$ srv= bg=
cleanup() {
	[ -z "$bg" ] || { kill "$bg" 2>/dev/null; wait "$bg" 2>/dev/null || true; }
	[ -z "$srv" ] || { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null || true; }
	ip netns del $NSA 2>/dev/null || true
	ip netns del $NSB 2>/dev/null || true
}
trap cleanup EXIT
. scripts/bench/tcp-common.bash
bench_veth $NSA $NSB 10.81.0
ip netns exec $NSB $X serve 5001 >/dev/null &
srv=$!
sleep 0.5
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run() { bench_xfer $srv $NSA bulk 10.81.0.2 5001 "$SECS"; } # -> "MB/s client_ns server_ns"
with() { # CMD...: run the workload after a second with CMD in the background
	"$@" >/dev/null 2>&1 &
	bg=$!
	sleep 1
	run
	kill $bg
	wait $bg 2>/dev/null || true
	bg=
}
variant() {
	case $1 in
	none) sleep 1; run ;;
	tcp) with bin/novascope --probes=tcp --web.listen-address=127.0.0.1:$port ;;
	idle) with bin/novascope --probes=rdma_counters --web.listen-address=127.0.0.1:$port ;;
	empty) with $HOLD $EMPTY ;;
	*) echo "unknown variant $1" >&2; exit 2 ;;
	esac
}
read -r -a vs <<<"none ${VARIANTS:-tcp}"
declare -A res
for r in $(seq 0 $((ROUNDS - 1))); do
	for k in $(seq 0 $((${#vs[@]} - 1))); do
		v=${vs[$(((r + k) % ${#vs[@]}))]}
		res[$v]+="$(variant $v);"
	done
done
args=()
for v in "${vs[@]}"; do args+=("$v=${res[$v]}"); done
python3 - "$ROUNDS" "$SECS" "${args[@]}" <<'PY'
import math, statistics as st, sys
rounds, secs = sys.argv[1], sys.argv[2]
res = {}
for a in sys.argv[3:]:
    k, v = a.split("=", 1)
    res[k] = [list(map(float, x.split())) for x in v.split(";") if x.strip()]
base = res.pop("none")
print(f"bulk throughput, {rounds} paired rounds x {secs} s (veth between two namespaces)\n")
print("| variant | median MB/s | throughput vs none: geometric mean (95% CI) | median [IQR] | "
      "CPU time per MB vs none: median [IQR] |")
print("|---|---|---|---|---|")
print(f"| none | {st.median(x[0] for x in base):.1f} | | | |")
for name, rows in res.items():
    lr = [math.log(y[0] / x[0]) for x, y in zip(base, rows)]
    m, se = st.mean(lr), st.stdev(lr) / math.sqrt(len(lr))
    thr = sorted(y[0] / x[0] - 1 for x, y in zip(base, rows))
    cpu = sorted(((y[1] + y[2]) / y[0]) / ((x[1] + x[2]) / x[0]) - 1 for x, y in zip(base, rows))
    q, qc = st.quantiles(thr, n=4), st.quantiles(cpu, n=4)
    print(f"| {name} | {st.median(r[0] for r in rows):.1f} | {math.expm1(m) * 100:+.1f}% "
          f"({math.expm1(m - 1.96 * se) * 100:+.1f}% .. {math.expm1(m + 1.96 * se) * 100:+.1f}%) | "
          f"{st.median(thr) * 100:+.1f}% [{q[0] * 100:+.1f}% .. {q[2] * 100:+.1f}%] | "
          f"{st.median(cpu) * 100:+.1f}% [{qc[0] * 100:+.1f}% .. {qc[2] * 100:+.1f}%] |")
PY
