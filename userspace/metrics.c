// SPDX-License-Identifier: GPL-2.0
/* Metric registry: see metrics.h for the model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

#define OTHER "other"

struct ns_registry *ns_registry_new(unsigned int default_max_series)
{
	struct ns_registry *r = calloc(1, sizeof(*r));

	if (r)
		r->default_max_series = default_max_series ? default_max_series : 2000;
	return r;
}

static void series_free(struct ns_series *s)
{
	if (!s)
		return;
	for (int i = 0; i < NS_MAX_LABELS; i++)
		free(s->values[i]);
	free(s);
}

void ns_registry_free(struct ns_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfams; i++) {
		struct ns_family *f = r->fams[i];

		for (size_t j = 0; j < f->nseries; j++)
			series_free(f->series[j]);
		free(f->series);
		free(f);
	}
	free(r->fams);
	free(r);
}

struct ns_family *ns_family_find(const struct ns_registry *r, const char *name)
{
	for (size_t i = 0; i < r->nfams; i++)
		if (!strcmp(r->fams[i]->d.name, name))
			return r->fams[i];
	return NULL;
}

struct ns_family *ns_family(struct ns_registry *r, const struct ns_family_desc *d)
{
	struct ns_family *f = ns_family_find(r, d->name);

	if (f)
		return f;
	if (r->nfams == r->cap_fams) {
		size_t n = r->cap_fams ? r->cap_fams * 2 : 32;
		struct ns_family **nf = realloc(r->fams, n * sizeof(*nf));

		if (!nf)
			return NULL;
		r->fams = nf;
		r->cap_fams = n;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->d = *d;
	while (f->nlabels < NS_MAX_LABELS && d->labels[f->nlabels])
		f->nlabels++;
	if (!f->d.max_series)
		f->d.max_series = r->default_max_series;
	if (!f->d.other_reserve)
		f->d.other_reserve = 1;
	if (f->d.fold_label >= f->nlabels)
		f->d.fold_label = 0;
	r->fams[r->nfams++] = f;
	if (r->on_family)
		r->on_family(r, f);
	return f;
}

static uint64_t hash_values(unsigned int n, const char *const *v)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (unsigned int i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static struct ns_series *lookup(struct ns_family *f, uint64_t h, const char *const *v)
{
	for (size_t i = 0; i < f->nseries; i++) {
		struct ns_series *s = f->series[i];
		unsigned int k;

		if (s->hash != h)
			continue;
		for (k = 0; k < f->nlabels; k++)
			if (strcmp(s->values[k], v[k]))
				break;
		if (k == f->nlabels)
			return s;
	}
	return NULL;
}

static struct ns_series *create(struct ns_family *f, uint64_t h, const char *const *v)
{
	struct ns_series *s;

	if (f->nseries == f->cap_series) {
		size_t n = f->cap_series ? f->cap_series * 2 : 16;
		struct ns_series **ns = realloc(f->series, n * sizeof(*ns));

		if (!ns)
			return NULL;
		f->series = ns;
		f->cap_series = n;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	for (unsigned int i = 0; i < f->nlabels; i++) {
		s->values[i] = strdup(v[i] ? v[i] : "");
		if (!s->values[i]) {
			series_free(s);
			return NULL;
		}
	}
	s->hash = h;
	s->live = true;
	f->series[f->nseries++] = s;
	return s;
}

struct ns_series *ns_series(struct ns_family *f, const char *const *values)
{
	const char *v[NS_MAX_LABELS] = {0};
	uint64_t h;
	struct ns_series *s;

	for (unsigned int i = 0; i < f->nlabels; i++)
		v[i] = values[i] ? values[i] : "";
	h = hash_values(f->nlabels, v);
	s = lookup(f, h, v);
	if (s)
		return s;
	/* Linear lookup is fine: families are capped, and probes touch each series once. */
	if (f->nlabels && f->nseries + f->d.other_reserve >= f->d.max_series &&
	    strcmp(v[f->d.fold_label], OTHER)) {
		f->folded++;
		v[f->d.fold_label] = OTHER;
		h = hash_values(f->nlabels, v);
		s = lookup(f, h, v);
		if (s)
			return s;
	}
	return create(f, h, v);
}

void ns_series_touch(struct ns_registry *r, struct ns_series *s)
{
	s->touched = r->gen;
}

void ns_counter_add(struct ns_series *s, double delta)
{
	s->value += delta;
	s->c_value += delta;
}

void ns_gauge_set(struct ns_series *s, double v)
{
	s->value = v;
	s->c_value = v;
}

void ns_hist_add(struct ns_series *s, const __u64 slots[NS_HIST_SLOTS], double sum)
{
	for (int i = 0; i < NS_HIST_SLOTS; i++) {
		s->slots[i] += slots[i];
		s->c_slots[i] += slots[i];
	}
	s->sum += sum;
	s->c_sum += sum;
}

unsigned int ns_log2_slot(__u64 v)
{
	unsigned int slot = v ? 63 - __builtin_clzll(v) : 0;

	return slot < NS_HIST_SLOTS ? slot : NS_HIST_SLOTS - 1;
}

void ns_hist_observe(struct ns_series *s, __u64 v)
{
	unsigned int i = ns_log2_slot(v);

	s->slots[i]++;
	s->c_slots[i]++;
	s->sum += (double)v;
	s->c_sum += (double)v;
}

void ns_registry_begin(struct ns_registry *r)
{
	r->gen++;
	for (size_t i = 0; i < r->nfams; i++) {
		struct ns_family *f = r->fams[i];

		for (size_t j = 0; j < f->nseries; j++) {
			struct ns_series *s = f->series[j];

			s->d_value = s->c_value;
			s->d_sum = s->c_sum;
			memcpy(s->d_slots, s->c_slots, sizeof(s->d_slots));
			s->c_value = 0;
			s->c_sum = 0;
			memset(s->c_slots, 0, sizeof(s->c_slots));
		}
	}
}

void ns_registry_sweep(struct ns_registry *r)
{
	for (size_t i = 0; i < r->nfams; i++) {
		struct ns_family *f = r->fams[i];
		size_t k = 0;

		for (size_t j = 0; j < f->nseries; j++) {
			struct ns_series *s = f->series[j];

			if (f->d.stale_after && r->gen - s->touched > f->d.stale_after) {
				series_free(s);
				continue;
			}
			f->series[k++] = s;
		}
		f->nseries = k;
	}
}

double ns_scale(const struct ns_family *f, double v)
{
	return f->d.scale < 1 ? v / nearbyint(1.0 / f->d.scale) : v * f->d.scale;
}

double ns_hist_le(const struct ns_family *f, int slot)
{
	return ns_scale(f, ldexp(1.0, slot + 1));
}

__u64 ns_hist_count(const __u64 slots[NS_HIST_SLOTS])
{
	__u64 n = 0;

	for (int i = 0; i < NS_HIST_SLOTS; i++)
		n += slots[i];
	return n;
}

double ns_hist_quantile(const struct ns_family *f, const __u64 slots[NS_HIST_SLOTS], double q)
{
	__u64 total = ns_hist_count(slots), seen = 0;
	double rank;

	if (!total || isnan(q))
		return NAN;
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	rank = q * (double)total;
	for (int i = 0; i < NS_HIST_SLOTS; i++) {
		double lo, hi;

		if (!slots[i] || (double)(seen + slots[i]) < rank) {
			seen += slots[i];
			continue;
		}
		/* Interpolate between the slot's bounds, as histogram_quantile() does. */
		lo = i ? ldexp(1.0, i) : 0;
		hi = ldexp(1.0, i + 1);
		return ns_scale(f, lo + (hi - lo) * (rank - (double)seen) / (double)slots[i]);
	}
	return ns_scale(f, ldexp(1.0, NS_HIST_SLOTS));
}
