/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Log2 histogram helpers for BPF programs; the slot rule matches userspace's ns_log2_slot(). */
#ifndef NOVASCOPE_HIST_BPF_H
#define NOVASCOPE_HIST_BPF_H

#include "novascope/hist.h"

static __always_inline __u32 ns_log2(__u64 v)
{
	__u32 r = 0, shift;

	/* Branch-free binary search for the highest set bit. */
	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 ns_hist_slot(__u64 v)
{
	__u32 slot = ns_log2(v);

	return slot < NS_HIST_SLOTS ? slot : NS_HIST_SLOTS - 1;
}

/*
 * Record v in a histogram that lives in a per-CPU map, from any program type. The increments are
 * atomic because uprobe and trampoline programs run with migration, not preemption, disabled: a
 * second task on the same CPU can run the same program in the middle of a plain increment.
 */
static __always_inline void ns_hist_record(struct ns_hist *h, __u64 v)
{
	__sync_fetch_and_add(&h->slots[ns_hist_slot(v)], 1);
	__sync_fetch_and_add(&h->sum, v);
}

/*
 * The same with plain increments, for a histogram only one program writes, when that program is
 * on a (non-syscall) tracepoint: tracepoints call their probes with preemption disabled, and the
 * BPF glue (__bpf_trace_run) skips a program already running on this CPU, so nothing else can
 * touch these fields in the middle. A lock-prefixed add costs more than the rest of the update.
 */
static __always_inline void ns_hist_add(struct ns_hist *h, __u64 v)
{
	h->slots[ns_hist_slot(v)]++;
	h->sum += v;
}

/* Ring-buffer drop counter: a per-CPU array with one u64, read as novascope_events_dropped_total.
 */
#define NS_DROPS_MAP(name)                               \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, 1);                  \
		__type(key, __u32);                      \
		__type(value, __u64);                    \
	} name SEC(".maps")

static __always_inline void ns_count_drop(void *drops_map)
{
	__u32 zero = 0;
	__u64 *d = bpf_map_lookup_elem(drops_map, &zero);

	if (d)
		__sync_fetch_and_add(d, 1);
}

#endif
