/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP server on libmicrohttpd. Every body it serves is rendered by the collection loop and
 * published here; a request never walks maps or the registry.
 */
#ifndef NOVASCOPE_HTTP_H
#define NOVASCOPE_HTTP_H

#include <stddef.h>

enum ns_doc {
	NS_DOC_METRICS, /* text 0.0.4 */
	NS_DOC_METRICS_GZ, /* the same, gzip'd */
	NS_DOC_SUMMARY, /* JSON */
	NS_DOC_HEALTH, /* JSON; status code set with ns_http_set_health_code() */
	NS_DOC_ALERTS, /* JSON */
	NS_DOC_COUNT,
};

struct ns_webconfig;

struct ns_http_opts {
	const char *listen_address; /* [host]:port */
	const char *telemetry_path;
	const struct ns_webconfig *web; /* TLS and basic auth; NULL for plain HTTP */
};

struct ns_http;

/* Bind the listening socket (before privileges are dropped); NULL with a message in err. */
struct ns_http *ns_http_bind(const struct ns_http_opts *o, char *err, size_t errlen);
/* Start serving on the bound socket (its threads inherit the caller's capabilities). */
int ns_http_start(struct ns_http *h, char *err, size_t errlen);
void ns_http_stop(struct ns_http *h);
/* Replace a document; takes ownership of buf (malloc'd). */
void ns_http_publish(struct ns_http *h, enum ns_doc d, char *buf, size_t len);
void ns_http_set_health_code(struct ns_http *h, unsigned int code);
/* Requests served per result (for self metrics). */
void ns_http_stats(struct ns_http *h, unsigned long long *ok, unsigned long long *errors);

/* Routing, exposed for unit tests and fuzzing: which document and status a request gets. */
struct ns_route {
	int doc; /* enum ns_doc, or -1 for none */
	unsigned int code; /* 200, 404, 405 */
};
struct ns_route ns_http_route(const char *telemetry_path, const char *method, const char *url,
			      const char *accept_encoding);
/* Does an Accept-Encoding header accept gzip (q > 0)? */
int ns_accepts_gzip(const char *accept_encoding);

#endif
