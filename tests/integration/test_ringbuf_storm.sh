#!/usr/bin/env bash
# Ring-buffer overflow under an event storm: with a one-page ring buffer, thousands of short TCP
# connections overflow it; every lost event is counted in novascope_events_dropped_total, the
# aggregates kept in the kernel (connection lifetimes) stay exact, and collection and HTTP keep
# working.
. "$(dirname "$0")/../lib.sh"
N=3000
ns=nsstorm$$
ip netns add $ns
ns_on_exit "ip netns del $ns"
ip -n $ns link set lo up
ns_start_daemon --probes=tcp --bpf.ringbuf-size=4096 --collect.interval=500ms
ns_wait_collect 0.6
c0=$(ns_metric novascope_collect_duration_seconds_count)
d0=$(ns_metric novascope_events_dropped_total 'probe="tcp"')
e0=$(ns_metric novascope_tcp_connection_duration_seconds_count)
ip netns exec $ns /usr/bin/python3 - $N <<'PY'
import socket, sys, threading
n = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 5599)); srv.listen(512)
def serve():
    for _ in range(n):
        c, _ = srv.accept(); c.close()
t = threading.Thread(target=serve); t.start()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", 5599)); s.close()
t.join()
PY
ns_wait_collect 1.2
code=$(curl -s -o /dev/null -w '%{http_code}' "$NS_URL/health")
[ "$code" = 200 ] || ns_fail "/health answered $code after the storm"
d1=$(ns_metric novascope_events_dropped_total 'probe="tcp"')
e1=$(ns_metric novascope_tcp_connection_duration_seconds_count)
drops=$((d1 - d0)) got=$((e1 - e0))
echo "connections: $N (two sockets each), lifetimes counted: $got, close events dropped: $drops"
[ "$drops" -gt 0 ] || ns_fail "no drops counted: the storm did not overflow a 4 KiB ring buffer?"
# The scrapes of this test add their own few connections on the host.
[ "$got" -ge $((2 * N)) ] && [ "$got" -le $((2 * N + 200)) ] ||
	ns_fail "connection lifetimes counted $got, want $((2 * N)) (+ the test's scrapes)"
[ "$drops" -le "$got" ] || ns_fail "$drops drops for $got closes"
ns_wait_collect 1.2
c1=$(ns_metric novascope_collect_duration_seconds_count)
[ $((c1 - c0)) -ge 4 ] || ns_fail "collection stalled: $((c1 - c0)) collections in ~3.5 s"
ns_ok "storm: $drops drops counted, $got lifetimes exact, collection and HTTP fine"
out=$("$NS_BIN" --bpf.ringbuf-size=5000 2>&1) && rc=0 || rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'power of 2' || ns_fail "bad ringbuf size accepted: $out"
