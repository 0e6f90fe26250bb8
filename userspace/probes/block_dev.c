// SPDX-License-Identifier: GPL-2.0
/* Block device and operation names for the block probe's labels. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block_dev.h"
#include "novascope/block.h"

#define CACHE_SLOTS 2048 /* power of two, above NS_BLOCK_MAX_STATS */

struct entry {
	__u32 dev;
	bool used, gone;
	uint64_t checked; /* when sysfs was last read for it */
	char name[NS_BLKDEV_NAME_LEN];
};

struct ns_blkdev_cache {
	char root[PATH_MAX];
	uint64_t ttl_ns;
	struct entry e[CACHE_SLOTS];
};

const char *ns_block_op_name(__u32 req_op)
{
	static const char *const names[NS_BLOCK_OP_MAX] = {
		[NS_BLOCK_OP_READ] = "read",   [NS_BLOCK_OP_WRITE] = "write",
		[NS_BLOCK_OP_FLUSH] = "flush", [NS_BLOCK_OP_DISCARD] = "discard",
		[NS_BLOCK_OP_OTHER] = "other",
	};

	return names[ns_block_op_class(req_op)];
}

/* A kernel disk name: printable, no quotes or backslashes, no "." or "..", fits DISK_NAME_LEN. */
static bool usable_name(const char *s, size_t len)
{
	if (!len || len >= NS_BLKDEV_NAME_LEN || !strncmp(s, ".", len) || !strncmp(s, "..", len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

int ns_block_parse_uevent(const char *buf, char *name, size_t n)
{
	const char *p = buf;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > 8 && !strncmp(p, "DEVNAME=", 8)) {
			len -= 8;
			p += 8;
			if (!usable_name(p, len) || len >= n)
				return -1;
			memcpy(name, p, len);
			name[len] = 0;
			return 0;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

/* Read the name from sysfs: 0, -ENOENT when there is no such device, -EINVAL if unusable. */
static int resolve(const struct ns_blkdev_cache *c, __u32 dev, char *name, size_t n)
{
	char path[PATH_MAX + 64], buf[4096], link[PATH_MAX];
	const char *base;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/uevent", c->root, NS_BLOCK_MAJOR(dev),
		 NS_BLOCK_MINOR(dev));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = 0;
	if (!ns_block_parse_uevent(buf, name, n))
		return 0;
	/* No DEVNAME: the link's last component is the kernel name (.../block/loop0). */
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", c->root, NS_BLOCK_MAJOR(dev),
		 NS_BLOCK_MINOR(dev));
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return -EINVAL;
	link[len] = 0;
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (!usable_name(base, strlen(base)) || strlen(base) >= n)
		return -EINVAL;
	strcpy(name, base);
	return 0;
}

struct ns_blkdev_cache *ns_blkdev_cache_new(const char *sysfs_root, uint64_t ttl_ns)
{
	struct ns_blkdev_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->root, sizeof(c->root), "%s", sysfs_root ? sysfs_root : "/sys");
	c->ttl_ns = ttl_ns;
	return c;
}

void ns_blkdev_cache_free(struct ns_blkdev_cache *c)
{
	free(c);
}

static struct entry *slot_of(struct ns_blkdev_cache *c, __u32 dev, bool create)
{
	__u32 h = (dev * 2654435761U) & (CACHE_SLOTS - 1);

	for (unsigned int i = 0; i < CACHE_SLOTS; i++, h = (h + 1) & (CACHE_SLOTS - 1)) {
		struct entry *e = &c->e[h];

		if (e->used && e->dev == dev)
			return e;
		if (!e->used) {
			if (!create)
				return NULL;
			e->used = true;
			e->dev = dev;
			e->checked = 0;
			e->name[0] = 0;
			return e;
		}
	}
	return NULL;
}

const char *ns_blkdev_name(struct ns_blkdev_cache *c, __u32 dev, uint64_t now_ns, bool *gone)
{
	static char fallback[NS_BLKDEV_NAME_LEN];
	struct entry *e = slot_of(c, dev, true);
	char name[NS_BLKDEV_NAME_LEN];
	int err;

	*gone = false;
	if (!e) { /* table full: cannot happen below NS_BLOCK_MAX_STATS devices */
		snprintf(fallback, sizeof(fallback), "%u:%u", NS_BLOCK_MAJOR(dev),
			 NS_BLOCK_MINOR(dev));
		return fallback;
	}
	if (e->name[0] && !e->gone && (!c->ttl_ns || now_ns - e->checked < c->ttl_ns))
		return e->name;
	err = resolve(c, dev, name, sizeof(name));
	e->checked = now_ns;
	e->gone = err == -ENOENT;
	if (!err)
		memcpy(e->name, name, sizeof(name));
	else if (!e->name[0])
		snprintf(e->name, sizeof(e->name), "%u:%u", NS_BLOCK_MAJOR(dev),
			 NS_BLOCK_MINOR(dev));
	*gone = e->gone;
	return e->name;
}

void ns_blkdev_forget(struct ns_blkdev_cache *c, __u32 dev)
{
	struct entry *e = slot_of(c, dev, false);
	unsigned int h, j;

	if (!e)
		return;
	/* Open addressing: re-place the entries of the cluster that follows the hole. */
	e->used = false;
	h = (unsigned int)(e - c->e);
	for (j = (h + 1) & (CACHE_SLOTS - 1); c->e[j].used; j = (j + 1) & (CACHE_SLOTS - 1)) {
		struct entry tmp = c->e[j], *n;

		c->e[j].used = false;
		n = slot_of(c, tmp.dev, true);
		*n = tmp;
	}
}
