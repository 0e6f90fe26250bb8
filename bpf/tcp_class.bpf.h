/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic-class rules for bpf/tcp.bpf.c, compiled by userspace (userspace/tcp_class.c) into
 * tables that cost O(1) per port, one shift-and pass per thread-name glob, and one ancestor
 * read per cgroup rule. Rules run once per socket, when its class is decided.
 */
#ifndef NOVASCOPE_TCP_CLASS_BPF_H
#define NOVASCOPE_TCP_CLASS_BPF_H

#include "novascope/tcp.h"

enum { DIR_UNKNOWN = 0, DIR_ACTIVE, DIR_PASSIVE };

/* Set before load: port -> lowest class id whose rule covers it (NS_TCP_CLASS_OTHER if none).
 * local_ports match sockets we accepted, remote_ports sockets we connected: the service port.
 * (Ephemeral local ports of outgoing connections fall in libvirt's 49152-49215 too.) */
const volatile __u8 lport_class[65536];
const volatile __u8 rport_class[65536];
const volatile __u32 nglobs = 0;
const volatile struct ns_tcp_glob globs[NS_TCP_MAX_GLOBS];
const volatile __u32 migration_class = NS_TCP_CLASS_OTHER;

/* Cgroup rules: cgroup id (directory inode) -> class; userspace resolves the paths, again
 * later for directories that did not exist yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NS_TCP_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_classes SEC(".maps");
__u32 ncgroups = 0;

/* (netns, port) that a QEMU started with -incoming tcp:HOST:PORT listens on; from userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ns_tcp_port_key);
	__type(value, __u8);
} incoming_ports SEC(".maps");
__u32 nincoming = 0; /* entries in incoming_ports, kept by userspace */

static __always_inline __u32 min_class(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return sk->__sk_common.skc_net.net->ns.inum;
}

/*
 * Shift-and over the thread name: bit i of s means "pattern[0..i) matched so far". A '*' at
 * position i keeps bit i on every character and also enables i+1 without consuming one
 * (userspace collapses runs of '*', so one closure step is enough).
 */
static __always_inline __u32 thread_class(const char *comm)
{
	__u32 best = NS_TCP_CLASS_OTHER;

	for (__u32 g = 0; g < NS_TCP_MAX_GLOBS; g++) {
		__u32 s = 1, star;

		if (g >= nglobs)
			break;
		star = globs[g].star;
		s |= (s & star) << 1;
		for (int k = 0; k < NS_TCP_COMM_LEN; k++) {
			__u8 c = comm[k];

			if (!c)
				break;
			s = ((s & globs[g].mask[c]) << 1) | (s & star);
			s |= (s & star) << 1;
		}
		if (s & globs[g].accept)
			best = min_class(best, globs[g].class);
	}
	return best;
}

#define CG_MAX_DEPTH 16

/*
 * The socket's cgroup is the creator's (an accepted socket inherits the listener's). Its
 * ancestors are found by walking self.parent, which every kernel has (cgroup::ancestors[]
 * replaced ::ancestor_ids[] in 6.0); only the CG_MAX_DEPTH nearest ancestors are compared.
 */
static __always_inline __u32 cgroup_class(const struct sock *sk)
{
	__u32 best = NS_TCP_CLASS_OTHER, *c;
	struct cgroup *cg;

	if (!ncgroups)
		return best;
	cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	for (int d = 0; d < CG_MAX_DEPTH && cg; d++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		c = bpf_map_lookup_elem(&cgroup_classes, &id);
		if (c && *c < best)
			best = *c;
		/* self is the first member: its parent css is the parent cgroup. */
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return best;
}

static __always_inline bool is_incoming_port(__u32 netns, __u16 port)
{
	struct ns_tcp_port_key k = {.netns = netns, .port = port};

	/* Most nodes have no QEMU waiting for a migration: skip the lookup then. */
	return nincoming && port && bpf_map_lookup_elem(&incoming_ports, &k);
}

/* Class from everything but the thread name. A passive socket's local port is the service
 * port; an active one's remote port is. Unknown direction (first seen mid-life): both. */
static __always_inline __u32 rule_class(const struct sock *sk, int dir)
{
	__u16 lport = sk->__sk_common.skc_num;
	__u16 rport = bpf_ntohs(sk->__sk_common.skc_dport);
	__u32 best = NS_TCP_CLASS_OTHER, netns = sk_netns(sk);

	if (dir != DIR_ACTIVE) {
		best = min_class(best, lport_class[lport]);
		if (is_incoming_port(netns, lport))
			best = min_class(best, migration_class);
	}
	if (dir != DIR_PASSIVE) {
		best = min_class(best, rport_class[rport]);
		/* The source side of a migration to a QEMU on this node. */
		if (is_incoming_port(netns, rport))
			best = min_class(best, migration_class);
	}
	return min_class(best, cgroup_class(sk));
}

#endif
