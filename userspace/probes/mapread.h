/* SPDX-License-Identifier: GPL-2.0 */
/* Reading per-CPU hash maps of u64 counters/histograms into summed records. */
#ifndef NOVASCOPE_MAPREAD_H
#define NOVASCOPE_MAPREAD_H

#include <stddef.h>
#include <linux/types.h>

/* A record: the key zero-padded to 16 bytes (two u64), then the value words summed over CPUs. */
#define NS_REC_KEY_WORDS 2

/*
 * Read every entry of a per-CPU hash map whose value is `words` u64s (key_size <= 16), in
 * batches. Returns a malloc'd array of *n records of NS_REC_KEY_WORDS + words u64s, sorted by
 * key (ns_rec_cmp); NULL with errno set on error.
 */
__u64 *ns_read_percpu_map(int fd, size_t key_size, size_t words, size_t *n);
/* Order of two records (or of a record and anything starting with a 16-byte key). */
int ns_rec_cmp(const void *a, const void *b);

#endif
