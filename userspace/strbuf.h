/* SPDX-License-Identifier: GPL-2.0 */
/* A growable string buffer. On allocation failure it stays truncated and sets oom. */
#ifndef NOVASCOPE_STRBUF_H
#define NOVASCOPE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

void sb_init(struct strbuf *sb, size_t hint);
void sb_free(struct strbuf *sb);
/* Hand the buffer over to the caller (NUL-terminated); the strbuf is reset. */
char *sb_take(struct strbuf *sb, size_t *len);
void sb_append(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with invalid UTF-8 replaced by U+FFFD and, when esc_quote, '"' escaped;
 * backslash and newline are always escaped (Prometheus label value / HELP rules). */
void sb_escape(struct strbuf *sb, const char *s, bool esc_quote);
/* Append s with invalid UTF-8 replaced by U+FFFD (for JSON strings handed to json-c). */
void sb_utf8(struct strbuf *sb, const char *s);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
int utf8_seq_len(const unsigned char *s);

#endif
