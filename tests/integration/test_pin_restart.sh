#!/usr/bin/env bash
# --bpf.pin-path: counts continue across SIGTERM and kill -9 restarts, syscalls made while no
# agent runs are counted, no duplicate programs, a layout change replaces the pins, and
# `novascope cleanup` removes everything.
. "$(dirname "$0")/../lib.sh"
LOOP=$NS_BUILD/tests/progs/getppid_loop
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
PIN=/sys/fs/bpf/novascope-test-$$
ns_on_exit "'$NS_BIN' cleanup --bpf.pin-path=$PIN >/dev/null 2>&1; rm -rf $PIN"
count() { ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"'; }
pinned_progs() { for l in "$PIN"/syscall/link_*; do bpftool -j link show pinned "$l" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'; done | sort -n | tr '\n' ' '; }

ns_start_daemon --collect.interval=300ms --probes=syscall --bpf.pin-path=$PIN
"$LOOP" 50000 >/dev/null
ns_wait_collect 0.8
c1=$(count)
[ "$c1" -ge 50000 ] || ns_fail "first run counted $c1 < 50000"
ls "$PIN/syscall" | grep -q '^stats$' || ns_fail "stats map not pinned: $(ls $PIN/syscall)"
old=$(pinned_progs)
ns_stop_daemon $NS_PID
# While no agent runs, the pinned programs keep counting.
"$LOOP" 30000 >/dev/null
[ -n "$(ns_progs_loaded $old)" ] || ns_fail "programs detached when the agent stopped"

ns_start_daemon --collect.interval=300ms --probes=syscall --bpf.pin-path=$PIN
ns_wait_collect 0.8
c2=$(count)
echo "before restart $c1, after $c2"
[ "$c2" -ge $((c1 + 30000)) ] || ns_fail "after SIGTERM restart: $c2 < $c1 + 30000 made while down"
grep -q 'adopted pinned state' "$NS_LOG" || ns_fail "no adoption logged"
new=$(pinned_progs)
for _ in $(seq 1 30); do [ -z "$(ns_progs_loaded $old)" ] && break; sleep 0.1; done
[ -z "$(ns_progs_loaded $old)" ] || ns_fail "old programs $old still loaded next to $new"
[ "$(echo $new | wc -w)" = 2 ] || ns_fail "want 2 pinned links (enter, exit), got: $new"
ns_ok "SIGTERM restart: $c1 -> $c2, programs $old replaced by $new"

# kill -9: nothing runs at exit, the pins still carry the counts.
kill -9 $NS_PID
wait $NS_PID 2>/dev/null || true
"$LOOP" 20000 >/dev/null
ns_start_daemon --collect.interval=300ms --probes=syscall --bpf.pin-path=$PIN
ns_wait_collect 0.8
c3=$(count)
[ "$c3" -ge $((c2 + 20000)) ] || ns_fail "after kill -9 restart: $c3 < $c2 + 20000"
ns_ok "kill -9 restart: $c2 -> $c3"
ns_stop_daemon $NS_PID

# Another build with another map layout: the pins are replaced, with a log line saying so.
last=$(pinned_progs)
"$NS_BIN" cleanup --bpf.pin-path=$PIN >/dev/null
mkdir -p $PIN/syscall
bpftool map create $PIN/syscall/stats type percpu_array key 4 value 8 entries 4 name stats
ns_start_daemon --collect.interval=300ms --probes=syscall --bpf.pin-path=$PIN
grep -q 'other layout' "$NS_LOG" || ns_fail "layout change not reported: $(cat $NS_LOG)"
"$LOOP" 1000 >/dev/null
ns_wait_collect 0.8
[ "$(count)" -ge 1000 ] || ns_fail "not counting after replacing pins"
ns_ok "layout change: pins replaced"
ns_stop_daemon $NS_PID

# cleanup removes every pin, and with them the programs.
progs=$(pinned_progs)
"$NS_BIN" cleanup --bpf.pin-path=$PIN || ns_fail "cleanup exit $?"
[ ! -e $PIN ] || ns_fail "cleanup left $(ls -R $PIN)"
for _ in $(seq 1 30); do [ -z "$(ns_progs_loaded $progs $last)" ] && break; sleep 0.1; done
[ -z "$(ns_progs_loaded $progs $last)" ] || ns_fail "programs left after cleanup: $(ns_progs_loaded $progs $last)"
ns_ok "cleanup removed everything"

out=$("$NS_BIN" --bpf.pin-path=/tmp/not-bpffs/x 2>&1) && rc=0 || rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'bpf filesystem' || ns_fail "non-bpffs pin path: exit $rc: $out"
