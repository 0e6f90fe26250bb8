/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probing, in one place: probes ask this module what the kernel supports and
 * pick their hook flavour from the answers; nothing else guesses from kernel versions.
 */
#ifndef NOVASCOPE_FEATURES_H
#define NOVASCOPE_FEATURES_H

#include <stdbool.h>

struct ns_features {
	bool btf; /* /sys/kernel/btf/vmlinux: CO-RE possible */
	bool tp_btf; /* BTF-enabled raw tracepoints (5.5+) */
	bool raw_tp; /* raw tracepoints (4.17+) */
	bool fentry; /* fentry/fexit trampolines (5.5+, and allowed here) */
	bool kprobes; /* CONFIG_KPROBES with the kprobe PMU or kprobe_events */
	bool task_storage; /* BPF_MAP_TYPE_TASK_STORAGE (5.11+) */
	bool sk_storage; /* BPF_MAP_TYPE_SK_STORAGE (5.2+) */
	bool ringbuf; /* BPF_MAP_TYPE_RINGBUF (5.8+) */
	bool tracefs; /* tracefs mounted (classic tracepoint ids) */
	bool sk_storage_iter; /* iter/bpf_sk_storage_map programs (5.9+, and allowed here) */
	bool rdonly_cast; /* the bpf_rdonly_cast kfunc (6.2+): typed reads without a helper call */
	char btf_why[96], tp_btf_why[96], fentry_why[96], kprobes_why[96];
	char sk_storage_iter_why[96];
};

/* Mount tracefs and bpffs when absent, then probe. Results are cached after the first call. */
const struct ns_features *ns_features_get(void);

/* Does the kernel have this tracepoint? Checks tracefs and BTF (vmlinux and modules). */
bool ns_tracepoint_exists(const char *category, const char *name);
/* Can a tp_btf program attach to this tracepoint (btf_trace_<name> in vmlinux or module BTF)? */
bool ns_btf_tracepoint_exists(const char *name);
/* Is there a BTF struct member (CO-RE style question asked from userspace)? */
bool ns_btf_has_member(const char *struct_name, const char *member);
/* Arguments of a BTF-enabled tracepoint (its TP_PROTO, without the leading void *), or -1 when
 * vmlinux BTF does not have it. For tracepoints whose prototype changed between kernels. */
int ns_btf_tracepoint_nargs(const char *name);
/* Cached vmlinux BTF (struct btf *), or NULL. */
void *ns_vmlinux_btf(void);

/* Mount tracefs/bpffs if missing; 0 when both are available afterwards. */
int ns_mount_fs(void);

/* Can uprobes be created (the uprobe PMU, 4.17+, or uprobe_events)? false with why filled. */
bool ns_uprobes_supported(char *why, unsigned long n);
/* bpf_get_attach_cookie() in kprobe/uprobe programs (5.15+). */
bool ns_attach_cookie_supported(void);
/* uprobe_multi links (6.6+): many uprobes in one link, detached with one RCU grace period. */
bool ns_uprobe_multi_supported(void);

#endif
