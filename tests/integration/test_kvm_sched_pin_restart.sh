#!/usr/bin/env bash
# --bpf.pin-path with the sched and kvm probes: what happens while no agent runs is counted by
# the pinned programs and maps and exported by the next agent. A VM (tests/progs/kvm_out) does
# 500 `out` while the agent is down: the next agent reports exactly 500 io exits for it; a
# process in its own cgroup sleeps 300 times meanwhile: its voluntary switches are all there.
# Without /dev/kvm there is no VM to run: the kvm probe still loads and pins its maps (its
# tracepoints exist), the sched part runs in full, and only the VM's exits are not checked.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sched_lib.sh"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
kvm=1
# Only a missing /dev/kvm leaves the VM out: one that exists but does not work is a failure.
[ -e /dev/kvm ] || kvm=0
PIN=/sys/fs/bpf/novascope-test-$$
ns_on_exit "'$NS_BIN' cleanup --bpf.pin-path=$PIN >/dev/null 2>&1; rm -rf $PIN"
root=$(ns_cg2_root)
name=novascope-pin-$$
mkdir "$root/$name"
ns_on_exit "rmdir $root/$name"

ns_start_daemon --collect.interval=300ms --probes=sched,kvm --bpf.pin-path=$PIN
for m in cg_stats vcpu_stats; do [ -e "$PIN/sched/$m" ] || ns_fail "sched map $m not pinned: $(ls $PIN/sched)"; done
for m in exits exit_lat uexits; do [ -e "$PIN/kvm/$m" ] || ns_fail "kvm map $m not pinned: $(ls $PIN/kvm)"; done
ns_stop_daemon $NS_PID

# No agent now.
mkfifo "$NS_TMP/ctl"
if [ $kvm = 1 ]; then
	"$NS_BUILD/tests/progs/kvm_out" 500 <"$NS_TMP/ctl" >"$NS_TMP/out" &
	kpid=$!
	exec 3>"$NS_TMP/ctl"
	ns_on_exit "exec 3>&-; kill $kpid 2>/dev/null; wait $kpid 2>/dev/null"
	echo go >&3
else
	echo "NOTE: /dev/kvm missing: no VM runs while the agent is down; its io exits are not checked"
	# Read-write: a write-only open would wait for a reader, and only the sleeper reads here.
	exec 3<>"$NS_TMP/ctl"
	ns_on_exit "exec 3>&-"
fi
(
	echo "$BASHPID" >"$root/$name/cgroup.procs"
	# Not the `python3` on PATH: a pyenv shim would run its own helpers in the cgroup first.
	exec /usr/bin/python3 -c 'import time, sys
for _ in range(300): time.sleep(0.001)
print(open("/proc/self/status").read().split("voluntary_ctxt_switches:")[1].split()[0], flush=True)
sys.stdin.read()' <"$NS_TMP/ctl" >"$NS_TMP/sleeper"
) &
spid=$!
ns_on_exit "kill $spid 2>/dev/null; wait $spid 2>/dev/null"
for _ in $(seq 100); do
	{ [ $kvm = 0 ] || grep -q done "$NS_TMP/out"; } && [ -s "$NS_TMP/sleeper" ] && break
	sleep 0.1
done
[ $kvm = 0 ] || grep -q "done 500" "$NS_TMP/out" || ns_fail "kvm_out did not run: $(cat "$NS_TMP/out")"
[ -s "$NS_TMP/sleeper" ] || ns_fail "sleeper did not finish"

ns_start_daemon --collect.interval=300ms --probes=sched,kvm --bpf.pin-path=$PIN
ns_wait_collect 1
grep -q 'adopted pinned state' "$NS_LOG" || ns_fail "no adoption logged: $(cat "$NS_LOG")"
if [ $kvm = 1 ]; then
	io=$(ns_metric novascope_kvm_userspace_exits_total "vm=\"kvm_out:$kpid\"" 'reason="io"')
	[ "$io" = 500 ] || ns_fail "io exits made while no agent ran: $io, expected 500"
	ns_ok "kvm: 500 io exits made while down, reported after restart"
else
	echo "NOTE: /dev/kvm missing: kvm io exits while down not checked (kvm maps pinned and adopted)"
fi
vol=$(ns_metric novascope_context_switches_total "cgroup=\"/$name\"" 'kind="voluntary"')
own=$(cat "$NS_TMP/sleeper")
echo "sleeper: $own voluntary switches in its life, $vol counted in its cgroup"
# Its own count was read just before it blocked on stdin: one more switch follows.
[ "$vol" -ge 300 ] && [ "$vol" -le $((own + 1)) ] || ns_fail "voluntary switches counted $vol, want 300..$((own + 1))"
ns_ok "sched: switches made while down reported after restart"
