#!/usr/bin/env bash
# Retransmitted segments under real loss equal the kernel's TcpRetransSegs exactly: two
# namespaces joined by veth, the receiver drops 5% of the sender's segments (iptables
# statistic), a bulk transfer; the agent in the host namespace, with --tcp.per-netns, must
# count the sender namespace's retransmits, bytes and connection exactly.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
BYTES=$((24 * 1024 * 1024 + 12345))
PORT=5301

tcp_netns_pair
ip netns exec $NSB iptables -A INPUT -p tcp --dport $PORT -m statistic --mode random \
	--probability 0.05 -j DROP
tcp_bg $NSB "$XFER" serve $PORT
tcp_wait_port $NSB $PORT
ns_start_daemon --probes=tcp --tcp.per-netns --collect.interval=500ms
A="netns=\"$(tcp_netns_ino $NSA)\"" B="netns=\"$(tcp_netns_ino $NSB)\""

snmp0=$(tcp_snmp $NSA RetransSegs)
ns_wait_collect 1
m0=$(ns_metric novascope_tcp_retransmitted_segments_total "$A")
sent=$(ip netns exec $NSA "$XFER" send $IPB $PORT 1 $BYTES)
[ "$sent" = "$BYTES" ] || ns_fail "tcp_xfer sent $sent, wanted $BYTES"
snmp1=$(tcp_snmp $NSA RetransSegs)
ns_wait_collect 1.2
ns_scrape >"$NS_TMP/m.txt"
m1=$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_retransmitted_segments_total "$A")

kernel=$((snmp1 - snmp0)) ours=$((m1 - m0))
echo "TcpRetransSegs in $NSA grew by $kernel; novascope counted $ours"
[ "$kernel" -ge 20 ] || ns_fail "only $kernel retransmits: the drop rule did not bite"
expect_eq "retransmitted segments (sender netns)" "$kernel" "$ours"

# The same transfer, byte-exact on both ends, one connection, all closed.
expect_eq "bytes sent by $NSA" "$BYTES" \
	"$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_bytes_total "$A" 'direction="sent"')"
expect_eq "bytes received by $NSB" "$BYTES" \
	"$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_bytes_total "$B" 'direction="received"')"
expect_eq "connect latency count ($NSA)" 1 \
	"$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_connect_latency_seconds_count "$A")"
dur=$(($(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_connection_duration_seconds_count "$A") + \
	$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_connection_duration_seconds_count "$B")))
expect_eq "closed connections in both namespaces" 2 "$dur"
expect_eq "active connections ($NSA)" 0 \
	"$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_connections_active "$A")"
rtt=$(ns_metric_in "$NS_TMP/m.txt" novascope_tcp_rtt_seconds_count "$A")
[ "$rtt" -gt 0 ] || ns_fail "no RTT samples for $NSA"
ns_ok "RTT samples for $NSA: $rtt"
# Without --tcp.per-netns there is no netns label at all (checked here on our own scrape).
grep -q '^novascope_tcp_bytes_total{class="other",direction="sent",netns="' "$NS_TMP/m.txt" ||
	ns_fail "no netns label with --tcp.per-netns"
