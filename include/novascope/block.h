/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Block I/O: structures shared by bpf/block.bpf.c and userspace/probes/block.c. */
#ifndef NOVASCOPE_BLOCK_H
#define NOVASCOPE_BLOCK_H

#include "novascope/hist.h"

/*
 * Requests tracked at once (start-time LRU map entries, preallocated; an entry stays with its
 * request across I/Os). NVMe allows up to 64K tags per queue, but a node rarely uses more than
 * a few thousand requests; the least recently used entries make room for new ones, and a
 * request whose entry went while it was in flight ends as NS_BLOCK_CNT_ISSUE_UNSEEN.
 */
#define NS_BLOCK_MAX_INFLIGHT 32768
/* (device, operation) pairs with statistics; beyond that NS_BLOCK_CNT_STATS_FULL counts. */
#define NS_BLOCK_MAX_STATS 1024

/* Indexes of the per-CPU counters array. */
enum {
	NS_BLOCK_CNT_INFLIGHT_FULL = 0, /* start-time map update failed (full): not measured */
	NS_BLOCK_CNT_STATS_FULL, /* no room in the stats map: nothing recorded */
	NS_BLOCK_CNT_ISSUE_UNSEEN, /* ended without a start entry although issued: in flight
				    * when we attached, or its issue event was lost */
	NS_BLOCK_CNT_MAX,
};

/*
 * The kernel's dev_t encoding (MINORBITS = 20), as the block tracepoints' `dev` field and
 * disk_devt() use it; not the userspace encoding of makedev().
 */
#define NS_BLOCK_MINORBITS 20
#define NS_BLOCK_MKDEV(ma, mi) (((__u32)(ma) << NS_BLOCK_MINORBITS) | (__u32)(mi))
#define NS_BLOCK_MAJOR(dev) ((__u32)(dev) >> NS_BLOCK_MINORBITS)
#define NS_BLOCK_MINOR(dev) ((__u32)(dev) & ((1U << NS_BLOCK_MINORBITS) - 1))

/* Stats key: whole-disk device and the raw REQ_OP (cmd_flags & REQ_OP_MASK). */
struct ns_block_key {
	__u32 dev;
	__u32 op;
};

/* Per-CPU statistics of one (device, op). */
struct ns_block_stat {
	struct ns_hist queue; /* ns from insert (or requeue) to issue; inserted requests only */
	struct ns_hist device; /* ns from issue to the final completion */
	struct ns_hist size; /* request bytes at issue, recorded as bytes-1 (see below) */
	__u64 bytes; /* bytes completed: sum of block_rq_complete's nr_bytes */
	__u64 errors; /* completions with a non-zero blk_status_t */
};

/*
 * Request sizes are mostly powers of two: recording v-1 puts a 4096-byte request in slot 11,
 * whose exported bound is le=4096 (Prometheus buckets are inclusive), not in le=8192.
 */
#define NS_BLOCK_SIZE_SLOT_VALUE(v) ((v) ? (__u64)(v)-1 : 0)

/* A request whose device time reached --block.slow-threshold (ring buffer). */
struct ns_block_event {
	__u64 device_ns;
	__u64 queue_ns; /* 0 when the request bypassed the scheduler */
	__u64 cgroup; /* cgroup v2 id of the task that inserted or issued it */
	__u32 dev;
	__u32 op;
	__u32 pid; /* tgid of that task */
	__u32 bytes;
	__u32 error;
	__u32 pad;
	char comm[16];
};

/*
 * REQ_OP values (include/linux/blk_types.h, stable since 4.10 split the op from the flags):
 * READ 0, WRITE 1, FLUSH 2, DISCARD 3, SECURE_ERASE 5, WRITE_ZEROES 9, zone ops 10-15,
 * DRV_IN 34, DRV_OUT 35 (passthrough).
 */
#define NS_REQ_OP_MASK 0xff
enum ns_block_op {
	NS_BLOCK_OP_READ = 0,
	NS_BLOCK_OP_WRITE,
	NS_BLOCK_OP_FLUSH,
	NS_BLOCK_OP_DISCARD,
	NS_BLOCK_OP_OTHER,
	NS_BLOCK_OP_MAX,
};

/* The op label of a raw REQ_OP: secure erase is a discard; write-zeroes, zone management and
 * driver passthrough are "other". */
static inline enum ns_block_op ns_block_op_class(__u32 req_op)
{
	switch (req_op & NS_REQ_OP_MASK) {
	case 0:
		return NS_BLOCK_OP_READ;
	case 1:
		return NS_BLOCK_OP_WRITE;
	case 2:
		return NS_BLOCK_OP_FLUSH;
	case 3:
	case 5:
		return NS_BLOCK_OP_DISCARD;
	default:
		return NS_BLOCK_OP_OTHER;
	}
}

#endif
