#!/usr/bin/env bash
# Hostile names: a cgroup and a process whose names hold quotes, backslashes, braces, '=', ','
# a newline (process only: cgroupfs refuses it) and invalid UTF-8 come out escaped and valid:
# promtool accepts the exposition, a real Prometheus ingests the series, JSON stays valid.
. "$(dirname "$0")/../lib.sh"
root=$(awk '$9=="cgroup2"{print $5; exit}' /proc/self/mountinfo)
cgname=$(printf 'ns"q\\b{x}=1,\xff\xfe-%s' $$)
cg="$root/$cgname"
mkdir "$cg"
ns_on_exit "rmdir '$root/'$(printf '%q' "$cgname")"
pname=$(printf 'h"\\{}=\n\xffz')
cp "$NS_BUILD/tests/progs/rdma_client" "$NS_TMP/$pname"

ns_start_daemon --probes=sched,rdma_uprobes --collect.interval=300ms
# Wake-ups inside the hostile cgroup give it run-queue latency samples.
bash -c "echo \$\$ > '$cg/cgroup.procs'; for i in \$(seq 40); do sleep 0.01; done"
"$NS_TMP/$pname" real >/dev/null
ns_wait_collect 1
ns_scrape >"$NS_TMP/m.txt"
grep -F 'cgroup="/ns\"q\\b{x}=1,' "$NS_TMP/m.txt" | head -2
grep -qF 'cgroup="/ns\"q\\b{x}=1,'$'\xef\xbf\xbd\xef\xbf\xbd''-' "$NS_TMP/m.txt" ||
	ns_fail "hostile cgroup not exported escaped"
grep -F 'comm="h\"\\{}=\n' "$NS_TMP/m.txt" | head -2
grep -qF 'comm="h\"\\{}=\n'$'\xef\xbf\xbd''z"' "$NS_TMP/m.txt" || ns_fail "hostile comm not exported escaped"
promtool check metrics <"$NS_TMP/m.txt" || ns_fail "promtool rejects the exposition"
ns_ok "escaped in /metrics; promtool clean"
curl -sf "$NS_URL/metrics/summary" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
	ns_fail "/metrics/summary is not valid JSON"

ns_start_prometheus 127.0.0.1:$NS_PORT
# Match loosely, then compare the exact label values Prometheus stored.
for i in $(seq 1 40); do
	a=$(ns_prom_query "count by (cgroup) (novascope_runqueue_latency_seconds_count{cgroup=~\"/ns.q.b.x.=1,.*-$$\"})")
	b=$(ns_prom_query 'count by (comm) (novascope_rdma_call_errors_total{comm=~"(?s)h.*z"})')
	if echo "$a" | grep -q '"value"' && echo "$b" | grep -q '"value"'; then
		python3 - "$a" "$b" $$ <<'PY' || ns_fail "Prometheus stored other label values: $a $b"
import json, sys
a, b, pid = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
want_cg = '/ns"q\\b{x}=1,\ufffd\ufffd-' + pid
want_comm = 'h"\\{}=\n\ufffdz'
got_cg = [r["metric"]["cgroup"] for r in a]
got_comm = [r["metric"]["comm"] for r in b]
print("stored:", got_cg, got_comm)
assert want_cg in got_cg, (want_cg, got_cg)
assert want_comm in got_comm, (want_comm, got_comm)
PY
		ns_ok "Prometheus ingested both hostile series with their exact values after ${i}s"
		exit 0
	fi
	sleep 1
done
ns_fail "Prometheus did not ingest the hostile series: cgroup=$a comm=$b"
