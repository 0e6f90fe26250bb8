#!/usr/bin/env bash
# --bpf.pin-path with the tcp probe: a connection that lives across an agent restart is
# neither lost nor counted open twice, bytes sent while no agent runs are counted exactly,
# and a changed class configuration replaces the pins instead of adopting counts whose class
# ids meant something else.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
PORT=$((20000 + $$ % 9000))
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
PIN=/sys/fs/bpf/novascope-tcp-test-$$
ns_on_exit "'$NS_BIN' cleanup --bpf.pin-path=$PIN >/dev/null 2>&1; rm -rf $PIN"
tcp_netns_pair
tcp_bg $NSB "$XFER" serve $PORT
tcp_wait_port $NSB $PORT
A="netns=\"$(tcp_netns_ino $NSA)\""
m() { ns_metric "$1" "$A" "${@:2}"; }

# A long-lived client: each line on its FIFO is a byte count to send; EOF closes.
tcp_fifo_client $NSA $IPB $PORT

flags="--probes=tcp --tcp.per-netns --collect.interval=300ms --bpf.pin-path=$PIN"
ns_start_daemon $flags 9>&-
echo 100000 >&9
ns_wait_collect 0.8
expect_eq "active before restart" 1 "$(m novascope_tcp_connections_active)"
expect_eq "bytes before restart" 100000 "$(m novascope_tcp_bytes_total 'direction="sent"')"
ns_stop_daemon $NS_PID

# While no agent runs: more bytes on the open connection, and a whole short connection.
echo 200000 >&9
ip netns exec $NSA "$XFER" send $IPB $PORT 1 50000 >/dev/null 9>&-
sleep 0.3
# The restarted agent reads tcp_sock through the helper instead of bpf_rdonly_cast (the
# flavour kernels before 6.2 load): counts carry over, and the first flavour's pinned link goes.
NOVASCOPE_TCP_CAST=0 ns_start_daemon $flags 9>&-
ns_wait_collect 0.8
grep -q 'adopted pinned state' "$NS_LOG" || ns_fail "pins not adopted"
expect_eq "pinned tcp_probe links of the cast flavour" 0 \
	"$(find "$PIN" -name link_probe_cast_btf | wc -l)"
expect_eq "pinned tcp_probe links of the helper flavour" 1 "$(find "$PIN" -name link_probe_btf | wc -l)"
expect_eq "cast-flavour programs loaded" 0 \
	"$(bpftool prog show | awk '/ name probe_cast_btf /{n++} END{print n+0}')"
expect_eq "active after restart (the same connection)" 1 "$(m novascope_tcp_connections_active)"
expect_eq "bytes after restart" 350000 "$(m novascope_tcp_bytes_total 'direction="sent"')"
# The long-lived client connected before the first agent started (it was first seen at its
# first send, mid-life: no connect latency); the short one connected while none ran.
expect_eq "connects after restart" 1 "$(m novascope_tcp_connect_latency_seconds_count)"
exec 9>&-
wait $CLIENT
ns_wait_collect 0.8
expect_eq "active after close" 0 "$(m novascope_tcp_connections_active)"
# Lifetimes are only known for connections seen from their start: the short one.
expect_eq "closed connections with a lifetime" 1 \
	"$(m novascope_tcp_connection_duration_seconds_count)"
ns_stop_daemon $NS_PID

# Other class rules: the pinned counts are not adopted.
printf 'tcp.classes:\n  - name: web\n    remote_ports: ["443"]\n' >"$NS_TMP/cfg.yml"
ns_start_daemon $flags --config.file="$NS_TMP/cfg.yml"
ns_wait_collect 0.8
grep -q 'pinned maps have another layout' "$NS_LOG" || ns_fail "changed classes did not replace the pins"
expect_eq "bytes after a class change (fresh maps)" 0 "$(m novascope_tcp_bytes_total 'direction="sent"')"
