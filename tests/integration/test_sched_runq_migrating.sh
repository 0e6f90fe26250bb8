#!/usr/bin/env bash
# Run-queue waits split by a migration: the measured thread (alone in its cgroup) runs its mixed
# load against a CPU-bound thread on each of two CPUs while a mover flips its CPU affinity every
# 2 ms, so the kernel often moves it while it waits in a run queue. The kernel adds the part of
# such a wait before the move to run_delay when it dequeues the task (sched_info_dequeue()), the
# rest when the task runs: novascope's sum for the cgroup must still grow by the thread's
# run_delay growth within 5%, and count one wait per slice (schedstat accounting), not one per
# piece. The default accounting; ACCOUNTING=timestamps tests the other.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
[ "$(nproc)" -ge 2 ] || ns_fail "needs 2 CPUs"
ACC=${ACCOUNTING:-auto}
ns_cg_make novascope-runqmig
name=$CG_NAME

ns_start_daemon --probes=sched --collect.interval=500ms --sched.accounting="$ACC"
ns_victim 0 "$CG_DIR" 3
vpid=$VPID

lbl="cgroup=\"/$name\""
migr() { awk '/^se.nr_migrations/ {print $3}' /proc/$vpid/task/$vpid/sched; }
snap() { # -> "run_delay slices migrations metric_sum metric_count"
	ns_scrape >"$NS_TMP/m.txt"
	echo "$(ns_schedstat $vpid $vpid 2) $(ns_schedstat $vpid $vpid 3) $(migr)" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_runqueue_latency_seconds_sum "$lbl")" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_runqueue_latency_seconds_count "$lbl")"
}
ns_wait_collect 1.2
read -r rd0 sl0 mg0 ms0 mc0 <<<"$(snap)"
ns_hogs 1 0
h0=("${HOG_PIDS[@]}")
ns_hogs 1 1
HOG_PIDS+=("${h0[@]}")
echo go >&3
python3 -c '
import os, sys, time
pid, out = int(sys.argv[1]), sys.argv[2]
i = 0
while "done" not in open(out).read():
    os.sched_setaffinity(pid, {i % 2})
    i += 1
    time.sleep(0.002)' "$vpid" "$NS_TMP/victim.out" &
mover=$!
ns_on_exit "kill $mover 2>/dev/null"
ns_victim_done 150
wait "$mover" 2>/dev/null || true
ns_hogs_stop
ns_wait_collect 1.2
read -r rd1 sl1 mg1 ms1 mc1 <<<"$(snap)"

kernel=$(python3 -c "print(($rd1 - $rd0) / 1e9)")
ours=$(python3 -c "print($ms1 - $ms0)")
waits=$(python3 -c "print(int($mc1 - $mc0))")
echo "run_delay grew ${kernel}s over $((sl1 - sl0)) slices and $((mg1 - mg0)) migrations;" \
	"novascope sum grew ${ours}s over $waits waits"
[ $((mg1 - mg0)) -ge 100 ] || ns_fail "only $((mg1 - mg0)) migrations happened"
python3 -c "import sys; sys.exit(0 if $rd1 - $rd0 > 0.3e9 else 1)" ||
	ns_fail "too little contention to compare: run_delay grew only ${kernel}s"
ns_within "$ours" "$kernel" 5 ||
	ns_fail "runqueue latency sum grew ${ours}s, kernel run_delay ${kernel}s (more than 5% apart)"
ns_ok "run-queue wait across migrations: novascope ${ours}s vs kernel ${kernel}s (accounting $ACC)"
if grep -q 'schedstat' <<<"$(curl -sf "$NS_URL/health")"; then
	[ "$waits" = $((sl1 - sl0)) ] || ns_fail "novascope counted $waits waits, schedstat $((sl1 - sl0)) slices"
	ns_ok "one wait per slice: $waits"
fi
