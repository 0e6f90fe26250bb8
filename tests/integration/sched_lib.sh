# Helpers shared by the sched and kvm integration tests (sourced after tests/lib.sh).

# Mount point of the cgroup v2 hierarchy, found the way userspace/attrib.c finds it: the first
# cgroup2 mount in mountinfo (/sys/fs/cgroup on unified systems, /sys/fs/cgroup/unified on
# hybrid ones).
ns_cg2_root() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

# ns_hogs N CPU: start N busy loops pinned to CPU; their pids go to HOG_PIDS; killed at exit.
ns_hogs() {
	local i
	HOG_PIDS=()
	for ((i = 0; i < $1; i++)); do
		taskset -c "$2" sh -c 'while :; do :; done' &
		HOG_PIDS+=($!)
		ns_on_exit "kill ${HOG_PIDS[-1]} 2>/dev/null"
	done
}
ns_hogs_stop() {
	kill "${HOG_PIDS[@]}" 2>/dev/null || true
	wait "${HOG_PIDS[@]}" 2>/dev/null || true
}

# Field N (1-based) of /proc/PID/task/TID/schedstat: 1 on-CPU ns, 2 run_delay ns, 3 slices.
ns_schedstat() { awk -v f="$3" '{print $f}' "/proc/$1/task/$2/schedstat"; }

# ns_within A B PCT: is A within PCT percent of B (B > 0)?
ns_within() {
	python3 -c 'import sys; a, b, p = map(float, sys.argv[1:]); sys.exit(0 if b > 0 and abs(a - b) <= b * p / 100 else 1)' "$@"
}
