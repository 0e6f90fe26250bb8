#!/usr/bin/env bash
# Least privilege: after start-up the agent holds no capabilities (or only those it was told to
# keep), can switch user, and its metrics keep flowing.
. "$(dirname "$0")/../lib.sh"
LOOP=$NS_BUILD/tests/progs/getppid_loop

flows() { # the getppid count keeps growing after the drop
	local a b
	a=$(ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"')
	"$LOOP" 30000 >/dev/null
	ns_wait_collect 0.8
	b=$(ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"')
	[ $((b - a)) -ge 30000 ] || ns_fail "metrics stopped flowing: getppid grew by $((b - a))"
}

ns_start_daemon --collect.interval=300ms --probes=syscall
eff=$(awk '/^CapEff/{print $2}' /proc/$NS_PID/status)
bnd=$(awk '/^CapBnd/{print $2}' /proc/$NS_PID/status)
[ "$eff" = 0000000000000000 ] || ns_fail "CapEff $eff, want none"
[ "$bnd" = 0000000000000000 ] || ns_fail "CapBnd $bnd, want none"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$NS_PID/status || ns_fail "no_new_privs not set"
# Every thread (the web server's too) runs without capabilities.
for t in /proc/$NS_PID/task/*; do
	[ "$(awk '/^CapEff/{print $2}' $t/status)" = 0000000000000000 ] || ns_fail "thread $t keeps capabilities"
done
flows
ns_ok "no capabilities after start-up ($(ls /proc/$NS_PID/task | wc -l) threads), metrics flow"
ns_stop_daemon $NS_PID

ns_start_daemon --collect.interval=300ms --probes=syscall --runtime.keep-caps=cap_bpf,PERFMON
eff=$(awk '/^CapEff/{print $2}' /proc/$NS_PID/status)
want=$(printf '%016x' $(((1 << 39) | (1 << 38))))
[ "$eff" = "$want" ] || ns_fail "CapEff $eff, want $want (cap_bpf, cap_perfmon)"
ns_ok "keeps exactly cap_bpf and cap_perfmon"
ns_stop_daemon $NS_PID

ns_start_daemon --collect.interval=300ms --probes=syscall --runtime.user=nobody
uid=$(awk '/^Uid/{print $2, $3}' /proc/$NS_PID/status)
[ "$uid" = "65534 65534" ] || ns_fail "uid after --runtime.user=nobody: $uid"
flows
ns_ok "runs as nobody, metrics flow"
ns_stop_daemon $NS_PID

out=$("$NS_BIN" --runtime.keep-caps=cap_nonsense 2>&1) && rc=0 || rc=$?
[ $rc = 2 ] && echo "$out" | grep -q cap_nonsense || ns_fail "bad capability: exit $rc: $out"
out=$("$NS_BIN" --probes=syscall --web.listen-address=127.0.0.1:$(ns_free_port) --runtime.user=no-such-user-x 2>&1) && rc=0 || rc=$?
[ $rc != 0 ] && echo "$out" | grep -q no-such-user-x || ns_fail "bad user: exit $rc: $out"
ns_ok "bad capability and user names rejected"
