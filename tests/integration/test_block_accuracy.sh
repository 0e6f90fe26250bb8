#!/usr/bin/env bash
# Block probe vs the kernel's own accounting (/proc/diskstats), exact, on a loop device with
# direct I/O set up after the daemon started:
#  1. scheduler none: O_DIRECT reads and writes bypass the scheduler (no insert): requests per
#     op = diskstats completions, bytes = sectors x 512, and no queue phase at all;
#  2. mq-deadline: buffered writes with fsync (merging, the flush machinery: an empty
#     pre-flush write that is never issued, a flush request), discards, O_DIRECT reads:
#     the same equalities for read, write, discard and flush; every read went through the
#     scheduler, so its queue-phase count equals its device-phase count.
# Tolerance: none (see blk_try for why a round may be repeated). Also: no start-time entries
# left behind once the device is idle, nothing untracked.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"

ns_start_daemon --probes=block --collect.interval=500ms
blk_loop none
n=$BLK_NAME

round_none() {
	blk_snapshot "$n" "$NS_TMP/a"
	dd if=/dev/zero of="$BLK_DEV" bs=4k count=1000 oflag=direct status=none
	dd if="$BLK_DEV" of=/dev/null bs=64k count=100 iflag=direct status=none
	dd if="$BLK_DEV" of=/dev/null bs=4k count=300 skip=5000 iflag=direct status=none
	blk_snapshot "$n" "$NS_TMP/b"
	blk_compare "$NS_TMP/a" "$NS_TMP/b" "$n"
	[ "$(blk_field "$NS_TMP/b" 5)" -gt "$(blk_field "$NS_TMP/a" 5)" ] || ns_fail "workload made no writes"
	blk_expect "$n queue-phase requests under scheduler none" 0 \
		"$(blk_m "$NS_TMP/b" novascope_block_io_latency_seconds_count "device=\"$n\"" 'phase="queue"')"
}

round_deadline() {
	local rq rd wq t0 t1
	blk_snapshot "$n" "$NS_TMP/c"
	t0=$(blk_now)
	dd if=/dev/urandom of="$BLK_DEV" bs=4k count=3000 conv=fsync status=none
	dd if="$BLK_DEV" of=/dev/null bs=16k count=200 iflag=direct status=none
	blkdiscard -o 16M -l 8M "$BLK_DEV"
	t1=$(blk_now)
	blk_snapshot "$n" "$NS_TMP/d"
	blk_compare "$NS_TMP/c" "$NS_TMP/d" "$n"
	[ "$(blk_field "$NS_TMP/d" 16)" -gt "$(blk_field "$NS_TMP/c" 16)" ] || ns_fail "fsync made no flush"
	[ "$(blk_field "$NS_TMP/d" 12)" -gt "$(blk_field "$NS_TMP/c" 12)" ] || ns_fail "no discard seen"
	rq=$(blk_delta "$NS_TMP/c" "$NS_TMP/d" novascope_block_io_latency_seconds_count "device=\"$n\"" 'op="read"' 'phase="queue"')
	rd=$(blk_delta "$NS_TMP/c" "$NS_TMP/d" novascope_block_io_latency_seconds_count "device=\"$n\"" 'op="read"' 'phase="device"')
	blk_expect "$n reads through mq-deadline: queue-phase count" "$rd" "$rq"
	wq=$(blk_delta "$NS_TMP/c" "$NS_TMP/d" novascope_block_io_latency_seconds_count "device=\"$n\"" 'op="write"' 'phase="queue"')
	[ "$wq" -gt 0 ] || ns_fail "no write went through the scheduler's queue"
	echo "ok: $wq writes with queue time"
	blk_expect "start-time entries left by the round's requests" 0 "$(blk_leftovers "$t0" "$t1")"
}

blk_try "direct I/O, scheduler none" round_none
echo mq-deadline >"/sys/block/$n/queue/scheduler"
blk_try "buffered + fsync + discard + direct reads, mq-deadline" round_deadline

for r in inflight_full stats_full; do
	blk_expect "untracked ($r)" 0 "$(blk_m "$NS_TMP/d" novascope_block_untracked_requests_total "reason=\"$r\"")"
done
promtool check metrics <"$NS_TMP/d.prom" || ns_fail "promtool check metrics found problems"
ns_ok "block accounting matches /proc/diskstats exactly"
