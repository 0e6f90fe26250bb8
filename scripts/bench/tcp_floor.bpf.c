// SPDX-License-Identifier: GPL-2.0
/*
 * Floor for the TCP benchmark: the least a per-class RTT histogram on tcp:tcp_probe can do at
 * each segment, i.e. find the socket's class (socket storage, set once per socket) and add its
 * smoothed RTT to that class's histogram. No byte counts, no states, no owners. On a kernel
 * where entering a tracepoint program is slow, entering this once per segment plus this much
 * work shows how close a < 2% loss target is to the hook's own cost.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hist.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} cls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct ns_hist);
} rtt SEC(".maps");

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

SEC("tp_btf/tcp_probe")
int BPF_PROG(floor_probe, struct sock *sk, const struct sk_buff *skb)
{
	__u32 *c = bpf_sk_storage_get(&cls, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	struct tcp_sock *tp;
	struct ns_hist *h;
	__u32 srtt;

	if (!c)
		return 0;
	h = bpf_map_lookup_elem(&rtt, c);
	if (!h)
		return 0;
	tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	srtt = tp->srtt_us >> 3;
	if (srtt)
		ns_hist_add(h, (__u64)srtt * 1000);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
