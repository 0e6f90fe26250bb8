// SPDX-License-Identifier: GPL-2.0
/* Parsing one signal's keys from YAML (see anomaly_config.c for how definitions merge). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "anomaly_cfg.h"
#include "config.h"
#include "config_sections.h"

bool ns_anomaly_name_ok(const char *s, bool colon)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_' || (colon && *s == ':')))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

static int num(struct ctx *x, const char *where, const char *key, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = v ? strtod(v, &end) : NAN;
	if (!v || !*v || errno || *end || !isfinite(*out))
		FAIL(x, where, "%s: \"%s\" is not a number", key, v ? v : "(not a scalar)");
	return 0;
}

static int uint_(struct ctx *x, const char *where, const char *key, const char *v,
		 unsigned int *out)
{
	unsigned long long u;

	if (!v || ns_parse_uint(v, 1000000, &u))
		FAIL(x, where, "%s: \"%s\" is not an integer 0..1000000", key,
		     v ? v : "(not a scalar)");
	*out = (unsigned int)u;
	return 0;
}

/* A bound: a number, or a duration (500ms) for latencies in seconds. */
static int bound(struct ctx *x, const char *where, const char *key, const char *v, double *out)
{
	uint64_t ns;

	if (v && *v && isalpha((unsigned char)v[strlen(v) - 1]) && !ns_parse_duration(v, &ns)) {
		*out = (double)ns / 1e9;
		return 0;
	}
	return num(x, where, key, v, out);
}

static int parse_stat(struct ctx *x, const char *where, struct ns_signal_def *d, const char *v)
{
	char *end;

	if (!v)
		FAIL(x, where, "stat: want a single value");
	free(d->stat_str);
	d->stat_str = strdup(v);
	if (!strcmp(v, "mean") || !strcmp(v, "rate") || !strcmp(v, "value")) {
		d->stat = !strcmp(v, "mean")   ? NS_STAT_MEAN
			  : !strcmp(v, "rate") ? NS_STAT_RATE
					       : NS_STAT_VALUE;
		return 0;
	}
	d->stat = NS_STAT_QUANTILE;
	if (v[0] == 'p' && isdigit((unsigned char)v[1])) {
		/* p50 = 0.50, p99 = 0.99, p999 = 0.999, p995 = 0.995: the digits are the fraction's
		 * decimals; more than two only from p9xx up, so p100 or p101 is an error. With a
		 * point it is a percentage: p99.9 = 0.999. */
		size_t nd = strlen(v + 1);
		bool pct = strchr(v + 1, '.') != NULL;

		d->q = strtod(v + 1, &end) / (pct ? 100 : pow(10, (double)nd));
		if (!*end && (pct || nd == 2 || (nd > 2 && v[1] == '9')) && d->q > 0 && d->q < 1)
			return 0;
	} else if (!strncmp(v, "quantile:", 9)) {
		errno = 0;
		d->q = strtod(v + 9, &end);
		if (!errno && end != v + 9 && !*end && d->q > 0 && d->q < 1)
			return 0;
	}
	FAIL(x, where, "stat: \"%s\": want p50..p999, quantile:Q (0 < Q < 1), mean, rate or value",
	     v);
}

/* A list of scalars (a single scalar counts as a list of one). */
static int scalars(struct ctx *x, const char *where, const char *key, yaml_node_t *n, char ***out,
		   int *count)
{
	yaml_node_item_t *it;
	int k = 0;

	if (n && n->type == YAML_SCALAR_NODE) {
		*out = calloc(1, sizeof(char *));
		if (!*out || !((*out)[0] = strdup(ns_yaml_scalar(n))))
			return -1;
		*count = 1;
		return 0;
	}
	if (!n || n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.start == n->data.sequence.items.top)
		FAIL(x, where, "%s: want a value or a non-empty list of values", key);
	*out = calloc((size_t)(n->data.sequence.items.top - n->data.sequence.items.start),
		      sizeof(char *));
	if (!*out)
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		const char *s = ns_yaml_scalar(yaml_document_get_node(x->doc, *it));

		if (!s || !*s) {
			*count = k;
			FAIL(x, where, "%s: list items must be non-empty plain values", key);
		}
		(*out)[k++] = strdup(s);
	}
	*count = k;
	return 0;
}

static int parse_by(struct ctx *x, const char *where, struct ns_signal_def *d, yaml_node_t *n)
{
	static const char *const reserved[] = {"signal",   "alertname", "severity",
					       "instance", "metric",	"le"};
	char **v = NULL;
	int cnt = 0, ret = 0;

	/* by: [] sums every series of the family into one group. */
	if (!n || n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.start != n->data.sequence.items.top)
		ret = scalars(x, where, "by", n, &v, &cnt);

	for (int i = 0; i < d->nby; i++)
		free(d->by[i]);
	d->nby = 0;
	d->by_set = true;
	for (int i = 0; i < cnt; i++) {
		bool bad = !ns_anomaly_name_ok(v[i], false) || !strncmp(v[i], "__", 2);

		for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++)
			bad |= !strcmp(v[i], reserved[k]);
		if (!ret && (bad || i >= NS_MAX_LABELS)) {
			fprintf(x->err, "novascope: %s: %s: by: \"%s\": %s\n", x->file, where, v[i],
				bad ? "not a usable label name (reserved for alerts or invalid)"
				    : "too many labels");
			ret = -1;
		}
		if (!ret)
			d->by[d->nby++] = v[i];
		else
			free(v[i]);
	}
	free(v);
	return ret;
}

static int parse_matchers(struct ctx *x, const char *where, struct ns_signal_def *d,
			  const char *key, yaml_node_t *n)
{
	yaml_node_pair_t *p;

	if (!n || n->type != YAML_MAPPING_NODE)
		FAIL(x, where, "%s: want a mapping of label: value or label: [values]", key);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *l = ns_yaml_scalar(yaml_document_get_node(x->doc, p->key));
		struct ns_matcher *m, *nm;

		if (!l || !ns_anomaly_name_ok(l, false))
			FAIL(x, where, "%s: \"%s\" is not a label name", key,
			     l ? l : "(not a scalar)");
		nm = realloc(d->match, (size_t)(d->nmatch + 1) * sizeof(*nm));
		if (!nm)
			return -1;
		d->match = nm;
		m = &d->match[d->nmatch++];
		memset(m, 0, sizeof(*m));
		m->label = strdup(l);
		m->exclude = !strcmp(key, "exclude");
		if (scalars(x, where, key, yaml_document_get_node(x->doc, p->value), &m->globs,
			    &m->nglobs))
			return -1;
	}
	return 0;
}

static int parse_enum(struct ctx *x, const char *where, const char *key, const char *v,
		      const char *const *names, int n, int *out)
{
	for (int i = 0; v && i < n; i++)
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	FAIL(x, where, "%s: \"%s\" is not one of the allowed values", key,
	     v ? v : "(not a scalar)");
}

static int set_str(struct ctx *x, const char *where, const char *key, const char *v, char **out,
		   bool strict)
{
	if (!v || !*v || (strict && !ns_anomaly_name_ok(v, false)))
		FAIL(x, where, "%s: \"%s\": want a name of letters, digits and _", key,
		     v ? v : "(not a scalar)");
	free(*out);
	*out = strdup(v);
	return 0;
}

/* Keys that `defaults:` may set: everything about detection, nothing about what to read. */
static const char *const detect_keys[] = {
	"z",	      "admit_z",	"window",     "warmup",	       "baseline",	"scale",
	"min_spread", "min_spread_abs", "fire_after", "resolve_after", "relearn_after", "min_count",
	"severity",   "max_groups",	"direction"};

static int apply_key(struct ctx *x, const char *where, struct build *b, const char *k,
		     yaml_node_t *n)
{
	static const char *const dirs[] = {"up", "down", "both"};
	static const char *const bases[] = {"median", "ewma"};
	static const char *const scales[] = {"linear", "log"};
	struct ns_signal_def *d = &b->d;
	const char *v = ns_yaml_scalar(n);
	int e, ret = 0;

	if (!strcmp(k, "name"))
		return 0;
	else if (!strcmp(k, "metric")) {
		if (!v || !ns_anomaly_name_ok(v, true))
			FAIL(x, where, "metric: \"%s\" is not a metric name",
			     v ? v : "(not a scalar)");
		free(d->metric);
		d->metric = strdup(v);
	} else if (!strcmp(k, "stat"))
		ret = parse_stat(x, where, d, v);
	else if (!strcmp(k, "by"))
		ret = parse_by(x, where, d, n);
	else if (!strcmp(k, "match") || !strcmp(k, "exclude"))
		ret = parse_matchers(x, where, d, k, n);
	else if (!strcmp(k, "direction")) {
		ret = parse_enum(x, where, k, v, dirs, 3, &e);
		d->det.dir = (enum ns_direction)e;
		b->dir_set = true;
	} else if (!strcmp(k, "baseline")) {
		ret = parse_enum(x, where, k, v, bases, 2, &e);
		d->det.baseline = (enum ns_baseline)e;
	} else if (!strcmp(k, "scale")) {
		ret = parse_enum(x, where, k, v, scales, 2, &e);
		d->det.log_scale = e;
		b->scale_set = true;
	} else if (!strcmp(k, "z"))
		ret = num(x, where, k, v, &d->det.z);
	else if (!strcmp(k, "admit_z"))
		ret = num(x, where, k, v, &d->det.admit_z);
	else if (!strcmp(k, "min_spread")) {
		ret = num(x, where, k, v, &d->det.min_spread_rel);
		b->spread_rel_set = true;
	} else if (!strcmp(k, "min_spread_abs")) {
		ret = num(x, where, k, v, &d->det.min_spread_abs);
		b->spread_abs_set = true;
	} else if (!strcmp(k, "min_count")) {
		ret = num(x, where, k, v, &d->min_count);
		if (!ret && d->min_count < 0)
			FAIL(x, where, "min_count: must not be negative");
		b->min_count_set = true;
	} else if (!strcmp(k, "window"))
		ret = uint_(x, where, k, v, &d->det.window);
	else if (!strcmp(k, "warmup"))
		ret = uint_(x, where, k, v, &d->det.warmup);
	else if (!strcmp(k, "fire_after"))
		ret = uint_(x, where, k, v, &d->det.fire_after);
	else if (!strcmp(k, "resolve_after")) {
		ret = uint_(x, where, k, v, &d->det.resolve_after);
		b->resolve_set = true;
	} else if (!strcmp(k, "relearn_after"))
		ret = uint_(x, where, k, v, &d->det.relearn_after);
	else if (!strcmp(k, "max_groups"))
		ret = uint_(x, where, k, v, &d->max_groups);
	else if (!strcmp(k, "above") || !strcmp(k, "below")) {
		ret = bound(x, where, k, v, k[0] == 'a' ? &d->det.above : &d->det.below);
		d->det.threshold = true;
	} else if (!strcmp(k, "for")) {
		if (!v || ns_parse_duration(v, &d->for_ns))
			FAIL(x, where, "for: \"%s\" is not a duration like 10s",
			     v ? v : "(not a scalar)");
		d->for_set = true;
	} else if (!strcmp(k, "severity"))
		ret = set_str(x, where, k, v, &d->severity, true);
	else if (!strcmp(k, "alertname"))
		ret = set_str(x, where, k, v, &d->alertname, true);
	else if (!strcmp(k, "disabled")) {
		if (!v || ns_parse_bool(v, &d->disabled))
			FAIL(x, where, "disabled: want true or false");
	} else
		FAIL(x, where, "unknown key \"%s\"", k);
	return ret;
}

int ns_anomaly_apply_map(struct ctx *x, const char *where, struct build *b, yaml_node_t *map,
			 bool defaults_only)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(x->doc, p->key));
		bool ok = !defaults_only;

		if (!k)
			FAIL(x, where, "keys must be plain names");
		for (size_t i = 0; defaults_only && i < sizeof(detect_keys) / sizeof(*detect_keys);
		     i++)
			ok |= !strcmp(k, detect_keys[i]);
		if (!ok)
			FAIL(x, where, "key \"%s\" cannot be a default (it belongs to one signal)",
			     k);
		if (apply_key(x, where, b, k, yaml_document_get_node(x->doc, p->value)))
			return -1;
	}
	return 0;
}

void ns_signal_def_clear(struct ns_signal_def *d)
{
	free(d->name);
	free(d->metric);
	free(d->stat_str);
	free(d->severity);
	free(d->alertname);
	for (int k = 0; k < d->nby; k++)
		free(d->by[k]);
	for (int k = 0; k < d->nmatch; k++) {
		for (int g = 0; g < d->match[k].nglobs; g++)
			free(d->match[k].globs[g]);
		free(d->match[k].globs);
		free(d->match[k].label);
	}
	free(d->match);
	memset(d, 0, sizeof(*d));
}

void ns_signal_defs_free(struct ns_signal_def *defs, int n)
{
	for (int i = 0; defs && i < n; i++)
		ns_signal_def_clear(&defs[i]);
	free(defs);
}
