// SPDX-License-Identifier: GPL-2.0
/* Baseline for the sched benchmark: empty tp_btf programs on the hooks the sched probe uses,
 * i.e. the cost of running a BPF program at all on each wakeup, switch and migration. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_wakeup")
int BPF_PROG(empty_wakeup, struct task_struct *p)
{
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(empty_wakeup_new, struct task_struct *p)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(empty_migrate, struct task_struct *p, int dest_cpu)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
