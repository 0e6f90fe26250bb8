# Helpers for the anomaly/alerting e2e tests and the alert-latency benchmark. Source after
# tests/lib.sh. Everything started here is stopped by ns_cleanup.
#
# The fault: a workload in its own cgroup preads 4 KiB at random offsets of a cached file
# (a memory copy, a few microseconds, insensitive to CPU load from anything else on the node).
# While steady, the file is mapped and mlocked by a "pinner" (like a database pinning its
# buffer pool), so nothing else on this shared machine (drop_caches, memory pressure) can
# evict it. The injected fault evicts the file's first MiB from the page cache every 20 ms
# (the rest stays pinned), so one pread in 16 waits for the disk: p99 becomes a disk read. Only
# a sixteenth of the reads load the disk, and putting the fault right takes reading back 1 MiB,
# so neither depends much on how fast the machine's disk is. The kernel sees pread64's latency jump; novascope traces only that cgroup
# (--syscall.cgroup), so other processes on the machine cannot trigger or mask an alert.

ANOM_LOAD=$NS_BUILD/tests/progs/anomaly_load
[ -x "$ANOM_LOAD" ] || ns_fail "build $ANOM_LOAD first (make build/tests/progs/anomaly_load)"

# am_start [PORT]: Alertmanager on loopback; sets AM_PORT, AM_URL, AM_PID.
am_start() {
	AM_PORT=${1:-$(ns_free_port)}
	AM_URL=http://127.0.0.1:$AM_PORT
	mkdir -p "$NS_TMP/am"
	cat >"$NS_TMP/am/am.yml" <<-EOF
		route:
		  receiver: "null"
		  group_wait: 0s
		receivers:
		  - name: "null"
	EOF
	prometheus-alertmanager --config.file="$NS_TMP/am/am.yml" --storage.path="$NS_TMP/am" \
		--web.listen-address=127.0.0.1:$AM_PORT --cluster.listen-address= \
		>"$NS_TMP/am/log" 2>&1 &
	AM_PID=$!
	ns_on_exit "kill $AM_PID 2>/dev/null; wait $AM_PID 2>/dev/null"
	for _ in $(seq 1 100); do
		curl -sf "$AM_URL/-/ready" >/dev/null && return 0
		sleep 0.1
	done
	cat "$NS_TMP/am/log" >&2
	ns_fail "alertmanager did not start on $AM_URL"
}

# am_alert_count SIGNAL [LABEL=VALUE]: active alerts in Alertmanager for that signal.
am_alert_count() {
	curl -sf "$AM_URL/api/v2/alerts" | python3 -c '
import json, sys
sig, extra = sys.argv[1], sys.argv[2:]
n = 0
for a in json.load(sys.stdin):
    l = a["labels"]
    if l.get("signal") == sig and all(l.get(k) == v for k, v in (e.split("=", 1) for e in extra)):
        n += 1
print(n)' "$@"
}

# am_wait_count N SECS TRACE: wait up to SECS for N active pread64 alerts of
# syscall_latency_p99 in Alertmanager, tracing the detector meanwhile; prints the seconds it
# took, nothing on a timeout (and then the trace, on stderr).
am_wait_count() {
	local t0
	t0=$(now_s)
	while [ "$(elapsed "$t0" | cut -d. -f1)" -lt "$2" ]; do
		if [ "$(am_alert_count syscall_latency_p99 syscall=pread64)" = "$1" ]; then
			elapsed "$t0"
			return 0
		fi
		anom_trace "$3"
		sleep 0.25
	done
	anom_trace_dump >&2
}

# am_total: every alert Alertmanager holds.
am_total() { curl -sf "$AM_URL/api/v2/alerts" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# anom_setup: a cached file and a cgroup; sets ANOM_FILE, ANOM_CG.
anom_setup() {
	ANOM_FILE=$(mktemp /var/tmp/novascope-anomaly.XXXXXX)
	ns_on_exit "rm -f $ANOM_FILE"
	head -c 16M /dev/urandom >"$ANOM_FILE"
	# Written back now: POSIX_FADV_DONTNEED skips dirty pages, and the fault must evict.
	sync "$ANOM_FILE"
	cat "$ANOM_FILE" >/dev/null
	anom_pin
	ANOM_CG=/sys/fs/cgroup/unified/novascope-anomaly-$$
	mkdir "$ANOM_CG"
	ns_on_exit "anom_cg_remove $ANOM_CG"
}

ANOM_FAULT_KIB=1024

# anom_pin [FROM_KIB]: keep the file (from FROM_KIB on) in the page cache; sets ANOM_PIN.
anom_pin() {
	"$ANOM_LOAD" pin "$ANOM_FILE" "${1:-0}" &
	ANOM_PIN=$!
	ns_on_exit "kill $ANOM_PIN 2>/dev/null"
}

anom_cg_remove() {
	local p
	for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	rmdir "$1" 2>/dev/null || true
}

# anom_workload: the steady pread workload inside the cgroup; sets ANOM_WL.
anom_workload() {
	sh -c "echo \$\$ > $ANOM_CG/cgroup.procs && exec $ANOM_LOAD read $ANOM_FILE ${1:-5000}" &
	ANOM_WL=$!
	ns_on_exit "kill $ANOM_WL 2>/dev/null"
}

# anom_fault_on / anom_fault_off: start evicting the first MiB from the page cache (outside the
# cgroup) / stop and put it back in the cache.
anom_fault_on() {
	local whole=$ANOM_PIN
	anom_pin "$ANOM_FAULT_KIB" # the rest stays cached
	kill "$whole" 2>/dev/null || true
	wait "$whole" 2>/dev/null || true
	"$ANOM_LOAD" evict "$ANOM_FILE" 20 "$ANOM_FAULT_KIB" &
	ANOM_EV=$!
	ns_on_exit "kill $ANOM_EV 2>/dev/null"
}
anom_fault_off() {
	local t part=$ANOM_PIN
	kill "$ANOM_EV" 2>/dev/null || true
	wait "$ANOM_EV" 2>/dev/null || true
	t=$(now_s)
	cat "$ANOM_FILE" >/dev/null
	anom_pin
	kill "$part" 2>/dev/null || true
	wait "$part" 2>/dev/null || true
	echo "fault off: file back in the page cache in $(elapsed "$t")s"
}

# anom_trace LABEL: one line on how the detector sees pread64 now (for failure reports):
# its alert state, value, baseline and score from /alerts, or its score from /metrics.
anom_trace() {
	local a s
	a=$(curl -sf "$NS_URL/alerts" | jq -c '[.alerts[] | select(.labels.syscall == "pread64") |
		{state, value, baseline, score}] + [.notifications]' 2>/dev/null)
	s=$(curl -sf "$NS_URL/metrics" |
		awk '/^novascope_anomaly_score\{signal="syscall_latency_p99",syscall="pread64"\}/ {print $2}')
	echo "trace $1 t=$(date +%T.%N | cut -c1-12) score=${s:-none} alerts=$a" >>"$NS_TMP/trace"
}

# anom_trace_dump: the trace lines, for ns_fail messages.
anom_trace_dump() { tail -40 "$NS_TMP/trace" 2>/dev/null; }

now_s() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now_s) - $1, 2))"; }
