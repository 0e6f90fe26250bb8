// SPDX-License-Identifier: GPL-2.0
/*
 * Block probe: per device and operation, queue and device latency histograms, request sizes,
 * completed bytes and errors; slow I/Os with their owner through the ring buffer.
 * Kernel side: bpf/block.bpf.c (tp_btf block_rq_*, raw_tp fallback).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attrib.h"
#include "block_dev.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "novascope/block.h"
#include "block.skel.h"

#define NAME_TTL_NS (10ULL * 1000000000ULL) /* re-read a cached device name this often */
#define SWEEP_EVERY_NS (30ULL * 1000000000ULL)
/* A start entry this old belongs to a request we never saw end (e.g. its device was removed
 * with the request in flight): block layer timeouts are tens of seconds. */
#define STALE_START_NS (600ULL * 1000000000ULL)
#define SLOW_LOGS_PER_INTERVAL 10
#define MAX_PENDING 256

static const struct ns_family_desc lat_desc = {
	.name = "novascope_block_io_latency_seconds",
	.help = "Block request latency per device and operation: phase=\"queue\" from insert into "
		"the I/O scheduler to issue (requests that bypass the scheduler have none), "
		"phase=\"device\" from issue to completion.",
	.type = NS_HISTOGRAM,
	.labels = {"device", "op", "phase"},
	.min_slot = 9, /* le 1.024us */
	.max_slot = 35, /* le ~68.7s */
	.scale = 1e-9,
	.stale_after = 60,
};
static const struct ns_family_desc bytes_desc = {
	.name = "novascope_block_io_bytes_total",
	.help = "Bytes completed by block requests per device and operation.",
	.type = NS_COUNTER,
	.labels = {"device", "op"},
	.stale_after = 60,
};
static const struct ns_family_desc errors_desc = {
	.name = "novascope_block_io_errors_total",
	.help = "Block request completions with an error status per device and operation.",
	.type = NS_COUNTER,
	.labels = {"device", "op"},
	.stale_after = 60,
};
static const struct ns_family_desc size_desc = {
	.name = "novascope_block_io_size_bytes",
	.help = "Block request size at issue per device and operation.",
	.type = NS_HISTOGRAM,
	.labels = {"device", "op"},
	.min_slot = 8, /* le 512 */
	.max_slot = 31, /* le 4GiB: discards can be that large */
	.scale = 1,
	.stale_after = 60,
};
static const struct ns_family_desc slow_desc = {
	.name = "novascope_block_slow_io_total",
	.help = "Block requests whose device time reached --block.slow-threshold, per device, "
		"operation and the cgroup of the task that queued or issued them.",
	.type = NS_COUNTER,
	.labels = {"device", "op", "cgroup"},
	.max_series = 500,
	.fold_label = 2,
	.other_reserve = 20,
	.stale_after = 600,
};
static const struct ns_family_desc untracked_desc = {
	.name = "novascope_block_untracked_requests_total",
	.help = "Block requests whose latency was not measured: reason=\"inflight_full\" (no room "
		"in the start-time map), \"stats_full\" (no room for a new device/op), "
		"\"issue_unseen\" (ended without its issue seen: in flight when the probe "
		"attached, "
		"or an event lost), \"expired\" (start entries of requests never seen to end, "
		"removed after 10 minutes).",
	.type = NS_COUNTER,
	.labels = {"reason"},
};

struct prev {
	struct ns_block_key key;
	struct ns_block_stat tot;
};

struct pending {
	char device[NS_BLKDEV_NAME_LEN];
	const char *op;
	char cgroup[128];
	__u64 n;
};

struct priv {
	struct block_bpf *skel;
	struct ns_blkdev_cache *names;
	struct prev *prev; /* cumulative totals at the last collection, per key */
	size_t nprev;
	void *vals; /* one key's per-CPU values */
	__u64 cnt_prev[NS_BLOCK_CNT_MAX];
	__u64 expired;
	uint64_t last_sweep;
	struct pending pend[MAX_PENDING];
	size_t npend;
	__u64 pend_overflow;
	unsigned int logged, suppressed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	static const char *const tps[] = {"block_rq_insert", "block_rq_issue", "block_rq_complete",
					  "block_rq_requeue"};
	const char *fl;

	if (!f->btf) {
		ns_probe_set_reason(p, "%s", f->btf_why);
		return false;
	}
	if (!f->ringbuf) {
		ns_probe_set_reason(p, "kernel lacks the BPF ring buffer (5.8+)");
		return false;
	}
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++)
		if (!ns_btf_tracepoint_exists(tps[i])) {
			ns_probe_set_reason(p, "kernel has no tracepoint %s", tps[i]);
			return false;
		}
	fl = ns_pick_tp_flavour(f, "block_rq_issue", p->reason, sizeof(p->reason));
	if (!fl)
		return false;
	ns_probe_set_hook(p, "%s block_rq_*%s", fl,
			  ns_btf_tracepoint_exists("block_rq_merge") ? "" : " (no merge)");
	return true;
}

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	struct priv *pv = calloc(1, sizeof(*pv));
	struct bpf_program *prog;
	int err, nargs;

	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	pv->names = ns_blkdev_cache_new("/sys", NAME_TTL_NS);
	pv->prev = calloc(NS_BLOCK_MAX_STATS, sizeof(*pv->prev));
	pv->vals = calloc((size_t)ns_nr_cpus(), sizeof(struct ns_block_stat));
	if (!pv->names || !pv->prev || !pv->vals)
		return -ENOMEM;
	pv->last_sweep = now_ns();
	pv->skel = block_bpf__open();
	if (!pv->skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	p->obj = pv->skel->obj;
	p->drops = pv->skel->maps.drops;
	nargs = ns_btf_tracepoint_nargs("block_rq_issue");
	if (nargs != 1 && nargs != 2) {
		ns_probe_set_reason(p, "unexpected prototype of block_rq_issue (%d arguments)",
				    nargs);
		return -ENOTSUP;
	}
	pv->skel->rodata->rq_arg_second = nargs == 2;
	pv->skel->rodata->slow_ns = cfg->block_slow_threshold_ns;
	ns_drop_flavour(p->obj, strncmp(p->hook, "tp_btf", 6) ? "_btf" : "_raw");
	if (!ns_btf_tracepoint_exists("block_rq_merge"))
		bpf_object__for_each_program(prog,
					     p->obj) if (strstr(bpf_program__name(prog), "merge"))
			bpf_program__set_autoload(prog, false);
	err = block_bpf__load(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	err = block_bpf__attach(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "attach: %s", strerror(-err));
		return err;
	}
	return 0;
}

static struct prev *prev_of(struct priv *pv, const struct ns_block_key *k)
{
	/* Linear: a node has tens of (device, op) pairs; the map caps them at 1024. */
	for (size_t i = 0; i < pv->nprev; i++)
		if (pv->prev[i].key.dev == k->dev && pv->prev[i].key.op == k->op)
			return &pv->prev[i];
	if (pv->nprev == NS_BLOCK_MAX_STATS)
		return NULL;
	memset(&pv->prev[pv->nprev], 0, sizeof(pv->prev[0]));
	pv->prev[pv->nprev].key = *k;
	return &pv->prev[pv->nprev++];
}

static void sum_cpus(const struct ns_block_stat *v, struct ns_block_stat *o)
{
	memset(o, 0, sizeof(*o));
	for (int c = 0; c < ns_nr_cpus(); c++, v++) {
		for (int k = 0; k < NS_HIST_SLOTS; k++) {
			o->queue.slots[k] += v->queue.slots[k];
			o->device.slots[k] += v->device.slots[k];
			o->size.slots[k] += v->size.slots[k];
		}
		o->queue.sum += v->queue.sum;
		o->device.sum += v->device.sum;
		o->size.sum += v->size.sum;
		o->bytes += v->bytes;
		o->errors += v->errors;
	}
}

static void hist_delta(struct ns_registry *r, struct ns_series *s, const struct ns_hist *cur,
		       const struct ns_hist *old)
{
	__u64 d[NS_HIST_SLOTS];

	for (int k = 0; k < NS_HIST_SLOTS; k++)
		d[k] = cur->slots[k] - old->slots[k];
	ns_hist_add(s, d, (double)(cur->sum - old->sum));
	ns_series_touch(r, s);
}

static void counter_delta(struct ns_registry *r, struct ns_series *s, __u64 cur, __u64 old)
{
	ns_counter_add(s, (double)(cur - old));
	ns_series_touch(r, s);
}

/* Add one key's growth since the last collection to the registry. */
static void export_key(struct ns_registry *r, const char *dev, const char *op,
		       const struct ns_block_stat *cur, const struct ns_block_stat *old)
{
	/* No queue series until something went through a scheduler: "bypassed" is not "0s". */
	if (ns_hist_count(cur->queue.slots))
		hist_delta(r, ns_series(ns_family(r, &lat_desc), NS_LV(dev, op, "queue")),
			   &cur->queue, &old->queue);
	hist_delta(r, ns_series(ns_family(r, &lat_desc), NS_LV(dev, op, "device")), &cur->device,
		   &old->device);
	hist_delta(r, ns_series(ns_family(r, &size_desc), NS_LV(dev, op)), &cur->size, &old->size);
	counter_delta(r, ns_series(ns_family(r, &bytes_desc), NS_LV(dev, op)), cur->bytes,
		      old->bytes);
	counter_delta(r, ns_series(ns_family(r, &errors_desc), NS_LV(dev, op)), cur->errors,
		      old->errors);
}

/* Forget a removed device: its map entries and totals go, its series expire (stale_after). */
static void drop_device(struct priv *pv, __u32 dev)
{
	int fd = bpf_map__fd(pv->skel->maps.stats);
	char mm[32];

	snprintf(mm, sizeof(mm), "%u:%u", NS_BLOCK_MAJOR(dev), NS_BLOCK_MINOR(dev));
	ns_log(NS_LOG_INFO, "block device gone: dropping its statistics", "dev", mm, NULL);

	for (size_t i = 0; i < pv->nprev;) {
		if (pv->prev[i].key.dev != dev) {
			i++;
			continue;
		}
		bpf_map_delete_elem(fd, &pv->prev[i].key);
		pv->prev[i] = pv->prev[--pv->nprev];
	}
	ns_blkdev_forget(pv->names, dev);
}

static int collect_stats(struct priv *pv, struct ns_registry *r, uint64_t now)
{
	int fd = bpf_map__fd(pv->skel->maps.stats);
	struct ns_block_key key, next, *cur_key = NULL;
	__u32 gone[64];
	size_t ngone = 0;

	while (!bpf_map_get_next_key(fd, cur_key, &next)) {
		struct ns_block_stat cur;
		struct prev *pr;
		const char *name;
		bool is_gone = false;

		key = next;
		cur_key = &key;
		if (bpf_map_lookup_elem(fd, &key, pv->vals))
			continue; /* deleted meanwhile */
		pr = prev_of(pv, &key);
		if (!pr)
			continue;
		sum_cpus(pv->vals, &cur);
		/* dev 0: a request queue without a disk (e.g. an NVMe admin queue). */
		name = key.dev ? ns_blkdev_name(pv->names, key.dev, now, &is_gone) : "none";
		export_key(r, name, ns_block_op_name(key.op), &cur, &pr->tot);
		pr->tot = cur;
		if (is_gone && ngone < sizeof(gone) / sizeof(gone[0]))
			gone[ngone++] = key.dev;
	}
	for (size_t i = 0; i < ngone; i++)
		drop_device(pv, gone[i]);
	return 0;
}

/* Remove start entries of requests never seen to end, in batches (robust to deletions). */
static void sweep_starts(struct priv *pv, uint64_t now)
{
	enum { CHUNK = 4096 };
	int fd = bpf_map__fd(pv->skel->maps.starts);
	size_t vsz = bpf_map__value_size(pv->skel->maps.starts);
	__u64 *keys = calloc(CHUNK, sizeof(*keys)), *dead = calloc(CHUNK, sizeof(*dead));
	char *vals = calloc(CHUNK, vsz);
	__u64 in = 0, out = 0;
	bool first = true;

	while (keys && dead && vals) {
		__u32 n = CHUNK, ndead = 0;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL);

		if (err && errno != ENOENT)
			break;
		for (__u32 i = 0; i < n; i++) {
			const __u64 *ts =
				(const __u64 *)(vals + (size_t)i * vsz); /* queued, issued */
			__u64 t = ts[0] > ts[1] ? ts[0] : ts[1];

			if (t && t + STALE_START_NS < now)
				dead[ndead++] = keys[i];
		}
		for (__u32 i = 0; i < ndead; i++)
			if (!bpf_map_delete_elem(fd, &dead[i]))
				pv->expired++;
		if (err)
			break; /* ENOENT: that was the last batch */
		in = out;
		first = false;
	}
	free(keys);
	free(dead);
	free(vals);
}

static void collect_counters(struct priv *pv, struct ns_registry *r)
{
	static const char *const reasons[NS_BLOCK_CNT_MAX] = {"inflight_full", "stats_full",
							      "issue_unseen"};
	struct ns_family *f = ns_family(r, &untracked_desc);

	for (__u32 i = 0; i < NS_BLOCK_CNT_MAX; i++) {
		__u64 v = ns_percpu_u64_sum(pv->skel->maps.counters, i);

		counter_delta(r, ns_series(f, NS_LV(reasons[i])), v, pv->cnt_prev[i]);
		pv->cnt_prev[i] = v;
	}
	counter_delta(r, ns_series(f, NS_LV("expired")), pv->expired, 0);
	pv->expired = 0;
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	struct priv *pv = p->priv;
	uint64_t now = now_ns();
	struct ns_family *slow = ns_family(r, &slow_desc);

	if (!slow)
		return -ENOMEM;
	collect_stats(pv, r, now);
	if (now - pv->last_sweep >= SWEEP_EVERY_NS) {
		sweep_starts(pv, now);
		pv->last_sweep = now;
	}
	collect_counters(pv, r);
	for (size_t i = 0; i < pv->npend; i++) {
		const struct pending *e = &pv->pend[i];

		counter_delta(r, ns_series(slow, NS_LV(e->device, e->op, e->cgroup)), e->n, 0);
	}
	if (pv->pend_overflow)
		counter_delta(r, ns_series(slow, NS_LV("other", "other", "other")),
			      pv->pend_overflow, 0);
	pv->npend = 0;
	pv->pend_overflow = 0;
	if (pv->suppressed) {
		char n[16];

		snprintf(n, sizeof(n), "%u", pv->suppressed);
		ns_log(NS_LOG_WARN, "more slow block I/Os not logged", "count", n, NULL);
	}
	pv->logged = pv->suppressed = 0;
	return 0;
}

static void add_pending(struct priv *pv, const char *dev, const char *op, const char *cgroup)
{
	struct pending *e;

	for (size_t i = 0; i < pv->npend; i++) {
		e = &pv->pend[i];
		if (e->op == op && !strcmp(e->device, dev) && !strcmp(e->cgroup, cgroup)) {
			e->n++;
			return;
		}
	}
	if (pv->npend == MAX_PENDING) {
		pv->pend_overflow++; /* that many distinct ones in one interval: no attribution */
		return;
	}
	e = &pv->pend[pv->npend++];
	snprintf(e->device, sizeof(e->device), "%s", dev);
	e->op = op;
	snprintf(e->cgroup, sizeof(e->cgroup), "%s", cgroup);
	e->n = 1;
}

static void log_slow(const struct ns_block_event *e, const char *dev, const char *op,
		     const char *cgpath)
{
	char comm[sizeof(e->comm) + 1], pid[16], dms[32], qms[32], bytes[16], err[16];

	memcpy(comm, e->comm, sizeof(e->comm));
	comm[sizeof(e->comm)] = 0;
	snprintf(pid, sizeof(pid), "%u", e->pid);
	snprintf(dms, sizeof(dms), "%.3f", (double)e->device_ns / 1e6);
	snprintf(qms, sizeof(qms), "%.3f", (double)e->queue_ns / 1e6);
	snprintf(bytes, sizeof(bytes), "%u", e->bytes);
	snprintf(err, sizeof(err), "%u", e->error);
	ns_log(NS_LOG_WARN, "slow block I/O", "device", dev, "op", op, "device_ms", dms, "queue_ms",
	       qms, "bytes", bytes, "error", err, "pid", pid, "comm", comm, "cgroup", cgpath, NULL);
}

static int on_event(struct ns_probe *p, const void *data, size_t size)
{
	const struct ns_block_event *e = data;
	struct priv *pv = p->priv;
	char path[4096], label[128];
	const char *dev, *op;
	bool gone;

	if (size < sizeof(*e))
		return 0;
	dev = e->dev ? ns_blkdev_name(pv->names, e->dev, now_ns(), &gone) : "none";
	op = ns_block_op_name(e->op);
	if (ns_cgroup_path(e->cgroup, path, sizeof(path))) {
		snprintf(path, sizeof(path), "unknown");
		snprintf(label, sizeof(label), "unknown");
	} else {
		ns_cgroup_label(path, 0, label, sizeof(label));
	}
	add_pending(pv, dev, op, label);
	if (pv->logged < SLOW_LOGS_PER_INTERVAL) {
		pv->logged++;
		log_slow(e, dev, op, path);
	} else {
		pv->suppressed++;
	}
	return 0;
}

static struct bpf_map *events_map(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	return pv && pv->skel ? pv->skel->maps.events : NULL;
}

static void stop(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	if (!pv)
		return;
	block_bpf__destroy(pv->skel);
	ns_blkdev_cache_free(pv->names);
	free(pv->prev);
	free(pv->vals);
	free(pv);
	p->priv = NULL;
	p->obj = NULL;
	p->drops = NULL;
}

const struct ns_probe_ops ns_block_probe = {
	.name = "block",
	.description = "Block I/O queue and device latency, sizes, bytes, errors, slow I/Os",
	.check = check,
	.start = start,
	.collect = collect,
	.on_event = on_event,
	.events_map = events_map,
	.stop = stop,
	.report_family = "novascope_block_io_latency_seconds",
};
