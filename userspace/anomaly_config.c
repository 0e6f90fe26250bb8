// SPDX-License-Identifier: GPL-2.0
/*
 * Signal definitions: the built-in signals, the config file's `anomaly:` section, and how they
 * merge. Precedence, lowest first: detector defaults and the defaults of the signal's stat,
 * the section's `defaults:`, a built-in signal's own keys, the config file's keys for a signal
 * of that name. The built-in signals are written in YAML below and parsed by the same code as
 * the config file, so the README can show them as they are.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "anomaly_cfg.h"
#include "config.h"
#include "config_sections.h"

/*
 * Waiting syscalls: their latency is how long a program chose to wait (idle event loops,
 * sleeps, child processes, locks held by its own threads; ioctl is mostly KVM_RUN on a
 * hypervisor, i.e. guest run time), not how long the kernel took to serve it.
 */
#define WAITING_SYSCALLS                                                                    \
	"[futex, futex_waitv, epoll_wait, epoll_pwait, epoll_pwait2, poll, ppoll, select, " \
	"pselect6, nanosleep, clock_nanosleep, wait4, waitid, pause, rt_sigsuspend, "       \
	"rt_sigtimedwait, io_getevents, io_pgetevents, io_uring_enter, accept, accept4, "   \
	"msgrcv, semop, semtimedop, mq_timedreceive, ioctl, vfork, restart_syscall, flock]"

static const char builtin_yaml[] = "- name: syscall_latency_p99\n"
				   "  metric: novascope_syscall_latency_seconds\n"
				   "  stat: p99\n"
				   "  by: [syscall]\n"
				   "  exclude: {syscall: " WAITING_SYSCALLS "}\n"
				   "  min_count: 50\n"
				   "- name: block_device_latency_p99\n"
				   "  metric: novascope_block_io_latency_seconds\n"
				   "  stat: p99\n"
				   "  match: {phase: device}\n"
				   "  by: [device]\n"
				   "- name: block_slow_io_rate\n"
				   "  metric: novascope_block_slow_io_total\n"
				   "  stat: rate\n"
				   "  by: [device]\n"
				   "  min_count: 5\n"
				   "- name: vcpu_runqueue_latency_p99\n"
				   "  metric: novascope_vcpu_runqueue_latency_seconds\n"
				   "  stat: p99\n"
				   "  by: [vm]\n"
				   "- name: kvm_exit_latency_p99\n"
				   "  metric: novascope_kvm_exit_latency_seconds\n"
				   "  stat: p99\n"
				   "  by: [reason]\n"
				   "- name: tcp_retransmit_rate\n"
				   "  metric: novascope_tcp_retransmitted_segments_total\n"
				   "  stat: rate\n"
				   "  by: [class]\n"
				   "- name: tcp_rtt_p99\n"
				   "  metric: novascope_tcp_rtt_seconds\n"
				   "  stat: p99\n"
				   "  by: [class]\n"
				   "- name: rdma_port_error_rate\n"
				   "  metric: novascope_rdma_port_errors_total\n"
				   "  stat: rate\n"
				   "  by: [device, port]\n"
				   "  min_count: 1\n";

static void base_defaults(struct build *b)
{
	memset(&b->d, 0, sizeof(b->d));
	b->scale_set = b->min_count_set = b->spread_abs_set = b->spread_rel_set = false;
	b->dir_set = b->resolve_set = false;
	ns_det_defaults(&b->d.det);
	b->d.severity = strdup("warning");
	b->d.max_groups = 500;
}

/* NovascopeSyscallLatencyP99 from syscall_latency_p99. */
static char *camel(const char *name)
{
	char *out = malloc(strlen(name) + 10), *o;
	bool up = true;

	if (!out)
		return NULL;
	o = out + sprintf(out, "Novascope");
	for (; *name; name++) {
		if (*name == '_') {
			up = true;
			continue;
		}
		*o++ = up ? (char)toupper((unsigned char)*name) : *name;
		up = false;
	}
	*o = 0;
	return out;
}

/* Stat-dependent defaults, and the checks that need the whole definition. */
static int finalize(struct ctx *x, const char *where, struct build *b)
{
	struct ns_signal_def *d = &b->d;
	bool latency = d->stat == NS_STAT_QUANTILE || d->stat == NS_STAT_MEAN;
	const char *e;

	if (!d->metric)
		FAIL(x, where, "metric is required");
	if (!d->stat_str)
		FAIL(x, where, "stat is required");
	if (!b->scale_set)
		d->det.log_scale = latency;
	if (!b->min_count_set)
		d->min_count = latency ? 20 : d->stat == NS_STAT_RATE ? 10 : 0;
	if (!b->spread_abs_set && d->stat == NS_STAT_RATE)
		d->det.min_spread_abs = 1; /* events per second */
	/* A quantile read from log2 buckets moves by up to 2x when it crosses a bucket bound,
	 * and on a busy node a p99 of microseconds triples for seconds at a time: a floor of 50%
	 * (log(1.5) on the log scale) makes z = 3 at least a 3.4x change. */
	if (!b->spread_rel_set && d->stat == NS_STAT_QUANTILE)
		d->det.min_spread_rel = 0.5;
	if (d->for_set && !d->det.threshold)
		FAIL(x, where, "for: only applies to a threshold (above or below)");
	if (d->det.threshold && d->for_set) {
		uint64_t iv = x->interval_ns ? x->interval_ns : 1000000000ULL;

		d->det.fire_after = (unsigned int)((d->for_ns + iv - 1) / iv);
		if (!d->det.fire_after)
			d->det.fire_after = 1;
	}
	e = ns_det_params_check(&d->det);
	if (e)
		FAIL(x, where, "%s", e);
	if (d->max_groups < 1 || d->max_groups > 100000)
		FAIL(x, where, "max_groups must be 1..100000");
	if (!d->alertname && !(d->alertname = camel(d->name)))
		return -1;
	return 0;
}

struct section {
	bool enabled, builtins;
	const char *instance;
	yaml_node_t *defaults, *signals;
};

static int read_section(struct ctx *x, yaml_node_t *n, struct section *s)
{
	memset(s, 0, sizeof(*s));
	s->enabled = s->builtins = true;
	if (!n)
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		FAIL(x, "anomaly",
		     "want a mapping (enabled, instance, builtin_signals, defaults, signals)");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(x->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *sv = ns_yaml_scalar(v);

		if (!k)
			FAIL(x, "anomaly", "keys must be plain names");
		if (!strcmp(k, "enabled") || !strcmp(k, "builtin_signals")) {
			if (!sv || ns_parse_bool(sv, k[0] == 'e' ? &s->enabled : &s->builtins))
				FAIL(x, "anomaly", "%s: want true or false", k);
		} else if (!strcmp(k, "instance")) {
			if (!sv || !*sv)
				FAIL(x, "anomaly", "instance: want a non-empty value");
			s->instance = sv;
		} else if (!strcmp(k, "defaults")) {
			if (!v || v->type != YAML_MAPPING_NODE)
				FAIL(x, "anomaly.defaults", "want a mapping of detector settings");
			s->defaults = v;
		} else if (!strcmp(k, "signals")) {
			if (!v || v->type != YAML_SEQUENCE_NODE)
				FAIL(x, "anomaly.signals", "want a list of signals");
			s->signals = v;
		} else {
			FAIL(x, "anomaly", "unknown key \"%s\"", k);
		}
	}
	return 0;
}

static int load_builtins(yaml_document_t *bdoc)
{
	yaml_parser_t parser;
	int ok;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)builtin_yaml,
				     sizeof(builtin_yaml) - 1);
	ok = yaml_parser_load(&parser, bdoc);
	yaml_parser_delete(&parser);
	return ok ? 0 : -1;
}

/* Collect (name, built-in node, config node) for every signal; names must be unique. */
static int gather(struct ctx *x, yaml_document_t *bdoc, const struct section *s, struct build *bs,
		  int *n)
{
	yaml_node_t *root = yaml_document_get_root_node(bdoc);
	int k = 0;

	for (yaml_node_item_t *it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++) {
		bs[k].bnode = yaml_document_get_node(bdoc, *it);
		bs[k++].bdoc = bdoc;
	}
	for (int j = 0; s->signals && s->signals->data.sequence.items.start + j <
					      s->signals->data.sequence.items.top;
	     j++) {
		yaml_node_t *m =
			yaml_document_get_node(x->doc, s->signals->data.sequence.items.start[j]);
		const char *name = ns_yaml_scalar(ns_yaml_get(x->doc, m, "name"));
		char where[64];
		int i;

		snprintf(where, sizeof(where), "anomaly.signals[%d]", j);
		if (!m || m->type != YAML_MAPPING_NODE)
			FAIL(x, where, "want a mapping (name, metric, stat, ...)");
		if (!name || !ns_anomaly_name_ok(name, false) || strlen(name) > 64)
			FAIL(x, where, "name: \"%s\": want up to 64 letters, digits and _",
			     name ? name : "(missing)");
		for (i = 0; i < k; i++) {
			const char *bn =
				bs[i].bnode
					? ns_yaml_scalar(ns_yaml_get(bdoc, bs[i].bnode, "name"))
					: ns_yaml_scalar(ns_yaml_get(x->doc, bs[i].unode, "name"));
			if (!strcmp(bn, name))
				break;
		}
		if (i < k && bs[i].unode)
			FAIL(x, where, "signal \"%s\" is defined twice", name);
		bs[i].unode = m;
		if (i == k)
			k++;
	}
	*n = k;
	return 0;
}

static int build_one(struct ctx *x, yaml_document_t *udoc, const struct section *s, struct build *b)
{
	yaml_document_t *doc = b->bnode ? b->bdoc : udoc;
	const char *name = ns_yaml_scalar(ns_yaml_get(doc, b->bnode ? b->bnode : b->unode, "name"));
	char where[128];
	int ret = 0;

	snprintf(where, sizeof(where), "%s signal %s", b->unode ? "anomaly.signals:" : "built-in",
		 name);
	base_defaults(b);
	b->d.name = strdup(name);
	b->d.builtin = b->bnode != NULL;
	x->doc = udoc;
	if (s->defaults)
		ret = ns_anomaly_apply_map(x, "anomaly.defaults", b, s->defaults, true);
	x->doc = b->bdoc;
	if (!ret && b->bnode)
		ret = ns_anomaly_apply_map(x, where, b, b->bnode, false);
	x->doc = udoc;
	if (!ret && b->unode)
		ret = ns_anomaly_apply_map(x, where, b, b->unode, false);
	return ret ? ret : finalize(x, where, b);
}

/* Build every definition from the section node (NULL: built-ins only). */
static int build_all(struct ctx *x, yaml_node_t *node, struct ns_signal_def **out,
		     struct section *s)
{
	yaml_document_t bdoc, *udoc = x->doc;
	struct build *bs = NULL;
	int n = 0, kept = 0, ret = -1;
	size_t cap;

	*out = NULL;
	if (read_section(x, node, s))
		return -1;
	if (load_builtins(&bdoc)) {
		fprintf(x->err, "novascope: built-in anomaly signals do not parse\n");
		return -1;
	}
	cap = 64 + (s->signals ? (size_t)(s->signals->data.sequence.items.top -
					  s->signals->data.sequence.items.start)
			       : 0);
	bs = calloc(cap, sizeof(*bs));
	*out = calloc(cap, sizeof(**out));
	if (!bs || !*out || gather(x, &bdoc, s, bs, &n))
		goto cleanup;
	for (int i = 0; i < n; i++) {
		if (bs[i].bnode && !bs[i].unode && !s->builtins)
			continue;
		/* Kept even when it fails, so that cleanup frees what it holds. */
		if (build_one(x, udoc, s, &bs[i])) {
			(*out)[kept++] = bs[i].d;
			goto cleanup;
		}
		(*out)[kept++] = bs[i].d;
	}
	ret = kept;
cleanup:
	x->doc = udoc;
	if (ret < 0) {
		ns_signal_defs_free(*out, kept);
		*out = NULL;
	}
	free(bs);
	yaml_document_delete(&bdoc);
	return ret;
}

int ns_anomaly_config_section(struct ns_config *c, yaml_document_t *doc, yaml_node_t *node,
			      FILE *err)
{
	struct ctx x = {c->config_file, err, doc, c->interval_ns};
	struct ns_signal_def *defs;
	struct section s;
	int n = build_all(&x, node, &defs, &s);

	if (n < 0)
		return -1;
	ns_signal_defs_free(defs, n);
	return 0;
}

int ns_anomaly_load_defs(const struct ns_config *c, struct ns_signal_def **defs, FILE *err,
			 char *instance, size_t instance_len, bool *enabled)
{
	yaml_document_t *doc = c->yaml;
	yaml_node_t *node =
		doc ? ns_yaml_get(doc, yaml_document_get_root_node(doc), "anomaly") : NULL;
	struct ctx x = {c->config_file ? c->config_file : "(built-in)", err, doc, c->interval_ns};
	struct section s;
	int n = build_all(&x, node, defs, &s);

	if (n < 0)
		return -1;
	*enabled = s.enabled;
	if (s.instance)
		snprintf(instance, instance_len, "%s", s.instance);
	else if (gethostname(instance, instance_len) || !*instance)
		snprintf(instance, instance_len, "localhost");
	instance[instance_len - 1] = 0;
	return n;
}
