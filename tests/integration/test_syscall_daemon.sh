#!/usr/bin/env bash
# The daemon end to end with the syscall probe: exact getppid counting, promtool-clean
# exposition, JSON endpoints, 404/405, gzip, and nothing left attached after SIGTERM.
. "$(dirname "$0")/../lib.sh"
N=200000
LOOP=$NS_BUILD/tests/progs/getppid_loop

ns_start_daemon --collect.interval=500ms --probes=syscall
ns_wait_collect 1
before=$(ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"')
"$LOOP" $N >/dev/null
ns_wait_collect 1.2
after=$(ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"')
grew=$((after - before))
echo "getppid count grew by $grew (child made $N)"
# Other processes on the node may call getppid too: allow a small margin above, none below.
[ "$grew" -ge $N ] || ns_fail "getppid count grew by $grew, expected at least $N"
[ "$grew" -le $((N + N / 200)) ] || ns_fail "getppid count grew by $grew, more than $N + 0.5%"
ns_ok "getppid counted: $grew"

ns_scrape >"$NS_TMP/metrics.txt"
# Histogram consistency for that series within one scrape: +Inf bucket == _count.
inf=$(ns_metric_in "$NS_TMP/metrics.txt" novascope_syscall_latency_seconds_bucket 'syscall="getppid"' 'le="+Inf"')
cnt=$(ns_metric_in "$NS_TMP/metrics.txt" novascope_syscall_latency_seconds_count 'syscall="getppid"')
[ "$inf" = "$cnt" ] || ns_fail "+Inf bucket $inf != _count $cnt"
promtool check metrics <"$NS_TMP/metrics.txt" || ns_fail "promtool check metrics found problems"
ns_ok "promtool clean ($(wc -l <"$NS_TMP/metrics.txt") lines)"
for m in novascope_build_info novascope_probe_up novascope_collect_duration_seconds_bucket \
	novascope_syscall_errors_total process_resident_memory_bytes; do
	grep -q "^$m" "$NS_TMP/metrics.txt" || ns_fail "missing $m"
done

curl -sf "$NS_URL/health" | python3 -c '
import json,sys
h=json.load(sys.stdin)
assert h["status"]=="ok", h
assert [p for p in h["probes"] if p["name"]=="syscall"][0]["state"]=="up", h
assert h["uptime_seconds"]>0 and h["version"]' || ns_fail "/health JSON"
curl -sf "$NS_URL/metrics/summary" | python3 -c '
import json,sys
s=json.load(sys.stdin)
f=[h for h in s["histograms"] if h["name"]=="novascope_syscall_latency_seconds"][0]
g=[x for x in f["series"] if x["labels"]["syscall"]=="getppid"]
assert g and g[0]["count"]>=200000 and g[0]["p50"]>0 and g[0]["p99"]>=g[0]["p50"], g
assert "novascope_collect_duration_seconds" in s["self"], s["self"].keys()' ||
	ns_fail "/metrics/summary JSON"
ns_ok "JSON endpoints parse"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$NS_URL/nope")" = 404 ] || ns_fail "unknown path not 404"
[ "$(code -X POST "$NS_URL/metrics")" = 405 ] || ns_fail "POST /metrics not 405"
[ "$(code -X PUT "$NS_URL/health")" = 405 ] || ns_fail "PUT /health not 405"
[ "$(code -X POST "$NS_URL/nope")" = 404 ] || ns_fail "POST unknown not 404"
enc=$(curl -s -D - -o "$NS_TMP/m.gz" -H 'Accept-Encoding: gzip' "$NS_URL/metrics" | tr -d '\r' |
	awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
[ "$enc" = gzip ] || ns_fail "no Content-Encoding: gzip (got '$enc')"
gunzip -c "$NS_TMP/m.gz" >"$NS_TMP/m.txt" || ns_fail "gzip body does not decode"
grep -q "^novascope_build_info" "$NS_TMP/m.txt" || ns_fail "gzip body lacks metrics"
plain=$(curl -s -D - -o /dev/null "$NS_URL/metrics" | tr -d '\r' | grep -ci '^content-encoding' || true)
[ "$plain" = 0 ] || ns_fail "gzip sent to a client that did not ask"
ns_ok "404/405 and gzip negotiation"

ids=$(ns_prog_ids_of $NS_PID)
[ -n "$ids" ] || ns_fail "daemon holds no BPF programs"
start=$(date +%s%N)
kill -TERM $NS_PID
rc=0
wait $NS_PID || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc -eq 0 ] || ns_fail "exit status $rc after SIGTERM: $(grep -v '^ts=' "$NS_LOG" | tail -20)"
[ $ms -lt 1000 ] || ns_fail "took ${ms}ms to exit after SIGTERM"
# The kernel frees a program after an RCU grace period once its last fd and link are gone.
for _ in $(seq 1 30); do
	left=$(ns_progs_loaded $ids)
	[ -n "$left" ] || break
	sleep 0.1
done
[ -z "$left" ] || ns_fail "programs still loaded after SIGTERM: $left"
ns_ok "SIGTERM: exit 0 in ${ms}ms, programs $(echo $ids) gone"
