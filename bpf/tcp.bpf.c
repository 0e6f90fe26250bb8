// SPDX-License-Identifier: GPL-2.0
/*
 * TCP transport quality per traffic class, on stable tracepoints only (no kprobes, no fentry):
 *   sock:inet_sock_set_state  connect latency, active connections, lifetime, bytes at close
 *   tcp:tcp_probe             smoothed RTT, on every segment received established
 *   iter/bpf_sk_storage_map   bytes of every open socket, run by userspace at each collection
 *   tcp:tcp_retransmit_skb    retransmitted segments (+ tcp:tcp_retransmit_synack)
 *   tcp:tcp_send_reset, tcp:tcp_receive_reset
 *   sock:sock_send_length / tcp:tcp_sendmsg_locked, tcp:tcp_rcv_space_adjust
 *                             the first send/receive in task context: owner and thread name
 *                             (attached only while a socket waits for it: tcp_owner.bpf.h)
 *
 * Bytes without kprobes: the kernel's own per-socket counters (tcp_sock::bytes_acked and
 * ::bytes_received, RFC 4898, 4.1+) are read at state changes, at close and once per
 * collection by an iterator over the socket storage, and the growth since the last read is
 * added to the socket's class. bytes_acked counts the SYN (active side)
 * and both counters count a FIN: the baseline taken at ESTABLISHED removes the SYN, and the
 * FIN is taken off when the socket's state says it was acked/received (see sample_bytes()).
 *
 * The class is decided once per socket, when its owner is known: at connect() (the connecting
 * thread), or at the first send/receive in task context for an accepted socket (softirq
 * completes the handshake, and QEMU connects from an "io-task-worker" thread before the
 * "live_migration" thread sends). Until then what the socket did is held in its storage and
 * credited to the final class. Only tp_btf is used: BPF socket storage needs a BTF socket
 * pointer, which raw tracepoints do not give (sk storage in tracing programs: 5.11+).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "novascope/tcp.h"
#include "hist.bpf.h"
#include "tcp_class.bpf.h"
#include "tcp_sock.bpf.h"
#include "tcp_owner.bpf.h"

/* A migration-class connection whose owner is known starts being tracked. */
static __always_inline void maybe_track(const struct sock *sk, struct sk_info *si)
{
	const __u16 need = I_FINAL | I_OWNER | I_ESTAB;
	struct ns_tcp_mig_conn m = {};

	if ((si->flags & (need | I_MIG | I_CLOSED)) != need || si->class != migration_class)
		return;
	si->cookie = bpf_get_socket_cookie((void *)sk);
	m.bytes_sent = si->sent - si->base_sent;
	m.bytes_received = si->rcvd - si->base_rcvd;
	m.retrans_segs = si->retrans;
	m.start_ns = si->born_ns;
	if (bpf_map_update_elem(&mig_conns, &si->cookie, &m, BPF_ANY))
		return;
	si->flags |= I_MIG;
	emit(sk, si, NS_TCP_EV_MIG_OPEN, bpf_ktime_get_ns());
}

/* Count what the socket did while provisional, and mark it open if it is established. */
static __always_inline void finalize(const struct sock *sk, struct sk_info *si)
{
	struct ns_tcp_conn_stat *cs;
	struct ns_tcp_stat *st;

	si->slot = slot_for(sk_netns(sk), si->class);
	si->flags |= I_FINAL;
	st = stat_of(si->slot);
	cs = bpf_map_lookup_elem(&conn_stats, &si->slot);
	if (!st || !cs)
		return;
	if (si->pending_retrans) {
		add(&st->retrans_segs, si->pending_retrans);
		si->pending_retrans = 0;
	}
	if (si->connlat_ns) {
		ns_hist_record(&cs->connlat, si->connlat_ns);
		si->connlat_ns = 0;
	}
	if ((si->flags & (I_ESTAB | I_OPEN)) == I_ESTAB) {
		add(&st->opened, 1);
		sample_bytes(sk, si, sk->__sk_common.skc_state, st);
		/* Only after the sample: tcp_probe takes bytes with plain stores once it sees
		 * I_OPEN (account_segment()), and an owner hook (sock_send_length) may run this
		 * without holding the socket. */
		si->flags |= I_OPEN;
	}
}

static __always_inline void set_owner(struct sk_info *si)
{
	si->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(si->comm, sizeof(si->comm));
	si->flags |= I_OWNER;
}

/* A socket first seen established (it predates the agent, or its SYN was missed). */
static __always_inline struct sk_info *first_sight(const struct sock *sk, int state)
{
	struct sk_info *si;

	si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!si)
		return NULL;
	si->flags = I_MIDLIFE;
	si->born_ns = bpf_ktime_get_ns();
	take_baseline(sk, si, state);
	si->class = rule_class(sk, DIR_UNKNOWN);
	if (si->class != NS_TCP_CLASS_OTHER)
		finalize(sk, si);
	await_owner(si);
	return si;
}

/* late: the event that started the connection was missed, this is its ESTABLISHED. */
static __always_inline struct sk_info *on_connect(const struct sock *sk, int dir, bool late)
{
	struct sk_info *si;

	si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!si)
		return NULL;
	__builtin_memset(si, 0, sizeof(*si)); /* a socket may connect again after close */
	si->born_ns = bpf_ktime_get_ns();
	si->class = rule_class(sk, dir);
	if (dir == DIR_ACTIVE && !late) {
		si->flags = I_ACTIVE;
		si->syn_ns = si->born_ns;
		set_owner(si); /* connect() runs in the caller's context */
		si->class = min_class(si->class, thread_class(si->comm));
	} else {
		/* An accept completes in softirq (and so does a SYN-ACK): the owner is known at
		 * the first receive/send. */
		si->flags = dir == DIR_ACTIVE ? I_ACTIVE : I_PASSIVE;
	}
	if (si->class != NS_TCP_CLASS_OTHER)
		finalize(sk, si);
	await_owner(si);
	return si;
}

static __always_inline void on_established(const struct sock *sk, struct sk_info *si)
{
	take_baseline(sk, si, TCP_ESTABLISHED);
	if (si->syn_ns) {
		si->connlat_ns = bpf_ktime_get_ns() - si->syn_ns;
		si->syn_ns = 0;
	}
	if (!(si->flags & I_FINAL))
		return; /* counted when the class is decided */
	finalize(sk, si); /* records the connect latency and counts it open */
	maybe_track(sk, si);
}

static __always_inline bool was_established(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

/*
 * The socket is past ESTABLISHED but that event was lost (a nested run of state_btf is skipped
 * when a softirq interrupts it on the same CPU). The baselines it would have read are known:
 * an active socket's bytes_acked counts its SYN, nothing else counts yet. The connect latency,
 * when asked for, is then an upper bound (measured to now).
 */
static __always_inline void assume_established(const struct sock *sk, struct sk_info *si,
					       bool connlat)
{
	si->sent = si->base_sent = (si->flags & I_ACTIVE) ? 1 : 0;
	si->rcvd = si->base_rcvd = 0;
	if (connlat && si->syn_ns)
		si->connlat_ns = bpf_ktime_get_ns() - si->syn_ns;
	si->syn_ns = 0;
	si->flags |= I_ESTAB;
	if (si->flags & I_FINAL)
		finalize(sk, si); /* counts it open */
}

static __always_inline void on_close(const struct sock *sk, struct sk_info *si, int oldstate)
{
	struct ns_tcp_conn_stat *cs;
	struct ns_tcp_stat *st;
	__u64 now = bpf_ktime_get_ns();

	if (!(si->flags & I_ESTAB) && was_established(oldstate))
		assume_established(sk, si, false);
	if ((si->flags & (I_FINAL | I_ESTAB | I_OPEN)) != (I_FINAL | I_ESTAB | I_OPEN))
		finalize(sk, si);
	st = stat_of(si->slot);
	cs = bpf_map_lookup_elem(&conn_stats, &si->slot);
	if (!st || !cs)
		return;
	if (si->flags & I_OPEN) {
		sample_bytes(sk, si, oldstate, st);
		add(&st->closed, 1);
		if (!(si->flags & I_MIDLIFE))
			ns_hist_record(&cs->duration, now - si->born_ns);
		emit(sk, si, NS_TCP_EV_CLOSE, now);
	}
	if (si->flags & I_MIG)
		bpf_map_delete_elem(&mig_conns, &si->cookie);
	owner_done(si);
	si->flags = (si->flags & ~(I_MIG | I_OPEN)) | I_CLOSED;
}

static __always_inline void on_listen(const struct sock *sk)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ns_tcp_event *e;
	char comm[8];

	/* Only QEMU listeners can be migration destinations; userspace reads -incoming. */
	BPF_CORE_READ_STR_INTO(&comm, task, group_leader, comm);
	if (comm[0] != 'q' || comm[1] != 'e' || comm[2] != 'm' || comm[3] != 'u')
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		ns_count_drop(&drops);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	fill_tuple(e, sk);
	e->type = NS_TCP_EV_LISTEN;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
}

/* The first send or receive in task context: the owner, and thread-name rules. */
static __always_inline int on_task_io(const struct sock *sk)
{
	struct sk_info *si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, 0);
	int state;

	if (si && (si->flags & (I_TASK | I_CLOSED)))
		return 0;
	state = sk->__sk_common.skc_state;
	if (!si) {
		if (state == TCP_SYN_SENT || state == TCP_CLOSE || state == TCP_LISTEN ||
		    state == TCP_SYN_RECV)
			return 0;
		si = first_sight(sk, state);
		if (!si)
			return 0;
	}
	si->flags |= I_TASK;
	if (!(si->flags & I_ESTAB) && was_established(state))
		assume_established(sk, si, true);
	if (!(si->flags & I_OWNER))
		set_owner(si);
	if (!(si->flags & I_FINAL)) {
		char comm[NS_TCP_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		si->class = min_class(si->class, thread_class(comm));
		__builtin_memcpy(si->comm, comm, sizeof(comm));
		finalize(sk, si);
	}
	maybe_track(sk, si);
	owner_done(si);
	return 0;
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate)
{
	struct sk_info *si;

	/*
	 * FIN_WAIT1 and LAST_ACK are entered by close() or shutdown(), in the owner's context: a
	 * socket still waiting for its owner (all its sends and receives came while the owner
	 * hooks were off, tcp_owner.bpf.h) gets it here, and its class from the thread's name.
	 */
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK) {
		si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, 0);
		if (si && (si->flags & I_AWAIT))
			on_task_io(sk);
		return 0;
	}
	/* Other intermediate states (CLOSE_WAIT, ...) need nothing: bytes are read at close
	 * (which knows the state it leaves) and by the collection-time iterator. */
	if (newstate != TCP_SYN_SENT && newstate != TCP_SYN_RECV && newstate != TCP_LISTEN &&
	    newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE)
		return 0;
	if (!is_tcp(sk))
		return 0;
	if (newstate == TCP_SYN_SENT) {
		on_connect(sk, DIR_ACTIVE, false);
		return 0;
	}
	if (newstate == TCP_SYN_RECV && oldstate == TCP_LISTEN) {
		on_connect(sk, DIR_PASSIVE, false);
		return 0;
	}
	if (newstate == TCP_LISTEN) {
		on_listen(sk);
		return 0;
	}
	si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, 0);
	/*
	 * A run of this program that a softirq interrupts on the same CPU makes the kernel skip
	 * the nested run (recursion_misses): a connection's first event can be lost that way.
	 * Start it at ESTABLISHED then (no connect latency); tcp_destroy_sock catches a lost
	 * CLOSE, and on_close() a lost ESTABLISHED.
	 */
	if (newstate == TCP_ESTABLISHED && (!si || (si->flags & I_CLOSED))) {
		if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)
			return 0;
		si = on_connect(sk, oldstate == TCP_SYN_SENT ? DIR_ACTIVE : DIR_PASSIVE, true);
	}
	if (!si || (si->flags & I_CLOSED))
		return 0;
	if (newstate == TCP_ESTABLISHED && !(si->flags & I_ESTAB))
		on_established(sk, si);
	else if (newstate == TCP_CLOSE)
		on_close(sk, si, oldstate);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	return on_state(sk, oldstate, newstate);
}

/*
 * The socket is being freed (4.16+ tracepoint). Normally its CLOSE was seen already; if that
 * state change was lost to recursion, close it here. The state it left is unknown then, so an
 * acknowledged FIN of ours stays in bytes sent (one byte).
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(destroy_btf, struct sock *sk)
{
	struct sk_info *si = bpf_sk_storage_get(&sk_infos, sk, 0, 0);

	if (si && !(si->flags & I_CLOSED))
		on_close(sk, si, TCP_CLOSE);
	return 0;
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

static __always_inline bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(b - a) < 0;
}

/*
 * tcp_probe fires before tcp_rcv_established() processes the segment, so the counters read
 * now miss what this very segment acks or delivers, which for an idle connection is its last
 * ACK. Add what the kernel is about to: an in-window ACK moves bytes_acked by ack - snd_una
 * (tcp_snd_una_update()), in-order data moves bytes_received by end_seq - rcv_nxt
 * (tcp_rcv_nxt_update(); end_seq counts a FIN, which is not data). A segment the kernel then
 * drops was counted early; claim() never moves back, so the real counters catch up with it.
 */
static __always_inline void sample_segment(const struct sk_buff *skb, struct tcp_sock *tp,
					   struct sk_info *si, struct ns_tcp_stat *st)
{
	const struct tcp_skb_cb *cb = (const void *)skb->cb;
	__u64 sent = tp->bytes_acked, rcvd = tp->bytes_received;
	__u32 seq, end, ack, una = tp->snd_una, rnxt = tp->rcv_nxt;
	__u8 fl;

	fl = cb->tcp_flags;
	if (!(fl & (TH_SYN | TH_RST))) {
		ack = cb->ack_seq;
		if ((fl & TH_ACK) && seq_after(ack, una) && !seq_after(ack, tp->snd_nxt))
			sent += ack - una;
		seq = cb->seq;
		end = cb->end_seq - (fl & TH_FIN);
		if (!seq_after(seq, rnxt) && seq_after(end, rnxt))
			rcvd += end - rnxt;
	}
	account_segment(si, st, sent, rcvd);
}

/* 6.2+: a typed view the verifier inlines, in place of a bpf_skc_to_tcp_sock() helper call.
 * Weak: on older kernels the program using it is not loaded (userspace picks the flavour). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * Every segment received in ESTABLISHED (tcp_rcv_established): RTT (and bytes, see above).
 * That function only sees full TCP sockets, so `cast` may view sk as a tcp_sock without the
 * helper's checks; the loads through that view cannot fault (PROBE_MEM).
 */
static __always_inline int on_probe(struct sock *sk, const struct sk_buff *skb, const bool cast)
{
	struct sk_info *si = bpf_sk_storage_get(&sk_infos, sk, 0, 0);
	struct ns_tcp_stat *st;
	struct tcp_sock *tp;
	__u32 srtt;

	if (!si) {
		si = first_sight(sk, TCP_ESTABLISHED);
		if (!si)
			return 0;
	}
	if (!(si->flags & (I_ESTAB | I_CLOSED)))
		assume_established(sk, si, true);
	if (!(si->flags & I_FINAL) || !(si->flags & I_OPEN))
		return 0;
	st = stat_of(si->slot);
	if (!st)
		return 0;
	if (cast)
		tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	else
		tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	srtt = tp->srtt_us >> 3;
	/* Only this program writes srtt: plain increments (ns_hist_add()). Bytes have several. */
	if (srtt)
		ns_hist_add(&st->srtt, (__u64)srtt * 1000);
	if (bytes_per_segment && !(si->flags & I_CLOSED))
		sample_segment(skb, tp, si, st);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(probe_btf, struct sock *sk, const struct sk_buff *skb)
{
	return on_probe(sk, skb, false);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(probe_cast_btf, struct sock *sk, const struct sk_buff *skb)
{
	return on_probe(sk, skb, true);
}

/*
 * Run by userspace once per collection: bring every open socket's byte counts up to date.
 * Reading them at every segment instead costs about as much as the rest of tcp_probe, and
 * would still lag behind by the last ACK of an idle connection (tcp_probe fires before the
 * segment is processed).
 */
SEC("iter/bpf_sk_storage_map")
int flush_iter(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sk_info *si = ctx->value;
	struct sock *sk = ctx->sk;
	struct ns_tcp_stat *st;

	if (!sk || !si)
		return 0;
	if ((si->flags & (I_AWAIT | I_CLOSED)) == I_AWAIT) {
		awaiting_seen++; /* one iterator at a time: userspace runs it */
		if (finalize_unhooked && (si->flags & (I_UNHOOKED | I_FINAL)) == I_UNHOOKED) {
			finalize(sk, si);
			/* Only a migration session needs the owner of an accepted socket. */
			if ((si->flags & I_OWNER) || si->class != migration_class)
				owner_done(si);
		}
	}
	if ((si->flags & (I_FINAL | I_OPEN | I_CLOSED)) != (I_FINAL | I_OPEN))
		return 0;
	st = stat_of(si->slot);
	if (st)
		sample_bytes(sk, si, sk->__sk_common.skc_state, st);
	return 0;
}

/* sock:sock_send_length (6.3+) fires once per sendmsg of every protocol, so it filters;
 * tcp:tcp_sendmsg_locked (6.16+) is TCP's own but fires per chunk copied (tcp_core.c picks). */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(send_btf, const struct sock *sk)
{
	return on_task_io(sk);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(send_len_btf, struct sock *sk, int ret)
{
	return ret > 0 && is_tcp(sk) ? on_task_io(sk) : 0;
}

/* tcp_rcv_space_adjust runs in tcp_recvmsg() once data was copied (4.16+). */
SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(recv_btf, struct sock *sk)
{
	return on_task_io(sk);
}

static __always_inline void count_retrans(const struct sock *sk, __u32 segs, int dir)
{
	struct sk_info *si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, 0);
	struct ns_tcp_stat *st;

	if (si && !(si->flags & I_CLOSED)) {
		si->retrans += segs;
		if (!(si->flags & I_FINAL)) {
			si->pending_retrans += segs;
			return;
		}
		st = stat_of(si->slot);
		if (st)
			add(&st->retrans_segs, segs);
		if (si->flags & I_MIG) {
			struct ns_tcp_mig_conn *m = bpf_map_lookup_elem(&mig_conns, &si->cookie);

			if (m)
				add(&m->retrans_segs, segs);
		}
		return;
	}
	st = stat_of(slot_for(sk_netns(sk), rule_class(sk, dir)));
	if (st)
		add(&st->retrans_segs, segs);
}

/*
 * One event per retransmitted skb, which may carry several GSO segments: the kernel adds
 * tcp_skb_pcount(skb) to TcpRetransSegs, so do we. Since 6.17 the tracepoint also fires for
 * failed attempts (with err != 0), which the kernel does not count; before, only on success.
 */
static __always_inline int on_retrans(const struct sock *sk, const struct sk_buff *skb, int err)
{
	const struct tcp_skb_cb *cb = (const void *)skb->cb;
	__u32 segs;

	if (err)
		return 0;
	segs = BPF_CORE_READ(cb, tcp_gso_segs);
	count_retrans(sk, segs ? segs : 1, DIR_UNKNOWN);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retrans(sk, skb, 0);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_err_btf, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return on_retrans(sk, skb, err);
}

/* A SYN-ACK retransmitted by a listener counts one segment in TcpRetransSegs too. */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(synack_btf, const struct sock *sk)
{
	count_retrans(sk, 1, DIR_PASSIVE);
	return 0;
}

static __always_inline void count_reset(__u32 slot, bool sent)
{
	struct ns_tcp_stat *st = stat_of(slot);

	if (st)
		add(sent ? &st->resets_sent : &st->resets_received, 1);
}

static __always_inline __u32 reset_slot(const struct sock *sk)
{
	struct sk_info *si = bpf_sk_storage_get(&sk_infos, (void *)sk, 0, 0);

	if (si && (si->flags & I_FINAL))
		return si->slot;
	if (si)
		return slot_for(sk_netns(sk), si->class);
	/* Not a full socket (time-wait, request) or not seen: by its ports. */
	return slot_for(sk_netns(sk), rule_class(sk, DIR_UNKNOWN));
}

/*
 * Since 6.10 the tracepoint also fires for resets sent without a socket (sk == NULL); the
 * reset answers skb, whose destination port is ours.
 */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(rst_send_btf, const struct sock *sk, const struct sk_buff *skb)
{
	struct tcphdr *th;
	__u32 class, netns = 0;
	__u16 lport, rport;

	if (sk) {
		count_reset(reset_slot(sk), true);
		return 0;
	}
	if (!skb)
		return 0;
	th = (struct tcphdr *)(BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, transport_header));
	lport = bpf_ntohs(BPF_CORE_READ(th, dest));
	rport = bpf_ntohs(BPF_CORE_READ(th, source));
	class = min_class(lport_class[lport], rport_class[rport]);
	if (per_netns)
		netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	count_reset(slot_for(netns, class), true);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(rst_recv_btf, struct sock *sk)
{
	count_reset(reset_slot(sk), false);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
