#!/usr/bin/env bash
# A real Prometheus scrapes the daemon; histogram_quantile over the syscall latency buckets
# returns a number.
. "$(dirname "$0")/../lib.sh"

ns_start_daemon --probes=syscall
ns_start_prometheus 127.0.0.1:$NS_PORT
"$NS_BUILD/tests/progs/getppid_loop" 100000 >/dev/null
q='histogram_quantile(0.99, sum by (le) (rate(novascope_syscall_latency_seconds_bucket{syscall="getppid"}[1m])))'
# The first scrape comes a few seconds after start; rate() needs two of them.
for i in $(seq 1 60); do
	"$NS_BUILD/tests/progs/getppid_loop" 20000 >/dev/null
	res=$(ns_prom_query "$q")
	val=$(echo "$res" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["value"][1] if r else "")')
	if [ -n "$val" ] && [ "$val" != NaN ]; then
		python3 -c "import sys; v=float('$val'); sys.exit(0 if 0 < v < 1 else 1)" ||
			ns_fail "p99 getppid latency $val s is not a plausible number"
		ns_ok "histogram_quantile p99 getppid = $val s after ${i}s"
		up=$(ns_prom_query 'up{job="novascope"}')
		echo "$up" | grep -q '"1"' || ns_fail "up != 1: $up"
		exit 0
	fi
	sleep 1
done
ns_fail "histogram_quantile returned no number: $res"
