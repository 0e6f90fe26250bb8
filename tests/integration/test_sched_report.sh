#!/usr/bin/env bash
# `novascope report runq` (alias of the sched probe's report): traces for --duration and prints
# the run-queue histogram per cgroup like runqlat. A busy process in its own cgroup, sharing a
# CPU with a busy loop, must show up with its waits.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
CPU=$(($(nproc) - 1))
root=$(ns_cg2_root)
name=novascope-report-$$
mkdir "$root/$name"
ns_on_exit "rmdir $root/$name"
ns_hogs 1 "$CPU"
(
	echo "$BASHPID" >"$root/$name/cgroup.procs"
	exec taskset -c "$CPU" sh -c 'while :; do :; done'
) &
busy=$!
ns_on_exit "kill $busy 2>/dev/null; wait $busy 2>/dev/null"
"$NS_BIN" report runq --duration 2s --top 1000 >"$NS_TMP/out" 2>"$NS_TMP/err" || {
	cat "$NS_TMP/err" >&2
	ns_fail "report runq exited with $?"
}
grep -A3 "^cgroup = /$name " "$NS_TMP/out" >&2 || true
line=$(grep "^cgroup = /$name " "$NS_TMP/out") || ns_fail "no histogram for cgroup /$name in: $(head -c 600 "$NS_TMP/out")"
count=$(sed -E 's/.*count ([0-9]+).*/\1/' <<<"$line")
[ "$count" -gt 0 ] || ns_fail "cgroup /$name has count $count"
grep -A1 "^cgroup = /$name " "$NS_TMP/out" | grep -q "nsecs *: count *distribution" ||
	ns_fail "no runqlat-style histogram header under /$name"
ns_ok "report runq: /$name with $count waits"
"$NS_BIN" report nosuch >/dev/null 2>&1 && ns_fail "report of an unknown probe succeeded"
ns_ok "unknown report name rejected"
