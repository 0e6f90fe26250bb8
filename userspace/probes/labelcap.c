// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "labelcap.h"

#define OTHER "other"

struct ent {
	char *label;
	uint64_t last; /* interval of the last admit */
};

struct ns_labelcap {
	struct ent *e; /* sorted by label */
	unsigned int n, cap, expire_after;
	uint64_t swept; /* interval of the last expiry sweep */
};

struct ns_labelcap *ns_labelcap_new(unsigned int cap, unsigned int expire_after)
{
	struct ns_labelcap *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cap = cap < 2 ? 2 : cap;
	c->expire_after = expire_after;
	c->e = calloc(c->cap, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return NULL;
	}
	return c;
}

void ns_labelcap_free(struct ns_labelcap *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->n; i++)
		free(c->e[i].label);
	free(c->e);
	free(c);
}

unsigned int ns_labelcap_count(const struct ns_labelcap *c)
{
	return c->n;
}

/* Drop values not asked for in more than expire_after + 1 intervals (the registry drops their
 * series after expire_after; one more interval keeps the two from overlapping). */
static void sweep(struct ns_labelcap *c, uint64_t gen)
{
	unsigned int k = 0;

	c->swept = gen;
	for (unsigned int i = 0; i < c->n; i++) {
		if (c->expire_after && gen - c->e[i].last > (uint64_t)c->expire_after + 1) {
			free(c->e[i].label);
			continue;
		}
		c->e[k++] = c->e[i];
	}
	c->n = k;
}

/* Index of label, or -(insertion point) - 1. */
static long find(const struct ns_labelcap *c, const char *label)
{
	long lo = 0, hi = (long)c->n - 1;

	while (lo <= hi) {
		long mid = (lo + hi) / 2;
		int d = strcmp(c->e[mid].label, label);

		if (!d)
			return mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

const char *ns_labelcap_admit(struct ns_labelcap *c, const char *label, uint64_t gen)
{
	long i;
	char *dup;

	if (gen != c->swept)
		sweep(c, gen);
	if (!strcmp(label, OTHER))
		return OTHER;
	i = find(c, label);
	if (i >= 0) {
		c->e[i].last = gen;
		return c->e[i].label;
	}
	/* "other" takes one of the cap places. */
	if (c->n + 1 >= c->cap || !(dup = strdup(label)))
		return OTHER;
	i = -i - 1;
	memmove(&c->e[i + 1], &c->e[i], (c->n - (unsigned int)i) * sizeof(*c->e));
	c->e[i].label = dup;
	c->e[i].last = gen;
	c->n++;
	return dup;
}
