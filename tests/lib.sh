# Shared helpers for integration and e2e tests. Source it: . "$(dirname "$0")/../lib.sh"
# Every test runs as root against the real kernel and cleans up what it creates (ns_cleanup
# runs the commands registered with ns_on_exit, in reverse order, on any exit).
set -euo pipefail
NS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS_BIN=$NS_ROOT/bin/novascope
NS_TMP=$(mktemp -d /tmp/novascope-test.XXXXXX)
_ns_exit_cmds=()

ns_on_exit() { _ns_exit_cmds+=("$*"); }
ns_cleanup() {
	local i
	for ((i = ${#_ns_exit_cmds[@]} - 1; i >= 0; i--)); do eval "${_ns_exit_cmds[$i]}" || true; done
	rm -rf "$NS_TMP"
}
trap ns_cleanup EXIT

ns_fail() { echo "FAIL: $*" >&2; exit 1; }
ns_ok() { echo "ok: $*"; }

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
	ns_on_exit "ns_stop_daemon $NS_PID"
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$NS_URL/health" && return 0
		kill -0 $NS_PID 2>/dev/null || { cat "$NS_LOG" >&2; ns_fail "daemon exited at start"; }
		sleep 0.1
	done
	cat "$NS_LOG" >&2
	ns_fail "daemon did not answer on $NS_URL"
}

ns_stop_daemon() {
	local pid=$1
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
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

# IDs of BPF programs the given pid holds (bpftool prog show lists owners as "pids").
ns_prog_ids_of() {
	bpftool -j prog show | python3 -c '
import json,sys
pid=int(sys.argv[1])
for p in json.load(sys.stdin):
    if any(o.get("pid")==pid for o in p.get("pids",[])): print(p["id"])' "$1"
}
