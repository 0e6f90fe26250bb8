#!/usr/bin/env bash
# CPU migrations: a process alone in its own cgroup moves itself between two CPUs 200 times
# (sched_setaffinity). novascope_cpu_migrations_total for the cgroup must grow exactly as the
# kernel's se.nr_migrations of its threads (/proc/<pid>/task/<tid>/sched) does.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
[ "$(nproc)" -ge 2 ] || ns_fail "needs 2 CPUs"
root=$(ns_cg2_root)
name=novascope-migr-$$
mkdir "$root/$name"
ns_on_exit "rmdir $root/$name"
ns_start_daemon --probes=sched --collect.interval=500ms
mkfifo "$NS_TMP/ctl"
python3 -c '
import os, sys, time
open(sys.argv[1] + "/cgroup.procs", "w").write(str(os.getpid()))
print("ready", flush=True)
sys.stdin.readline()
for i in range(200):
    os.sched_setaffinity(0, {i % 2})
    end = time.monotonic() + 0.001
    while time.monotonic() < end:
        pass
print("done", flush=True)
sys.stdin.read()' "$root/$name" <"$NS_TMP/ctl" >"$NS_TMP/out" &
mpid=$!
exec 3>"$NS_TMP/ctl"
ns_on_exit "exec 3>&-; kill $mpid 2>/dev/null; wait $mpid 2>/dev/null"
for _ in $(seq 50); do grep -q ready "$NS_TMP/out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$NS_TMP/out" || ns_fail "mover did not start"
migrations() { cat /proc/$mpid/task/*/sched | awk '/^se.nr_migrations/ {s += $3} END {print s}'; }
lbl="cgroup=\"/$name\""
ns_wait_collect 1.2
k0=$(migrations)
m0=$(ns_metric novascope_cpu_migrations_total "$lbl")
echo go >&3
for _ in $(seq 100); do grep -q done "$NS_TMP/out" && break; sleep 0.1; done
grep -q done "$NS_TMP/out" || ns_fail "mover did not finish"
ns_wait_collect 1.2
k1=$(migrations)
m1=$(ns_metric novascope_cpu_migrations_total "$lbl")
echo "kernel nr_migrations grew by $((k1 - k0)); novascope by $((m1 - m0))"
[ $((k1 - k0)) -ge 100 ] || ns_fail "only $((k1 - k0)) migrations happened"
[ $((m1 - m0)) = $((k1 - k0)) ] || ns_fail "migrations: novascope $((m1 - m0)), kernel $((k1 - k0))"
ns_ok "migrations exact: $((k1 - k0))"
