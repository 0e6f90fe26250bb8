#!/usr/bin/env bash
# N connections to a listener: connect latency _count grows by exactly N; the bytes of a known
# transfer match (tolerance 0.1%; the probe is exact); both ends' lifetimes are recorded and
# nothing stays active. Traffic is told apart by a class rule on a port range (from a config
# file) and lives in two namespaces; the agent runs without --tcp.per-netns. Connection
# attempts to a closed port count resets sent (by the namespace without a listener) and
# received (by the client).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_tcp.sh"
N=40
K=300007
PORT=$((20000 + $$ % 9000))
CLOSED=$((PORT + 1))
CLASS=conn$$

tcp_netns_pair
cat >"$NS_TMP/cfg.yml" <<EOC
tcp.classes:
  - name: $CLASS
    local_ports: ["$PORT-$CLOSED"]
    remote_ports: ["$PORT-$CLOSED"]
EOC
tcp_bg $NSB "$XFER" serve $PORT
tcp_wait_port $NSB $PORT
ns_start_daemon --probes=tcp --collect.interval=500ms --config.file="$NS_TMP/cfg.yml"
C="class=\"$CLASS\""
ns_wait_collect 1
ns_scrape >"$NS_TMP/m0.txt"
m() { ns_metric_in "$1" "$2" "$C" "${@:3}"; }

sent=$(ip netns exec $NSA "$XFER" send $IPB $PORT $N $K)
[ "$sent" = $((N * K)) ] || ns_fail "tcp_xfer sent $sent, wanted $((N * K))"
for _ in 1 2 3 4 5; do
	ip netns exec $NSA bash -c "echo > /dev/tcp/$IPB/$CLOSED" 2>/dev/null &&
		ns_fail "port $CLOSED accepted a connection"
done
ns_wait_collect 1.2
ns_scrape >"$NS_TMP/m1.txt"
d() { echo $(($(m "$NS_TMP/m1.txt" "$@") - $(m "$NS_TMP/m0.txt" "$@"))); }

# Connect latency: every connect() that completed, the refused ones never did.
expect_eq "connect latency _count growth" $N "$(d novascope_tcp_connect_latency_seconds_count)"
inf=$(d novascope_tcp_connect_latency_seconds_bucket 'le="+Inf"')
expect_eq "connect latency +Inf bucket growth" $N "$inf"
for dir in sent received; do
	got=$(d novascope_tcp_bytes_total "direction=\"$dir\"")
	python3 -c "import sys; e,g=$((N * K)),$got; sys.exit(abs(g-e) > e*0.001)" ||
		ns_fail "bytes $dir: expected $((N * K)) within 0.1%, got $got"
	ns_ok "bytes $dir: $got (expected $((N * K)), diff $((got - N * K)))"
done
expect_eq "closed connections (both ends)" $((2 * N)) \
	"$(d novascope_tcp_connection_duration_seconds_count)"
expect_eq "active connections" 0 "$(m "$NS_TMP/m1.txt" novascope_tcp_connections_active)"
expect_eq "resets sent (refused connects)" 5 "$(d novascope_tcp_resets_total 'direction="sent"')"
expect_eq "resets received (refused connects)" 5 \
	"$(d novascope_tcp_resets_total 'direction="received"')"
grep -q "netns=" "$NS_TMP/m1.txt" && ns_fail "netns label present without --tcp.per-netns"
promtool check metrics <"$NS_TMP/m1.txt" || ns_fail "promtool check metrics found problems"
ns_ok "no netns label by default; promtool clean"

# SIGTERM: exit 0, and every program the agent held (tracepoints, iterator) is gone.
ids=$(ns_prog_ids_of $NS_PID)
[ "$(echo $ids | wc -w)" -ge 6 ] || ns_fail "daemon holds only these BPF programs: $ids"
kill -TERM $NS_PID
rc=0
wait $NS_PID || rc=$?
[ $rc -eq 0 ] || ns_fail "exit status $rc after SIGTERM"
for _ in $(seq 1 30); do
	left=$(ns_progs_loaded $ids)
	[ -n "$left" ] || break
	sleep 0.1
done
[ -z "$left" ] || ns_fail "programs still loaded after SIGTERM: $left"
ns_ok "SIGTERM: exit 0, programs $(echo $ids) gone"
