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

# ns_victim CPUS CGROUP_DIR SECONDS: tests/progs/runq_victim, pinned to CPUS, in the cgroup
# CGROUP_DIR, blocked until the test writes a line to fd 3 (then it runs SECONDS of its load and
# prints "done" to $NS_TMP/victim.out; ns_victim_done waits for that); sets VPID.
ns_victim() {
	mkfifo "$NS_TMP/ctl"
	(
		echo "$BASHPID" >"$2/cgroup.procs"
		exec taskset -c "$1" "$NS_BUILD/tests/progs/runq_victim" "$3" <"$NS_TMP/ctl" \
			>"$NS_TMP/victim.out"
	) &
	VPID=$!
	exec 3>"$NS_TMP/ctl"
	ns_on_exit "exec 3>&-; kill $VPID 2>/dev/null; wait $VPID 2>/dev/null"
	for _ in $(seq 50); do grep -q ready "$NS_TMP/victim.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$NS_TMP/victim.out" || ns_fail "victim did not start"
}

# ns_victim_done [TENTHS]: wait (up to TENTHS tenths of a second, default 100) for "done".
ns_victim_done() {
	for _ in $(seq "${1:-100}"); do grep -q done "$NS_TMP/victim.out" && return 0; sleep 0.1; done
	ns_fail "victim did not finish"
}

# ns_cg_make PREFIX: a fresh cgroup v2 directory PREFIX-<pid>, removed at exit; sets CG_NAME
# (the name, also the cgroup path below the root) and CG_DIR.
ns_cg_make() {
	local root
	root=$(ns_cg2_root)
	[ -n "$root" ] || ns_fail "no cgroup2 mount in /proc/self/mountinfo"
	CG_NAME=$1-$$
	CG_DIR=$root/$CG_NAME
	mkdir "$CG_DIR"
	ns_on_exit "rmdir $CG_DIR"
}
