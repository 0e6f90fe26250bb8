#!/usr/bin/env bash
# The cgroup label: with the default --sched.cgroup-depth=0 a path is cut after the component
# naming a workload (here a *.service) and kept whole otherwise; with --sched.cgroup-depth=1
# everything under the test's top-level directory is one series, the sum of its leaves.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
root=$(ns_cg2_root)
top=novascope-depth-$$
mkdir -p "$root/$top/web.service/leaf" "$root/$top/plain/leaf"
ns_on_exit "rmdir $root/$top/web.service/leaf $root/$top/web.service $root/$top/plain/leaf $root/$top/plain $root/$top"

# 100 sleeps in each leaf; prints the sleeper's voluntary switches when done.
sleepers() {
	local d pids=()
	for d in web.service/leaf plain/leaf; do
		(
			echo "$BASHPID" >"$root/$top/$d/cgroup.procs"
			exec /usr/bin/python3 -c 'import time
for _ in range(100): time.sleep(0.001)'
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
}
vol() { ns_metric novascope_context_switches_total "cgroup=\"$1\"" 'kind="voluntary"'; }

ns_start_daemon --probes=sched --collect.interval=300ms
sleepers
ns_wait_collect 1
ns_scrape | grep "^novascope_context_switches_total{cgroup=\"/$top" | sed 's/^/    /'
a=$(vol "/$top/web.service") b=$(vol "/$top/plain/leaf")
[ "$a" -ge 100 ] || ns_fail "depth 0: /$top/web.service has $a voluntary switches, want >= 100"
[ "$b" -ge 100 ] || ns_fail "depth 0: /$top/plain/leaf has $b voluntary switches, want >= 100"
! grep -q "cgroup=\"/$top/web.service/leaf\"" <<<"$(ns_scrape)" || ns_fail "depth 0: the leaf under a .service has its own series"
ns_ok "depth 0: /$top/web.service ($a) and /$top/plain/leaf ($b)"
ns_stop_daemon $NS_PID

ns_start_daemon --probes=sched --collect.interval=300ms --sched.cgroup-depth=1
sleepers
ns_wait_collect 1
t=$(vol "/$top")
[ "$t" -ge 200 ] || ns_fail "depth 1: /$top has $t voluntary switches, want >= 200 (both leaves)"
n=$(ns_scrape | grep -c "cgroup=\"/$top/" || true)
[ "$n" = 0 ] || ns_fail "depth 1: $n series below /$top"
ns_ok "depth 1: one series /$top with both leaves ($t)"
