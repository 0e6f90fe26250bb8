// SPDX-License-Identifier: GPL-2.0
/* Block probe naming: REQ_OP -> op label, dev_t encoding, uevent parsing, the name cache
 * (miss, hot-add, removal, reuse after the time to live) over a scratch sysfs tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "metrics.h"
#include "probes/block_dev.h"
#include "novascope/block.h"

static void test_op_names(void **state)
{
	(void)state;
	assert_string_equal(ns_block_op_name(0), "read");
	assert_string_equal(ns_block_op_name(1), "write");
	assert_string_equal(ns_block_op_name(2), "flush");
	assert_string_equal(ns_block_op_name(3), "discard");
	assert_string_equal(ns_block_op_name(5), "discard"); /* secure erase */
	assert_string_equal(ns_block_op_name(9), "other"); /* write zeroes */
	assert_string_equal(ns_block_op_name(17), "other"); /* zone reset */
	assert_string_equal(ns_block_op_name(34), "other"); /* driver passthrough */
	assert_string_equal(ns_block_op_name(4), "other"); /* unused number */
	/* Only the op bits count: cmd_flags' REQ_SYNC, REQ_FUA, ... sit above them. */
	assert_string_equal(ns_block_op_name(1 | (1U << 11) | (1U << 17)), "write");
	assert_string_equal(ns_block_op_name(0x100), "read");
}

static void test_dev_encoding(void **state)
{
	__u32 d = NS_BLOCK_MKDEV(259, 65536 + 3);

	(void)state;
	/* The tracepoints' dev field: major << 20 | minor. */
	assert_int_equal(NS_BLOCK_MKDEV(7, 3), (7U << 20) | 3);
	assert_int_equal(NS_BLOCK_MAJOR(d), 259);
	assert_int_equal(NS_BLOCK_MINOR(d), 65539);
	assert_int_equal(NS_BLOCK_MAJOR(NS_BLOCK_MKDEV(253, 0)), 253);
}

static void test_uevent(void **state)
{
	char name[NS_BLKDEV_NAME_LEN];

	(void)state;
	assert_int_equal(ns_block_parse_uevent("MAJOR=7\nMINOR=3\nDEVNAME=loop3\nDEVTYPE=disk\n",
					       name, sizeof(name)),
			 0);
	assert_string_equal(name, "loop3");
	assert_int_equal(ns_block_parse_uevent("DEVNAME=nvme0n1", name, sizeof(name)), 0);
	assert_string_equal(name, "nvme0n1");
	assert_int_equal(ns_block_parse_uevent("MAJOR=7\nMINOR=3\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("DEVNAME=\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("XDEVNAME=vda\n", name, sizeof(name)), -1);
	/* Hostile or broken names are refused, not passed on as labels. */
	assert_int_equal(ns_block_parse_uevent("DEVNAME=a\"b\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("DEVNAME=a b\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("DEVNAME=a\tb\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("DEVNAME=..\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("DEVNAME=\xc3\xa9\n", name, sizeof(name)), -1);
	assert_int_equal(ns_block_parse_uevent("DEVNAME=0123456789012345678901234567890123\n", name,
					       sizeof(name)),
			 -1);
	/* Too long for the caller's buffer. */
	assert_int_equal(ns_block_parse_uevent("DEVNAME=loop12\n", name, 4), -1);
}

static char root[64];

static void put_dev(const char *majmin, const char *uevent)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev/block/%s", root, majmin);
	mkdir(path, 0755);
	strcat(path, "/uevent");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(uevent, f);
	fclose(f);
}

static void rm_dev(const char *majmin)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/dev/block/%s/uevent", root, majmin);
	unlink(path);
	snprintf(path, sizeof(path), "%s/dev/block/%s", root, majmin);
	rmdir(path);
}

static int setup_root(void **state)
{
	char path[128];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/ns-test-blkdev.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/dev", root);
	mkdir(path, 0755);
	strcat(path, "/block");
	return mkdir(path, 0755);
}

static int teardown_root(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void test_name_cache(void **state)
{
	struct ns_blkdev_cache *c = ns_blkdev_cache_new(root, 1000);
	__u32 loop3 = NS_BLOCK_MKDEV(7, 3), vda = NS_BLOCK_MKDEV(253, 0);
	bool gone;

	(void)state;
	put_dev("253:0", "MAJOR=253\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n");
	assert_string_equal(ns_blkdev_name(c, vda, 0, &gone), "vda");
	assert_false(gone);
	/* Not there yet: "MAJ:MIN", marked gone. */
	assert_string_equal(ns_blkdev_name(c, loop3, 10, &gone), "7:3");
	assert_true(gone);
	/* Hot-add: the next lookup (a miss, since the last one found nothing) reads sysfs. */
	put_dev("7:3", "MAJOR=7\nMINOR=3\nDEVNAME=loop3\n");
	assert_string_equal(ns_blkdev_name(c, loop3, 20, &gone), "loop3");
	assert_false(gone);
	/* Removed: a hit within the TTL does not notice; after it, the last name, marked gone. */
	rm_dev("7:3");
	assert_string_equal(ns_blkdev_name(c, loop3, 500, &gone), "loop3");
	assert_false(gone);
	assert_string_equal(ns_blkdev_name(c, loop3, 1500, &gone), "loop3");
	assert_true(gone);
	/* The major:minor reused by another device: the TTL re-read picks up its name. */
	put_dev("7:3", "MAJOR=7\nMINOR=3\nDEVNAME=loop3x\n");
	assert_string_equal(ns_blkdev_name(c, loop3, 1600, &gone), "loop3x");
	assert_false(gone);
	/* Forget: the next lookup starts from scratch. */
	ns_blkdev_forget(c, loop3);
	rm_dev("7:3");
	assert_string_equal(ns_blkdev_name(c, loop3, 1700, &gone), "7:3");
	assert_true(gone);
	assert_string_equal(ns_blkdev_name(c, vda, 1700, &gone), "vda");
	ns_blkdev_cache_free(c);
}

/* No DEVNAME in uevent: the kernel name is the last component of the sysfs link. */
static void test_name_from_link(void **state)
{
	struct ns_blkdev_cache *c = ns_blkdev_cache_new(root, 0);
	char dir[256], link[256];
	FILE *f;
	bool gone;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/devices", root);
	mkdir(dir, 0755);
	strcat(dir, "/sdz");
	mkdir(dir, 0755);
	strcat(dir, "/uevent");
	f = fopen(dir, "w");
	assert_non_null(f);
	fputs("MAJOR=8\nMINOR=700\n", f);
	fclose(f);
	snprintf(link, sizeof(link), "%s/dev/block/8:700", root);
	assert_int_equal(symlink("../../devices/sdz", link), 0);
	assert_string_equal(ns_blkdev_name(c, NS_BLOCK_MKDEV(8, 700), 1, &gone), "sdz");
	assert_false(gone);
	ns_blkdev_cache_free(c);
}

static void test_name_cache_many(void **state)
{
	struct ns_blkdev_cache *c = ns_blkdev_cache_new(root, 0);
	char want[32];
	bool gone;

	(void)state;
	/* Fill far enough for clusters, forget every other one, the rest must still resolve
	 * from the cache (no sysfs entry exists: a re-read would give "MAJ:MIN"). */
	for (unsigned int i = 0; i < 600; i++) {
		char mm[32], ue[96];

		snprintf(mm, sizeof(mm), "8:%u", i);
		snprintf(ue, sizeof(ue), "DEVNAME=sd%u\n", i);
		put_dev(mm, ue);
		ns_blkdev_name(c, NS_BLOCK_MKDEV(8, i), 1, &gone);
		rm_dev(mm);
	}
	for (unsigned int i = 0; i < 600; i += 2)
		ns_blkdev_forget(c, NS_BLOCK_MKDEV(8, i));
	for (unsigned int i = 1; i < 600; i += 2) {
		snprintf(want, sizeof(want), "sd%u", i);
		assert_string_equal(ns_blkdev_name(c, NS_BLOCK_MKDEV(8, i), 2, &gone), want);
		assert_false(gone);
	}
	ns_blkdev_cache_free(c);
}

static void test_size_buckets(void **state)
{
	static const struct ns_family_desc d = {
		.name = "t_size_bytes",
		.help = "h",
		.type = NS_HISTOGRAM,
		.min_slot = 8,
		.max_slot = 31,
		.scale = 1,
	};
	struct ns_registry *r = ns_registry_new(0);
	struct ns_family *f = ns_family(r, &d);

	(void)state;
	/* Recorded as bytes-1 so each power of two lands under its own inclusive le. */
	assert_true(ns_hist_le(f, (int)ns_log2_slot(NS_BLOCK_SIZE_SLOT_VALUE(4096))) == 4096);
	assert_true(ns_hist_le(f, (int)ns_log2_slot(NS_BLOCK_SIZE_SLOT_VALUE(65536))) == 65536);
	assert_true(ns_hist_le(f, (int)ns_log2_slot(NS_BLOCK_SIZE_SLOT_VALUE(4097))) == 8192);
	assert_true(ns_hist_le(f, (int)ns_log2_slot(NS_BLOCK_SIZE_SLOT_VALUE(512))) == 512);
	assert_true(ns_hist_le(f, (int)ns_log2_slot(NS_BLOCK_SIZE_SLOT_VALUE(0))) == 2);
	ns_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_dev_encoding),
		cmocka_unit_test(test_uevent),
		cmocka_unit_test_setup_teardown(test_name_cache, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_name_from_link, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_name_cache_many, setup_root, teardown_root),
		cmocka_unit_test(test_size_buckets),
	};

	return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
