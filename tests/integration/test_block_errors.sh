#!/usr/bin/env bash
# Failed requests: a loop device over a sparse file on a 2 MiB tmpfs fails writes once the
# tmpfs is full (ENOSPC from the backing file -> an error status on the request). Every failed
# O_DIRECT 4 KiB write is one request with an error: novascope_block_io_errors_total equals
# the writes the workload saw fail, exactly; the requests still count in the latency
# histogram like /proc/diskstats counts them; no start-time entry is left behind (requeue
# and error paths must not leak).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"

mnt=$NS_TMP/small
mkdir "$mnt"
mount -t tmpfs -o size=2M novascope-test "$mnt"
ns_on_exit "umount $mnt"
truncate -s 16M "$mnt/img"
ns_start_daemon --probes=block --collect.interval=500ms
blk_loop none 16M "$mnt/img"
n=$BLK_NAME
round() {
	local ok failed t0 t1
	blk_snapshot "$n" "$NS_TMP/a"
	t0=$(blk_now)
	python3 - "$BLK_DEV" >"$NS_TMP/result" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)  # page aligned, as O_DIRECT wants
buf.write(b"n" * 4096)
ok = failed = 0
for i in range(1024):
    try:
        os.pwritev(fd, [buf], i * 4096)
        ok += 1
    except OSError:
        failed += 1
print(ok, failed)
PY
	t1=$(blk_now)
	read -r ok failed <"$NS_TMP/result"
	echo "workload: $ok writes succeeded, $failed failed"
	[ "$failed" -gt 0 ] || ns_fail "no write failed: the test setup did not fill the tmpfs"
	blk_snapshot "$n" "$NS_TMP/b"
	blk_compare "$NS_TMP/a" "$NS_TMP/b" "$n"
	blk_expect "$n write errors" "$failed" \
		"$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_errors_total "device=\"$n\"" 'op="write"')"
	blk_expect "$n read errors" 0 \
		"$(blk_delta "$NS_TMP/a" "$NS_TMP/b" novascope_block_io_errors_total "device=\"$n\"" 'op="read"')"
	blk_expect "start-time entries left by the failed requests" 0 "$(blk_leftovers "$t0" "$t1")"
}

blk_try "writes failing on a full backing tmpfs" round
ns_ok "errors counted exactly, no start entry left behind"
