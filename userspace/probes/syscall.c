// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall probe: per-syscall latency histograms and error counts.
 * Kernel side: bpf/syscall.bpf.c (tp_btf sys_enter/sys_exit, raw_tp fallback).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "novascope/syscall.h"
#include "syscall.skel.h"
#include "selftest.h"
#include "syscall_names.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const struct ns_family_desc lat_desc = {
	.name = "novascope_syscall_latency_seconds",
	.help = "Time from syscall entry to exit, per syscall, excluding the collector's own.",
	.type = NS_HISTOGRAM,
	.labels = {"syscall"},
	/* 2^9 ns (512ns) .. 2^34 ns (~17s): fast calls fold into the first bucket. */
	.min_slot = 8,
	.max_slot = 34,
	.scale = 1e-9,
};

static const struct ns_family_desc err_desc = {
	.name = "novascope_syscall_errors_total",
	.help = "Syscalls that returned an error (-4095..-1), per syscall.",
	.type = NS_COUNTER,
	.labels = {"syscall"},
};

struct priv {
	struct syscall_bpf *skel;
	struct ns_syscall_stat *prev; /* cumulative totals at the last collection, per nr */
	void *keys, *vals; /* batch lookup buffers */
	int cgroup_fd;
};

const char *ns_syscall_name(unsigned int nr, char *buf, unsigned int buflen)
{
#if defined(__aarch64__)
	const char *const *t = ns_syscalls_arm64;
	unsigned int n = ns_syscalls_arm64_len;
#else
	const char *const *t = ns_syscalls_x86_64;
	unsigned int n = ns_syscalls_x86_64_len;
#endif
	if (nr < n && t[nr])
		return t[nr];
	snprintf(buf, buflen, "unknown_%u", nr);
	return buf;
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	const char *fl;

	if (!ns_require_btf_task_storage(p, f))
		return false;
	fl = ns_pick_tp_flavour(f, "sys_enter", p->reason, sizeof(p->reason));
	if (!fl)
		return false;
	ns_probe_set_hook(p, "%s sys_enter/sys_exit", fl);
	return true;
}

static int open_cgroup(struct ns_probe *p, const char *path)
{
	struct statfs st;
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0) {
		ns_probe_set_reason(p, "--syscall.cgroup %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstatfs(fd, &st) || st.f_type != CGROUP2_SUPER_MAGIC) {
		ns_probe_set_reason(p, "--syscall.cgroup %s: not a cgroup v2 directory", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	struct priv *pv = calloc(1, sizeof(*pv));
	size_t vsz = sizeof(struct ns_syscall_stat) * (size_t)ns_nr_cpus();
	int err, zero = 0;

	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	pv->cgroup_fd = -1;
	pv->prev = calloc(NS_SYSCALL_MAX, sizeof(*pv->prev));
	pv->keys = calloc(NS_SYSCALL_MAX, sizeof(__u32));
	pv->vals = calloc(NS_SYSCALL_MAX, vsz);
	if (!pv->prev || !pv->keys || !pv->vals)
		return -ENOMEM;
	pv->skel = syscall_bpf__open();
	if (!pv->skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	p->obj = pv->skel->obj;
	pv->skel->rodata->self_tgid = (__u32)getpid();
	if (cfg->syscall_cgroup) {
		pv->cgroup_fd = open_cgroup(p, cfg->syscall_cgroup);
		if (pv->cgroup_fd < 0)
			return pv->cgroup_fd;
		pv->skel->rodata->filter_cgroup = true;
	}
	ns_drop_flavour(p->obj, strncmp(p->hook, "tp_btf", 6) ? "_btf" : "_raw");
	/* Only the counts are pinned: start times and the self filter belong to this agent. */
	err = ns_probe_pin_maps(p, p->obj, cfg->pin_path, NS_LV("stats", NULL));
	if (err)
		return err;
	err = syscall_bpf__load(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	if (pv->cgroup_fd >= 0 && bpf_map_update_elem(bpf_map__fd(pv->skel->maps.cgroup_filter),
						      &zero, &pv->cgroup_fd, 0)) {
		ns_probe_set_reason(p, "set cgroup filter: %s", strerror(errno));
		return -errno;
	}
	return ns_probe_attach(p, p->obj);
}

/* Read every syscall's per-CPU stats in one batch and sum across CPUs into out. */
static int read_stats(struct priv *pv, struct ns_syscall_stat *out)
{
	int ncpu = ns_nr_cpus(), fd = bpf_map__fd(pv->skel->maps.stats);
	__u32 count = NS_SYSCALL_MAX, out_batch = 0;
	const struct ns_syscall_stat *v = pv->vals;
	int err;

	err = bpf_map_lookup_batch(fd, NULL, &out_batch, pv->keys, pv->vals, &count, NULL);
	if (err && errno != ENOENT)
		return -errno;
	memset(out, 0, sizeof(*out) * NS_SYSCALL_MAX);
	for (__u32 i = 0; i < count; i++) {
		__u32 nr = ((__u32 *)pv->keys)[i];
		struct ns_syscall_stat *o = &out[nr < NS_SYSCALL_MAX ? nr : NS_SYSCALL_MAX - 1];

		for (int c = 0; c < ncpu; c++) {
			const struct ns_syscall_stat *s = &v[(size_t)i * ncpu + c];

			for (int k = 0; k < NS_HIST_SLOTS; k++)
				o->lat.slots[k] += s->lat.slots[k];
			o->lat.sum += s->lat.sum;
			o->errors += s->errors;
		}
	}
	return 0;
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	struct priv *pv = p->priv;
	struct ns_family *lat = ns_family(r, &lat_desc), *errs = ns_family(r, &err_desc);
	struct ns_syscall_stat *cur = calloc(NS_SYSCALL_MAX, sizeof(*cur));
	int err;

	if (!cur || !lat || !errs) {
		free(cur);
		return -ENOMEM;
	}
	err = read_stats(pv, cur);
	if (err) {
		free(cur);
		return err;
	}
	for (unsigned int nr = 0; nr < NS_SYSCALL_MAX; nr++) {
		__u64 d[NS_HIST_SLOTS];
		char buf[32];
		const char *name;
		struct ns_series *s;

		if (!ns_hist_count(cur[nr].lat.slots))
			continue;
		for (int k = 0; k < NS_HIST_SLOTS; k++)
			d[k] = cur[nr].lat.slots[k] - pv->prev[nr].lat.slots[k];
		name = nr == NS_SYSCALL_MAX - 1 ? "other" : ns_syscall_name(nr, buf, sizeof(buf));
		s = ns_series(lat, NS_LV(name));
		ns_hist_add(s, d, (double)(cur[nr].lat.sum - pv->prev[nr].lat.sum));
		ns_series_touch(r, s);
		s = ns_series(errs, NS_LV(name));
		ns_counter_add(s, (double)(cur[nr].errors - pv->prev[nr].errors));
		ns_series_touch(r, s);
	}
	free(pv->prev);
	pv->prev = cur;
	return 0;
}

static void stop(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	if (!pv)
		return;
	ns_probe_detach(p);
	syscall_bpf__destroy(pv->skel);
	if (pv->cgroup_fd >= 0)
		close(pv->cgroup_fd);
	free(pv->prev);
	free(pv->keys);
	free(pv->vals);
	free(pv);
	p->priv = NULL;
	p->obj = NULL;
}

#define SELFTEST_CALLS 20000

static int getppid_burst(void *arg)
{
	(void)arg;
	for (int i = 0; i < SELFTEST_CALLS; i++)
		syscall(SYS_getppid);
	return 0;
}

static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	const char *fam = lat_desc.name;
	double before, got;

	(void)p;
	before = ns_selftest_total(t, fam, "syscall", "getppid");
	if (ns_selftest_child(getppid_burst, NULL)) {
		snprintf(detail, n, "workload failed");
		return -1;
	}
	got = ns_selftest_total(t, fam, "syscall", "getppid") - before;
	snprintf(detail, n, "%d getppid calls in a child: counted %.0f", SELFTEST_CALLS, got);
	return got >= SELFTEST_CALLS ? 0 : -1;
}

const struct ns_probe_ops ns_syscall_probe = {
	.name = "syscall",
	.description = "Syscall latency and errors per syscall",
	.check = check,
	.start = start,
	.collect = collect,
	.stop = stop,
	.report_family = "novascope_syscall_latency_seconds",
	.selftest = selftest,
};
