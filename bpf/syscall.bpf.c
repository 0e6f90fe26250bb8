// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall latency: sys_enter stores (nr, timestamp) in task storage, sys_exit turns it into a
 * per-CPU log2 histogram per syscall number and counts failures.
 *
 * tp_btf (5.5+) is preferred: classic and raw tracepoints lose events to BPF recursion
 * protection under nesting; raw_tp is the fallback for kernels without BTF-enabled tracepoints.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "novascope/syscall.h"
#include "hist.bpf.h"

/* Set before load. */
const volatile __u32 self_tgid = 0;
const volatile bool filter_cgroup = false;

enum { TASK_NEW = 0, TASK_TRACED, TASK_SKIPPED };

struct start {
	__u64 ts;
	__u32 nr;
	__u32 state; /* TASK_*: the self filter is decided once, when the storage is created */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NS_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, struct ns_syscall_stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

static __always_inline int on_enter(long id)
{
	struct task_struct *task;
	struct start *s;

	if (id < 0)
		return 0; /* seccomp/ptrace cancelled the call */
	if (filter_cgroup && !bpf_current_task_under_cgroup(&cgroup_filter, 0))
		return 0;
	task = bpf_get_current_task_btf();
	s = bpf_task_storage_get(&starts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return 0;
	if (s->state == TASK_NEW)
		s->state = task->tgid == self_tgid ? TASK_SKIPPED : TASK_TRACED;
	if (s->state == TASK_SKIPPED)
		return 0;
	s->nr = id < NS_SYSCALL_MAX ? (__u32)id : NS_SYSCALL_MAX - 1;
	s->ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_exit(long ret)
{
	struct ns_syscall_stat *st;
	struct start *s;
	__u64 delta;
	__u32 nr;

	s = bpf_task_storage_get(&starts, bpf_get_current_task_btf(), 0, 0);
	if (!s || !s->ts)
		return 0; /* attached mid-call, filtered, or our own thread */
	delta = bpf_ktime_get_ns() - s->ts;
	nr = s->nr;
	s->ts = 0;
	st = bpf_map_lookup_elem(&stats, &nr);
	if (!st)
		return 0;
	ns_hist_record(&st->lat, delta);
	/* The kernel returns errors as -1..-4095 (IS_ERR_VALUE). */
	if (ret < 0 && ret >= -4095)
		__sync_fetch_and_add(&st->errors, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_exit(ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter(id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_exit(ret);
}

char LICENSE[] SEC("license") = "GPL";
