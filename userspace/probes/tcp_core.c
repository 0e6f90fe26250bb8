// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF object shared by the tcp and migration probes (see tcp_core.h): feature checks,
 * configuration from the class rules, pinning, the byte-count iterator, ring-buffer dispatch.
 * Kernel side: bpf/tcp.bpf.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attrib.h"
#include "config.h"
#include "log.h"
#include "probe_util.h"
#include "tcp_class.h"
#include "tcp_core.h"
#include "tcp.skel.h"

static struct ns_tcp_core core;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct ns_tcp_core *ns_tcp_core(void)
{
	return &core;
}

void ns_tcp_fmt_addr(const struct ns_tcp_event *e, bool local, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const __u8 *ip = local ? e->saddr : e->daddr;
	bool v6 = e->family == AF_INET6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, ip, a, sizeof(a));
	snprintf(buf, n, v6 ? "[%s]:%u" : "%s:%u", a, local ? e->sport : e->dport);
}

/*
 * The hook for the first send in task context. sock:sock_send_length (6.3+) fires once per
 * sendmsg call of any protocol; tcp:tcp_sendmsg_locked (6.16+) fires for TCP only, but once
 * per chunk copied: about 3.5 times per 64 KiB write in a bulk transfer. Entering a program
 * costs more than the protocol test, so per call wins where bulk TCP is the heavy traffic (a
 * migration stream: 124 -> 85 program entries per MB). Tests force the other with
 * NOVASCOPE_TCP_SEND_HOOK=tcp_sendmsg_locked. NULL: neither (no owner from sends).
 */
static const char *send_hook(void)
{
	const char *force = getenv("NOVASCOPE_TCP_SEND_HOOK");

	if (force && !strcmp(force, "tcp_sendmsg_locked") &&
	    ns_btf_tracepoint_exists("tcp_sendmsg_locked"))
		return "tcp_sendmsg_locked";
	if (ns_btf_tracepoint_exists("sock_send_length"))
		return "sock_send_length";
	return ns_btf_tracepoint_exists("tcp_sendmsg_locked") ? "tcp_sendmsg_locked" : NULL;
}

/*
 * Byte counts come from an iterator pass per collection, or, where the kernel refuses iterator
 * programs, from every segment received (bpf/tcp.bpf.c sample_segment()). Tests force the
 * latter with NOVASCOPE_TCP_BYTES=segment. why: the reason, when per segment.
 */
static bool bytes_per_segment(const char **why)
{
	const struct ns_features *f = ns_features_get();
	const char *force = getenv("NOVASCOPE_TCP_BYTES");

	*why = !f->sk_storage_iter ? f->sk_storage_iter_why : "NOVASCOPE_TCP_BYTES=segment";
	return !f->sk_storage_iter || (force && !strcmp(force, "segment"));
}

/* tcp_probe reads the tcp_sock through bpf_rdonly_cast where the kernel has it (6.2+), unless
 * NOVASCOPE_TCP_CAST=0 asks for the helper (how tests cover the older kernels' flavour). */
static bool use_cast(void)
{
	const char *env = getenv("NOVASCOPE_TCP_CAST");

	return ns_features_get()->rdonly_cast && !(env && !strcmp(env, "0"));
}

bool ns_tcp_core_check(struct ns_probe *p, const struct ns_features *f)
{
	static const char *const need[] = {"inet_sock_set_state", "tcp_probe",
					   "tcp_retransmit_skb"};
	const char *send = send_hook() ?: "none", *why;

	if (!f->btf) {
		ns_probe_set_reason(p, "%s", f->btf_why);
		return false;
	}
	if (!f->tp_btf || !f->sk_storage || !f->ringbuf) {
		ns_probe_set_reason(p, "needs tp_btf, BPF socket storage from tracing programs and "
				       "a ring buffer (5.11+)");
		return false;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!ns_btf_tracepoint_exists(need[i])) {
			ns_probe_set_reason(p, "kernel has no tracepoint %s", need[i]);
			return false;
		}
	ns_probe_set_hook(p, "tp_btf, send: %s%s%s", send,
			  bytes_per_segment(&why) ? ", bytes/seg" : "",
			  use_cast() ? "" : ", skc helper");
	return true;
}

/* Load only the programs whose tracepoints exist, in the flavour this kernel has. */
static void pick_programs(struct tcp_bpf *skel)
{
	const char *send = send_hook() ?: "";
	bool cast = use_cast();

	/* tcp_retransmit_skb gained `err` (and started firing for failures) in 6.17. */
	if (ns_btf_tracepoint_nargs("tcp_retransmit_skb") >= 3)
		bpf_program__set_autoload(skel->progs.retrans_btf, false);
	else
		bpf_program__set_autoload(skel->progs.retrans_err_btf, false);
	bpf_program__set_autoload(skel->progs.send_btf, !strcmp(send, "tcp_sendmsg_locked"));
	bpf_program__set_autoload(skel->progs.send_len_btf, !strcmp(send, "sock_send_length"));
	bpf_program__set_autoload(skel->progs.recv_btf,
				  ns_btf_tracepoint_exists("tcp_rcv_space_adjust"));
	bpf_program__set_autoload(skel->progs.synack_btf,
				  ns_btf_tracepoint_exists("tcp_retransmit_synack"));
	bpf_program__set_autoload(skel->progs.rst_send_btf,
				  ns_btf_tracepoint_exists("tcp_send_reset"));
	bpf_program__set_autoload(skel->progs.rst_recv_btf,
				  ns_btf_tracepoint_exists("tcp_receive_reset"));
	bpf_program__set_autoload(skel->progs.destroy_btf,
				  ns_btf_tracepoint_exists("tcp_destroy_sock"));
	bpf_program__set_autoload(skel->progs.probe_btf, !cast);
	bpf_program__set_autoload(skel->progs.probe_cast_btf, cast);
}

static void configure(struct tcp_bpf *skel, const struct ns_tcp_classes *cl, bool per_netns)
{
	struct tcp_bpf__rodata *ro = skel->rodata;
	__u32 slots = per_netns ? NS_TCP_NETNS_SLOTS : NS_TCP_CLASS_SLOTS;

	ro->per_netns = per_netns;
	ns_tcp_port_tables(cl, (__u8 *)ro->lport_class, (__u8 *)ro->rport_class);
	ro->nglobs = (__u32)ns_tcp_globs(cl, (struct ns_tcp_glob *)ro->globs);
	ro->migration_class = (__u32)cl->migration;
	bpf_map__set_max_entries(skel->maps.stats, slots);
	bpf_map__set_max_entries(skel->maps.conn_stats, slots);
	bpf_map__set_max_entries(skel->maps.free_slots, per_netns ? NS_TCP_NETNS_SLOTS : 1);
}

/* Cgroup rules name directories; resolve them to ids (again later, for those that appear
 * late: a VM's or pod's parent slice may be created after the agent starts). */
static void resolve_cgroups(struct tcp_bpf *skel, const struct ns_tcp_classes *cl)
{
	static bool resolved[NS_TCP_MAX_CGROUPS];
	const char *root = ns_cgroup2_root();
	int fd = bpf_map__fd(skel->maps.cgroup_classes);
	__u32 n = 0;

	for (int i = 0; i < cl->n; i++)
		for (int k = 0; k < cl->c[i].ncgroups && n < NS_TCP_MAX_CGROUPS; k++, n++) {
			__u32 class = (__u32)i, *old = &class;
			char full[4096];
			struct stat st;
			__u64 id;

			if (resolved[n] || !root)
				continue;
			snprintf(full, sizeof(full), "%s%s", root, cl->c[i].cgroups[k]);
			if (stat(full, &st))
				continue;
			id = (__u64)st.st_ino;
			/* Two rules naming one directory: the earlier class wins. */
			if (!bpf_map_lookup_elem(fd, &id, old) && *old < class)
				class = *old;
			resolved[n] = !bpf_map_update_elem(fd, &id, &class, BPF_ANY);
		}
	if (!skel->bss->ncgroups)
		memset(resolved, 0, sizeof(resolved));
	skel->bss->ncgroups = n;
}

/*
 * --bpf.pin-path: the counting maps and the per-socket state (so that a connection is neither
 * counted open twice nor loses its byte baseline across a restart) are pinned under
 * <pin-path>/tcp, whichever of the two views loads the object. Class ids only mean something
 * with the same class rules: a fingerprint of them (and of --tcp.per-netns) is the
 * max_entries of the never-filled `cfg` map, so a changed configuration is a layout change
 * and the pins are replaced instead of adopted.
 */
static const char *const pinned_maps[] = {"stats",    "conn_stats", "slot_ids", "free_slots",
					  "sk_infos", "cfg",	    NULL};

static __u32 cfg_fingerprint(const struct ns_tcp_classes *cl, bool per_netns)
{
	__u64 h = 1469598103934665603ULL;
	static __u8 lp[65536], rp[65536];
	struct ns_tcp_glob g[NS_TCP_MAX_GLOBS];
	int ng = ns_tcp_globs(cl, g);

	ns_tcp_port_tables(cl, lp, rp);
#define MIX(p, n)                           \
	for (size_t i_ = 0; i_ < (n); i_++) \
		h = (h ^ ((const __u8 *)(p))[i_]) * 1099511628211ULL;
	MIX(lp, sizeof(lp));
	MIX(rp, sizeof(rp));
	MIX(g, sizeof(g[0]) * (size_t)ng);
	for (int i = 0; i < cl->n; i++) {
		MIX(cl->c[i].name, strlen(cl->c[i].name));
		for (int k = 0; k < cl->c[i].ncgroups; k++)
			MIX(cl->c[i].cgroups[k], strlen(cl->c[i].cgroups[k]) + 1);
	}
	MIX(&per_netns, 1);
#undef MIX
	return 1 + (__u32)(h % 1000000);
}

static void push_free_slots(struct tcp_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.free_slots);

	for (__u32 s = NS_TCP_CLASS_SLOTS; s < NS_TCP_NETNS_SLOTS; s++)
		bpf_map_update_elem(fd, NULL, &s, BPF_ANY);
}

static int attach_flush(struct ns_probe *p, struct tcp_bpf *skel)
{
	union bpf_iter_link_info info = {.map.map_fd = (__u32)bpf_map__fd(skel->maps.sk_infos)};
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info,
			    .link_info_len = sizeof(info));
	struct bpf_link *l = bpf_program__attach_iter(skel->progs.flush_iter, &opts);
	int err = (int)libbpf_get_error(l);

	if (err) {
		ns_probe_set_reason(p, "attach the socket-storage iterator: %s", strerror(-err));
		return err;
	}
	core.flush = l;
	return 0;
}

/* Re-resolve cgroup rules and forget stale migration listeners, at most every 5 s. */
static void housekeeping(void)
{
	static uint64_t last;
	uint64_t now = mono_ns();

	if (!core.skel || now - last < 5000000000ULL)
		return;
	last = now;
	resolve_cgroups(core.skel, core.classes);
	ns_mig_incoming_gc(bpf_map__fd(core.skel->maps.incoming_ports));
}

/*
 * The sockets waiting for an owner: one pass of the iterator, which also brings every open
 * socket's byte counts up to date. Without iterators, the kernel's running count (nawait),
 * which a socket freed without any close event leaves too high: the owner hooks then stay
 * attached for good, as with --tcp.owner-hooks=always, and its unhooked sockets get their
 * class at their next send or receive, or their close, not from the rules after 100 ms.
 */
__u64 ns_tcp_core_count_awaiting(void)
{
	char buf[64];
	__s64 n;
	int fd;

	if (!core.flush) {
		n = __atomic_load_n(&core.skel->bss->nawait, __ATOMIC_SEQ_CST);
		return n > 0 ? (__u64)n : 0;
	}
	core.skel->bss->awaiting_seen = 0;
	fd = bpf_iter_create(bpf_link__fd(core.flush));
	if (fd < 0)
		return 1; /* unknown: as if one waited, so that the owner hooks stay */
	while (read(fd, buf, sizeof(buf)) > 0) /* the program prints nothing: one pass */
		;
	close(fd);
	return core.skel->bss->awaiting_seen;
}

void ns_tcp_core_tick(struct ns_probe *p)
{
	(void)p;
	ns_tcp_owner_tick();
}

void ns_tcp_core_flush(uint64_t gen)
{
	if (!core.skel || (gen && gen == core.flushed_gen))
		return;
	core.flushed_gen = gen;
	housekeeping();
	core.skel->bss->finalize_unhooked = core.flush && ns_tcp_owner_settled();
	ns_tcp_owner_after_flush(ns_tcp_core_count_awaiting());
	core.skel->bss->finalize_unhooked = 0;
}

int ns_tcp_core_start(struct ns_probe *p, const struct ns_config *cfg)
{
	struct ns_probe *owner = ns_probe_find("tcp");
	struct tcp_bpf *skel;
	const char *why;
	int err;

	p->priv = &core;
	if (core.refs++)
		return 0; /* the other view loaded it */
	/* Pins and links always belong to the tcp probe's entry, whichever view starts first. */
	core.owner = owner ? owner : p;
	core.per_netns = cfg->tcp_per_netns;
	core.classes = ns_tcp_classes();
	skel = tcp_bpf__open();
	if (!skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	core.skel = skel;
	p->obj = skel->obj;
	p->drops = skel->maps.drops;
	configure(skel, core.classes, core.per_netns);
	bpf_map__set_max_entries(skel->maps.cfg, cfg_fingerprint(core.classes, core.per_netns));
	pick_programs(skel);
	skel->rodata->bytes_per_segment = bytes_per_segment(&why);
	if (skel->rodata->bytes_per_segment)
		ns_log(NS_LOG_INFO,
		       "tcp: byte counts move per segment received; waiting sockets counted by "
		       "their events only",
		       "reason", why, NULL);
	bpf_program__set_autoload(skel->progs.flush_iter, !skel->rodata->bytes_per_segment);
	ns_tcp_owner_prepare(skel);
	err = ns_probe_pin_maps(core.owner, skel->obj, cfg->pin_path, pinned_maps);
	if (err) {
		ns_probe_set_reason(p, "%s", core.owner->reason);
		return err;
	}
	err = tcp_bpf__load(skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	resolve_cgroups(skel, core.classes);
	if (core.per_netns && !core.owner->adopted)
		push_free_slots(skel);
	ns_mig_incoming_scan(bpf_map__fd(skel->maps.incoming_ports));
	err = ns_probe_attach(core.owner, skel->obj);
	if (err) {
		ns_probe_set_reason(p, "%s", core.owner->reason);
		return err;
	}
	if (!skel->rodata->bytes_per_segment) {
		err = attach_flush(p, skel);
		if (err)
			return err;
	}
	err = ns_tcp_owner_start(skel,
				 cfg->tcp_owner_hooks && !strcmp(cfg->tcp_owner_hooks, "always"));
	if (err)
		ns_probe_set_reason(p, "attach the send/receive hooks: %s", strerror(-err));
	return err;
}

void ns_tcp_core_stop(struct ns_probe *p)
{
	if (p->priv != &core)
		return;
	p->priv = NULL;
	p->obj = NULL;
	p->drops = NULL;
	if (core.rb_owner == p)
		core.rb_owner = NULL;
	if (--core.refs > 0)
		return;
	if (core.owner)
		ns_probe_detach(core.owner);
	ns_tcp_owner_stop();
	bpf_link__destroy(core.flush);
	tcp_bpf__destroy(core.skel);
	memset(&core, 0, sizeof(core));
	ns_mig_reset();
}

struct bpf_map *ns_tcp_core_events_map(struct ns_probe *p)
{
	if (!core.skel || (core.rb_owner && core.rb_owner != p))
		return NULL;
	core.rb_owner = p;
	return core.skel->maps.events;
}

int ns_tcp_core_on_event(struct ns_probe *p, const void *data, size_t size)
{
	const struct ns_tcp_event *e = data;

	(void)p;
	if (size < sizeof(*e) || !core.skel)
		return 0;
	switch (e->type) {
	case NS_TCP_EV_CLOSE:
		ns_tcp_on_close(e);
		if (e->flags & NS_TCP_F_MIG)
			ns_mig_on_event(e);
		break;
	case NS_TCP_EV_MIG_OPEN:
		ns_mig_on_event(e);
		break;
	case NS_TCP_EV_LISTEN:
		ns_mig_incoming_on_listen(bpf_map__fd(core.skel->maps.incoming_ports), e);
		break;
	case NS_TCP_EV_HOOKS_WANTED:
	case NS_TCP_EV_HOOKS_IDLE:
		ns_tcp_owner_on_event(e->type);
		break;
	}
	return 0;
}
