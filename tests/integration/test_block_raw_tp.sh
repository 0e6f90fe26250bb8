#!/usr/bin/env bash
# The raw_tp fallback (kernels without BTF-enabled tracepoints) on this kernel, forced with
# NOVASCOPE_TP_FLAVOUR=raw_tp: same exact equalities with /proc/diskstats as with tp_btf,
# through the scheduler (insert -> issue) and around it (direct issue), with a flush.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"

NOVASCOPE_TP_FLAVOUR=raw_tp ns_start_daemon --probes=block --collect.interval=500ms
curl -sf "$NS_URL/health" | python3 -c '
import json,sys
p=[p for p in json.load(sys.stdin)["probes"] if p["name"]=="block"][0]
assert p["state"]=="up" and p["hook"].startswith("raw_tp"), p' || ns_fail "block probe not up on raw_tp"
ns_ok "block probe up on raw_tp"
blk_loop none
n=$BLK_NAME

round() {
	local sched=$1 rq rd
	blk_snapshot "$n" "$NS_TMP/a"
	dd if=/dev/zero of="$BLK_DEV" bs=4k count=500 oflag=direct status=none
	dd if=/dev/zero of="$BLK_DEV" bs=4k count=500 seek=1000 conv=fsync status=none
	dd if="$BLK_DEV" of=/dev/null bs=32k count=200 iflag=direct status=none
	blk_snapshot "$n" "$NS_TMP/b"
	blk_compare "$NS_TMP/a" "$NS_TMP/b" "$n"
	rq=$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_latency_seconds_count "device=\"$n\"" 'op="read"' 'phase="queue"')
	rd=$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_latency_seconds_count "device=\"$n\"" 'op="read"' 'phase="device"')
	if [ "$sched" = none ]; then
		blk_expect "reads with queue time (bypass)" 0 "$rq"
	else
		blk_expect "reads with queue time (mq-deadline)" "$rd" "$rq"
	fi
}

for sched in none mq-deadline; do
	echo "$sched" >"/sys/block/$n/queue/scheduler"
	echo "scheduler $sched:"
	blk_try "raw_tp, scheduler $sched" round "$sched"
done
ns_ok "raw_tp flavour matches /proc/diskstats exactly"
