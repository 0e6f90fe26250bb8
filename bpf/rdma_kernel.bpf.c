// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA inside the kernel: the tracepoints of the RDMA core, seen by kernel consumers
 * (NFS/RDMA, NVMe-oF, iSER, QEMU's RDMA migration through librdmacm all go through them).
 *
 * - rdma_cma:cm_event_handler (5.5+): every CM event delivered to a consumer, by type and
 *   status; with rdma_cma:cm_send_req it gives connect latency (REQ sent -> ESTABLISHED).
 * - rdma_core:cq_process (5.5+): CQ wake-up latency. The record carries the kernel's own
 *   measurement (ktime since cq_schedule/cq_reschedule, in microseconds), so no BTF of ib_core
 *   types is needed to compute it.
 * - ib_mad:* (5.2+): management datagrams sent, received, failed, resent.
 *
 * Classic tracepoints: ib_core is usually a module and its types are not in vmlinux BTF, so the
 * fields are read at the offsets the event's tracefs format file gives, set before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "novascope/rdma.h"
#include "hist.bpf.h"

const volatile struct ns_rdma_tp_offsets off = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ns_rdma_kstat);
} kstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ns_rdma_event_key);
	__type(value, __u64);
} kcm_events SEC(".maps");

/* cm_id (the restrack id the tracepoints print) -> time its connect REQ was sent. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} kconns SEC(".maps");

NS_DROPS_MAP(drops);

static __always_inline __u64 field(void *ctx, __u32 offset, __u32 size)
{
	__u64 v = 0;

	/* Little-endian: the low bytes of v hold a 1-, 4- or 8-byte field. */
	if (size == 8)
		bpf_probe_read_kernel(&v, 8, ctx + offset);
	else if (size == 4)
		bpf_probe_read_kernel(&v, 4, ctx + offset);
	else
		bpf_probe_read_kernel(&v, 1, ctx + offset);
	return v;
}

static __always_inline struct ns_rdma_kstat *kstat(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&kstats, &zero);
}

SEC("tracepoint/rdma_cma/cm_send_req")
int cm_send_req(void *ctx)
{
	__u32 id = (__u32)field(ctx, off.req_cm_id, 4);
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&kconns, &id, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/rdma_cma/cm_event_handler")
int cm_event_handler(void *ctx)
{
	struct ns_rdma_event_key key = {
		.event = (__u32)field(ctx, off.ev_event, off.ev_event_size),
		.status = (__s32)field(ctx, off.ev_status, 4),
	};
	__u32 id = (__u32)field(ctx, off.ev_cm_id, 4);
	struct ns_rdma_kstat *ks;
	__u64 zero = 0, *cnt, *ts;

	cnt = bpf_map_lookup_elem(&kcm_events, &key);
	if (!cnt) {
		bpf_map_update_elem(&kcm_events, &key, &zero, BPF_NOEXIST);
		cnt = bpf_map_lookup_elem(&kcm_events, &key);
	}
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		ns_count_drop(&drops);
	if (key.event != NS_RDMA_CM_ESTABLISHED && key.event != NS_RDMA_CM_REJECTED &&
	    key.event != NS_RDMA_CM_UNREACHABLE && key.event != NS_RDMA_CM_CONNECT_ERROR)
		return 0;
	ts = bpf_map_lookup_elem(&kconns, &id);
	if (!ts)
		return 0;
	ks = kstat();
	if (ks && key.event == NS_RDMA_CM_ESTABLISHED)
		ns_hist_record(&ks->connect, bpf_ktime_get_ns() - *ts);
	bpf_map_delete_elem(&kconns, &id);
	return 0;
}

SEC("tracepoint/rdma_core/cq_process")
int cq_process(void *ctx)
{
	__s64 us = (__s64)field(ctx, off.cq_latency, 8);
	__u32 irq = field(ctx, off.cq_interrupt, 1) ? 1 : 0;
	struct ns_rdma_kstat *ks = kstat();

	if (ks)
		ns_hist_record(&ks->cq_wake[irq], us > 0 ? (__u64)us * 1000 : 0);
	return 0;
}

static __always_inline int mad(__u32 kind)
{
	struct ns_rdma_kstat *ks = kstat();

	if (ks && kind < NS_RDMA_MAD_NKINDS)
		__sync_fetch_and_add(&ks->mad[kind], 1);
	return 0;
}

SEC("tracepoint/ib_mad/ib_mad_ib_send_mad")
int mad_send(void *ctx)
{
	return mad(NS_RDMA_MAD_SEND);
}

SEC("tracepoint/ib_mad/ib_mad_recv_done_handler")
int mad_recv(void *ctx)
{
	return mad(NS_RDMA_MAD_RECV);
}

SEC("tracepoint/ib_mad/ib_mad_error_handler")
int mad_error(void *ctx)
{
	return mad(NS_RDMA_MAD_ERROR);
}

SEC("tracepoint/ib_mad/ib_mad_send_done_resend")
int mad_resend(void *ctx)
{
	return mad(NS_RDMA_MAD_RESEND);
}

char LICENSE[] SEC("license") = "GPL";
