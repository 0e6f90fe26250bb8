// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "mapread.h"
#include "probe_util.h"

#define CHUNK 128 /* entries per batch: bounds the buffers at CHUNK x CPUs values */

int ns_rec_cmp(const void *a, const void *b)
{
	const __u64 *x = a, *y = b;

	for (int i = 0; i < NS_REC_KEY_WORDS; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

/* Append count entries of the batch buffers to *out as records. */
static int append(__u64 **out, size_t *have, size_t *cap, const void *keys, const __u64 *vals,
		  __u32 count, size_t ksz, size_t words)
{
	size_t rec = NS_REC_KEY_WORDS + words, ncpu = (size_t)ns_nr_cpus();

	if (*have + count > *cap) {
		size_t c = (*have + count) * 2;
		__u64 *o = realloc(*out, c * rec * sizeof(__u64));

		if (!o)
			return -ENOMEM;
		*out = o;
		*cap = c;
	}
	for (__u32 i = 0; i < count; i++, (*have)++) {
		__u64 *r = *out + *have * rec;
		const __u64 *v = vals + (size_t)i * ncpu * words;

		memset(r, 0, rec * sizeof(__u64));
		memcpy(r, (const char *)keys + (size_t)i * ksz, ksz);
		for (size_t c = 0; c < ncpu; c++)
			for (size_t w = 0; w < words; w++)
				r[NS_REC_KEY_WORDS + w] += v[c * words + w];
	}
	return 0;
}

__u64 *ns_read_percpu_map(int fd, size_t ksz, size_t words, size_t *n)
{
	void *keys = calloc(CHUNK, ksz);
	__u64 *vals = calloc((size_t)CHUNK * (size_t)ns_nr_cpus() * words, sizeof(__u64));
	__u64 *out = NULL, in = 0, next = 0;
	size_t have = 0, cap = 0;
	bool first = true, done = false;
	int err = 0;

	if (!keys || !vals || ksz > NS_REC_KEY_WORDS * sizeof(__u64)) {
		err = keys && vals ? -EINVAL : -ENOMEM;
		goto cleanup;
	}
	while (!done) {
		__u32 count = CHUNK;

		if (bpf_map_lookup_batch(fd, first ? NULL : &in, &next, keys, vals, &count, NULL)) {
			if (errno != ENOENT) {
				err = -errno;
				goto cleanup;
			}
			done = true; /* the last batch, possibly with entries */
		}
		first = false;
		in = next;
		err = append(&out, &have, &cap, keys, vals, count, ksz, words);
		if (err)
			goto cleanup;
	}
	if (have)
		qsort(out, have, (NS_REC_KEY_WORDS + words) * sizeof(__u64), ns_rec_cmp);
	*n = have;
	if (!out)
		out = calloc(1, sizeof(__u64));
cleanup:
	free(keys);
	free(vals);
	if (err) {
		free(out);
		errno = -err;
		return NULL;
	}
	return out;
}

int ns_keytab_collect(struct ns_keytab *t, int fd, void *ctx)
{
	size_t n, rec = NS_REC_KEY_WORDS + t->words, keep = 0;
	__u64 *cur = ns_read_percpu_map(fd, t->key_size, t->words, &n);
	char *next;

	if (!cur)
		return -errno;
	next = calloc(n ? n : 1, t->ent_size);
	if (!next) {
		free(cur);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const __u64 *k = cur + i * rec;
		void *old = t->n ? bsearch(k, t->ents, t->n, t->ent_size, ns_rec_cmp) : NULL;
		void *e = next + keep * t->ent_size;

		if (old) {
			memcpy(e, old, t->ent_size);
		} else {
			memcpy(e, k, NS_REC_KEY_WORDS * sizeof(__u64));
			if (t->init)
				t->init(ctx, e);
		}
		if (!t->update(ctx, e, k + NS_REC_KEY_WORDS)) {
			bpf_map_delete_elem(fd, e); /* the key: the entry's first key_size bytes */
			memset(e, 0, t->ent_size);
			continue;
		}
		keep++;
	}
	free(cur);
	free(t->ents);
	t->ents = next;
	t->n = keep;
	return 0;
}

void ns_keytab_free(struct ns_keytab *t)
{
	free(t->ents);
	t->ents = NULL;
	t->n = 0;
}
