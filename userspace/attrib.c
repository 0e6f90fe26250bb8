// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "attrib.h"

#define CACHE_SIZE 4096 /* direct-mapped; a miss costs one open_by_handle_at or a /proc read */

struct cg_entry {
	__u64 id;
	char path[256];
};

struct vm_entry {
	pid_t pid;
	unsigned long long start;
	int found;
	char name[128];
};

static struct cg_entry cg_cache[CACHE_SIZE];
static struct vm_entry vm_cache[1024];
static char cg_root[PATH_MAX];
static int cg_root_fd = -1;

const char *ns_cgroup2_root(void)
{
	FILE *f;
	char line[1024];

	if (*cg_root)
		return cg_root;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return NULL;
	/* "... mountpoint ... - cgroup2 cgroup2 rw": prefer the first cgroup2 mount. */
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *dash = strstr(line, " - cgroup2 ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
			continue;
		snprintf(cg_root, sizeof(cg_root), "%s", mnt);
		break;
	}
	fclose(f);
	return *cg_root ? cg_root : NULL;
}

/* cgroupfs exports file handles whose payload is the 64-bit cgroup id (kernfs, 4.18+). */
static int path_by_handle(__u64 id, char *buf, size_t n)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = {.fh = {.handle_bytes = sizeof(__u64), .handle_type = 0xfe /* FILEID_KERNFS */}};
	char link[64], target[PATH_MAX];
	size_t rl = strlen(cg_root);
	ssize_t len;
	int fd;

	h.id = id;
	fd = open_by_handle_at(cg_root_fd, &h.fh, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	target[len] = 0;
	if (strncmp(target, cg_root, rl))
		return -ENOENT;
	snprintf(buf, n, "%s", target[rl] ? target + rl : "/");
	return 0;
}

/*
 * Without CAP_DAC_READ_SEARCH (after the agent dropped its capabilities) the only way from an
 * id to a path is the tree itself: one walk indexes every cgroup it passes into the cache, so
 * a burst of new cgroups costs one walk, and an id a walk did not find is not walked for again.
 */
static size_t root_len;
static __u64 missed[64]; /* ids a recent walk did not find: gone, don't walk again for them */
static unsigned int nmissed;

static int walk_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct cg_entry *e = &cg_cache[(__u64)st->st_ino % CACHE_SIZE];

	(void)ftw;
	if (flag != FTW_D)
		return 0;
	e->id = (__u64)st->st_ino;
	snprintf(e->path, sizeof(e->path), "%s", path[root_len] ? path + root_len : "/");
	return 0;
}

static int path_by_walk(__u64 id, char *buf, size_t n)
{
	struct cg_entry *e = &cg_cache[id % CACHE_SIZE];

	for (unsigned int i = 0; i < 64; i++)
		if (missed[i] == id)
			return -ENOENT;
	root_len = strlen(cg_root);
	nftw(cg_root, walk_cb, 32, FTW_PHYS | FTW_MOUNT);
	if (e->id != id) {
		missed[nmissed++ % 64] = id;
		return -ENOENT;
	}
	snprintf(buf, n, "%s", e->path);
	return 0;
}

int ns_cgroup_path(__u64 id, char *buf, size_t n)
{
	struct cg_entry *e = &cg_cache[id % CACHE_SIZE];
	int err;

	if (e->id == id && id) {
		snprintf(buf, n, "%s", e->path);
		return 0;
	}
	if (!ns_cgroup2_root())
		return -ENOENT;
	if (cg_root_fd < 0)
		cg_root_fd = open(cg_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = path_by_handle(id, e->path, sizeof(e->path));
	if (err == -EPERM || err == -EOPNOTSUPP || err == -EINVAL)
		return path_by_walk(id, buf, n);
	if (err) {
		e->id = 0;
		return err;
	}
	e->id = id;
	snprintf(buf, n, "%s", e->path);
	return 0;
}

static bool names_workload(const char *c, size_t len)
{
	if (len > 8 && !strncmp(c + len - 8, ".service", 8))
		return true;
	if (len > 6 && !strncmp(c + len - 6, ".scope", 6))
		return true;
	if (len > 3 && !strncmp(c, "pod", 3))
		return true; /* kubepods.slice/.../kubepods-burstable-pod<uid>.slice or pod<uid> */
	return len > 4 && strstr(c, "-pod") && (size_t)(strstr(c, "-pod") - c) < len;
}

void ns_cgroup_label(const char *path, unsigned int depth, char *out, size_t n)
{
	const char *p = path, *cut = NULL;
	unsigned int level = 0;

	while (*p == '/')
		p++;
	if (!*p) {
		snprintf(out, n, "/");
		return;
	}
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		level++;
		if ((depth && level == depth) || (!depth && names_workload(p, len))) {
			cut = p + len;
			break;
		}
		if (!slash || !slash[1])
			break;
		p = slash + 1;
	}
	if (!cut) /* no workload component, or fewer levels than depth: the whole path */
		cut = path + strlen(path);
	while (cut > path + 1 && cut[-1] == '/')
		cut--;
	snprintf(out, n, "%.*s", (int)(cut - path), path);
}

int ns_vm_name_from_cmdline(const char *argv, size_t len, char *out, size_t n)
{
	const char *p = argv, *end = argv + len;

	while (p < end) {
		const char *arg = p, *next = memchr(p, 0, (size_t)(end - p));
		const char *val;
		size_t vlen;

		next = next ? next + 1 : end;
		if ((strcmp(arg, "-name") && strcmp(arg, "--name")) || next >= end) {
			p = next;
			continue;
		}
		/* "-name guest=X,debug-threads=on" or "-name X,debug-threads=on" or "-name X" */
		val = next;
		if (!strncmp(val, "guest=", 6))
			val += 6;
		vlen = strcspn(val, ",");
		/* Avoid treating another option such as "process=" as the name. */
		if (!vlen || memchr(val, '=', vlen))
			return -ENOENT;
		snprintf(out, n, "%.*s", (int)vlen, val);
		return 0;
	}
	return -ENOENT;
}

static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		       "%*d %llu",
		       &st);
	fclose(f);
	return st;
}

static ssize_t read_cmdline(pid_t pid, char *buf, size_t n)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, n - 1);
	close(fd);
	if (len >= 0)
		buf[len] = 0;
	return len;
}

int ns_vm_name(pid_t tgid, char *out, size_t n)
{
	struct vm_entry *e = &vm_cache[(unsigned int)tgid % 1024];
	unsigned long long st = start_time(tgid);
	char cmd[8192];
	ssize_t len;

	if (!st)
		return -ENOENT;
	if (e->pid != tgid || e->start != st) {
		e->pid = tgid;
		e->start = st;
		len = read_cmdline(tgid, cmd, sizeof(cmd));
		e->found = len > 0 &&
			   !ns_vm_name_from_cmdline(cmd, (size_t)len, e->name, sizeof(e->name));
	}
	if (!e->found)
		return -ENOENT;
	snprintf(out, n, "%s", e->name);
	return 0;
}

bool ns_is_qemu(pid_t tgid)
{
	char cmd[512];
	const char *base;
	ssize_t len = read_cmdline(tgid, cmd, sizeof(cmd));

	if (len <= 0)
		return false;
	base = strrchr(cmd, '/');
	base = base ? base + 1 : cmd;
	return !strncmp(base, "qemu", 4);
}

enum ns_thread_role ns_thread_role(const char *c)
{
	size_t n = strlen(c);

	/* "/TCG": QEMU without KVM emulates each vCPU in a thread of that name. */
	if (!strncmp(c, "CPU ", 4) && n > 4 &&
	    (!strcmp(c + n - 4, "/KVM") || !strcmp(c + n - 4, "/TCG")))
		return NS_ROLE_VCPU;
	if (!strcmp(c, "live_migration") || !strcmp(c, "mig/src/main"))
		return NS_ROLE_MIGRATION;
	if (!strncmp(c, "multifdsend_", 12) || !strncmp(c, "mig/src/send_", 13))
		return NS_ROLE_MIGRATION_SEND;
	if (!strncmp(c, "multifdrecv_", 12) || !strncmp(c, "mig/dst/", 8))
		return NS_ROLE_MIGRATION_RECV;
	if (!strncmp(c, "vhost-", 6))
		return NS_ROLE_VHOST;
	return NS_ROLE_OTHER;
}

const char *ns_thread_role_str(enum ns_thread_role r)
{
	static const char *const s[] = {"other",	  "vcpu",	    "migration",
					"migration_send", "migration_recv", "vhost"};

	return r <= NS_ROLE_VHOST ? s[r] : "other";
}

void ns_attrib_flush(void)
{
	memset(cg_cache, 0, sizeof(cg_cache));
	memset(vm_cache, 0, sizeof(vm_cache));
}

int ns_vm_label(pid_t tgid, char *out, size_t n)
{
	char path[64], comm[64];
	size_t len;
	FILE *f;

	if (!ns_vm_name(tgid, out, n))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", tgid);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	len = strcspn(comm, "\n");
	if (!len)
		return -ENOENT;
	snprintf(out, n, "%.*s:%d", (int)len, comm, tgid);
	return 0;
}
