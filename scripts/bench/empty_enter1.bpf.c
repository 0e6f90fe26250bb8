// SPDX-License-Identifier: GPL-2.0
/* One empty tp_btf program on sys_enter; with empty_enter5.bpf.c it measures what the kernel
 * spends entering one more attached program (tcp-tax.sh's per-entry cost). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sys_enter")
int BPF_PROG(e1)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
