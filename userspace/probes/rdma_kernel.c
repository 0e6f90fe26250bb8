// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_kernel: the RDMA core's own tracepoints (rdma_cma, rdma_core, ib_mad), for kernel
 * consumers of RDMA. Kernel side: bpf/rdma_kernel.bpf.c. Each group is used when the kernel has
 * it (the groups appear with CONFIG_INFINIBAND and ib_core/rdma_cm loaded); with none of them
 * the probe is unsupported and the two other RDMA probes work on.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "features.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "config.h"
#include "rdma.h"
#include "novascope/rdma.h"
#include "rdma_kernel.skel.h"

#define TRACEFS "/sys/kernel/tracing"
#define NONE 0xffffffffu

static const struct ns_family_desc kcm_desc = {
	.name = "novascope_rdma_kernel_cm_events_total",
	.help = "RDMA CM events delivered in the kernel (rdma_cma:cm_event_handler), by type and "
		"status; includes those later read by librdmacm users.",
	.type = NS_COUNTER,
	.labels = {"event", "status"},
};
static const struct ns_family_desc kconnect_desc = {
	.name = "novascope_rdma_kernel_connect_latency_seconds",
	.help = "Time from a connect REQ sent (rdma_cma:cm_send_req) to ESTABLISHED.",
	.type = NS_HISTOGRAM,
	.min_slot = 12,
	.max_slot = 35,
	.scale = 1e-9,
};
static const struct ns_family_desc cq_desc = {
	.name = "novascope_rdma_cq_wakeup_latency_seconds",
	.help = "Time from a completion queue being scheduled to its processing "
		"(rdma_core:cq_process, microsecond resolution), by what scheduled it.",
	.type = NS_HISTOGRAM,
	.labels = {"source"},
	.min_slot = 9,
	.max_slot = 31,
	.scale = 1e-9,
};
static const struct ns_family_desc mad_desc = {
	.name = "novascope_rdma_mad_total",
	.help = "InfiniBand management datagrams (ib_mad tracepoints), by event.",
	.type = NS_COUNTER,
	.labels = {"event"},
};

/* Tracepoint, its program, and the group it belongs to. */
static const struct {
	const char *cat, *name, *prog;
} tps[] = {
	{"rdma_cma", "cm_event_handler", "cm_event_handler"},
	{"rdma_cma", "cm_send_req", "cm_send_req"},
	{"rdma_core", "cq_process", "cq_process"},
	{"ib_mad", "ib_mad_ib_send_mad", "mad_send"},
	{"ib_mad", "ib_mad_recv_done_handler", "mad_recv"},
	{"ib_mad", "ib_mad_error_handler", "mad_error"},
	{"ib_mad", "ib_mad_send_done_resend", "mad_resend"},
};

#define NTPS (sizeof(tps) / sizeof(tps[0]))

struct priv {
	struct rdma_kernel_bpf *skel;
	struct ns_rdma_kstat prev;
	struct ns_kv prev_events;
};

/* Does the declaration "type name[N]" (between d and end) declare field? */
static bool declares(const char *d, const char *end, const char *field)
{
	size_t flen = strlen(field);
	const char *name;

	while (end > d && end[-1] == ']') /* drop array suffixes */
		while (end > d && *--end != '[')
			;
	name = end;
	while (name > d && (isalnum((unsigned char)name[-1]) || name[-1] == '_'))
		name--;
	return (size_t)(end - name) == flen && !strncmp(name, field, flen);
}

int ns_tp_format_field(const char *format, const char *field, unsigned int *offset,
		       unsigned int *size)
{
	char line[512];

	/* Lines look like: "\tfield:unsigned long event;\toffset:16;\tsize:8;\tsigned:0;" */
	for (const char *l = format; l && *l;) {
		const char *eol = strchr(l, '\n'), *f, *semi, *o, *z;
		size_t n = eol ? (size_t)(eol - l) : strlen(l);

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
			 l);
		l = eol ? eol + 1 : NULL;
		f = strstr(line, "field:");
		semi = f ? strchr(f, ';') : NULL;
		if (!semi || !declares(f + 6, semi, field))
			continue;
		o = strstr(semi, "offset:");
		z = strstr(semi, "size:");
		if (o && z && sscanf(o, "offset:%u", offset) == 1 &&
		    sscanf(z, "size:%u", size) == 1)
			return 0;
	}
	return -ENOENT;
}

static char *read_format(const char *tracefs, const char *cat, const char *name)
{
	char path[PATH_MAX], *buf;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/%s/%s/format", tracefs, cat, name);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = calloc(1, 16384);
	if (buf)
		n = fread(buf, 1, 16383, f);
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

bool ns_rdma_tp_offsets(const char *tracefs, const char *cat, const char *name,
			struct ns_rdma_tp_offsets *o)
{
	char *fmt = read_format(tracefs, cat, name);
	unsigned int sz = 0, sz2 = 0;
	bool ok = true;

	if (!fmt)
		return false;
	if (!strcmp(name, "cm_event_handler"))
		ok = !ns_tp_format_field(fmt, "cm_id", &o->ev_cm_id, &sz) &&
		     !ns_tp_format_field(fmt, "event", &o->ev_event, &o->ev_event_size) &&
		     !ns_tp_format_field(fmt, "status", &o->ev_status, &sz2) && sz == 4 && sz2 == 4;
	else if (!strcmp(name, "cm_send_req"))
		ok = !ns_tp_format_field(fmt, "cm_id", &o->req_cm_id, &sz) && sz == 4;
	else if (!strcmp(name, "cq_process"))
		ok = !ns_tp_format_field(fmt, "interrupt", &o->cq_interrupt, &sz) &&
		     !ns_tp_format_field(fmt, "latency", &o->cq_latency, &sz2) && sz == 1 &&
		     sz2 == 8;
	free(fmt);
	return ok;
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	char groups[64] = "";

	if (!f->tracefs) {
		ns_probe_set_reason(p, "tracefs is not mounted (classic tracepoints need it)");
		return false;
	}
	for (size_t i = 0; i < NTPS; i++) {
		if (strstr(groups, tps[i].cat) || !ns_tracepoint_exists(tps[i].cat, tps[i].name))
			continue;
		snprintf(groups + strlen(groups), sizeof(groups) - strlen(groups), "%s%s",
			 *groups ? "," : "", tps[i].cat);
	}
	if (!*groups) {
		ns_probe_set_reason(p, "kernel has no rdma_cma, rdma_core or ib_mad tracepoints "
				       "(RDMA core not built, or ib_core/rdma_cm not loaded)");
		return false;
	}
	ns_probe_set_hook(p, "tracepoint %s", groups);
	return true;
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	struct ns_rdma_tp_offsets off;
	struct priv *pv = calloc(1, sizeof(*pv));
	int err, n = 0;

	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	ns_kv_init(&pv->prev_events, sizeof(struct ns_rdma_event_key), sizeof(__u64));
	memset(&off, 0xff, sizeof(off));
	pv->skel = rdma_kernel_bpf__open();
	if (!pv->skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	p->obj = pv->skel->obj;
	p->drops = pv->skel->maps.drops;
	for (size_t i = 0; i < NTPS; i++) {
		bool use = ns_tracepoint_exists(tps[i].cat, tps[i].name) &&
			   ns_rdma_tp_offsets(TRACEFS, tps[i].cat, tps[i].name, &off);

		/* Programs of missing tracepoints are not loaded, so not attached either. */
		bpf_program__set_autoload(bpf_object__find_program_by_name(p->obj, tps[i].prog),
					  use);
		n += use;
		if (!use)
			ns_log(NS_LOG_INFO, "rdma tracepoint not used", "tracepoint", tps[i].name,
			       NULL);
	}
	if (!n) {
		ns_probe_set_reason(p, "no usable RDMA tracepoint (format files lack the fields)");
		return -ENOENT;
	}
	pv->skel->rodata->off = off;
	/* The counts are pinned; connects in flight too (a restart does not lose them). */
	err = ns_probe_pin_maps(p, p->obj, cfg->pin_path,
				NS_LV("kstats", "kcm_events", "kconns", NULL));
	if (err)
		return err;
	err = rdma_kernel_bpf__load(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	return ns_probe_attach(p, p->obj);
}

static void hist_series(struct ns_registry *r, const struct ns_family_desc *d,
			const char *const *labels, const struct ns_hist *cur,
			const struct ns_hist *prev)
{
	struct ns_series *s;
	__u64 dl[NS_HIST_SLOTS];

	if (!ns_hist_count(cur->slots) || !(s = ns_series(ns_family(r, d), labels)))
		return;
	for (int k = 0; k < NS_HIST_SLOTS; k++)
		dl[k] = cur->slots[k] - prev->slots[k];
	ns_hist_add(s, dl, (double)(cur->sum - prev->sum));
	ns_series_touch(r, s);
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	static const char *const mads[NS_RDMA_MAD_NKINDS] = {"send", "recv", "error", "resend"};
	struct priv *pv = p->priv;
	int ncpu = ns_nr_cpus(), zero = 0;
	struct ns_rdma_kstat *v = calloc((size_t)ncpu, sizeof(*v)), cur = {};
	struct ns_series *s;

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(pv->skel->maps.kstats), &zero, v)) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < ncpu; c++) {
		const __u64 *a = (const __u64 *)&v[c];
		__u64 *o = (__u64 *)&cur;

		for (size_t k = 0; k < sizeof(cur) / sizeof(__u64); k++)
			o[k] += a[k];
	}
	free(v);
	hist_series(r, &kconnect_desc, NULL, &cur.connect, &pv->prev.connect);
	hist_series(r, &cq_desc, NS_LV("reschedule"), &cur.cq_wake[0], &pv->prev.cq_wake[0]);
	hist_series(r, &cq_desc, NS_LV("interrupt"), &cur.cq_wake[1], &pv->prev.cq_wake[1]);
	for (int k = 0; k < NS_RDMA_MAD_NKINDS; k++) {
		if (!cur.mad[k] || !(s = ns_series(ns_family(r, &mad_desc), NS_LV(mads[k]))))
			continue;
		ns_counter_add(s, (double)(cur.mad[k] - pv->prev.mad[k]));
		ns_series_touch(r, s);
	}
	pv->prev = cur;
	ns_rdma_collect_cm_events(bpf_map__fd(pv->skel->maps.kcm_events), &pv->prev_events,
				  &kcm_desc, r);
	return 0;
}

static void stop(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	if (!pv)
		return;
	ns_probe_detach(p);
	rdma_kernel_bpf__destroy(pv->skel);
	ns_kv_free(&pv->prev_events);
	free(pv);
	p->priv = NULL;
	p->obj = NULL;
	p->drops = NULL;
}

const struct ns_probe_ops ns_rdma_kernel_probe = {
	.name = "rdma_kernel",
	.description = "Kernel RDMA CM events, connect and CQ wake-up latency, MADs",
	.check = check,
	.start = start,
	.collect = collect,
	.stop = stop,
	.report_family = "novascope_rdma_cq_wakeup_latency_seconds",
};
