#!/usr/bin/env bash
# Alertmanager down when the alert fires, up 20 s later: the alert arrives (retried with
# back-off, never dropped while it is still firing), with its original startsAt; the failed
# attempts are counted in novascope_alert_notifications_total{result="failure"}.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/anomaly_lib.sh"

AM_PORT=$(ns_free_port) # reserved for later: nothing listens there yet
anom_setup
anom_workload
cat >"$NS_TMP/cfg.yml" <<EOF
anomaly:
  defaults: {warmup: 10}
EOF
ns_start_daemon --probes=syscall --syscall.cgroup="$ANOM_CG" --config.file="$NS_TMP/cfg.yml" \
	--alertmanager.url="http://127.0.0.1:$AM_PORT"
sleep 15 # warm-up: 10 intervals of data

anom_fault_on
t0=$(now_s)
while [ "$(elapsed "$t0" | cut -d. -f1)" -lt 15 ]; do
	[ "$(ns_firing)" -ge 1 ] && break
	anom_trace fault
	sleep 0.25
done
fired_at=$(curl -sf "$NS_URL/alerts" | jq -r '.alerts[] | select(.state == "firing") | .active_since' | head -1)
[ -n "$fired_at" ] || anom_trace_dump
[ -n "$fired_at" ] || ns_fail "no firing alert in /alerts 15 s after the fault"
ns_ok "firing in novascope $(elapsed "$t0")s after the fault (active since $fired_at), Alertmanager down"
sleep 2
fails=$(ns_metric novascope_alert_notifications_total 'result="failure"')
[ "$fails" -ge 1 ] || ns_fail "expected failed notifications while Alertmanager is down, got $fails"

sleep 20
am_start "$AM_PORT"
t1=$(now_s)
got=""
while [ "$(elapsed "$t1" | cut -d. -f1)" -lt 15 ]; do
	if [ "$(am_alert_count syscall_latency_p99 syscall=pread64)" = 1 ]; then
		got=$(elapsed "$t1")
		break
	fi
	sleep 0.25
done
[ -n "$got" ] || ns_fail "alert not in Alertmanager 15 s after it came up (novascope: $(curl -s "$NS_URL/alerts" | jq -c .notifications))"
starts=$(curl -sf "$AM_URL/api/v2/alerts" | jq -r '.[0].startsAt')
python3 - "$fired_at" "$starts" <<'EOF' || ns_fail "startsAt $starts is not the original $fired_at"
import sys
from datetime import datetime
a, b = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in sys.argv[1:])
assert abs((a - b).total_seconds()) < 0.01, (a, b)
EOF
ns_wait_collect
fails=$(ns_metric novascope_alert_notifications_total 'result="failure"')
ok=$(ns_metric novascope_alert_notifications_total 'result="success"')
[ "$ok" -ge 1 ] || ns_fail "no successful notification counted"
ns_ok "alert arrived ${got}s after Alertmanager came up, startsAt $starts; failures=$fails success=$ok"
anom_fault_off
