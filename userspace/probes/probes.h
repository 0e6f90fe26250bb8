/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NOVASCOPE_PROBES_H
#define NOVASCOPE_PROBES_H

#include "probe.h"

extern const struct ns_probe_ops ns_syscall_probe;
extern const struct ns_probe_ops ns_rdma_counters_probe;
extern const struct ns_probe_ops ns_rdma_uprobes_probe;
extern const struct ns_probe_ops ns_rdma_kernel_probe;
extern const struct ns_probe_ops ns_sched_probe;
extern const struct ns_probe_ops ns_kvm_probe;
extern const struct ns_probe_ops ns_tcp_probe;
extern const struct ns_probe_ops ns_migration_probe;
extern const struct ns_probe_ops ns_block_probe;

struct ns_selftest;
int ns_block_selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n);

#endif
