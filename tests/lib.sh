# Shared helpers for integration and e2e tests. Source it: . "$(dirname "$0")/../lib.sh"
# Every test runs as root against the real kernel and cleans up what it creates (ns_cleanup
# runs the commands registered with ns_on_exit, in reverse order, on any exit).
set -euo pipefail
NS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS_BIN=${NS_BIN:-$NS_ROOT/bin/novascope}
NS_BUILD=${NS_BUILD:-$NS_ROOT/build}
NS_TMP=$(mktemp -d /tmp/novascope-test.XXXXXX)
_ns_exit_cmds=()

ns_on_exit() { _ns_exit_cmds+=("$*"); }
ns_cleanup() {
	local i
	for ((i = ${#_ns_exit_cmds[@]} - 1; i >= 0; i--)); do eval "${_ns_exit_cmds[$i]}" || true; done
	rm -rf "$NS_TMP"
	[ -z "${_ns_sanitizer_report:-}" ] || exit 1
}
trap ns_cleanup EXIT

ns_fail() { echo "FAIL: $*" >&2; exit 1; }
ns_ok() { echo "ok: $*"; }
# ns_skip REASON: the test cannot run here (e.g. it needs /dev/kvm). Exit 77 after the usual
# cleanup; tests/run.sh reports SKIP with this line instead of FAIL.
ns_skip() { echo "SKIP: $*"; exit 77; }

# ns_qemu_accel: sets NS_QEMU_ACCEL for QEMU's -accel: kvm when /dev/kvm opens read-write, else
# tcg (emulation: slower, but needs nothing from the host, so the QEMU tests still run where
# KVM is not offered). Says which and why once, so the test log shows it. NS_QEMU_ACCEL=kvm|tcg
# in the environment forces a choice (e.g. to try TCG on a KVM host).
ns_qemu_accel() {
	[ -z "${_ns_qemu_accel_said:-}" ] || return 0
	_ns_qemu_accel_said=1
	local why
	if [ -n "${NS_QEMU_ACCEL:-}" ]; then
		why="NS_QEMU_ACCEL set"
	elif [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then
		# -c first: <> creates a missing file, and a regular /dev/kvm would fool QEMU too.
		NS_QEMU_ACCEL=kvm why="/dev/kvm opens read-write"
	elif [ -e /dev/kvm ]; then
		NS_QEMU_ACCEL=tcg why="/dev/kvm is not a character device that opens read-write"
	else
		NS_QEMU_ACCEL=tcg why="/dev/kvm missing"
	fi
	case $NS_QEMU_ACCEL in
	kvm | tcg) ;;
	*) ns_fail "NS_QEMU_ACCEL=$NS_QEMU_ACCEL: want kvm or tcg" ;;
	esac
	echo "QEMU accelerator: $NS_QEMU_ACCEL ($why)"
}

# A TCP port nobody listens on (the kernel picks it).
ns_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ns_start_daemon [flags...]: start novascope on a free loopback port; sets NS_PID, NS_PORT,
# NS_URL, NS_LOG. Waits until /health answers. Stopped (SIGTERM) at exit.
ns_start_daemon() {
	NS_PORT=$(ns_free_port)
	NS_URL=http://127.0.0.1:$NS_PORT
	NS_LOG=$NS_TMP/daemon.$NS_PORT.log
	"$NS_BIN" --web.listen-address=127.0.0.1:$NS_PORT "$@" >"$NS_LOG" 2>&1 &
	NS_PID=$!
	ns_on_exit "ns_stop_daemon $NS_PID $NS_LOG"
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$NS_URL/health" && return 0
		kill -0 $NS_PID 2>/dev/null || { cat "$NS_LOG" >&2; ns_fail "daemon exited at start"; }
		sleep 0.1
	done
	cat "$NS_LOG" >&2
	ns_fail "daemon did not answer on $NS_URL"
}

# ns_stop_daemon PID [LOG]: SIGTERM and wait. A sanitizer build (SANITIZE=1) reports leaks and
# undefined behaviour in LOG at exit: that fails the test (at the end of cleanup if need be).
ns_stop_daemon() {
	local pid=$1 log=${2:-${NS_LOG:-}} pat='ERROR: (Address|Leak)Sanitizer|runtime error:'
	kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" && { wait "$pid" 2>/dev/null || true; }
	[ -n "$log" ] && [ -f "$log" ] && grep -qE "$pat" "$log" || return 0
	[ -n "${_ns_sanitizer_report:-}" ] && return 1 # reported once
	_ns_sanitizer_report=1
	echo "FAIL: sanitizer report from novascope (pid $pid):" >&2
	grep -A14 -E "$pat" "$log" | head -40 >&2
	return 1
}

# Wait for the next collection so /metrics reflects what just happened (interval + margin).
ns_wait_collect() { sleep "${1:-1.3}"; }

ns_scrape() { curl -sf "$NS_URL/metrics"; }

# ns_metric NAME [LABEL-MATCHERS]: sum of the samples of NAME whose labels contain every
# key="value" given, e.g. ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"'.
# Prints 0 when nothing matches.
ns_metric() {
	local name=$1
	shift
	ns_scrape | python3 "$NS_ROOT/tests/metric.py" "$name" "$@"
}

# ns_metric_in FILE NAME [LABEL-MATCHERS]: the same over a saved scrape (consistent values).
ns_metric_in() {
	local f=$1
	shift
	python3 "$NS_ROOT/tests/metric.py" "$@" <"$f"
}

# IDs of the BPF programs the given pid holds open (from its fds' fdinfo "prog_id:" lines;
# Debian's bpftool does not list owning pids).
ns_prog_ids_of() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

# Which of the given program ids are still loaded.
ns_progs_loaded() {
	bpftool -j prog show | python3 -c '
import json,sys
ids=set(int(x) for x in sys.argv[1:])
print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p["id"] in ids))' "$@"
}

# ns_start_prometheus TARGET [EXTRA-SCRAPE-YAML]: a real Prometheus on a free loopback port
# scraping TARGET (host:port) every second; sets PROM_URL. Stopped at exit.
ns_start_prometheus() {
	local target=$1 port dir
	port=$(ns_free_port)
	dir=$NS_TMP/prom.$port
	mkdir -p "$dir"
	cat >"$dir/p.yml" <<EOP
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: novascope
    static_configs:
      - targets: ['$target']
${2:-}
EOP
	prometheus --config.file="$dir/p.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address=127.0.0.1:$port >"$dir/log" 2>&1 &
	local pid=$!
	ns_on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	PROM_URL=http://127.0.0.1:$port
	for _ in $(seq 1 100); do
		curl -sf "$PROM_URL/-/ready" >/dev/null && return 0
		sleep 0.2
	done
	cat "$dir/log" >&2
	ns_fail "prometheus did not become ready"
}

# ns_prom_query PROMQL: the JSON result array of an instant query.
ns_prom_query() {
	curl -sf -G "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="success", d; print(json.dumps(d["data"]["result"]))'
}
