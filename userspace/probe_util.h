/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for probe implementations (not part of the core's view of a probe). */
#ifndef NOVASCOPE_PROBE_UTIL_H
#define NOVASCOPE_PROBE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "features.h"

struct bpf_object;
struct ns_probe;
struct bpf_map;

int ns_nr_cpus(void);
/* Disable autoload of programs whose names end in drop_suffix ("_raw" when tp_btf is used). */
void ns_drop_flavour(struct bpf_object *obj, const char *drop_suffix);
/* Sum run_time_ns/run_cnt over the object's programs (non-zero only while stats are on). */
bool ns_prog_bpf_stats(struct bpf_object *obj, __u64 *run_ns, __u64 *run_cnt);
/* Sum of recursion_misses (5.12+): runs the kernel skipped because the same program was
 * already running on that CPU (e.g. interrupted by a softirq that hit the same hook). */
__u64 ns_prog_recursion_misses(struct bpf_object *obj);
/* Sum of a per-CPU u64 array element across CPUs. */
__u64 ns_percpu_u64_sum(struct bpf_map *map, __u32 key);
/* Kernel BTF and BPF task storage (5.11+), or false with p->reason set. */
bool ns_require_btf_task_storage(struct ns_probe *p, const struct ns_features *f);
/* "tp_btf" or "raw_tp" for a tracepoint, or NULL with why filled. */
const char *ns_pick_tp_flavour(const struct ns_features *f, const char *tp, char *why, size_t n);

/*
 * Pinning (--bpf.pin-path). Maps holding cumulative counts and the links are pinned under
 * <pin-path>/<probe>/ so that the probe keeps counting while the agent restarts, and the
 * next agent continues from the same maps instead of attaching twice.
 *
 * ns_probe_pin_maps(): before load (every probe calls it, pinning or not). Reuse the named maps'
 * pins (or pin them after creation); a pinned map whose layout no longer matches (another version)
 * makes it drop every pin of the probe and say so. pin_root NULL/empty: no pinning.
 * ns_probe_attach(): after load, instead of <skel>__attach(). Attach every autoloaded
 * program; with pinning, first detach the link an earlier agent pinned for that program
 * (detach before attach: a restart may miss the events of that instant, never counts twice),
 * then pin the new link.
 * ns_probe_detach(): in stop(), before destroying the skeleton. Pinned links stay attached.
 */
int ns_probe_pin_maps(struct ns_probe *p, struct bpf_object *obj, const char *pin_root,
		      const char *const *maps);
/* --bpf.ringbuf-size (0: each probe's own); applied by ns_probe_pin_maps() before load. */
extern unsigned int ns_ringbuf_size;
int ns_probe_attach(struct ns_probe *p, struct bpf_object *obj);
void ns_probe_detach(struct ns_probe *p);
/* Remove every pin under pin_root (the cleanup command); returns the number removed. */
int ns_pins_cleanup(const char *pin_root);
/* Is path on a bpf filesystem? */
bool ns_is_bpffs(const char *path);
/* Is the directory that would hold path on a bpf filesystem (path not created yet)? */
bool ns_is_bpffs_parent(const char *path);

/* BPF_TRACE_UPROBE_MULTI and its return flag (6.6), newer than the installed uapi headers. */
#define NS_BPF_TRACE_UPROBE_MULTI 48
#define NS_BPF_F_UPROBE_MULTI_RETURN 1U
/*
 * A uprobe_multi link (6.6+): prog_fd (loaded with expected_attach_type
 * NS_BPF_TRACE_UPROBE_MULTI) at cnt file offsets of path, in every process (pid filter off),
 * each with its BPF cookie (cookies may be NULL). Returns the link fd, or -1 with errno.
 * libbpf gained this in 1.3; this builds BPF_LINK_CREATE itself.
 */
int ns_link_create_uprobe_multi(int prog_fd, const char *path, const __u64 *offsets,
				const __u64 *cookies, unsigned int cnt, bool retprobe);

#endif
