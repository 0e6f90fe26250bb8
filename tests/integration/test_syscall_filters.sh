#!/usr/bin/env bash
# --syscall.cgroup counts exactly the cgroup's syscalls; the collector never counts its own;
# --collect.bpf-stats exports BPF run-time stats and turns them off again on exit.
. "$(dirname "$0")/../lib.sh"
N=50000
root=$(awk '$9=="cgroup2"{print $5; exit}' /proc/self/mountinfo)
[ -n "$root" ] || ns_fail "no cgroup2 mount"
cg=$root/novascope-test-$$
mkdir "$cg"
ns_on_exit "rmdir $cg"
ns_on_exit "for p in \$(cat $cg/cgroup.procs 2>/dev/null); do echo \$p > $root/cgroup.procs; done"

# 1. Exact count inside a dedicated cgroup: nothing else runs there.
ns_start_daemon --collect.interval=300ms --probes=syscall --syscall.cgroup="$cg"
ns_wait_collect 0.5
bash -c "echo \$\$ > $cg/cgroup.procs; exec $NS_BUILD/tests/progs/getppid_loop $N" >/dev/null
ns_wait_collect 0.8
got=$(ns_metric novascope_syscall_latency_seconds_count 'syscall="getppid"')
[ "$got" = "$N" ] || ns_fail "cgroup filter: getppid count $got, want exactly $N"
ns_ok "cgroup filter: exactly $got getppid"
ns_stop_daemon $NS_PID

# 2. Self exclusion: a daemon filtered to its own cgroup sees none of its own syscalls,
# although it makes thousands (epoll, reads of /proc, writes to sockets).
port=$(ns_free_port)
bash -c "echo \$\$ > $cg/cgroup.procs; exec $NS_BIN --web.listen-address=127.0.0.1:$port \
	--collect.interval=200ms --probes=syscall --syscall.cgroup=$cg" >"$NS_TMP/self.log" 2>&1 &
pid=$!
ns_on_exit "ns_stop_daemon $pid"
NS_URL=http://127.0.0.1:$port
for _ in $(seq 1 50); do curl -sf -o /dev/null "$NS_URL/health" && break; sleep 0.1; done
for _ in $(seq 1 20); do curl -sf -o /dev/null "$NS_URL/metrics"; done
ns_wait_collect 0.6
n=$(ns_metric novascope_syscall_latency_seconds_count)
[ "$n" = 0 ] || ns_fail "the collector counted $n of its own syscalls"
ns_ok "self exclusion: 0 own syscalls counted"
ns_stop_daemon $pid

# 3. BPF run-time stats for the agent's lifetime only.
before=$(sysctl -n kernel.bpf_stats_enabled)
ns_start_daemon --collect.interval=300ms --probes=syscall --collect.bpf-stats
"$NS_BUILD/tests/progs/getppid_loop" 10000 >/dev/null
ns_wait_collect 0.8
runs=$(ns_metric novascope_bpf_run_count_total 'probe="syscall"')
secs=$(ns_metric novascope_bpf_run_time_seconds_total 'probe="syscall"')
python3 -c "import sys; sys.exit(0 if $runs >= 20000 and $secs > 0 else 1)" ||
	ns_fail "bpf stats: run_count=$runs run_time=$secs"
ns_ok "bpf stats: $runs runs, $secs s"
ns_stop_daemon $NS_PID
# Another process holding a BPF_ENABLE_STATS fd (another agent, a benchmark) keeps stats on.
others=$(ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -c 'anon_inode:bpf-stats' || true)
if [ "$others" != 0 ]; then
	echo "skip: $others other BPF_ENABLE_STATS holder(s) on this machine keep stats on"
elif [ "$before" = 0 ]; then
	# With the agent gone the kernel stops counting: run_cnt of a fresh program stays 0.
	"$NS_BUILD/tests/progs/bpf_hold" "$NS_BUILD/bench/empty_pair.bpf.o" >"$NS_TMP/hold" &
	hold=$!
	ns_on_exit "kill $hold 2>/dev/null"
	sleep 0.5
	"$NS_BUILD/tests/progs/getppid_loop" 1000 >/dev/null
	cnt=$(bpftool -j prog show name empty_enter | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d if isinstance(d,list) else [d]; print(sum(p.get("run_cnt",0) for p in d))')
	[ "$cnt" = 0 ] || ns_fail "BPF stats still on after the agent exited (run_cnt=$cnt)"
	ns_ok "stats off again after exit"
fi
