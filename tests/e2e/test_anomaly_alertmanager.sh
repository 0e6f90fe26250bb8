#!/usr/bin/env bash
# On-node detection to a real Alertmanager, with the default detector settings:
#  1. a steady workload for 3 minutes raises no alert (while the detector is scoring it).
#     The workload times its own preads (anom_wl_jump): an alert whose jump the workload saw
#     too (the shared machine, not the workload, changed: a noisy neighbour, steal,
#     compaction...) is a true positive; the test then waits for it to resolve and runs the
#     steady phase once more. An alert the workload's own latency does not confirm, or a
#     second one, fails;
#  2. a real fault (page-cache eviction under a pread workload) is visible in Alertmanager's
#     GET /api/v2/alerts within 15 s of its injection, with the labels and annotations the
#     issue lists;
#  3. after the fault is removed the alert is resolved (endsAt sent: Alertmanager's own
#     resolve_timeout is 5 minutes, so it can only disappear this soon because of endsAt).
# Time for a second steady phase (tests/run.sh reads this line):
# ns-timeout: 590
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/anomaly_lib.sh"

STEADY=${NS_ANOMALY_STEADY:-180}
am_start
anom_setup
anom_workload
ns_start_daemon --probes=syscall --syscall.cgroup="$ANOM_CG" --alertmanager.url="$AM_URL"
start=$(now_s)

# steady_alert_starts: when the pread64 alert began (its startsAt in Alertmanager, else
# active_since in /alerts), in unix seconds; empty if neither has it.
steady_alert_starts() {
	{
		curl -sf "$AM_URL/api/v2/alerts" | jq -r '.[] | select(.labels.syscall == "pread64") | .startsAt'
		curl -sf "$NS_URL/alerts" | jq -r '.alerts[] | select(.labels.syscall == "pread64") | .active_since // empty'
	} | python3 -c '
import sys
from datetime import datetime
for l in sys.stdin:
    if l.strip():
        print(datetime.fromisoformat(l.strip().replace("Z", "+00:00")).timestamp())
        break'
}

# steady_alert WHAT: an alert appeared during the steady phase (WHAT says where, for the
# failure message). Returns if the workload's own p99 confirms a real jump over the seconds
# the detector judged, this is the first such alert, and it resolves (gone from Alertmanager,
# not firing in /alerts) within 60 s; fails otherwise. startsAt is the end of the first of the
# 8 anomalous intervals that made the alert fire, so those seconds are startsAt - 1 to
# startsAt + 7: look at startsAt - 2 to startsAt + 9 (or the last 15 s without a startsAt).
steady_alert() {
	local what=$1 now starts from to gt others
	now=$(now_s)
	anom_trace alert
	starts=$(steady_alert_starts || true)
	if [ -n "$starts" ]; then
		from=$(python3 -c "print($starts - 2)") to=$(python3 -c "print(min($starts + 9, $now))")
	else
		from=$(python3 -c "print($now - 15)") to=$now
	fi
	# Only the workload's pread64 can be checked against its own latency.
	others=$({
		curl -sf "$AM_URL/api/v2/alerts" | jq -c '.[].labels'
		curl -sf "$NS_URL/alerts" | jq -c '.alerts[] | select(.state == "firing") | .labels'
	} | grep -v '"syscall":"pread64"' || true)
	if [ -z "$others" ] && gt=$(anom_wl_jump "$from" "$to"); then
		[ "$restarts" = 0 ] ||
			ns_fail "$what; the second alert caused by the environment (too noisy to test on): $gt"
		echo "environment not steady: $gt; the alert was a true positive (novascope: $(curl -s "$NS_URL/alerts" | jq -c .alerts))"
		local t0
		t0=$(now_s)
		while [ "$(am_total)" != 0 ] || [ "$(ns_firing)" != 0 ]; do
			anom_trace resolve
			[ "$(elapsed "$t0" | cut -d. -f1)" -lt 60 ] ||
				ns_fail "the environment-caused alert did not resolve within 60 s: $(anom_wl_jump "$from" "$to" || true); trace:
$(anom_trace_dump)"
			sleep 1
		done
		echo "resolved after $(elapsed "$t0") s; the steady phase starts again"
		return 0
	fi
	[ -z "$others" ] || others="alerts the workload latency cannot confirm: $others; "
	ns_fail "$what; $others$(anom_wl_jump "$from" "$to" || true); trace:
$(anom_trace_dump)"
}

# 1. Steady: no alert in Alertmanager or firing in /alerts, sampled every 5 s. Run once more
# after an alert the environment caused (steady_alert), for STEADY seconds again or, when less
# is left before tests/run.sh's time limit (NS_TEST_TIMEOUT, 300 s by default) minus what the
# fault and recovery phases need, for what is left.
restarts=0 steady_t0=$(date +%s) period=$STEADY warmup=40
while :; do
	scored=0 after_warmup=0 alert=""
	while [ "$(elapsed "$start" | cut -d. -f1)" -lt "$period" ]; do
		sleep 5
		anom_trace steady
		n=$(am_total)
		if [ "$n" != 0 ]; then
			alert="$n alert(s) in Alertmanager after $(elapsed "$start") s: $(curl -s "$AM_URL/api/v2/alerts")"
			break
		fi
		firing=$(ns_firing)
		if [ "$firing" != 0 ]; then
			alert="$firing firing in /alerts after $(elapsed "$start") s: $(curl -s "$NS_URL/alerts" | jq -c .alerts)"
			break
		fi
		m=$(curl -sf "$NS_URL/metrics")
		s=$(awk '/^novascope_anomaly_score\{signal="syscall_latency_p99",syscall="pread64"\}/ {
			print $2 }' <<<"$m")
		# The detector must really be scoring the workload once warmed up (30 intervals after
		# the daemon started; long over when the phase runs again).
		if [ "$(elapsed "$start" | cut -d. -f1)" -ge "$warmup" ]; then
			after_warmup=$((after_warmup + 1))
			grep -q '^novascope_anomaly_score{signal="syscall_latency_p99",syscall="pread64"}' <<<"$m" &&
				scored=$((scored + 1))
		fi
	done
	[ -n "$alert" ] || break
	steady_alert "steady workload: $alert"
	restarts=1 warmup=0 start=$(now_s)
	left=$((${NS_TEST_TIMEOUT:-300} - SECONDS - 125))
	[ "$left" -ge "$period" ] || period=$left
	[ "$period" -ge 60 ] ||
		ns_fail "no time left for a second steady period (${left} s before the ${NS_TEST_TIMEOUT:-300} s limit, 60 wanted)"
	echo "steady phase again, for ${period}s"
done
# A sample every 5 s, or every 10 s on a loaded machine (a sample takes several scrapes).
want=$(((period - warmup) / 10))
[ "$after_warmup" -ge "$want" ] && [ "$after_warmup" -ge 1 ] ||
	ns_fail "steady phase sampled $after_warmup times after warm-up, wanted $want or more"
[ "$scored" -ge $((after_warmup - 1)) ] ||
	ns_fail "pread64 was scored in only $scored of $after_warmup samples after warm-up; last score $s"
again=""
[ "$restarts" = 0 ] || again=" (the second time)"
ns_ok "steady for ${period}s$again: no alert; pread64 scored in $scored of $after_warmup samples after warm-up (last z=$s)"
echo "the workload's own pread p99 per second, steady phase$again: $(anom_wl_summary "${start%.*}" "$(date +%s)")"
[ "$restarts" = 0 ] ||
	echo "the workload's own pread p99 per second, whole steady phase: $(anom_wl_summary "$steady_t0" "$(date +%s)")"

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

# 3. Remove the fault: resolved (gone from Alertmanager's active alerts) within 90 s. It takes
# resolve_after (5) consecutive normal intervals: 8-15 s here, 37 s once when the host was busy;
# the rest is room for a machine whose own latency stays up for a while (the workload's own p99
# is in the failure message).
sleep 3
anom_fault_off
off=$(date +%s)
res=$(am_wait_count 0 90 recovery)
[ -n "$res" ] ||
	ns_fail "alert still active in Alertmanager 90 s after the fault was removed; the workload's own pread p99 per second since: $(anom_wl_summary "$off" "$(date +%s)")"
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
