// SPDX-License-Identifier: GPL-2.0
/*
 * One empty tp_btf program on task:task_prctl_unknown, which a prctl() with an unknown option
 * reaches in a few instructions: with syscall_bench's prctl loop it measures what the kernel
 * spends entering a program attached alone to a tracepoint (tcp-tax.sh's entry cost).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/task_prctl_unknown")
int BPF_PROG(e_prctl)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
