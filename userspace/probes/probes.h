/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NOVASCOPE_PROBES_H
#define NOVASCOPE_PROBES_H

#include "probe.h"

extern const struct ns_probe_ops ns_syscall_probe;
extern const struct ns_probe_ops ns_block_probe;

#endif
