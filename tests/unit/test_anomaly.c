// SPDX-License-Identifier: GPL-2.0
/*
 * The anomaly detector on synthetic series (detector.c), with the daemon's default parameters
 * unless a test says otherwise. Detection delays are counted in intervals from the first
 * interval of the change; the bounds asserted here are the ones the README states.
 *
 * NS_ANOMALY_TABLE=1 prints the median/MAD vs EWMA comparison table of the README instead.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "detector.h"
#include "metrics.h"

static unsigned long long rs;

static double urand(void)
{
	rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
	return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(void)
{
	double u = urand(), v = urand();

	return sqrt(-2 * log(u > 1e-300 ? u : 1e-300)) * cos(2 * M_PI * v);
}

enum noise { GAUSS, LOGNORMAL, HEAVY, SPIKY, HIST_P99, NNOISE };
static const char *const noise_name[] = {"gauss 10%", "lognormal s=0.3", "lognormal s=0.6",
					 "gauss + 1% x5 spikes", "p99 of 2000-event histograms"};

static const struct ns_family_desc lat_desc = {
	.name = "test_latency_seconds",
	.type = NS_HISTOGRAM,
	.scale = 1e-9,
	.min_slot = 8,
	.max_slot = 34,
};
static struct ns_family hist_fam = {.d = lat_desc};

/* p99 of one interval's latencies: lognormal around 2 us, as log2 slots, as the probes see it. */
static double hist_p99(void)
{
	__u64 slots[NS_HIST_SLOTS] = {0};

	for (int i = 0; i < 2000; i++)
		slots[ns_log2_slot((__u64)(2000 * exp(0.5 * gauss())))]++;
	return ns_hist_quantile(&hist_fam, slots, 0.99);
}

/* One steady value around `level` (level 1 is "100%"). */
static double noise(enum noise k, double level)
{
	double x;

	switch (k) {
	case GAUSS:
		return level * (1 + 0.1 * gauss());
	case LOGNORMAL:
		return level * exp(0.3 * gauss());
	case HEAVY:
		return level * exp(0.6 * gauss());
	case SPIKY:
		x = level * (1 + 0.1 * gauss());
		return urand() < 0.01 ? 5 * x : x;
	case HIST_P99:
	default:
		return level * hist_p99() / 1.0e-5;
	}
}

static void params(struct ns_det_params *p, bool log_scale)
{
	ns_det_defaults(p);
	p->log_scale = log_scale;
}

/* What a quantile signal gets from anomaly_config.c: log scale, 50% spread floor. */
static void qparams(struct ns_det_params *p)
{
	params(p, true);
	p->min_spread_rel = 0.5;
}

/* Feed n steady values; return how many times the alert fired. */
static int steady(const struct ns_det_params *p, enum noise k, int n, unsigned long long seed)
{
	struct ns_det d;
	int fired = 0;

	rs = seed;
	assert_int_equal(ns_det_init(&d, p), 0);
	for (int i = 0; i < n; i++)
		fired += ns_det_step(&d, p, noise(k, 1)) == NS_DET_FIRING_EV;
	ns_det_free(&d);
	return fired;
}

enum shape { STEP, SPIKE, RAMP };

/* Warm up for 400 steady intervals, then change; return the interval (1-based, from the change)
 * at which the alert fires, 0 when it does not within `within`, -1 when it fired before. */
static int delay(const struct ns_det_params *p, enum noise k, enum shape sh, double mag, int within,
		 unsigned long long seed)
{
	struct ns_det d;
	int ret = 0;

	rs = seed;
	assert_int_equal(ns_det_init(&d, p), 0);
	for (int i = 0; i < 400 + within && !ret; i++) {
		double level = 1;
		int t = i - 400;

		if (t >= 0 && sh == STEP)
			level = mag;
		else if (t >= 0 && sh == SPIKE && t < 10)
			level = mag;
		else if (t >= 0 && sh == RAMP)
			level = 1 + mag * (t + 1);
		if (ns_det_step(&d, p, noise(k, level)) == NS_DET_FIRING_EV)
			ret = t < 0 ? -1 : t + 1;
	}
	ns_det_free(&d);
	return ret;
}

static void test_median(void **state)
{
	double v[101], w[101];

	(void)state;
	assert_true(isnan(ns_median(v, 0)));
	rs = 42;
	for (unsigned int n = 1; n <= 101; n++) {
		for (unsigned int i = 0; i < n; i++)
			v[i] = w[i] = floor(urand() * 20); /* many duplicates */
		for (unsigned int i = 1; i < n; i++) /* insertion sort as the reference */
			for (unsigned int j = i; j && w[j - 1] > w[j]; j--) {
				double t = w[j];

				w[j] = w[j - 1];
				w[j - 1] = t;
			}
		assert_true(ns_median(v, n) == (n & 1 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2));
	}
}

/* Steady noise of every kind: not one alert in 10,000 intervals (5 seeds each). */
static void test_steady_noise_no_alert(void **state)
{
	struct ns_det_params lin, lg, q;

	(void)state;
	params(&lin, false);
	params(&lg, true);
	qparams(&q);
	for (int k = 0; k < NNOISE; k++)
		for (unsigned long long s = 1; s <= 5; s++) {
			int f = steady(k == GAUSS || k == SPIKY ? &lin
				       : k == HIST_P99		? &q
								: &lg,
				       k, 10000, s * 7919);

			if (f)
				fail_msg("%s, seed %llu: %d alerts in 10000 steady intervals",
					 noise_name[k], s, f);
		}
}

/* A step: x3 fires after exactly fire_after (8) intervals on 10% noise; x2 within 60 (mean
 * 12.5 over 200 seeds: 8 consecutive intervals must clear z = 3); on the much noisier
 * lognormal(0.3), x5 within 20; a histogram p99 (50% floor) x5 within 12. */
static void test_step(void **state)
{
	struct ns_det_params p, q;

	(void)state;
	params(&p, true);
	qparams(&q);
	for (unsigned long long s = 1; s <= 20; s++) {
		assert_int_equal(delay(&p, GAUSS, STEP, 3, 80, s), 8);
		assert_in_range(delay(&q, HIST_P99, STEP, 5, 80, s), 8, 12);
		assert_in_range(delay(&p, GAUSS, STEP, 2, 80, s), 8, 60);
		assert_in_range(delay(&p, LOGNORMAL, STEP, 5, 80, s), 8, 20);
	}
}

/* A 10-interval spike x5 fires at its 8th interval; a 1-interval x10 spike never fires. */
static void test_spike(void **state)
{
	struct ns_det_params p;
	struct ns_det d;
	double before;

	(void)state;
	params(&p, true);
	for (unsigned long long s = 1; s <= 20; s++)
		assert_int_equal(delay(&p, GAUSS, SPIKE, 5, 50, s), 8);
	rs = 99;
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (int i = 0; i < 400; i++)
		assert_int_not_equal(ns_det_step(&d, &p, noise(GAUSS, 1)), NS_DET_FIRING_EV);
	before = d.center;
	assert_int_equal(ns_det_step(&d, &p, 10 * noise(GAUSS, 1)), NS_DET_PENDING_EV);
	assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 1)), NS_DET_CLEARED_EV);
	for (int i = 0; i < 100; i++)
		assert_int_not_equal(ns_det_step(&d, &p, noise(GAUSS, 1)), NS_DET_FIRING_EV);
	/* The spike did not move the baseline (it never entered it). */
	assert_true(fabs(d.center - before) < 0.05);
	ns_det_free(&d);
}

/* A slow ramp of +1% of the baseline per interval (x2 after 100) fires within 140 intervals
 * (mean 104 over 200 seeds); +3% per interval within 60 (mean 39). (Slower drifts, +0.5% per
 * interval and less, are mostly taken as the new normal: the clipped admission lets the baseline
 * follow them.) */
static void test_ramp(void **state)
{
	struct ns_det_params p;
	int worst = 0;

	(void)state;
	params(&p, true);
	for (unsigned long long s = 1; s <= 20; s++) {
		int d1 = delay(&p, GAUSS, RAMP, 0.01, 140, s),
		    d3 = delay(&p, GAUSS, RAMP, 0.03, 60, s);

		if (d1 <= 0 || d3 <= 0)
			fail_msg("seed %llu: ramp 1%%/interval fired at %d, 3%%/interval at %d", s,
				 d1, d3);
		worst = d1 > worst ? d1 : worst;
	}
	print_message("slowest 1%%/interval ramp detection: %d intervals\n", worst);
}

/* A flat series: scores 0, no alert; +50% (below the spread floor's reach) is not an
 * anomaly, x2 is. */
static void test_flat(void **state)
{
	struct ns_det_params p;
	struct ns_det d;
	int ev, i;

	(void)state;
	params(&p, true);
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(ns_det_step(&d, &p, 0.004), NS_DET_NONE);
	assert_true(d.scored);
	assert_true(d.score == 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(ns_det_step(&d, &p, 0.006), NS_DET_NONE);
	assert_true(isfinite(d.score) && d.score < 3);
	/* The +50% became the new normal (clipped entry); the next x2 is measured from there. */
	for (i = 1, ev = NS_DET_NONE; i <= 8 && ev != NS_DET_FIRING_EV; i++)
		ev = ns_det_step(&d, &p, 0.02);
	assert_int_equal(ev, NS_DET_FIRING_EV);
	assert_int_equal(i - 1, 8);
	ns_det_free(&d);

	/* Linear scale, flat at 0 (a rate with no events): the absolute floor keeps z finite. */
	params(&p, false);
	p.min_spread_abs = 1;
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (i = 0; i < 100; i++)
		ns_det_step(&d, &p, 0);
	ns_det_step(&d, &p, 2);
	assert_true(d.score == 2);
	ns_det_free(&d);
}

/* NaN and Inf are "no data": never scored, never in the baseline, never an alert. */
static void test_nan_inf(void **state)
{
	static const double bad[] = {NAN, INFINITY, -INFINITY, -1};
	struct ns_det_params p;
	struct ns_det d;

	(void)state;
	params(&p, true);
	rs = 5;
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (int i = 0; i < 10000; i++) {
		double v = i % 7 ? noise(GAUSS, 1) : bad[(i / 7) % 4]; /* -1: no log of it */

		assert_int_not_equal(ns_det_step(&d, &p, v), NS_DET_FIRING_EV);
		if (!(i % 7)) {
			assert_false(d.scored);
			assert_true(isnan(d.score));
		}
		assert_true(isnan(d.center) || isfinite(d.center));
	}
	assert_true(fabs(d.center - 1) < 0.05);
	/* A NaN while firing counts towards resolving; one cancels a pending alert. */
	for (int i = 0; i < 8; i++)
		ns_det_step(&d, &p, 5);
	assert_int_equal(d.state, NS_DET_FIRING);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ns_det_step(&d, &p, NAN), NS_DET_NONE);
	assert_int_equal(ns_det_step(&d, &p, NAN), NS_DET_RESOLVED_EV);
	assert_int_equal(ns_det_step(&d, &p, 5), NS_DET_PENDING_EV);
	assert_int_equal(ns_det_step(&d, &p, NAN), NS_DET_CLEARED_EV);
	ns_det_free(&d);
}

/* Resolve after exactly resolve_after normal intervals; the baseline is frozen while firing,
 * even through 500 intervals of anomaly. */
static void test_resolve_and_freeze(void **state)
{
	struct ns_det_params p;
	struct ns_det d;
	double center;
	int i;

	(void)state;
	params(&p, true);
	rs = 11;
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (i = 0; i < 400; i++)
		ns_det_step(&d, &p, noise(GAUSS, 1));
	assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 3)), NS_DET_PENDING_EV);
	center = d.center;
	for (i = 0; i < 6; i++)
		assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 3)), NS_DET_NONE);
	assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 3)), NS_DET_FIRING_EV);
	for (i = 0; i < 500; i++)
		assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 3)), NS_DET_NONE);
	assert_int_equal(d.state, NS_DET_FIRING);
	assert_true(d.center == center); /* nothing entered the baseline */
	assert_true(d.peak_score >= d.score);
	for (i = 1; i < 5; i++)
		assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 1)), NS_DET_NONE);
	assert_int_equal(ns_det_step(&d, &p, noise(GAUSS, 1)), NS_DET_RESOLVED_EV);
	assert_int_equal(d.state, NS_DET_INACTIVE);
	ns_det_free(&d);
}

/* relearn_after: a shift that lasts becomes the new normal after that many firing intervals. */
static void test_relearn(void **state)
{
	struct ns_det_params p;
	struct ns_det d;
	int i, fired = 0, at = -1;

	(void)state;
	params(&p, true);
	p.relearn_after = 100;
	rs = 3;
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (i = 0; i < 400; i++)
		ns_det_step(&d, &p, noise(GAUSS, 1));
	for (i = 0; i < 1000; i++) {
		enum ns_det_event e = ns_det_step(&d, &p, noise(GAUSS, 3));

		if (e == NS_DET_FIRING_EV)
			at = i, fired++;
		if (e == NS_DET_RELEARN_EV)
			assert_int_equal(i, at + 100);
	}
	assert_int_equal(at, 7);
	assert_int_equal(fired, 1);
	assert_int_equal(d.state, NS_DET_INACTIVE);
	assert_true(fabs(d.center - 3) < 0.2);
	ns_det_free(&d);
}

/* "p99 above 500ms for 10s" at a 1 s interval: fires on the 10th breached interval. */
static void test_threshold(void **state)
{
	struct ns_det_params p;
	struct ns_det d;
	int i;

	(void)state;
	ns_det_defaults(&p);
	p.threshold = true;
	p.above = 0.5;
	p.fire_after = 10;
	assert_null(ns_det_params_check(&p));
	assert_int_equal(ns_det_init(&d, &p), 0);
	assert_int_equal(ns_det_step(&d, &p, 0.4), NS_DET_NONE);
	assert_int_equal(ns_det_step(&d, &p, 0.6), NS_DET_PENDING_EV);
	for (i = 2; i < 10; i++)
		assert_int_equal(ns_det_step(&d, &p, 0.7), NS_DET_NONE);
	assert_int_equal(ns_det_step(&d, &p, 0.7), NS_DET_FIRING_EV);
	assert_true(fabs(d.score - 0.4) < 1e-9); /* 40% past the bound */
	for (i = 1; i < 5; i++)
		assert_int_equal(ns_det_step(&d, &p, 0.1), NS_DET_NONE);
	assert_int_equal(ns_det_step(&d, &p, 0.1), NS_DET_RESOLVED_EV);
	/* A breach interrupted by one good interval starts counting again. */
	for (i = 0; i < 9; i++)
		ns_det_step(&d, &p, 0.9);
	ns_det_step(&d, &p, 0.2);
	for (i = 0; i < 9; i++)
		assert_int_not_equal(ns_det_step(&d, &p, 0.9), NS_DET_FIRING_EV);
	assert_int_equal(ns_det_step(&d, &p, 0.9), NS_DET_FIRING_EV);
	ns_det_free(&d);
}

/* can_fire false (too few events): a huge value neither fires nor enters unclipped. */
static void test_weak(void **state)
{
	struct ns_det_params p;
	struct ns_det d;

	(void)state;
	params(&p, false);
	p.min_spread_abs = 1;
	assert_int_equal(ns_det_init(&d, &p), 0);
	for (int i = 0; i < 100; i++)
		ns_det_step(&d, &p, 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(ns_det_step_ex(&d, &p, 8, false), NS_DET_NONE);
	assert_true(d.center < 8);
	ns_det_free(&d);
}

static void test_params_check(void **state)
{
	struct ns_det_params p;

	(void)state;
	ns_det_defaults(&p);
	assert_null(ns_det_params_check(&p));
	p.warmup = p.window + 1;
	assert_non_null(ns_det_params_check(&p));
	ns_det_defaults(&p);
	p.z = 0;
	assert_non_null(ns_det_params_check(&p));
	ns_det_defaults(&p);
	p.admit_z = 4;
	assert_non_null(ns_det_params_check(&p));
	ns_det_defaults(&p);
	p.fire_after = 0;
	assert_non_null(ns_det_params_check(&p));
	ns_det_defaults(&p);
	p.threshold = true;
	assert_non_null(ns_det_params_check(&p));
	p.above = 1;
	p.below = 2;
	assert_non_null(ns_det_params_check(&p));
}

/* The README's table: median/MAD vs EWMA on the same series. */
static void table(void)
{
	static const char *const bn[] = {"median/MAD", "EWMA"};

	printf("| baseline | window | false alerts in 50,000 steady intervals (%s; %s; %s; %s; %s) "
	       "| step x2 | step x3 | 10-interval spike x5 | ramp +1%%/interval | ramp "
	       "+3%%/interval |\n"
	       "|---|---|---|---|---|---|---|---|\n",
	       noise_name[0], noise_name[1], noise_name[2], noise_name[3], noise_name[4]);
	for (int b = 0; b < 2; b++)
		for (int w = 0; w < 3; w++) {
			static const unsigned int wins[] = {60, 120, 300};
			struct ns_det_params p;
			char cells[5][48];
			int fp[NNOISE];

			params(&p, true);
			p.baseline = (enum ns_baseline)b;
			p.window = wins[w];
			for (int k = 0; k < NNOISE; k++) {
				fp[k] = 0;
				for (unsigned long long s = 1; s <= 5; s++)
					fp[k] += steady(&p, k, 10000, s * 7919);
			}
			for (int c = 0; c < 5; c++) {
				static const enum shape sh[] = {STEP, STEP, SPIKE, RAMP, RAMP};
				static const double mag[] = {2, 3, 5, 0.01, 0.03};
				int tot = 0, miss = 0, worst = 0;

				for (unsigned long long s = 1; s <= 20; s++) {
					int d = delay(&p, GAUSS, sh[c], mag[c], 300, s);

					if (d <= 0)
						miss++;
					tot += d > 0 ? d : 0;
					worst = d > worst ? d : worst;
				}
				snprintf(cells[c], sizeof(cells[c]),
					 miss == 20 ? "missed" : "%.1f (worst %d%s)",
					 miss < 20 ? (double)tot / (20 - miss) : 0, worst,
					 miss ? ", some missed" : "");
			}
			printf("| %s | %u | %d; %d; %d; %d; %d | %s | %s | %s | %s | %s |\n", bn[b],
			       p.window, fp[0], fp[1], fp[2], fp[3], fp[4], cells[0], cells[1],
			       cells[2], cells[3], cells[4]);
		}
}

/* CPU time of one ns_det_step on a warmed-up detector (the per-label-set, per-interval cost). */
static void step_cost(void)
{
	for (int b = 0; b < 2; b++) {
		struct ns_det_params p;
		struct ns_det d;
		struct timespec t0, t1;
		const int n = 200000;

		params(&p, true);
		p.baseline = (enum ns_baseline)b;
		ns_det_init(&d, &p);
		rs = 1;
		for (int i = 0; i < 1000; i++)
			ns_det_step(&d, &p, noise(GAUSS, 1));
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		for (int i = 0; i < n; i++)
			ns_det_step(&d, &p, noise(GAUSS, 1));
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		printf("%s window %u: %.2f us per label set per interval\n", b ? "EWMA" : "median/MAD",
		       p.window,
		       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
			       n / 1e3);
		ns_det_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median),	cmocka_unit_test(test_steady_noise_no_alert),
		cmocka_unit_test(test_step),	cmocka_unit_test(test_spike),
		cmocka_unit_test(test_ramp),	cmocka_unit_test(test_flat),
		cmocka_unit_test(test_nan_inf), cmocka_unit_test(test_resolve_and_freeze),
		cmocka_unit_test(test_relearn), cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_weak),	cmocka_unit_test(test_params_check),
	};

	if (getenv("NS_ANOMALY_TABLE")) {
		table();
		step_cost();
		return 0;
	}
	return cmocka_run_group_tests_name("anomaly detector", tests, NULL, NULL);
}
