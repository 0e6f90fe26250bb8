// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "features.h"
#include "probe_util.h"

#define TRACEFS "/sys/kernel/tracing"
#define BPFFS "/sys/fs/bpf"
#define TRACEFS_MAGIC 0x74726163
#define BPF_FS_MAGIC 0xcafe4a11

static struct ns_features feats;
static bool probed;
static struct btf *vmlinux;

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == magic;
}

int ns_mount_fs(void)
{
	int ret = 0;

	if (!fs_is(TRACEFS, TRACEFS_MAGIC) && mount("nodev", TRACEFS, "tracefs", 0, NULL))
		ret = -errno;
	if (!fs_is(BPFFS, BPF_FS_MAGIC) && mount("bpf", BPFFS, "bpf", 0, NULL))
		ret = -errno;
	return ret;
}

void *ns_vmlinux_btf(void)
{
	if (!vmlinux)
		vmlinux = btf__load_vmlinux_btf();
	if (libbpf_get_error(vmlinux))
		vmlinux = NULL;
	return vmlinux;
}

/* Load "r0 = 0; exit" as a tracing program for attach type at on BTF id, then attach it. */
static int probe_tracing(enum bpf_attach_type at, __u32 btf_id)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = at, .attach_btf_id = btf_id);
	int fd, link, err = 0;

	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ns_feat", "GPL", insns, 2, &o);
	if (fd < 0)
		return -errno;
	if (at == BPF_TRACE_ITER) /* an iterator link needs its target (a map): loading says it */
		link = dup(fd);
	else if (at == BPF_TRACE_RAW_TP)
		link = bpf_raw_tracepoint_open(NULL, fd);
	else
		link = bpf_link_create(fd, 0, at, NULL);
	if (link < 0)
		err = -errno;
	else
		close(link);
	close(fd);
	return err;
}

static void probe_btf_progs(struct btf *btf)
{
	int id, err;

	id = btf__find_by_name_kind(btf, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
	err = id > 0 ? probe_tracing(BPF_TRACE_RAW_TP, (__u32)id) : -ENOENT;
	feats.tp_btf = !err;
	if (err)
		snprintf(feats.tp_btf_why, sizeof(feats.tp_btf_why), "tp_btf test program: %s",
			 strerror(-err));
	id = btf__find_by_name_kind(btf, "do_nanosleep", BTF_KIND_FUNC);
	if (id <= 0)
		id = btf__find_by_name_kind(btf, "vfs_read", BTF_KIND_FUNC);
	err = id > 0 ? probe_tracing(BPF_TRACE_FENTRY, (__u32)id) : -ENOENT;
	feats.fentry = !err;
	if (err)
		snprintf(feats.fentry_why, sizeof(feats.fentry_why), "fentry test program: %s",
			 strerror(-err));
	feats.rdonly_cast = btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;
	id = btf__find_by_name_kind(btf, "bpf_iter_bpf_sk_storage_map", BTF_KIND_FUNC);
	err = id > 0 ? probe_tracing(BPF_TRACE_ITER, (__u32)id) : -ENOENT;
	feats.sk_storage_iter = !err;
	if (err)
		snprintf(feats.sk_storage_iter_why, sizeof(feats.sk_storage_iter_why),
			 "socket-storage iterator test program: %s", strerror(-err));
}

const struct ns_features *ns_features_get(void)
{
	struct btf *btf;

	if (probed)
		return &feats;
	probed = true;
	ns_mount_fs();
	feats.tracefs = fs_is(TRACEFS, TRACEFS_MAGIC);
	btf = ns_vmlinux_btf();
	feats.btf = btf != NULL;
	if (!btf)
		snprintf(feats.btf_why, sizeof(feats.btf_why),
			 "no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
	feats.raw_tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 1;
	feats.task_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
	feats.sk_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) == 1;
	feats.ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	if (btf) {
		probe_btf_progs(btf);
	} else {
		snprintf(feats.tp_btf_why, sizeof(feats.tp_btf_why), "%s", feats.btf_why);
		snprintf(feats.fentry_why, sizeof(feats.fentry_why), "%s", feats.btf_why);
		snprintf(feats.sk_storage_iter_why, sizeof(feats.sk_storage_iter_why), "%s",
			 feats.btf_why);
	}
	/* The kprobe PMU (4.17+) is what libbpf uses; kprobe_events is the legacy interface. */
	feats.kprobes = !access("/sys/bus/event_source/devices/kprobe/type", F_OK) ||
			!access(TRACEFS "/kprobe_events", F_OK);
	if (!feats.kprobes)
		snprintf(feats.kprobes_why, sizeof(feats.kprobes_why),
			 "kernel built without CONFIG_KPROBES (no kprobe PMU or kprobe_events)");
	return &feats;
}

/* Search module BTF too (e.g. kvm tracepoints live in the kvm module when it is modular). */
static bool btf_typedef_anywhere(const char *name)
{
	struct btf *base = ns_vmlinux_btf();
	struct dirent *de;
	DIR *d;
	bool found = false;

	if (!base)
		return false;
	if (btf__find_by_name_kind(base, name, BTF_KIND_TYPEDEF) > 0)
		return true;
	d = opendir("/sys/kernel/btf");
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[300];
		struct btf *m;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", de->d_name);
		m = btf__parse_split(path, base);
		if (libbpf_get_error(m))
			continue;
		found = btf__find_by_name_kind(m, name, BTF_KIND_TYPEDEF) > 0;
		btf__free(m);
	}
	closedir(d);
	return found;
}

bool ns_btf_tracepoint_exists(const char *name)
{
	char tname[128];

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	return btf_typedef_anywhere(tname);
}

bool ns_tracepoint_exists(const char *category, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", category, name);
	if (!access(path, R_OK))
		return true;
	return ns_btf_tracepoint_exists(name);
}

bool ns_btf_has_member(const char *struct_name, const char *member)
{
	struct btf *btf = ns_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, struct_name, BTF_KIND_STRUCT);
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, (__u32)id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

bool ns_uprobes_supported(char *why, unsigned long n)
{
	/* libbpf creates uprobes through the uprobe PMU (4.17+) and falls back to uprobe_events. */
	if (!access("/sys/bus/event_source/devices/uprobe/type", F_OK) ||
	    !access(TRACEFS "/uprobe_events", F_OK))
		return true;
	snprintf(why, n,
		 "kernel built without CONFIG_UPROBE_EVENTS (no uprobe PMU or uprobe_events)");
	return false;
}

bool ns_attach_cookie_supported(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_attach_cookie, NULL) == 1;
}

bool ns_uprobe_multi_supported(void)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = NS_BPF_TRACE_UPROBE_MULTI);
	static int cached = -1;
	__u64 off = 0;
	int fd, link;

	if (cached >= 0)
		return cached;
	/* Kernels before 6.6 may accept the program (kprobe programs ignored the expected attach
	 * type) but reject the link with EINVAL; 6.6+ gets as far as the path: "/" is not a
	 * regular file, EBADF. The same test as libbpf's probe_uprobe_multi_link(). */
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "ns_feat", "GPL", insns, 2, &o);
	if (fd < 0) {
		cached = 0;
		return false;
	}
	link = ns_link_create_uprobe_multi(fd, "/", &off, NULL, 1, false);
	cached = link < 0 && errno == EBADF;
	if (link >= 0)
		close(link);
	close(fd);
	return cached;
}

int ns_btf_tracepoint_nargs(const char *name)
{
	struct btf *btf = ns_vmlinux_btf();
	const struct btf_type *t;
	char tname[128];
	int id;

	if (!btf)
		return -1;
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	/* typedef -> pointer -> func_proto (void *__data, TP_PROTO args...) */
	t = btf__type_by_id(btf, (__u32)id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -1;
	return btf_vlen(t) - 1;
}
