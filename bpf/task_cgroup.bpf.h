/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A task's cgroup v2 id by plain loads: what bpf_get_current_cgroup_id() returns for current,
 * for any task, without a helper call. */
#ifndef NOVASCOPE_TASK_CGROUP_BPF_H
#define NOVASCOPE_TASK_CGROUP_BPF_H

#include <bpf/bpf_core_read.h>

/* Before 5.5 kernfs_node::id was a union kernfs_node_id whose 64-bit view is .id. */
union kernfs_node_id___o {
	__u64 id;
} __attribute__((preserve_access_index));

struct kernfs_node___o {
	union kernfs_node_id___o id;
} __attribute__((preserve_access_index));

/* `btf` is a compile-time constant: tp_btf pointers are loaded directly, raw_tp ones through
 * bpf_probe_read_kernel(). */
static __always_inline __u64 ns_task_cgroup(struct task_struct *t, const bool btf)
{
	struct kernfs_node *kn;

	kn = btf ? t->cgroups->dfl_cgrp->kn : BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
	if (bpf_core_type_exists(union kernfs_node_id___o))
		return BPF_CORE_READ((struct kernfs_node___o *)kn, id.id);
	return btf ? kn->id : BPF_CORE_READ(kn, id);
}

#endif
