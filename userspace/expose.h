/* SPDX-License-Identifier: GPL-2.0 */
/* Prometheus text exposition format 0.0.4, and its gzip form. */
#ifndef NOVASCOPE_EXPOSE_H
#define NOVASCOPE_EXPOSE_H

#include <stddef.h>
#include "metrics.h"
#include "strbuf.h"

void ns_expose_text(const struct ns_registry *r, struct strbuf *out);
/* Format a sample value as Prometheus expects (+Inf, -Inf, NaN, integers without exponent). */
void ns_format_value(char *buf, size_t n, double v);
/* gzip (RFC 1952) of in; returns a malloc'd buffer or NULL. */
char *ns_gzip(const char *in, size_t len, size_t *outlen);

#endif
