// SPDX-License-Identifier: GPL-2.0
/*
 * The owner hooks of the tcp object (the first send/receive in task context) are attached only
 * while some socket waits for its owner or its final class; see bpf/tcp_owner.bpf.h for the
 * kernel half and the ordering that makes a detach safe against a socket arriving meanwhile.
 *
 * Attached at start; detached when the kernel says the last waiting socket got its owner and
 * the iterator's count confirms that none waits, or when a collection's count finds none;
 * attached again when a socket starts to wait (ring-buffer wake-up) or a collection's count
 * finds one. A node that keeps accepting connections would flip them often, and each flip of
 * a tracepoint's first probe patches kernel text on every CPU: after an attach they stay for
 * a hold time, none at first, that grows (100 ms, then doubling up to 30 s) whenever they
 * are wanted again within a second of a detach, and is forgotten after a long quiet time.
 *
 * Attaching a loaded program needs no capability on recent kernels (6.18 checked: the
 * capability checks are at load time); older ones check them on every bpf() call. Before
 * the first detach a second link of one hook is attached as a test: if
 * that fails (capabilities dropped on an older kernel), the hooks stay attached for good.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "tcp_core.h"
#include "tcp.skel.h"

#define HOLD_MIN_NS 100000000ULL /* 100 ms: the first back-off step */
#define HOLD_MAX_NS 30000000000ULL
#define SOON_NS 1000000000ULL /* wanted again within 1 s of a detach: back off */
#define SETTLE_NS 100000000ULL

enum { DYN_UNKNOWN, DYN_YES, DYN_NO };

static struct {
	struct tcp_bpf *skel;
	struct bpf_program *progs[2];
	struct bpf_link *links[2];
	int nprogs, dyn;
	bool attached, warned, idle_pending; /* idle_pending: detach when the hold ends */
	uint64_t attached_ns, detached_ns, hold_ns;
	uint64_t attaches;
} ow;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void set_state(__u32 v)
{
	__atomic_store_n(&ow.skel->data->owner_hooks, v, __ATOMIC_SEQ_CST);
}

static void destroy_links(void)
{
	for (int i = 0; i < ow.nprogs; i++) {
		bpf_link__destroy(ow.links[i]);
		ow.links[i] = NULL;
	}
	ow.attached = false;
}

static int attach(void)
{
	uint64_t now = now_ns();
	int err = 0;

	if (ow.attached) {
		set_state(NS_TCP_HOOKS_ON);
		return 0;
	}
	for (int i = 0; i < ow.nprogs && !err; i++) {
		ow.links[i] = bpf_program__attach(ow.progs[i]);
		err = (int)libbpf_get_error(ow.links[i]);
		if (err)
			ow.links[i] = NULL;
	}
	if (err) {
		destroy_links();
		if (!ow.warned)
			ns_log(NS_LOG_WARN, "cannot attach the tcp owner hooks: owners wait",
			       "error", strerror(-err), NULL);
		ow.warned = true;
		return err; /* retried at the next collection */
	}
	ow.attached = true;
	ow.attaches++;
	if (ow.detached_ns && now - ow.detached_ns < SOON_NS)
		ow.hold_ns = ow.hold_ns < HOLD_MIN_NS	    ? HOLD_MIN_NS
			     : ow.hold_ns * 2 > HOLD_MAX_NS ? HOLD_MAX_NS
							    : ow.hold_ns * 2;
	else if (ow.detached_ns && now - ow.detached_ns > 10 * ow.hold_ns + SOON_NS)
		ow.hold_ns = 0;
	ow.attached_ns = now;
	set_state(NS_TCP_HOOKS_ON);
	ns_log(NS_LOG_DEBUG, "tcp owner hooks attached", NULL);
	return 0;
}

int ns_tcp_owner_start(struct tcp_bpf *skel, bool always)
{
	struct bpf_program *cand[] = {skel->progs.send_btf, skel->progs.send_len_btf,
				      skel->progs.recv_btf};

	memset(&ow, 0, sizeof(ow));
	ow.skel = skel;
	ow.dyn = always ? DYN_NO : DYN_UNKNOWN;
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (bpf_program__autoload(cand[i]))
			ow.progs[ow.nprogs++] = cand[i];
	return attach();
}

/* Before load: ns_probe_attach() leaves these to us (and drops pins older versions made). */
void ns_tcp_owner_prepare(struct tcp_bpf *skel)
{
	bpf_program__set_autoattach(skel->progs.send_btf, false);
	bpf_program__set_autoattach(skel->progs.send_len_btf, false);
	bpf_program__set_autoattach(skel->progs.recv_btf, false);
}

void ns_tcp_owner_stop(void)
{
	if (ow.skel)
		destroy_links();
	memset(&ow, 0, sizeof(ow));
}

/* Can a link be made now (capabilities may be gone)? Tried once, with a second link. */
static bool can_reattach(void)
{
	struct bpf_link *l;

	if (ow.dyn != DYN_UNKNOWN || !ow.nprogs) /* no hook on this kernel: nothing to detach */
		return ow.dyn == DYN_YES;
	l = bpf_program__attach(ow.progs[ow.nprogs - 1]);
	ow.dyn = libbpf_get_error(l) ? DYN_NO : DYN_YES;
	if (ow.dyn == DYN_YES)
		bpf_link__destroy(l);
	else
		ns_log(NS_LOG_INFO,
		       "tcp owner hooks stay attached: this kernel cannot attach them "
		       "again without privileges",
		       "error", strerror((int)-libbpf_get_error(l)), NULL);
	return ow.dyn == DYN_YES;
}

static void try_detach(void)
{
	__u32 on = NS_TCP_HOOKS_ON;

	ow.idle_pending = false;
	if (!ow.attached)
		return;
	if (now_ns() - ow.attached_ns < ow.hold_ns) {
		ow.idle_pending = true; /* the next tick after the hold tries again */
		return;
	}
	if (!can_reattach())
		return;
	if (!__atomic_compare_exchange_n(&ow.skel->data->owner_hooks, &on, NS_TCP_HOOKS_OFF, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	/* A socket that set I_AWAIT before our exchange is counted now; one after it sees OFF. */
	if (ns_tcp_core_count_awaiting() > 0) {
		set_state(NS_TCP_HOOKS_ON);
		return;
	}
	destroy_links();
	ow.detached_ns = now_ns();
	ns_log(NS_LOG_DEBUG, "tcp owner hooks detached: no socket waits for its owner", NULL);
}

void ns_tcp_owner_on_event(__u8 type)
{
	if (!ow.skel)
		return;
	if (type == NS_TCP_EV_HOOKS_WANTED) {
		attach();
	} else if (type == NS_TCP_EV_HOOKS_IDLE) {
		__atomic_store_n(&ow.skel->bss->idle_sent, 0, __ATOMIC_SEQ_CST);
		try_detach();
	}
}

void ns_tcp_owner_tick(void)
{
	if (ow.skel && ow.idle_pending && now_ns() - ow.attached_ns >= ow.hold_ns)
		try_detach();
}

/* After each collection's iterator pass, which counted the waiting sockets. */
void ns_tcp_owner_after_flush(__u64 awaiting)
{
	if (!ow.skel)
		return;
	/* An idle event lost to a full ring buffer must not silence the next ones. */
	__atomic_store_n(&ow.skel->bss->idle_sent, 0, __ATOMIC_SEQ_CST);
	if (awaiting && !ow.attached)
		attach();
	else if (!awaiting)
		try_detach();
}

/* Attached for long enough that a socket's first send/receive after it would have been seen. */
bool ns_tcp_owner_settled(void)
{
	return ow.attached && now_ns() - ow.attached_ns >= SETTLE_NS;
}

bool ns_tcp_owner_attached(uint64_t *attaches)
{
	*attaches = ow.attaches;
	return ow.attached;
}
