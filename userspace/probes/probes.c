// SPDX-License-Identifier: GPL-2.0
/* The static table of probes: one line per kernel domain. */
#include "probe.h"
#include "probes.h"

struct ns_probe ns_probes[] = {
	{ .ops = &ns_syscall_probe },
	{ .ops = &ns_block_probe },
};

const size_t ns_nprobes = sizeof(ns_probes) / sizeof(ns_probes[0]);
