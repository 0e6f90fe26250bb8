/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe interface. The core (main loop, registry, exposition, HTTP, alerts) knows a probe
 * only through this table of operations.
 */
#ifndef NOVASCOPE_PROBE_H
#define NOVASCOPE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ns_registry;
struct ns_features;
struct ns_config;
struct bpf_object;
struct bpf_map;
struct ring_buffer;
struct ns_selftest;

enum ns_probe_state {
	NS_PROBE_DISABLED = 0, /* not selected with --probes */
	NS_PROBE_UNSUPPORTED, /* this kernel lacks what it needs: reason says what */
	NS_PROBE_DOWN, /* selected and supported, but failed to load/attach/collect */
	NS_PROBE_UP,
};

struct ns_probe;

struct ns_probe_ops {
	const char *name;
	const char *description;
	/*
	 * Decide whether this kernel supports the probe and which hook flavour it would use.
	 * Fill p->hook (e.g. "tp_btf") or p->reason; return true when supported.
	 */
	bool (*check)(struct ns_probe *p, const struct ns_features *f);
	/* Open, configure (const volatile), load and attach. Return 0 or -errno, with p->reason. */
	int (*start)(struct ns_probe *p, const struct ns_config *cfg);
	/* Read kernel maps into the registry. Called once per collection interval. */
	int (*collect)(struct ns_probe *p, struct ns_registry *r);
	/* Ring-buffer event from the map returned by events_map(); may be NULL. */
	int (*on_event)(struct ns_probe *p, const void *data, size_t size);
	/* The probe's ring buffer map, if it streams events. */
	struct bpf_map *(*events_map)(struct ns_probe *p);
	/* Detach and free everything. Safe to call after a failed start. */
	void (*stop)(struct ns_probe *p);
	/* Optional: called about every 100 ms between collections, for deferred work. */
	void (*tick)(struct ns_probe *p);
	/* Histogram family that `novascope report <name>` prints, and its label to show. */
	const char *report_family;
	/* `novascope selftest`: make a small known workload and check the probe saw it (see
	 * selftest.h). Return 0 on pass, -1 on fail, 1 when it cannot run here; fill detail. */
	int (*selftest)(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n);
	/* Optional: print the report itself (after one collect into r) instead of the table of
	 * report_family. */
	void (*report)(struct ns_probe *p, const struct ns_registry *r, unsigned int top,
		       FILE *out);
};

struct ns_probe {
	const struct ns_probe_ops *ops;
	enum ns_probe_state state;
	char hook[64]; /* hook flavour in use or that would be used */
	char reason[256]; /* why unsupported/down */
	bool selected;
	struct bpf_object *obj; /* for run-time stats and program ids; set by start() */
	struct bpf_map *drops; /* optional: per-CPU u64 array [0] = ring-buffer drops */
	struct bpf_link **links; /* attached by ns_probe_attach() */
	size_t nlinks;
	char pin_dir[256]; /* <--bpf.pin-path>/<probe> when pinning, else empty */
	bool adopted; /* pinned maps from an earlier agent were reused */
	void *priv;
};

/* The static table of probes, defined in probes/probes.c. */
extern struct ns_probe ns_probes[];
extern const size_t ns_nprobes;

#define ns_for_each_probe(p) for (struct ns_probe *p = ns_probes; p < ns_probes + ns_nprobes; p++)

struct ns_probe *ns_probe_find(const char *name);
const char *ns_probe_state_str(enum ns_probe_state s);

/* printf-style helpers to set hook and reason. */
void ns_probe_set_hook(struct ns_probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ns_probe_set_reason(struct ns_probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
