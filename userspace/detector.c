// SPDX-License-Identifier: GPL-2.0
/* The per-series anomaly detector: see detector.h for the model. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "detector.h"

/* 1 / Phi^-1(3/4): makes the MAD a consistent estimator of a normal distribution's sigma. */
#define MAD_TO_SIGMA 1.4826
#define SCORE_CLAMP 1e9
#define MAX_WINDOW 100000
#define HELD_MAX NS_DET_HELD

void ns_det_defaults(struct ns_det_params *p)
{
	memset(p, 0, sizeof(*p));
	p->baseline = NS_BASELINE_MEDIAN;
	p->window = 300;
	p->warmup = 30;
	p->z = 3;
	p->admit_z = 2;
	p->min_spread_rel = 0.2;
	p->min_spread_abs = 0;
	p->dir = NS_DIR_UP;
	p->fire_after = 8;
	p->resolve_after = 5;
	p->above = NAN;
	p->below = NAN;
}

const char *ns_det_params_check(const struct ns_det_params *p)
{
	if (p->threshold) {
		if (isnan(p->above) && isnan(p->below))
			return "a threshold needs above or below";
		if (!isnan(p->above) && !isnan(p->below) && p->below >= p->above)
			return "below must be less than above";
	} else {
		if (p->window < 5 || p->window > MAX_WINDOW)
			return "window must be 5..100000 intervals";
		if (p->warmup < 5 || p->warmup > p->window)
			return "warmup must be at least 5 and at most the window";
		if (!(p->z > 0) || !isfinite(p->z))
			return "z must be a positive number";
		if (!(p->admit_z > 0) || p->admit_z > p->z)
			return "admit_z must be positive and at most z";
		if (!(p->min_spread_rel >= 0) || !isfinite(p->min_spread_rel))
			return "min_spread must be a non-negative number";
		if (!(p->min_spread_abs >= 0) || !isfinite(p->min_spread_abs))
			return "min_spread_abs must be a non-negative number";
	}
	if (p->fire_after < 1 || p->fire_after > 100000)
		return "fire_after must be 1..100000 intervals";
	if (p->resolve_after < 1 || p->resolve_after > 100000)
		return "resolve_after must be 1..100000 intervals";
	return NULL;
}

int ns_det_init(struct ns_det *d, const struct ns_det_params *p)
{
	memset(d, 0, sizeof(*d));
	d->value = d->center = d->score = d->bc = d->bs = NAN;
	if (p->threshold || p->baseline != NS_BASELINE_MEDIAN)
		return 0;
	/* The ring, then as much scratch space for the median and MAD selections. */
	d->win = calloc(2 * (size_t)p->window, sizeof(double));
	return d->win ? 0 : -ENOMEM;
}

void ns_det_free(struct ns_det *d)
{
	free(d->win);
	d->win = NULL;
}

/* k-th smallest of v[0..n) by quickselect (Hoare partition, middle pivot); reorders v.
 * Values are finite: only finite values enter the window. */
static double select_k(double *v, int n, int k)
{
	int lo = 0, hi = n - 1;

	while (hi > lo) {
		double pivot = v[lo + (hi - lo) / 2];
		int i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

double ns_median(double *v, unsigned int n)
{
	double hi, lo;

	if (!n)
		return NAN;
	hi = select_k(v, (int)n, (int)(n / 2));
	if (n & 1)
		return hi;
	/* Even count: the lower middle is the largest value left of the upper one. */
	lo = v[0];
	for (unsigned int i = 1; i < n / 2; i++)
		if (v[i] > lo)
			lo = v[i];
	return (lo + hi) / 2;
}

static void baseline(struct ns_det *d, const struct ns_det_params *p)
{
	double floor_s;

	if (p->baseline == NS_BASELINE_MEDIAN) {
		double *s = d->win + p->window;

		memcpy(s, d->win, d->n * sizeof(double));
		d->bc = ns_median(s, d->n);
		for (unsigned int i = 0; i < d->n; i++)
			s[i] = fabs(d->win[i] - d->bc);
		d->bs = MAD_TO_SIGMA * ns_median(s, d->n);
	} else {
		d->bc = d->ew_mean;
		d->bs = sqrt(d->ew_var > 0 ? d->ew_var : 0);
	}
	if (p->log_scale) {
		/* An absolute spread a near the center c is a relative one of a / c. */
		floor_s = log1p(p->min_spread_rel);
		if (p->min_spread_abs / exp(d->bc) > floor_s)
			floor_s = p->min_spread_abs / exp(d->bc);
		d->center = exp(d->bc);
	} else {
		floor_s = p->min_spread_rel * fabs(d->bc);
		if (floor_s < p->min_spread_abs)
			floor_s = p->min_spread_abs;
		d->center = d->bc;
	}
	if (!(d->bs >= floor_s))
		d->bs = floor_s;
}

/* The score as seen from the watched direction: positive means "towards trouble". */
static double watched(enum ns_direction dir, double z)
{
	return dir == NS_DIR_UP ? z : dir == NS_DIR_DOWN ? -z : fabs(z);
}

static void forget(struct ns_det *d)
{
	d->n = d->head = 0;
	d->ew_mean = d->ew_var = 0;
	d->admitted = 0;
	d->nheld = 0;
}

static void push(struct ns_det *d, const struct ns_det_params *p, double x)
{
	if (p->baseline == NS_BASELINE_MEDIAN) {
		d->win[d->head] = x;
		d->head = (d->head + 1) % p->window;
		if (d->n < p->window)
			d->n++;
	} else {
		/* Exact running mean/variance until the EWMA's memory is reached, then EWMA. */
		double alpha = 2.0 / (p->window + 1.0), diff = x - d->ew_mean;

		if (alpha < 1.0 / (double)(d->admitted + 1))
			alpha = 1.0 / (double)(d->admitted + 1);
		d->ew_mean += alpha * diff;
		d->ew_var = (1 - alpha) * (d->ew_var + alpha * diff * diff);
	}
	d->admitted++;
}

/* x limited to within zlim spreads of the center on the watched side(s). */
static double clip(const struct ns_det *d, const struct ns_det_params *p, double x, double zlim)
{
	double lim = zlim * d->bs;

	if (p->dir != NS_DIR_DOWN && x > d->bc + lim)
		return d->bc + lim;
	if (p->dir != NS_DIR_UP && x < d->bc - lim)
		return d->bc - lim;
	return x;
}

/* Admit x into the baseline unless it is anomalous or the alert is firing (see detector.h). */
static void admit(struct ns_det *d, const struct ns_det_params *p, double x, bool anomalous)
{
	if (anomalous || d->state == NS_DET_FIRING)
		return;
	push(d, p, d->scored ? clip(d, p, x, p->admit_z) : x);
}

/* normal: counts towards resolving; anomalous: towards firing; neither: elevated. */
static enum ns_det_event transition(struct ns_det *d, const struct ns_det_params *p, bool anomalous,
				    bool normal)
{
	if (!anomalous) {
		d->bad_run = 0;
		d->good_run = normal ? d->good_run + 1 : 0;
		if (d->state == NS_DET_PENDING) {
			d->state = NS_DET_INACTIVE;
			return NS_DET_CLEARED_EV;
		}
	} else {
		d->good_run = 0;
		d->bad_run++;
	}
	if (d->state == NS_DET_FIRING) {
		d->firing_for++;
		if (anomalous &&
		    watched(p->threshold ? NS_DIR_UP : p->dir, d->score) >
			    watched(p->threshold ? NS_DIR_UP : p->dir, d->peak_score)) {
			d->peak_score = d->score;
			d->peak_value = d->value;
		}
		if (d->good_run >= p->resolve_after) {
			d->state = NS_DET_INACTIVE;
			return NS_DET_RESOLVED_EV;
		}
		if (p->relearn_after && d->firing_for >= p->relearn_after) {
			d->state = NS_DET_INACTIVE;
			d->bad_run = 0;
			forget(d);
			return NS_DET_RELEARN_EV;
		}
		return NS_DET_NONE;
	}
	if (!anomalous)
		return NS_DET_NONE;
	if (d->bad_run >= p->fire_after) {
		d->state = NS_DET_FIRING;
		d->firing_for = 0;
		d->peak_score = d->score;
		d->peak_value = d->value;
		return NS_DET_FIRING_EV;
	}
	if (d->state == NS_DET_INACTIVE) {
		d->state = NS_DET_PENDING;
		return NS_DET_PENDING_EV;
	}
	return NS_DET_NONE;
}

static enum ns_det_event step_threshold(struct ns_det *d, const struct ns_det_params *p, double v,
					bool can_fire)
{
	/* Score: how far past the bound, as a fraction of it (> 0 means breached). */
	double over = NAN, under = NAN;
	bool breached;

	if (!isnan(p->above))
		over = (v - p->above) / (p->above ? fabs(p->above) : 1);
	if (!isnan(p->below))
		under = (p->below - v) / (p->below ? fabs(p->below) : 1);
	d->score = isnan(under) || over > under ? over : under;
	d->center = d->score == over ? p->above : p->below;
	d->scored = true;
	breached = (!isnan(p->above) && v > p->above) || (!isnan(p->below) && v < p->below);
	return transition(d, p, breached && can_fire, !breached);
}

enum ns_det_event ns_det_step(struct ns_det *d, const struct ns_det_params *p, double v)
{
	return ns_det_step_ex(d, p, v, true);
}

enum ns_det_event ns_det_step_ex(struct ns_det *d, const struct ns_det_params *p, double v,
				 bool can_fire)
{
	double x = v, w = 0;
	enum ns_det_event ev;
	bool anomalous;

	d->value = v;
	d->scored = false;
	d->score = NAN;
	if (p->log_scale)
		x = v > 0 ? log(v) : NAN;
	if (!isfinite(x))
		return transition(d, p, false, true);
	if (p->threshold)
		return step_threshold(d, p, v, can_fire);
	if (d->admitted >= p->warmup) {
		double z;

		baseline(d, p);
		z = d->bs > 0 ? (x - d->bc) / d->bs
			      : (x == d->bc ? 0 : copysign(SCORE_CLAMP, x - d->bc));
		z = z > SCORE_CLAMP ? SCORE_CLAMP : z < -SCORE_CLAMP ? -SCORE_CLAMP : z;
		d->score = z;
		d->scored = true;
		w = watched(p->dir, z);
	}
	anomalous = can_fire && w >= p->z;
	if (anomalous && d->state != NS_DET_FIRING && d->nheld < HELD_MAX)
		d->held[d->nheld++] = clip(d, p, x, p->z);
	admit(d, p, x, anomalous);
	ev = transition(d, p, anomalous, w < p->admit_z);
	/* A pending alert that cleared was normal variability: let the baseline learn it. */
	for (unsigned int i = 0; ev == NS_DET_CLEARED_EV && i < d->nheld; i++)
		push(d, p, d->held[i]);
	if (ev != NS_DET_NONE)
		d->nheld = 0;
	return ev;
}

const char *ns_det_state_str(enum ns_det_state s)
{
	return s == NS_DET_FIRING ? "firing" : s == NS_DET_PENDING ? "pending" : "inactive";
}
