// SPDX-License-Identifier: GPL-2.0
/* Flag and config-file parsing: good values, and bad values each with a clear message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static char errbuf[4096];

/* Parse argv (NULL-terminated list) and return ns_config_parse's result; errors in errbuf. */
static int parse(struct ns_config *c, ...)
{
	char *argv[32] = { "novascope" };
	int argc = 1, ret;
	va_list ap;
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");

	va_start(ap, c);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	memset(errbuf, 0, sizeof(errbuf));
	ret = ns_config_parse(c, argc, argv, err);
	fclose(err);
	return ret;
}

static void test_defaults(void **state)
{
	struct ns_config c;

	(void)state;
	assert_int_equal(parse(&c, NULL), 0);
	assert_string_equal(c.listen_address, ":9469");
	assert_string_equal(c.telemetry_path, "/metrics");
	assert_int_equal(c.interval_ns, 1000000000ULL);
	assert_null(c.probes);
	assert_false(c.bpf_stats);
	ns_config_free(&c);
}

static void test_forms(void **state)
{
	struct ns_config c;

	(void)state;
	assert_int_equal(parse(&c, "--collect.interval=250ms", "--web.listen-address", "127.0.0.1:1",
			       "--collect.bpf-stats", "--probes=syscall", "report", "syscall",
			       "--top", "3", NULL),
			 0);
	assert_int_equal(c.interval_ns, 250000000ULL);
	assert_string_equal(c.listen_address, "127.0.0.1:1");
	assert_true(c.bpf_stats);
	assert_string_equal(c.probes, "syscall");
	assert_string_equal(c.command, "report");
	assert_int_equal(c.nargs, 1);
	assert_string_equal(c.args[0], "syscall");
	assert_int_equal(c.report_top, 3);
	ns_config_free(&c);
	assert_int_equal(parse(&c, "--no-collect.bpf-stats", "--collect.interval=1m30s", NULL), 0);
	assert_false(c.bpf_stats);
	assert_int_equal(c.interval_ns, 90000000000ULL);
	ns_config_free(&c);
}

/* Each bad value fails, and the message names the flag and the value. */
static void test_bad_values(void **state)
{
	static const char *const bad[][3] = {
		{ "--collect.interval=abc", "--collect.interval", "abc" },
		{ "--collect.interval=10ms", "--collect.interval", "10ms" },
		{ "--collect.interval=2h", "--collect.interval", "1h" },
		{ "--collect.interval=-1s", "--collect.interval", "-1s" },
		{ "--web.listen-address=nope", "--web.listen-address", "nope" },
		{ "--web.listen-address=:70000", "--web.listen-address", ":70000" },
		{ "--web.listen-address=:0", "--web.listen-address", ":0" },
		{ "--web.telemetry-path=metrics", "--web.telemetry-path", "metrics" },
		{ "--web.telemetry-path=/health", "--web.telemetry-path", "/health" },
		{ "--log.level=loud", "--log.level", "loud" },
		{ "--log.format=xml", "--log.format", "xml" },
		{ "--collect.bpf-stats=maybe", "collect.bpf-stats", "maybe" },
		{ "--metrics.max-series=1", "--metrics.max-series", "1" },
		{ "--metrics.max-series=ten", "metrics.max-series", "ten" },
		{ "--nonsense", "--nonsense", "unknown flag" },
		{ "-x", "-x", "unknown flag" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ns_config c;

		assert_int_equal(parse(&c, bad[i][0], NULL), -1);
		if (!strstr(errbuf, bad[i][1]) || !strstr(errbuf, bad[i][2]))
			fail_msg("message for %s does not name it: %s", bad[i][0], errbuf);
		ns_config_free(&c);
	}
}

static void test_missing_value(void **state)
{
	struct ns_config c;

	(void)state;
	assert_int_equal(parse(&c, "--collect.interval", NULL), -1);
	assert_non_null(strstr(errbuf, "needs a value"));
	ns_config_free(&c);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/ns-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_config_file(void **state)
{
	struct ns_config c;
	char arg[128];
	char *p = write_tmp("collect.interval: 2s\nweb.listen-address: \"127.0.0.1:9999\"\n");

	(void)state;
	snprintf(arg, sizeof(arg), "--config.file=%s", p);
	/* The flag wins over the file; the file sets what the flags leave alone. */
	assert_int_equal(parse(&c, arg, "--collect.interval=3s", NULL), 0);
	assert_int_equal(c.interval_ns, 3000000000ULL);
	assert_string_equal(c.listen_address, "127.0.0.1:9999");
	ns_config_free(&c);
	unlink(p);
}

static void test_config_file_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "no.such.key: 1\n", "no.such.key" },
		{ "collect.interval: soon\n", "soon" },
		{ "collect.interval: [1, 2]\n", "collect.interval" },
		{ "- a\n- b\n", "mapping" },
		{ "a: [unclosed\n", "YAML error" },
	};
	struct ns_config c;
	char arg[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p = write_tmp(bad[i][0]);

		snprintf(arg, sizeof(arg), "--config.file=%s", p);
		assert_int_equal(parse(&c, arg, NULL), -1);
		if (!strstr(errbuf, bad[i][1]))
			fail_msg("config %s: message does not name %s: %s", bad[i][0], bad[i][1], errbuf);
		ns_config_free(&c);
		unlink(p);
	}
	assert_int_equal(parse(&c, "--config.file=/nonexistent/x.yml", NULL), -1);
	assert_non_null(strstr(errbuf, "/nonexistent/x.yml"));
	ns_config_free(&c);
}

static void test_durations(void **state)
{
	uint64_t ns;

	(void)state;
	assert_int_equal(ns_parse_duration("1.5s", &ns), 0);
	assert_int_equal(ns, 1500000000ULL);
	assert_int_equal(ns_parse_duration("100us", &ns), 0);
	assert_int_equal(ns, 100000ULL);
	assert_int_equal(ns_parse_duration("1h2m", &ns), 0);
	assert_int_equal(ns, 3720000000000ULL);
	assert_int_equal(ns_parse_duration("", &ns), -1);
	assert_int_equal(ns_parse_duration("5", &ns), -1);
	assert_int_equal(ns_parse_duration("5 s", &ns), -1);
	assert_int_equal(ns_parse_duration("s", &ns), -1);
	assert_int_equal(ns_parse_duration("99999999999999h", &ns), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	   cmocka_unit_test(test_forms),
		cmocka_unit_test(test_bad_values),	   cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_config_file),	   cmocka_unit_test(test_config_file_errors),
		cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
