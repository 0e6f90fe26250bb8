// SPDX-License-Identifier: GPL-2.0
/*
 * Text exposition: https://prometheus.io/docs/instrumenting/exposition_formats/ (0.0.4).
 * HELP escapes backslash and newline; label values also escape the double quote. Label values
 * must be UTF-8, so invalid bytes (hostile process names) become U+FFFD.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "expose.h"

void ns_format_value(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "NaN");
	else if (isinf(v))
		snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, n, "%.0f", v);
	else {
		/* Shortest of %.15g and %.17g that reads back as the same double. */
		snprintf(buf, n, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, n, "%.17g", v);
	}
}

static const char *type_str(enum ns_mtype t)
{
	return t == NS_COUNTER ? "counter" : t == NS_GAUGE ? "gauge" : "histogram";
}

/* name{l1="v1",...,extra="x"} */
static void labels(struct strbuf *o, const struct ns_family *f, const struct ns_series *s,
		   const char *extra_name, const char *extra_val)
{
	bool any = f->nlabels || extra_name;

	if (!any)
		return;
	sb_putc(o, '{');
	for (unsigned int i = 0; i < f->nlabels; i++) {
		if (i)
			sb_putc(o, ',');
		sb_puts(o, f->d.labels[i]);
		sb_puts(o, "=\"");
		sb_escape(o, s->values[i], true);
		sb_putc(o, '"');
	}
	if (extra_name) {
		if (f->nlabels)
			sb_putc(o, ',');
		sb_printf(o, "%s=\"%s\"", extra_name, extra_val);
	}
	sb_putc(o, '}');
}

static void sample(struct strbuf *o, const struct ns_family *f, const char *suffix,
		   const struct ns_series *s, const char *en, const char *ev, double v)
{
	char num[64];

	sb_puts(o, f->d.name);
	sb_puts(o, suffix);
	labels(o, f, s, en, ev);
	ns_format_value(num, sizeof(num), v);
	sb_putc(o, ' ');
	sb_puts(o, num);
	sb_putc(o, '\n');
}

static void histogram(struct strbuf *o, const struct ns_family *f, const struct ns_series *s)
{
	__u64 cum = 0;
	char le[64];
	int i;

	/* Slots below min_slot are folded into the first exported bucket (it is cumulative). */
	for (i = 0; i < f->d.min_slot && i < NS_HIST_SLOTS; i++)
		cum += s->slots[i];
	for (i = f->d.min_slot; i <= f->d.max_slot && i < NS_HIST_SLOTS; i++) {
		cum += s->slots[i];
		snprintf(le, sizeof(le), "%.10g", ns_hist_le(f, i));
		sample(o, f, "_bucket", s, "le", le, (double)cum);
	}
	for (; i < NS_HIST_SLOTS; i++)
		cum += s->slots[i];
	sample(o, f, "_bucket", s, "le", "+Inf", (double)cum);
	sample(o, f, "_sum", s, NULL, NULL, ns_scale(f, s->sum));
	sample(o, f, "_count", s, NULL, NULL, (double)cum);
}

void ns_expose_text(const struct ns_registry *r, struct strbuf *o)
{
	for (size_t i = 0; i < r->nfams; i++) {
		const struct ns_family *f = r->fams[i];

		if (!f->nseries)
			continue;
		sb_printf(o, "# HELP %s ", f->d.name);
		sb_escape(o, f->d.help, false);
		sb_printf(o, "\n# TYPE %s %s\n", f->d.name, type_str(f->d.type));
		for (size_t j = 0; j < f->nseries; j++) {
			const struct ns_series *s = f->series[j];

			if (f->d.type == NS_HISTOGRAM)
				histogram(o, f, s);
			else
				sample(o, f, "", s, NULL, NULL, s->value);
		}
	}
}

char *ns_gzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z = {0};
	size_t cap = compressBound(len) + 64;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	/* windowBits 15 + 16 selects the gzip wrapper. */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}
