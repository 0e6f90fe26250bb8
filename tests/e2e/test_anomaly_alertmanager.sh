#!/usr/bin/env bash
# On-node detection to a real Alertmanager, with the default detector settings:
#  1. a steady workload for 3 minutes raises no alert (while the detector is scoring it);
#  2. a real fault (page-cache eviction under a pread workload) is visible in Alertmanager's
#     GET /api/v2/alerts within 15 s of its injection, with the labels and annotations the
#     issue lists;
#  3. after the fault is removed the alert is resolved (endsAt sent: Alertmanager's own
#     resolve_timeout is 5 minutes, so it can only disappear this soon because of endsAt).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/anomaly_lib.sh"

STEADY=${NS_ANOMALY_STEADY:-180}
am_start
anom_setup
anom_workload
ns_start_daemon --probes=syscall --syscall.cgroup="$ANOM_CG" --alertmanager.url="$AM_URL"
start=$(now_s)

# 1. Steady: no alert in Alertmanager or pending/firing in /alerts, sampled every 5 s.
scored=0 after_warmup=0
while [ "$(elapsed "$start" | cut -d. -f1)" -lt "$STEADY" ]; do
	sleep 5
	n=$(am_total)
	[ "$n" = 0 ] || ns_fail "steady workload: $n alert(s) in Alertmanager after $(elapsed "$start") s: $(curl -s "$AM_URL/api/v2/alerts")"
	firing=$(curl -sf "$NS_URL/alerts" | jq '[.alerts[] | select(.state == "firing")] | length')
	[ "$firing" = 0 ] || ns_fail "steady workload: $firing firing in /alerts: $(curl -s "$NS_URL/alerts" | jq -c .alerts)"
	m=$(curl -sf "$NS_URL/metrics")
	s=$(python3 "$NS_ROOT/tests/metric.py" novascope_anomaly_score 'signal="syscall_latency_p99"' \
		'syscall="pread64"' <<<"$m")
	# The detector must really be scoring the workload once warmed up (30 intervals).
	if [ "$(elapsed "$start" | cut -d. -f1)" -ge 40 ]; then
		after_warmup=$((after_warmup + 1))
		grep -q '^novascope_anomaly_score{signal="syscall_latency_p99",syscall="pread64"}' <<<"$m" &&
			scored=$((scored + 1))
	fi
done
# A sample every 5 s, or every 10 s on a loaded machine (a sample takes a scrape and python).
want=$(((STEADY - 40) / 10))
[ "$after_warmup" -ge "$want" ] && [ "$after_warmup" -ge 1 ] ||
	ns_fail "steady phase sampled $after_warmup times after warm-up, wanted $want or more"
[ "$scored" -ge $((after_warmup - 1)) ] ||
	ns_fail "pread64 was scored in only $scored of $after_warmup samples after warm-up; last score $s"
ns_ok "steady for ${STEADY}s: no alert; pread64 scored in $scored of $after_warmup samples after warm-up (last z=$s)"

# 2. Fault: visible in Alertmanager within 15 s.
anom_fault_on
got=$(am_wait_count 1 15 fault)
[ -n "$got" ] || ns_fail "no alert in Alertmanager 15 s after the fault (novascope: $(curl -s "$NS_URL/alerts" | jq -c .alerts))"
ns_ok "alert in Alertmanager ${got}s after the fault"
curl -sf "$AM_URL/api/v2/alerts" | python3 -c '
import json, socket, sys
a = [x for x in json.load(sys.stdin) if x["labels"].get("signal") == "syscall_latency_p99"][0]
l, an = a["labels"], a["annotations"]
want = {"alertname": "NovascopeSyscallLatencyP99", "severity": "warning",
        "metric": "novascope_syscall_latency_seconds", "syscall": "pread64",
        "instance": socket.gethostname()}
for k, v in want.items():
    assert l.get(k) == v, "label %s: expected %r, got %r" % (k, v, l.get(k))
for k in ("summary", "value", "baseline", "score"):
    assert an.get(k), "annotation %s missing: %r" % (k, an)
assert float(an["score"]) >= 3, an
assert float(an["value"]) > float(an["baseline"]), an
assert a["startsAt"] and a["status"]["state"] == "active", a
print("ok: labels", sorted(l), "summary:", an["summary"])' || ns_fail "alert content"

# 3. Remove the fault: resolved (gone from Alertmanager's active alerts) within 30 s.
sleep 3
anom_fault_off
res=$(am_wait_count 0 30 recovery)
[ -n "$res" ] || ns_fail "alert still active in Alertmanager 30 s after the fault was removed"
ns_ok "resolved in Alertmanager ${res}s after the fault was removed"

grep -q 'msg="alert firing".*signal=syscall_latency_p99.*labels="syscall=pread64"' "$NS_LOG" ||
	ns_fail "no 'alert firing' log line"
grep -q 'msg="alert resolved".*signal=syscall_latency_p99' "$NS_LOG" || ns_fail "no 'alert resolved' log line"
ns_wait_collect # /metrics is rendered once per interval: let it count the resolve
ok=$(ns_metric novascope_alert_notifications_total 'result="success"')
bad=$(ns_metric novascope_alert_notifications_total 'result="failure"')
[ "$ok" -ge 2 ] && [ "$bad" = 0 ] || ns_fail "notifications: success=$ok failure=$bad (expected >=2 and 0)"
[ "$(ns_metric novascope_alerts_firing 'alertname="NovascopeSyscallLatencyP99"')" = 0 ] ||
	ns_fail "novascope_alerts_firing not back to 0"
ns_ok "log lines and notification counters (success=$ok)"
