// SPDX-License-Identifier: GPL-2.0
/*
 * Run-queue latency, per cgroup and per VM vCPU, plus context switches and CPU migrations.
 *
 * A task enters the run queue when it is woken (sched_wakeup, sched_wakeup_new) or when it is
 * switched out while still runnable (preempted, or yielding), and leaves it at sched_switch: the
 * time in between is its run-queue wait, the interval the kernel adds to run_delay in
 * /proc/<pid>/task/<tid>/schedstat. Two ways to measure it, picked by userspace before load:
 *
 * - schedstat (kernel_delay): with CONFIG_SCHED_INFO the kernel already timestamps every enqueue
 *   and sums the waits into task->sched_info.run_delay. When a task is switched out, the growth
 *   of its run_delay since its previous switch-out is the wait that preceded the slice it just
 *   ran (including the parts before a migration between run queues). Only sched_switch runs,
 *   with no clock read: the cheapest way, and the kernel's own numbers. (Subtracting next's
 *   sched_info.last_queued from its rq clock at switch-in needs no per-task state, but misses
 *   the part of a wait before a migration: sched_info_dequeue() folds it into run_delay and the
 *   new run queue restarts last_queued. Tried: 43% of the wait lost in
 *   test_sched_runq_migrating.)
 * - timestamps: sched_wakeup/sched_wakeup_new and a runnable prev at sched_switch store the
 *   enqueue time in task storage; sched_switch turns it into a wait when the task runs.
 *
 * tp_btf (5.5+) is preferred: its arguments are BTF pointers, so task fields are plain loads and
 * the task can key task storage. raw_tp is the fallback for kernels without BTF-enabled
 * tracepoints: its arguments are plain numbers, which bpf_task_storage_get() does not accept, so
 * that flavour keeps enqueue times in an LRU hash keyed by pid instead (as runqlat does).
 *
 * All hooks run with interrupts disabled (sched_switch under the rq lock, wakeups and
 * set_task_cpu() under pi_lock or the rq lock), so nothing of ours can run in between on the
 * same CPU: plain increments of per-CPU values are safe here, and cheaper than atomics.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "novascope/sched.h"
#include "hist.bpf.h"
#include "task_cgroup.bpf.h"

#define TASK_RUNNING 0
/* "CPU " as a little-endian u32: the start of a QEMU vCPU thread name ("CPU 0/KVM"). */
#define VCPU_PREFIX 0x20555043U

/* 5.14 renamed task_struct::state (long) to __state (unsigned int); CO-RE picks the one there. */
struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

/* Set before load: take run-queue waits from the kernel's sched_info (see above). */
const volatile bool kernel_delay = false;

/* Per task: the enqueue time (timestamps), or 1 + run_delay at the last switch-out (schedstat). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} enq SEC(".maps");

/* raw_tp flavour only (see above); userspace sizes it, or skips creating it for tp_btf. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} enq_pid SEC(".maps");

/* Bounded by userspace (--sched.max-cgroups); full -> NS_SCHED_OTHER. Entries of removed
 * cgroups are deleted by userspace after their last read. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct ns_sched_cg_stat);
} cg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ns_sched_vcpu_stat);
} vcpu_stats SEC(".maps");

static const struct ns_sched_cg_stat zero_cg;
static const struct ns_sched_vcpu_stat zero_vcpu;

/*
 * Field readers. `btf` is a compile-time constant in each SEC() wrapper: tp_btf loads fields
 * directly, raw_tp goes through bpf_probe_read_kernel(); clang drops the other branch.
 */
static __always_inline __u32 task_pid(struct task_struct *t, const bool btf)
{
	return btf ? t->pid : BPF_CORE_READ(t, pid);
}

static __always_inline __u32 task_tgid(struct task_struct *t, const bool btf)
{
	return btf ? t->tgid : BPF_CORE_READ(t, tgid);
}

static __always_inline long task_state(struct task_struct *t, const bool btf)
{
	struct task_struct___x *x = (void *)t;

	if (bpf_core_field_exists(x->__state))
		return btf ? x->__state : BPF_CORE_READ(x, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

/*
 * A QEMU vCPU thread, by the name QEMU gives it with debug-threads=on: "CPU <n>/KVM", or
 * "CPU <n>/TCG" without KVM (its wait in the host's run queue is guest steal all the same).
 */
static __always_inline bool task_is_vcpu(struct task_struct *t, const bool btf)
{
	char c[TASK_COMM_LEN];
	__u32 head;
	int i;

	if (btf)
		head = *(__u32 *)t->comm;
	else
		bpf_core_read(&head, sizeof(head), &t->comm);
	if (head != VCPU_PREFIX)
		return false;
	/* Rare from here on: only threads whose name starts with "CPU ". */
	if (bpf_probe_read_kernel_str(c, sizeof(c), t->comm) < 0)
		return false;
	for (i = 5; i < TASK_COMM_LEN; i++)
		if (!c[i])
			break;
	if (i >= TASK_COMM_LEN || c[i - 4] != '/')
		return false;
	return (c[i - 3] == 'K' && c[i - 2] == 'V' && c[i - 1] == 'M') ||
	       (c[i - 3] == 'T' && c[i - 2] == 'C' && c[i - 1] == 'G');
}

static __always_inline void enqueue(struct task_struct *t, __u64 now, const bool btf)
{
	__u64 *ts;
	__u32 pid;

	if (btf) {
		ts = bpf_task_storage_get(&enq, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ts)
			*ts = now;
		return;
	}
	pid = task_pid(t, btf);
	bpf_map_update_elem(&enq_pid, &pid, &now, BPF_ANY);
}

/* The task's enqueue time, cleared so that a stale one is never used twice; 0 when none. */
static __always_inline __u64 dequeue(struct task_struct *t, const bool btf)
{
	__u64 *ts, v;
	__u32 pid;

	if (btf) {
		ts = bpf_task_storage_get(&enq, t, 0, 0);
	} else {
		pid = task_pid(t, btf);
		ts = bpf_map_lookup_elem(&enq_pid, &pid);
	}
	if (!ts)
		return 0;
	v = *ts;
	*ts = 0;
	return v;
}

static __always_inline struct ns_sched_cg_stat *cg_stat(__u64 id)
{
	struct ns_sched_cg_stat *s = bpf_map_lookup_elem(&cg_stats, &id);

	if (s)
		return s;
	bpf_map_update_elem(&cg_stats, &id, &zero_cg, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&cg_stats, &id);
	if (s)
		return s;
	id = NS_SCHED_OTHER; /* map full: userspace created this key before attaching */
	return bpf_map_lookup_elem(&cg_stats, &id);
}

static __always_inline struct ns_sched_vcpu_stat *vcpu_stat(__u32 tgid)
{
	struct ns_sched_vcpu_stat *s = bpf_map_lookup_elem(&vcpu_stats, &tgid);

	if (s)
		return s;
	bpf_map_update_elem(&vcpu_stats, &tgid, &zero_vcpu, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&vcpu_stats, &tgid);
	if (s)
		return s;
	tgid = NS_SCHED_OTHER;
	return bpf_map_lookup_elem(&vcpu_stats, &tgid);
}

static __always_inline int on_wakeup(struct task_struct *p, const bool btf)
{
	enqueue(p, bpf_ktime_get_ns(), btf);
	return 0;
}

/* Count prev's switch-out in its cgroup; returns that cgroup's stats (or NULL). */
static __always_inline struct ns_sched_cg_stat *
count_switch(struct task_struct *prev, bool runnable, __u64 *cg, const bool btf)
{
	struct ns_sched_cg_stat *s;

	*cg = ns_task_cgroup(prev, btf);
	s = cg_stat(*cg);
	if (s) {
		if (runnable)
			s->nivcsw++;
		else
			s->nvcsw++;
	}
	return s;
}

static __always_inline void record_wait(struct ns_sched_cg_stat *s, struct task_struct *t,
					__u64 wait, const bool btf)
{
	struct ns_sched_vcpu_stat *vs;

	if (s)
		ns_hist_add(&s->lat, wait);
	if (task_is_vcpu(t, btf)) {
		vs = vcpu_stat(task_tgid(t, btf));
		if (vs)
			ns_hist_add(&vs->lat, wait);
	}
}

/*
 * schedstat: prev's run_delay already includes the wait before the slice it is ending
 * (sched_info_arrive() added it when the slice began). The storage holds 1 + run_delay at the
 * previous switch-out; at first sight, a task that has run once (pcount 1) waited only since we
 * could see it, anything else started before us and gives its baseline only.
 */
static __always_inline int switch_schedstat(bool preempt, struct task_struct *prev)
{
	struct ns_sched_cg_stat *s;
	__u64 *last, total, cg;
	bool runnable;

	if (!prev->pid)
		return 0; /* a CPU's idle task: no run queue, no switch */
	runnable = preempt || task_state(prev, true) == TASK_RUNNING;
	s = count_switch(prev, runnable, &cg, true);
	last = bpf_task_storage_get(&enq, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!last)
		return 0;
	total = prev->sched_info.run_delay + 1;
	if (!*last && prev->sched_info.pcount != 1) {
		*last = total;
		return 0;
	}
	if (!*last)
		*last = 1;
	/* One sample per slice, as pcount counts them. A wait can be 0 on the rq clock: after a
	 * wakeup preemption the kernel skips the clock update before switching (5.x+). */
	record_wait(s, prev, total >= *last ? total - *last : 0, true);
	*last = total;
	return 0;
}

/* timestamps: prev re-enters the queue if still runnable; next's wait ends now. */
static __always_inline int switch_timestamps(bool preempt, struct task_struct *prev,
					     struct task_struct *next, const bool btf)
{
	struct ns_sched_cg_stat *ps = NULL, *ns;
	__u64 now = bpf_ktime_get_ns(), ts, pcg = 0, ncg;
	bool runnable;

	/* pid 0 is a CPU's idle task: it neither waits in a run queue nor counts as a switch. */
	if (task_pid(prev, btf)) {
		/* Same rule as the kernel's nivcsw/nvcsw accounting in __schedule(). */
		runnable = preempt || task_state(prev, btf) == TASK_RUNNING;
		if (runnable)
			enqueue(prev, now, btf);
		ps = count_switch(prev, runnable, &pcg, btf);
	}
	if (!task_pid(next, btf))
		return 0;
	ts = dequeue(next, btf);
	if (!ts || ts > now)
		return 0;
	ncg = ns_task_cgroup(next, btf);
	/* Switches within one workload are common: reuse the lookup. */
	ns = ps && ncg == pcg ? ps : cg_stat(ncg);
	record_wait(ns, next, now - ts, btf);
	return 0;
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev,
				     struct task_struct *next, const bool btf)
{
	if (btf && kernel_delay)
		return switch_schedstat(preempt, prev);
	return switch_timestamps(preempt, prev, next, btf);
}

static __always_inline int on_migrate(struct task_struct *p, const bool btf)
{
	struct ns_sched_cg_stat *s = cg_stat(ns_task_cgroup(p, btf));

	if (s)
		s->migrations++;
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	return on_wakeup(p, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	return on_wakeup(p, true);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next, true);
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(sched_migrate_task_btf, struct task_struct *p, int dest_cpu)
{
	return on_migrate(p, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	return on_wakeup(p, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	return on_wakeup(p, false);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next, false);
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(sched_migrate_task_raw, struct task_struct *p, int dest_cpu)
{
	return on_migrate(p, false);
}

char LICENSE[] SEC("license") = "GPL";
