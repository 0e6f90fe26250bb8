#!/usr/bin/env bash
# Traffic classes from the config file: by the thread that connects, by the thread that sends
# first (another thread connected: QEMU's pattern), by the accepting server's thread, by
# cgroup (also one created after start-up), by port range, and the first matching class in
# file order wins. Bad rules stop start-up with exit 2 and a message naming the rule.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
K=1000003
PORT=$((20000 + $$ % 9000))
PORT2=$((PORT + 1))
P=$$
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CGROOT" ] || ns_fail "no cgroup2 mount"
CG=$CGROOT/nstcp$$ CG2=$CGROOT/nstcpl$$

tcp_netns_pair
mkdir "$CG"
ns_on_exit "rmdir $CG"
cat >"$NS_TMP/cfg.yml" <<EOC
tcp.classes:
  - name: first$P
    remote_ports: ["$PORT2"]
  - name: conn$P
    threads: ["cn$P*"]
  - name: send$P
    threads: ["sd$P?"]
  - name: cg$P
    cgroups: ["/nstcp$$", "/nstcpl$$"]
  - name: srv$P
    threads: ["sv$P"]
  - name: second$P
    threads: ["pr$P*"]
EOC
tcp_bg $NSB "$XFER" serve $PORT --comm sv$P
tcp_bg $NSB "$XFER" serve $PORT2
tcp_wait_port $NSB $PORT
tcp_wait_port $NSB $PORT2
# Byte counts per segment received (what kernels without BPF iterators get), so that a kernel
# with them tests both ways: the other tcp tests use the default.
NOVASCOPE_TCP_BYTES=segment ns_start_daemon --probes=tcp --collect.interval=500ms \
	--config.file="$NS_TMP/cfg.yml"
grep -q 'byte counts move per segment received; .*" reason="' "$NS_LOG" ||
	ns_fail "bytes not per segment"
mkdir "$CG2" # after start-up: resolved by the next housekeeping pass (every 5 s)
ns_on_exit "rmdir $CG2"

run() { ip netns exec $NSA "$XFER" send $IPB "$@" >/dev/null; }
run $PORT 1 $K --comm cn${P}x
run $PORT 1 $K --comm zz$P --send-comm sd${P}x
sh -c "echo \$\$ > $CG/cgroup.procs && exec ip netns exec $NSA $XFER send $IPB $PORT 1 $K" >/dev/null
run $PORT2 1 $K --comm pr$P
sleep 5.5
sh -c "echo \$\$ > $CG2/cgroup.procs && exec ip netns exec $NSA $XFER send $IPB $PORT 1 $K" >/dev/null
ns_wait_collect 1.2
ns_scrape >"$NS_TMP/m.txt"
sent() { ns_metric_in "$NS_TMP/m.txt" novascope_tcp_bytes_total "class=\"$1\"" 'direction="sent"'; }
expect_eq "class by connecting thread (conn$P), bytes sent" $K "$(sent conn$P)"
expect_eq "class by first sending thread (send$P), bytes sent" $K "$(sent send$P)"
expect_eq "class by cgroup, two directories (cg$P), bytes sent" $((2 * K)) "$(sent cg$P)"
expect_eq "first class in file order wins (first$P over second$P)" $K "$(sent first$P)"
expect_eq "second$P got nothing" 0 "$(sent second$P)"
rcvd=$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_bytes_total "class=\"srv$P\"" 'direction="received"')
expect_eq "class by the accepting server's thread (srv$P), bytes received" $((4 * K)) "$rcvd"
expect_eq "connect latency of the send-thread class" 1 \
	"$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_connect_latency_seconds_count "class=\"send$P\"")"

# Bad rules: exit 2, and the message names the class and the rule.
bad() { # want-in-message, yaml body
	printf 'tcp.classes:\n%s\n' "$2" >"$NS_TMP/bad.yml"
	set +e
	msg=$("$NS_BIN" --config.file="$NS_TMP/bad.yml" --list-probes 2>&1 >/dev/null)
	rc=$?
	set -e
	[ $rc -eq 2 ] || ns_fail "bad rule ($1): exit $rc, wanted 2 ($msg)"
	[[ "$msg" == *"$1"* ]] || ns_fail "bad rule: message \"$msg\" does not name \"$1\""
	ns_ok "rejected: $msg"
}
bad 'tcp.classes[0] ("web"): unknown key "prots"' '  - name: web
    prots: ["80"]'
bad 'remote_ports[1] "70000": port 70000 out of range 1-65535' '  - name: db
    remote_ports: ["5432", "70000"]'
bad 'tcp.classes[1] ("x"): threads[0]: empty glob' '  - name: ok
    threads: ["a*"]
  - name: x
    threads: [""]'
bad 'local_ports[0] "200-100": range 200-100 is backwards' '  - name: y
    local_ports: ["200-100"]'
bad '"other" is reserved' '  - name: other
    threads: ["x"]'
bad 'glob "abcdefghijklmnopq" is longer than a thread name' '  - name: z
    threads: ["abcdefghijklmnopq"]'
bad 'cgroups[0]: "machine.slice" is not an absolute cgroup path' '  - name: c
    cgroups: ["machine.slice"]'
bad 'tcp.classes: want a list of classes' '  name: flat'
"$NS_BIN" --config.file="$NS_TMP/cfg.yml" --list-probes >/dev/null || ns_fail "good config rejected"
ns_ok "the good config is accepted"
