// SPDX-License-Identifier: GPL-2.0
/*
 * TCP probe: RTT, connect latency, retransmitted segments, resets, bytes, active connections
 * and connection lifetime per traffic class (and per network namespace with --tcp.per-netns).
 * Kernel side: bpf/tcp.bpf.c (stable tracepoints, tp_btf). This file also owns the BPF object
 * the migration view (migration.c) shares: see tcp_core.h.
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
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "report.h"
#include "tcp_class.h"
#include "tcp_core.h"
#include "attrib.h"
#include "selftest.h"
#include "tcp.skel.h"

/* ---- families: [0] without the netns label, [1] with it (--tcp.per-netns) ---- */
enum { F_RTT, F_CONNLAT, F_RETRANS, F_RESETS, F_BYTES, F_ACTIVE, F_DURATION, F_N };

static struct ns_family_desc fams[2][F_N] = {{
	[F_RTT] = {.name = "novascope_tcp_rtt_seconds",
		   .help = "Smoothed RTT (srtt) of established connections, one sample per segment "
			   "received.",
		   .type = NS_HISTOGRAM,
		   .labels = {"class"},
		   .min_slot = 9,
		   .max_slot = 34,
		   .scale = 1e-9},
	[F_CONNLAT] = {.name = "novascope_tcp_connect_latency_seconds",
		       .help = "Active opens: connect() (SYN_SENT) to ESTABLISHED.",
		       .type = NS_HISTOGRAM,
		       .labels = {"class"},
		       .min_slot = 9,
		       .max_slot = 34,
		       .scale = 1e-9},
	[F_RETRANS] = {.name = "novascope_tcp_retransmitted_segments_total",
		       .help = "Segments retransmitted (GSO segments counted, failed attempts "
			       "not): the kernel's TcpRetransSegs.",
		       .type = NS_COUNTER,
		       .labels = {"class"}},
	[F_RESETS] = {.name = "novascope_tcp_resets_total",
		      .help = "TCP resets sent and received.",
		      .type = NS_COUNTER,
		      .labels = {"class", "direction"}},
	[F_BYTES] = {.name = "novascope_tcp_bytes_total",
		     .help = "Data bytes sent (acknowledged by the peer) and received (in order).",
		     .type = NS_COUNTER,
		     .labels = {"class", "direction"}},
	[F_ACTIVE] = {.name = "novascope_tcp_connections_active",
		      .help = "Established connections (seen established, not yet closed).",
		      .type = NS_GAUGE,
		      .labels = {"class"}},
	[F_DURATION] = {.name = "novascope_tcp_connection_duration_seconds",
			.help = "Lifetime of closed connections, from connect()/accept to close.",
			.type = NS_HISTOGRAM,
			.labels = {"class"},
			.min_slot = 16,
			.max_slot = 46,
			.scale = 1e-9},
}};

static const struct ns_family_desc hooks_desc = {
	.name = "novascope_tcp_owner_hooks_attached",
	.help = "1 while the send/receive hooks that find a new socket's owner are attached; they "
		"are detached while no socket waits for one.",
	.type = NS_GAUGE,
};
static const struct ns_family_desc attaches_desc = {
	.name = "novascope_tcp_owner_hook_attaches_total",
	.help = "Times the send/receive owner hooks were attached (at start and when a socket "
		"waited for its owner while they were off).",
	.type = NS_COUNTER,
};

/* The owner hooks' state: how often they flip is worth seeing. */
static void emit_owner_hooks(struct ns_registry *r)
{
	static uint64_t prev;
	uint64_t n;
	struct ns_series *s;
	bool on = ns_tcp_owner_attached(&n);

	if ((s = ns_series(ns_family(r, &hooks_desc), NULL))) {
		ns_gauge_set(s, on);
		ns_series_touch(r, s);
	}
	if ((s = ns_series(ns_family(r, &attaches_desc), NULL))) {
		ns_counter_add(s, (double)(n >= prev ? n - prev : n));
		ns_series_touch(r, s);
	}
	prev = n;
}

struct totals {
	struct ns_tcp_stat s;
	struct ns_tcp_conn_stat c;
	bool seen;
};

struct tcp_priv {
	struct totals prev[NS_TCP_NETNS_SLOTS];
	struct ns_tcp_stat *percpu;
	/* Recent closes, for `novascope report tcp`. */
	struct ns_tcp_event *closes;
	size_t ncloses, next_close;
	uint64_t started_ns;
};

#define MAX_CLOSES 4096

static struct tcp_priv *tcp_priv;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A connection closed: keep it for `novascope report tcp`. */
void ns_tcp_on_close(const struct ns_tcp_event *e)
{
	if (!tcp_priv)
		return;
	tcp_priv->closes[tcp_priv->next_close] = *e;
	tcp_priv->next_close = (tcp_priv->next_close + 1) % MAX_CLOSES;
	if (tcp_priv->ncloses < MAX_CLOSES)
		tcp_priv->ncloses++;
}

static void init_netns_descs(void)
{
	for (int i = 0; i < F_N; i++) {
		int n = 0;

		fams[1][i] = fams[0][i];
		while (fams[1][i].labels[n])
			n++;
		fams[1][i].labels[n] = "netns";
		/* Past --metrics.max-series, namespaces fold into "other", not classes. */
		fams[1][i].fold_label = (unsigned int)n;
	}
}

/* ---- the tcp probe ---- */

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	return ns_tcp_core_check(p, f);
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	int err = ns_tcp_core_start(p, cfg);

	if (err)
		return err;
	tcp_priv = calloc(1, sizeof(*tcp_priv));
	if (!tcp_priv)
		return -ENOMEM;
	tcp_priv->percpu = calloc((size_t)ns_nr_cpus(), sizeof(struct ns_tcp_stat));
	tcp_priv->closes = calloc(MAX_CLOSES, sizeof(struct ns_tcp_event));
	if (!tcp_priv->percpu || !tcp_priv->closes)
		return -ENOMEM;
	tcp_priv->started_ns = mono_ns();
	if (!fams[1][0].name)
		init_netns_descs();
	return 0;
}

static void stop(struct ns_probe *p)
{
	ns_tcp_core_stop(p);
	if (tcp_priv) {
		free(tcp_priv->percpu);
		free(tcp_priv->closes);
		free(tcp_priv);
		tcp_priv = NULL;
	}
}

static void hist_add(struct ns_hist *sum, const struct ns_hist *h)
{
	for (int k = 0; k < NS_HIST_SLOTS; k++)
		sum->slots[k] += h->slots[k];
	sum->sum += h->sum;
}

static int read_slot(__u32 slot, struct totals *t)
{
	int ncpu = ns_nr_cpus();
	struct ns_tcp_stat *v = tcp_priv->percpu;
	const struct tcp_bpf *skel = ns_tcp_core()->skel;

	memset(t, 0, sizeof(*t));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &slot, v) ||
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.conn_stats), &slot, &t->c))
		return -errno;
	for (int c = 0; c < ncpu; c++) {
		hist_add(&t->s.srtt, &v[c].srtt);
		t->s.bytes_sent += v[c].bytes_sent + v[c].seg_bytes_sent;
		t->s.bytes_received += v[c].bytes_received + v[c].seg_bytes_received;
		t->s.retrans_segs += v[c].retrans_segs;
		t->s.resets_sent += v[c].resets_sent;
		t->s.resets_received += v[c].resets_received;
		t->s.opened += v[c].opened;
		t->s.closed += v[c].closed;
	}
	t->seen = t->s.opened || t->s.retrans_segs || t->s.resets_sent || t->s.resets_received ||
		  ns_hist_count(t->c.connlat.slots);
	return 0;
}

static void add_hist(struct ns_registry *r, struct ns_family *f, const char *const *lv,
		     const struct ns_hist *cur, const struct ns_hist *prev)
{
	struct ns_series *s = ns_series(f, lv);
	__u64 d[NS_HIST_SLOTS];

	if (!s)
		return;
	for (int k = 0; k < NS_HIST_SLOTS; k++)
		d[k] = cur->slots[k] - prev->slots[k];
	ns_hist_add(s, d, (double)(cur->sum - prev->sum));
	ns_series_touch(r, s);
}

static void add_counter(struct ns_registry *r, struct ns_family *f, const char *const *lv,
			__u64 cur, __u64 prev)
{
	struct ns_series *s = ns_series(f, lv);

	if (!s)
		return;
	ns_counter_add(s, (double)(cur - prev));
	ns_series_touch(r, s);
}

/* One slot's deltas into the registry, labelled with its class (and netns). */
static void emit_slot(struct ns_registry *r, const struct totals *cur, const struct totals *prev,
		      const char *class, const char *netns)
{
	int w = ns_tcp_core()->per_netns;
	struct ns_family *f[F_N];
	struct ns_series *s;
	double active = (double)cur->s.opened - (double)cur->s.closed;

	for (int i = 0; i < F_N; i++)
		if (!(f[i] = ns_family(r, &fams[w][i])))
			return;
	add_hist(r, f[F_RTT], NS_LV(class, netns), &cur->s.srtt, &prev->s.srtt);
	add_hist(r, f[F_CONNLAT], NS_LV(class, netns), &cur->c.connlat, &prev->c.connlat);
	add_hist(r, f[F_DURATION], NS_LV(class, netns), &cur->c.duration, &prev->c.duration);
	add_counter(r, f[F_RETRANS], NS_LV(class, netns), cur->s.retrans_segs,
		    prev->s.retrans_segs);
	add_counter(r, f[F_RESETS], NS_LV(class, "sent", netns), cur->s.resets_sent,
		    prev->s.resets_sent);
	add_counter(r, f[F_RESETS], NS_LV(class, "received", netns), cur->s.resets_received,
		    prev->s.resets_received);
	add_counter(r, f[F_BYTES], NS_LV(class, "sent", netns), cur->s.bytes_sent,
		    prev->s.bytes_sent);
	add_counter(r, f[F_BYTES], NS_LV(class, "received", netns), cur->s.bytes_received,
		    prev->s.bytes_received);
	s = ns_series(f[F_ACTIVE], NS_LV(class, netns));
	if (s) {
		ns_gauge_set(s, active > 0 ? active : 0);
		ns_series_touch(r, s);
	}
}

static int collect_slot(struct ns_registry *r, __u32 slot, __u32 class, const char *netns,
			bool always)
{
	const char *name = ns_tcp_class_name(ns_tcp_core()->classes, class);
	struct totals cur;
	int err = read_slot(slot, &cur);

	if (err)
		return err;
	if (cur.seen || always || tcp_priv->prev[slot].seen) {
		cur.seen = true;
		emit_slot(r, &cur, &tcp_priv->prev[slot], name, netns);
	}
	tcp_priv->prev[slot] = cur;
	return 0;
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	const struct ns_tcp_core *core = ns_tcp_core();
	struct ns_tcp_slot_key key, next;
	int err = 0, fd;
	__u32 slot;
	char ns[16];

	(void)p;
	if (!core->skel || !tcp_priv)
		return -ENODEV;
	ns_tcp_core_flush(r->gen);
	emit_owner_hooks(r);
	if (!core->per_netns) {
		for (int c = 0; c < core->classes->n && !err; c++)
			err = collect_slot(r, (__u32)c, (__u32)c, NULL, true);
		if (!err)
			err = collect_slot(r, NS_TCP_CLASS_OTHER, NS_TCP_CLASS_OTHER, NULL, true);
		return err;
	}
	/* Fold slots first (netns="other"), then one slot per (netns, class) in use. */
	for (__u32 c = 0; c < NS_TCP_CLASS_SLOTS && !err; c++)
		err = collect_slot(r, c, c, "other", false);
	fd = bpf_map__fd(core->skel->maps.slot_ids);
	for (int rc = bpf_map_get_next_key(fd, NULL, &next); !rc && !err;
	     rc = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &slot) || slot >= NS_TCP_NETNS_SLOTS)
			continue;
		snprintf(ns, sizeof(ns), "%u", key.netns);
		err = collect_slot(r, slot, key.class, ns, false);
	}
	return err;
}

static int by_bytes_desc(const void *a, const void *b)
{
	const struct ns_tcp_event *x = a, *y = b;
	__u64 bx = x->bytes_sent + x->bytes_received, by = y->bytes_sent + y->bytes_received;

	return bx < by ? 1 : bx > by ? -1 : 0;
}

static void report(struct ns_probe *p, const struct ns_registry *r, unsigned int top, FILE *out)
{
	const struct ns_family *rtt = ns_family_find(r, fams[ns_tcp_core()->per_netns][F_RTT].name);
	struct ns_tcp_event *ev;
	size_t n = tcp_priv ? tcp_priv->ncloses : 0;

	(void)p;
	fprintf(out, "Smoothed RTT per class (one sample per segment received):\n");
	if (rtt)
		ns_report_print(out, rtt, top);
	fprintf(out, "\nConnections closed while tracing: %zu; top %u by bytes:\n", n, top);
	if (!n)
		return;
	ev = malloc(n * sizeof(*ev));
	if (!ev)
		return;
	memcpy(ev, tcp_priv->closes, n * sizeof(*ev));
	qsort(ev, n, sizeof(*ev), by_bytes_desc);
	fprintf(out, "%-7s %-16s %-10s %-24s %-24s %12s %12s %10s %7s\n", "PID", "COMM", "CLASS",
		"LOCAL", "REMOTE", "SENT", "RECEIVED", "MS", "RETRANS");
	for (size_t i = 0; i < n && i < top; i++) {
		char l[64], rm[64];

		ns_tcp_fmt_addr(&ev[i], true, l, sizeof(l));
		ns_tcp_fmt_addr(&ev[i], false, rm, sizeof(rm));
		fprintf(out, "%-7u %-16.16s %-10s %-24s %-24s %12llu %12llu %10.3f %7llu\n",
			ev[i].tgid, *ev[i].comm ? ev[i].comm : "-",
			ns_tcp_class_name(ns_tcp_core()->classes, ev[i].class), l, rm,
			(unsigned long long)ev[i].bytes_sent,
			(unsigned long long)ev[i].bytes_received, (double)ev[i].duration_ns / 1e6,
			(unsigned long long)ev[i].retrans_segs);
	}
	free(ev);
}

#define ST_CONNS 20
#define ST_BYTES 3000

/* In a child: ST_CONNS loopback connections, each carrying ST_BYTES from client to server. */
static int loopback_burst(void *arg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char b[ST_BYTES];
	int l = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	memset(b, 'x', sizeof(b));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, ST_CONNS) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		return 1;
	for (int i = 0; i < ST_CONNS; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s;
		size_t got = 0;
		ssize_t r;

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) ||
		    write(c, b, sizeof(b)) != (ssize_t)sizeof(b) || (s = accept(l, NULL, NULL)) < 0)
			return 1;
		close(c);
		while ((r = read(s, b, sizeof(b))) > 0)
			got += (size_t)r;
		close(s);
		if (got != sizeof(b))
			return 1;
	}
	close(l);
	return 0;
}

static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	const char *lat = fams[ns_tcp_core()->per_netns][F_CONNLAT].name;
	const char *bytes = fams[ns_tcp_core()->per_netns][F_BYTES].name;
	double c0, b0, c1, b1;

	(void)p;
	c0 = ns_selftest_total(t, lat, NULL, NULL);
	b0 = ns_selftest_total(t, bytes, "direction", "sent");
	if (ns_selftest_child(loopback_burst, NULL)) {
		snprintf(detail, n, "loopback workload failed");
		return -1;
	}
	usleep(100000); /* the last closes are processed in softirq */
	c1 = ns_selftest_total(t, lat, NULL, NULL) - c0;
	b1 = ns_selftest_total(t, bytes, "direction", "sent") - b0;
	snprintf(detail, n, "%d loopback connections of %d bytes: %.0f connects, %.0f bytes sent",
		 ST_CONNS, ST_BYTES, c1, b1);
	return c1 >= ST_CONNS && b1 >= ST_CONNS * ST_BYTES ? 0 : -1;
}

const struct ns_probe_ops ns_tcp_probe = {
	.name = "tcp",
	.description = "TCP RTT, connect latency, retransmits, resets, bytes per traffic class",
	.check = check,
	.start = start,
	.collect = collect,
	.on_event = ns_tcp_core_on_event,
	.tick = ns_tcp_core_tick,
	.events_map = ns_tcp_core_events_map,
	.stop = stop,
	.report_family = "novascope_tcp_rtt_seconds",
	.report = report,
	.selftest = selftest,
};
