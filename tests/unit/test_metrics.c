// SPDX-License-Identifier: GPL-2.0
/* Registry: cardinality cap and folding, expiry, interval deltas, log2 slots, quantiles. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "metrics.h"

static const struct ns_family_desc capped = {
	.name = "t_cg_total",
	.help = "h",
	.type = NS_COUNTER,
	.labels = { "cgroup", "kind" },
	.max_series = 10,
	.other_reserve = 2,
	.stale_after = 2,
};

static const struct ns_family_desc hist = {
	.name = "t_seconds",
	.help = "h",
	.type = NS_HISTOGRAM,
	.labels = { "x" },
	.min_slot = 0,
	.max_slot = 40,
	.scale = 1e-9,
};

static void test_cap_folds_into_other(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_family *f = ns_family(r, &capped);
	char name[32];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "/cg%d", i);
		ns_counter_add(ns_series(f, NS_LV(name, i % 2 ? "voluntary" : "involuntary")), 1);
	}
	assert_true(f->nseries <= 10);
	/* Everything counted: the folded series carry the rest, split by the other label. */
	double total = 0, other = 0;
	for (size_t i = 0; i < f->nseries; i++) {
		total += f->series[i]->value;
		if (!strcmp(f->series[i]->values[0], "other"))
			other += f->series[i]->value;
	}
	assert_true(total == 100);
	assert_true(other == 100 - 8);
	ns_registry_free(r);
}

static void test_expiry(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_family *f = ns_family(r, &capped);
	struct ns_series *keep;

	(void)state;
	ns_registry_begin(r);
	keep = ns_series(f, NS_LV("/a", "x"));
	ns_series_touch(r, keep);
	ns_series_touch(r, ns_series(f, NS_LV("/gone", "x")));
	for (int i = 0; i < 3; i++) {
		ns_registry_begin(r);
		ns_series_touch(r, ns_series(f, NS_LV("/a", "x")));
		ns_registry_sweep(r);
	}
	assert_int_equal(f->nseries, 1);
	assert_string_equal(f->series[0]->values[0], "/a");
	ns_registry_free(r);
}

static void test_interval_deltas(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_series *s = ns_series(ns_family(r, &hist), NS_LV("a"));
	__u64 slots[NS_HIST_SLOTS] = { 0 };

	(void)state;
	ns_registry_begin(r);
	slots[10] = 5;
	ns_hist_add(s, slots, 5000);
	ns_registry_begin(r); /* the interval above completes */
	assert_int_equal(ns_hist_count(s->d_slots), 5);
	assert_true(s->d_sum == 5000);
	ns_hist_add(s, slots, 5000);
	ns_hist_add(s, slots, 5000);
	ns_registry_begin(r);
	assert_int_equal(ns_hist_count(s->d_slots), 10);
	assert_int_equal(ns_hist_count(s->slots), 15);
	ns_registry_begin(r);
	assert_int_equal(ns_hist_count(s->d_slots), 0);
	ns_registry_free(r);
}

static void test_log2_slot(void **state)
{
	(void)state;
	assert_int_equal(ns_log2_slot(0), 0);
	assert_int_equal(ns_log2_slot(1), 0);
	assert_int_equal(ns_log2_slot(2), 1);
	assert_int_equal(ns_log2_slot(3), 1);
	assert_int_equal(ns_log2_slot(1023), 9);
	assert_int_equal(ns_log2_slot(1024), 10);
	assert_int_equal(ns_log2_slot(~0ULL), NS_HIST_SLOTS - 1);
}

static void test_quantile(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_family *f = ns_family(r, &hist);
	__u64 slots[NS_HIST_SLOTS] = { 0 };
	double q;

	(void)state;
	assert_true(isnan(ns_hist_quantile(f, slots, 0.5)));
	slots[10] = 100; /* all in [1024, 2048) ns */
	q = ns_hist_quantile(f, slots, 0.5);
	assert_true(fabs(q - 1536e-9) < 1e-12);
	slots[20] = 100; /* half near 1ms */
	q = ns_hist_quantile(f, slots, 0.99);
	assert_true(q > 1048576e-9 && q <= 2097152e-9);
	/* le of slot i is 2^(i+1) ns */
	assert_true(fabs(ns_hist_le(f, 9) - 1.024e-6) < 1e-15);
	ns_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_folds_into_other), cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_interval_deltas),	     cmocka_unit_test(test_log2_slot),
		cmocka_unit_test(test_quantile),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
