// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_uprobes: RDMA connection setup and memory registration, from uprobes on the librdmacm
 * and libibverbs files of this node. Kernel side: bpf/rdma_uprobes.bpf.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "rdma.h"
#include "selftest.h"
#include "novascope/rdma.h"
#include "rdma_uprobes.skel.h"

static const struct ns_family_desc calls_desc = {
	.name = "novascope_rdma_calls_total",
	.help = "Calls an application made to traced librdmacm/libibverbs functions, per process "
		"name (calls the libraries make to themselves are not counted).",
	.type = NS_COUNTER,
	.labels = {"call", "comm"},
	.fold_label = 1,
};
static const struct ns_family_desc call_errors_desc = {
	.name = "novascope_rdma_call_errors_total",
	.help = "Of those, calls that failed (-1, an errno value, or NULL, per the function).",
	.type = NS_COUNTER,
	.labels = {"call", "comm"},
	.fold_label = 1,
};
static const struct ns_family_desc cm_events_desc = {
	.name = "novascope_rdma_cm_events_total",
	.help = "RDMA CM events returned by rdma_get_cm_event, by type and status.",
	.type = NS_COUNTER,
	.labels = {"event", "status"},
};
static const struct ns_family_desc connect_desc = {
	.name = "novascope_rdma_connect_latency_seconds",
	.help = "Time from rdma_connect to its ESTABLISHED event, per process name.",
	.type = NS_HISTOGRAM,
	.labels = {"comm"},
	.min_slot = 12, /* 8us */
	.max_slot = 35, /* ~69s */
	.scale = 1e-9,
};
static const struct ns_family_desc mr_count_desc = {
	.name = "novascope_rdma_mr_registrations_total",
	.help = "Successful memory registrations (ibv_reg_mr family), per process name.",
	.type = NS_COUNTER,
	.labels = {"comm"},
};
static const struct ns_family_desc mr_bytes_desc = {
	.name = "novascope_rdma_mr_registered_bytes_total",
	.help = "Bytes registered by successful memory registrations, per process name.",
	.type = NS_COUNTER,
	.labels = {"comm"},
};
static const struct ns_family_desc mr_lat_desc = {
	.name = "novascope_rdma_mr_registration_latency_seconds",
	.help = "Duration of successful memory registrations (pinning and mapping), per process "
		"name.",
	.type = NS_HISTOGRAM,
	.labels = {"comm"},
	.min_slot = 10, /* 2us */
	.max_slot = 35,
	.scale = 1e-9,
};

/* Traced functions, indexed by enum ns_rdma_call (the BPF cookie of their uprobes). */
static const char *const call_names[NS_RDMA_NCALLS] = {
	[NS_RDMA_GETADDRINFO] = "rdma_getaddrinfo",
	[NS_RDMA_CREATE_EVENT_CHANNEL] = "rdma_create_event_channel",
	[NS_RDMA_CREATE_ID] = "rdma_create_id",
	[NS_RDMA_RESOLVE_ADDR] = "rdma_resolve_addr",
	[NS_RDMA_RESOLVE_ROUTE] = "rdma_resolve_route",
	[NS_RDMA_CONNECT] = "rdma_connect",
	[NS_RDMA_LISTEN] = "rdma_listen",
	[NS_RDMA_ACCEPT] = "rdma_accept",
	[NS_RDMA_REJECT] = "rdma_reject",
	[NS_RDMA_DISCONNECT] = "rdma_disconnect",
	[NS_RDMA_GET_CM_EVENT] = "rdma_get_cm_event",
	[NS_RDMA_CREATE_QP] = "rdma_create_qp",
	[NS_RDMA_DESTROY_ID] = "rdma_destroy_id",
	[NS_IBV_GET_DEVICE_LIST] = "ibv_get_device_list",
	[NS_IBV_OPEN_DEVICE] = "ibv_open_device",
	[NS_IBV_ALLOC_PD] = "ibv_alloc_pd",
	[NS_IBV_REG_MR] = "ibv_reg_mr",
	[NS_IBV_REG_MR_IOVA] = "ibv_reg_mr_iova",
	[NS_IBV_REG_MR_IOVA2] = "ibv_reg_mr_iova2",
	[NS_IBV_REG_DMABUF_MR] = "ibv_reg_dmabuf_mr",
	[NS_IBV_DEREG_MR] = "ibv_dereg_mr",
	[NS_IBV_CREATE_CQ] = "ibv_create_cq",
	[NS_IBV_CREATE_QP] = "ibv_create_qp",
	[NS_IBV_MODIFY_QP] = "ibv_modify_qp",
};

struct priv {
	struct rdma_uprobes_bpf *skel;
	bool multi; /* uprobe_multi links, else perf uprobes */
	int link_fds[2 * NS_RDMA_MAX_LIBS]; /* uprobe_multi links */
	int nfds;
	struct bpf_link **links; /* perf uprobes */
	size_t nlinks;
	char rdmacm[PATH_MAX]; /* the librdmacm attached to, for the self-test */
	/* Kernel totals at the last collection, by map key. */
	struct ns_kv prev_calls, prev_comms, prev_events;
};

static const char *lib_path(const struct ns_config *c)
{
	if (!c)
		c = ns_config_active;
	return c ? c->rdma_lib_path : NULL;
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	char libs[NS_RDMA_MAX_LIBS][PATH_MAX], names[64] = "";
	int n;

	if (!ns_require_btf_task_storage(p, f))
		return false;
	if (!ns_uprobes_supported(p->reason, sizeof(p->reason)))
		return false;
	if (!ns_attach_cookie_supported()) {
		ns_probe_set_reason(p, "kernel lacks BPF cookies for uprobes (5.15+)");
		return false;
	}
	n = ns_rdma_find_libs(lib_path(NULL), libs, NS_RDMA_MAX_LIBS, p->reason, sizeof(p->reason));
	if (!n)
		return false;
	for (int i = 0; i < n; i++) {
		const char *b = strrchr(libs[i], '/') ? strrchr(libs[i], '/') + 1 : libs[i];

		/* librdmacm.so.1.3.44.0 -> librdmacm */
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%.*s",
			 i ? "," : "", (int)strcspn(b, "."), b);
	}
	ns_probe_set_hook(p, "uprobe %s", names);
	return true;
}

/* A perf uprobe on one function (kernels without uprobe_multi). */
static int attach_perf(struct ns_probe *p, struct priv *pv, struct bpf_program *prog,
		       const char *lib, __u64 off, __u64 cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l, **nl;

	/* pid -1: every process mapping this file, now or later. */
	l = bpf_program__attach_uprobe_opts(prog, -1, lib, (size_t)off, &o);
	if (!l) {
		ns_probe_set_reason(p, "uprobe on %s+0x%llx: %s", lib, (unsigned long long)off,
				    strerror(errno));
		return -errno;
	}
	nl = realloc(pv->links, (pv->nlinks + 1) * sizeof(*nl));
	if (!nl) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	pv->links = nl;
	pv->links[pv->nlinks++] = l;
	return 0;
}

/* Attach rdma_enter/rdma_exit to every traced function this file defines; how many. */
static int attach_lib(struct ns_probe *p, struct priv *pv, const char *lib)
{
	struct bpf_program *progs[2] = {pv->skel->progs.rdma_enter, pv->skel->progs.rdma_exit};
	__u64 offs[NS_RDMA_NCALLS], cookies[NS_RDMA_NCALLS];
	unsigned int n = 0;
	int err;

	for (unsigned int c = 0; c < NS_RDMA_NCALLS; c++) {
		uint64_t off;

		err = ns_elf_func_offset(lib, call_names[c], &off, NULL);
		if (err == -ENOENT)
			continue; /* not this library's, or an older version without it */
		if (err) {
			ns_probe_set_reason(p, "%s: cannot read symbols: %s", lib, strerror(-err));
			return err;
		}
		offs[n] = off;
		cookies[n++] = c;
		if (c == NS_RDMA_CREATE_EVENT_CHANNEL)
			ns_rdma_fmt(pv->rdmacm, sizeof(pv->rdmacm), "%s", lib);
	}
	for (int r = 0; n && r < 2; r++) {
		if (!pv->multi) {
			for (unsigned int i = 0; i < n; i++) {
				err = attach_perf(p, pv, progs[r], lib, offs[i], cookies[i], r);
				if (err)
					return err;
			}
			continue;
		}
		err = ns_link_create_uprobe_multi(bpf_program__fd(progs[r]), lib, offs, cookies, n,
						  r);
		if (err < 0) {
			ns_probe_set_reason(p, "uprobe_multi link on %s: %s", lib, strerror(errno));
			return -errno;
		}
		pv->link_fds[pv->nfds++] = err;
	}
	ns_log(NS_LOG_DEBUG, "rdma uprobes attached", "library", lib, NULL);
	return (int)n;
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	char libs[NS_RDMA_MAX_LIBS][PATH_MAX];
	struct priv *pv = calloc(1, sizeof(*pv));
	int nlibs, nfns = 0, err;

	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	ns_kv_init(&pv->prev_calls, sizeof(struct ns_rdma_call_key),
		   sizeof(struct ns_rdma_call_stat));
	ns_kv_init(&pv->prev_comms, sizeof(struct ns_rdma_comm_key),
		   sizeof(struct ns_rdma_comm_stat));
	ns_kv_init(&pv->prev_events, sizeof(struct ns_rdma_event_key), sizeof(__u64));
	nlibs = ns_rdma_find_libs(lib_path(cfg), libs, NS_RDMA_MAX_LIBS, p->reason,
				  sizeof(p->reason));
	if (!nlibs)
		return -ENOENT;
	pv->multi = cfg->rdma_uprobe_multi && ns_uprobe_multi_supported();
	pv->skel = rdma_uprobes_bpf__open();
	if (!pv->skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	p->obj = pv->skel->obj;
	p->drops = pv->skel->maps.drops;
	/* The counts and the connects in flight are pinned; links are not (uprobe_multi links
	 * are file descriptors of their own): a restart misses the calls of that instant. */
	err = ns_probe_pin_maps(p, p->obj, cfg->pin_path,
				NS_LV("call_stats", "comm_stats", "cm_events", "conns", NULL));
	if (err)
		return err;
	if (pv->multi) {
		bpf_program__set_expected_attach_type(pv->skel->progs.rdma_enter,
						      NS_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(pv->skel->progs.rdma_exit,
						      NS_BPF_TRACE_UPROBE_MULTI);
	}
	err = rdma_uprobes_bpf__load(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	for (int i = 0; i < nlibs; i++) {
		err = attach_lib(p, pv, libs[i]);
		if (err < 0)
			return err;
		nfns += err;
	}
	if (!nfns) {
		ns_probe_set_reason(p, "no RDMA functions in %s%s", libs[0],
				    nlibs > 1 ? " ..." : "");
		return -ENOENT;
	}
	ns_probe_set_hook(p, "%s %d functions in %d libraries",
			  pv->multi ? "uprobe_multi" : "uprobe", nfns, nlibs);
	if (p->adopted)
		ns_log(NS_LOG_INFO, "adopted pinned state: counts continue", "probe", p->ops->name,
		       "pin_dir", p->pin_dir, NULL);
	return 0;
}

/* Hist delta of cur over prev (both cumulative) into a registry histogram series. */
static void hist_delta(struct ns_series *s, const struct ns_hist *cur, const struct ns_hist *prev)
{
	__u64 d[NS_HIST_SLOTS];

	for (int k = 0; k < NS_HIST_SLOTS; k++)
		d[k] = cur->slots[k] - prev->slots[k];
	ns_hist_add(s, d, (double)(cur->sum - prev->sum));
}

static void add_counter(struct ns_registry *r, const struct ns_family_desc *d,
			const char *const *labels, double delta)
{
	struct ns_series *s = ns_series(ns_family(r, d), labels);

	if (s) {
		ns_counter_add(s, delta);
		ns_series_touch(r, s);
	}
}

static void collect_calls(struct priv *pv, struct ns_registry *r)
{
	int fd = bpf_map__fd(pv->skel->maps.call_stats);
	struct ns_rdma_call_key key, next, *kp = NULL;
	struct ns_rdma_call_stat cur, *prev;
	char comm[NS_RDMA_COMM_LEN + 1];

	while (!bpf_map_get_next_key(fd, kp, &next)) {
		key = next;
		kp = &key;
		if (bpf_map_lookup_elem(fd, &key, &cur) || key.call >= NS_RDMA_NCALLS)
			continue;
		prev = ns_kv_get(&pv->prev_calls, &key, true);
		if (!prev)
			return;
		memcpy(comm, key.comm, NS_RDMA_COMM_LEN);
		comm[NS_RDMA_COMM_LEN] = 0;
		add_counter(r, &calls_desc, NS_LV(call_names[key.call], comm),
			    (double)(cur.calls - prev->calls));
		add_counter(r, &call_errors_desc, NS_LV(call_names[key.call], comm),
			    (double)(cur.errors - prev->errors));
		*prev = cur;
	}
}

static void collect_comms(struct priv *pv, struct ns_registry *r)
{
	int fd = bpf_map__fd(pv->skel->maps.comm_stats);
	struct ns_rdma_comm_key key, next, *kp = NULL;
	struct ns_rdma_comm_stat cur, *prev;
	char comm[NS_RDMA_COMM_LEN + 1];
	struct ns_series *s;

	while (!bpf_map_get_next_key(fd, kp, &next)) {
		key = next;
		kp = &key;
		if (bpf_map_lookup_elem(fd, &key, &cur))
			continue;
		prev = ns_kv_get(&pv->prev_comms, &key, true);
		if (!prev)
			return;
		memcpy(comm, key.comm, NS_RDMA_COMM_LEN);
		comm[NS_RDMA_COMM_LEN] = 0;
		if (ns_hist_count(cur.connect.slots) &&
		    (s = ns_series(ns_family(r, &connect_desc), NS_LV(comm)))) {
			hist_delta(s, &cur.connect, &prev->connect);
			ns_series_touch(r, s);
		}
		if (ns_hist_count(cur.mr.slots)) {
			if ((s = ns_series(ns_family(r, &mr_lat_desc), NS_LV(comm)))) {
				hist_delta(s, &cur.mr, &prev->mr);
				ns_series_touch(r, s);
			}
			add_counter(r, &mr_count_desc, NS_LV(comm),
				    (double)(ns_hist_count(cur.mr.slots) -
					     ns_hist_count(prev->mr.slots)));
			add_counter(r, &mr_bytes_desc, NS_LV(comm),
				    (double)(cur.mr_bytes - prev->mr_bytes));
		}
		*prev = cur;
	}
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	struct priv *pv = p->priv;

	collect_calls(pv, r);
	collect_comms(pv, r);
	ns_rdma_collect_cm_events(bpf_map__fd(pv->skel->maps.cm_events), &pv->prev_events,
				  &cm_events_desc, r);
	return 0;
}

static void stop(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	if (!pv)
		return;
	for (int i = 0; i < pv->nfds; i++)
		close(pv->link_fds[i]);
	for (size_t i = 0; i < pv->nlinks; i++)
		bpf_link__destroy(pv->links[i]);
	free(pv->links);
	rdma_uprobes_bpf__destroy(pv->skel);
	ns_kv_free(&pv->prev_calls);
	ns_kv_free(&pv->prev_comms);
	ns_kv_free(&pv->prev_events);
	free(pv);
	p->priv = NULL;
	p->obj = NULL;
	p->drops = NULL;
}

/* In the self-test's child: call the library the probe is attached to, as an application. */
static int create_channel(void *arg)
{
	void *h = dlopen(arg, RTLD_NOW | RTLD_LOCAL), *ch;
	void *(*create)(void);
	void (*destroy)(void *);

	if (!h)
		return -1;
	create = (void *(*)(void))dlsym(h, "rdma_create_event_channel");
	destroy = (void (*)(void *))dlsym(h, "rdma_destroy_event_channel");
	if (!create || !destroy)
		return -1;
	ch = create(); /* NULL (ENODEV) on a node without an RDMA device */
	if (ch)
		destroy(ch);
	return 0;
}

static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	struct priv *pv = p->priv;
	const char *call = call_names[NS_RDMA_CREATE_EVENT_CHANNEL];
	double calls, errs;

	if (!*pv->rdmacm) {
		snprintf(detail, n, "no librdmacm among the attached libraries");
		return 1;
	}
	calls = ns_selftest_total(t, calls_desc.name, "call", call);
	errs = ns_selftest_total(t, call_errors_desc.name, "call", call);
	if (ns_selftest_child(create_channel, pv->rdmacm)) {
		snprintf(detail, n, "cannot call %s in %s", call, pv->rdmacm);
		return -1;
	}
	calls = ns_selftest_total(t, calls_desc.name, "call", call) - calls;
	errs = ns_selftest_total(t, call_errors_desc.name, "call", call) - errs;
	snprintf(detail, n, "1 %s call in a child through %s: counted %.0f (%.0f failed)", call,
		 pv->rdmacm, calls, errs);
	return calls == 1 ? 0 : -1;
}

const struct ns_probe_ops ns_rdma_uprobes_probe = {
	.name = "rdma_uprobes",
	.description = "RDMA connect latency, CM events, MR registrations via library uprobes",
	.check = check,
	.start = start,
	.collect = collect,
	.stop = stop,
	.report_family = "novascope_rdma_connect_latency_seconds",
	.selftest = selftest,
};
