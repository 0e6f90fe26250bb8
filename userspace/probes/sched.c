// SPDX-License-Identifier: GPL-2.0
/*
 * Sched probe: run-queue latency per cgroup and per VM (vCPU threads), guest steal, context
 * switches and CPU migrations. Kernel side: bpf/sched.bpf.c.
 *
 * The BPF maps are keyed by cgroup id and by tgid; each interval this file reads them, labels
 * each key once (cgroup path cut at --sched.cgroup-depth; VM name), adds the deltas to the
 * registry, and deletes the keys of cgroups and processes that are gone after their last read.
 * Their series are then no longer touched and the registry drops them after STALE_AFTER
 * intervals, so removed workloads stop being exported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "attrib.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "selftest.h"
#include "labelcap.h"
#include "mapread.h"
#include "novascope/sched.h"
#include "sched.skel.h"

#define STALE_AFTER 5
#define OTHER "other"
#define CG_MAP_MIN 4096

static const struct ns_family_desc runq_desc = {
	.name = "novascope_runqueue_latency_seconds",
	.help = "Time tasks spent runnable in a run queue before running, per cgroup.",
	.type = NS_HISTOGRAM,
	.labels = {"cgroup"},
	.min_slot = 9, /* le 1.024us .. 17.2s */
	.max_slot = 33,
	.scale = 1e-9,
	.stale_after = STALE_AFTER,
};

static const struct ns_family_desc csw_desc = {
	.name = "novascope_context_switches_total",
	.help = "Tasks switched out, per cgroup: voluntary (blocked) or involuntary (still "
		"runnable: preempted or yielded).",
	.type = NS_COUNTER,
	.labels = {"cgroup", "kind"},
	.other_reserve = 2,
	.stale_after = STALE_AFTER,
};

static const struct ns_family_desc migr_desc = {
	.name = "novascope_cpu_migrations_total",
	.help = "Tasks moved to another CPU (sched_migrate_task), per cgroup.",
	.type = NS_COUNTER,
	.labels = {"cgroup"},
	.stale_after = STALE_AFTER,
};

static const struct ns_family_desc vrunq_desc = {
	.name = "novascope_vcpu_runqueue_latency_seconds",
	.help = "Time a VM's vCPU threads spent runnable in a host run queue before running.",
	.type = NS_HISTOGRAM,
	.labels = {"vm"},
	.min_slot = 9,
	.max_slot = 33,
	.scale = 1e-9,
	.stale_after = STALE_AFTER,
};

static const struct ns_family_desc steal_desc = {
	.name = "novascope_vcpu_steal_seconds_total",
	.help = "Total host run-queue wait of a VM's vCPU threads: what the guest sees as steal.",
	.type = NS_COUNTER,
	.labels = {"vm"},
	.stale_after = STALE_AFTER,
};

#define CG_WORDS (sizeof(struct ns_sched_cg_stat) / sizeof(__u64))
#define VM_WORDS (sizeof(struct ns_sched_vcpu_stat) / sizeof(__u64))

/* Entries of ns_keytabs: the key first (id in key[0]). */
struct cg_ent {
	__u64 key[NS_REC_KEY_WORDS]; /* cgroup id */
	struct ns_sched_cg_stat prev; /* cumulative at the last read */
	char path[256];
	char label[256];
};

struct vm_ent {
	__u64 key[NS_REC_KEY_WORDS]; /* tgid */
	struct ns_sched_vcpu_stat prev;
	char label[160];
};

struct priv {
	struct sched_bpf *skel;
	unsigned int depth;
	struct ns_family_desc runq, csw, migr; /* with room for the configured cap */
	struct ns_labelcap *labels; /* the cap on cgroup label values */
	struct ns_keytab cg, vm;
	struct ns_registry *r; /* during a collection */
	int root_fd;
};

static bool schedstat_usable(char *why, size_t n);

static void set_hook(struct ns_probe *p, const char *fl, bool schedstat)
{
	if (schedstat)
		ns_probe_set_hook(p, "%s sched_switch+migrate (schedstat)", fl);
	else
		ns_probe_set_hook(p, "%s sched_wakeup+switch+migrate", fl);
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	char why[128];

	const char *fl;

	if (!f->btf) {
		ns_probe_set_reason(p, "%s", f->btf_why);
		return false;
	}
	fl = ns_pick_tp_flavour(f, "sched_switch", p->reason, sizeof(p->reason));
	if (!fl)
		return false;
	/* tp_btf keeps enqueue times in task storage (5.11+); without it, raw_tp and a pid hash. */
	if (!strcmp(fl, "tp_btf") && !f->task_storage) {
		if (!f->raw_tp) {
			ns_probe_set_reason(p, "kernel lacks BPF task storage (5.11+) and raw_tp");
			return false;
		}
		fl = "raw_tp";
	}
	set_hook(p, fl, !strcmp(fl, "tp_btf") && schedstat_usable(why, sizeof(why)));
	return true;
}

/* Before 6.1 (no bpf_mem_alloc), growing a no-prealloc map from sched_switch could allocate
 * per-CPU memory under the rq lock, and that allocator may wake a worker: preallocate. */
static void pick_prealloc(struct sched_bpf *skel)
{
	struct btf *btf = ns_vmlinux_btf();

	if (btf && btf__find_by_name_kind(btf, "bpf_mem_alloc", BTF_KIND_STRUCT) > 0)
		return;
	bpf_map__set_map_flags(skel->maps.cg_stats, 0);
	bpf_map__set_map_flags(skel->maps.vcpu_stats, 0);
}

/*
 * Can the programs take waits from the kernel's own schedstat accounting (sched_info, kept under
 * CONFIG_SCHED_INFO)? The fields must be in BTF and the accounting switched on: before 5.14 a
 * kernel with only TASK_DELAY_ACCT kept it only with delay accounting on, and
 * /proc/<pid>/schedstat then reads "0 0 0".
 */
static bool schedstat_usable(char *why, size_t n)
{
	unsigned long long cpu_ns = 0;
	FILE *f;

	if (!ns_btf_has_member("task_struct", "sched_info") ||
	    !ns_btf_has_member("sched_info", "run_delay") ||
	    !ns_btf_has_member("sched_info", "pcount")) {
		snprintf(why, n, "kernel BTF lacks task_struct.sched_info (CONFIG_SCHED_INFO off)");
		return false;
	}
	f = fopen("/proc/self/schedstat", "re");
	if (!f || fscanf(f, "%llu", &cpu_ns) != 1 || !cpu_ns) {
		snprintf(why, n, "schedstat accounting is off (/proc/self/schedstat reads 0)");
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	return true;
}

/* Pick how waits are measured (--sched.accounting); 1 for schedstat, 0 timestamps, or -errno. */
static int pick_accounting(struct ns_probe *p, const char *want, bool btf)
{
	char why[128];
	bool usable = btf && schedstat_usable(why, sizeof(why));

	if (!btf)
		snprintf(why, sizeof(why), "the raw_tp flavour cannot read task fields directly");
	if (!strcmp(want, "timestamps"))
		return 0;
	if (!strcmp(want, "schedstat") && !usable) {
		ns_probe_set_reason(p, "--sched.accounting=schedstat: %s", why);
		return -EOPNOTSUPP;
	}
	if (!usable)
		ns_log(NS_LOG_INFO, "sched: using own timestamps", "why", why, NULL);
	return usable;
}

/* The NS_SCHED_OTHER key must exist before the maps can fill up (kept if adopted from pins). */
static int add_other_keys(struct sched_bpf *skel)
{
	size_t n = (size_t)ns_nr_cpus();
	void *zero = calloc(n, sizeof(struct ns_sched_cg_stat));
	__u64 cg = NS_SCHED_OTHER;
	__u32 tgid = NS_SCHED_OTHER;
	int err = 0;

	if (!zero)
		return -ENOMEM;
	if ((bpf_map_update_elem(bpf_map__fd(skel->maps.cg_stats), &cg, zero, BPF_NOEXIST) &&
	     errno != EEXIST) ||
	    (bpf_map_update_elem(bpf_map__fd(skel->maps.vcpu_stats), &tgid, zero, BPF_NOEXIST) &&
	     errno != EEXIST))
		err = -errno;
	free(zero);
	return err;
}

static int setup_priv(struct priv *pv, const struct ns_config *cfg)
{
	unsigned int cap = cfg->sched_max_cgroups;

	pv->root_fd = -1;
	pv->depth = cfg->sched_cgroup_depth;
	/* The label set caps the cgroup values of all three families alike; the registry's own cap
	 * (one place more than they can need) is only a safety net. */
	pv->labels = ns_labelcap_new(cap, STALE_AFTER);
	pv->runq = runq_desc;
	pv->runq.max_series = cap + 1;
	pv->csw = csw_desc;
	pv->csw.max_series = 2 * cap + 2;
	pv->migr = migr_desc;
	pv->migr.max_series = cap + 1;
	if (!pv->labels)
		return -ENOMEM;
	if (ns_cgroup2_root())
		pv->root_fd = open(ns_cgroup2_root(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

static void init_tabs(struct priv *pv);

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	struct priv *pv = calloc(1, sizeof(*pv));
	bool btf = !strncmp(p->hook, "tp_btf", 6);
	unsigned int cg_max = cfg->sched_max_cgroups * 4;
	int err;

	if (!pv)
		return -ENOMEM;
	init_tabs(pv);
	p->priv = pv;
	err = setup_priv(pv, cfg);
	if (err)
		return err;
	pv->skel = sched_bpf__open();
	if (!pv->skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	p->obj = pv->skel->obj;
	ns_drop_flavour(p->obj, btf ? "_raw" : "_btf");
	err = pick_accounting(p, cfg->sched_accounting, btf);
	if (err < 0)
		return err;
	if (err) {
		/* The kernel timestamps enqueues itself: no wakeup programs needed. */
		pv->skel->rodata->kernel_delay = true;
		bpf_program__set_autoload(pv->skel->progs.sched_wakeup_btf, false);
		bpf_program__set_autoload(pv->skel->progs.sched_wakeup_new_btf, false);
	}
	set_hook(p, btf ? "tp_btf" : "raw_tp", err);
	bpf_map__set_autocreate(btf ? pv->skel->maps.enq_pid : pv->skel->maps.enq, false);
	/* Room for every cgroup the labels can name, several leaves per label, and churn. */
	bpf_map__set_max_entries(pv->skel->maps.cg_stats,
				 cg_max > CG_MAP_MIN ? cg_max : CG_MAP_MIN);
	pick_prealloc(pv->skel);
	/* Only the counts are pinned; per-task state belongs to this agent. */
	err = ns_probe_pin_maps(p, p->obj, cfg->pin_path, NS_LV("cg_stats", "vcpu_stats", NULL));
	if (err)
		return err;
	err = sched_bpf__load(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	err = add_other_keys(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "create the \"other\" keys: %s", strerror(-err));
		return err;
	}
	return ns_probe_attach(p, p->obj);
}

/* A cgroup is alive while a directory at its path still has its id as inode number. */
static bool cgroup_alive(const struct priv *pv, const struct cg_ent *e)
{
	struct stat st;
	const char *rel = e->path[1] ? e->path + 1 : "";

	if (pv->root_fd < 0 ||
	    fstatat(pv->root_fd, rel, &st, *rel ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH))
		return false;
	return (__u64)st.st_ino == e->key[0];
}

static void label_cgroup(const struct priv *pv, struct cg_ent *e)
{
	if (e->key[0] == NS_SCHED_OTHER || ns_cgroup_path(e->key[0], e->path, sizeof(e->path))) {
		/* The overflow key, or a cgroup removed before its first read. */
		e->path[0] = 0;
		snprintf(e->label, sizeof(e->label), OTHER);
		return;
	}
	ns_cgroup_label(e->path, pv->depth, e->label, sizeof(e->label));
}

static void add_counter(struct ns_registry *r, struct ns_family *f, const char *const *lv,
			__u64 cum, __u64 delta)
{
	struct ns_series *s;

	if (!cum)
		return; /* no series until the first event */
	s = ns_series(f, lv);
	if (!s)
		return;
	ns_counter_add(s, (double)delta);
	ns_series_touch(r, s);
}

static void emit_cgroup(struct priv *pv, struct ns_registry *r, const char *label,
			const struct ns_sched_cg_stat *cur, const struct ns_sched_cg_stat *prev)
{
	struct ns_family *runq = ns_family(r, &pv->runq), *csw = ns_family(r, &pv->csw);
	struct ns_family *migr = ns_family(r, &pv->migr);
	__u64 d[NS_HIST_SLOTS];
	struct ns_series *s;

	if (!runq || !csw || !migr)
		return;
	label = ns_labelcap_admit(pv->labels, label, r->gen);
	if (ns_hist_count(cur->lat.slots) && (s = ns_series(runq, NS_LV(label)))) {
		for (int k = 0; k < NS_HIST_SLOTS; k++)
			d[k] = cur->lat.slots[k] - prev->lat.slots[k];
		ns_hist_add(s, d, (double)(cur->lat.sum - prev->lat.sum));
		ns_series_touch(r, s);
	}
	add_counter(r, csw, NS_LV(label, "voluntary"), cur->nvcsw, cur->nvcsw - prev->nvcsw);
	add_counter(r, csw, NS_LV(label, "involuntary"), cur->nivcsw, cur->nivcsw - prev->nivcsw);
	add_counter(r, migr, NS_LV(label), cur->migrations, cur->migrations - prev->migrations);
}

static void init_cgroup(void *pv, void *e)
{
	label_cgroup(pv, e);
}

static bool update_cgroup(void *ctx, void *ent, const __u64 *vals)
{
	struct priv *pv = ctx;
	struct cg_ent *e = ent;
	const struct ns_sched_cg_stat *c = (const void *)vals;

	emit_cgroup(pv, pv->r, e->label, c, &e->prev);
	e->prev = *c;
	/* Gone: this was its last read. */
	return e->key[0] == NS_SCHED_OTHER || (e->path[0] && cgroup_alive(pv, e));
}

static void label_vm(struct vm_ent *e)
{
	if (e->key[0] == NS_SCHED_OTHER ||
	    ns_vm_label((pid_t)e->key[0], e->label, sizeof(e->label)))
		snprintf(e->label, sizeof(e->label), OTHER);
}

static void emit_vm(struct ns_registry *r, const char *label, const struct ns_sched_vcpu_stat *cur,
		    const struct ns_sched_vcpu_stat *prev)
{
	struct ns_family *lat = ns_family(r, &vrunq_desc), *steal = ns_family(r, &steal_desc);
	__u64 d[NS_HIST_SLOTS];
	struct ns_series *s;

	if (!lat || !steal || !ns_hist_count(cur->lat.slots))
		return;
	s = ns_series(lat, NS_LV(label));
	if (s) {
		for (int k = 0; k < NS_HIST_SLOTS; k++)
			d[k] = cur->lat.slots[k] - prev->lat.slots[k];
		ns_hist_add(s, d, (double)(cur->lat.sum - prev->lat.sum));
		ns_series_touch(r, s);
	}
	s = ns_series(steal, NS_LV(label));
	if (s) {
		ns_counter_add(s, (double)(cur->lat.sum - prev->lat.sum) / 1e9);
		ns_series_touch(r, s);
	}
}

static void init_vm(void *pv, void *e)
{
	(void)pv;
	label_vm(e);
}

static bool update_vm(void *ctx, void *ent, const __u64 *vals)
{
	struct priv *pv = ctx;
	struct vm_ent *e = ent;
	const struct ns_sched_vcpu_stat *c = (const void *)vals;
	pid_t tgid = (pid_t)e->key[0];

	emit_vm(pv->r, e->label, c, &e->prev);
	e->prev = *c;
	return e->key[0] == NS_SCHED_OTHER || !kill(tgid, 0) || errno != ESRCH;
}

static void init_tabs(struct priv *pv)
{
	pv->cg = (struct ns_keytab){sizeof(struct cg_ent), sizeof(__u64), CG_WORDS, init_cgroup,
				    update_cgroup};
	pv->vm = (struct ns_keytab){sizeof(struct vm_ent), sizeof(__u32), VM_WORDS, init_vm,
				    update_vm};
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	struct priv *pv = p->priv;
	int err;

	pv->r = r;
	err = ns_keytab_collect(&pv->cg, bpf_map__fd(pv->skel->maps.cg_stats), pv);
	return ns_keytab_collect(&pv->vm, bpf_map__fd(pv->skel->maps.vcpu_stats), pv) ?: err;
}

static void stop(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	if (!pv)
		return;
	ns_probe_detach(p);
	sched_bpf__destroy(pv->skel);
	if (pv->root_fd >= 0)
		close(pv->root_fd);
	ns_labelcap_free(pv->labels);
	ns_keytab_free(&pv->cg);
	ns_keytab_free(&pv->vm);
	free(pv);
	p->priv = NULL;
	p->obj = NULL;
}

#define SELFTEST_SLEEPS 500

static int sleeper(void *arg)
{
	struct timespec nap = {0, 100000};
	FILE *f = fopen(arg, "we");

	/* Alone in a cgroup of its own, so that its series holds only these switches. */
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		return 1;
	for (int i = 0; i < SELFTEST_SLEEPS; i++)
		nanosleep(&nap, NULL);
	return 0;
}

static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	char dir[300], procs[320], label[64];
	double sw, waits;
	int rc;

	(void)p;
	if (!ns_cgroup2_root()) {
		snprintf(detail, n, "no cgroup v2 hierarchy to make a test cgroup in");
		return 1;
	}
	snprintf(label, sizeof(label), "/novascope-selftest-%d", getpid());
	snprintf(dir, sizeof(dir), "%.200s%s", ns_cgroup2_root(), label);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (mkdir(dir, 0755)) {
		snprintf(detail, n, "cannot create test cgroup %s: %s", dir, strerror(errno));
		return 1;
	}
	rc = ns_selftest_child(sleeper, procs);
	sw = ns_selftest_total(t, csw_desc.name, "cgroup", label);
	waits = ns_selftest_total(t, runq_desc.name, "cgroup", label);
	rmdir(dir);
	if (rc) {
		snprintf(detail, n, "workload failed");
		return -1;
	}
	snprintf(detail, n, "%d sleeps in a child in its own cgroup: %.0f switches, %.0f waits",
		 SELFTEST_SLEEPS, sw, waits);
	return sw >= SELFTEST_SLEEPS && waits >= SELFTEST_SLEEPS ? 0 : -1;
}

const struct ns_probe_ops ns_sched_probe = {
	.name = "sched",
	.description = "Run-queue latency per cgroup and per VM (vCPU steal), switches, migrations",
	.check = check,
	.start = start,
	.collect = collect,
	.stop = stop,
	.report_family = "novascope_runqueue_latency_seconds",
	.selftest = selftest,
};
