/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alert delivery to Alertmanager (API v2, POST /api/v2/alerts), in its own thread so that a
 * slow or unreachable Alertmanager never delays collection.
 *
 * The collection thread reports each alert's state (firing, with its current annotations; or
 * resolved, with endsAt); an alert is identified by its label set. For every URL the sender
 * keeps what that Alertmanager has been told: new and changed alerts go out at once, firing
 * ones again every resend interval, and a failed request is retried with exponential back-off
 * (1 s doubling up to 10 s) until it succeeds, so an Alertmanager that was down when an alert
 * fired receives it when it comes back. A resolved alert is forgotten once every URL has it.
 */
#ifndef NOVASCOPE_ALERTS_H
#define NOVASCOPE_ALERTS_H

#include <stdbool.h>
#include <stddef.h>

struct ns_kv {
	const char *k, *v;
};

struct ns_alerts_opts {
	const char *const *urls; /* base URLs; /api/v2/alerts is appended unless present */
	int nurls;
	double timeout_s; /* per request */
	double resend_s; /* firing alerts are sent again this often */
	double max_backoff_s; /* cap of the retry back-off (0: 10 s) */
};

struct ns_alerts;

/* Start delivery (a thread only when there are URLs). NULL on allocation/thread failure. */
struct ns_alerts *ns_alerts_new(const struct ns_alerts_opts *o);
/* Stop the thread (an ongoing request is abandoned within ~0.1 s) and free everything. */
void ns_alerts_free(struct ns_alerts *a);

/* An alert is firing (new, or still firing with fresh annotations). Times are Unix seconds. */
void ns_alerts_firing(struct ns_alerts *a, const struct ns_kv *labels, int nl,
		      const struct ns_kv *ann, int na, double starts_at);
/* A firing alert resolved at ends_at. */
void ns_alerts_resolved(struct ns_alerts *a, const struct ns_kv *labels, int nl,
			const struct ns_kv *ann, int na, double starts_at, double ends_at);

struct ns_alerts_stats {
	unsigned long long success, failure, dropped; /* requests (dropped: alerts) */
	unsigned long long tracked; /* alerts not yet delivered everywhere */
};
void ns_alerts_stats(struct ns_alerts *a, struct ns_alerts_stats *s);

/* RFC 3339 UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z (buf >= 32 bytes). */
void ns_rfc3339(double unix_s, char *buf, size_t n);
/* One alert as Alertmanager wants it (malloc'd JSON object text); ends_at 0 = still firing. */
char *ns_alert_json(const struct ns_kv *labels, int nl, const struct ns_kv *ann, int na,
		    double starts_at, double ends_at);

#endif
