#!/usr/bin/env bash
# Device lifecycle: a loop device created (LOOP_CTL_ADD: a new gendisk, absent from sysfs when
# the daemon started) is picked up with its kernel name and counted exactly; once removed
# (LOOP_CTL_REMOVE) its statistics leave the kernel map and its series expire; created again
# under the same number, it is counted from zero under its name.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/block_lib.sh"

loopctl() { python3 -c '
import fcntl,os,sys
fd=os.open("/dev/loop-control", os.O_RDWR)
print(fcntl.ioctl(fd, {"add": 0x4C80, "remove": 0x4C81}[sys.argv[1]], int(sys.argv[2])))' "$@"; }

ns_start_daemon --probes=block --collect.interval=500ms
num=$((100 + $$ % 800))
while [ -e /sys/block/loop$num ]; do num=$((num + 1)); done
name=loop$num
img=$NS_TMP/hot.img
truncate -s 32M "$img"

io_round() { # I/O, compare with diskstats
	blk_snapshot $name "$NS_TMP/$1.a"
	dd if=/dev/zero of=/dev/$name bs=4k count=600 oflag=direct status=none
	dd if=/dev/$name of=/dev/null bs=8k count=300 iflag=direct status=none
	blk_snapshot $name "$NS_TMP/$1.b"
	blk_compare "$NS_TMP/$1.a" "$NS_TMP/$1.b" $name
}

cycle() { # create, attach, I/O
	loopctl add $num >/dev/null || ns_fail "LOOP_CTL_ADD $num"
	ns_on_exit "loopctl remove $num >/dev/null 2>&1"
	[ -e /sys/block/$name ] || ns_fail "$name did not appear"
	losetup --direct-io=on /dev/$name "$img"
	ns_on_exit "losetup -d /dev/$name 2>/dev/null"
	blk_try "I/O on $name ($1)" io_round "$1"
}

cycle first
ns_ok "$name, created after start, counted under its name"
majmin=$(cat /sys/block/$name/dev)
dev=$(((${majmin%%:*} << 20) | ${majmin##*:}))
losetup -d /dev/$name
loopctl remove $num >/dev/null
[ ! -e /sys/block/$name ] || ns_fail "$name still in sysfs after LOOP_CTL_REMOVE"

stats=$(blk_map_id "$NS_PID" stats)
keys_of_dev() { bpftool -j map dump id "$stats" | python3 -c '
import json,sys
def dev(e):  # struct ns_block_key { __u32 dev; __u32 op; }: raw bytes, little endian
    return int.from_bytes(bytes(int(x, 16) for x in e["key"][:4]), "little")
print(sum(1 for e in (json.load(sys.stdin) or []) if dev(e) == int(sys.argv[1])))' "$dev"; }
[ "$(keys_of_dev)" -gt 0 ] || ns_fail "no statistics for $majmin in the kernel map"
# The name cache re-reads sysfs every 10s: then the device is known gone and dropped.
for _ in $(seq 1 30); do [ "$(keys_of_dev)" = 0 ] && break; sleep 1; done
[ "$(keys_of_dev)" = 0 ] || ns_fail "statistics of removed $name ($majmin) still in the kernel map"
ns_ok "removed $name: its statistics left the kernel map"
# Series untouched for 60 collections (30s here) expire.
for _ in $(seq 1 50); do
	[ "$(ns_metric novascope_block_io_bytes_total "device=\"$name\"")" = 0 ] && break
	sleep 1
done
grep -q "device=\"$name\"" <<<"$(ns_scrape)" && ns_fail "series of removed $name still exported"
ns_ok "series of removed $name expired"

cycle second
# From zero: the series restarted with the device (a retried round adds its 600 again).
got=$(blk_m "$NS_TMP/second.b" novascope_block_io_latency_seconds_count "device=\"$name\"" 'op="write"' 'phase="device"')
[ $((got % 600)) = 0 ] && [ "$got" -le 1800 ] && [ "$got" -ge 600 ] ||
	ns_fail "$name writes after re-creation: $got, want 600 per round from zero"
echo "ok: $name writes counted from zero after re-creation: $got"
ns_ok "re-created $name picked up again"
