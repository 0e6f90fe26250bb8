// SPDX-License-Identifier: GPL-2.0
/*
 * Alert delivery (alerts.c) against a real HTTP server in this process (libmicrohttpd on a
 * loopback port) that records what it is sent: the Alertmanager v2 payload, resends, resolve
 * with endsAt, failures retried with back-off and counted, a server that is down at first,
 * several URLs, and a stop that does not wait for a hanging request.
 * The real Alertmanager is exercised by tests/e2e/test_anomaly_*.sh.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include "alerts.h"

#define NS_TEST_URLS 2

struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t lock;
	int status; /* what to answer */
	int hang_ms;
	char *bodies[64];
	int n;
	char path[64];
};

struct upload {
	char buf[65536];
	size_t len;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **ctx)
{
	struct server *s = cls;
	struct upload *u = *ctx;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)version;
	if (!u) {
		*ctx = calloc(1, sizeof(struct upload));
		return MHD_YES;
	}
	if (*size) {
		size_t n =
			*size < sizeof(u->buf) - 1 - u->len ? *size : sizeof(u->buf) - 1 - u->len;

		memcpy(u->buf + u->len, data, n);
		u->len += n;
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	if (!strcmp(method, "POST") && s->n < 64)
		s->bodies[s->n++] = strndup(u->buf, u->len);
	snprintf(s->path, sizeof(s->path), "%s", url);
	pthread_mutex_unlock(&s->lock);
	if (s->hang_ms)
		usleep((useconds_t)s->hang_ms * 1000);
	free(u);
	*ctx = NULL;
	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, (unsigned int)s->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static unsigned short free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static void server_start(struct server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(s->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				s->port, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &a,
				MHD_OPTION_END);
	assert_non_null(s->d);
}

static struct server *server_new(int status)
{
	struct server *s = calloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	s->status = status;
	s->port = free_port();
	return s;
}

static void server_free(struct server *s)
{
	if (s->d)
		MHD_stop_daemon(s->d);
	for (int i = 0; i < s->n; i++)
		free(s->bodies[i]);
	free(s);
}

static int received(struct server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Wait up to ms for the server to have at least n bodies. */
static bool wait_for(struct server *s, int n, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (received(s) >= n)
			return true;
		usleep(10000);
	}
	return received(s) >= n;
}

static const struct ns_kv labels[] = {{"signal", "s"}, {"alertname", "A"}, {"device", "bad\xff"}};
static const struct ns_kv ann[] = {{"summary", "p99 is high"}, {"value", "1"}};

static void test_json(void **state)
{
	char ts[40], *j = ns_alert_json(labels, 3, ann, 2, 1700000000.25, 0);
	struct json_object *o = json_tokener_parse(j), *l;

	(void)state;
	ns_rfc3339(0.5, ts, sizeof(ts));
	assert_string_equal(ts, "1970-01-01T00:00:00.500Z");
	assert_non_null(o);
	/* Labels sorted by name; invalid UTF-8 replaced. */
	assert_non_null(
		strstr(j, "{\"labels\":{\"alertname\":\"A\",\"device\":\"bad\xef\xbf\xbd\""));
	l = json_object_object_get(o, "labels");
	assert_string_equal(json_object_get_string(json_object_object_get(l, "signal")), "s");
	assert_string_equal(json_object_get_string(json_object_object_get(o, "startsAt")),
			    "2023-11-14T22:13:20.250Z");
	assert_null(json_object_object_get(o, "endsAt"));
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_object_get(o, "annotations"), "summary")),
			    "p99 is high");
	json_object_put(o);
	free(j);
	j = ns_alert_json(labels, 3, ann, 2, 1700000000, 1700000060);
	assert_non_null(strstr(j, "\"endsAt\":\"2023-11-14T22:14:20.000Z\""));
	free(j);
}

static struct ns_alerts *start(struct server **s, int n, double resend)
{
	char url[NS_TEST_URLS][64];
	const char *urls[NS_TEST_URLS];
	struct ns_alerts_opts o = {urls, n, 2, resend, 0.4};

	for (int i = 0; i < n; i++) {
		snprintf(url[i], sizeof(url[i]), "http://127.0.0.1:%u%s", s[i]->port,
			 i ? "/api/v2/alerts" : "/");
		urls[i] = url[i];
	}
	return ns_alerts_new(&o);
}

/* Firing goes out at once and again every resend interval; resolved goes out with endsAt and
 * is then forgotten. Both URLs get everything, at /api/v2/alerts. */
static void test_deliver(void **state)
{
	struct server *s[2] = {server_new(200), server_new(200)};
	struct ns_alerts *a;
	struct ns_alerts_stats st;

	(void)state;
	server_start(s[0]);
	server_start(s[1]);
	a = start(s, 2, 0.5);
	ns_alerts_firing(a, labels, 3, ann, 2, 1700000000);
	assert_true(wait_for(s[0], 1, 1000));
	assert_true(wait_for(s[1], 1, 1000));
	assert_string_equal(s[0]->path, "/api/v2/alerts");
	assert_string_equal(s[1]->path, "/api/v2/alerts");
	assert_non_null(strstr(s[0]->bodies[0], "\"alertname\":\"A\""));
	assert_null(strstr(s[0]->bodies[0], "endsAt"));
	assert_true(wait_for(s[0], 2, 1500)); /* the resend */
	assert_null(strstr(s[0]->bodies[1], "endsAt"));
	ns_alerts_resolved(a, labels, 3, ann, 2, 1700000000, 1700000100);
	for (int i = 0; i < 2; i++) {
		int k;

		assert_true(wait_for(s[i], 3, 1500));
		pthread_mutex_lock(&s[i]->lock);
		for (k = 0; k < s[i]->n && !strstr(s[i]->bodies[k], "endsAt"); k++)
			;
		assert_true(k < s[i]->n);
		pthread_mutex_unlock(&s[i]->lock);
	}
	usleep(300000);
	ns_alerts_stats(a, &st);
	assert_int_equal(st.tracked, 0);
	assert_int_equal(st.failure, 0);
	assert_true(st.success >= 4);
	ns_alerts_free(a);
	server_free(s[0]);
	server_free(s[1]);
}

/* An Alertmanager answering 500, then one that is not listening at all: failures are counted
 * and retried with back-off; once it answers 200 the firing alert arrives. */
static void test_retry(void **state)
{
	struct server *s = server_new(500);
	struct ns_alerts *a;
	struct ns_alerts_stats st;
	int before;

	(void)state;
	server_start(s);
	a = start(&s, 1, 60);
	ns_alerts_firing(a, labels, 3, ann, 2, 1700000000);
	assert_true(wait_for(s, 3, 3000)); /* 1 + retries after 0.4 s back-off at most */
	ns_alerts_stats(a, &st);
	assert_true(st.failure >= 3);
	assert_int_equal(st.success, 0);
	MHD_stop_daemon(s->d); /* now nothing listens */
	s->d = NULL;
	before = received(s);
	usleep(1000000);
	ns_alerts_stats(a, &st);
	assert_true(st.failure >= 5);
	s->status = 200;
	server_start(s);
	assert_true(wait_for(s, before + 1, 2000));
	usleep(100000);
	ns_alerts_stats(a, &st);
	assert_int_equal(st.success, 1);
	pthread_mutex_lock(&s->lock);
	assert_non_null(strstr(s->bodies[s->n - 1], "\"alertname\":\"A\""));
	pthread_mutex_unlock(&s->lock);
	ns_alerts_free(a);
	server_free(s);
}

/* Stopping does not wait for a request that hangs. */
static void test_stop_fast(void **state)
{
	struct server *s = server_new(200);
	struct ns_alerts *a;
	struct timespec t0, t1;

	(void)state;
	s->hang_ms = 3000;
	server_start(s);
	a = start(&s, 1, 60);
	ns_alerts_firing(a, labels, 3, ann, 2, 1700000000);
	assert_true(wait_for(s, 1, 1000));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ns_alerts_free(a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 500);
	server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_stop_fast),
	};

	return cmocka_run_group_tests_name("alert delivery", tests, NULL, NULL);
}
