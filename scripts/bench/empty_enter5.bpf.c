// SPDX-License-Identifier: GPL-2.0
/* Five empty tp_btf programs on sys_enter: see empty_enter1.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sys_enter")
int BPF_PROG(e1)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(e2)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(e3)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(e4)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(e5)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
