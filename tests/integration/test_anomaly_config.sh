#!/usr/bin/env bash
# The anomaly section and alert flags as a user meets them: bad signal definitions and bad
# --alertmanager.url stop start-up with exit status 2 and a message naming them; a good config
# adds a signal that fires, visible in /alerts, novascope_alerts_firing, the log, and
# /metrics (which stays clean for promtool with novascope_anomaly_score in it); SIGTERM is
# prompt even while an Alertmanager request hangs.
. "$(dirname "$0")/../lib.sh"

expect_exit2() { # config-yaml want1 want2
	printf '%s\n' "$1" >"$NS_TMP/bad.yml"
	set +e
	out=$(timeout 5 "$NS_BIN" --config.file="$NS_TMP/bad.yml" --web.listen-address=127.0.0.1:1 2>&1)
	rc=$?
	set -e
	[ $rc = 2 ] || ns_fail "config '$1': exit $rc, expected 2 ($out)"
	grep -qF "$2" <<<"$out" && grep -qF "$3" <<<"$out" || ns_fail "config '$1': message '$out' lacks '$2' / '$3'"
	ns_ok "exit 2: $out"
}
expect_exit2 $'anomaly:\n  signals:\n    - {name: slow_disk, metric: novascope_block_io_latency_seconds, stat: p100}' \
	"slow_disk" "p100"
expect_exit2 $'anomaly:\n  signals:\n    - {name: slow_disk, metric: novascope_block_io_latency_seconds, stat: p99, treshold: 1}' \
	"slow_disk" 'unknown key "treshold"'
expect_exit2 $'anomaly:\n  signals:\n    - {name: syscall_latency_p99, window: 3}' \
	"syscall_latency_p99" "window"
set +e
out=$(timeout 5 "$NS_BIN" --alertmanager.url=ftp://am:9093 2>&1)
rc=$?
set -e
[ $rc = 2 ] && grep -q "alertmanager.url" <<<"$out" || ns_fail "bad --alertmanager.url: exit $rc: $out"
ns_ok "exit 2: $out"

# A signal that is always breached: p50 of every syscall above 1ns, for 2s.
cat >"$NS_TMP/cfg.yml" <<'YAML'
anomaly:
  defaults: {warmup: 5}
  signals:
    - name: always_on
      metric: novascope_syscall_latency_seconds
      stat: p50
      by: []
      above: 1ns
      for: 2s
      severity: info
YAML
# A steady pread64 load (1000 calls/s) so that the built-in syscall signal has a label set
# with enough calls per interval to score, however quiet the machine is.
head -c 1M /dev/zero >"$NS_TMP/file"
"$NS_ROOT/build/tests/progs/anomaly_load" read "$NS_TMP/file" 1000 &
ns_on_exit "kill $! 2>/dev/null"
# 10.255.255.1 does not answer: requests to it hang until the timeout.
ns_start_daemon --probes=syscall --config.file="$NS_TMP/cfg.yml" \
	--alertmanager.url=http://10.255.255.1:9093 --alertmanager.timeout=30s
for _ in $(seq 1 30); do
	sleep 0.5
	curl -sf "$NS_URL/alerts" >"$NS_TMP/alerts.json"
	jq -e '.signals[] | select(.name == "syscall_latency_p99" and .scored > 0)' \
		"$NS_TMP/alerts.json" >/dev/null && break
done
jq -e '.alerts[] | select(.alertname == "NovascopeAlwaysOn" and .state == "firing" and .kind == "threshold")' \
	"$NS_TMP/alerts.json" >/dev/null || ns_fail "no firing NovascopeAlwaysOn in /alerts: $(cat "$NS_TMP/alerts.json")"
jq -e '.signals[] | select(.name == "block_device_latency_p99" and .state == "waiting for its metric")' \
	"$NS_TMP/alerts.json" >/dev/null || ns_fail "built-in block signal should wait for its metric"
jq -e '.signals[] | select(.name == "syscall_latency_p99" and .state == "active" and .scored > 0)' \
	"$NS_TMP/alerts.json" >/dev/null || ns_fail "syscall_latency_p99 is not scoring: $(jq -c .signals[0] "$NS_TMP/alerts.json")"
ns_ok "/alerts: firing threshold alert, waiting and active signals"
[ "$(ns_metric novascope_alerts_firing 'alertname="NovascopeAlwaysOn"')" = 1 ] || ns_fail "novascope_alerts_firing != 1"
ns_scrape >"$NS_TMP/metrics.txt"
grep -q '^novascope_anomaly_score{signal="syscall_latency_p99",syscall="' "$NS_TMP/metrics.txt" ||
	ns_fail "no novascope_anomaly_score series"
promtool check metrics <"$NS_TMP/metrics.txt" || ns_fail "promtool check metrics found problems"
ns_ok "metrics: anomaly score and alerts firing, promtool clean"
grep -q 'level=warn msg="alert firing" alertname=NovascopeAlwaysOn state=firing signal=always_on' "$NS_LOG" ||
	ns_fail "no structured 'alert firing' log line"
t0=$(date +%s%N)
ns_stop_daemon "$NS_PID"
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 1500 ] || ns_fail "SIGTERM took ${ms}ms with a hanging Alertmanager request"
ns_ok "stopped in ${ms}ms while a request to Alertmanager hung"
