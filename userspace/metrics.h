/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metric registry: families, label sets, counters, gauges and log2 histograms, with a cap
 * on series per family and expiry of series that a probe stopped reporting.
 *
 * Counters and histograms are cumulative and owned here: probes add deltas (what the kernel
 * counted since the last collection). The registry also keeps each series' delta over the last
 * completed interval, which /metrics/summary and the anomaly detector read.
 * Only the collection thread touches a registry.
 */
#ifndef NOVASCOPE_METRICS_H
#define NOVASCOPE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "novascope/hist.h"

#define NS_MAX_LABELS 6 /* novascope_rdma_port_info has six */

enum ns_mtype {
	NS_COUNTER,
	NS_GAUGE,
	NS_HISTOGRAM,
};

struct ns_family_desc {
	const char *name;
	const char *help;
	enum ns_mtype type;
	const char *labels[NS_MAX_LABELS + 1]; /* NULL-terminated label names */
	/* Histograms: exported buckets are le = 2^(i+1) * scale for slots min_slot..max_slot. */
	int min_slot, max_slot;
	double scale; /* 1e-9 for nanoseconds -> seconds, 1 for bytes */
	/* Cardinality: at most max_series series (0 = registry default); beyond that the label
	 * labels[fold_label] becomes "other". other_reserve series are kept for those. */
	unsigned int max_series;
	unsigned int fold_label;
	unsigned int other_reserve;
	/* Drop a series not touched for this many intervals (0 = never). */
	unsigned int stale_after;
	/* Values are derived in userspace (e.g. from ring-buffer events) rather than re-read from
	 * cumulative kernel maps: with --bpf.pin-path they are carried across restarts. */
	bool carry;
};

struct ns_series {
	char *values[NS_MAX_LABELS];
	double value; /* counter or gauge */
	__u64 slots[NS_HIST_SLOTS];
	double sum; /* histogram sum, in the recorded unit (ns, bytes) */
	double d_value; /* delta of the last completed interval */
	__u64 d_slots[NS_HIST_SLOTS];
	double d_sum;
	double c_value; /* delta of the interval being collected */
	__u64 c_slots[NS_HIST_SLOTS];
	double c_sum;
	uint64_t touched; /* generation of the last touch */
	uint64_t hash;
	bool live;
};

struct ns_family {
	struct ns_family_desc d;
	unsigned int nlabels;
	struct ns_series **series; /* insertion order; NULL holes are compacted by sweep */
	size_t nseries, cap_series;
	uint64_t folded; /* series requests folded into "other" */
};

struct ns_registry {
	struct ns_family **fams;
	size_t nfams, cap_fams;
	uint64_t gen;
	unsigned int default_max_series;
	/* Called when a family is registered (restores carried values); may be NULL. */
	void (*on_family)(struct ns_registry *r, struct ns_family *f);
	void *carry;
};

struct ns_registry *ns_registry_new(unsigned int default_max_series);
void ns_registry_free(struct ns_registry *r);
/* Start a collection interval: rotate current deltas into last-interval deltas. */
void ns_registry_begin(struct ns_registry *r);
/* End a collection interval: drop expired series. */
void ns_registry_sweep(struct ns_registry *r);

/* Register a family (idempotent by name; the descriptor must outlive the registry). */
struct ns_family *ns_family(struct ns_registry *r, const struct ns_family_desc *d);
struct ns_family *ns_family_find(const struct ns_registry *r, const char *name);
/* Find or create the series for these label values (count = nlabels). Never NULL unless OOM. */
struct ns_series *ns_series(struct ns_family *f, const char *const *values);
void ns_series_touch(struct ns_registry *r, struct ns_series *s);

void ns_counter_add(struct ns_series *s, double delta);
void ns_gauge_set(struct ns_series *s, double v);
void ns_hist_add(struct ns_series *s, const __u64 slots[NS_HIST_SLOTS], double sum);
/* Add one value into a histogram series (userspace-side observations). */
void ns_hist_observe(struct ns_series *s, __u64 v);

/* v in the family's unit after scaling (ns -> s divides by 1e9: exact for round values). */
double ns_scale(const struct ns_family *f, double v);
/* Index of the log2 slot for v (same rule as the BPF side). */
unsigned int ns_log2_slot(__u64 v);
/* Upper bound (le) of slot i in the family's unit after scaling. */
double ns_hist_le(const struct ns_family *f, int slot);
/* Quantile q (0..1) of a slot array, linearly interpolated within the slot, in scaled units.
 * Returns NaN when the array is empty. */
double ns_hist_quantile(const struct ns_family *f, const __u64 slots[NS_HIST_SLOTS], double q);
__u64 ns_hist_count(const __u64 slots[NS_HIST_SLOTS]);

/* Convenience: series by up to 4 label values given inline. */
#define NS_LV(...) ((const char *const[]){__VA_ARGS__})

#endif
