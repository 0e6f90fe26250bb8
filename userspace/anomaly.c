// SPDX-License-Identifier: GPL-2.0
/* Signals over the registry, their detectors, and what they tell alerts.c: see anomaly.h. */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "alerts.h"
#include "anomaly.h"
#include "anomaly_int.h"
#include "config.h"
#include "log.h"

static const struct ns_family_desc firing_desc = {
	.name = "novascope_alerts_firing",
	.help = "Alerts of the on-node detector currently firing, per alert name.",
	.type = NS_GAUGE,
	.labels = {"alertname"},
};
static const struct ns_family_desc notif_desc = {
	.name = "novascope_alert_notifications_total",
	.help = "Requests to Alertmanager by result (dropped: alerts not tracked, over the cap).",
	.type = NS_COUNTER,
	.labels = {"result"},
};

struct ns_anomaly *ns_anomaly_new_defs(struct ns_signal_def *defs, int n, const char *instance,
				       struct ns_alerts *alerts)
{
	struct ns_anomaly *a = calloc(1, sizeof(*a));

	if (!a || !(a->sigs = calloc(n ? (size_t)n : 1, sizeof(*a->sigs)))) {
		free(a);
		ns_signal_defs_free(defs, n);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		a->sigs[i].d = defs[i];
	free(defs); /* the strings now belong to the signals */
	a->nsigs = n;
	snprintf(a->instance, sizeof(a->instance), "%s", instance);
	a->alerts = alerts;
	return a;
}

struct ns_anomaly *ns_anomaly_new(const struct ns_config *c, struct ns_alerts *alerts, FILE *err)
{
	struct ns_signal_def *defs;
	char instance[256];
	bool enabled;
	int n = ns_anomaly_load_defs(c, &defs, err, instance, sizeof(instance), &enabled);

	if (n < 0)
		return NULL;
	for (int i = 0; !enabled && i < n; i++)
		defs[i].disabled = true;
	return ns_anomaly_new_defs(defs, n, instance, alerts);
}

struct ns_anomaly *ns_anomaly_start(const struct ns_config *c, FILE *err)
{
	struct ns_alerts_opts o = {
		.urls = (const char *const *)c->alertmanager_urls.v,
		.nurls = c->alertmanager_urls.n,
		.timeout_s = (double)c->alertmanager_timeout_ns / 1e9,
		.resend_s = (double)c->alertmanager_resend_ns / 1e9,
	};
	struct ns_alerts *al = ns_alerts_new(&o);
	struct ns_anomaly *a;

	if (!al) {
		fprintf(err, "novascope: cannot start alert delivery\n");
		return NULL;
	}
	a = ns_anomaly_new(c, al, err);
	if (!a) {
		ns_alerts_free(al);
		return NULL;
	}
	a->own_alerts = true;
	return a;
}

static void group_free(struct group *g)
{
	for (int i = 0; i < NS_MAX_LABELS; i++)
		free(g->values[i]);
	ns_det_free(&g->det);
	free(g);
}

void ns_anomaly_free(struct ns_anomaly *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nsigs; i++) {
		struct signal *s = &a->sigs[i];

		for (size_t j = 0; j < s->n; j++)
			group_free(s->groups[j]);
		free(s->groups);
		free(s->match_idx);
		ns_signal_def_clear(&s->d);
	}
	free(a->sigs);
	if (a->own_alerts)
		ns_alerts_free(a->alerts);
	free(a);
}

static int label_index(const struct ns_family *f, const char *name)
{
	for (unsigned int i = 0; i < f->nlabels; i++)
		if (!strcmp(f->d.labels[i], name))
			return (int)i;
	return -1;
}

/* First sight of the signal's family: check it fits, and resolve label names to indexes. */
static int bind(struct signal *s, const struct ns_family *f)
{
	static const char *const tn[] = {"counter", "gauge", "histogram"};
	enum ns_stat st = s->d.stat;
	bool ok = (st == NS_STAT_QUANTILE || st == NS_STAT_MEAN) ? f->d.type == NS_HISTOGRAM
		  : st == NS_STAT_RATE				 ? f->d.type != NS_GAUGE
								 : f->d.type == NS_GAUGE;

	if (!ok) {
		snprintf(s->error, sizeof(s->error), "%s is a %s; stat %s needs a %s", f->d.name,
			 tn[f->d.type], s->d.stat_str,
			 st == NS_STAT_RATE    ? "counter or histogram"
			 : st == NS_STAT_VALUE ? "gauge"
					       : "histogram");
		return -1;
	}
	s->nby = 0;
	for (int i = 0; i < (s->d.by_set ? s->d.nby : (int)f->nlabels); i++) {
		const char *name = s->d.by_set ? s->d.by[i] : f->d.labels[i];
		int idx = label_index(f, name);

		if (idx < 0) {
			snprintf(s->error, sizeof(s->error), "%s has no label \"%s\" (by)",
				 f->d.name, name);
			return -1;
		}
		s->by_idx[s->nby] = idx;
		s->by_name[s->nby++] = f->d.labels[idx];
	}
	s->match_idx = calloc(s->d.nmatch ? (size_t)s->d.nmatch : 1, sizeof(int));
	if (!s->match_idx)
		return -1;
	for (int i = 0; i < s->d.nmatch; i++) {
		s->match_idx[i] = label_index(f, s->d.match[i].label);
		if (s->match_idx[i] < 0) {
			snprintf(s->error, sizeof(s->error), "%s has no label \"%s\" (%s)",
				 f->d.name, s->d.match[i].label,
				 s->d.match[i].exclude ? "exclude" : "match");
			return -1;
		}
	}
	s->fam = f;
	return 0;
}

static bool matches(const struct signal *s, const struct ns_series *se)
{
	for (int i = 0; i < s->d.nmatch; i++) {
		const struct ns_matcher *m = &s->d.match[i];
		const char *v = se->values[s->match_idx[i]];
		bool hit = false;

		for (int g = 0; g < m->nglobs && !hit; g++)
			hit = !fnmatch(m->globs[g], v, 0);
		if (hit == m->exclude)
			return false;
	}
	return true;
}

static uint64_t hash_key(const char *const *v, int n)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static struct group *find_group(const struct signal *s, const char *const *v, uint64_t h)
{
	for (size_t i = 0; i < s->n; i++) {
		struct group *g = s->groups[i];
		int k;

		if (g->hash != h)
			continue;
		for (k = 0; k < s->nby && !strcmp(g->values[k], v[k]); k++)
			;
		if (k == s->nby)
			return g;
	}
	return NULL;
}

static struct group *group_for(struct signal *s, const struct ns_series *se)
{
	const char *v[NS_MAX_LABELS];
	struct group *g, **ng;
	uint64_t h;

	for (int i = 0; i < s->nby; i++)
		v[i] = se->values[s->by_idx[i]];
	h = hash_key(v, s->nby);
	g = find_group(s, v, h);
	if (g)
		return g;
	if (s->n >= s->d.max_groups) {
		if (!s->overflow_logged)
			ns_log(NS_LOG_WARN,
			       "anomaly signal has too many label sets; ignoring new ones",
			       "signal", s->d.name, NULL);
		s->overflow_logged = true;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		ng = realloc(s->groups, cap * sizeof(*ng));
		if (!ng)
			return NULL;
		s->groups = ng;
		s->cap = cap;
	}
	g = calloc(1, sizeof(*g));
	if (!g || ns_det_init(&g->det, &s->d.det)) {
		free(g);
		return NULL;
	}
	for (int i = 0; i < s->nby; i++)
		g->values[i] = strdup(v[i]);
	g->hash = h;
	s->groups[s->n++] = g;
	return g;
}

static void accumulate(const struct signal *s, struct group *g, const struct ns_series *se)
{
	g->seen = true;
	switch (s->fam->d.type) {
	case NS_HISTOGRAM:
		for (int i = 0; i < NS_HIST_SLOTS; i++)
			g->slots[i] += se->c_slots[i];
		g->sum += se->c_sum;
		break;
	case NS_COUNTER:
		/* A negative delta is a counter that went backwards (device reset): no rate. */
		if (se->c_value < 0)
			g->reset = true;
		else
			g->delta += se->c_value;
		break;
	case NS_GAUGE:
		g->gauge += se->value;
		break;
	}
}

/* The group's value this interval; NaN = no data. *can_fire: enough events to alert on. */
static double value(const struct signal *s, const struct group *g, double dt, bool *can_fire)
{
	double n = s->fam->d.type == NS_HISTOGRAM ? (double)ns_hist_count(g->slots) : g->delta;

	*can_fire = true;
	if (!g->seen)
		return NAN;
	switch (s->d.stat) {
	case NS_STAT_QUANTILE:
		return n > 0 && n >= s->d.min_count ? ns_hist_quantile(s->fam, g->slots, s->d.q)
						    : NAN;
	case NS_STAT_MEAN:
		return n > 0 && n >= s->d.min_count ? g->sum * s->fam->d.scale / n : NAN;
	case NS_STAT_RATE:
		*can_fire = n >= s->d.min_count;
		return g->reset || !(dt > 0) ? NAN : n / dt;
	case NS_STAT_VALUE:
		return g->gauge;
	}
	return NAN;
}

static void fmt_value(const struct signal *s, double v, char *buf, size_t n)
{
	bool secs = s->fam && s->fam->d.scale == 1e-9 &&
		    (s->d.stat == NS_STAT_QUANTILE || s->d.stat == NS_STAT_MEAN);

	if (!isfinite(v))
		snprintf(buf, n, "n/a");
	else if (s->d.stat == NS_STAT_RATE)
		snprintf(buf, n, "%.3g/s", v);
	else if (secs && v < 1e-3)
		snprintf(buf, n, "%.3gus", v * 1e6);
	else if (secs && v < 1)
		snprintf(buf, n, "%.3gms", v * 1e3);
	else if (secs)
		snprintf(buf, n, "%.3gs", v);
	else
		snprintf(buf, n, "%.4g", v);
}

/* {syscall="read",...} for summaries, or syscall=read,... for logs. */
static void selector(const struct signal *s, const struct group *g, bool braces, char *buf,
		     size_t n)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < s->nby && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, braces ? "%s%s=\"%s\"" : "%s%s=%s",
					i	 ? ","
					: braces ? "{"
						 : "",
					s->by_name[i], g->values[i]);
	if (braces && s->nby && off < n)
		snprintf(buf + off, n - off, "}");
}

struct alert_text {
	struct ns_kv labels[5 + NS_MAX_LABELS], ann[4];
	int nl, na;
	char summary[512], value[32], baseline[32], score[32];
};

static void alert_text(const struct ns_anomaly *a, const struct signal *s, const struct group *g,
		       struct alert_text *t)
{
	const struct ns_det *d = &g->det;
	char sel[256], v[32], b[32], forbuf[32];

	t->nl = 0;
	t->labels[t->nl++] = (struct ns_kv){"alertname", s->d.alertname};
	t->labels[t->nl++] = (struct ns_kv){"severity", s->d.severity};
	t->labels[t->nl++] = (struct ns_kv){"instance", a->instance};
	t->labels[t->nl++] = (struct ns_kv){"signal", s->d.name};
	t->labels[t->nl++] = (struct ns_kv){"metric", s->d.metric};
	for (int i = 0; i < s->nby; i++)
		t->labels[t->nl++] = (struct ns_kv){s->by_name[i], g->values[i]};
	selector(s, g, true, sel, sizeof(sel));
	fmt_value(s, d->value, v, sizeof(v));
	fmt_value(s, d->center, b, sizeof(b));
	if (s->d.det.threshold) {
		snprintf(forbuf, sizeof(forbuf), "%u", s->d.det.fire_after);
		snprintf(t->summary, sizeof(t->summary),
			 "%s of %s%s is %s, %s the threshold of %s (for %s intervals)",
			 s->d.stat_str, s->d.metric, sel, v,
			 d->score >= 0 && d->center == s->d.det.above ? "above" : "below", b,
			 forbuf);
	} else {
		snprintf(t->summary, sizeof(t->summary),
			 "%s of %s%s is %s, %.1f robust standard deviations %s its baseline of %s",
			 s->d.stat_str, s->d.metric, sel, v, fabs(d->score),
			 d->score >= 0 ? "above" : "below", b);
	}
	snprintf(t->value, sizeof(t->value), "%.6g", d->value);
	snprintf(t->baseline, sizeof(t->baseline), "%.6g", d->center);
	snprintf(t->score, sizeof(t->score), "%.2f", d->score);
	t->na = 0;
	t->ann[t->na++] = (struct ns_kv){"summary", t->summary};
	t->ann[t->na++] = (struct ns_kv){"value", t->value};
	t->ann[t->na++] = (struct ns_kv){"baseline", t->baseline};
	t->ann[t->na++] = (struct ns_kv){"score", t->score};
}

static void log_transition(const struct signal *s, const struct group *g,
			   const struct alert_text *t, enum ns_log_level lvl, const char *msg,
			   const char *state)
{
	char sel[256];

	selector(s, g, false, sel, sizeof(sel));
	ns_log(lvl, msg, "alertname", s->d.alertname, "state", state, "signal", s->d.name, "metric",
	       s->d.metric, "labels", sel, "value", t->value, "baseline", t->baseline, "score",
	       t->score, NULL);
}

static void handle(struct ns_anomaly *a, struct signal *s, struct group *g, enum ns_det_event ev)
{
	struct alert_text t;

	if (ev == NS_DET_NONE && g->det.state != NS_DET_FIRING)
		return;
	alert_text(a, s, g, &t);
	switch (ev) {
	case NS_DET_PENDING_EV:
		g->active_since = a->now;
		log_transition(s, g, &t, NS_LOG_DEBUG, "alert pending", "pending");
		break;
	case NS_DET_CLEARED_EV:
		g->active_since = 0;
		log_transition(s, g, &t, NS_LOG_DEBUG, "alert cleared before firing", "inactive");
		break;
	case NS_DET_FIRING_EV:
		if (!g->active_since)
			g->active_since = a->now;
		s->firing++;
		log_transition(s, g, &t, NS_LOG_WARN, "alert firing", "firing");
		ns_alerts_firing(a->alerts, t.labels, t.nl, t.ann, t.na, g->active_since);
		break;
	case NS_DET_RESOLVED_EV:
	case NS_DET_RELEARN_EV:
		s->firing--;
		log_transition(s, g, &t, NS_LOG_INFO,
			       ev == NS_DET_RESOLVED_EV ? "alert resolved"
							: "alert resolved: baseline relearnt",
			       "resolved");
		ns_alerts_resolved(a->alerts, t.labels, t.nl, t.ann, t.na, g->active_since, a->now);
		g->active_since = 0;
		break;
	case NS_DET_NONE:
		/* Still firing: keep the annotations Alertmanager gets on resends current. */
		ns_alerts_firing(a->alerts, t.labels, t.nl, t.ann, t.na, g->active_since);
		break;
	}
}

static void expire(struct ns_anomaly *a, struct signal *s)
{
	uint64_t idle = 3ULL * s->d.det.window > EXPIRE_MIN ? 3ULL * s->d.det.window : EXPIRE_MIN;
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct group *g = s->groups[i];

		if (!g->seen && g->det.state == NS_DET_INACTIVE && a->evals - g->last_seen > idle) {
			group_free(g);
			continue;
		}
		s->groups[k++] = g;
	}
	s->n = k;
}

static void eval_signal(struct ns_anomaly *a, struct signal *s, struct ns_registry *r, double dt)
{
	const struct ns_family *f = s->fam;

	if (!f) {
		f = ns_family_find(r, s->d.metric);
		if (!f)
			return; /* no probe has registered it (yet): the signal waits */
		if (bind(s, f)) {
			s->broken = true;
			ns_log(NS_LOG_ERROR, "anomaly signal cannot use its metric", "signal",
			       s->d.name, "error", s->error, NULL);
			return;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		struct group *g = s->groups[i];

		memset(g->slots, 0, sizeof(g->slots));
		g->sum = g->delta = g->gauge = 0;
		g->seen = g->reset = false;
	}
	for (size_t j = 0; j < f->nseries; j++) {
		const struct ns_series *se = f->series[j];
		struct group *g;

		if (!matches(s, se) || !(g = group_for(s, se)))
			continue;
		accumulate(s, g, se);
		g->last_seen = a->evals;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct group *g = s->groups[i];
		bool can_fire;
		double v = value(s, g, dt, &can_fire);

		handle(a, s, g, ns_det_step_ex(&g->det, &s->d.det, v, can_fire));
	}
	expire(a, s);
}

/* Kernel-style counters: move the series to the total. */
static void counter_to(struct ns_registry *r, struct ns_family *f, const char *v, double total)
{
	struct ns_series *s = ns_series(f, NS_LV(v));

	if (!s)
		return;
	if (total > s->value)
		ns_counter_add(s, total - s->value);
	ns_series_touch(r, s);
}

static void publish(struct ns_anomaly *a, struct ns_registry *r)
{
	struct ns_family *ff = ns_family(r, &firing_desc), *nf = ns_family(r, &notif_desc);
	struct ns_alerts_stats st;

	for (int i = 0; ff && i < a->nsigs; i++) {
		struct signal *s = &a->sigs[i];
		struct ns_series *se;

		if (s->d.disabled || !(se = ns_series(ff, NS_LV(s->d.alertname))))
			continue;
		/* Signals may share an alert name: the first one this interval starts at 0. */
		if (se->touched != r->gen)
			ns_gauge_set(se, 0);
		ns_gauge_set(se, se->value + s->firing);
		ns_series_touch(r, se);
	}
	if (!nf)
		return;
	ns_alerts_stats(a->alerts, &st);
	counter_to(r, nf, "success", (double)st.success);
	counter_to(r, nf, "failure", (double)st.failure);
	counter_to(r, nf, "dropped", (double)st.dropped);
}

void ns_anomaly_eval(struct ns_anomaly *a, struct ns_registry *r, double dt_s, double now_s)
{
	a->evals++;
	a->now = now_s;
	for (int i = 0; i < a->nsigs; i++)
		if (!a->sigs[i].d.disabled && !a->sigs[i].broken)
			eval_signal(a, &a->sigs[i], r, dt_s);
	publish(a, r);
}

void ns_anomaly_collect(struct ns_anomaly *a, struct ns_registry *r, double interval_s)
{
	struct timespec m, w;
	double mono;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	mono = (double)m.tv_sec + (double)m.tv_nsec / 1e9;
	ns_anomaly_eval(a, r, a->last_mono > 0 ? mono - a->last_mono : interval_s,
			(double)w.tv_sec + (double)w.tv_nsec / 1e9);
	a->last_mono = mono;
}

const struct ns_det *ns_anomaly_group(const struct ns_anomaly *a, const char *name,
				      const char *const *values)
{
	for (int i = 0; i < a->nsigs; i++) {
		const struct signal *s = &a->sigs[i];

		if (strcmp(s->d.name, name))
			continue;
		const struct group *g = find_group(s, values, hash_key(values, s->nby));

		return g ? &g->det : NULL;
	}
	return NULL;
}
