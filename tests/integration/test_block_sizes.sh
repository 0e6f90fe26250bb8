#!/usr/bin/env bash
# Request-size histogram: a known mix of 4 KiB and 64 KiB O_DIRECT reads and writes on a loop
# device lands in the right buckets (le="4096" and le="65536", nothing between or above), the
# per-op counts match /proc/diskstats, and the size sum equals the bytes moved. Exact.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"
N4W=700 N64W=150 N4R=400 N64R=90

ns_start_daemon --probes=block --collect.interval=500ms
blk_loop none
n=$BLK_NAME

bucket() { # op le -> growth of that cumulative bucket
	blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_size_bytes_bucket "device=\"$n\"" "op=\"$1\"" "le=\"$2\""
}

round() {
	local spec op n4 n64
	blk_snapshot "$n" "$NS_TMP/a"
	# Interleaved, so the two sizes alternate in the device's queue.
	for i in 1 2 3 4 5; do
		dd if=/dev/zero of="$BLK_DEV" bs=4k count=$((N4W / 5)) seek=$((i * 2000)) oflag=direct status=none
		dd if=/dev/zero of="$BLK_DEV" bs=64k count=$((N64W / 5)) seek=$((i * 30)) oflag=direct status=none
		dd if="$BLK_DEV" of=/dev/null bs=4k count=$((N4R / 5)) skip=$((i * 1000)) iflag=direct status=none
		dd if="$BLK_DEV" of=/dev/null bs=64k count=$((N64R / 5)) skip=$((i * 50)) iflag=direct status=none
	done
	blk_snapshot "$n" "$NS_TMP/b"
	blk_compare "$NS_TMP/a" "$NS_TMP/b" "$n"
	for spec in write:$N4W:$N64W read:$N4R:$N64R; do
		IFS=: read -r op n4 n64 <<<"$spec"
		blk_expect "$op requests of <= 2 KiB" 0 "$(bucket "$op" 2048)"
		blk_expect "$op requests of <= 4 KiB" "$n4" "$(bucket "$op" 4096)"
		blk_expect "$op requests of <= 32 KiB (none between 4 and 64)" "$n4" "$(bucket "$op" 32768)"
		blk_expect "$op requests of <= 64 KiB" $((n4 + n64)) "$(bucket "$op" 65536)"
		blk_expect "$op requests of any size" $((n4 + n64)) "$(bucket "$op" +Inf)"
		blk_expect "$op size sum" $((n4 * 4096 + n64 * 65536)) \
			"$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_size_bytes_sum "device=\"$n\"" "op=\"$op\"")"
	done
}

blk_try "4 KiB + 64 KiB mix" round
ns_ok "4 KiB and 64 KiB requests in their buckets"
