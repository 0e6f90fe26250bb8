// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the RDMA probes: a fixed-size hash table, CM event names, sysfs reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "metrics.h"
#include "rdma.h"
#include "novascope/rdma.h"

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
		"ADDR_RESOLVED",   "ADDR_ERROR",       "ROUTE_RESOLVED", "ROUTE_ERROR",
		"CONNECT_REQUEST", "CONNECT_RESPONSE", "CONNECT_ERROR",	 "UNREACHABLE",
		"REJECTED",	   "ESTABLISHED",      "DISCONNECTED",	 "DEVICE_REMOVAL",
		"MULTICAST_JOIN",  "MULTICAST_ERROR",  "ADDR_CHANGE",	 "TIMEWAIT_EXIT",
	};

	if (ev < sizeof(names) / sizeof(names[0]))
		return names[ev];
	snprintf(buf, n, "unknown_%u", ev);
	return buf;
}

bool ns_rdma_fmt(char *out, size_t n, const char *f, ...)
{
	va_list ap;
	int r;

	va_start(ap, f);
	r = vsnprintf(out, n, f, ap);
	va_end(ap);
	return r >= 0 && (size_t)r < n;
}

int ns_rdma_parse_u64(const char *buf, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!len)
		return -1;
	for (; i < len; i++) {
		unsigned int d = (unsigned char)buf[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int ns_rdma_read_small(const char *path, char *buf, size_t n, size_t *len)
{
	struct stat st;
	ssize_t got;
	int fd, err = 0;

	/* O_NONBLOCK: a FIFO planted in a bogus tree must not hang the collection. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (S_ISDIR(st.st_mode))
		err = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	if (!err) {
		got = read(fd, buf, n - 1);
		if (got < 0)
			err = -errno;
		else if ((size_t)got == n - 1)
			err = -EFBIG;
		else
			buf[ *len = (size_t)got] = 0;
	}
	close(fd);
	return err;
}

void ns_rdma_printable(const char *in, size_t len, char *out, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < len && j + 1 < n; i++)
		out[j++] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[j] = 0;
}

void ns_rdma_collect_cm_events(int fd, struct ns_kv *prev, const struct ns_family_desc *d,
			       struct ns_registry *r)
{
	struct ns_rdma_event_key key, next, *kp = NULL;
	char ebuf[24], status[16];
	struct ns_series *s;
	__u64 cur, *last;

	while (!bpf_map_get_next_key(fd, kp, &next)) {
		key = next;
		kp = &key;
		if (bpf_map_lookup_elem(fd, &key, &cur))
			continue;
		last = ns_kv_get(prev, &key, true);
		if (!last)
			return;
		snprintf(status, sizeof(status), "%d", key.status);
		s = ns_series(ns_family(r, d),
			      NS_LV(ns_rdma_cm_event_name(key.event, ebuf, sizeof(ebuf)), status));
		if (s) {
			ns_counter_add(s, (double)(cur - *last));
			ns_series_touch(r, s);
		}
		*last = cur;
	}
}
