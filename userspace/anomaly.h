/* SPDX-License-Identifier: GPL-2.0 */
/*
 * On-node anomaly detection over the metric registry.
 *
 * A signal is a value computed every collection interval from one metric family: a
 * histogram's quantile or mean over the last interval, or a counter's (or histogram's event)
 * rate, or a gauge's value, grouped by some of the family's labels (the others are summed).
 * Each group gets a detector (detector.h): a robust baseline and z-score with hysteresis, or a
 * static threshold (SLO). Signals name their family, so signals over families that a probe
 * registers later, or never, simply wait.
 *
 * Built-in signals cover each probe; the config file's `anomaly:` section changes, disables or
 * adds signals (see anomaly_config.c and the README). Transitions are logged and firing or
 * resolved alerts go to alerts.c for delivery to Alertmanager.
 */
#ifndef NOVASCOPE_ANOMALY_H
#define NOVASCOPE_ANOMALY_H

#include <stddef.h>
#include <stdio.h>
#include <yaml.h>
#include "detector.h"
#include "metrics.h"
#include "strbuf.h"

struct ns_config;
struct ns_alerts;

enum ns_stat { NS_STAT_QUANTILE, NS_STAT_MEAN, NS_STAT_RATE, NS_STAT_VALUE };

struct ns_matcher {
	char *label;
	char **globs; /* fnmatch patterns, any of which matches */
	int nglobs;
	bool exclude; /* the series is skipped when one matches */
};

struct ns_signal_def {
	char *name;
	char *metric;
	char *stat_str; /* as written: p99, quantile:0.999, mean, rate, value */
	enum ns_stat stat;
	double q;
	char *by[NS_MAX_LABELS];
	int nby;
	bool by_set; /* false: group by every label of the family */
	struct ns_matcher *match;
	int nmatch;
	struct ns_det_params det;
	double min_count;
	uint64_t for_ns; /* threshold signals: how long the bound must be breached */
	bool for_set;
	char *severity;
	char *alertname;
	unsigned int max_groups;
	bool disabled;
	bool builtin;
};

/* The config file's `anomaly:` section (registered in config_sections.c): validates it. */
int ns_anomaly_config_section(struct ns_config *c, yaml_document_t *doc, yaml_node_t *node,
			      FILE *err);

/* Signal definitions after built-ins, defaults and the config file are merged. Returns the
 * number of signals (disabled ones included) or -1 with a message on err. */
int ns_anomaly_load_defs(const struct ns_config *c, struct ns_signal_def **defs, FILE *err,
			 char *instance, size_t instance_len, bool *enabled);
void ns_signal_defs_free(struct ns_signal_def *defs, int n);
void ns_signal_def_clear(struct ns_signal_def *d);

struct ns_anomaly;

/* Build the detector from the configuration; alerts (may be NULL) receives transitions. */
struct ns_anomaly *ns_anomaly_new(const struct ns_config *c, struct ns_alerts *alerts, FILE *err);
/* The daemon's detector: definitions from c, and alert delivery to c's Alertmanager URLs
 * (owned: freed by ns_anomaly_free). NULL with a message on err. */
struct ns_anomaly *ns_anomaly_start(const struct ns_config *c, FILE *err);
/* For tests: a detector over explicit definitions (takes ownership of defs). */
struct ns_anomaly *ns_anomaly_new_defs(struct ns_signal_def *defs, int n, const char *instance,
				       struct ns_alerts *alerts);
void ns_anomaly_free(struct ns_anomaly *a);

/*
 * Evaluate every signal over the interval the probes just collected into r (the series'
 * current-interval deltas: call after the probes' collect and before the next
 * ns_registry_begin). dt_s is the interval's real length; now_s the wall clock (Unix seconds).
 * Also updates novascope_alerts_firing in r.
 */
void ns_anomaly_eval(struct ns_anomaly *a, struct ns_registry *r, double dt_s, double now_s);
/* ns_anomaly_eval with the time since the last call measured here (the first call uses
 * interval_s) and the wall clock now. */
void ns_anomaly_collect(struct ns_anomaly *a, struct ns_registry *r, double interval_s);
/* Append novascope_anomaly_score (labels vary by signal, so it lives outside the registry). */
void ns_anomaly_expose(const struct ns_anomaly *a, struct strbuf *out);
/* /alerts JSON: pending and firing alerts, and the state of every signal. */
char *ns_anomaly_alerts_json(const struct ns_anomaly *a, size_t *len);

/* Inspection for tests: state of signal `name`'s group whose label values are `values`
 * (in `by` order); NULL when there is no such group. */
const struct ns_det *ns_anomaly_group(const struct ns_anomaly *a, const char *name,
				      const char *const *values);

#endif
