// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_uprobes: finding librdmacm/libibverbs and the file offsets of their functions, checked
 * against the dynamic linker: the offset must hold the same code the linker binds a program
 * to, which for libibverbs' ibv_reg_mr is the IBVERBS_1.1 definition, not the 1.0 compat one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
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
#include "probes/rdma.h"

#define VERBS "libibverbs.so.1"
#define RDMACM "librdmacm.so.1"

/* The file a loaded library came from, and its load bias. */
static void *load(const char *soname, char *path, size_t n, uintptr_t *base)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	struct link_map *lm = NULL;

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm)
		return NULL;
	snprintf(path, n, "%s", lm->l_name);
	*base = lm->l_addr;
	return h;
}

/*
 * The code at the offset in the file is the code the linker resolved the symbol to. The first
 * byte may be an int3 (0xcc) in memory: a uprobe anyone attached to that function right now
 * (a running novascope, say) writes one there. 8 bytes stay inside the shortest function
 * checked (ibv_reg_mr@@IBVERBS_1.1 is 11 bytes).
 */
static void same_code(const char *path, uint64_t off, const void *mem)
{
	unsigned char file[8];
	const unsigned char *m = mem;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file, sizeof(file), (off_t)off), sizeof(file));
	close(fd);
	assert_true(m[0] == file[0] || m[0] == 0xcc);
	assert_memory_equal(file + 1, m + 1, sizeof(file) - 1);
}

static void test_default_version(void **state)
{
	char path[PATH_MAX];
	uint64_t off, vaddr;
	uintptr_t base;
	void *h = load(VERBS, path, sizeof(path), &base), *def, *compat;

	(void)state;
	if (!h)
		skip(); /* libibverbs1 not installed */
	def = dlvsym(h, "ibv_reg_mr", "IBVERBS_1.1");
	compat = dlvsym(h, "ibv_reg_mr", "IBVERBS_1.0");
	assert_non_null(def);
	assert_non_null(compat);
	assert_ptr_not_equal(def, compat);
	assert_int_equal(ns_elf_func_offset(path, "ibv_reg_mr", &off, &vaddr), 0);
	assert_true(base + vaddr == (uintptr_t)def);
	same_code(path, off, def);
	/* A function with one version, and one from the other library. */
	assert_int_equal(ns_elf_func_offset(path, "ibv_reg_mr_iova2", &off, &vaddr), 0);
	assert_true(base + vaddr == (uintptr_t)dlsym(h, "ibv_reg_mr_iova2"));
	same_code(path, off, dlsym(h, "ibv_reg_mr_iova2"));
	dlclose(h);
	h = load(RDMACM, path, sizeof(path), &base);
	assert_non_null(h);
	assert_int_equal(ns_elf_func_offset(path, "rdma_get_cm_event", &off, &vaddr), 0);
	same_code(path, off, dlsym(h, "rdma_get_cm_event"));
	assert_int_equal(ns_elf_func_offset(path, "ibv_reg_mr", &off, NULL), -ENOENT);
	dlclose(h);
}

static void test_bad_files(void **state)
{
	uint64_t off;
	char tmp[] = "/tmp/ns-rdma-notelf.XXXXXX";
	int fd = mkstemp(tmp);

	(void)state;
	assert_true(write(fd, "not an ELF file\n", 16) == 16);
	close(fd);
	assert_int_equal(ns_elf_func_offset(tmp, "rdma_connect", &off, NULL), -ENOEXEC);
	unlink(tmp);
	assert_int_equal(ns_elf_func_offset("/nonexistent/librdmacm.so.1", "rdma_connect", &off,
					    NULL),
			 -ENOENT);
	/* A symbol that is data, not a function, is not a place for a uprobe. */
	{
		char libc[PATH_MAX];
		uintptr_t base;
		void *h = load("libc.so.6", libc, sizeof(libc), &base);

		assert_non_null(h);
		assert_non_null(dlsym(h, "environ"));
		assert_int_equal(ns_elf_func_offset(libc, "environ", &off, NULL), -ENOENT);
		assert_int_equal(ns_elf_func_offset(libc, "getpid", &off, NULL), 0);
		same_code(libc, off, dlsym(h, "getpid"));
		dlclose(h);
	}
}

static void test_find_libs(void **state)
{
	char libs[NS_RDMA_MAX_LIBS][PATH_MAX], why[256] = "", dir[] = "/tmp/ns-rdma-libs.XXXXXX";
	char path[PATH_MAX + 32], loaded[PATH_MAX];
	uintptr_t base;
	void *h = load(VERBS, loaded, sizeof(loaded), &base);
	int n;

	(void)state;
	if (!h)
		skip();
	dlclose(h);
	/* Default search: both libraries once each, though /lib and /usr/lib are one directory
	 * on a merged-/usr system and the soname is a symlink to the versioned file. */
	n = ns_rdma_find_libs(NULL, libs, NS_RDMA_MAX_LIBS, why, sizeof(why));
	assert_int_equal(n, 2);
	assert_non_null(strstr(libs[0], "librdmacm.so.1") ?: strstr(libs[1], "librdmacm.so.1"));
	assert_non_null(strstr(libs[0], "libibverbs.so.1") ?: strstr(libs[1], "libibverbs.so.1"));
	/* A directory in the list: the sonames in it. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libibverbs.so.1", dir);
	assert_int_equal(symlink(loaded, path), 0);
	n = ns_rdma_find_libs(dir, libs, NS_RDMA_MAX_LIBS, why, sizeof(why));
	assert_int_equal(n, 1);
	/* The same inode listed twice is one library. */
	snprintf(path, sizeof(path), "%s,%s", dir, loaded);
	n = ns_rdma_find_libs(path, libs, NS_RDMA_MAX_LIBS, why, sizeof(why));
	assert_int_equal(n, 1);
	/* Nothing there: the reason names the flag and the path. */
	why[0] = 0;
	n = ns_rdma_find_libs("/nonexistent/rdma", libs, NS_RDMA_MAX_LIBS, why, sizeof(why));
	assert_int_equal(n, 0);
	assert_non_null(strstr(why, "--rdma.lib-path /nonexistent/rdma"));
	snprintf(path, sizeof(path), "%s/libibverbs.so.1", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_version),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_find_libs),
	};

	return cmocka_run_group_tests_name("rdma_libs", tests, NULL, NULL);
}
