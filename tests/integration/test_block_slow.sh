#!/usr/bin/env bash
# Slow-I/O events: with --block.slow-threshold=1ns every request is "slow", so the events
# (ring buffer, attributed to the task that queued or issued the request) must number exactly
# the requests: novascope_block_slow_io_total{device,op,cgroup} for a dd running in its own
# cgroup equals the device-phase count, with or without an I/O scheduler (owner captured at
# insert or at direct issue); the log names the pid, comm and cgroup. A second daemon with
# --block.slow-threshold=0 sees the same requests and emits no slow-I/O series at all.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"

cgroot=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$cgroot" ] || ns_fail "no cgroup v2 mount"
cg=$cgroot/ns-blk-$$
mkdir "$cg"
ns_on_exit "rmdir $cg"
label=/ns-blk-$$

ns_start_daemon --probes=block --collect.interval=500ms --block.slow-threshold=0
OFF_URL=$NS_URL OFF_PID=$NS_PID
ns_start_daemon --probes=block --collect.interval=500ms --block.slow-threshold=1ns
blk_loop none
n=$BLK_NAME
in_cg() { bash -c 'echo $$ > "$1/cgroup.procs"; echo $$ >> "$2"; shift 2; exec "$@"' _ "$cg" "$NS_TMP/dd.pid" "$@"; }

round() {
	local sched=$1 op want got
	blk_snapshot "$n" "$NS_TMP/a"
	in_cg dd if=/dev/zero of="$BLK_DEV" bs=4k count=800 oflag=direct status=none
	in_cg dd if="$BLK_DEV" of=/dev/null bs=16k count=200 iflag=direct status=none
	blk_snapshot "$n" "$NS_TMP/b"
	blk_compare "$NS_TMP/a" "$NS_TMP/b" "$n"
	for op in write read; do
		want=$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_latency_seconds_count "device=\"$n\"" "op=\"$op\"" 'phase="device"')
		got=$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_slow_io_total "device=\"$n\"" "op=\"$op\"" "cgroup=\"$label\"")
		blk_expect "$sched: slow $op I/Os attributed to $label" "$want" "$got"
		got=$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_slow_io_total "device=\"$n\"" "op=\"$op\"")
		blk_expect "$sched: slow $op I/Os of $n in any cgroup" "$want" "$got"
	done
	blk_expect "ring-buffer drops" 0 "$(blk_m "$NS_TMP/b" novascope_events_dropped_total 'probe="block"')"
}

for sched in none mq-deadline; do
	echo "$sched" >"/sys/block/$n/queue/scheduler"
	blk_try "slow I/O events, scheduler $sched" round "$sched"
done

# At most 10 lines per interval are logged, shared with every other disk's slow I/Os: look for
# one of ours, with the pid of one of the dd processes. Other I/O on the node (writeback of a
# build, say) can take an interval's budget: write it back and give dd up to 3 more bursts.
dd_line() {
	pids=$(paste -sd'|' "$NS_TMP/dd.pid")
	grep -E "msg=\"slow block I/O\" device=$n op=(read|write) device_ms=[0-9.]+ queue_ms=[0-9.]+ bytes=(4096|16384) error=0 pid=($pids) comm=dd cgroup=$label\$" "$NS_LOG"
}
for _ in 1 2 3; do
	dd_line && break
	sync
	in_cg dd if=/dev/zero of="$BLK_DEV" bs=4k count=200 oflag=direct status=none
	sleep 1
done
dd_line ||
	{ grep "slow block" "$NS_LOG" | head -5 >&2; ns_fail "no slow-I/O log line for dd (pids $pids) in $label"; }
grep -q 'msg="more slow block I/Os not logged" count=' "$NS_LOG" || ns_fail "log not rate-limited"
ns_ok "slow I/Os logged with pid, comm and cgroup, rate-limited"

NS_URL=$OFF_URL
ns_scrape >"$NS_TMP/off.prom"
grep -q "^novascope_block_slow_io_total" "$NS_TMP/off.prom" && ns_fail "slow-I/O series with --block.slow-threshold=0"
c=$(ns_metric_in "$NS_TMP/off.prom" novascope_block_io_latency_seconds_count "device=\"$n\"" 'phase="device"')
[ "$c" -gt 0 ] || ns_fail "the threshold-0 daemon saw no requests"
grep -q "slow block I/O" "$NS_TMP/daemon.${OFF_URL##*:}.log" && ns_fail "threshold-0 daemon logged slow I/Os"
ns_ok "--block.slow-threshold=0: $c requests, no slow-I/O events"
