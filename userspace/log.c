// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "strbuf.h"

static enum ns_log_level level = NS_LOG_INFO;
static bool json;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const names[] = {"debug", "info", "warn", "error"};

int ns_log_set_level(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (!strcmp(name, names[i])) {
			level = (enum ns_log_level)i;
			return 0;
		}
	}
	return -1;
}

int ns_log_set_format(const char *name)
{
	if (!strcmp(name, "text"))
		json = false;
	else if (!strcmp(name, "json"))
		json = true;
	else
		return -1;
	return 0;
}

enum ns_log_level ns_log_level(void)
{
	return level;
}

static void put_val(struct strbuf *sb, const char *v)
{
	bool quote = json || !*v || strpbrk(v, " \"=\\\n\t");

	if (!quote) {
		sb_utf8(sb, v);
		return;
	}
	sb_putc(sb, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			sb_putc(sb, '\\'), sb_putc(sb, *p);
		else if (*p == '\n')
			sb_puts(sb, "\\n");
		else if ((unsigned char)*p < 0x20)
			sb_printf(sb, "\\u%04x", *p);
		else
			sb_putc(sb, *p);
	}
	sb_putc(sb, '"');
}

static void emit(enum ns_log_level lvl, const char *msg, va_list kv)
{
	struct strbuf sb, clean;
	struct timespec ts;
	struct tm tm;
	char tbuf[40];
	const char *k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	sb_init(&sb, 256);
	sb_init(&clean, 64);
	sb_utf8(&clean, msg);
	if (json)
		sb_printf(&sb, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":", tbuf,
			  ts.tv_nsec / 1000000, names[lvl]);
	else
		sb_printf(&sb, "ts=%s.%03ldZ level=%s msg=", tbuf, ts.tv_nsec / 1000000,
			  names[lvl]);
	put_val(&sb, clean.buf ? clean.buf : "");
	while ((k = va_arg(kv, const char *))) {
		const char *v = va_arg(kv, const char *);

		clean.len = 0;
		if (clean.buf)
			clean.buf[0] = 0; /* an empty value must not show the previous one */
		sb_utf8(&clean, v ? v : "");
		sb_puts(&sb, json ? ",\"" : " ");
		sb_puts(&sb, k);
		sb_puts(&sb, json ? "\":" : "=");
		put_val(&sb, clean.buf ? clean.buf : "");
	}
	sb_puts(&sb, json ? "}\n" : "\n");
	pthread_mutex_lock(&lock);
	fputs(sb.buf ? sb.buf : "", stderr);
	fflush(stderr);
	pthread_mutex_unlock(&lock);
	sb_free(&sb);
	sb_free(&clean);
}

void ns_log(enum ns_log_level lvl, const char *msg, ...)
{
	va_list ap;

	if (lvl < level)
		return;
	va_start(ap, msg);
	emit(lvl, msg, ap);
	va_end(ap);
}

static void emit_plain(enum ns_log_level lvl, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	emit(lvl, msg, ap);
	va_end(ap);
}

void ns_logf(enum ns_log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (lvl < level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit_plain(lvl, buf, NULL);
}
