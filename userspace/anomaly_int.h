/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of the anomaly detector shared by anomaly.c and anomaly_out.c. */
#ifndef NOVASCOPE_ANOMALY_INT_H
#define NOVASCOPE_ANOMALY_INT_H

#include "anomaly.h"

#define EXPIRE_MIN 600 /* evaluations without data before an idle group is forgotten */

struct group {
	char *values[NS_MAX_LABELS];
	uint64_t hash;
	struct ns_det det;
	/* This interval's sums over the group's series. */
	__u64 slots[NS_HIST_SLOTS];
	double sum, delta, gauge;
	bool seen, reset;
	uint64_t last_seen;
	double active_since; /* wall clock: pending or firing since */
};

struct signal {
	struct ns_signal_def d;
	struct group **groups;
	size_t n, cap;
	const struct ns_family *fam;
	int by_idx[NS_MAX_LABELS];
	const char *by_name[NS_MAX_LABELS];
	int nby;
	int *match_idx;
	bool broken, overflow_logged;
	char error[256];
	unsigned int firing;
};

struct ns_anomaly {
	struct signal *sigs;
	int nsigs;
	char instance[256];
	struct ns_alerts *alerts;
	bool own_alerts;
	uint64_t evals;
	double now, last_mono;
};

#endif
