#!/usr/bin/env bash
# `novascope report disk` (alias of `report block`): traces for --duration, then prints per
# device/op/phase latency histograms like biolatency. A known workload run inside the window
# shows up with its exact request count; bad input exits 2 with a message naming it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"

blk_loop none
n=$BLK_NAME
out=$NS_TMP/report.out
err=$NS_TMP/report.err

attempt() {
	local d1 d2 want
	"$NS_BIN" report disk --duration 6s --top 50 >"$out" 2>"$err" &
	local rp=$!
	for _ in $(seq 1 100); do grep -q "^Tracing" "$err" && break; sleep 0.1; done
	grep -q "^Tracing block for 6.0s" "$err" || { cat "$err" >&2; ns_fail "report did not start tracing"; }
	d1=$(blk_diskstats "$n" | awk '{print $8}')
	dd if=/dev/zero of="$BLK_DEV" bs=4k count=700 oflag=direct status=none
	d2=$(blk_diskstats "$n" | awk '{print $8}')
	wait $rp || ns_fail "report exited with $?"
	want=$((d2 - d1))
	cat "$out"
	grep -q "^device = $n, op = write, phase = device    count " "$out" ||
		ns_fail "no histogram for $n writes in the report"
	blk_expect "writes of $n in the report" "$want" \
		"$(sed -n "s/^device = $n, op = write, phase = device    count \([0-9]*\) .*/\1/p" "$out")"
	# A biolatency-style table follows the header: "lo -> hi : count |***|" lines.
	awk -v h="device = $n, op = write, phase = device" '$0 ~ h {f=1; next} f && /->/ {print; n++} f && /^$/ {exit} END {exit n == 0}' "$out" >/dev/null ||
		ns_fail "no histogram rows under the $n write header"
}
blk_try "report disk" attempt
ns_ok "report disk counted the window's writes"

"$NS_BIN" report block --duration 1s >/dev/null 2>"$err" || ns_fail "report block failed: $(cat "$err")"
grep -q "^Tracing block" "$err" || ns_fail "report block did not trace the block probe"
ns_ok "report block works too"

set +e
"$NS_BIN" report nosuch 2>"$err"
rc=$?
set -e
[ $rc = 2 ] || ns_fail "report nosuch: exit $rc, want 2"
grep -q "disk (= block)" "$err" || ns_fail "report usage does not list the disk alias: $(cat "$err")"
for bad in fast -1s 10xs; do
	set +e
	"$NS_BIN" --block.slow-threshold="$bad" --web.listen-address=127.0.0.1:1 2>"$err"
	rc=$?
	set -e
	[ $rc = 2 ] || ns_fail "--block.slow-threshold=$bad: exit $rc, want 2"
	grep -q "invalid value \"$bad\" for --block.slow-threshold" "$err" || ns_fail "message for $bad: $(cat "$err")"
done
ns_ok "bad --block.slow-threshold values exit 2 naming the flag"
