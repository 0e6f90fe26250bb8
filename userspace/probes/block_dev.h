/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block device names from major:minor (/sys/dev/block/MAJ:MIN/uevent DEVNAME), cached, with
 * a re-read on a miss (hot-added devices) and after a time to live (a major:minor reused by
 * another device after a removal).
 */
#ifndef NOVASCOPE_BLOCK_DEV_H
#define NOVASCOPE_BLOCK_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define NS_BLKDEV_NAME_LEN 32 /* DISK_NAME_LEN */

struct ns_blkdev_cache;

/* sysfs_root is "/sys" (tests point it at a scratch tree); ttl_ns 0 = never re-read a hit. */
struct ns_blkdev_cache *ns_blkdev_cache_new(const char *sysfs_root, uint64_t ttl_ns);
void ns_blkdev_cache_free(struct ns_blkdev_cache *c);

/*
 * Name of dev (kernel dev_t encoding, NS_BLOCK_MKDEV). now_ns is CLOCK_MONOTONIC. When sysfs
 * has no such device, *gone is set and the name is the last one known, else "MAJ:MIN".
 * The pointer stays valid until the next call for the same dev.
 */
const char *ns_blkdev_name(struct ns_blkdev_cache *c, __u32 dev, uint64_t now_ns, bool *gone);
/* Forget dev (after its device went away and its statistics were dropped). */
void ns_blkdev_forget(struct ns_blkdev_cache *c, __u32 dev);

/* DEVNAME= of a uevent file's text into name; 0, or -1 when absent or not a usable name. */
int ns_block_parse_uevent(const char *buf, char *name, size_t n);
/* "read", "write", "flush", "discard" or "other" for a raw REQ_OP. */
const char *ns_block_op_name(__u32 req_op);

#endif
