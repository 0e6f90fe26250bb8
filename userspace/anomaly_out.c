// SPDX-License-Identifier: GPL-2.0
/* What the detector shows: novascope_anomaly_score in /metrics, and the /alerts document. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "alerts.h"
#include "anomaly_int.h"
#include "expose.h"

void ns_anomaly_expose(const struct ns_anomaly *a, struct strbuf *o)
{
	bool head = false;
	char num[64];

	for (int i = 0; a && i < a->nsigs; i++) {
		const struct signal *s = &a->sigs[i];

		if (s->d.disabled || s->d.det.threshold || !s->fam)
			continue;
		for (size_t j = 0; j < s->n; j++) {
			const struct group *g = s->groups[j];

			if (!g->det.scored)
				continue;
			if (!head) {
				sb_puts(o, "# HELP novascope_anomaly_score Robust z-score of each "
					   "anomaly "
					   "signal over the last interval: distance from its "
					   "baseline in "
					   "robust standard deviations (log scale for latencies). "
					   "Absent "
					   "while warming up or without data.\n"
					   "# TYPE novascope_anomaly_score gauge\n");
				head = true;
			}
			sb_puts(o, "novascope_anomaly_score{signal=\"");
			sb_escape(o, s->d.name, true);
			sb_putc(o, '"');
			for (int k = 0; k < s->nby; k++) {
				sb_printf(o, ",%s=\"", s->by_name[k]);
				sb_escape(o, g->values[k], true);
				sb_putc(o, '"');
			}
			ns_format_value(num, sizeof(num), g->det.score);
			sb_printf(o, "} %s\n", num);
		}
	}
}

static struct json_object *jstr(const char *s)
{
	struct strbuf sb;
	struct json_object *o;

	sb_init(&sb, 64);
	sb_utf8(&sb, s ? s : "");
	o = json_object_new_string(sb.buf ? sb.buf : "");
	sb_free(&sb);
	return o;
}

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *jtime(double t)
{
	char buf[40];

	if (!(t > 0))
		return NULL;
	ns_rfc3339(t, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static struct json_object *alert_obj(const struct ns_anomaly *a, const struct signal *s,
				     const struct group *g)
{
	struct json_object *o = json_object_new_object(), *l = json_object_new_object();

	json_object_object_add(o, "alertname", jstr(s->d.alertname));
	json_object_object_add(o, "state", jstr(ns_det_state_str(g->det.state)));
	json_object_object_add(o, "severity", jstr(s->d.severity));
	json_object_object_add(o, "signal", jstr(s->d.name));
	json_object_object_add(o, "metric", jstr(s->d.metric));
	json_object_object_add(o, "kind", jstr(s->d.det.threshold ? "threshold" : "anomaly"));
	for (int k = 0; k < s->nby; k++)
		json_object_object_add(l, s->by_name[k], jstr(g->values[k]));
	json_object_object_add(o, "labels", l);
	json_object_object_add(o, "value", jnum(g->det.value));
	json_object_object_add(o, "baseline", jnum(g->det.center));
	json_object_object_add(o, "score", jnum(g->det.score));
	if (g->det.state == NS_DET_FIRING) {
		json_object_object_add(o, "peak_value", jnum(g->det.peak_value));
		json_object_object_add(o, "peak_score", jnum(g->det.peak_score));
	}
	json_object_object_add(o, "active_since", jtime(g->active_since));
	(void)a;
	return o;
}

static struct json_object *signal_obj(const struct signal *s)
{
	struct json_object *o = json_object_new_object();
	const char *state = s->d.disabled ? "disabled"
			    : s->broken	  ? "error"
			    : !s->fam	  ? "waiting for its metric"
					  : "active";
	int scored = 0;

	for (size_t j = 0; j < s->n; j++)
		scored += s->groups[j]->det.scored;
	json_object_object_add(o, "name", jstr(s->d.name));
	json_object_object_add(o, "metric", jstr(s->d.metric));
	json_object_object_add(o, "stat", jstr(s->d.stat_str));
	json_object_object_add(o, "kind", jstr(s->d.det.threshold ? "threshold" : "anomaly"));
	json_object_object_add(o, "builtin", json_object_new_boolean(s->d.builtin));
	json_object_object_add(o, "state", jstr(state));
	if (s->broken)
		json_object_object_add(o, "error", jstr(s->error));
	json_object_object_add(o, "label_sets", json_object_new_int64((int64_t)s->n));
	json_object_object_add(o, "scored", json_object_new_int(scored));
	json_object_object_add(o, "firing", json_object_new_int((int)s->firing));
	return o;
}

char *ns_anomaly_alerts_json(const struct ns_anomaly *a, size_t *len)
{
	struct json_object *root = json_object_new_object(), *al = json_object_new_array(),
			   *sg = json_object_new_array(), *no = json_object_new_object();
	struct ns_alerts_stats st;
	char *out;

	for (int i = 0; i < a->nsigs; i++) {
		const struct signal *s = &a->sigs[i];

		for (size_t j = 0; j < s->n; j++)
			if (s->groups[j]->det.state != NS_DET_INACTIVE)
				json_object_array_add(al, alert_obj(a, s, s->groups[j]));
		json_object_array_add(sg, signal_obj(s));
	}
	ns_alerts_stats(a->alerts, &st);
	json_object_object_add(no, "success", json_object_new_int64((int64_t)st.success));
	json_object_object_add(no, "failure", json_object_new_int64((int64_t)st.failure));
	json_object_object_add(no, "dropped", json_object_new_int64((int64_t)st.dropped));
	json_object_object_add(no, "undelivered", json_object_new_int64((int64_t)st.tracked));
	json_object_object_add(root, "generated_at", jtime((double)time(NULL)));
	json_object_object_add(root, "instance", jstr(a->instance));
	json_object_object_add(root, "alerts", al);
	json_object_object_add(root, "signals", sg);
	json_object_object_add(root, "notifications", no);
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	if (out && len)
		*len = strlen(out);
	return out;
}
