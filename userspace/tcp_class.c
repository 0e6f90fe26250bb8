// SPDX-License-Identifier: GPL-2.0
/* TCP traffic classes: config section, built-in migration class, compiled rule tables. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_sections.h"
#include "tcp_class.h"

/* QEMU's migration threads (with -name ...,debug-threads=on): QEMU <= 8 names them
 * live_migration / multifdsend_N / multifdrecv_N, QEMU 9+ mig/src/main, mig/src/send_N,
 * mig/dst/recv_N. libvirt's default migration port range is 49152-49215. */
static const char *const builtin_threads[] = {"live_migration", "multifdsend_*", "multifdrecv_*",
					      "mig/*"};
#define BUILTIN_LO 49152
#define BUILTIN_HI 49215
#define USER_GLOBS (NS_TCP_MAX_GLOBS - 4)

static struct ns_tcp_classes user; /* from the config file */
static struct ns_tcp_classes merged; /* user + built-in, rebuilt on demand */

static void free_def(struct ns_tcp_class_def *d)
{
	for (int i = 0; i < d->nthreads; i++)
		free(d->threads[i]);
	for (int i = 0; i < d->ncgroups; i++)
		free(d->cgroups[i]);
	memset(d, 0, sizeof(*d));
}

void ns_tcp_classes_reset(void)
{
	for (int i = 0; i < user.n; i++)
		free_def(&user.c[i]);
	memset(&user, 0, sizeof(user));
}

int ns_tcp_parse_range(const char *s, struct ns_tcp_range *r, char *why, size_t n)
{
	unsigned long long lo, hi;
	char a[32], *dash;

	if (!s || !*s || strlen(s) >= sizeof(a)) {
		snprintf(why, n, "want a port \"N\" or a range \"N-M\"");
		return -1;
	}
	snprintf(a, sizeof(a), "%s", s);
	dash = strchr(a, '-');
	if (dash)
		*dash = 0;
	if (ns_parse_uint(a, ~0ULL, &lo) || (dash && ns_parse_uint(dash + 1, ~0ULL, &hi))) {
		snprintf(why, n, "want a port \"N\" or a range \"N-M\"");
		return -1;
	}
	if (!dash)
		hi = lo;
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
		snprintf(why, n, "port %llu out of range 1-65535", lo < 1 || lo > 65535 ? lo : hi);
		return -1;
	}
	if (lo > hi) {
		snprintf(why, n, "range %llu-%llu is backwards", lo, hi);
		return -1;
	}
	r->lo = (unsigned int)lo;
	r->hi = (unsigned int)hi;
	return 0;
}

/* Collapse runs of '*'; -1 when empty or longer than a thread name (15 characters). */
static int normalize_glob(const char *pat, char *out, size_t n)
{
	size_t k = 0;

	if (!*pat)
		return -1;
	for (const char *p = pat; *p; p++) {
		if (*p == '*' && k && out[k - 1] == '*')
			continue;
		if (k + 1 >= n)
			return -1;
		out[k++] = *p;
	}
	out[k] = 0;
	return 0;
}

int ns_tcp_glob_compile(const char *pat, unsigned int class, struct ns_tcp_glob *g)
{
	char p[NS_TCP_COMM_LEN];
	unsigned int m;

	if (normalize_glob(pat, p, sizeof(p)))
		return -1;
	memset(g, 0, sizeof(*g));
	m = (unsigned int)strlen(p);
	for (unsigned int i = 0; i < m; i++) {
		if (p[i] == '*') {
			g->star |= 1u << i;
			continue;
		}
		for (unsigned int c = 1; c < 256; c++)
			if (p[i] == '?' || (unsigned char)p[i] == c)
				g->mask[c] |= 1u << i;
	}
	g->accept = 1u << m;
	g->class = class;
	return 0;
}

bool ns_tcp_glob_match(const struct ns_tcp_glob *g, const char *comm)
{
	__u32 s = 1;

	s |= (s & g->star) << 1;
	for (int k = 0; k < NS_TCP_COMM_LEN && comm[k]; k++) {
		s = ((s & g->mask[(unsigned char)comm[k]]) << 1) | (s & g->star);
		s |= (s & g->star) << 1;
	}
	return s & g->accept;
}

static int add_builtin(struct ns_tcp_class_def *d)
{
	for (size_t i = 0; i < sizeof(builtin_threads) / sizeof(builtin_threads[0]); i++) {
		if (d->nthreads >= NS_TCP_MAX_GLOBS)
			return -1;
		d->threads[d->nthreads++] = (char *)builtin_threads[i];
	}
	if (d->nlports >= NS_TCP_MAX_RANGES || d->nrports >= NS_TCP_MAX_RANGES)
		return -1;
	d->lports[d->nlports++] = (struct ns_tcp_range){BUILTIN_LO, BUILTIN_HI};
	d->rports[d->nrports++] = (struct ns_tcp_range){BUILTIN_LO, BUILTIN_HI};
	return 0;
}

const struct ns_tcp_classes *ns_tcp_classes(void)
{
	int mig = -1;

	/* A shallow copy: strings stay owned by `user` (or are the static built-ins). */
	merged = user;
	for (int i = 0; i < merged.n; i++)
		if (!strcmp(merged.c[i].name, "migration"))
			mig = i;
	if (mig < 0) {
		mig = merged.n++;
		memset(&merged.c[mig], 0, sizeof(merged.c[mig]));
		snprintf(merged.c[mig].name, NS_TCP_NAME_MAX, "migration");
	}
	add_builtin(&merged.c[mig]); /* room is checked when the file is parsed */
	merged.migration = mig;
	return &merged;
}

const char *ns_tcp_class_name(const struct ns_tcp_classes *cl, unsigned int id)
{
	return cl && id < (unsigned int)cl->n ? cl->c[id].name : "other";
}

int ns_tcp_globs(const struct ns_tcp_classes *cl, struct ns_tcp_glob *out)
{
	int n = 0;

	for (int i = 0; i < cl->n; i++)
		for (int k = 0; k < cl->c[i].nthreads && n < NS_TCP_MAX_GLOBS; k++)
			if (!ns_tcp_glob_compile(cl->c[i].threads[k], (unsigned int)i, &out[n]))
				n++;
	return n;
}

void ns_tcp_port_tables(const struct ns_tcp_classes *cl, __u8 *lport, __u8 *rport)
{
	memset(lport, NS_TCP_CLASS_OTHER, 65536);
	memset(rport, NS_TCP_CLASS_OTHER, 65536);
	/* Highest id first, so that lower ids (earlier classes) overwrite: the lowest wins. */
	for (int i = cl->n - 1; i >= 0; i--) {
		const struct ns_tcp_class_def *d = &cl->c[i];

		for (int k = 0; k < d->nlports; k++)
			memset(lport + d->lports[k].lo, i, d->lports[k].hi - d->lports[k].lo + 1);
		for (int k = 0; k < d->nrports; k++)
			memset(rport + d->rports[k].lo, i, d->rports[k].hi - d->rports[k].lo + 1);
	}
}

/* ---- the config section ---- */

struct pctx {
	const char *file;
	FILE *err;
	int idx;
	const char *name;
	int nglobs, ncgroups;
};

static int fail(struct pctx *x, const char *fmt, const char *a, const char *b)
{
	fprintf(x->err, "novascope: %s: tcp.classes[%d]", x->file ? x->file : "config", x->idx);
	if (x->name)
		fprintf(x->err, " (\"%s\")", x->name);
	fprintf(x->err, ": ");
	fprintf(x->err, fmt, a ? a : "", b ? b : "");
	fputc('\n', x->err);
	return -1;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= NS_TCP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* A sequence of scalars (or one scalar) under key; calls each(x, def, index, value). */
static int each_scalar(struct pctx *x, yaml_document_t *doc, yaml_node_t *v, const char *key,
		       struct ns_tcp_class_def *d,
		       int (*each)(struct pctx *, struct ns_tcp_class_def *, const char *, int,
				   const char *))
{
	const char *s = ns_yaml_scalar(v);
	int i = 0;

	if (s)
		return each(x, d, key, 0, s);
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return fail(x, "%s: want a list of strings", key, NULL);
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, i++) {
		s = ns_yaml_scalar(yaml_document_get_node(doc, *it));
		if (!s)
			return fail(x, "%s: want a list of strings", key, NULL);
		if (each(x, d, key, i, s))
			return -1;
	}
	return 0;
}

static int add_thread(struct pctx *x, struct ns_tcp_class_def *d, const char *key, int i,
		      const char *s)
{
	char buf[NS_TCP_COMM_LEN], where[48];

	snprintf(where, sizeof(where), "%s[%d]", key, i);
	if (!*s)
		return fail(x, "%s: empty glob", where, NULL);
	if (normalize_glob(s, buf, sizeof(buf)))
		return fail(x, "%s: glob \"%s\" is longer than a thread name (15 characters)",
			    where, s);
	if (++x->nglobs > USER_GLOBS || d->nthreads >= NS_TCP_MAX_GLOBS)
		return fail(x, "%s: too many thread globs (at most 12 in all classes)", where,
			    NULL);
	d->threads[d->nthreads++] = strdup(s);
	return 0;
}

static int add_ports(struct pctx *x, struct ns_tcp_class_def *d, const char *key, int i,
		     const char *s)
{
	bool local = !strcmp(key, "local_ports");
	struct ns_tcp_range *r = local ? d->lports : d->rports;
	int *n = local ? &d->nlports : &d->nrports;
	char why[96], where[48];

	snprintf(where, sizeof(where), "%s[%d] \"%s\"", key, i, s);
	if (*n >= NS_TCP_MAX_RANGES - 1) /* one is kept for the built-in range */
		return fail(x, "%s: too many port ranges (at most 31)", where, NULL);
	if (ns_tcp_parse_range(s, &r[*n], why, sizeof(why)))
		return fail(x, "%s: %s", where, why);
	(*n)++;
	return 0;
}

static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if ((p == s || p[-1] == '/') && (!p[2] || p[2] == '/'))
			return true;
	return false;
}

static int add_cgroup(struct pctx *x, struct ns_tcp_class_def *d, const char *key, int i,
		      const char *s)
{
	char where[48];

	snprintf(where, sizeof(where), "%s[%d]", key, i);
	if (!*s)
		return fail(x, "%s: empty cgroup path", where, NULL);
	if (s[0] != '/' || has_dotdot(s))
		return fail(x, "%s: \"%s\" is not an absolute cgroup path (like /machine.slice)",
			    where, s);
	if (++x->ncgroups > NS_TCP_MAX_CGROUPS)
		return fail(x, "%s: too many cgroup rules (at most 16 in all classes)", where,
			    NULL);
	d->cgroups[d->ncgroups++] = strdup(s);
	return 0;
}

static int parse_class(struct pctx *x, yaml_document_t *doc, yaml_node_t *m,
		       struct ns_tcp_class_def *d)
{
	const char *name = ns_yaml_scalar(ns_yaml_get(doc, m, "name"));
	yaml_node_pair_t *p;

	if (m->type != YAML_MAPPING_NODE)
		return fail(x,
			    "want a mapping with name, threads, local_ports, remote_ports, cgroups",
			    NULL, NULL);
	if (!name)
		return fail(x, "missing \"name\"", NULL, NULL);
	x->name = name;
	if (!valid_name(name))
		return fail(x, "name \"%s\" must be 1-31 letters, digits, '_' or '-'", name, NULL);
	if (!strcmp(name, "other"))
		return fail(x, "\"other\" is reserved for unmatched traffic", NULL, NULL);
	snprintf(d->name, sizeof(d->name), "%s", name);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(doc, p->key));
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		int rc;

		if (!k)
			return fail(x, "keys must be plain strings", NULL, NULL);
		if (!strcmp(k, "name"))
			continue;
		if (!strcmp(k, "threads"))
			rc = each_scalar(x, doc, v, k, d, add_thread);
		else if (!strcmp(k, "local_ports") || !strcmp(k, "remote_ports"))
			rc = each_scalar(x, doc, v, k, d, add_ports);
		else if (!strcmp(k, "cgroups"))
			rc = each_scalar(x, doc, v, k, d, add_cgroup);
		else
			return fail(x,
				    "unknown key \"%s\" (want name, threads, local_ports, "
				    "remote_ports, cgroups)",
				    k, NULL);
		if (rc)
			return -1;
	}
	if (!d->nthreads && !d->nlports && !d->nrports && !d->ncgroups && strcmp(name, "migration"))
		return fail(x, "no rules (give threads, local_ports, remote_ports or cgroups)",
			    NULL, NULL);
	return 0;
}

int ns_tcp_classes_parse(struct ns_config *c, yaml_document_t *doc, yaml_node_t *node, FILE *err)
{
	struct pctx x = {.file = c->config_file, .err = err};
	bool has_mig = false;
	int i = 0;

	ns_tcp_classes_reset();
	if (!node || node->type != YAML_SEQUENCE_NODE) {
		fprintf(err, "novascope: %s: tcp.classes: want a list of classes\n",
			c->config_file ? c->config_file : "config");
		return -1;
	}
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++, i++) {
		struct ns_tcp_class_def *d = &user.c[user.n];

		x.idx = i;
		x.name = NULL;
		if (user.n >= NS_TCP_MAX_CLASSES) {
			fail(&x, "too many classes (at most %s besides migration)", "15", NULL);
			goto bad;
		}
		if (parse_class(&x, doc, yaml_document_get_node(doc, *it), d)) {
			free_def(d);
			goto bad;
		}
		user.n++;
		for (int k = 0; k < user.n - 1; k++)
			if (!strcmp(user.c[k].name, d->name)) {
				fail(&x, "duplicate class name", NULL, NULL);
				goto bad;
			}
		has_mig |= !strcmp(d->name, "migration");
		if (user.n + !has_mig > NS_TCP_MAX_CLASSES) {
			fail(&x, "too many classes (at most %s besides migration)", "15", NULL);
			goto bad;
		}
	}
	return 0;
bad:
	ns_tcp_classes_reset();
	return -1;
}
