/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* RDMA control path: structures shared by bpf/rdma_*.bpf.c and userspace/probes/rdma_*.c. */
#ifndef NOVASCOPE_RDMA_H
#define NOVASCOPE_RDMA_H

#include "novascope/hist.h"

#define NS_RDMA_COMM_LEN 16

/*
 * Library functions traced with uprobes. The order is the ABI between the BPF programs and
 * the name table in userspace/probes/rdma_uprobes.c: append, never reorder.
 */
enum ns_rdma_call {
	NS_RDMA_GETADDRINFO,
	NS_RDMA_CREATE_EVENT_CHANNEL,
	NS_RDMA_CREATE_ID,
	NS_RDMA_RESOLVE_ADDR,
	NS_RDMA_RESOLVE_ROUTE,
	NS_RDMA_CONNECT,
	NS_RDMA_LISTEN,
	NS_RDMA_ACCEPT,
	NS_RDMA_REJECT,
	NS_RDMA_DISCONNECT,
	NS_RDMA_GET_CM_EVENT,
	NS_RDMA_CREATE_QP,
	NS_RDMA_DESTROY_ID,
	NS_IBV_GET_DEVICE_LIST,
	NS_IBV_OPEN_DEVICE,
	NS_IBV_ALLOC_PD,
	NS_IBV_REG_MR,
	NS_IBV_REG_MR_IOVA,
	NS_IBV_REG_MR_IOVA2,
	NS_IBV_REG_DMABUF_MR,
	NS_IBV_DEREG_MR,
	NS_IBV_CREATE_CQ,
	NS_IBV_CREATE_QP,
	NS_IBV_MODIFY_QP,
	NS_RDMA_NCALLS,
};

/* Calls and failed calls, per function and process name. */
struct ns_rdma_call_key {
	__u32 call;
	char comm[NS_RDMA_COMM_LEN];
};

struct ns_rdma_call_stat {
	__u64 calls;
	__u64 errors;
};

/* Per process name: rdma_connect -> ESTABLISHED latency and successful MR registrations. */
struct ns_rdma_comm_key {
	char comm[NS_RDMA_COMM_LEN];
};

struct ns_rdma_comm_stat {
	struct ns_hist connect; /* ns */
	struct ns_hist mr; /* ns per registration; count = registrations */
	__u64 mr_bytes;
};

/* CM events by type (enum rdma_cm_event_type) and status. */
struct ns_rdma_event_key {
	__u32 event;
	__s32 status;
};

/*
 * The head of librdmacm's struct rdma_cm_event (<rdma/rdma_cma.h>, unchanged since the
 * library's first release): what rdma_get_cm_event() hands back.
 */
struct ns_rdma_cm_event_abi {
	__u64 id; /* struct rdma_cm_id * */
	__u64 listen_id; /* struct rdma_cm_id * */
	__u32 event; /* enum rdma_cm_event_type */
	__s32 status;
};

/* enum rdma_cm_event_type values the probes act on (same numbering in kernel and library). */
#define NS_RDMA_CM_ADDR_ERROR 1
#define NS_RDMA_CM_ROUTE_ERROR 3
#define NS_RDMA_CM_CONNECT_ERROR 6
#define NS_RDMA_CM_UNREACHABLE 7
#define NS_RDMA_CM_REJECTED 8
#define NS_RDMA_CM_ESTABLISHED 9
#define NS_RDMA_CM_DEVICE_REMOVAL 11
#define NS_RDMA_CM_NEVENTS 16

/* Kernel side (rdma_cma, rdma_core, ib_mad tracepoints). */
enum ns_rdma_mad_kind {
	NS_RDMA_MAD_SEND,
	NS_RDMA_MAD_RECV,
	NS_RDMA_MAD_ERROR,
	NS_RDMA_MAD_RESEND,
	NS_RDMA_MAD_NKINDS,
};

struct ns_rdma_kstat {
	struct ns_hist connect; /* cm_send_req -> ESTABLISHED, ns */
	struct ns_hist cq_wake[2]; /* cq_process latency, ns: [0] reschedule, [1] interrupt */
	__u64 mad[NS_RDMA_MAD_NKINDS];
};

/*
 * Offsets of the fields the programs read in the classic tracepoint records, taken from each
 * event's tracefs format file before load (0xffffffff: field absent, program not loaded).
 */
struct ns_rdma_tp_offsets {
	__u32 ev_cm_id, ev_event, ev_status; /* rdma_cma:cm_event_handler */
	__u32 req_cm_id; /* rdma_cma:cm_send_req */
	__u32 cq_interrupt, cq_latency; /* rdma_core:cq_process */
	__u32 ev_event_size; /* 4 or 8: "unsigned long event" */
};

#endif
