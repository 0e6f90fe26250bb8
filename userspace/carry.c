// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "carry.h"
#include "log.h"
#include "metrics.h"

#define KEY_SIZE 256 /* "family\x1fvalue1\x1fvalue2...", zero padded */
#define MAX_CARRIED 8192

struct carry_val {
	double value;
	double sum;
	__u64 slots[NS_HIST_SLOTS];
};

struct carry {
	int fd;
	/* What the earlier agent saved, applied as families register. */
	char (*keys)[KEY_SIZE];
	struct carry_val *vals;
	size_t n;
};

static int make_key(const struct ns_family *f, const struct ns_series *s, char key[KEY_SIZE])
{
	size_t len = strlen(f->d.name);

	memset(key, 0, KEY_SIZE);
	if (len >= KEY_SIZE)
		return -1;
	memcpy(key, f->d.name, len);
	for (unsigned int i = 0; i < f->nlabels; i++) {
		size_t l = strlen(s->values[i]);

		if (len + 1 + l >= KEY_SIZE)
			return -1; /* too long to carry: it restarts from zero */
		key[len++] = 0x1f;
		memcpy(key + len, s->values[i], l);
		len += l;
	}
	return 0;
}

/* Restore this family's saved series: split keys back into label values. */
static void apply(struct ns_registry *r, struct ns_family *f)
{
	struct carry *c = r->carry;
	size_t nl = strlen(f->d.name);

	if (!f->d.carry)
		return;
	for (size_t i = 0; i < c->n; i++) {
		char buf[KEY_SIZE], *v[NS_MAX_LABELS] = {0}, *p;
		struct ns_series *s;
		unsigned int k = 0;

		if (strncmp(c->keys[i], f->d.name, nl) ||
		    (c->keys[i][nl] && c->keys[i][nl] != 0x1f))
			continue;
		memcpy(buf, c->keys[i], KEY_SIZE);
		buf[KEY_SIZE - 1] = 0;
		for (p = strchr(buf, 0x1f); p && k < NS_MAX_LABELS; p = strchr(p, 0x1f)) {
			*p++ = 0;
			v[k++] = p;
		}
		if (k != f->nlabels)
			continue; /* saved by a build with other labels */
		s = ns_series(f, (const char *const *)v);
		if (!s)
			continue;
		s->value = c->vals[i].value;
		s->sum = c->vals[i].sum;
		memcpy(s->slots, c->vals[i].slots, sizeof(s->slots));
		ns_series_touch(r, s);
	}
}

int ns_carry_open(struct ns_registry *r, const char *pin_root)
{
	char path[512], key[KEY_SIZE], next[KEY_SIZE];
	struct carry *c = calloc(1, sizeof(*c));
	void *prev = NULL;

	if (!c)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/carry", pin_root);
	c->fd = bpf_obj_get(path);
	if (c->fd < 0) {
		LIBBPF_OPTS(bpf_map_create_opts, o);
		c->fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ns_carry", KEY_SIZE,
				       sizeof(struct carry_val), MAX_CARRIED, &o);
		if (c->fd < 0 || bpf_obj_pin(c->fd, path)) {
			int err = -errno;

			ns_log(NS_LOG_WARN, "cannot pin the carry map: userspace counts restart",
			       "path", path, "error", strerror(errno), NULL);
			if (c->fd >= 0)
				close(c->fd);
			free(c);
			return err;
		}
	}
	c->keys = calloc(MAX_CARRIED, KEY_SIZE);
	c->vals = calloc(MAX_CARRIED, sizeof(*c->vals));
	while (c->keys && c->vals && c->n < MAX_CARRIED &&
	       !bpf_map_get_next_key(c->fd, prev, next)) {
		memcpy(key, next, KEY_SIZE);
		if (!bpf_map_lookup_elem(c->fd, key, &c->vals[c->n]))
			memcpy(c->keys[c->n++], key, KEY_SIZE);
		prev = key;
	}
	r->carry = c;
	r->on_family = apply;
	for (size_t i = 0; i < r->nfams; i++)
		apply(r, r->fams[i]);
	if (c->n)
		ns_log(NS_LOG_INFO, "restored userspace counts from the pinned carry map", NULL);
	return 0;
}

void ns_carry_save(struct ns_registry *r)
{
	struct carry *c = r->carry;
	char key[KEY_SIZE];

	if (!c)
		return;
	for (size_t i = 0; i < r->nfams; i++) {
		const struct ns_family *f = r->fams[i];

		if (!f->d.carry)
			continue;
		for (size_t j = 0; j < f->nseries; j++) {
			const struct ns_series *s = f->series[j];
			struct carry_val v = {.value = s->value, .sum = s->sum};

			if (make_key(f, s, key))
				continue;
			memcpy(v.slots, s->slots, sizeof(v.slots));
			bpf_map_update_elem(c->fd, key, &v, BPF_ANY);
		}
	}
}

void ns_carry_close(struct ns_registry *r)
{
	struct carry *c = r->carry;

	if (!c)
		return;
	close(c->fd);
	free(c->keys);
	free(c->vals);
	free(c);
	r->carry = NULL;
	r->on_family = NULL;
}
