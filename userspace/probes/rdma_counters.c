// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_counters: RDMA port and hardware counters, link state, rate and netdev binding, read from
 * sysfs (drivers/infiniband/core/sysfs.c) once per interval. The data path of RDMA bypasses the
 * kernel, so the NIC's own counters are what there is:
 *
 *   <root>/<dev>/hw_counters/<name>            device-wide driver counters ("%llu\n")
 *   <root>/<dev>/ports/<n>/counters/<name>     IB PortCounters(Ext) via a PMA MAD
 *   <root>/<dev>/ports/<n>/hw_counters/<name>  per-port driver counters (mlx5 Q/CC counters)
 *   <root>/<dev>/ports/<n>/{state,rate,link_layer}, gid_attrs/ndevs/<i>
 *
 * port_xmit_data/port_rcv_data count 4-byte words (IBA 16.1.3.5): exported as bytes (x4).
 * Counters are cumulative in the kernel; they go backwards when the device is reset or the
 * counters are cleared (perfquery -R, driver reload). Then the new value is what was counted
 * since the reset, and it is added as the delta: rates never go negative. The narrow PMA error
 * counters saturate rather than wrap, which needs nothing special.
 * A file that is missing, unreadable or holds something other than a number (old kernels
 * write "N/A (no PMA)") is logged once, counted in novascope_rdma_sysfs_errors_total and
 * skipped; its series keeps its last value.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probes.h"
#include "rdma.h"
#include "selftest.h"

#define STALE 5 /* intervals a removed device's series stays */

static const struct ns_family_desc bytes_desc = {
	.name = "novascope_rdma_port_bytes_total",
	.help = "Bytes through the RDMA port (counters/port_{xmit,rcv}_data x 4), by direction.",
	.type = NS_COUNTER,
	.labels = {"device", "port", "direction"},
	.stale_after = STALE,
};
static const struct ns_family_desc packets_desc = {
	.name = "novascope_rdma_port_packets_total",
	.help = "Packets through the RDMA port (counters/port_{xmit,rcv}_packets), by direction.",
	.type = NS_COUNTER,
	.labels = {"device", "port", "direction"},
	.stale_after = STALE,
};
static const struct ns_family_desc errors_desc = {
	.name = "novascope_rdma_port_errors_total",
	.help = "IB PortCounters error and discard counters of the RDMA port (raw names).",
	.type = NS_COUNTER,
	.labels = {"device", "port", "counter"},
	.stale_after = STALE,
};
static const struct ns_family_desc wait_desc = {
	.name = "novascope_rdma_port_xmit_wait_total",
	.help = "Ticks during which the port had data to send but no flow-control credits "
		"(counters/port_xmit_wait).",
	.type = NS_COUNTER,
	.labels = {"device", "port"},
	.stale_after = STALE,
};
static const struct ns_family_desc hw_desc = {
	.name = "novascope_rdma_hw_counter_total",
	.help = "Driver hardware counters (hw_counters/, raw names); port is empty for "
		"device-wide ones.",
	.type = NS_COUNTER,
	.labels = {"device", "port", "counter"},
	.stale_after = STALE,
};
static const struct ns_family_desc info_desc = {
	.name = "novascope_rdma_port_info",
	.help = "RDMA port state, rate, bound netdev (RoCE) and link layer; always 1.",
	.type = NS_GAUGE,
	.labels = {"device", "port", "state", "rate", "netdev", "link_layer"},
	.stale_after = 1,
};
static const struct ns_family_desc err_desc = {
	.name = "novascope_rdma_sysfs_errors_total",
	.help = "RDMA sysfs files skipped in a collection, by reason (missing, unreadable, "
		"garbage).",
	.type = NS_COUNTER,
	.labels = {"device", "reason"},
};

/* Problems already logged for a file, so each is reported once until the file recovers. */
enum { R_MISSING = 1, R_UNREADABLE = 2, R_GARBAGE = 4 };

#define KEYLEN 192 /* "<dev>/<port>/<dir>/<name>": device and counter names are short */
#define LABLEN 64

struct file_state {
	uint64_t prev;
	uint64_t seen; /* collection that last found the file in its directory */
	bool have; /* prev is a value read from it */
	unsigned char reported;
};

struct port_info {
	char v[4][LABLEN]; /* state, rate, netdev, link_layer of the exported series */
	bool have;
};

struct ns_rdma_sysfs {
	char root[PATH_MAX];
	struct ns_kv files; /* KEYLEN -> struct file_state */
	struct ns_kv ports; /* KEYLEN -> struct port_info */
	bool root_reported;
	uint64_t gen; /* collections so far */
	struct ns_registry *r; /* during a collection */
};

/* Where a counter file of counters/ goes. */
enum kind { K_SKIP, K_BYTES, K_PACKETS, K_ERROR, K_WAIT };

static const struct {
	const char *name;
	enum kind kind;
	const char *dir; /* direction label for bytes/packets */
	bool expected; /* every PMA table has it: report when absent */
} pma[] = {
	{"port_xmit_data", K_BYTES, "tx", true},
	{"port_rcv_data", K_BYTES, "rx", true},
	{"port_xmit_packets", K_PACKETS, "tx", true},
	{"port_rcv_packets", K_PACKETS, "rx", true},
	{"port_xmit_wait", K_WAIT, NULL, false}, /* 4.6+ */
	{"symbol_error", K_ERROR, NULL, true},
	{"link_error_recovery", K_ERROR, NULL, true},
	{"link_downed", K_ERROR, NULL, true},
	{"port_rcv_errors", K_ERROR, NULL, true},
	{"port_rcv_remote_physical_errors", K_ERROR, NULL, true},
	{"port_rcv_switch_relay_errors", K_ERROR, NULL, true},
	{"port_xmit_discards", K_ERROR, NULL, true},
	{"port_xmit_constraint_errors", K_ERROR, NULL, true},
	{"port_rcv_constraint_errors", K_ERROR, NULL, true},
	{"local_link_integrity_errors", K_ERROR, NULL, true},
	{"excessive_buffer_overrun_errors", K_ERROR, NULL, true},
	{"VL15_dropped", K_ERROR, NULL, true},
	/* PortCountersExtended unicast/multicast split: subsets of the packets above. */
	{"unicast_xmit_packets", K_SKIP, NULL, false},
	{"unicast_rcv_packets", K_SKIP, NULL, false},
	{"multicast_xmit_packets", K_SKIP, NULL, false},
	{"multicast_rcv_packets", K_SKIP, NULL, false},
};

#define NPMA (sizeof(pma) / sizeof(pma[0]))

static void count_error(struct ns_rdma_sysfs *st, const char *dev, const char *reason)
{
	struct ns_series *s = ns_series(ns_family(st->r, &err_desc), NS_LV(dev, reason));

	if (s) {
		ns_counter_add(s, 1);
		ns_series_touch(st->r, s);
	}
}

/* Log a problem with a file once, and count it every time. */
static void problem(struct ns_rdma_sysfs *st, struct file_state *fs, const char *dev,
		    const char *path, int what, const char *detail)
{
	static const char *const reason[] = {
		[R_MISSING] = "missing", [R_UNREADABLE] = "unreadable", [R_GARBAGE] = "garbage"};

	count_error(st, dev, reason[what]);
	if (fs && (fs->reported & what))
		return;
	if (fs)
		fs->reported = (unsigned char)what;
	ns_log(NS_LOG_WARN,
	       what == R_GARBAGE ? "rdma sysfs file rejected: not a counter value"
				 : "rdma sysfs file skipped",
	       "file", path, "reason", reason[what], "detail", detail, NULL);
}

static struct file_state *file_state(struct ns_rdma_sysfs *st, const char *key)
{
	char k[KEYLEN] = {0};

	snprintf(k, sizeof(k), "%s", key);
	return ns_kv_get(&st->files, k, true);
}

static void recovered(struct file_state *fs, const char *path)
{
	if (fs->reported) {
		ns_log(NS_LOG_INFO, "rdma sysfs file readable again", "file", path, NULL);
		fs->reported = 0;
	}
}

/* Where a counter file's value goes: family, labels, multiplier. */
struct target {
	const struct ns_family_desc *d;
	const char *labels[3];
	double mult;
};

static bool target(bool pma_dir, const char *dev, const char *port, const char *name,
		   struct target *t)
{
	size_t i;

	*t = (struct target){&hw_desc, {dev, port, name}, 1};
	if (!pma_dir) /* lifespan is the stats cache lifetime in ms (writable), not a counter */
		return strcmp(name, "lifespan") != 0;
	for (i = 0; i < NPMA && strcmp(pma[i].name, name); i++)
		;
	if (i == NPMA)
		return false;
	switch (pma[i].kind) {
	case K_BYTES:
		*t = (struct target){&bytes_desc, {dev, port, pma[i].dir}, 4};
		return true;
	case K_PACKETS:
		*t = (struct target){&packets_desc, {dev, port, pma[i].dir}, 1};
		return true;
	case K_WAIT:
		*t = (struct target){&wait_desc, {dev, port}, 1};
		return true;
	case K_ERROR:
		*t = (struct target){&errors_desc, {dev, port, name}, 1};
		return true;
	default:
		return false;
	}
}

/*
 * Read one counter file and add what it counted since the last read to its series. The first
 * read adds the whole value: the series then equals the kernel's counter.
 */
static void counter(struct ns_rdma_sysfs *st, const char *dev, const char *path, const char *key,
		    const struct target *t)
{
	struct file_state *fs = file_state(st, key);
	struct ns_series *s = ns_series(ns_family(st->r, t->d), t->labels);
	char buf[64], shown[40];
	uint64_t v, delta;
	size_t len = 0;
	int err;

	if (!fs || !s)
		return;
	fs->seen = st->gen;
	err = ns_rdma_read_small(path, buf, sizeof(buf), &len);
	if (err == -EFBIG || (!err && ns_rdma_parse_u64(buf, len, &v))) {
		ns_rdma_printable(buf, err ? sizeof(buf) - 1 : len, shown, sizeof(shown));
		problem(st, fs, dev, path, R_GARBAGE, shown);
	} else if (err) {
		problem(st, fs, dev, path, err == -ENOENT ? R_MISSING : R_UNREADABLE,
			strerror(-err));
	} else {
		recovered(fs, path);
		if (!fs->have) {
			delta = v; /* first read: everything counted so far */
		} else if (v >= fs->prev) {
			delta = v - fs->prev;
		} else {
			delta = v; /* reset: the new value is what was counted since */
			ns_log(NS_LOG_DEBUG, "rdma counter went backwards (device reset)", "file",
			       path, NULL);
		}
		fs->prev = v;
		fs->have = true;
		ns_counter_add(s, (double)delta * t->mult);
	}
	/* Keep the series (at its last value) while the file is bad. */
	ns_series_touch(st->r, s);
}

/* A counter file that is not there: report it, keep its series if it had one. */
static void missing(struct ns_rdma_sysfs *st, struct file_state *fs, const char *dev,
		    const char *port, const char *dir, const char *name, bool pma_dir)
{
	char path[PATH_MAX];
	struct target t;
	struct ns_series *s;

	if (!ns_rdma_fmt(path, sizeof(path), "%s/%s", dir, name))
		return;
	problem(st, fs, dev, path, R_MISSING, strerror(ENOENT));
	if (fs->have && target(pma_dir, dev, port, name, &t) &&
	    (s = ns_series(ns_family(st->r, t.d), t.labels)))
		ns_series_touch(st->r, s);
}

/*
 * counters/ (pma_dir) or hw_counters/ of a port (port "" for the device's own). Files read
 * before and gone now are missing; so is a counters/ file every PMA table has.
 */
static void counter_dir(struct ns_rdma_sysfs *st, const char *dev, const char *port,
			const char *dir, bool pma_dir)
{
	char path[PATH_MAX], key[KEYLEN], prefix[KEYLEN];
	struct dirent *de;
	struct target t;
	size_t plen;
	DIR *d = opendir(dir);

	/* No directory: a driver without hw counters, or without a PMA (iWARP, soft-RoCE). */
	if (!d || !ns_rdma_fmt(prefix, sizeof(prefix), "%s/%s/%s/", dev, *port ? port : "-",
			       pma_dir ? "pma" : "hw")) {
		if (d)
			closedir(d);
		return;
	}
	plen = strlen(prefix);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= LABLEN ||
		    !target(pma_dir, dev, port, de->d_name, &t) ||
		    !ns_rdma_fmt(path, sizeof(path), "%s/%s", dir, de->d_name) ||
		    !ns_rdma_fmt(key, sizeof(key), "%s%s", prefix, de->d_name))
			continue;
		counter(st, dev, path, key, &t);
	}
	closedir(d);
	for (size_t i = 0; i < st->files.cap; i++) {
		const char *k;
		struct file_state *fs = ns_kv_at(&st->files, i, (const void **)&k);

		if (fs && fs->have && fs->seen != st->gen && !strncmp(k, prefix, plen))
			missing(st, fs, dev, port, dir, k + plen, pma_dir);
	}
	for (size_t i = 0; pma_dir && i < NPMA; i++) {
		struct file_state *fs;

		if (!pma[i].expected || !ns_rdma_fmt(key, sizeof(key), "%s%s", prefix, pma[i].name))
			continue;
		fs = file_state(st, key);
		if (fs && !fs->have && fs->seen != st->gen)
			missing(st, fs, dev, port, dir, pma[i].name, pma_dir);
	}
}

/*
 * A one-line text attribute (state, rate, link_layer, a netdev name) into out; quiet: absent or
 * unreadable is normal for it (gid_attrs/ndevs of an unused GID reads as EINVAL).
 */
static bool text_attr(struct ns_rdma_sysfs *st, const char *dev, const char *port, const char *dir,
		      const char *name, char *out, bool quiet)
{
	char path[PATH_MAX], key[KEYLEN], buf[128], shown[40];
	struct file_state *fs = NULL;
	size_t len = 0;
	int err;

	if (!ns_rdma_fmt(path, sizeof(path), "%s/%s", dir, name))
		return false;
	if (!quiet && ns_rdma_fmt(key, sizeof(key), "%s/%s/attr/%s", dev, port, name))
		fs = file_state(st, key);
	err = ns_rdma_read_small(path, buf, sizeof(buf), &len);
	if (err == -EFBIG)
		len = sizeof(buf) - 1;
	if (!err && len && buf[len - 1] == '\n')
		buf[--len] = 0;
	/* The kernel writes short printable ASCII here; anything else is not what it wrote. */
	for (size_t i = 0; !err && i < len; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			err = -EFBIG;
	if (!err && (!len || len >= LABLEN))
		err = -EFBIG;
	if (err && quiet)
		return false;
	if (err == -EFBIG) {
		ns_rdma_printable(buf, len, shown, sizeof(shown));
		problem(st, fs, dev, path, R_GARBAGE, shown);
		return false;
	}
	if (err) {
		problem(st, fs, dev, path, err == -ENOENT ? R_MISSING : R_UNREADABLE,
			strerror(-err));
		return false;
	}
	if (fs)
		recovered(fs, path);
	ns_rdma_printable(buf, len, out, LABLEN);
	return true;
}

static void port_info(struct ns_rdma_sysfs *st, const char *dev, const char *port, const char *dir)
{
	char v[4][LABLEN], ndevs[PATH_MAX], key[KEYLEN] = {0};
	struct ns_family *f = ns_family(st->r, &info_desc);
	struct port_info *pi;
	struct ns_series *s;
	const char *colon;

	/* state is "4: ACTIVE" (enum ib_port_state and its name): keep the name. */
	if (!text_attr(st, dev, port, dir, "state", v[0], false))
		snprintf(v[0], LABLEN, "unknown");
	else if ((colon = strstr(v[0], ": ")))
		memmove(v[0], colon + 2, strlen(colon + 2) + 1);
	if (!text_attr(st, dev, port, dir, "rate", v[1], false))
		snprintf(v[1], LABLEN, "unknown");
	if (!text_attr(st, dev, port, dir, "link_layer", v[3], false))
		snprintf(v[3], LABLEN, "unknown");
	/* A RoCE port's netdev: the one bound to its first valid GID (index 0 is the default
	 * GID, derived from the netdev's MAC). InfiniBand ports have none. */
	v[2][0] = 0;
	for (int i = 0;
	     i < 4 && !v[2][0] && ns_rdma_fmt(ndevs, sizeof(ndevs), "%s/gid_attrs/ndevs", dir);
	     i++) {
		char idx[8];

		snprintf(idx, sizeof(idx), "%d", i);
		if (!text_attr(st, dev, port, ndevs, idx, v[2], true))
			v[2][0] = 0;
	}
	pi = ns_rdma_fmt(key, sizeof(key), "%s/%s/info", dev, port)
		     ? ns_kv_get(&st->ports, key, true)
		     : NULL;
	if (pi && pi->have && memcmp(pi->v, v, sizeof(v))) {
		/* The labels changed: the old series drops to 0 and expires. */
		s = ns_series(f, NS_LV(dev, port, pi->v[0], pi->v[1], pi->v[2], pi->v[3]));
		if (s)
			ns_gauge_set(s, 0);
	}
	if (pi) {
		memcpy(pi->v, v, sizeof(v));
		pi->have = true;
	}
	s = ns_series(f, NS_LV(dev, port, v[0], v[1], v[2], v[3]));
	if (s) {
		ns_gauge_set(s, 1);
		ns_series_touch(st->r, s);
	}
}

static bool is_port_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < 4 && strspn(s, "0123456789") == n;
}

static void device(struct ns_rdma_sysfs *st, const char *dev)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (ns_rdma_fmt(dir, sizeof(dir), "%s/%s/hw_counters", st->root, dev))
		counter_dir(st, dev, "", dir, false);
	if (!ns_rdma_fmt(dir, sizeof(dir), "%s/%s/ports", st->root, dev))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!is_port_name(de->d_name))
			continue;
		if (ns_rdma_fmt(sub, sizeof(sub), "%s/%s", dir, de->d_name))
			port_info(st, dev, de->d_name, sub);
		if (ns_rdma_fmt(sub, sizeof(sub), "%s/%s/counters", dir, de->d_name))
			counter_dir(st, dev, de->d_name, sub, true);
		if (ns_rdma_fmt(sub, sizeof(sub), "%s/%s/hw_counters", dir, de->d_name))
			counter_dir(st, dev, de->d_name, sub, false);
	}
	closedir(d);
}

void ns_rdma_sysfs_collect(struct ns_rdma_sysfs *st, struct ns_registry *r)
{
	struct dirent *de;
	DIR *d = opendir(st->root);

	st->r = r;
	st->gen++;
	if (!d) {
		/* No RDMA device (or no RDMA core at all): nothing to export, not an error. */
		if (errno != ENOENT && !st->root_reported)
			ns_log(NS_LOG_WARN, "cannot read RDMA sysfs root", "path", st->root,
			       "error", strerror(errno), NULL);
		st->root_reported = errno != ENOENT;
		return;
	}
	st->root_reported = false;
	while ((de = readdir(d))) {
		/* Device names are at most 64 bytes (IB_DEVICE_NAME_MAX). */
		if (de->d_name[0] == '.' || strlen(de->d_name) >= LABLEN)
			continue;
		device(st, de->d_name);
	}
	closedir(d);
}

struct ns_rdma_sysfs *ns_rdma_sysfs_new(const char *root)
{
	struct ns_rdma_sysfs *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	snprintf(st->root, sizeof(st->root), "%s", root);
	ns_kv_init(&st->files, KEYLEN, sizeof(struct file_state));
	ns_kv_init(&st->ports, KEYLEN, sizeof(struct port_info));
	return st;
}

void ns_rdma_sysfs_free(struct ns_rdma_sysfs *st)
{
	if (!st)
		return;
	ns_kv_free(&st->files);
	ns_kv_free(&st->ports);
	free(st);
}

static const char *sysfs_root(void)
{
	const struct ns_config *c = ns_config_active;

	return c && c->rdma_sysfs_root ? c->rdma_sysfs_root : "/sys/class/infiniband";
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	(void)f;
	/* Plain file reads: supported everywhere, even with no RDMA device (then it exports
	 * nothing until one appears). */
	ns_probe_set_hook(p, "sysfs %s", sysfs_root());
	return true;
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	p->priv = ns_rdma_sysfs_new(cfg->rdma_sysfs_root ? cfg->rdma_sysfs_root : sysfs_root());
	return p->priv ? 0 : -ENOMEM;
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	ns_rdma_sysfs_collect(p->priv, r);
	return 0;
}

static void stop(struct ns_probe *p)
{
	ns_rdma_sysfs_free(p->priv);
	p->priv = NULL;
}

/* The transmitted bytes exported for dev/port, or -1. */
static double tx_bytes(struct ns_registry *r, const char *dev, const char *port)
{
	const struct ns_family *f = ns_family_find(r, bytes_desc.name);

	for (size_t i = 0; f && i < f->nseries; i++) {
		const struct ns_series *s = f->series[i];

		if (!strcmp(s->values[0], dev) && !strcmp(s->values[1], port) &&
		    !strcmp(s->values[2], "tx"))
			return s->value;
	}
	return -1;
}

static bool read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	size_t len;

	return !ns_rdma_read_small(path, buf, sizeof(buf), &len) && !ns_rdma_parse_u64(buf, len, v);
}

/*
 * No workload makes a NIC count on demand, so check what can be checked on a live node: each
 * port with PMA counters is exported with port_xmit_data x 4 as its transmitted bytes, between
 * the values read just before and just after the collection.
 */
static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	struct ns_rdma_sysfs *st = p->priv;
	char path[PATH_MAX], dev[LABLEN] = "", port[8] = "";
	struct dirent *de, *pe;
	int ports = 0, bad = 0;
	DIR *d = opendir(st->root), *pd;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= LABLEN ||
		    !ns_rdma_fmt(path, sizeof(path), "%s/%s/ports", st->root, de->d_name) ||
		    !(pd = opendir(path)))
			continue;
		while ((pe = readdir(pd))) {
			uint64_t lo, hi;
			double got;

			if (!is_port_name(pe->d_name) ||
			    !ns_rdma_fmt(path, sizeof(path),
					 "%s/%s/ports/%s/counters/port_xmit_data", st->root,
					 de->d_name, pe->d_name) ||
			    !read_u64(path, &lo))
				continue; /* no PMA counters on this port */
			ns_selftest_collect(t);
			got = tx_bytes(t->r, de->d_name, pe->d_name);
			if (!read_u64(path, &hi))
				hi = lo;
			ports++;
			if (got < (double)lo * 4 || got > (double)hi * 4) {
				bad++;
				snprintf(dev, sizeof(dev), "%s", de->d_name);
				snprintf(port, sizeof(port), "%s", pe->d_name);
			}
		}
		closedir(pd);
	}
	if (d)
		closedir(d);
	if (!ports) {
		snprintf(detail, n, "no RDMA port with counters under %s", st->root);
		return 1;
	}
	snprintf(detail, n, "%d ports under %s exported as the kernel counts them%s%s%s%s", ports,
		 st->root, bad ? "; wrong: " : "", dev, bad ? " port " : "", port);
	return bad ? -1 : 0;
}

const struct ns_probe_ops ns_rdma_counters_probe = {
	.name = "rdma_counters",
	.description = "RDMA port/hw counters, link state, rate and netdev from sysfs",
	.check = check,
	.start = start,
	.collect = collect,
	.stop = stop,
	.selftest = selftest,
};
