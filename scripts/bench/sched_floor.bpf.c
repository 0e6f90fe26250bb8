// SPDX-License-Identifier: GPL-2.0
/*
 * Floor for the sched benchmark: the least an exact per-cgroup run-queue wait histogram can do
 * at sched_switch. The wait before a slice is the growth of the task's run_delay (the kernel's
 * own sum, which also holds the parts of a wait split by a migration), so a per-task baseline
 * is needed (task storage), and the cgroup's histogram must be found (its id, a hash lookup).
 * No switch counts, no first-sight rules, no vCPU view. A single sched_switch program, like
 * novascope's default accounting; runqlat enters two programs per switch (wakeup + switch).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hist.bpf.h"
#include "task_cgroup.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct ns_hist);
} hists SEC(".maps");

static const struct ns_hist zero;

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 *l, cg, total;
	struct ns_hist *h;

	l = bpf_task_storage_get(&last, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!l)
		return 0;
	total = prev->sched_info.run_delay;
	cg = ns_task_cgroup(prev, true);
	h = bpf_map_lookup_elem(&hists, &cg);
	if (!h) {
		bpf_map_update_elem(&hists, &cg, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &cg);
		if (!h)
			return 0;
	}
	ns_hist_add(h, total - *l);
	*l = total;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
