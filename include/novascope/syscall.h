/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef NOVASCOPE_SYSCALL_H
#define NOVASCOPE_SYSCALL_H

#include "novascope/hist.h"

/* Syscall numbers at or above this fold into the last slot (x86_64 tops out near 470). */
#define NS_SYSCALL_MAX 1024

/* Per-CPU, per syscall number: latency histogram (ns) and failed calls. */
struct ns_syscall_stat {
	struct ns_hist lat;
	__u64 errors;
};

#endif
