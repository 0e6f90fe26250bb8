// SPDX-License-Identifier: GPL-2.0
/*
 * Migration view: VM live-migration sessions built from the tcp probe's migration-class
 * connections (bpf/tcp.bpf.c, shared through tcp_core.h).
 *
 * A session is (QEMU process, role). It starts when the first migration-class connection of
 * that QEMU gets its owner (the kernel emits NS_TCP_EV_MIG_OPEN) and ends when the last one
 * closes, so the main channel and the multifd channels form one session. Role: the side that
 * connected is the source, the side that accepted the destination. The destination's threads
 * are not named after migration (QEMU's main thread reads the main channel), so its sockets
 * are recognised by port: the port of QEMU's `-incoming tcp:HOST:PORT` (read from
 * /proc/<pid>/cmdline when a QEMU starts listening, and at start-up), libvirt's port range,
 * or a class rule. Bytes are the data bytes the source's sockets got acknowledged, or the
 * destination's received, read from the kernel's per-socket counters.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attrib.h"
#include "log.h"
#include "metrics.h"
#include "probes.h"
#include "selftest.h"
#include "tcp_core.h"
#include "tcp.skel.h"

enum { ROLE_SOURCE, ROLE_DEST };
static const char *const role_names[] = {"source", "destination"};

#define MAX_CONNS 256
#define MAX_SESSIONS 64

struct conn {
	bool used;
	int sess; /* index into sessions */
	__u64 cookie;
	__u64 bytes, retrans; /* last totals seen for this connection */
};

struct session {
	bool used, live, end_pending;
	__u32 tgid;
	int role;
	char vm[128], peer[64];
	__u64 start_ns, end_ns;
	__u64 bytes, retrans; /* totals */
	__u64 flushed_bytes, flushed_retrans; /* already in the registry */
	__u64 bytes_last_collect;
	int nconns, conns_total;
};

static struct conn conns[MAX_CONNS];
static struct session sessions[MAX_SESSIONS];
static uint64_t last_collect_ns;

static const struct ns_family_desc bytes_desc = {
	.name = "novascope_migration_bytes_total",
	.help = "Migration stream bytes: acknowledged for the source, received for the "
		"destination.",
	.type = NS_COUNTER,
	.labels = {"vm", "role"},
	.carry = true,
};
static const struct ns_family_desc total_desc = {
	.name = "novascope_migrations_total",
	.help = "Migration sessions that ended (their last connection closed).",
	.type = NS_COUNTER,
	.labels = {"vm", "role"},
	.carry = true,
};
static const struct ns_family_desc dur_desc = {
	.name = "novascope_migration_duration_seconds",
	.help = "Duration of ended migration sessions, first connect to last close.",
	.type = NS_HISTOGRAM,
	.labels = {"vm", "role"},
	.min_slot = 24,
	.max_slot = 44,
	.scale = 1e-9,
	.carry = true,
};
static const struct ns_family_desc active_desc = {
	.name = "novascope_migrations_active",
	.help = "Migration sessions in progress.",
	.type = NS_GAUGE,
	.labels = {"vm", "role"},
	.stale_after = 3600,
};
static const struct ns_family_desc thr_desc = {
	.name = "novascope_migration_throughput_bytes_per_second",
	.help = "Migration bytes per second over the last collection interval.",
	.type = NS_GAUGE,
	.labels = {"vm", "role"},
	.stale_after = 3600,
};
static const struct ns_family_desc retrans_desc = {
	.name = "novascope_migration_retransmitted_segments_total",
	.help = "TCP segments retransmitted on migration connections.",
	.type = NS_COUNTER,
	.labels = {"vm", "role"},
	.carry = true,
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- sessions ---- */

void ns_mig_reset(void)
{
	memset(sessions, 0, sizeof(sessions));
	memset(conns, 0, sizeof(conns));
	ns_mig_incoming_reset();
	last_collect_ns = 0;
}

static struct conn *conn_find(__u64 cookie)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].used && conns[i].cookie == cookie)
			return &conns[i];
	return NULL;
}

static struct session *session_slot(void)
{
	struct session *oldest = NULL;

	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];

		if (!s->used)
			return s;
		/* Reuse the oldest ended session whose numbers are in the registry. */
		if (!s->live && !s->end_pending && (!oldest || s->end_ns < oldest->end_ns))
			oldest = s;
	}
	return oldest;
}

static void fmt_u64(char *buf, size_t n, unsigned long long v)
{
	snprintf(buf, n, "%llu", v);
}

static void log_start(const struct session *s, const char *thread)
{
	char pid[16];

	fmt_u64(pid, sizeof(pid), s->tgid);
	ns_log(NS_LOG_INFO, "migration started", "vm", s->vm, "role", role_names[s->role], "pid",
	       pid, "peer", s->peer, "thread", thread, NULL);
}

static void log_end(const struct session *s)
{
	double secs = (double)(s->end_ns - s->start_ns) / 1e9;
	char pid[16], bytes[24], dur[24], thr[32], nc[16], rt[24];

	fmt_u64(pid, sizeof(pid), s->tgid);
	fmt_u64(bytes, sizeof(bytes), s->bytes);
	snprintf(dur, sizeof(dur), "%.3f", secs);
	snprintf(thr, sizeof(thr), "%.0f", secs > 0 ? (double)s->bytes / secs : 0);
	fmt_u64(nc, sizeof(nc), (unsigned long long)s->conns_total);
	fmt_u64(rt, sizeof(rt), s->retrans);
	ns_log(NS_LOG_INFO, "migration ended", "vm", s->vm, "role", role_names[s->role], "pid", pid,
	       "peer", s->peer, "bytes", bytes, "duration_seconds", dur,
	       "throughput_bytes_per_second", thr, "connections", nc, "retransmitted_segments", rt,
	       NULL);
}

static int role_of(const struct ns_tcp_event *e)
{
	if (e->flags & NS_TCP_F_ACTIVE)
		return ROLE_SOURCE;
	if (e->flags & NS_TCP_F_PASSIVE)
		return ROLE_DEST;
	/*
	 * First seen mid-life. On the destination QEMU's main thread reads the main channel and
	 * the first packet of every multifd channel, so the thread alone would call those
	 * sockets the source's: a local port that the process listens on says accepted.
	 */
	if (ns_proc_listens_on((pid_t)e->tgid, e->sport))
		return ROLE_DEST;
	return ns_thread_role(e->comm) == NS_ROLE_MIGRATION_RECV ? ROLE_DEST : ROLE_SOURCE;
}

static void conn_update(struct conn *c, __u64 sent, __u64 rcvd, __u64 retrans)
{
	struct session *s = &sessions[c->sess];
	__u64 b = s->role == ROLE_SOURCE ? sent : rcvd;

	if (b > c->bytes)
		s->bytes += b - c->bytes;
	if (retrans > c->retrans)
		s->retrans += retrans - c->retrans;
	c->bytes = b;
	c->retrans = retrans;
}

static void on_open(const struct ns_tcp_event *e)
{
	int role = role_of(e);
	struct session *s = NULL;
	struct conn *c = NULL;

	if (!ns_is_qemu((pid_t)e->tgid))
		return; /* migration-class traffic of something else: counted by class only */
	for (int i = 0; i < MAX_SESSIONS && !s; i++)
		if (sessions[i].used && sessions[i].live && sessions[i].tgid == e->tgid &&
		    sessions[i].role == role)
			s = &sessions[i];
	for (int i = 0; i < MAX_CONNS && !c; i++)
		if (!conns[i].used)
			c = &conns[i];
	if (!c || (!s && !(s = session_slot())))
		return;
	if (!s->live) {
		memset(s, 0, sizeof(*s));
		s->used = s->live = true;
		s->tgid = e->tgid;
		s->role = role;
		s->start_ns = e->ts_ns - e->duration_ns; /* when the first connection began */
		if (ns_vm_name((pid_t)e->tgid, s->vm, sizeof(s->vm)))
			snprintf(s->vm, sizeof(s->vm), "pid-%u", e->tgid);
		ns_tcp_fmt_addr(e, false, s->peer, sizeof(s->peer));
		log_start(s, e->comm);
	}
	*c = (struct conn){.used = true, .cookie = e->cookie, .sess = (int)(s - sessions)};
	s->nconns++;
	s->conns_total++;
	conn_update(c, e->bytes_sent, e->bytes_received, e->retrans_segs);
}

static void on_close(const struct ns_tcp_event *e)
{
	struct conn *c = conn_find(e->cookie);
	struct session *s;

	if (!c)
		return;
	conn_update(c, e->bytes_sent, e->bytes_received, e->retrans_segs);
	s = &sessions[c->sess];
	c->used = false;
	if (--s->nconns > 0)
		return;
	s->live = false;
	s->end_pending = true;
	s->end_ns = e->ts_ns;
	log_end(s);
}

void ns_mig_on_event(const struct ns_tcp_event *e)
{
	if (!ns_tcp_core()->mig_on)
		return;
	if (e->type == NS_TCP_EV_MIG_OPEN)
		on_open(e);
	else if (e->type == NS_TCP_EV_CLOSE)
		on_close(e);
}

/* Read the live connections' counters the kernel keeps up to date. */
static void poll_conns(void)
{
	struct ns_tcp_core *core = ns_tcp_core();
	int fd = bpf_map__fd(core->skel->maps.mig_conns);

	for (int i = 0; i < MAX_CONNS; i++) {
		struct ns_tcp_mig_conn m;

		if (!conns[i].used || bpf_map_lookup_elem(fd, &conns[i].cookie, &m))
			continue; /* closed: its close event carries the final numbers */
		conn_update(&conns[i], m.bytes_sent, m.bytes_received, m.retrans_segs);
	}
}

static void touch_counter(struct ns_registry *r, const struct ns_family_desc *d,
			  const char *const *lv, double delta)
{
	struct ns_series *s = ns_series(ns_family(r, d), lv);

	if (s) {
		ns_counter_add(s, delta);
		ns_series_touch(r, s);
	}
}

/* Gauges per (vm, role): sums over the sessions with those labels. */
static void set_gauges(struct ns_registry *r, int i, double dt)
{
	double thr = 0, active = 0;
	const char *const *lv;
	struct ns_series *s;

	for (int k = 0; k < MAX_SESSIONS; k++) {
		struct session *o = &sessions[k];

		if (!o->used || o->role != sessions[i].role || strcmp(o->vm, sessions[i].vm))
			continue;
		if (k < i)
			return; /* done with the first session of these labels */
		active += o->live;
		thr += dt > 0 ? (double)(o->bytes - o->bytes_last_collect) / dt : 0;
	}
	lv = NS_LV(sessions[i].vm, role_names[sessions[i].role]);
	s = ns_series(ns_family(r, &active_desc), lv);
	if (s) {
		ns_gauge_set(s, active);
		ns_series_touch(r, s);
	}
	s = ns_series(ns_family(r, &thr_desc), lv);
	if (s) {
		ns_gauge_set(s, thr);
		ns_series_touch(r, s);
	}
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	uint64_t now = mono_ns();
	double dt = last_collect_ns ? (double)(now - last_collect_ns) / 1e9 : 0;

	(void)p;
	if (!ns_tcp_core()->skel)
		return -ENODEV;
	ns_tcp_core_flush(r->gen);
	poll_conns();
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].used)
			set_gauges(r, i, dt);
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];
		const char *const *lv;

		if (!s->used)
			continue;
		lv = NS_LV(s->vm, role_names[s->role]);
		touch_counter(r, &bytes_desc, lv, (double)(s->bytes - s->flushed_bytes));
		touch_counter(r, &retrans_desc, lv, (double)(s->retrans - s->flushed_retrans));
		s->flushed_bytes = s->bytes;
		s->flushed_retrans = s->retrans;
		s->bytes_last_collect = s->bytes;
		if (s->end_pending) {
			struct ns_series *h = ns_series(ns_family(r, &dur_desc), lv);

			touch_counter(r, &total_desc, lv, 1);
			if (h) {
				ns_hist_observe(h, s->end_ns - s->start_ns);
				ns_series_touch(r, h);
			}
			s->end_pending = false;
		} else {
			touch_counter(r, &total_desc, lv, 0);
		}
	}
	last_collect_ns = now;
	return 0;
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	if (!ns_tcp_core_check(p, f))
		return false;
	ns_probe_set_hook(p, "shares the tcp probe's BPF object");
	return true;
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	int err;

	if (!ns_tcp_core()->refs)
		ns_mig_reset();
	err = ns_tcp_core_start(p, cfg);
	if (!err)
		ns_tcp_core()->mig_on = true;
	last_collect_ns = mono_ns();
	return err;
}

static void stop(struct ns_probe *p)
{
	if (p->priv)
		ns_tcp_core()->mig_on = false;
	ns_tcp_core_stop(p);
}

static void report(struct ns_probe *p, const struct ns_registry *r, unsigned int top, FILE *out)
{
	uint64_t now = mono_ns();
	unsigned int shown = 0;

	(void)p;
	(void)r;
	fprintf(out, "%-20s %-12s %-8s %-24s %-6s %5s %14s %10s %10s %8s\n", "VM", "ROLE", "PID",
		"PEER", "STATE", "CONNS", "BYTES", "SECONDS", "MB/s", "RETRANS");
	for (int i = 0; i < MAX_SESSIONS && shown < top; i++) {
		const struct session *s = &sessions[i];
		double secs;

		if (!s->used)
			continue;
		secs = (double)((s->live ? now : s->end_ns) - s->start_ns) / 1e9;
		fprintf(out, "%-20s %-12s %-8u %-24s %-6s %5d %14llu %10.3f %10.1f %8llu\n", s->vm,
			role_names[s->role], s->tgid, s->peer, s->live ? "live" : "done",
			s->conns_total, (unsigned long long)s->bytes, secs,
			secs > 0 ? (double)s->bytes / secs / 1e6 : 0,
			(unsigned long long)s->retrans);
		shown++;
	}
	if (!shown)
		fprintf(out, "no migration sessions seen\n");
}

static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	(void)p;
	(void)t;
	snprintf(detail, n, "needs a QEMU live migration (tests/integration/test_migration_*.sh)");
	return 1;
}

const struct ns_probe_ops ns_migration_probe = {
	.name = "migration",
	.description = "VM live-migration sessions: bytes, throughput, duration, retransmits",
	.check = check,
	.start = start,
	.collect = collect,
	.on_event = ns_tcp_core_on_event,
	.tick = ns_tcp_core_tick,
	.events_map = ns_tcp_core_events_map,
	.stop = stop,
	.report = report,
	.selftest = selftest,
};
