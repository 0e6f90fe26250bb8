// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"

void sb_init(struct strbuf *sb, size_t hint)
{
	memset(sb, 0, sizeof(*sb));
	sb->buf = malloc(hint ? hint : 256);
	if (sb->buf) {
		sb->cap = hint ? hint : 256;
		sb->buf[0] = 0;
	} else {
		sb->oom = true;
	}
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

char *sb_take(struct strbuf *sb, size_t *len)
{
	char *b = sb->buf;

	if (len)
		*len = sb->len;
	memset(sb, 0, sizeof(*sb));
	return b;
}

static bool grow(struct strbuf *sb, size_t need)
{
	size_t n;
	char *nb;

	if (sb->oom)
		return false;
	if (sb->len + need + 1 <= sb->cap)
		return true;
	n = sb->cap ? sb->cap : 256;
	while (n < sb->len + need + 1)
		n *= 2;
	nb = realloc(sb->buf, n);
	if (!nb) {
		sb->oom = true;
		return false;
	}
	sb->buf = nb;
	sb->cap = n;
	return true;
}

void sb_append(struct strbuf *sb, const char *s, size_t n)
{
	if (!grow(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_append(sb, s, strlen(s));
}

void sb_putc(struct strbuf *sb, char c)
{
	sb_append(sb, &c, 1);
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

int utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	int n, i;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Copy str with invalid UTF-8 replaced by U+FFFD, escaping as asked. */
static void sb_clean(struct strbuf *sb, const char *str, bool esc, bool esc_quote)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		int n = utf8_seq_len(s);

		if (!n) {
			sb_puts(sb, "\xef\xbf\xbd");
			s++;
			continue;
		}
		if (esc && *s == '\\')
			sb_puts(sb, "\\\\");
		else if (esc && *s == '\n')
			sb_puts(sb, "\\n");
		else if (esc_quote && *s == '"')
			sb_puts(sb, "\\\"");
		else
			sb_append(sb, (const char *)s, (size_t)n);
		s += n;
	}
}

void sb_escape(struct strbuf *sb, const char *str, bool esc_quote)
{
	sb_clean(sb, str, true, esc_quote);
}

void sb_utf8(struct strbuf *sb, const char *str)
{
	sb_clean(sb, str, false, false);
}
