// SPDX-License-Identifier: GPL-2.0
/* Baseline for the TCP benchmark: empty tp_btf programs on the tcp probe's hooks (its default
 * send hook, sock_send_length, included). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(e_state)
{
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(e_probe)
{
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(e_send)
{
	return 0;
}

SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(e_recv)
{
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(e_retrans)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
