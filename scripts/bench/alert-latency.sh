#!/usr/bin/env bash
# Time from fault injection to the alert in Alertmanager: novascope's on-node detection
# (built-in syscall_latency_p99 signal, default settings, posting to Alertmanager itself) vs
# the shipped Prometheus rule path (deploy/prometheus/rules.yml's
# NovascopeSyscallLatencyRegression, real Prometheus at its default 15 s scrape and evaluation
# intervals, sending to the same Alertmanager). Both watch the same fault at the same time:
# a pread workload whose file is evicted from the page cache (tests/e2e/anomaly_lib.sh).
# Prints one row per trial and the medians. Needs root.
# The Prometheus rule compares the p99 with its median over the last 30 minutes, so it needs
# history, and each trial's fault must stay a minority of that window: a 10-minute warm-up and
# 5 minutes between trials (about 40 minutes for 3 trials).
# Usage: scripts/bench/alert-latency.sh [TRIALS] (default 3)
#        NS_BENCH_WARMUP=seconds (600), NS_BENCH_COOLDOWN=seconds (300)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x bin/novascope ] && [ -x build/tests/progs/anomaly_load ] ||
	make -s all build/tests/progs/anomaly_load
. tests/lib.sh
. tests/e2e/anomaly_lib.sh
TRIALS=${1:-3}
WARMUP=${NS_BENCH_WARMUP:-600}
COOLDOWN=${NS_BENCH_COOLDOWN:-300}

am_start
anom_setup
anom_workload
ns_start_daemon --probes=syscall --syscall.cgroup="$ANOM_CG" --alertmanager.url="$AM_URL"
PPORT=$(ns_free_port)
mkdir -p "$NS_TMP/prom"
cat >"$NS_TMP/prom/p.yml" <<YAML
global: {scrape_interval: 15s, evaluation_interval: 15s}
rule_files: ["$NS_ROOT/deploy/prometheus/rules.yml"]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]}]
scrape_configs:
  - job_name: novascope
    static_configs: [{targets: ["127.0.0.1:$NS_PORT"]}]
YAML
prometheus --config.file="$NS_TMP/prom/p.yml" --storage.tsdb.path="$NS_TMP/prom/data" \
	--web.listen-address=127.0.0.1:$PPORT >"$NS_TMP/prom/log" 2>&1 &
ns_on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
echo "warming up for ${WARMUP}s (novascope baseline, Prometheus rule history)..." >&2
sleep "$WARMUP"

prom_count() { # active Prometheus-path alerts for pread64 in Alertmanager
	curl -sf "$AM_URL/api/v2/alerts" | jq '[.[] | select(.labels.alertname == "NovascopeSyscallLatencyRegression" and .labels.syscall == "pread64")] | length'
}
rows=()
for t in $(seq 1 "$TRIALS"); do
	[ "$(am_total)" = 0 ] || { echo "alerts still active before trial $t: $(curl -s "$AM_URL/api/v2/alerts")" >&2; exit 1; }
	anom_fault_on
	t0=$(now_s)
	ns_lat="" pr_lat=""
	while [ -z "$pr_lat" ] && [ "$(elapsed "$t0" | cut -d. -f1)" -lt 420 ]; do
		[ -n "$ns_lat" ] || [ "$(am_alert_count syscall_latency_p99 syscall=pread64)" = 0 ] || ns_lat=$(elapsed "$t0")
		[ "$(prom_count)" = 0 ] || pr_lat=$(elapsed "$t0")
		sleep 0.5
	done
	anom_fault_off
	echo "trial $t: novascope ${ns_lat:-none}s, Prometheus rule ${pr_lat:-none}s" >&2
	rows+=("$t ${ns_lat:-nan} ${pr_lat:-nan}")
	# Both resolved before the next trial, then normal history for the rule's baseline.
	t1=$(now_s)
	while [ "$(am_total)" != 0 ] && [ "$(elapsed "$t1" | cut -d. -f1)" -lt 600 ]; do sleep 2; done
	[ "$t" = "$TRIALS" ] || sleep "$COOLDOWN"
done

printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
print("| trial | novascope on-node -> Alertmanager (s) | Prometheus rule (15 s scrape/eval, for: 2m) -> Alertmanager (s) |")
print("|---|---|---|")
for t, a, b in rows:
    print("| %s | %s | %s |" % (t, a, b))
na = [float(a) for _, a, _ in rows if a != "nan"]
nb = [float(b) for _, _, b in rows if b != "nan"]
if na and nb:
    print("| median | %.1f | %.1f |" % (statistics.median(na), statistics.median(nb)))'
