/* SPDX-License-Identifier: GPL-2.0 */
/* `novascope selftest`: how an operator confirms the collector works on a new kernel. */
#ifndef NOVASCOPE_SELFTEST_H
#define NOVASCOPE_SELFTEST_H

#include <stdbool.h>
#include <sys/types.h>

struct ns_config;
struct ns_probe;
struct ns_registry;

struct ns_selftest {
	struct ns_probe *p;
	struct ns_registry *r;
};

/* Read the probe's maps into the registry now. */
void ns_selftest_collect(struct ns_selftest *t);
/* Total of a family's samples whose label `label` equals value (NULL: all series): histogram
 * counts, counter values. Collects first, so call it before and after the workload. */
double ns_selftest_total(struct ns_selftest *t, const char *family, const char *label,
			 const char *value);
/* The same over the series matching two labels. */
double ns_selftest_total2(struct ns_selftest *t, const char *family, const char *l1, const char *v1,
			  const char *l2, const char *v2);
/* Run fn(arg) in a child process (the collector's own process is excluded from tracing) and
 * wait for it; 0 when it exited 0. */
int ns_selftest_child(int (*fn)(void *arg), void *arg);

/* Start every supported probe, run each one's self-test, print a line per probe; 0 if all
 * that could run passed. */
int ns_selftest_run(const struct ns_config *c);

#endif
