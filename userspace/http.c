// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include "config.h"
#include "http.h"
#include "webconfig.h"

struct doc {
	char *buf;
	size_t len;
};

struct ns_http {
	struct MHD_Daemon *d;
	int fd; /* listening socket, bound before privileges are dropped */
	char *telemetry_path;
	const struct ns_webconfig *web;
	pthread_mutex_t lock;
	struct doc docs[NS_DOC_COUNT];
	unsigned int health_code;
	atomic_ullong ok, errors;
};

static const char *const content_type[NS_DOC_COUNT] = {
	[NS_DOC_METRICS] = "text/plain; version=0.0.4; charset=utf-8",
	[NS_DOC_METRICS_GZ] = "text/plain; version=0.0.4; charset=utf-8",
	[NS_DOC_SUMMARY] = "application/json",
	[NS_DOC_HEALTH] = "application/json",
	[NS_DOC_ALERTS] = "application/json",
};

static const char landing[] =
	"<html><head><title>novascope</title></head><body><h1>novascope</h1>"
	"<p>eBPF kernel telemetry for hypervisor nodes.</p><ul>"
	"<li><a href=\"%s\">%s</a></li><li><a href=\"/health\">/health</a></li>"
	"<li><a href=\"/metrics/summary\">/metrics/summary</a></li>"
	"<li><a href=\"/alerts\">/alerts</a></li></ul></body></html>\n";

int ns_accepts_gzip(const char *ae)
{
	const char *p = ae;

	/* Tokens separated by commas, each "coding[;q=value]". gzip;q=0 means "not gzip". */
	while (p && *p) {
		const char *end = strchr(p, ','), *semi;
		size_t n = end ? (size_t)(end - p) : strlen(p), tl;

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		semi = memchr(p, ';', n);
		tl = semi ? (size_t)(semi - p) : n;
		while (tl && (p[tl - 1] == ' ' || p[tl - 1] == '\t'))
			tl--;
		if ((tl == 4 && !strncasecmp(p, "gzip", 4)) || (tl == 1 && *p == '*')) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			if (!q || q >= p + n)
				return 1;
			return strtod(q + 2, NULL) > 0;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

struct ns_route ns_http_route(const char *tpath, const char *method, const char *url,
			      const char *ae)
{
	struct ns_route r = {-1, 404};
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	if (!strcmp(url, tpath))
		r.doc = ns_accepts_gzip(ae) ? NS_DOC_METRICS_GZ : NS_DOC_METRICS;
	else if (!strcmp(url, "/health"))
		r.doc = NS_DOC_HEALTH;
	else if (!strcmp(url, "/metrics/summary"))
		r.doc = NS_DOC_SUMMARY;
	else if (!strcmp(url, "/alerts"))
		r.doc = NS_DOC_ALERTS;
	else if (!strcmp(url, "/"))
		r.doc = NS_DOC_COUNT; /* landing page */
	else
		return r;
	r.code = get ? 200 : 405;
	return r;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     const char *body, size_t len, bool gz)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	if (gz)
		MHD_add_response_header(resp, "Content-Encoding", "gzip");
	if (code == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The client certificate policy of tls_server_config.client_auth_type. */
static bool client_cert_ok(struct ns_http *h, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *certs;
	unsigned int n = 0, status = 1;
	bool present, verified;

	if (!h->web || !h->web->tls || h->web->client_auth <= NS_CLIENT_REQUEST)
		return true;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	certs = gnutls_certificate_get_peers(ci->tls_session, &n);
	present = certs && n > 0;
	verified =
		present && !gnutls_certificate_verify_peers2(ci->tls_session, &status) && !status;
	switch (h->web->client_auth) {
	case NS_CLIENT_REQUIRE_ANY:
		return present;
	case NS_CLIENT_VERIFY_IF_GIVEN:
		return !present || verified;
	default:
		return verified;
	}
}

/* basic_auth_users: 401 with a challenge unless the credentials match a user's bcrypt hash. */
static bool basic_auth_ok(struct ns_http *h, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok;

	if (!h->web || !h->web->nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && ns_webconfig_check_user(h->web, user, pass);
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result deny(struct ns_http *h, struct MHD_Connection *c, bool cert)
{
	static const char unauth[] = "401 unauthorized\n",
			  forbid[] = "403 client certificate required\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	atomic_fetch_add(&h->errors, 1);
	resp = MHD_create_response_from_buffer(cert ? sizeof(forbid) - 1 : sizeof(unauth) - 1,
					       (void *)(cert ? forbid : unauth),
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (cert)
		ret = MHD_queue_response(c, 403, resp);
	else
		ret = MHD_queue_basic_auth_fail_response(c, "novascope", resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct ns_http *h = cls;
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
	struct ns_route r = ns_http_route(h->telemetry_path, method, url, ae);
	enum MHD_Result ret;
	char page[1024];

	(void)version, (void)upload;
	/* Swallow any request body before answering (first call has no data yet). */
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (!client_cert_ok(h, c))
		return deny(h, c, true);
	if (!basic_auth_ok(h, c))
		return deny(h, c, false);
	if (r.code != 200) {
		atomic_fetch_add(&h->errors, 1);
		return reply(c, r.code, "text/plain; charset=utf-8",
			     r.code == 404 ? "404 page not found\n" : "405 method not allowed\n",
			     r.code == 404 ? 19 : 23, false);
	}
	atomic_fetch_add(&h->ok, 1);
	if (r.doc == NS_DOC_COUNT) {
		int n = snprintf(page, sizeof(page), landing, h->telemetry_path, h->telemetry_path);

		return reply(c, 200, "text/html; charset=utf-8", page, (size_t)n, false);
	}
	pthread_mutex_lock(&h->lock);
	if (r.doc == NS_DOC_METRICS_GZ && !h->docs[r.doc].buf)
		r.doc = NS_DOC_METRICS; /* gzip failed: plain text is always acceptable */
	ret = reply(c, r.doc == NS_DOC_HEALTH ? h->health_code : 200, content_type[r.doc],
		    h->docs[r.doc].buf ? h->docs[r.doc].buf : "", h->docs[r.doc].len,
		    r.doc == NS_DOC_METRICS_GZ);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	*con_cls = NULL;
}

static int make_addr(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256];
	unsigned int port;

	memset(ss, 0, sizeof(*ss));
	if (ns_parse_listen(listen, host, sizeof(host), &port)) {
		snprintf(err, errlen, "invalid listen address \"%s\"", listen);
		return -1;
	}
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) == 1)
			return 0;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (!*host || inet_pton(AF_INET, host, &a->sin_addr) == 1)
			return 0;
		if (!strcmp(host, "localhost")) {
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			return 0;
		}
	}
	snprintf(err, errlen, "listen address \"%s\": host must be an IP address", listen);
	return -1;
}

static int bind_socket(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int fd, one = 1, zero = 0;
	socklen_t len;

	if (make_addr(addr, &ss, err, errlen))
		return -1;
	len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) /* [::]:port serves IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 512))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

struct ns_http *ns_http_bind(const struct ns_http_opts *o, char *err, size_t errlen)
{
	struct ns_http *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fd = bind_socket(o->listen_address, err, errlen);
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->health_code = 503;
	h->telemetry_path = strdup(o->telemetry_path);
	h->web = o->web;
	return h;
}

int ns_http_start(struct ns_http *h, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, h->web ? h->web->cert_pem : NULL},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, h->web ? h->web->key_pem : NULL},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, h->web ? (void *)h->web->priorities : NULL},
		/* A trust list makes libmicrohttpd ask for client certificates. */
		{h->web && h->web->ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
		 h->web ? h->web->ca_pem : NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	bool use_tls = h->web && h->web->tls;

	if (use_tls)
		flags |= MHD_USE_TLS;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
				MHD_OPTION_THREAD_POOL_SIZE, 2, MHD_OPTION_CONNECTION_TIMEOUT, 30,
				MHD_OPTION_CONNECTION_LIMIT, 1000, MHD_OPTION_NOTIFY_COMPLETED,
				completed, NULL, MHD_OPTION_ARRAY, use_tls ? tls : &tls[4],
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "web server failed to start%s",
			 use_tls ? " (check that the TLS key matches the certificate)" : "");
		return -1;
	}
	return 0;
}

void ns_http_stop(struct ns_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d); /* closes the listening socket too */
	else
		close(h->fd);
	for (int i = 0; i < NS_DOC_COUNT; i++)
		free(h->docs[i].buf);
	pthread_mutex_destroy(&h->lock);
	free(h->telemetry_path);
	free(h);
}

void ns_http_publish(struct ns_http *h, enum ns_doc d, char *buf, size_t len)
{
	char *old;

	pthread_mutex_lock(&h->lock);
	old = h->docs[d].buf;
	h->docs[d].buf = buf;
	h->docs[d].len = len;
	pthread_mutex_unlock(&h->lock);
	free(old);
}

void ns_http_set_health_code(struct ns_http *h, unsigned int code)
{
	pthread_mutex_lock(&h->lock);
	h->health_code = code;
	pthread_mutex_unlock(&h->lock);
}

void ns_http_stats(struct ns_http *h, unsigned long long *ok, unsigned long long *errors)
{
	*ok = atomic_load(&h->ok);
	*errors = atomic_load(&h->errors);
}
