// SPDX-License-Identifier: GPL-2.0
/* Exposition: escaping, log2 slots -> cumulative le buckets, sum/count/+Inf, gzip round trip. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include "expose.h"
#include "metrics.h"

static const struct ns_family_desc lat = {
	.name = "t_latency_seconds",
	.help = "Help with \\ backslash\nand newline",
	.type = NS_HISTOGRAM,
	.labels = { "name" },
	.min_slot = 9,
	.max_slot = 12,
	.scale = 1e-9,
};

static const struct ns_family_desc cnt = {
	.name = "t_total",
	.help = "c",
	.type = NS_COUNTER,
	.labels = { "a", "b" },
};

static char *render(struct ns_registry *r)
{
	struct strbuf sb;

	sb_init(&sb, 1024);
	ns_expose_text(r, &sb);
	return sb_take(&sb, NULL);
}

static void test_label_escaping(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_family *f = ns_family(r, &cnt);
	char *out;

	(void)state;
	ns_counter_add(ns_series(f, NS_LV("q\"uote", "back\\slash\nnl")), 3);
	ns_counter_add(ns_series(f, NS_LV("bad\xff\xfe utf8", "{}=,")), 1);
	out = render(r);
	assert_non_null(strstr(out, "t_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 3\n"));
	/* Invalid bytes become U+FFFD; braces, '=' and ',' need no escaping inside quotes. */
	assert_non_null(strstr(out, "t_total{a=\"bad\xef\xbf\xbd\xef\xbf\xbd utf8\",b=\"{}=,\"} 1\n"));
	free(out);
	ns_registry_free(r);
}

static void test_help_escaping(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	char *out;

	(void)state;
	ns_series(ns_family(r, &lat), NS_LV("x"));
	out = render(r);
	/* HELP escapes backslash and newline but not quotes. */
	assert_non_null(strstr(out, "# HELP t_latency_seconds Help with \\\\ backslash\\nand newline\n"));
	assert_non_null(strstr(out, "# TYPE t_latency_seconds histogram\n"));
	free(out);
	ns_registry_free(r);
}

static void test_buckets(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_series *s = ns_series(ns_family(r, &lat), NS_LV("x"));
	__u64 slots[NS_HIST_SLOTS] = { 0 };
	char *out;

	(void)state;
	slots[0] = 1;  /* 0..1 ns: folds into the first exported bucket */
	slots[9] = 2;  /* 512..1023 ns -> le 1.024e-06 */
	slots[11] = 3; /* 2048..4095 ns -> le 4.096e-06 */
	slots[20] = 4; /* ~1ms: beyond max_slot, only in +Inf */
	ns_hist_add(s, slots, 12345.0);
	out = render(r);
	assert_non_null(strstr(out, "t_latency_seconds_bucket{name=\"x\",le=\"1.024e-06\"} 3\n"));
	assert_non_null(strstr(out, "t_latency_seconds_bucket{name=\"x\",le=\"2.048e-06\"} 3\n"));
	assert_non_null(strstr(out, "t_latency_seconds_bucket{name=\"x\",le=\"4.096e-06\"} 6\n"));
	assert_non_null(strstr(out, "t_latency_seconds_bucket{name=\"x\",le=\"8.192e-06\"} 6\n"));
	assert_non_null(strstr(out, "t_latency_seconds_bucket{name=\"x\",le=\"+Inf\"} 10\n"));
	assert_non_null(strstr(out, "t_latency_seconds_count{name=\"x\"} 10\n"));
	assert_non_null(strstr(out, "t_latency_seconds_sum{name=\"x\"} 1.2345e-05\n"));
	free(out);
	ns_registry_free(r);
}

/* Every bucket is cumulative, +Inf equals _count, whatever the slots hold. */
static void test_bucket_consistency(void **state)
{
	struct ns_registry *r = ns_registry_new(0);
	struct ns_series *s = ns_series(ns_family(r, &lat), NS_LV("y"));
	__u64 slots[NS_HIST_SLOTS];
	char *out, *p;
	double prev = -1, inf = -1, count = -2;

	(void)state;
	srand(7);
	for (int i = 0; i < NS_HIST_SLOTS; i++)
		slots[i] = (__u64)(rand() % 1000);
	ns_hist_add(s, slots, 1);
	out = render(r);
	for (p = strtok(out, "\n"); p; p = strtok(NULL, "\n")) {
		const char *v = strrchr(p, ' ') + 1;

		if (strstr(p, "_bucket") && !strstr(p, "+Inf")) {
			assert_true(atof(v) >= prev);
			prev = atof(v);
		} else if (strstr(p, "+Inf")) {
			inf = atof(v);
		} else if (strstr(p, "_count")) {
			count = atof(v);
		}
	}
	assert_true(inf >= prev);
	assert_true(inf == count);
	assert_true(count == (double)ns_hist_count(slots));
	free(out);
	ns_registry_free(r);
}

static void test_values(void **state)
{
	char b[64];

	(void)state;
	ns_format_value(b, sizeof(b), 42);
	assert_string_equal(b, "42");
	ns_format_value(b, sizeof(b), INFINITY);
	assert_string_equal(b, "+Inf");
	ns_format_value(b, sizeof(b), -INFINITY);
	assert_string_equal(b, "-Inf");
	ns_format_value(b, sizeof(b), NAN);
	assert_string_equal(b, "NaN");
	ns_format_value(b, sizeof(b), 0.5);
	assert_string_equal(b, "0.5");
}

static void test_gzip_roundtrip(void **state)
{
	struct strbuf sb;
	char *gz, *back;
	size_t gzlen, len;
	uLongf backlen;
	z_stream z = { 0 };

	(void)state;
	sb_init(&sb, 0);
	for (int i = 0; i < 5000; i++)
		sb_printf(&sb, "metric_%d{label=\"v\"} %d\n", i % 50, i);
	len = sb.len;
	gz = ns_gzip(sb.buf, len, &gzlen);
	assert_non_null(gz);
	assert_true(gzlen < len / 4);
	assert_int_equal((unsigned char)gz[0], 0x1f); /* gzip magic */
	assert_int_equal((unsigned char)gz[1], 0x8b);
	back = malloc(len + 1);
	backlen = len + 1;
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = (Bytef *)back;
	z.avail_out = (uInt)backlen;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, len);
	assert_memory_equal(back, sb.buf, len);
	inflateEnd(&z);
	free(back);
	free(gz);
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escaping),	 cmocka_unit_test(test_help_escaping),
		cmocka_unit_test(test_buckets),		 cmocka_unit_test(test_bucket_consistency),
		cmocka_unit_test(test_values),		 cmocka_unit_test(test_gzip_roundtrip),
	};

	return cmocka_run_group_tests_name("expose", tests, NULL, NULL);
}
