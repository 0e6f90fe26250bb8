#!/usr/bin/env bash
# The send/receive hooks that find a socket's owner are attached only while a socket waits
# for one: detached when idle (checked in the kernel's link list, not only in the gauge),
# attached again by a new accepted connection, whose class still comes from the accepting
# server's thread (also for connections that end before the hooks are back), and detached
# while a known connection keeps sending, whose bytes are all counted.
# A kernel that refuses BPF iterators (seen: 6.18 PVM guest) counts the waiting sockets by
# their events alone: the same must hold there.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
K=1000003
PORT=$((20000 + $$ % 9000))
P=$$
tcp_netns_pair
printf 'tcp.classes:\n  - name: srv%s\n    threads: ["sv%s"]\n' $P $P >"$NS_TMP/cfg.yml"
tcp_bg $NSB "$XFER" serve $PORT --comm sv$P
tcp_wait_port $NSB $PORT
# Every scrape is a new connection that waits for its owner too: the checks below read the
# kernel's link list and the daemon's log, and scrape once at the end.
list=$("$NS_BIN" --list-probes)
ns_start_daemon --probes=tcp --collect.interval=200ms --config.file="$NS_TMP/cfg.yml" \
	--log.level=debug
if grep -q '^tcp .*bytes/seg' <<<"$list"; then
	echo "NOTE: no BPF iterators on this kernel: waiting sockets counted by their events"
	grep -q 'msg="tcp: byte counts move per segment received; waiting sockets counted by their events only" reason="socket-storage iterator test program: ' "$NS_LOG" ||
		ns_fail "no log line saying why there is no iterator"
fi

# Links of the daemon's programs on the given tracepoints (default: the owner hooks').
links() {
	bpftool -j link show | python3 -c '
import json, sys
ids = set(int(x) for x in sys.argv[2:])
tps = sys.argv[1].split(",")
print(sum(1 for l in json.load(sys.stdin) if l.get("prog_id") in ids and l.get("tp_name") in tps))' \
		"$1" $(ns_prog_ids_of $NS_PID)
}
owner_links() { links tcp_rcv_space_adjust,sock_send_length,tcp_sendmsg_locked; }
attaches() { grep -c 'msg="tcp owner hooks attached"' "$NS_LOG"; }
wait_detached() { # WHAT
	for _ in $(seq 100); do
		[ "$(owner_links)" = 0 ] && break
		sleep 0.1
	done
	expect_eq "$1: owner hook links in the kernel" 0 "$(owner_links)"
}
expect_eq "the link list shows the daemon's tcp_probe link" 1 "$(links tcp_probe)"
wait_detached "idle after start-up"
a0=$(attaches)

# A new accepted connection waits for its owner: the hooks come back (the server thread's
# class below depends on it).
ip netns exec $NSA "$XFER" send $IPB $PORT 1 $K >/dev/null
a1=$(attaches)
[ "$a1" -gt "$a0" ] || ns_fail "the hooks were not attached again ($a0 -> $a1 attaches)"
ns_ok "attached again for the new connection ($a0 -> $a1 attaches)"
wait_detached "after the connection closed"

# Connections too short for the hooks to come back in time (64 bytes, then close): the
# server's close() gives the owner and the class. (Spaced by more than a second: hooks wanted
# again sooner after a detach stay longer each time.)
for i in 1 2 3 4 5; do
	ip netns exec $NSA "$XFER" send $IPB $PORT 1 64 >/dev/null
	wait_detached "after 64-byte connection $i"
	sleep 1.1
done

# A long-lived connection: once both ends have owners the hooks go; what it sends later is
# still counted, and does not bring them back.
tcp_fifo_client $NSA $IPB $PORT
echo $K >&9
wait_detached "a known connection, idle"
a2=$(attaches)
for i in 1 2 3; do
	echo $K >&9
	sleep 0.3
	expect_eq "owner hook links while it sends ($i)" 0 "$(owner_links)"
done
expect_eq "no attach for a known connection's sends" "$a2" "$(attaches)"
exec 9>&-
wait $CLIENT
ns_wait_collect 0.5
ns_scrape >"$NS_TMP/m.txt"
expect_eq "class by the accepting server's thread (hooks attached on demand), bytes received" \
	$((5 * K + 5 * 64)) "$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_bytes_total "class=\"srv$P\"" \
		'direction="received"')"
grep -q '^novascope_tcp_owner_hook_attaches_total ' "$NS_TMP/m.txt" ||
	ns_fail "novascope_tcp_owner_hook_attaches_total missing"
ns_stop_daemon $NS_PID "$NS_LOG"

# --tcp.owner-hooks=always keeps them; a bad value stops start-up naming the flag.
ns_start_daemon --probes=tcp --collect.interval=200ms --tcp.owner-hooks=always
sleep 1
expect_eq "--tcp.owner-hooks=always: owner hook links after idle collections" 2 "$(owner_links)"
ns_stop_daemon $NS_PID "$NS_LOG"
set +e
msg=$("$NS_BIN" --tcp.owner-hooks=sometimes --list-probes 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -eq 2 ] && [[ "$msg" == *'"sometimes" for --tcp.owner-hooks'* ]] ||
	ns_fail "bad --tcp.owner-hooks: exit $rc, message \"$msg\""
ns_ok "rejected: $msg"
ns_ok "owner hooks follow the sockets that wait for an owner"
