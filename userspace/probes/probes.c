// SPDX-License-Identifier: GPL-2.0
/* The static table of probes: one line per kernel domain. */
#include "probe.h"
#include "probes.h"

struct ns_probe ns_probes[] = {
	{.ops = &ns_syscall_probe},	 {.ops = &ns_rdma_counters_probe},
	{.ops = &ns_rdma_uprobes_probe}, {.ops = &ns_rdma_kernel_probe},
	{.ops = &ns_sched_probe},	 {.ops = &ns_kvm_probe},
	{.ops = &ns_tcp_probe},		 {.ops = &ns_migration_probe},
	{.ops = &ns_block_probe},
};

const size_t ns_nprobes = sizeof(ns_probes) / sizeof(ns_probes[0]);
