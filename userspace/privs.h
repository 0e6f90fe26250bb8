/* SPDX-License-Identifier: GPL-2.0 */
/* Least privilege: once every probe is attached, drop the capabilities no longer needed. */
#ifndef NOVASCOPE_PRIVS_H
#define NOVASCOPE_PRIVS_H

#include <stddef.h>

/* Validate a comma list of capability names ("cap_bpf,perfmon"); 0 or -1 with a message. */
int ns_caps_parse(const char *list, char *err, size_t n);
/*
 * Keep only the capabilities in keep (may be NULL/empty), in the effective, permitted and
 * bounding sets; switch to user (if set) keeping those; set no_new_privs. Call before any
 * thread is created: capabilities are per thread and new threads inherit the caller's.
 */
int ns_drop_privileges(const char *keep, const char *user, char *err, size_t n);

#endif
