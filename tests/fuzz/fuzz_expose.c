// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the exposition writer with hostile label values and HELP text: the output must be
 * valid UTF-8, one sample per line, every label value closed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "expose.h"
#include "metrics.h"
#include "strbuf.h"

static void check(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		int l = utf8_seq_len((const unsigned char *)s + i);

		if (!l)
			abort(); /* invalid UTF-8 escaped into the output */
		i += (size_t)l;
	}
	/* Every line is a comment or name{...} value: quotes inside values are escaped, so the
	 * number of unescaped quotes on a sample line is even. */
	for (const char *line = s; line < s + n;) {
		const char *end = memchr(line, '\n', (size_t)(s + n - line));
		int q = 0;

		if (!end)
			abort(); /* last line not terminated */
		if (*line != '#')
			for (const char *p = line; p < end; p++) {
				if (*p == '\\')
					p++;
				else if (*p == '"')
					q++;
			}
		if (q % 2)
			abort();
		line = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_family_desc d = { .name = "fuzz_seconds", .type = NS_HISTOGRAM,
				    .labels = { "a", "b" }, .min_slot = 0, .max_slot = 47,
				    .scale = 1e-9 };
	struct ns_family_desc c = { .name = "fuzz_total", .type = NS_COUNTER, .labels = { "x" } };
	char *buf = malloc(size + 1), *half;
	struct ns_registry *r = ns_registry_new(0);
	struct strbuf sb;
	__u64 slots[NS_HIST_SLOTS] = { 0 };

	memcpy(buf, data, size);
	buf[size] = 0;
	half = buf + strlen(buf) / 2;
	d.help = half;
	c.help = buf;
	slots[size % NS_HIST_SLOTS] = size;
	ns_hist_add(ns_series(ns_family(r, &d), NS_LV(buf, half)), slots, (double)size);
	ns_counter_add(ns_series(ns_family(r, &c), NS_LV(half)), 1);
	sb_init(&sb, 0);
	ns_expose_text(r, &sb);
	check(sb.buf, sb.len);
	sb_free(&sb);
	ns_registry_free(r);
	free(buf);
	return 0;
}
