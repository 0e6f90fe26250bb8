// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_counters: the sysfs reader against tests/fixtures/rdma (an mlx5 RoCE port and an mlx5
 * InfiniBand port, files as drivers/infiniband/core/sysfs.c writes them), copied to a
 * temporary directory so each test can change counters the way a NIC or a reset would.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "log.h"
#include "metrics.h"
#include "probes/rdma.h"

#define FIXTURE "tests/fixtures/rdma"
#define P0 "mlx5_0/ports/1"
#define P1 "mlx5_1/ports/1"

struct ctx {
	char dir[64], log[80];
	struct ns_rdma_sysfs *st;
	struct ns_registry *r;
	int saved_stderr;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char cmd[256];
	int fd;

	snprintf(c->dir, sizeof(c->dir), "/tmp/ns-rdma-unit.XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/", getenv("NS_RDMA_FIXTURE") ?: FIXTURE, c->dir);
	if (system(cmd))
		return -1;
	/* Log lines go to stderr: send them to a file the tests read. */
	snprintf(c->log, sizeof(c->log), "%s.log", c->dir);
	fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	c->saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	c->st = ns_rdma_sysfs_new(c->dir);
	c->r = ns_registry_new(0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[256];

	dup2(c->saved_stderr, 2);
	close(c->saved_stderr);
	ns_rdma_sysfs_free(c->st);
	ns_registry_free(c->r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", c->dir, c->log);
	if (system(cmd))
		return -1;
	free(c);
	return 0;
}

static void collect(struct ctx *c)
{
	ns_registry_begin(c->r);
	ns_rdma_sysfs_collect(c->st, c->r);
	ns_registry_sweep(c->r);
}

/* Value of the series of family name whose labels are exactly the given ones; -1 if absent. */
static double value(struct ctx *c, const char *name, int n, ...)
{
	const struct ns_family *f = ns_family_find(c->r, name);
	const char *want[6];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		want[i] = va_arg(ap, const char *);
	va_end(ap);
	if (!f)
		return -1;
	for (size_t i = 0; i < f->nseries; i++) {
		int k;

		for (k = 0; k < n && !strcmp(f->series[i]->values[k], want[k]); k++)
			;
		if (k == n)
			return f->series[i]->value;
	}
	return -1;
}

static void put(struct ctx *c, const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* How many log lines mention needle. */
static int log_lines(struct ctx *c, const char *needle)
{
	char line[1024];
	int n = 0;
	FILE *f;

	fflush(stderr);
	f = fopen(c->log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

#define BYTES "novascope_rdma_port_bytes_total"
#define PKTS "novascope_rdma_port_packets_total"
#define ERRS "novascope_rdma_port_errors_total"
#define HW "novascope_rdma_hw_counter_total"
#define INFO "novascope_rdma_port_info"
#define SYSERR "novascope_rdma_sysfs_errors_total"

static void test_exact_values(void **state)
{
	struct ctx *c = *state;

	collect(c);
	/* port_xmit_data and port_rcv_data count 4-byte words. */
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == 9182736455123.0 * 4);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "rx") == 8811223344556.0 * 4);
	assert_true(value(c, BYTES, 3, "mlx5_1", "1", "tx") == 4400123456789.0 * 4);
	assert_true(value(c, PKTS, 3, "mlx5_0", "1", "tx") == 12893470021.0);
	assert_true(value(c, PKTS, 3, "mlx5_1", "1", "rx") == 3111000456.0);
	assert_true(value(c, ERRS, 3, "mlx5_0", "1", "port_xmit_discards") == 17);
	assert_true(value(c, ERRS, 3, "mlx5_1", "1", "symbol_error") == 14);
	assert_true(value(c, ERRS, 3, "mlx5_1", "1", "VL15_dropped") == 0);
	assert_true(value(c, "novascope_rdma_port_xmit_wait_total", 2, "mlx5_1", "1") == 918273);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "np_cnp_sent") == 982341);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "rp_cnp_handled") == 977120);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "roce_adp_retrans") == 3318);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "out_of_sequence") == 5721);
	assert_true(value(c, HW, 3, "mlx5_1", "1", "rx_write_requests") == 77812345);
	/* Device-wide hw_counters have no port. */
	assert_true(value(c, HW, 3, "mlx5_0", "", "rx_write_requests") == 918273645);
	/* lifespan is a setting; unicast/multicast packets are subsets of the packets. */
	assert_true(value(c, HW, 3, "mlx5_0", "1", "lifespan") == -1);
	assert_true(value(c, ERRS, 3, "mlx5_0", "1", "unicast_xmit_packets") == -1);
	assert_true(value(c, INFO, 6, "mlx5_0", "1", "ACTIVE", "100 Gb/sec (4X EDR)", "ens1f0np0",
			  "Ethernet") == 1);
	assert_true(value(c, INFO, 6, "mlx5_1", "1", "ACTIVE", "200 Gb/sec (4X HDR)", "",
			  "InfiniBand") == 1);
	assert_int_equal(ns_family_find(c->r, INFO)->nseries, 2);
	/* A clean tree reports nothing. */
	assert_null(ns_family_find(c->r, SYSERR));
	assert_int_equal(log_lines(c, "rdma sysfs"), 0);
}

static void test_deltas_and_reset(void **state)
{
	struct ctx *c = *state;

	collect(c);
	put(c, P0 "/counters/port_xmit_data", "9182736455223\n"); /* +100 words */
	put(c, P0 "/hw_counters/np_cnp_sent", "982400\n");
	collect(c);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == 9182736455223.0 * 4);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "np_cnp_sent") == 982400);
	/* Device reset: counters restart from zero and have counted a little since. */
	put(c, P0 "/counters/port_xmit_data", "250\n");
	put(c, P0 "/hw_counters/np_cnp_sent", "7\n");
	collect(c);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == (9182736455223.0 + 250) * 4);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "np_cnp_sent") == 982400 + 7);
	/* And counting on from the new base. */
	put(c, P0 "/counters/port_xmit_data", "300\n");
	put(c, P0 "/hw_counters/np_cnp_sent", "7\n");
	collect(c);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == (9182736455223.0 + 300) * 4);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "np_cnp_sent") == 982407);
	/* The last interval's delta (what rate() sees) is never negative. */
	const struct ns_family *f = ns_family_find(c->r, HW);
	for (size_t i = 0; i < f->nseries; i++)
		assert_true(f->series[i]->d_value >= 0);
}

static void test_missing_and_unreadable(void **state)
{
	struct ctx *c = *state;
	char path[256];

	collect(c);
	snprintf(path, sizeof(path), "%s/" P1 "/counters/port_rcv_packets", c->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/" P1 "/hw_counters/rx_read_requests", c->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/" P1 "/hw_counters/local_ack_timeout_err", c->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0); /* reads fail with EISDIR */
	snprintf(path, sizeof(path), "%s/" P0 "/rate", c->dir);
	assert_int_equal(unlink(path), 0);
	/* More collections than a series of a vanished device would survive. */
	for (int i = 0; i < 8; i++)
		collect(c);
	/* Reported once each, counted every interval, the series keep their last value. */
	assert_int_equal(log_lines(c, "port_rcv_packets"), 1);
	assert_int_equal(log_lines(c, "rx_read_requests"), 1);
	assert_int_equal(log_lines(c, "local_ack_timeout_err"), 1);
	assert_int_equal(log_lines(c, P0 "/rate"), 1);
	assert_true(value(c, SYSERR, 2, "mlx5_1", "missing") == 16);
	assert_true(value(c, SYSERR, 2, "mlx5_1", "unreadable") == 8);
	assert_true(value(c, SYSERR, 2, "mlx5_0", "missing") == 8);
	assert_true(value(c, PKTS, 3, "mlx5_1", "1", "rx") == 3111000456.0);
	assert_true(value(c, HW, 3, "mlx5_1", "1", "rx_read_requests") == 1200334);
	assert_true(value(c, HW, 3, "mlx5_1", "1", "local_ack_timeout_err") == 3);
	assert_true(value(c, INFO, 6, "mlx5_0", "1", "ACTIVE", "unknown", "ens1f0np0",
			  "Ethernet") == 1);
	/* Everything else still counts. */
	put(c, P1 "/counters/port_xmit_packets", "3105558912\n");
	collect(c);
	assert_true(value(c, PKTS, 3, "mlx5_1", "1", "tx") == 3105558912.0);
	/* The file comes back: counting resumes from the last good value. */
	put(c, P1 "/counters/port_rcv_packets", "3111000556\n");
	collect(c);
	assert_true(value(c, PKTS, 3, "mlx5_1", "1", "rx") == 3111000556.0);
	assert_int_equal(log_lines(c, "readable again"), 1);
}

/* A PMA counter the kernel always has, absent from the start. */
static void test_expected_file_absent(void **state)
{
	struct ctx *c = *state;
	char path[256];

	snprintf(path, sizeof(path), "%s/" P0 "/counters/port_xmit_data", c->dir);
	assert_int_equal(unlink(path), 0);
	collect(c);
	collect(c);
	assert_int_equal(log_lines(c, P0 "/counters/port_xmit_data"), 1);
	assert_true(value(c, SYSERR, 2, "mlx5_0", "missing") == 2);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == -1);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "rx") == 8811223344556.0 * 4);
}

/* The helper table the reader keeps its state in: many keys, growth, lookups. */
static void test_kv(void **state)
{
	struct ns_kv t;
	char key[24];

	(void)state;
	ns_kv_init(&t, sizeof(key), sizeof(uint64_t));
	for (int i = 0; i < 5000; i++) {
		memset(key, 0, sizeof(key));
		snprintf(key, sizeof(key), "k%d", i);
		*(uint64_t *)ns_kv_get(&t, key, true) = (uint64_t)i * 3;
	}
	assert_int_equal(t.n, 5000);
	for (int i = 0; i < 5000; i++) {
		memset(key, 0, sizeof(key));
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(*(uint64_t *)ns_kv_get(&t, key, false) == (uint64_t)i * 3);
	}
	memset(key, 0, sizeof(key));
	snprintf(key, sizeof(key), "absent");
	assert_null(ns_kv_get(&t, key, false));
	ns_kv_free(&t);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = { "N/A (no PMA)\n", "12abc\n", "-5\n", "\n", "",
					   "0x10\n", " 42\n", "18446744073709551616\n",
					   "1\n2\n" };
	struct ctx *c = *state;
	char big[200];

	collect(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(c, P0 "/hw_counters/roce_adp_retrans", bad[i]);
		collect(c);
		assert_true(value(c, HW, 3, "mlx5_0", "1", "roce_adp_retrans") == 3318);
	}
	memset(big, '7', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = 0;
	put(c, P0 "/hw_counters/roce_adp_retrans", big);
	collect(c);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "roce_adp_retrans") == 3318);
	/* One log line while the file stays bad, each rejected read counted. */
	assert_int_equal(log_lines(c, "roce_adp_retrans"), 1);
	assert_int_equal(log_lines(c, "not a counter value"), 1);
	assert_true(value(c, SYSERR, 2, "mlx5_0", "garbage") == 10);
	/* A good value again: the delta is taken from the last good read, not the garbage. */
	put(c, P0 "/hw_counters/roce_adp_retrans", "3320\n");
	collect(c);
	assert_true(value(c, HW, 3, "mlx5_0", "1", "roce_adp_retrans") == 3320);
	/* Garbage in a label file (control characters) becomes "unknown", not a broken label. */
	put(c, P1 "/state", "\x01\x02" "ACTIVE\n");
	collect(c);
	assert_true(value(c, INFO, 6, "mlx5_1", "1", "unknown", "200 Gb/sec (4X HDR)", "",
			  "InfiniBand") == 1);
}

static void test_hostile_tree(void **state)
{
	struct ctx *c = *state;
	char path[256];

	/* A FIFO where a counter should be must not block the collection. */
	snprintf(path, sizeof(path), "%s/" P0 "/hw_counters/rx_read_requests", c->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* A symlink loop, a device without ports, a junk file at the top. */
	snprintf(path, sizeof(path), "%s/loop", c->dir);
	assert_int_equal(symlink("loop", path), 0);
	snprintf(path, sizeof(path), "%s/rxe0", c->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(c, "README", "not a device\n");
	collect(c);
	assert_true(value(c, SYSERR, 2, "mlx5_0", "unreadable") == 1);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == 9182736455123.0 * 4);
}

static void test_state_change_and_removal(void **state)
{
	struct ctx *c = *state;
	char cmd[256];

	collect(c);
	put(c, P0 "/state", "1: DOWN\n");
	collect(c);
	/* The old label set drops to 0 for one interval, then goes away. */
	assert_true(value(c, INFO, 6, "mlx5_0", "1", "DOWN", "100 Gb/sec (4X EDR)", "ens1f0np0",
			  "Ethernet") == 1);
	assert_true(value(c, INFO, 6, "mlx5_0", "1", "ACTIVE", "100 Gb/sec (4X EDR)", "ens1f0np0",
			  "Ethernet") == 0);
	collect(c);
	assert_true(value(c, INFO, 6, "mlx5_0", "1", "ACTIVE", "100 Gb/sec (4X EDR)", "ens1f0np0",
			  "Ethernet") == -1);
	/* The device goes away (driver unbound): no crash; its series expire. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/mlx5_1", c->dir);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < 8; i++)
		collect(c);
	assert_true(value(c, BYTES, 3, "mlx5_1", "1", "tx") == -1);
	assert_true(value(c, BYTES, 3, "mlx5_0", "1", "tx") == 9182736455123.0 * 4);
}

static void test_no_devices(void **state)
{
	struct ctx *c = *state;
	struct ns_rdma_sysfs *st = ns_rdma_sysfs_new("/nonexistent/infiniband");

	ns_registry_begin(c->r);
	ns_rdma_sysfs_collect(st, c->r);
	ns_rdma_sysfs_free(st);
	assert_int_equal(c->r->nfams, 0);
	assert_int_equal(log_lines(c, "rdma"), 0);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(ns_rdma_parse_u64("0\n", 2, &v), 0);
	assert_true(v == 0);
	assert_int_equal(ns_rdma_parse_u64("18446744073709551615\n", 21, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(ns_rdma_parse_u64("42", 2, &v), 0);
	assert_true(v == 42);
	assert_int_equal(ns_rdma_parse_u64("18446744073709551616", 20, &v), -1);
	assert_int_equal(ns_rdma_parse_u64("", 0, &v), -1);
	assert_int_equal(ns_rdma_parse_u64("4\n\n", 3, &v), -1);
	assert_int_equal(ns_rdma_parse_u64("N/A (no PMA)\n", 13, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deltas_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_file_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_change_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_devices, setup, teardown),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_kv),
	};

	ns_log_set_level("info");
	return cmocka_run_group_tests_name("rdma_counters", tests, NULL, NULL);
}
