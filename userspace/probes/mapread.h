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

/*
 * Per-key state over a per-CPU hash map of cumulative values, for probes that turn each read
 * into deltas. Entries are ent_size bytes and start with the key as a record holds it
 * (NS_REC_KEY_WORDS u64s, so the first key_size bytes are the map's key); they stay sorted.
 */
struct ns_keytab {
	size_t ent_size, key_size, words;
	/* A key seen for the first time: the entry is zero but for its key; fill in the rest
	 * (NULL: nothing to fill in). */
	void (*init)(void *ctx, void *ent);
	/* Account vals (the summed values) against the entry and keep them as its previous
	 * read. false: the key's owner is gone and this was its last read; the entry is dropped
	 * and the key deleted from the map, so that the map has room for new keys. */
	bool (*update)(void *ctx, void *ent, const __u64 *vals);
	void *ents;
	size_t n;
};

/* One read of the map behind fd through t's callbacks; 0 or -errno. */
int ns_keytab_collect(struct ns_keytab *t, int fd, void *ctx);
void ns_keytab_free(struct ns_keytab *t);

#endif
