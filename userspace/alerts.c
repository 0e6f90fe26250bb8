// SPDX-License-Identifier: GPL-2.0
/* Alert delivery to Alertmanager: see alerts.h for the model. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include "alerts.h"
#include "config.h"
#include "log.h"
#include "strbuf.h"

#define MAX_TRACKED 10000
#define DEFAULT_MAX_BACKOFF 10.0

struct rec {
	char *key; /* canonical label set: identity */
	char *json; /* the alert as sent */
	bool resolved;
	unsigned long version; /* bumped on every state change */
	bool dirty[NS_MAX_LIST];
	double last_sent[NS_MAX_LIST];
	struct rec *next;
};

struct endpoint {
	char *url;
	double next_try, backoff;
	bool failing;
};

struct ns_alerts {
	pthread_mutex_t lock;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	CURLM *multi;
	struct endpoint ep[NS_MAX_LIST];
	int nurls;
	double timeout_s, resend_s, max_backoff_s;
	struct rec *recs;
	size_t nrecs;
	unsigned long long success, failure, dropped;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ns_rfc3339(double t, char *buf, size_t n)
{
	time_t s = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000);
	struct tm tm;
	char b[32];

	gmtime_r(&s, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03dZ", b, ms > 999 ? 999 : ms);
}

static struct json_object *jstr(const char *s)
{
	struct strbuf sb;
	struct json_object *o;

	/* Label values come from the kernel (process names, devices): make them valid UTF-8. */
	sb_init(&sb, 64);
	sb_utf8(&sb, s ? s : "");
	o = json_object_new_string(sb.buf ? sb.buf : "");
	sb_free(&sb);
	return o;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ns_kv *)a)->k, ((const struct ns_kv *)b)->k);
}

static struct json_object *kv_object(const struct ns_kv *kv, int n)
{
	struct json_object *o = json_object_new_object();
	struct ns_kv sorted[32];

	if (n > 32)
		n = 32;
	memcpy(sorted, kv, (size_t)n * sizeof(*kv));
	qsort(sorted, (size_t)n, sizeof(*sorted), kv_cmp);
	for (int i = 0; i < n; i++)
		json_object_object_add(o, sorted[i].k, jstr(sorted[i].v));
	return o;
}

char *ns_alert_json(const struct ns_kv *labels, int nl, const struct ns_kv *ann, int na,
		    double starts_at, double ends_at)
{
	struct json_object *o = json_object_new_object();
	char ts[40], *out;

	json_object_object_add(o, "labels", kv_object(labels, nl));
	json_object_object_add(o, "annotations", kv_object(ann, na));
	ns_rfc3339(starts_at, ts, sizeof(ts));
	json_object_object_add(o, "startsAt", json_object_new_string(ts));
	if (ends_at > 0) {
		ns_rfc3339(ends_at, ts, sizeof(ts));
		json_object_object_add(o, "endsAt", json_object_new_string(ts));
	}
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* The label set as a string that is the same whatever order labels come in. */
static char *label_key(const struct ns_kv *labels, int nl)
{
	struct json_object *o = kv_object(labels, nl);
	char *k = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return k;
}

static struct rec *find(struct ns_alerts *a, const char *key)
{
	for (struct rec *r = a->recs; r; r = r->next)
		if (!strcmp(r->key, key))
			return r;
	return NULL;
}

static void mark_dirty(struct ns_alerts *a, struct rec *r)
{
	r->version++;
	for (int u = 0; u < a->nurls; u++)
		r->dirty[u] = true;
}

static void update(struct ns_alerts *a, const struct ns_kv *labels, int nl, const struct ns_kv *ann,
		   int na, double starts_at, double ends_at)
{
	char *key = label_key(labels, nl),
	     *json = ns_alert_json(labels, nl, ann, na, starts_at, ends_at);
	struct rec *r;
	bool wake = false;

	if (!key || !json)
		goto out;
	pthread_mutex_lock(&a->lock);
	r = find(a, key);
	if (!r && ends_at > 0) {
		pthread_mutex_unlock(&a->lock); /* resolved, and nothing was ever sent */
		goto out;
	}
	if (!r) {
		if (a->nrecs >= MAX_TRACKED || !(r = calloc(1, sizeof(*r)))) {
			a->dropped++;
			pthread_mutex_unlock(&a->lock);
			goto out;
		}
		r->key = key;
		key = NULL;
		r->next = a->recs;
		a->recs = r;
		a->nrecs++;
		mark_dirty(a, r);
		wake = true;
	} else if (r->resolved != (ends_at > 0)) {
		mark_dirty(a, r); /* firing -> resolved, or firing again before it was delivered */
		wake = true;
	}
	r->resolved = ends_at > 0;
	free(r->json);
	r->json = json;
	json = NULL;
	pthread_mutex_unlock(&a->lock);
	if (wake && a->multi)
		curl_multi_wakeup(a->multi); /* deliver now, not at the next poll */
out:
	free(key);
	free(json);
}

void ns_alerts_firing(struct ns_alerts *a, const struct ns_kv *labels, int nl,
		      const struct ns_kv *ann, int na, double starts_at)
{
	if (a)
		update(a, labels, nl, ann, na, starts_at, 0);
}

void ns_alerts_resolved(struct ns_alerts *a, const struct ns_kv *labels, int nl,
			const struct ns_kv *ann, int na, double starts_at, double ends_at)
{
	if (a)
		update(a, labels, nl, ann, na, starts_at, ends_at > 0 ? ends_at : 1);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr, (void)ud;
	return size * nmemb;
}

/* POST body to url; true on a 2xx answer. Gives up early when the agent stops. */
static bool post(struct ns_alerts *a, const char *url, const char *body, char *why, size_t n)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode res = CURLE_FAILED_INIT;
	long code = 0;
	int running = 1;

	if (!c || !h) {
		snprintf(why, n, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(a->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_multi_add_handle(a->multi, c);
	while (running && !atomic_load(&a->stop)) {
		if (curl_multi_perform(a->multi, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(a->multi, NULL, 0, 100, NULL);
	}
	for (CURLMsg *m; (m = curl_multi_info_read(a->multi, &running));)
		if (m->msg == CURLMSG_DONE)
			res = m->data.result;
	curl_multi_remove_handle(a->multi, c);
	if (res == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		snprintf(why, n, "HTTP status %ld", code);
	} else {
		snprintf(why, n, "%s", *errbuf ? errbuf : curl_easy_strerror(res));
	}
out:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	return res == CURLE_OK && code >= 200 && code < 300;
}

struct sent {
	struct rec *r;
	unsigned long version;
};

/* Alerts due for endpoint u: changed since last told, or firing and due for a resend. */
static char *batch(struct ns_alerts *a, int u, double now, struct sent **out, size_t *n)
{
	struct strbuf sb;
	size_t k = 0;

	*out = calloc(a->nrecs ? a->nrecs : 1, sizeof(**out));
	if (!*out)
		return NULL;
	sb_init(&sb, 4096);
	sb_putc(&sb, '[');
	for (struct rec *r = a->recs; r; r = r->next) {
		if (!r->dirty[u] && (r->resolved || now - r->last_sent[u] < a->resend_s))
			continue;
		if (k)
			sb_putc(&sb, ',');
		sb_puts(&sb, r->json);
		(*out)[k].r = r;
		(*out)[k++].version = r->version;
	}
	sb_putc(&sb, ']');
	*n = k;
	if (!k || sb.oom) {
		sb_free(&sb);
		free(*out);
		*out = NULL;
		*n = 0;
		return NULL;
	}
	return sb_take(&sb, NULL);
}

/* Forget resolved alerts every endpoint has been told about. */
static void gc(struct ns_alerts *a)
{
	for (struct rec **pp = &a->recs; *pp;) {
		struct rec *r = *pp;
		bool pending = false;

		for (int u = 0; u < a->nurls; u++)
			pending |= r->dirty[u];
		if (!r->resolved || pending) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		free(r->key);
		free(r->json);
		free(r);
		a->nrecs--;
	}
}

/* One round over the endpoints; called and returns with the lock held. */
static void deliver(struct ns_alerts *a)
{
	for (int u = 0; u < a->nurls && !atomic_load(&a->stop); u++) {
		struct endpoint *ep = &a->ep[u];
		double now = mono();
		struct sent *sent;
		char why[256], *body;
		size_t n;
		bool ok;

		if (now < ep->next_try || !(body = batch(a, u, now, &sent, &n)))
			continue;
		pthread_mutex_unlock(&a->lock);
		ok = post(a, ep->url, body, why, sizeof(why));
		pthread_mutex_lock(&a->lock);
		free(body);
		now = mono();
		if (ok) {
			a->success++;
			/* Records are only freed by this thread, so the pointers are still good. */
			for (size_t i = 0; i < n; i++) {
				sent[i].r->last_sent[u] = now;
				if (sent[i].r->version == sent[i].version)
					sent[i].r->dirty[u] = false;
			}
			ep->backoff = 0;
			ep->next_try = now;
			if (ep->failing)
				ns_log(NS_LOG_INFO, "alertmanager reachable again", "url", ep->url,
				       NULL);
			ep->failing = false;
		} else if (!atomic_load(&a->stop)) {
			a->failure++;
			ep->backoff = ep->backoff ? ep->backoff * 2 : 1;
			if (ep->backoff > a->max_backoff_s)
				ep->backoff = a->max_backoff_s;
			ep->next_try = now + ep->backoff;
			/* Log the first failure of a run of them, not every retry. */
			if (!ep->failing)
				ns_log(NS_LOG_WARN, "alert delivery failed, retrying with back-off",
				       "url", ep->url, "error", why, NULL);
			ep->failing = true;
		}
		free(sent);
	}
	gc(a);
}

static void *sender(void *arg)
{
	struct ns_alerts *a = arg;

	pthread_mutex_lock(&a->lock);
	while (!atomic_load(&a->stop)) {
		deliver(a);
		pthread_mutex_unlock(&a->lock);
		/* New alerts wake this early (curl_multi_wakeup); otherwise look again in 100 ms.
		 */
		curl_multi_poll(a->multi, NULL, 0, 100, NULL);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static char *api_url(const char *base)
{
	static const char api[] = "/api/v2/alerts";
	size_t n = strlen(base);
	char *u;

	while (n && base[n - 1] == '/')
		n--;
	if (n >= sizeof(api) - 1 && !strncmp(base + n - (sizeof(api) - 1), api, sizeof(api) - 1))
		return strndup(base, n);
	u = malloc(n + sizeof(api));
	if (u) {
		memcpy(u, base, n);
		memcpy(u + n, api, sizeof(api));
	}
	return u;
}

struct ns_alerts *ns_alerts_new(const struct ns_alerts_opts *o)
{
	struct ns_alerts *a = calloc(1, sizeof(*a));
	sigset_t all, old;
	int err;

	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	a->timeout_s = o->timeout_s > 0 ? o->timeout_s : 10;
	a->resend_s = o->resend_s > 0 ? o->resend_s : 60;
	a->max_backoff_s = o->max_backoff_s > 0 ? o->max_backoff_s : DEFAULT_MAX_BACKOFF;
	for (int i = 0; i < o->nurls && i < NS_MAX_LIST; i++) {
		a->ep[i].url = api_url(o->urls[i]);
		if (!a->ep[i].url)
			goto fail;
		a->nurls++;
	}
	if (!a->nurls)
		return a;
	/* Not thread-safe: runs here, in the main thread, before the sender starts. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(a->multi = curl_multi_init()))
		goto fail;
	/* The sender takes no signals: SIGTERM must wake the collection loop, not this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&a->thread, NULL, sender, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	a->started = true;
	return a;
fail:
	ns_alerts_free(a);
	return NULL;
}

void ns_alerts_free(struct ns_alerts *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, true);
	if (a->started) {
		curl_multi_wakeup(a->multi);
		pthread_join(a->thread, NULL);
	}
	if (a->multi) {
		curl_multi_cleanup(a->multi);
		curl_global_cleanup();
	}
	while (a->recs) {
		struct rec *r = a->recs;

		a->recs = r->next;
		free(r->key);
		free(r->json);
		free(r);
	}
	for (int i = 0; i < a->nurls; i++)
		free(a->ep[i].url);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void ns_alerts_stats(struct ns_alerts *a, struct ns_alerts_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	s->success = a->success;
	s->failure = a->failure;
	s->dropped = a->dropped;
	s->tracked = a->nrecs;
	pthread_mutex_unlock(&a->lock);
}
