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
# so neither depends much on how fast the machine's disk is. The kernel sees pread64's latency
# jump; novascope traces only that cgroup (--syscall.cgroup), so other processes on the machine
# cannot trigger or mask an alert.
#
# The workload gets the last CPU to itself from the test's side: sourcing this pins the calling
# shell, and so everything it starts afterwards (novascope, Alertmanager, the curl/jq/python3 of
# each poll, the fault injector), to the other CPUs. A steady workload is steady only if the test
# does not compete with it: with 4 polls a second each starting python3, the workload's own
# pread p99 sat at ~30us for a minute after a fault (3.6us before) on this 2-CPU machine. Even
# from the other CPU a burst of process starts raises it to ~30us on this PVM guest, so the
# polls are light too (curl and jq, time from shell builtins, 2 a second at most).

ANOM_LOAD=$NS_BUILD/tests/progs/anomaly_load
[ -x "$ANOM_LOAD" ] || ns_fail "build $ANOM_LOAD first (make build/tests/progs/anomaly_load)"
ANOM_CPU=""
if [ "$(nproc)" -ge 2 ]; then
	ANOM_CPU=$(($(nproc) - 1))
	taskset -pc "0-$((ANOM_CPU - 1))" $$ >/dev/null || ns_fail "taskset: cannot pin the test shell"
fi

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
	local f='.labels.signal == $sig' kv
	for kv in "${@:2}"; do
		f+=" and .labels[\"${kv%%=*}\"] == \"${kv#*=}\""
	done
	curl -sf "$AM_URL/api/v2/alerts" | jq --arg sig "$1" "[.[] | select($f)] | length"
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
		sleep 0.5
	done
	anom_trace_dump >&2
}

# am_total: every alert Alertmanager holds.
am_total() { curl -sf "$AM_URL/api/v2/alerts" | jq length; }

# ns_firing: alerts firing in novascope's /alerts.
ns_firing() { curl -sf "$NS_URL/alerts" | jq '[.alerts[] | select(.state == "firing")] | length'; }

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

# anom_workload [RATE]: the steady pread workload inside the cgroup; sets ANOM_WL. It times its
# own preads and writes a line per second to ANOM_LAT (see anom_wl_jump).
anom_workload() {
	ANOM_LAT=$NS_TMP/wl.lat
	sh -c "echo \$\$ > $ANOM_CG/cgroup.procs && ANOM_LAT_OUT=$ANOM_LAT \
		exec ${ANOM_CPU:+taskset -c $ANOM_CPU} $ANOM_LOAD read $ANOM_FILE ${1:-5000}" &
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

# The workload's own latency, measured around each pread with CLOCK_MONOTONIC (ground truth
# that does not depend on novascope): ANOM_LAT has a line per wall-clock second,
# "UNIX_SECOND COUNT P50_NS P99_NS MAX_NS" (exact quantiles of that second's preads). Each of
# these times contains the whole syscall the kernel measures, and more: the vDSO clock reads,
# and the wait to run again when the reader is preempted on its way back to user space (with
# preempt=none, where CPU contention shows up), which the kernel's pread64 latency does not
# include. So the workload's own p99 is never below novascope's, and on a CPU-contended
# machine it also jumps when novascope's does not.
#
# anom_wl_jump FROM TO [FILE]: did the workload's own p99 really jump in the seconds FROM..TO
# (unix times, fractions allowed)? Prints one line saying what it saw; returns 0 when it did
# (the environment was not steady), 1 when it did not (or there is too little data to say).
# The rule mirrors the built-in syscall_latency_p99 detector: it scores log(p99) against the
# median of its last 300 intervals, with a spread of at least log(1.5) (min_spread 50%), and
# calls an interval anomalous at z >= 3, i.e. a p99 at least 1.5^3 = 3.375x its baseline; it
# fires after 8 consecutive anomalous 1 s intervals. Here:
#  - the baseline is the machine's quiet level: the lower quartile of the per-second p99 over
#    the 300 s before FROM. The kernel's own p99 hardly moves with CPU contention, so its
#    median is its quiet level; the workload's median would be inflated on a machine that was
#    contended for much of that time, and then hide a real jump;
#  - the jump is real when at least 5 seconds in FROM..TO have a p99 of at least 3x that
#    baseline: 3x rather than 3.375x because the detector's p99 is interpolated inside log2
#    histogram buckets, which can misplace it by some percent either way; 5 seconds rather
#    than 8 because the detector's intervals and wall-clock seconds are not aligned (8
#    intervals may cover 7 whole seconds and two parts), and a second of which only part was
#    slow can have a lower p99 than the intervals the detector saw.
# A detector that fires while the workload's own p99 stayed within 3x, or moved for fewer than
# 5 s, made a false positive: the caller must fail then.
anom_wl_jump() { anom_wl jump "$@"; }

# anom_wl_summary FROM TO [FILE]: the workload's own per-second p99 over FROM..TO (median, max,
# lower quartile, seconds at >= 3x the lower quartile as anom_wl_jump counts them), for the logs.
anom_wl_summary() { anom_wl summary "$@"; }

# anom_wl jump|summary FROM TO [FILE]: both of the above, one reader of the latency file.
anom_wl() {
	python3 - "$1" "$2" "$3" "${4:-$ANOM_LAT}" <<-'EOF'
		import statistics, sys, time
		mode, lo, hi, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
		rows = [(int(f[0]), int(f[3])) for f in (l.split() for l in open(path)) if len(f) == 5]
		us = lambda ns: "%.3gus" % (ns / 1000)
		lq = lambda v: sorted(v)[(len(v) - 1) // 4]  # the lower quartile: a quiet level
		if mode == "summary":
		    p = [p for t, p in rows if lo <= t <= hi]
		    if not p:
		        print("no data")
		        sys.exit(0)
		    q = lq(p)
		    print("median %s, max %s, lower quartile %s; %d of %d s at >= 3x the lower quartile"
		          % (us(statistics.median(p)), us(max(p)), us(q), sum(x >= 3 * q for x in p),
		             len(p)))
		    sys.exit(0)
		hms = lambda t: time.strftime("%H:%M:%S", time.localtime(t))
		base = [p for t, p in rows if lo - 300 <= t < int(lo)]
		win = [(t, p) for t, p in rows if int(lo) <= t <= hi]
		if len(base) < 10 or not win:
		    print("the workload's own p99: too little data (%d s before %s, %d s in %s..%s)"
		          % (len(base), hms(lo), len(win), hms(lo), hms(hi)))
		    sys.exit(1)
		b = lq(base)
		high = [(t, p) for t, p in win if p >= 3 * b]
		seen = " ".join(us(p) for _, p in win)
		before = "lower quartile of the %d s before, median %s" % (len(base),
		                                                         us(statistics.median(base)))
		if len(high) >= 5:
		    print("the workload's own p99 went from %s (%s) to %s (median of the %d of %d s at "
		          ">= 3x, max %s) at %s; per second %s..%s: %s"
		          % (us(b), before, us(statistics.median(p for _, p in high)), len(high),
		             len(win), us(max(p for _, p in high)), hms(high[0][0]), hms(win[0][0]),
		             hms(win[-1][0]), seen))
		    sys.exit(0)
		print("the workload's own p99 stayed steady: baseline %s (%s), %d of %d s at >= 3x "
		      "(5 needed); per second %s..%s: %s"
		      % (us(b), before, len(high), len(win), hms(win[0][0]), hms(win[-1][0]), seen))
		sys.exit(1)
	EOF
}

# anom_trace LABEL: one line on how the detector sees pread64 now (for failure reports):
# its alert state, value, baseline and score from /alerts, or its score from /metrics.
anom_trace() {
	local a s
	a=$(curl -sf "$NS_URL/alerts" | jq -c '[.alerts[] | select(.labels.syscall == "pread64") |
		{state, value, baseline, score}] + [.notifications]' 2>/dev/null)
	s=$(curl -sf "$NS_URL/metrics" |
		awk '/^novascope_anomaly_score\{signal="syscall_latency_p99",syscall="pread64"\}/ {print $2}')
	printf 'trace %s t=%(%T)T.%s score=%s alerts=%s\n' "$1" -1 "${EPOCHREALTIME#*.}" "${s:-none}" \
		"$a" >>"$NS_TMP/trace"
}

# anom_trace_dump: the trace lines, for ns_fail messages.
anom_trace_dump() { tail -40 "$NS_TMP/trace" 2>/dev/null; }

# The polls use shell builtins for time: every process a poll starts slows the workload (above).
now_s() { echo "$EPOCHREALTIME"; }
# elapsed T0: seconds since T0 (a now_s value), to 0.01 s.
elapsed() {
	local d=$(((${EPOCHREALTIME/./} - ${1/./}) / 10000))
	printf '%d.%02d\n' $((d / 100)) $((d % 100))
}
