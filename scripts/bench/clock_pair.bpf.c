// SPDX-License-Identifier: GPL-2.0
/*
 * Floor for the syscall benchmark: the least any probe that times each call must do, i.e. read
 * the clock at sys_enter and again at sys_exit (here into one per-CPU slot, which is not even
 * correct across a sleeping call). On a kernel whose clock read is slow (kvm-clock read through
 * pvclock, as in some guests) this alone can exceed a ratio target.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} t0 SEC(".maps");

__u64 last_delta;

SEC("tp_btf/sys_enter")
int BPF_PROG(clock_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	__u64 *t = bpf_map_lookup_elem(&t0, &zero);

	if (t)
		*t = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(clock_exit, struct pt_regs *regs, long ret)
{
	__u32 zero = 0;
	__u64 *t = bpf_map_lookup_elem(&t0, &zero);

	if (t)
		last_delta = bpf_ktime_get_ns() - *t;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
