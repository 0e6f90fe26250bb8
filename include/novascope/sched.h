/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef NOVASCOPE_SCHED_H
#define NOVASCOPE_SCHED_H

#include "novascope/hist.h"

/*
 * Key of the bucket that takes what the bounded maps cannot hold (cgroup ids and tgids are
 * never 0). Userspace creates it before attaching, so it exists even when a map is full, and
 * exports it as "other".
 */
#define NS_SCHED_OTHER 0

/* Per-CPU, per cgroup id: run-queue wait (ns) of its tasks, their switches and migrations. */
struct ns_sched_cg_stat {
	struct ns_hist lat;
	__u64 nvcsw; /* switched out while blocking */
	__u64 nivcsw; /* switched out while still runnable (preempted, yielded) */
	__u64 migrations; /* moved to another CPU (sched_migrate_task) */
};

/* Per-CPU, per tgid: run-queue wait (ns) of a process's vCPU threads ("CPU n/KVM", "CPU n/TCG"). */
struct ns_sched_vcpu_stat {
	struct ns_hist lat;
};

#endif
