#!/usr/bin/env bash
# Run-queue latency of one measured thread, alone in its own cgroup v2 directory and pinned with
# two CPU-bound threads to one CPU: novascope's novascope_runqueue_latency_seconds_sum for that
# cgroup must grow by the thread's run_delay growth (/proc/<pid>/task/<tid>/schedstat) within
# 5%; its context-switch counters must grow by what /proc/<pid>/status counts. The default
# accounting (schedstat where the kernel keeps it); ACCOUNTING=timestamps tests the other.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
ACC=${ACCOUNTING:-auto}
CPU=$(($(nproc) - 1))
ns_cg_make novascope-runq
name=$CG_NAME

ns_start_daemon --probes=sched --collect.interval=500ms --sched.accounting="$ACC"
ns_victim "$CPU" "$CG_DIR" 3
vpid=$VPID

lbl="cgroup=\"/$name\""
snap() { # -> "run_delay slices voluntary involuntary metric_sum metric_count metric_vol metric_invol"
	ns_scrape >"$NS_TMP/m.txt"
	echo "$(ns_schedstat $vpid $vpid 2) $(ns_schedstat $vpid $vpid 3)" \
		"$(awk '/^voluntary_ctxt/ {print $2}' /proc/$vpid/status)" \
		"$(awk '/^nonvoluntary_ctxt/ {print $2}' /proc/$vpid/status)" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_runqueue_latency_seconds_sum "$lbl")" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_runqueue_latency_seconds_count "$lbl")" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_context_switches_total "$lbl" 'kind="voluntary"')" \
		"$(ns_metric_in "$NS_TMP/m.txt" novascope_context_switches_total "$lbl" 'kind="involuntary"')"
}
# The victim is blocked on its fifo: neither side moves until we say go.
ns_wait_collect 1.2
read -r rd0 sl0 vol0 inv0 ms0 mc0 mv0 mi0 <<<"$(snap)"
ns_hogs 2 "$CPU"
echo go >&3
ns_victim_done
ns_hogs_stop
ns_wait_collect 1.2
read -r rd1 sl1 vol1 inv1 ms1 mc1 mv1 mi1 <<<"$(snap)"

kernel=$(python3 -c "print(($rd1 - $rd0) / 1e9)")
ours=$(python3 -c "print($ms1 - $ms0)")
echo "run_delay grew ${kernel}s over $((sl1 - sl0)) slices; novascope sum grew ${ours}s over $(python3 -c "print(int($mc1 - $mc0))") waits"
python3 -c "import sys; sys.exit(0 if $rd1 - $rd0 > 0.3e9 else 1)" ||
	ns_fail "too little contention to compare: run_delay grew only ${kernel}s"
ns_within "$ours" "$kernel" 5 || ns_fail "runqueue latency sum grew ${ours}s, kernel run_delay ${kernel}s (more than 5% apart)"
ns_ok "run-queue wait: novascope ${ours}s vs kernel ${kernel}s (accounting $ACC)"
waits=$(python3 -c "print(int($mc1 - $mc0))")
if grep -q 'schedstat' <<<"$(curl -sf "$NS_URL/health")"; then
	# The kernel's accounting: one wait per slice, exactly as schedstat counts slices.
	[ "$waits" = $((sl1 - sl0)) ] || ns_fail "novascope counted $waits waits, schedstat $((sl1 - sl0)) slices"
	ns_ok "one wait per slice: $waits"
fi

dv=$((vol1 - vol0)) di=$((inv1 - inv0))
ov=$(python3 -c "print(int($mv1 - $mv0))") oi=$(python3 -c "print(int($mi1 - $mi0))")
echo "context switches: kernel voluntary $dv involuntary $di; novascope $ov / $oi"
[ "$ov" = "$dv" ] || ns_fail "voluntary switches: novascope $ov, kernel $dv"
[ "$oi" = "$di" ] || ns_fail "involuntary switches: novascope $oi, kernel $di"
ns_ok "context switches exact: $dv voluntary, $di involuntary"
