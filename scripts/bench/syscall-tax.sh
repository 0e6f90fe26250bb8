#!/usr/bin/env bash
# Syscall tax: ns per getppid, side by side in one run, for
#   (a) nothing attached, (b) an empty raw_tp sys_enter/sys_exit pair,
#   (c) novascope's syscall probe, (d) libbpf-tools `syscount -L`, and (e) the floor of any probe
#   that times each call: a tp_btf pair that only reads the clock at enter and exit
#   (scripts/bench/clock_pair.bpf.c).
# Prints each with its overhead over (a), novascope's overhead as a ratio of (b)'s and (d)'s, and
# the same ratios for (e): when (e) already misses a target, no per-call timer can meet it here.
# The variants are interleaved over several rounds and the median is kept, so that a noisy
# neighbour hurts every variant alike. Usage: syscall-tax.sh [CALLS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
CALLS=${1:-2000000}
ROUNDS=${2:-5}
B=build/tests/progs
bench() { taskset -c 0 $B/syscall_bench "$CALLS" 3; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; pids=(); }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_variant() { # name -> prints ns/call
	case $1 in
	none) bench ;;
	empty) $B/bpf_hold build/bench/empty_pair.bpf.o >/dev/null & pids+=($!); sleep 0.5; bench; cleanup ;;
	clock) $B/bpf_hold build/bench/clock_pair.bpf.o >/dev/null & pids+=($!); sleep 0.5; bench; cleanup ;;
	novascope)
		bin/novascope --probes=syscall --web.listen-address=127.0.0.1:$port >/dev/null 2>&1 &
		pids+=($!); sleep 1; bench; cleanup ;;
	syscount) /usr/sbin/syscount -L >/dev/null 2>&1 & pids+=($!); sleep 1.5; bench; cleanup ;;
	esac
}

declare -A res
variants=(none empty novascope syscount clock)
for r in $(seq 1 "$ROUNDS"); do
	for v in "${variants[@]}"; do res[$v]+="$(run_variant $v) "; done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
declare -A med
for v in "${variants[@]}"; do med[$v]=$(echo "${res[$v]}" | median); done
python3 - "${med[none]}" "${med[empty]}" "${med[novascope]}" "${med[syscount]}" "${med[clock]}" \
	"$ROUNDS" "$CALLS" <<'PY'
import sys
a, b, c, d, e = map(float, sys.argv[1:6])
rounds, calls = sys.argv[6], sys.argv[7]
print(f"ns per getppid, median of {rounds} interleaved rounds x best of 3 x {calls} calls, pinned to CPU 0\n")
print(f"| variant | ns/call | overhead ns |")
print(f"|---|---|---|")
for name, v in [("(a) nothing attached", a), ("(b) empty raw_tp sys_enter+sys_exit", b),
                ("(c) novascope syscall probe", c), ("(d) libbpf-tools syscount -L", d),
                ("(e) floor: clock read at enter and exit only", e)]:
    print(f"| {name} | {v:.1f} | {v - a:.1f} |")
ob, oc, od, oe = b - a, c - a, d - a, e - a
print(f"\nnovascope overhead / empty pair overhead: {oc / ob:.2f}x (target <= 2.0; floor {oe / ob:.2f}x)")
print(f"novascope overhead / syscount -L overhead: {oc / od:.2f}x (target <= 0.5; floor {oe / od:.2f}x)")
print(f"novascope overhead beyond the floor: {oc - oe:.1f} ns per call")
PY
