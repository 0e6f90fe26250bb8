/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Carry userspace-derived counts (families with .carry) across agent restarts, in a pinned
 * BPF hash map: saved after every collection (so kill -9 loses at most one interval of
 * already-consumed events), restored when the family is registered again.
 */
#ifndef NOVASCOPE_CARRY_H
#define NOVASCOPE_CARRY_H

struct ns_registry;

/* Open or create <pin_root>/carry and read what an earlier agent saved. 0 or -errno. */
int ns_carry_open(struct ns_registry *r, const char *pin_root);
void ns_carry_save(struct ns_registry *r);
void ns_carry_close(struct ns_registry *r);

#endif
