/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* TCP transport quality per traffic class, and migration connections: BPF <-> userspace. */
#ifndef NOVASCOPE_TCP_H
#define NOVASCOPE_TCP_H

#include "novascope/hist.h"

/*
 * Traffic classes: ids 0..NS_TCP_MAX_CLASSES-1 in precedence order (the lowest matching id
 * wins), NS_TCP_CLASS_OTHER for everything unmatched. Userspace assigns the ids.
 */
#define NS_TCP_MAX_CLASSES 16
#define NS_TCP_CLASS_OTHER NS_TCP_MAX_CLASSES
/* Stats slots: without --tcp.per-netns slot == class id; with it, slots 0..OTHER are the
 * per-class fold slots (netns="other") and the kernel hands out the rest per (netns, class). */
#define NS_TCP_CLASS_SLOTS (NS_TCP_MAX_CLASSES + 1)
#define NS_TCP_NETNS_SLOTS 256

/* Thread-name globs compiled to shift-and tables (see userspace/tcp_class.c). */
#define NS_TCP_MAX_GLOBS 16
#define NS_TCP_COMM_LEN 16
/* Cgroup rules: a cgroup v2 directory (by id) and everything below it. */
#define NS_TCP_MAX_CGROUPS 16

struct ns_tcp_glob {
	__u32 mask[256]; /* bit i: pattern position i accepts this character */
	__u32 star; /* bit i: pattern position i is '*' */
	__u32 accept; /* bit m: the whole pattern consumed */
	__u32 class;
};

/* Per-CPU, per slot: the hot path's counters. */
struct ns_tcp_stat {
	struct ns_hist srtt; /* ns, one sample per tcp_probe (incoming segment) */
	__u64 bytes_sent; /* data bytes acknowledged by the peer */
	__u64 bytes_received; /* data bytes received in order */
	__u64 retrans_segs;
	__u64 resets_sent;
	__u64 resets_received;
	__u64 opened; /* became established (or first seen established) */
	__u64 closed; /* of those, closed */
	/* Byte growth seen by tcp_probe when bytes move per segment: that program alone writes
	 * these, with plain adds; userspace adds them to the two above. */
	__u64 seg_bytes_sent;
	__u64 seg_bytes_received;
};

/* Shared (not per-CPU), per slot: once-per-connection histograms, atomically updated. */
struct ns_tcp_conn_stat {
	struct ns_hist connlat; /* ns, SYN_SENT -> ESTABLISHED */
	struct ns_hist duration; /* ns, connect()/accept to close */
};

struct ns_tcp_slot_key {
	__u32 netns;
	__u32 class;
};

/* Migration-class connections, keyed by socket cookie; updated in place by the kernel. */
struct ns_tcp_mig_conn {
	__u64 bytes_sent; /* data bytes, same rule as ns_tcp_stat */
	__u64 bytes_received;
	__u64 retrans_segs;
	__u64 start_ns; /* CLOCK_MONOTONIC */
};

/* Migration listeners: (netns, port) that a QEMU -incoming tcp:HOST:PORT listens on. */
struct ns_tcp_port_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

enum ns_tcp_ev_type {
	NS_TCP_EV_CLOSE = 1, /* an established connection closed */
	NS_TCP_EV_MIG_OPEN, /* a migration-class connection got its owner: track it */
	NS_TCP_EV_LISTEN, /* a QEMU process started listening */
	NS_TCP_EV_HOOKS_WANTED, /* a socket waits for an owner and the owner hooks are off */
	NS_TCP_EV_HOOKS_IDLE, /* the last socket waiting for an owner got one */
};

/* owner_hooks in bpf/tcp_owner.bpf.h: whether the send/receive hooks are attached. */
enum ns_tcp_hooks_state {
	NS_TCP_HOOKS_OFF,
	NS_TCP_HOOKS_ON,
	NS_TCP_HOOKS_WANTED, /* off, and NS_TCP_EV_HOOKS_WANTED was sent */
};

/* ns_tcp_event.flags */
#define NS_TCP_F_ACTIVE 0x1 /* we connected */
#define NS_TCP_F_PASSIVE 0x2 /* we accepted */
#define NS_TCP_F_MIDLIFE 0x4 /* first seen established: duration and bytes are partial */
#define NS_TCP_F_MIG 0x8 /* tracked as a migration connection */

struct ns_tcp_event {
	__u8 type;
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 flags;
	__u8 class;
	__u16 sport; /* host order */
	__u16 dport;
	__u32 tgid; /* owner: the first task that connected, sent or received */
	__u32 netns;
	__u64 cookie;
	__u64 ts_ns; /* CLOCK_MONOTONIC of the event */
	__u64 duration_ns; /* close: lifetime */
	__u64 bytes_sent; /* close: whole connection (since first seen) */
	__u64 bytes_received;
	__u64 retrans_segs;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[NS_TCP_COMM_LEN]; /* owner thread name */
};

#endif
