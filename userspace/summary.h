/* SPDX-License-Identifier: GPL-2.0 */
/* /metrics/summary: a JSON digest of the registry for humans and scripts. */
#ifndef NOVASCOPE_SUMMARY_H
#define NOVASCOPE_SUMMARY_H

#include <stddef.h>
#include "metrics.h"

/* Families listed under "self" in the summary (counters/gauges by value, histograms by p99). */
extern const char *const ns_self_families[];

/* JSON text (malloc'd) with each histogram family's count and p50/p95/p99 per label set
 * (top `top` by count), and the collector's self metrics. */
char *ns_summary_json(const struct ns_registry *r, unsigned int top, double interval_s,
		      size_t *len);

#endif
