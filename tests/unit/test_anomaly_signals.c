// SPDX-License-Identifier: GPL-2.0
/*
 * Signals over the registry (anomaly.c) and their configuration (anomaly_config.c): built-in
 * signals, merging of the config file's section, bad definitions, grouping and matching,
 * counter resets, families of the wrong type or absent, exposition and /alerts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "anomaly.h"
#include "config.h"
#include "strbuf.h"

static char cfg_path[64];

/* Parse a config file with this content (and extra flags); returns ns_config_parse's result and
 * what it printed in err (caller frees). */
static int parse(struct ns_config *c, const char *yaml, const char *flag, char **err)
{
	char arg[128];
	char *argv[4] = {"novascope", arg, (char *)flag, NULL};
	size_t len;
	FILE *e = open_memstream(err, &len), *f;
	int ret;

	strcpy(cfg_path, "/tmp/ns-anomaly-test.XXXXXX");
	assert_true(mkstemp(cfg_path) >= 0);
	f = fopen(cfg_path, "w");
	fputs(yaml, f);
	fclose(f);
	snprintf(arg, sizeof(arg), "--config.file=%s", cfg_path);
	ret = ns_config_parse(c, flag ? 3 : 2, argv, e);
	fclose(e);
	unlink(cfg_path);
	return ret;
}

static struct ns_signal_def *find(struct ns_signal_def *d, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(d[i].name, name))
			return &d[i];
	return NULL;
}

static void test_builtins(void **state)
{
	struct ns_config c = {.interval_ns = 1000000000ULL};
	struct ns_signal_def *d, *s;
	char inst[64];
	bool en;
	int n = ns_anomaly_load_defs(&c, &d, stderr, inst, sizeof(inst), &en);

	(void)state;
	assert_int_equal(n, 8);
	assert_true(en);
	s = find(d, n, "syscall_latency_p99");
	assert_non_null(s);
	assert_string_equal(s->metric, "novascope_syscall_latency_seconds");
	assert_int_equal(s->stat, NS_STAT_QUANTILE);
	assert_true(fabs(s->q - 0.99) < 1e-12);
	assert_true(s->det.log_scale);
	assert_true(s->min_count == 50);
	assert_int_equal(s->nmatch, 1);
	assert_true(s->match[0].exclude);
	assert_string_equal(s->alertname, "NovascopeSyscallLatencyP99");
	s = find(d, n, "tcp_retransmit_rate");
	assert_int_equal(s->stat, NS_STAT_RATE);
	assert_false(s->det.log_scale);
	assert_true(s->det.min_spread_abs == 1);
	assert_true(s->min_count == 10);
	s = find(d, n, "block_device_latency_p99");
	assert_string_equal(s->match[0].label, "phase");
	assert_string_equal(s->by[0], "device");
	ns_signal_defs_free(d, n);
}

static void test_config_merge(void **state)
{
	static const char yaml[] =
		"anomaly:\n"
		"  instance: node-7\n"
		"  defaults: {z: 4, window: 120, min_count: 5}\n"
		"  signals:\n"
		"    - {name: syscall_latency_p99, min_count: 100, severity: critical}\n"
		"    - {name: tcp_rtt_p99, disabled: true}\n"
		"    - name: slow_reads\n"
		"      metric: novascope_syscall_latency_seconds\n"
		"      stat: p99.9\n"
		"      match: {syscall: [read, pread64]}\n"
		"      above: 500ms\n"
		"      for: 10s\n"
		"    - {name: io_mean, metric: novascope_block_io_latency_seconds, stat: mean, "
		"scale: linear, baseline: ewma, direction: both}\n";
	struct ns_config c;
	struct ns_signal_def *d, *s;
	char *err, inst[64];
	bool en;
	int n;

	(void)state;
	assert_int_equal(parse(&c, yaml, "--collect.interval=500ms", &err), 0);
	free(err);
	n = ns_anomaly_load_defs(&c, &d, stderr, inst, sizeof(inst), &en);
	assert_int_equal(n, 10);
	assert_string_equal(inst, "node-7");
	s = find(d, n, "syscall_latency_p99");
	assert_true(s->min_count == 100); /* the signal's own key beats defaults */
	assert_true(s->det.z == 4); /* defaults beat the detector's */
	assert_int_equal(s->det.window, 120);
	assert_string_equal(s->severity, "critical");
	assert_int_equal(s->nmatch, 1); /* the built-in exclude list is kept */
	s = find(d, n, "block_device_latency_p99");
	assert_true(s->min_count == 5); /* defaults beat the stat's default */
	assert_true(find(d, n, "tcp_rtt_p99")->disabled);
	s = find(d, n, "slow_reads");
	assert_true(s->det.threshold);
	assert_true(s->det.above == 0.5);
	assert_true(fabs(s->q - 0.999) < 1e-12);
	assert_int_equal(s->det.fire_after, 20); /* 10 s at 500 ms */
	assert_int_equal(s->match[0].nglobs, 2);
	assert_false(s->by_set);
	s = find(d, n, "io_mean");
	assert_int_equal(s->det.baseline, NS_BASELINE_EWMA);
	assert_false(s->det.log_scale);
	assert_int_equal(s->det.dir, NS_DIR_BOTH);
	ns_signal_defs_free(d, n);
	ns_config_free(&c);
}

/* Every bad definition stops start-up with a message naming the signal and what is wrong. */
static void test_config_errors(void **state)
{
	static const struct {
		const char *yaml, *want1, *want2;
	} cases[] = {
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p101}\n", "signal x",
		 "p101"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, abve: 1}\n",
		 "signal x", "unknown key \"abve\""},
		{"anomaly:\n  signals:\n    - {name: x, stat: p99}\n", "signal x",
		 "metric is required"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m}\n", "signal x",
		 "stat is required"},
		{"anomaly:\n  signals:\n    - {name: x, metric: 'bad name', stat: p99}\n",
		 "signal x", "not a metric name"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, z: -1}\n", "signal x",
		 "z must be"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, z: lots}\n",
		 "signal x", "not a number"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, window: 10, "
		 "warmup: 20}\n",
		 "signal x", "warmup"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, for: 10s}\n",
		 "signal x", "for: only applies"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, above: 1, below: "
		 "2}\n",
		 "signal x", "below must be less"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, by: [instance]}\n",
		 "signal x", "\"instance\""},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, match: [a]}\n",
		 "signal x", "match"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99, direction: "
		 "sideways}\n",
		 "signal x", "sideways"},
		{"anomaly:\n  signals:\n    - {name: x, metric: m, stat: p99}\n"
		 "    - {name: x, metric: m, stat: p50}\n",
		 "anomaly.signals[1]", "defined twice"},
		{"anomaly:\n  signals:\n    - {metric: m, stat: p99}\n", "anomaly.signals[0]",
		 "name"},
		{"anomaly:\n  signals:\n    - {name: 'a-b', metric: m, stat: p99}\n",
		 "anomaly.signals[0]", "a-b"},
		{"anomaly:\n  defaults: {metric: m}\n", "anomaly.defaults", "cannot be a default"},
		{"anomaly:\n  defaults: {fire_after: 0}\n", "syscall_latency_p99", "fire_after"},
		{"anomaly:\n  sigals: []\n", "anomaly", "unknown key \"sigals\""},
		{"anomaly: [1]\n", "anomaly", "want a mapping"},
		{"anomaly:\n  signals:\n    - {name: syscall_latency_p99, stat: mode}\n",
		 "syscall_latency_p99", "mode"},
		{"alertmanager.url: ftp://x\n", "--alertmanager.url", "ftp://x"},
		{"alertmanager.url: [http://]\n", "--alertmanager.url", "http://"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ns_config c;
		char *err;
		int ret = parse(&c, cases[i].yaml, NULL, &err);

		if (ret != -1 || !strstr(err, cases[i].want1) || !strstr(err, cases[i].want2))
			fail_msg("case %zu: ret %d, message \"%s\" lacks \"%s\" or \"%s\"", i, ret,
				 err, cases[i].want1, cases[i].want2);
		free(err);
		ns_config_free(&c);
	}
}

/* Repeated --alertmanager.url flags and a YAML list both make lists. */
static void test_url_list(void **state)
{
	struct ns_config c;
	char *err;

	(void)state;
	assert_int_equal(
		parse(&c, "alertmanager.url: [http://a:1, 'https://b:2/am']\n", NULL, &err), 0);
	free(err);
	assert_int_equal(c.alertmanager_urls.n, 2);
	assert_string_equal(c.alertmanager_urls.v[1], "https://b:2/am");
	ns_config_free(&c);
	assert_int_equal(parse(&c, "alertmanager.url: http://file:1\n",
			       "--alertmanager.url=http://flag:1", &err),
			 0);
	free(err);
	assert_int_equal(c.alertmanager_urls.n, 1); /* the command line wins */
	assert_string_equal(c.alertmanager_urls.v[0], "http://flag:1");
	ns_config_free(&c);
}

static const struct ns_family_desc lat_desc = {
	.name = "t_latency_seconds",
	.type = NS_HISTOGRAM,
	.labels = {"syscall", "cpu"},
	.min_slot = 8,
	.max_slot = 34,
	.scale = 1e-9,
};
static const struct ns_family_desc cnt_desc = {
	.name = "t_retrans_total",
	.type = NS_COUNTER,
	.labels = {"class"},
};
static const struct ns_family_desc gauge_desc = {
	.name = "t_active",
	.type = NS_GAUGE,
	.labels = {"vm"},
};

static unsigned long long rs = 1;

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

/* One interval of n latencies around median_ns into series (syscall, cpu). */
static void observe(struct ns_registry *r, const char *sc, const char *cpu, int n, double median_ns)
{
	struct ns_series *s = ns_series(ns_family(r, &lat_desc), NS_LV(sc, cpu));
	__u64 slots[NS_HIST_SLOTS] = {0};
	double sum = 0;

	for (int i = 0; i < n; i++) {
		__u64 v = (__u64)(median_ns * exp(0.4 * gauss()));

		slots[ns_log2_slot(v)]++;
		sum += (double)v;
	}
	ns_hist_add(s, slots, sum);
	ns_series_touch(r, s);
}

static struct ns_signal_def *defs_from(const char *yaml, int *n)
{
	struct ns_config c;
	struct ns_signal_def *d;
	char *err, inst[64];
	bool en;

	assert_int_equal(parse(&c, yaml, NULL, &err), 0);
	free(err);
	*n = ns_anomaly_load_defs(&c, &d, stderr, inst, sizeof(inst), &en);
	assert_true(*n > 0);
	ns_config_free(&c);
	return d;
}

static const char *expose(struct ns_anomaly *a)
{
	static char *last;
	struct strbuf sb;

	free(last);
	sb_init(&sb, 1024);
	ns_anomaly_expose(a, &sb);
	last = sb_take(&sb, NULL);
	return last;
}

/* A latency signal grouped by one label, with an exclusion: warms up, fires on a real
 * slowdown of one group only, shows in /metrics and /alerts, resolves. */
static void test_eval_latency(void **state)
{
	static const char yaml[] = "anomaly:\n  builtin_signals: false\n  signals:\n"
				   "    - {name: lat, metric: t_latency_seconds, stat: p99, "
				   "by: [syscall], exclude: {syscall: 'fut*'}, warmup: 10}\n";
	struct ns_registry *r = ns_registry_new(0);
	int n, i;
	struct ns_signal_def *d = defs_from(yaml, &n);
	struct ns_anomaly *a = ns_anomaly_new_defs(d, n, "host1", NULL);
	const struct ns_det *read, *write;
	struct json_object *j;
	char *doc;
	double t = 1e9;

	(void)state;
	for (i = 0; i < 60; i++, t++) {
		ns_registry_begin(r);
		observe(r, "read", "0", 500, 2000); /* two series of one group: summed */
		observe(r, "read", "1", 500, 2000);
		observe(r, "write", "0", 1000, 5000);
		observe(r, "futex", "0", 1000, 1e6 * (1 + (i % 2) * 100)); /* wild, but excluded */
		ns_anomaly_eval(a, r, 1.0, t);
	}
	read = ns_anomaly_group(a, "lat", NS_LV("read"));
	write = ns_anomaly_group(a, "lat", NS_LV("write"));
	assert_non_null(read);
	assert_non_null(write);
	assert_null(ns_anomaly_group(a, "lat", NS_LV("futex")));
	assert_true(read->scored && write->scored);
	assert_non_null(
		strstr(expose(a), "novascope_anomaly_score{signal=\"lat\",syscall=\"read\"} "));
	for (i = 0; i < 8; i++, t++) {
		ns_registry_begin(r);
		observe(r, "read", "0", 500, 2000);
		observe(r, "read", "1", 500, 40000); /* one CPU's reads got 20x slower */
		observe(r, "write", "0", 1000, 5000);
		ns_anomaly_eval(a, r, 1.0, t);
		assert_int_equal(read->state, i < 7 ? NS_DET_PENDING : NS_DET_FIRING);
		assert_int_equal(write->state, NS_DET_INACTIVE);
	}
	assert_true(read->score > 3);
	doc = ns_anomaly_alerts_json(a, NULL);
	j = json_tokener_parse(doc);
	assert_non_null(j);
	{
		struct json_object *al = json_object_object_get(j, "alerts"), *x;

		assert_int_equal(json_object_array_length(al), 1);
		x = json_object_array_get_idx(al, 0);
		assert_string_equal(json_object_get_string(json_object_object_get(x, "state")),
				    "firing");
		assert_string_equal(json_object_get_string(json_object_object_get(x, "alertname")),
				    "NovascopeLat");
		assert_string_equal(json_object_get_string(json_object_object_get(
					    json_object_object_get(x, "labels"), "syscall")),
				    "read");
	}
	json_object_put(j);
	free(doc);
	{
		struct ns_family *f = ns_family_find(r, "novascope_alerts_firing");

		assert_non_null(f);
		assert_true(ns_series(f, NS_LV("NovascopeLat"))->value == 1);
	}
	for (i = 0; i < 5; i++, t++) {
		ns_registry_begin(r);
		observe(r, "read", "0", 500, 2000);
		observe(r, "read", "1", 500, 2000);
		ns_anomaly_eval(a, r, 1.0, t);
	}
	assert_int_equal(read->state, NS_DET_INACTIVE);
	assert_true(ns_series(ns_family_find(r, "novascope_alerts_firing"), NS_LV("NovascopeLat"))
			    ->value == 0);
	ns_anomaly_free(a);
	ns_registry_free(r);
}

/* Too few events per interval: no value, whatever the latency. */
static void test_eval_min_count(void **state)
{
	static const char yaml[] = "anomaly:\n  builtin_signals: false\n  signals:\n"
				   "    - {name: lat, metric: t_latency_seconds, stat: p99, "
				   "by: [syscall], min_count: 100, warmup: 10}\n";
	struct ns_registry *r = ns_registry_new(0);
	int n;
	struct ns_signal_def *d = defs_from(yaml, &n);
	struct ns_anomaly *a = ns_anomaly_new_defs(d, n, "h", NULL);

	(void)state;
	for (int i = 0; i < 100; i++) {
		ns_registry_begin(r);
		observe(r, "read", "0", i < 50 ? 500 : 99, i < 50 ? 2000 : 2e9);
		ns_anomaly_eval(a, r, 1.0, 1e9 + i);
		assert_int_not_equal(ns_anomaly_group(a, "lat", NS_LV("read"))->state,
				     NS_DET_FIRING);
	}
	assert_false(ns_anomaly_group(a, "lat", NS_LV("read"))->scored);
	ns_anomaly_free(a);
	ns_registry_free(r);
}

/* A counter rate: steady, then a counter that went backwards (no rate that interval, no
 * alert), then a real jump fires. */
static void test_eval_rate_reset(void **state)
{
	static const char yaml[] =
		"anomaly:\n  builtin_signals: false\n  signals:\n"
		"    - {name: rt, metric: t_retrans_total, stat: rate, warmup: 10}\n";
	struct ns_registry *r = ns_registry_new(0);
	int n, i;
	struct ns_signal_def *d = defs_from(yaml, &n);
	struct ns_anomaly *a = ns_anomaly_new_defs(d, n, "h", NULL);
	const struct ns_det *g = NULL;

	(void)state;
	for (i = 0; i < 80; i++) {
		struct ns_series *s;

		ns_registry_begin(r);
		s = ns_series(ns_family(r, &cnt_desc), NS_LV("migration"));
		ns_counter_add(s, i == 40 ? -5000 : 20 + 4 * gauss());
		ns_series_touch(r, s);
		ns_anomaly_eval(a, r, 0.5, 1e9 + i); /* half-second intervals: rate = 2 x delta */
		g = ns_anomaly_group(a, "rt", NS_LV("migration"));
		assert_int_equal(g->state, NS_DET_INACTIVE);
		if (i == 40)
			assert_false(g->scored);
	}
	assert_true(fabs(g->center - 40) < 5);
	for (i = 0; i < 8; i++) {
		struct ns_series *s = ns_series(ns_family(r, &cnt_desc), NS_LV("migration"));

		ns_registry_begin(r);
		ns_counter_add(s, 400);
		ns_anomaly_eval(a, r, 0.5, 1e9 + 80 + i);
	}
	assert_int_equal(g->state, NS_DET_FIRING);
	assert_true(g->value == 800);
	ns_anomaly_free(a);
	ns_registry_free(r);
}

/* A family of the wrong type breaks only that signal, with a reason in /alerts; a family that
 * appears late is picked up by name; a gauge's value works. */
static void test_eval_families(void **state)
{
	static const char yaml[] =
		"anomaly:\n  builtin_signals: false\n  signals:\n"
		"    - {name: bad, metric: t_retrans_total, stat: p99}\n"
		"    - {name: nolabel, metric: t_active, stat: value, by: [host]}\n"
		"    - {name: late, metric: t_active, stat: value, above: 3, "
		"for: 2s}\n";
	struct ns_registry *r = ns_registry_new(0);
	int n;
	struct ns_signal_def *d = defs_from(yaml, &n);
	struct ns_anomaly *a = ns_anomaly_new_defs(d, n, "h", NULL);
	char *doc;

	(void)state;
	ns_registry_begin(r);
	ns_series_touch(r, ns_series(ns_family(r, &cnt_desc), NS_LV("x")));
	ns_anomaly_eval(a, r, 1, 1e9);
	doc = ns_anomaly_alerts_json(a, NULL);
	assert_non_null(strstr(doc, "\"state\":\"error\""));
	assert_non_null(strstr(doc, "t_retrans_total is a counter; stat p99 needs a histogram"));
	assert_non_null(strstr(doc, "\"state\":\"waiting for its metric\""));
	free(doc);
	for (int i = 0; i < 3; i++) {
		struct ns_series *s;

		ns_registry_begin(r);
		s = ns_series(ns_family(r, &gauge_desc), NS_LV("vm1"));
		ns_gauge_set(s, 5);
		ns_anomaly_eval(a, r, 1, 1e9 + i);
	}
	assert_int_equal(ns_anomaly_group(a, "late", NS_LV("vm1"))->state, NS_DET_FIRING);
	doc = ns_anomaly_alerts_json(a, NULL);
	assert_non_null(strstr(doc, "t_active has no label \\\"host\\\" (by)"));
	free(doc);
	/* Threshold signals do not have an anomaly score. */
	assert_null(strstr(expose(a), "signal=\"late\""));
	ns_anomaly_free(a);
	ns_registry_free(r);
}

/* Beyond max_groups, new label sets are ignored (counted once in the log), not tracked. */
static void test_eval_max_groups(void **state)
{
	static const char yaml[] =
		"anomaly:\n  builtin_signals: false\n  signals:\n"
		"    - {name: g, metric: t_active, stat: value, max_groups: 3}\n";
	struct ns_registry *r = ns_registry_new(0);
	int n, tracked = 0;
	struct ns_signal_def *d = defs_from(yaml, &n);
	struct ns_anomaly *a = ns_anomaly_new_defs(d, n, "h", NULL);
	char name[16];

	(void)state;
	ns_registry_begin(r);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		ns_gauge_set(ns_series(ns_family(r, &gauge_desc), NS_LV(name)), 1);
	}
	ns_anomaly_eval(a, r, 1, 1e9);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		tracked += ns_anomaly_group(a, "g", NS_LV(name)) != NULL;
	}
	assert_int_equal(tracked, 3);
	ns_anomaly_free(a);
	ns_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),	cmocka_unit_test(test_config_merge),
		cmocka_unit_test(test_config_errors),	cmocka_unit_test(test_url_list),
		cmocka_unit_test(test_eval_latency),	cmocka_unit_test(test_eval_min_count),
		cmocka_unit_test(test_eval_rate_reset), cmocka_unit_test(test_eval_families),
		cmocka_unit_test(test_eval_max_groups),
	};

	return cmocka_run_group_tests_name("anomaly signals", tests, NULL, NULL);
}
