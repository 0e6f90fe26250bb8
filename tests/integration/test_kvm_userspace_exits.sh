#!/usr/bin/env bash
# kvm:kvm_userspace_exit for real: tests/progs/kvm_out creates a VM through /dev/kvm whose one
# vCPU executes N `out` instructions then `hlt`. novascope_kvm_userspace_exits_total for its VM
# (labelled "kvm_out:<pid>": not a QEMU, so "<comm>:<tgid>") must grow by exactly N with
# reason="io" and by 1 with reason="hlt"; after the process exits, its series must go away.
. "$(dirname "$0")/../lib.sh"
N=1000
PROG=$NS_BUILD/tests/progs/kvm_out
# Only a missing /dev/kvm skips: one that exists but does not work is a failure.
[ -e /dev/kvm ] || ns_skip "/dev/kvm missing: the kvm_out program needs KVM; the kvm probe's" \
	"exit logic is covered by tests/unit/test_kvm_bpf.c"

ns_start_daemon --probes=kvm --collect.interval=500ms
mkfifo "$NS_TMP/ctl"
"$PROG" $N <"$NS_TMP/ctl" >"$NS_TMP/out" &
kpid=$!
exec 3>"$NS_TMP/ctl"
ns_on_exit "exec 3>&-; kill $kpid 2>/dev/null; wait $kpid 2>/dev/null"
for _ in $(seq 50); do grep -q ready "$NS_TMP/out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$NS_TMP/out" || ns_fail "kvm_out did not create its VM"
vm="vm=\"kvm_out:$kpid\""

ns_wait_collect 1
io0=$(ns_metric novascope_kvm_userspace_exits_total "$vm" 'reason="io"')
hlt0=$(ns_metric novascope_kvm_userspace_exits_total "$vm" 'reason="hlt"')
echo go >&3
for _ in $(seq 100); do grep -q done "$NS_TMP/out" && break; sleep 0.1; done
grep -q "done $N" "$NS_TMP/out" || ns_fail "kvm_out did not run its $N outs: $(cat "$NS_TMP/out")"
ns_wait_collect 1.2
io1=$(ns_metric novascope_kvm_userspace_exits_total "$vm" 'reason="io"')
hlt1=$(ns_metric novascope_kvm_userspace_exits_total "$vm" 'reason="hlt"')
echo "io exits: $io0 -> $io1, hlt exits: $hlt0 -> $hlt1 (guest ran $N outs)"
[ $((io1 - io0)) = $N ] || ns_fail "io userspace exits grew by $((io1 - io0)), expected exactly $N"
[ $((hlt1 - hlt0)) = 1 ] || ns_fail "hlt userspace exits grew by $((hlt1 - hlt0)), expected 1"
ns_ok "exactly $N io exits and 1 hlt for vm kvm_out:$kpid"

exec 3>&-
wait $kpid || ns_fail "kvm_out exited with $?"
# Its keys are deleted at the next read; the series expire 5 intervals later.
sleep 4
left=$(ns_scrape | grep -c "vm=\"kvm_out:$kpid\"" || true)
[ "$left" = 0 ] || ns_fail "$left series of the exited VM still exported"
ns_ok "series of the exited VM no longer exported"
