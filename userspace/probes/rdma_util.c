// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the RDMA probes: a fixed-size hash table and CM event names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rdma.h"

/* Slot layout: one "used" byte, padding to 8, key, value (each rounded up to 8 bytes). */
#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static size_t slot_size(const struct ns_kv *t)
{
	return 8 + ALIGN8(t->ksize) + ALIGN8(t->vsize);
}

static unsigned char *slot(const struct ns_kv *t, size_t i)
{
	return t->slots + i * slot_size(t);
}

static uint64_t hash(const void *key, size_t n)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

void ns_kv_init(struct ns_kv *t, size_t ksize, size_t vsize)
{
	memset(t, 0, sizeof(*t));
	t->ksize = ksize;
	t->vsize = vsize;
}

void ns_kv_free(struct ns_kv *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t find(const struct ns_kv *t, const void *key)
{
	size_t i = hash(key, t->ksize) & (t->cap - 1);

	while (slot(t, i)[0] && memcmp(slot(t, i) + 8, key, t->ksize))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct ns_kv *t)
{
	struct ns_kv old = *t;

	t->cap = old.cap ? old.cap * 2 : 64;
	t->slots = calloc(t->cap, slot_size(t));
	if (!t->slots) {
		*t = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++) {
		unsigned char *s = slot(&old, i);

		if (s[0])
			memcpy(slot(t, find(t, s + 8)), s, slot_size(t));
	}
	free(old.slots);
	return 0;
}

void *ns_kv_get(struct ns_kv *t, const void *key, bool create)
{
	unsigned char *s;

	if (t->cap) {
		s = slot(t, find(t, key));
		if (s[0])
			return s + 8 + ALIGN8(t->ksize);
	}
	if (!create)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && grow(t))
		return NULL;
	s = slot(t, find(t, key));
	s[0] = 1;
	memcpy(s + 8, key, t->ksize);
	t->n++;
	return s + 8 + ALIGN8(t->ksize);
}

void *ns_kv_at(const struct ns_kv *t, size_t i, const void **key)
{
	unsigned char *s = slot(t, i);

	if (!s[0])
		return NULL;
	if (key)
		*key = s + 8;
	return s + 8 + ALIGN8(t->ksize);
}

const char *ns_rdma_cm_event_name(unsigned int ev, char *buf, size_t n)
{
	/* enum rdma_cm_event_type (<rdma/rdma_cma.h>, include/rdma/rdma_cm.h): same numbering in
	 * the library and the kernel. */
	static const char *const names[] = {
		"ADDR_RESOLVED", "ADDR_ERROR",	    "ROUTE_RESOLVED", "ROUTE_ERROR",
		"CONNECT_REQUEST", "CONNECT_RESPONSE", "CONNECT_ERROR", "UNREACHABLE",
		"REJECTED",	   "ESTABLISHED",      "DISCONNECTED",	"DEVICE_REMOVAL",
		"MULTICAST_JOIN",  "MULTICAST_ERROR",  "ADDR_CHANGE",	"TIMEWAIT_EXIT",
	};

	if (ev < sizeof(names) / sizeof(names[0]))
		return names[ev];
	snprintf(buf, n, "unknown_%u", ev);
	return buf;
}
