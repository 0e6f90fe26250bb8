/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NOVASCOPE_LOG_H
#define NOVASCOPE_LOG_H

enum ns_log_level { NS_LOG_DEBUG, NS_LOG_INFO, NS_LOG_WARN, NS_LOG_ERROR };

/* Returns 0, or -1 for an unknown level / format name. */
int ns_log_set_level(const char *name);
int ns_log_set_format(const char *name);
enum ns_log_level ns_log_level(void);

/*
 * Structured logging: msg, then key/value string pairs, NULL-terminated.
 * text: ts=... level=info msg="..." key=value; json: one object per line.
 */
void ns_log(enum ns_log_level lvl, const char *msg, ...) __attribute__((sentinel));
/* printf-style message without key/values. */
void ns_logf(enum ns_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) ns_logf(NS_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) ns_logf(NS_LOG_INFO, __VA_ARGS__)
#define log_warn(...) ns_logf(NS_LOG_WARN, __VA_ARGS__)
#define log_error(...) ns_logf(NS_LOG_ERROR, __VA_ARGS__)

#endif
