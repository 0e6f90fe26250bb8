// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "privs.h"

#define MAX_KEEP 64

/* Names with or without the cap_ prefix, any case. */
static int parse_list(const char *list, cap_value_t *out, int *nout, char *err, size_t n)
{
	char *dup, *tok, *save = NULL;
	int k = 0;

	*nout = 0;
	if (!list || !*list)
		return 0;
	dup = strdup(list);
	for (tok = strtok_r(dup, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char name[64];
		cap_value_t v;

		snprintf(name, sizeof(name), "%s%s", strncasecmp(tok, "cap_", 4) ? "cap_" : "",
			 tok);
		for (char *p = name; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		if (cap_from_name(name, &v) || k == MAX_KEEP) {
			snprintf(err, n, "--runtime.keep-caps: unknown capability \"%s\"", tok);
			free(dup);
			return -1;
		}
		out[k++] = v;
	}
	free(dup);
	*nout = k;
	return 0;
}

int ns_caps_parse(const char *list, char *err, size_t n)
{
	cap_value_t keep[MAX_KEEP];
	int nk;

	return parse_list(list, keep, &nk, err, n);
}

static bool kept(const cap_value_t *keep, int nk, cap_value_t c)
{
	for (int i = 0; i < nk; i++)
		if (keep[i] == c)
			return true;
	return false;
}

static int switch_user(const char *user, int nk, char *err, size_t n)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		snprintf(err, n, "--runtime.user: no user \"%s\"", user);
		return -1;
	}
	/* Keep the permitted set across setuid so the kept capabilities survive it. */
	if (nk && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
		snprintf(err, n, "PR_SET_KEEPCAPS: %s", strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		snprintf(err, n, "--runtime.user %s: %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

int ns_drop_privileges(const char *keep_list, const char *user, char *err, size_t n)
{
	cap_value_t keep[MAX_KEEP];
	int nk, ret = -1;
	cap_t caps;

	if (parse_list(keep_list, keep, &nk, err, n))
		return -1;
	/* The bounding set first: dropping from it needs CAP_SETPCAP, still effective now. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
		if (!kept(keep, nk, c) && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) &&
		    errno != EINVAL) {
			snprintf(err, n, "drop capability %s from the bounding set: %s",
				 cap_to_name(c), strerror(errno));
			return -1;
		}
	if (user && *user && switch_user(user, nk, err, n))
		return -1;
	caps = cap_init(); /* all clear */
	if (!caps || (nk && (cap_set_flag(caps, CAP_PERMITTED, nk, keep, CAP_SET) ||
			     cap_set_flag(caps, CAP_EFFECTIVE, nk, keep, CAP_SET)))) {
		snprintf(err, n, "cannot build capability set");
		goto out;
	}
	if (cap_set_proc(caps)) {
		snprintf(err, n, "cap_set_proc: %s", strerror(errno));
		goto out;
	}
	cap_reset_ambient();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, n, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	cap_free(caps);
	return ret;
}
