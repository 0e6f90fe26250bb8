/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-socket state of bpf/tcp.bpf.c (BPF socket storage), the per-class stats slots, and the
 * byte accounting and ring-buffer events built on them.
 */
#ifndef NOVASCOPE_TCP_SOCK_BPF_H
#define NOVASCOPE_TCP_SOCK_BPF_H

#include "novascope/tcp.h"
#include "hist.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define STATE_PROBE -1 /* read_bytes() from tcp_probe */

const volatile bool per_netns = false;
/*
 * Set by userspace when the kernel refuses iterator programs (seen on a 6.18 PVM guest kernel,
 * where tracing programs other than tp_btf get EPERM): byte counts then move at every segment
 * received (tcp.bpf.c sample_segment()) instead of once per collection by flush_iter.
 */
const volatile bool bytes_per_segment = false;

enum {
	I_ACTIVE = NS_TCP_F_ACTIVE,
	I_PASSIVE = NS_TCP_F_PASSIVE,
	I_MIDLIFE = NS_TCP_F_MIDLIFE,
	I_MIG = NS_TCP_F_MIG,
	I_FINAL = 0x10, /* class decided */
	I_OWNER = 0x20, /* tgid/comm known */
	I_ESTAB = 0x40, /* byte baseline taken */
	I_OPEN = 0x80, /* counted in opened */
	I_TASK = 0x100, /* the first send/receive in task context has been seen */
	I_CLOSED = 0x200,
	I_AWAIT = 0x400, /* needs the owner hooks (tcp_owner.bpf.h) */
	I_UNHOOKED = 0x800, /* started to wait while they were off */
};

struct sk_info {
	__u64 born_ns;
	__u64 syn_ns; /* connect() start, until ESTABLISHED */
	__u64 connlat_ns; /* measured while the class was provisional */
	__u64 sent, rcvd; /* kernel counters (FIN taken off) at the last read */
	__u64 base_sent, base_rcvd;
	__u64 retrans; /* whole connection */
	__u64 cookie;
	__u32 pending_retrans; /* while provisional */
	__u32 slot;
	__u32 tgid;
	__u16 flags;
	__u8 class;
	__u8 pad;
	char comm[NS_TCP_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_info);
} sk_infos SEC(".maps");

/* max_entries: NS_TCP_CLASS_SLOTS, or NS_TCP_NETNS_SLOTS with per_netns (set before load). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NS_TCP_CLASS_SLOTS);
	__type(key, __u32);
	__type(value, struct ns_tcp_stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NS_TCP_CLASS_SLOTS);
	__type(key, __u32);
	__type(value, struct ns_tcp_conn_stat);
} conn_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NS_TCP_NETNS_SLOTS);
	__type(key, struct ns_tcp_slot_key);
	__type(value, __u32);
} slot_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct ns_tcp_mig_conn);
} mig_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

NS_DROPS_MAP(drops);

/* Never used by the programs: its max_entries is a fingerprint of the class rules, so that
 * pinned maps (--bpf.pin-path) are only adopted by an agent with the same rules. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

/* Free per-netns slots, pushed by userspace before attach: popping one is atomic without
 * needing fetch-and-add (BPF v3 atomics). */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, NS_TCP_NETNS_SLOTS);
	__type(value, __u32);
} free_slots SEC(".maps");

static __always_inline __u32 slot_for(__u32 netns, __u32 class)
{
	struct ns_tcp_slot_key k = {.netns = netns, .class = class};
	__u32 *v, n;

	if (!per_netns)
		return class;
	v = bpf_map_lookup_elem(&slot_ids, &k);
	if (v)
		return *v;
	if (bpf_map_pop_elem(&free_slots, &n))
		return class; /* out of slots: this pair folds into netns="other" */
	if (bpf_map_update_elem(&slot_ids, &k, &n, BPF_NOEXIST)) {
		bpf_map_push_elem(&free_slots, &n, 0);
		v = bpf_map_lookup_elem(&slot_ids, &k); /* lost a race: use the winner's */
		return v ? *v : class;
	}
	return n;
}

static __always_inline struct ns_tcp_stat *stat_of(__u32 slot)
{
	return bpf_map_lookup_elem(&stats, &slot);
}

static __always_inline void add(__u64 *c, __u64 v)
{
	__sync_fetch_and_add(c, v);
}

/* Hot paths read through the tracepoint's BTF pointers directly (a load each) rather than with
 * bpf_probe_read_kernel() (a helper call each), which tp_btf allows. */
static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 fam = sk->__sk_common.skc_family;

	return (fam == AF_INET || fam == AF_INET6) && sk->sk_protocol == IPPROTO_TCP;
}

/*
 * Data bytes acked / received so far, by the kernel's counters. A FIN takes one sequence
 * number and shows in them once acked (ours) or received in order (the peer's): ours is in
 * write_seq once the state is FIN_WAIT1/FIN_WAIT2/CLOSING/LAST_ACK, so snd_una == write_seq
 * there means it was acked; tcp_fin() sets SOCK_DONE when the peer's arrives (before it moves
 * the state, so the ESTABLISHED -> CLOSE_WAIT event already sees it). state is the state the
 * socket is leaving (or is in).
 */
static __always_inline void read_bytes(const struct sock *sk, struct tcp_sock *tp, int state,
				       __u64 *sent, __u64 *rcvd)
{
	unsigned long done;
	const __u32 fin_states = (1 << TCP_FIN_WAIT1) | (1 << TCP_FIN_WAIT2) | (1 << TCP_CLOSING) |
				 (1 << TCP_LAST_ACK);

	*sent = *rcvd = 0;
	if (!tp)
		return;
	*sent = tp->bytes_acked;
	*rcvd = tp->bytes_received;
	if (state < 0)
		return; /* tcp_probe: entering tcp_rcv_established(), no FIN seen yet */
	if (((1 << (state & 31)) & fin_states) && *sent && tp->snd_una == tp->write_seq)
		(*sent)--;
	done = 1ULL << bpf_core_enum_value(enum sock_flags, SOCK_DONE);
	if ((sk->__sk_common.skc_flags & done) && *rcvd)
		(*rcvd)--;
}

/*
 * Move a snapshot forward to cur and return by how much. The collection-time iterator
 * (flush_iter) reads sockets without their lock, so it can race with a handler running under
 * it: compare-and-swap makes exactly one of them count each byte; the loser retries.
 */
static __always_inline __u64 claim(__u64 *snap, __u64 cur)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)snap;

		if (cur <= old)
			return 0;
		if (__sync_val_compare_and_swap(snap, old, cur) == old)
			return cur - old;
	}
	return 0; /* still contended: a later read gets the rest */
}

static __always_inline void mig_bytes(struct sk_info *si)
{
	if (si->flags & I_MIG) {
		struct ns_tcp_mig_conn *m = bpf_map_lookup_elem(&mig_conns, &si->cookie);

		if (m) {
			m->bytes_sent = si->sent - si->base_sent;
			m->bytes_received = si->rcvd - si->base_rcvd;
		}
	}
}

/* Add the growth up to sent/rcvd to the class; only once the class is final. */
static __always_inline void account_bytes(struct sk_info *si, struct ns_tcp_stat *st, __u64 sent,
					  __u64 rcvd)
{
	__u64 d;

	d = claim(&si->sent, sent);
	if (d)
		add(&st->bytes_sent, d);
	d = claim(&si->rcvd, rcvd);
	if (d)
		add(&st->bytes_received, d);
	mig_bytes(si);
}

/*
 * The same for tcp_probe when bytes move per segment, without the two compare-and-swaps and
 * two locked adds (about a sixth of the program's time). Safe because then nothing races:
 * - si->sent/rcvd: there is no flush_iter; tcp_probe (inside tcp_rcv_established()) and the
 *   state-change and destroy hooks run with the socket held (bh_lock_sock, or owned by the
 *   caller); finalize() may not, but it samples before it sets I_OPEN, and tcp_probe leaves
 *   bytes alone until then;
 * - seg_bytes_*: only tcp_probe writes them, and it cannot interrupt itself on a CPU (see
 *   ns_hist_add()). The per-class fields the other hooks add to stay atomic: a close in
 *   process context can be interrupted by a softirq's tcp_probe on the same CPU.
 */
static __always_inline void account_segment(struct sk_info *si, struct ns_tcp_stat *st, __u64 sent,
					    __u64 rcvd)
{
	if (sent > si->sent) {
		st->seg_bytes_sent += sent - si->sent;
		si->sent = sent;
	}
	if (rcvd > si->rcvd) {
		st->seg_bytes_received += rcvd - si->rcvd;
		si->rcvd = rcvd;
	}
	mig_bytes(si);
}

static __always_inline void sample_bytes(const struct sock *sk, struct sk_info *si, int state,
					 struct ns_tcp_stat *st)
{
	__u64 sent, rcvd;

	read_bytes(sk, bpf_skc_to_tcp_sock((void *)sk), state, &sent, &rcvd);
	account_bytes(si, st, sent, rcvd);
}

static __always_inline void take_baseline(const struct sock *sk, struct sk_info *si, int state)
{
	read_bytes(sk, bpf_skc_to_tcp_sock((void *)sk), state, &si->sent, &si->rcvd);
	si->base_sent = si->sent;
	si->base_rcvd = si->rcvd;
	si->flags |= I_ESTAB;
}

static __always_inline void fill_tuple(struct ns_tcp_event *e, const struct sock *sk)
{
	e->family = sk->__sk_common.skc_family;
	e->sport = sk->__sk_common.skc_num;
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	e->netns = sk_netns(sk);
	if (e->family == AF_INET) {
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

static __always_inline void emit(const struct sock *sk, struct sk_info *si, __u8 type, __u64 now)
{
	struct ns_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		ns_count_drop(&drops);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	fill_tuple(e, sk);
	e->type = type;
	e->flags = si->flags & (I_ACTIVE | I_PASSIVE | I_MIDLIFE | I_MIG);
	e->class = si->class;
	e->tgid = si->tgid;
	e->cookie = si->cookie;
	e->ts_ns = now;
	e->duration_ns = now - si->born_ns;
	e->bytes_sent = si->sent - si->base_sent;
	e->bytes_received = si->rcvd - si->base_rcvd;
	e->retrans_segs = si->retrans;
	__builtin_memcpy(e->comm, si->comm, sizeof(e->comm));
	/* Closes of ordinary connections can be frequent: the collector drains them every
	 * interval. Migration events wake it up so sessions start and end on time. */
	bpf_ringbuf_submit(e, (si->flags & I_MIG) ? 0 : BPF_RB_NO_WAKEUP);
}

#endif
