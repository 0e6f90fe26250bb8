/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-series anomaly detector: one value per collection interval in, a state machine out.
 * Pure computation (no registry, no I/O), so the unit tests drive it with synthetic series.
 *
 * Scoring: z = (x - center) / spread, where x is the value (or its logarithm, for log_scale:
 * latencies vary by factors, so their noise is symmetric on a log scale) and center and spread
 * come from a baseline of recent normal values: the median and 1.4826 * MAD of a window
 * (default), or an EWMA mean and standard deviation. The spread has a floor so that a flat
 * baseline cannot give infinite scores: min_spread_rel of the center (on a log scale:
 * log(1 + min_spread_rel)) or min_spread_abs, whichever is larger. Before `warmup` values have
 * been admitted nothing is scored.
 *
 * Three bands of the score in the watched direction: below admit_z is normal; from admit_z to
 * z is elevated; z and above is anomalous.
 * What enters the baseline: nothing while firing, so an ongoing anomaly is never absorbed;
 * anomalous values are held back while the alert is pending and enter (clipped to center +
 * z * spread) only if it clears without firing: short excursions that are part of the
 * series' normal behaviour widen the spread instead of being ignored forever; elevated values
 * enter clipped to center + admit_z * spread, so a persistent moderate shift becomes the new
 * normal slowly instead of flapping an alert; values on the side the signal does not watch
 * (below the center for direction "up") enter as they are: improvements become the new
 * normal.
 *
 * Hysteresis: pending after the first anomalous interval, firing after fire_after consecutive
 * anomalous intervals, resolved after resolve_after consecutive normal intervals (an interval
 * without data counts as normal for resolving; any interval that is not anomalous cancels a
 * pending alert). With relearn_after set, an alert firing for that many intervals resolves and
 * the baseline is learnt again from scratch: the shift is taken as the new normal.
 *
 * Static thresholds (SLOs) use the same state machine with "value above/below a fixed bound"
 * as the anomaly test and no baseline.
 */
#ifndef NOVASCOPE_DETECTOR_H
#define NOVASCOPE_DETECTOR_H

#include <stdbool.h>

#define NS_DET_HELD 16

enum ns_baseline { NS_BASELINE_MEDIAN, NS_BASELINE_EWMA };
enum ns_direction { NS_DIR_UP, NS_DIR_DOWN, NS_DIR_BOTH };
enum ns_det_state { NS_DET_INACTIVE, NS_DET_PENDING, NS_DET_FIRING };
enum ns_det_event {
	NS_DET_NONE,
	NS_DET_PENDING_EV, /* inactive -> pending */
	NS_DET_CLEARED_EV, /* pending -> inactive without firing */
	NS_DET_FIRING_EV, /* -> firing */
	NS_DET_RESOLVED_EV, /* firing -> inactive */
	NS_DET_RELEARN_EV, /* firing -> inactive after relearn_after: the baseline restarts */
};

struct ns_det_params {
	enum ns_baseline baseline;
	unsigned int window; /* values in the median window; EWMA alpha = 2 / (window + 1) */
	unsigned int warmup; /* admitted values before scoring */
	double z; /* anomaly at |score| >= z in the watched direction */
	double admit_z; /* values scoring beyond this enter the baseline clipped */
	double min_spread_rel, min_spread_abs;
	bool log_scale; /* score log(value); values <= 0 are then "no data" */
	enum ns_direction dir;
	unsigned int fire_after, resolve_after;
	unsigned int relearn_after; /* 0 = never */
	/* Static threshold mode: anomalous when value > above or value < below (NaN = unused). */
	bool threshold;
	double above, below;
};

struct ns_det {
	double *win; /* ring of admitted values (median baseline) */
	double held[NS_DET_HELD]; /* anomalous values of a pending alert, admitted if it clears */
	unsigned int nheld;
	unsigned int n, head;
	double ew_mean, ew_var;
	unsigned long long admitted;
	enum ns_det_state state;
	unsigned int bad_run, good_run, firing_for;
	/* The last interval, for exposition and alerts; center is in the value's unit. */
	double value, center, score;
	double bc, bs; /* baseline center and spread on the scoring scale */
	bool scored; /* the last value had data and a warmed-up baseline (or is a threshold) */
	/* While firing: the worst score and its value since firing began. */
	double peak_score, peak_value;
};

/* Fill p with the defaults (median, window 300, warm-up 30, z 3, admit_z 2, fire after 8,
 * resolve after 5, spread floor 20%). */
void ns_det_defaults(struct ns_det_params *p);
/* Check p; on error return a static string saying what is wrong, else NULL. */
const char *ns_det_params_check(const struct ns_det_params *p);

int ns_det_init(struct ns_det *d, const struct ns_det_params *p);
void ns_det_free(struct ns_det *d);
/* Feed one interval's value (NaN/Inf = no data this interval). Returns the transition. */
enum ns_det_event ns_det_step(struct ns_det *d, const struct ns_det_params *p, double value);
/* The same; with can_fire false the value is scored and may enter the baseline but cannot be
 * anomalous (a rate over too few events). */
enum ns_det_event ns_det_step_ex(struct ns_det *d, const struct ns_det_params *p, double value,
				 bool can_fire);

/* Median of v[0..n) (reorders v). NaN for n == 0. */
double ns_median(double *v, unsigned int n);

const char *ns_det_state_str(enum ns_det_state s);

#endif
