// SPDX-License-Identifier: GPL-2.0
/* The bounded label set the sched probe uses to cap cgroup values across its families. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "metrics.h"
#include "probes/labelcap.h"

static void test_cap_includes_other(void **state)
{
	struct ns_labelcap *c = ns_labelcap_new(4, 2);

	(void)state;
	assert_string_equal(ns_labelcap_admit(c, "/a", 1), "/a");
	assert_string_equal(ns_labelcap_admit(c, "/b", 1), "/b");
	assert_string_equal(ns_labelcap_admit(c, "/c", 1), "/c");
	/* Three values plus "other" make four. */
	assert_string_equal(ns_labelcap_admit(c, "/d", 1), "other");
	assert_string_equal(ns_labelcap_admit(c, "other", 1), "other");
	assert_string_equal(ns_labelcap_admit(c, "/a", 1), "/a");
	assert_int_equal(ns_labelcap_count(c), 3);
	ns_labelcap_free(c);
}

static void test_expiry_frees_places(void **state)
{
	struct ns_labelcap *c = ns_labelcap_new(3, 2);

	(void)state;
	ns_labelcap_admit(c, "/a", 1);
	ns_labelcap_admit(c, "/b", 1);
	for (uint64_t g = 2; g <= 4; g++) {
		assert_string_equal(ns_labelcap_admit(c, "/a", g), "/a");
		/* /b was last asked for in interval 1: it holds its place through 1 + 2 + 1. */
		assert_string_equal(ns_labelcap_admit(c, "/new", g), "other");
	}
	assert_string_equal(ns_labelcap_admit(c, "/new", 5), "/new");
	assert_int_equal(ns_labelcap_count(c), 2);
	ns_labelcap_free(c);
}

static const struct ns_family_desc two_kinds = {
	.name = "t_switches_total",
	.help = "h",
	.type = NS_COUNTER,
	.labels = { "cgroup", "kind" },
	.max_series = 2 * 5 + 2,
	.other_reserve = 2,
	.stale_after = 3,
};

/* Churning values through a registry family never exports more than cap values. */
static void test_churn_through_registry(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_family *f = ns_family(r, &two_kinds);
	struct ns_labelcap *c = ns_labelcap_new(5, 3);
	char name[32];
	int next = 0;

	(void)state;
	for (int interval = 0; interval < 200; interval++) {
		ns_registry_begin(r);
		/* Eight short-lived cgroups per interval, each seen once, with one kind only. */
		for (int k = 0; k < 8; k++, next++) {
			const char *l;
			struct ns_series *s;

			snprintf(name, sizeof(name), "/cg%d", next);
			l = ns_labelcap_admit(c, name, r->gen);
			s = ns_series(f, NS_LV(l, next % 2 ? "voluntary" : "involuntary"));
			ns_counter_add(s, 1);
			ns_series_touch(r, s);
		}
		ns_registry_sweep(r);
		{
			char seen[16][32];
			int n = 0;

			for (size_t i = 0; i < f->nseries; i++) {
				int j;

				for (j = 0; j < n && strcmp(seen[j], f->series[i]->values[0]); j++)
					;
				if (j == n) {
					assert_true(n < 16);
					snprintf(seen[n++], sizeof(seen[0]), "%s",
						 f->series[i]->values[0]);
				}
			}
			assert_true(n <= 5);
		}
	}
	assert_int_equal(f->folded, 0); /* the label set capped first; the registry never had to */
	ns_labelcap_free(c);
	ns_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_includes_other),
		cmocka_unit_test(test_expiry_frees_places),
		cmocka_unit_test(test_churn_through_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
