/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The owner hooks (the first send/receive in task context, bpf/tcp.bpf.c on_task_io()) only
 * matter while a socket has no owner or no final class yet, but a bulk transfer enters them
 * about 45 times per MB (half of what the probe costs it). So userspace detaches them while no
 * socket waits (userspace/probes/tcp_owner.c) and attaches them again when one starts to.
 *
 * A socket that waits carries I_AWAIT. The handshake and first-sight paths call
 * await_owner(): if the hooks are off, the first waiting socket moves owner_hooks to WANTED
 * and wakes userspace, which attaches them (a few hundred microseconds: a socket's very first
 * send or receive may come before, its owner is then taken at the next one). owner_done()
 * clears I_AWAIT; when nawait drops to 0 userspace is told, and it detaches after checking
 * with the iterator's exact count (awaiting_seen), since nawait is only a hint: a socket freed
 * without any close event keeps it above 0, and then the per-collection count decides.
 * owner_hooks is changed with atomic operations on both sides, and a socket sets I_AWAIT
 * before it reads owner_hooks, so a detach that races with a new waiting socket either sees
 * it in the iterator's count or leaves WANTED to the socket.
 *
 * A socket that started to wait while the hooks were off (I_UNHOOKED) may have done its only
 * send or receive before they were back: once they have been back for a while, the
 * iterator decides its class from the rules without the thread name (finalize_unhooked), so
 * that it is counted while open rather than only at its close.
 */
#ifndef NOVASCOPE_TCP_OWNER_BPF_H
#define NOVASCOPE_TCP_OWNER_BPF_H

#include "tcp_sock.bpf.h"

__u32 owner_hooks = NS_TCP_HOOKS_ON;
__s64 nawait = 0;
__u32 idle_sent = 0;
__u64 awaiting_seen = 0; /* flush_iter: sockets with I_AWAIT; zeroed by userspace */
__u32 finalize_unhooked = 0; /* set by userspace for flush_iter */

static __always_inline void hooks_event(__u8 type)
{
	struct ns_tcp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		ns_count_drop(&drops); /* the next collection's count attaches or detaches */
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void await_owner(struct sk_info *si)
{
	__u32 old;

	if ((si->flags & (I_FINAL | I_OWNER)) == (I_FINAL | I_OWNER) || (si->flags & I_AWAIT))
		return;
	si->flags |= I_AWAIT;
	__sync_fetch_and_add(&nawait, 1);
	old = __sync_val_compare_and_swap(&owner_hooks, NS_TCP_HOOKS_OFF, NS_TCP_HOOKS_WANTED);
	if (old == NS_TCP_HOOKS_ON)
		return;
	si->flags |= I_UNHOOKED;
	if (old == NS_TCP_HOOKS_OFF)
		hooks_event(NS_TCP_EV_HOOKS_WANTED);
}

static __always_inline void owner_done(struct sk_info *si)
{
	if (!(si->flags & I_AWAIT))
		return;
	si->flags &= ~I_AWAIT;
	if (__sync_sub_and_fetch(&nawait, 1) == 0 && owner_hooks == NS_TCP_HOOKS_ON &&
	    !__sync_lock_test_and_set(&idle_sent, 1))
		hooks_event(NS_TCP_EV_HOOKS_IDLE);
}

#endif
