// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the probes: state, hook flavour selection, BPF run-time stats, drops. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe.h"
#include "probe_util.h"

struct ns_probe *ns_probe_find(const char *name)
{
	ns_for_each_probe (p)
		if (!strcmp(p->ops->name, name))
			return p;
	return NULL;
}

const char *ns_probe_state_str(enum ns_probe_state s)
{
	switch (s) {
	case NS_PROBE_UP:
		return "up";
	case NS_PROBE_DOWN:
		return "down";
	case NS_PROBE_UNSUPPORTED:
		return "unsupported";
	default:
		return "disabled";
	}
}

void ns_probe_set_hook(struct ns_probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->hook, sizeof(p->hook), fmt, ap);
	va_end(ap);
}

void ns_probe_set_reason(struct ns_probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

int ns_nr_cpus(void)
{
	static int n;

	if (!n) {
		n = libbpf_num_possible_cpus();
		if (n <= 0)
			n = 1;
	}
	return n;
}

void ns_drop_flavour(struct bpf_object *obj, const char *drop_suffix)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		const char *name = bpf_program__name(prog);
		size_t n = strlen(name), d = strlen(drop_suffix);

		if (n > d && !strcmp(name + n - d, drop_suffix))
			bpf_program__set_autoload(prog, false);
	}
}

bool ns_prog_bpf_stats(struct bpf_object *obj, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_program *prog;
	bool any = false;

	*run_ns = *run_cnt = 0;
	if (!obj)
		return false;
	bpf_object__for_each_program(prog, obj)
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*run_ns += info.run_time_ns;
		*run_cnt += info.run_cnt;
		any = true;
	}
	return any;
}

__u64 ns_prog_recursion_misses(struct bpf_object *obj)
{
	struct bpf_program *prog;
	__u64 n = 0;

	if (!obj)
		return 0;
	bpf_object__for_each_program(prog, obj)
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

__u64 ns_percpu_u64_sum(struct bpf_map *map, __u32 key)
{
	int n = ns_nr_cpus();
	__u64 *vals, sum = 0;

	if (!map)
		return 0;
	vals = calloc((size_t)n, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(map), &key, vals))
		for (int i = 0; i < n; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

bool ns_require_btf_task_storage(struct ns_probe *p, const struct ns_features *f)
{
	if (!f->btf) {
		ns_probe_set_reason(p, "%s", f->btf_why);
		return false;
	}
	if (!f->task_storage) {
		ns_probe_set_reason(p, "kernel lacks BPF task storage (5.11+)");
		return false;
	}
	return true;
}

const char *ns_pick_tp_flavour(const struct ns_features *f, const char *tp, char *why, size_t n)
{
	/* Tests exercise the fallback on kernels that have both: NOVASCOPE_TP_FLAVOUR=raw_tp. */
	const char *force = getenv("NOVASCOPE_TP_FLAVOUR");

	if (force && !strcmp(force, "raw_tp") && f->raw_tp && ns_btf_tracepoint_exists(tp))
		return "raw_tp";
	if (f->tp_btf && ns_btf_tracepoint_exists(tp))
		return "tp_btf";
	if (f->raw_tp && ns_btf_tracepoint_exists(tp))
		return "raw_tp";
	if (!f->raw_tp)
		snprintf(why, n, "kernel lacks raw tracepoint programs (4.17+)");
	else
		snprintf(why, n, "kernel has no tracepoint %s", tp);
	return NULL;
}

int ns_link_create_uprobe_multi(int prog_fd, const char *path, const __u64 *offsets,
				const __u64 *cookies, unsigned int cnt, bool retprobe)
{
	/* union bpf_attr's link_create with its uprobe_multi member (include/uapi/linux/bpf.h). */
	struct {
		__u32 prog_fd, target_fd, attach_type, flags;
		__u64 path, offsets, ref_ctr_offsets, cookies;
		__u32 cnt, multi_flags, pid;
	} attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (__u32)prog_fd;
	attr.attach_type = NS_BPF_TRACE_UPROBE_MULTI;
	attr.path = (__u64)(unsigned long)path;
	attr.offsets = (__u64)(unsigned long)offsets;
	attr.cookies = (__u64)(unsigned long)cookies;
	attr.cnt = cnt;
	attr.multi_flags = retprobe ? NS_BPF_F_UPROBE_MULTI_RETURN : 0;
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}
