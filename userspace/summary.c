// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "strbuf.h"
#include "summary.h"

const char *const ns_self_families[] = {
	"novascope_collect_duration_seconds",
	"novascope_probe_up",
	"novascope_bpf_run_time_seconds_total",
	"novascope_bpf_run_count_total",
	"novascope_events_dropped_total",
	"process_resident_memory_bytes",
	"process_cpu_seconds_total",
	NULL,
};

/* json-c passes bytes through: label values from the kernel must be made valid UTF-8 first. */
static struct json_object *jstr(const char *s)
{
	struct strbuf sb;
	struct json_object *o;

	sb_init(&sb, 64);
	sb_utf8(&sb, s);
	o = json_object_new_string(sb.buf ? sb.buf : "");
	sb_free(&sb);
	return o;
}

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : json_object_new_null();
}

static struct json_object *labels_obj(const struct ns_family *f, const struct ns_series *s)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < f->nlabels; i++)
		json_object_object_add(o, f->d.labels[i], jstr(s->values[i]));
	return o;
}

static int by_count_desc(const void *a, const void *b)
{
	__u64 ca = ns_hist_count((*(const struct ns_series *const *)a)->slots);
	__u64 cb = ns_hist_count((*(const struct ns_series *const *)b)->slots);

	return ca < cb ? 1 : ca > cb ? -1 : 0;
}

static struct json_object *hist_series(const struct ns_family *f, const struct ns_series *s)
{
	struct json_object *o = json_object_new_object(), *li = json_object_new_object();
	__u64 n = ns_hist_count(s->slots), dn = ns_hist_count(s->d_slots);

	json_object_object_add(o, "labels", labels_obj(f, s));
	json_object_object_add(o, "count", json_object_new_uint64(n));
	json_object_object_add(o, "sum", jnum(ns_scale(f, s->sum)));
	json_object_object_add(o, "mean", jnum(n ? ns_scale(f, s->sum) / (double)n : NAN));
	json_object_object_add(o, "p50", jnum(ns_hist_quantile(f, s->slots, 0.50)));
	json_object_object_add(o, "p95", jnum(ns_hist_quantile(f, s->slots, 0.95)));
	json_object_object_add(o, "p99", jnum(ns_hist_quantile(f, s->slots, 0.99)));
	json_object_object_add(li, "count", json_object_new_uint64(dn));
	json_object_object_add(li, "p50", jnum(ns_hist_quantile(f, s->d_slots, 0.50)));
	json_object_object_add(li, "p99", jnum(ns_hist_quantile(f, s->d_slots, 0.99)));
	json_object_object_add(o, "last_interval", li);
	return o;
}

static struct json_object *hist_family(const struct ns_family *f, unsigned int top)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct ns_series **sorted = malloc(f->nseries * sizeof(*sorted));
	__u64 total = 0;

	json_object_object_add(o, "name", json_object_new_string(f->d.name));
	for (size_t i = 0; i < f->nseries; i++)
		total += ns_hist_count(f->series[i]->slots);
	json_object_object_add(o, "count", json_object_new_uint64(total));
	json_object_object_add(o, "label_sets", json_object_new_uint64(f->nseries));
	if (sorted && f->nseries) {
		memcpy(sorted, f->series, f->nseries * sizeof(*sorted));
		qsort(sorted, f->nseries, sizeof(*sorted), by_count_desc);
		for (size_t i = 0; i < f->nseries && i < top; i++)
			json_object_array_add(arr, hist_series(f, sorted[i]));
	}
	free(sorted); /* malloc(0) may return a pointer too: a family with no series yet */
	json_object_object_add(o, "series", arr);
	return o;
}

static bool is_self(const char *name)
{
	for (int i = 0; ns_self_families[i]; i++)
		if (!strcmp(ns_self_families[i], name))
			return true;
	return false;
}

static struct json_object *self_family(const struct ns_family *f)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < f->nseries; i++) {
		const struct ns_series *s = f->series[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "labels", labels_obj(f, s));
		if (f->d.type == NS_HISTOGRAM) {
			json_object_object_add(o, "count",
					       json_object_new_uint64(ns_hist_count(s->slots)));
			json_object_object_add(o, "p99", jnum(ns_hist_quantile(f, s->slots, 0.99)));
		} else {
			json_object_object_add(o, "value", jnum(s->value));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

char *ns_summary_json(const struct ns_registry *r, unsigned int top, double interval_s, size_t *len)
{
	struct json_object *root = json_object_new_object(), *hists = json_object_new_array();
	struct json_object *self = json_object_new_object();
	char ts[40], *out;
	const char *txt;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(root, "generated_at", json_object_new_string(ts));
	json_object_object_add(root, "interval_seconds", json_object_new_double(interval_s));
	for (size_t i = 0; i < r->nfams; i++) {
		const struct ns_family *f = r->fams[i];

		if (is_self(f->d.name))
			json_object_object_add(self, f->d.name, self_family(f));
		else if (f->d.type == NS_HISTOGRAM)
			json_object_array_add(hists, hist_family(f, top));
	}
	json_object_object_add(root, "histograms", hists);
	json_object_object_add(root, "self", self);
	txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	out = strdup(txt ? txt : "{}");
	if (out && len)
		*len = strlen(out);
	json_object_put(root);
	return out;
}
