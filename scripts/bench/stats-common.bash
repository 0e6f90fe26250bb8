# Sourced by block-tax.sh and sched-tax.sh (not a benchmark of its own: run.sh runs *.sh).

# stats_hold: keep BPF run-time stats on (BPF_ENABLE_STATS) while a helper lives; sets stats_pid.
stats_hold() {
	python3 -c '
import ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint32 * 16)()  # enable_stats.type = BPF_STATS_RUN_TIME (0)
fd = libc.syscall(321, 32, ctypes.byref(attr), 64)  # bpf(BPF_ENABLE_STATS)
print(fd, flush=True)
signal.pause()' >/dev/null &
	stats_pid=$!
}

# prog_stats PID: "name:run_cnt:run_time_ns ..." (sorted) for the programs that PID holds.
prog_stats() {
	for id in $(grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un); do
		bpftool -j prog show id "$id"
	done | python3 -c '
import json, sys
dec = json.JSONDecoder(); s = sys.stdin.read().strip(); i = 0; out = []
while i < len(s):
    p, j = dec.raw_decode(s, i); i = j
    while i < len(s) and s[i].isspace(): i += 1
    out.append("%s:%d:%d" % (p["name"], p.get("run_cnt", 0), p.get("run_time_ns", 0)))
print(" ".join(sorted(out)))'
}
