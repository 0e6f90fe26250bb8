/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounded set of label values shared by several metric families: a probe that exports the
 * same label (e.g. cgroup) in families with different numbers of series per value asks here
 * once per value and interval, so every family sees the same at most `cap` values ("other"
 * included). A value not asked for during `expire_after` intervals leaves the set, one interval
 * after the registry has dropped its series (stale_after = expire_after), so the exported
 * families never hold more than `cap` values.
 */
#ifndef NOVASCOPE_LABELCAP_H
#define NOVASCOPE_LABELCAP_H

#include <stdint.h>

struct ns_labelcap;

struct ns_labelcap *ns_labelcap_new(unsigned int cap, unsigned int expire_after);
void ns_labelcap_free(struct ns_labelcap *c);
/* The value to export for `label` during interval `gen`: the label itself when it holds or gets
 * a place, else "other". The returned string lives until the next call. */
const char *ns_labelcap_admit(struct ns_labelcap *c, const char *label, uint64_t gen);
/* Values currently held (not counting "other"). */
unsigned int ns_labelcap_count(const struct ns_labelcap *c);

#endif
