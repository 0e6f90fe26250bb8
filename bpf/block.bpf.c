// SPDX-License-Identifier: GPL-2.0
/*
 * Block I/O latency split into queue time (insert -> issue) and device time (issue -> final
 * completion), per whole-disk device and REQ_OP, with request sizes, completed bytes and
 * errors. Requests slower than slow_ns on the device go to the ring buffer with their owner.
 *
 * Start times live in an LRU hash keyed by the request pointer: a request has no local storage
 * of its own (task and socket storage do not apply), and the map is preallocated, so nothing
 * allocates in the completion path, which often runs in hard or soft IRQ context. The block
 * layer reuses its requests (one per tag, allocated with the tag set), so an entry stays when
 * its request ends, reset to idle, and the next life of that request finds it: one lookup at
 * issue and one at completion instead of an insert and a delete per I/O. Entries of requests
 * that went away with their device (or a tag set resized) age out of the LRU.
 *
 * The per-device stats are per-CPU and each field has one writer: the issue program the queue
 * histogram, the complete program the rest. So they take plain increments (ns_hist_add() says
 * why that is safe on a tracepoint); the shared counters stay atomic.
 *
 * Hooks: block_rq_insert, block_rq_issue, block_rq_complete, block_rq_requeue and
 * block_rq_merge, tp_btf preferred, raw_tp fallback. Both flavours see the TP_PROTO arguments,
 * so the classic tracepoint's struct rename (trace_event_raw_block_rq_complete became
 * ..._block_rq_completion when block_rq_error was added) does not concern us.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "novascope/block.h"
#include "hist.bpf.h"
#include "task_cgroup.bpf.h"

/* Set before load. */
/* 5.11 (a54895fa) dropped the request_queue argument of block_rq_{insert,issue,requeue,merge}:
 * before, the request is their second argument. Userspace reads the prototype from BTF. */
const volatile bool rq_arg_second = false;
/* Device time at or above this emits a slow-I/O event; 0 disables events (and the owner
 * capture they need). */
const volatile __u64 slow_ns = 0;

enum { START_REQUEUED = 1 };

struct start {
	__u64 queued; /* insert or requeue time; 0 when the request bypassed the scheduler */
	__u64 issued; /* issue time; 0 while queued */
	__u64 cgroup; /* owner, captured only when slow events are on */
	__u32 pid;
	__u32 bytes; /* request size at issue */
	__u32 flags;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NS_BLOCK_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* ~1.2 KiB per CPU per pair: pay only for used */
	__uint(max_entries, NS_BLOCK_MAX_STATS);
	__type(key, struct ns_block_key);
	__type(value, struct ns_block_stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NS_BLOCK_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

NS_DROPS_MAP(drops);

static const struct ns_block_stat zero_stat;

/* Before 6.0 a request pointed at its disk directly. */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

/*
 * Reads from the request. tp_btf hands us a typed pointer the verifier lets us dereference
 * directly (plain loads); raw_tp only an integer, read through bpf_probe_read_kernel. The
 * handlers take `btf` as a compile-time constant, so each flavour keeps only its own reads.
 */
#define RD(btf, p, f) ((btf) ? (p)->f : BPF_CORE_READ(p, f))

/* The tracepoints' dev field: disk_devt() of the whole disk, in the kernel's encoding. */
static __always_inline __u32 rq_dev(struct request *rq, bool btf)
{
	struct request___old *old = (void *)rq;
	struct request_queue *q;
	struct gendisk *disk;

	/* 6.0 removed rq->rq_disk (f3fa33acca9f): the disk is reached through the queue. */
	if (bpf_core_field_exists(old->rq_disk)) {
		disk = RD(btf, old, rq_disk);
	} else {
		q = RD(btf, rq, q);
		disk = q ? RD(btf, q, disk) : NULL;
	}
	if (!disk)
		return 0;
	return NS_BLOCK_MKDEV(RD(btf, disk, major), RD(btf, disk, first_minor));
}

static __always_inline struct ns_block_stat *stat_of(struct request *rq, bool btf)
{
	struct ns_block_key key;
	struct ns_block_stat *st;

	key.dev = rq_dev(rq, btf);
	key.op = RD(btf, rq, cmd_flags) & NS_REQ_OP_MASK;
	st = bpf_map_lookup_elem(&stats, &key);
	if (st)
		return st;
	bpf_map_update_elem(&stats, &key, &zero_stat, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&stats, &key);
	if (!st)
		count(NS_BLOCK_CNT_STATS_FULL);
	return st;
}

/* Slot of bytes-1 (so 4096 lands under le=4096), sum of the real sizes. */
static __always_inline void record_size(struct ns_hist *h, __u32 bytes)
{
	h->slots[ns_hist_slot(NS_BLOCK_SIZE_SLOT_VALUE(bytes))]++;
	h->sum += bytes;
}

/* The task queueing or issuing the request, for slow-I/O events (only when they are on). */
static __always_inline void set_owner(struct start *s, bool btf)
{
	struct task_struct *t;

	if (!slow_ns)
		return;
	if (btf) {
		/* Plain loads from the current task: cheaper than three more helper calls. */
		t = bpf_get_current_task_btf();
		s->cgroup = ns_task_cgroup(t, true);
		s->pid = t->tgid;
		__builtin_memcpy(s->comm, t->comm, sizeof(s->comm));
	} else {
		s->cgroup = bpf_get_current_cgroup_id();
		s->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(s->comm, sizeof(s->comm));
	}
}

/* The request's entry, created idle on its first life. */
static __always_inline struct start *start_of(__u64 *key)
{
	static const struct start idle;
	struct start *s = bpf_map_lookup_elem(&starts, key);

	if (s)
		return s;
	/* If another CPU created it meanwhile, that is as good. */
	bpf_map_update_elem(&starts, key, &idle, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&starts, key);
	if (!s)
		count(NS_BLOCK_CNT_INFLIGHT_FULL);
	return s;
}

/* The request ended (or was merged away): idle until its next life. */
static __always_inline void set_idle(struct start *s)
{
	s->queued = 0;
	s->issued = 0;
	s->flags = 0;
}

static __always_inline int on_insert(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq;
	struct start *s = start_of(&key);

	if (!s)
		return 0;
	if (s->flags & START_REQUEUED) {
		/* Back from a requeue: its queue time runs from the requeue. */
		s->flags &= ~START_REQUEUED;
		return 0;
	}
	/* Whatever else is there belongs to an earlier life of this request. */
	set_idle(s);
	s->queued = bpf_ktime_get_ns();
	set_owner(s, btf);
	return 0;
}

static __always_inline int on_issue(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct ns_block_stat *st;
	struct start *s = start_of(&key);

	if (!s)
		return 0;
	if (s->queued && !s->issued) {
		/* Inserted (or requeued) in this life: its queue time ends, its owner was taken. */
		st = stat_of(rq, btf);
		if (st)
			ns_hist_add(&st->queue, now - s->queued);
	} else {
		/* Bypassed the scheduler, as most requests do; or a stale earlier life (device time
		 * only). */
		s->queued = 0;
		set_owner(s, btf);
	}
	s->issued = now;
	s->bytes = RD(btf, rq, __data_len);
	s->flags = 0;
	return 0;
}

static __always_inline void emit_slow(struct request *rq, struct start *s, __u64 device_ns,
				      __u32 error, bool btf)
{
	struct ns_block_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		ns_count_drop(&drops);
		return;
	}
	e->device_ns = device_ns;
	e->queue_ns = s->queued ? s->issued - s->queued : 0;
	e->cgroup = s->cgroup;
	e->pid = s->pid;
	e->bytes = s->bytes;
	e->error = error;
	e->pad = 0;
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	/* Re-read rather than stored: keeps struct start small for the common, fast case. */
	e->dev = rq_dev(rq, btf);
	e->op = RD(btf, rq, cmd_flags) & NS_REQ_OP_MASK;
	/* Many slow I/Os arrive together when a disk stalls: the collector drains the buffer on
	 * its own schedule instead of being woken per event. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * A request that ends without having been issued while we watched: an empty pre-flush write
 * the flush machinery answered once its flush request completed, a write-through device's
 * no-op flush, a request failed while queued. The kernel counts these as completed I/Os
 * (/proc/diskstats); so do we, in phase "device" with the time since the request was
 * allocated (rq->start_time_ns, set for every request that iostats accounts). A request
 * already in flight when we attached is not IDLE and is skipped.
 */
static __always_inline void on_unissued_end(struct request *rq, struct ns_block_stat *st, __u32 len,
					    bool btf)
{
	__u64 start, now;

	if (!st)
		return;
	if (RD(btf, rq, state) != MQ_RQ_IDLE) {
		count(NS_BLOCK_CNT_ISSUE_UNSEEN);
		return;
	}
	start = RD(btf, rq, start_time_ns);
	now = bpf_ktime_get_ns();
	ns_hist_add(&st->device, start && start <= now ? now - start : 0);
	record_size(&st->size, len);
}

static __always_inline int on_complete(struct request *rq, __u32 error, __u32 nr_bytes, bool btf)
{
	__u64 key = (__u64)rq, delta;
	struct ns_block_stat *st = stat_of(rq, btf);
	struct start *s;
	__u32 len;

	if (st) {
		st->bytes += nr_bytes;
		if (error)
			st->errors++;
	}
	/*
	 * blk_update_request() fires this before it consumes nr_bytes, and drivers may complete
	 * a request in parts: only the call that covers what is left ends it.
	 */
	len = RD(btf, rq, __data_len);
	if (nr_bytes < len)
		return 0;
	s = bpf_map_lookup_elem(&starts, &key);
	if (!s || !s->issued) {
		if (s)
			set_idle(s);
		on_unissued_end(rq, st, len, btf);
		return 0;
	}
	delta = bpf_ktime_get_ns() - s->issued;
	if (st) {
		ns_hist_add(&st->device, delta);
		record_size(&st->size, s->bytes);
	}
	if (slow_ns && delta >= slow_ns)
		emit_slow(rq, s, delta, error, btf);
	set_idle(s);
	return 0;
}

static __always_inline int on_requeue(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq;
	struct start *s = start_of(&key);

	if (!s)
		return 0;
	/* Device time so far is lost; a new queue period starts unless still queued. */
	if (s->issued || !s->queued) {
		if (!s->issued)
			set_owner(s, btf); /* first seen here: issued before we attached */
		s->queued = bpf_ktime_get_ns();
	}
	s->issued = 0;
	s->flags |= START_REQUEUED;
	return 0;
}

/* The scheduler merged this request into another one and frees it: it will never issue. */
static __always_inline int on_merge(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq;
	struct start *s = bpf_map_lookup_elem(&starts, &key);

	if (s)
		set_idle(s);
	return 0;
}

/*
 * Thin wrappers. The request is ctx[0] since 5.11 and ctx[1] before; rq_arg_second is
 * constant after load, so the verifier only sees the branch this kernel takes.
 */
#define RQ_HOOK(tp, fn, sec, suffix, btf)               \
	SEC(#sec "/" #tp)                               \
	int tp##_##suffix(__u64 *ctx)                   \
	{                                               \
		if (rq_arg_second)                      \
			return fn((void *)ctx[1], btf); \
		return fn((void *)ctx[0], btf);         \
	}

RQ_HOOK(block_rq_insert, on_insert, tp_btf, btf, true)
RQ_HOOK(block_rq_issue, on_issue, tp_btf, btf, true)
RQ_HOOK(block_rq_requeue, on_requeue, tp_btf, btf, true)
RQ_HOOK(block_rq_merge, on_merge, tp_btf, btf, true)
RQ_HOOK(block_rq_insert, on_insert, raw_tp, raw, false)
RQ_HOOK(block_rq_issue, on_issue, raw_tp, raw, false)
RQ_HOOK(block_rq_requeue, on_requeue, raw_tp, raw, false)
RQ_HOOK(block_rq_merge, on_merge, raw_tp, raw, false)

/* (struct request *rq, blk_status_t error, unsigned int nr_bytes); error was an int < 4.13. */
SEC("tp_btf/block_rq_complete")
int block_rq_complete_btf(__u64 *ctx)
{
	return on_complete((void *)ctx[0], (__u32)ctx[1], (__u32)ctx[2], true);
}

SEC("raw_tp/block_rq_complete")
int block_rq_complete_raw(__u64 *ctx)
{
	return on_complete((void *)ctx[0], (__u32)ctx[1], (__u32)ctx[2], false);
}

char LICENSE[] SEC("license") = "GPL";
