// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA control path seen from the user-space libraries: uprobes and uretprobes on librdmacm
 * and libibverbs, attached by symbol to the library file (pid -1) so every process that maps
 * it, including ones started later, is traced. Userspace resolves the default-version symbol
 * of each function (libibverbs keeps IBVERBS_1.0 compat copies of several) and attaches
 * rdma_enter/rdma_exit there with the function's enum ns_rdma_call as the BPF cookie: one
 * uprobe_multi link per library and direction (6.6+), or one perf uprobe per function (5.15+).
 * Detaching a perf uprobe waits for an RCU-tasks grace period under the global event_mutex
 * (~0.1 s each here), so 48 of them made shutdown take 5 s; a multi link waits once.
 *
 * - Calls and failures per function and process name, counting only calls the application
 *   made: the libraries call their own API (ibv_reg_mr tail-calls ibv_reg_mr_iova2,
 *   rdma_connect on a synchronous id calls rdma_get_cm_event), so nested calls are not counted
 *   again.
 * - rdma_connect -> ESTABLISHED latency, keyed by (process, rdma_cm_id) because the event may
 *   be read by another thread than the one that connected.
 * - CM events by type and status, read from the struct rdma_get_cm_event() hands back.
 * - MR registrations (ibv_reg_mr family): count, bytes, latency per process name.
 *
 * These are control-path calls (a few per connection or buffer), so the statistics live in
 * shared hash maps with atomic adds rather than per-CPU copies.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "novascope/rdma.h"
#include "hist.bpf.h"

#define MAX_COMMS 4096

/* Nesting state of one task, for the calls counter and for MR registrations separately. */
struct task_state {
	__u64 call_sp; /* stack pointer at the outermost traced call's entry */
	__u64 mr_sp;
	__u64 mr_ts;
	__u64 mr_len;
	__u64 event_out; /* struct rdma_cm_event ** of the rdma_get_cm_event in progress */
	__u64 connect_id; /* struct rdma_cm_id * of the rdma_connect in progress */
	__u32 call_depth;
	__u32 mr_depth;
};

struct conn_key {
	__u32 tgid;
	__u32 pad;
	__u64 cm_id;
};

struct conn_val {
	__u64 ts;
	char comm[NS_RDMA_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tasks SEC(".maps");

/* Connects waiting for their ESTABLISHED event; LRU so ids of killed processes age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct conn_key);
	__type(value, struct conn_val);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_COMMS);
	__type(key, struct ns_rdma_comm_key);
	__type(value, struct ns_rdma_comm_stat);
} comm_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_COMMS * 4);
	__type(key, struct ns_rdma_call_key);
	__type(value, struct ns_rdma_call_stat);
} call_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ns_rdma_event_key);
	__type(value, __u64);
} cm_events SEC(".maps");

/* Updates lost because a table above was full: exported as novascope_events_dropped_total. */
NS_DROPS_MAP(drops);

/* Scratch zero values for inserting new keys (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ns_rdma_comm_stat);
} zero_comm SEC(".maps");

static __always_inline void *lookup_or_insert(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	/* Fails with -EEXIST when another CPU inserted it first, which is fine. */
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		ns_count_drop(&drops);
	return v;
}

/* The process's name (its main thread's comm): threads often rename themselves. */
static __always_inline void proc_comm(char *comm)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);

	bpf_probe_read_kernel_str(comm, NS_RDMA_COMM_LEN, &leader->comm);
}

static __always_inline struct task_state *task_state(bool create)
{
	return bpf_task_storage_get(&tasks, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/*
 * Enter one nesting level; true for the outermost call. A stack pointer above the recorded
 * outermost frame means that frame is gone without its return being seen (longjmp out of the
 * library): start over. A tail call enters at the same stack pointer and counts as nested.
 */
static __always_inline bool nest_enter(__u32 *depth, __u64 *outer_sp, __u64 sp)
{
	if (*depth && sp > *outer_sp)
		*depth = 0;
	if ((*depth)++)
		return false;
	*outer_sp = sp;
	return true;
}

/* Leave one level; true when the outermost call returns (false if its entry was not seen). */
static __always_inline bool nest_exit(__u32 *depth)
{
	if (!*depth)
		return false;
	return --(*depth) == 0;
}

/* failed: the function's own failure convention (-1 / errno / NULL), decided by the caller. */
static __always_inline int call_exit(__u32 call, bool failed)
{
	struct ns_rdma_call_stat zero = {}, *cs;
	struct ns_rdma_call_key key = {.call = call};
	struct task_state *st = task_state(false);

	if (!st || !nest_exit(&st->call_depth))
		return 0;
	proc_comm(key.comm);
	cs = lookup_or_insert(&call_stats, &key, &zero);
	if (!cs)
		return 0;
	__sync_fetch_and_add(&cs->calls, 1);
	if (failed)
		__sync_fetch_and_add(&cs->errors, 1);
	return 0;
}

/* rdma_connect: start the clock for this (process, id). */
static __always_inline void connect_enter(struct task_state *st, __u64 id)
{
	struct conn_key key = {.tgid = bpf_get_current_pid_tgid() >> 32, .cm_id = id};
	struct conn_val val = {};

	proc_comm(val.comm);
	val.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&conns, &key, &val, BPF_ANY);
	st->connect_id = id;
}

/* A failed rdma_connect never connects: forget it (the argument is gone, st kept it). */
static __always_inline void connect_exit(struct task_state *st, int ret)
{
	struct conn_key key = {.tgid = bpf_get_current_pid_tgid() >> 32};

	if (ret) {
		key.cm_id = st->connect_id;
		bpf_map_delete_elem(&conns, &key);
	}
}

static __always_inline void destroy_id_enter(__u64 id)
{
	struct conn_key key = {.tgid = bpf_get_current_pid_tgid() >> 32, .cm_id = id};

	bpf_map_delete_elem(&conns, &key);
}

static __always_inline void connect_done(const struct ns_rdma_cm_event_abi *ev)
{
	struct conn_key key = {.tgid = bpf_get_current_pid_tgid() >> 32, .cm_id = ev->id};
	struct ns_rdma_comm_stat *cs;
	struct ns_rdma_comm_key ck;
	struct conn_val *cv;
	__u32 zero = 0;
	void *z;

	cv = bpf_map_lookup_elem(&conns, &key);
	if (!cv)
		return; /* passive side, or a connect issued before we attached */
	if (ev->event == NS_RDMA_CM_ESTABLISHED) {
		__builtin_memcpy(ck.comm, cv->comm, sizeof(ck.comm));
		z = bpf_map_lookup_elem(&zero_comm, &zero);
		cs = z ? lookup_or_insert(&comm_stats, &ck, z) : NULL;
		if (cs)
			ns_hist_record(&cs->connect, bpf_ktime_get_ns() - cv->ts);
	}
	bpf_map_delete_elem(&conns, &key);
}

static __always_inline bool ends_connect(__u32 event)
{
	return event == NS_RDMA_CM_ESTABLISHED || event == NS_RDMA_CM_CONNECT_ERROR ||
	       event == NS_RDMA_CM_UNREACHABLE || event == NS_RDMA_CM_REJECTED ||
	       event == NS_RDMA_CM_ADDR_ERROR || event == NS_RDMA_CM_ROUTE_ERROR ||
	       event == NS_RDMA_CM_DEVICE_REMOVAL;
}

/*
 * rdma_get_cm_event returned: count the event and end a pending connect. Events are handled at
 * every nesting level: a synchronous rdma_connect reads its event through an internal call.
 */
static __always_inline void get_cm_event_exit(struct task_state *st, int ret)
{
	struct ns_rdma_cm_event_abi ev;
	struct ns_rdma_event_key key;
	__u64 evp = 0, zero = 0, *cnt;

	if (!ret && st->event_out &&
	    !bpf_probe_read_user(&evp, sizeof(evp), (void *)st->event_out) && evp &&
	    !bpf_probe_read_user(&ev, sizeof(ev), (void *)evp)) {
		key.event = ev.event;
		key.status = ev.status;
		cnt = lookup_or_insert(&cm_events, &key, &zero);
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		if (ends_connect(ev.event))
			connect_done(&ev);
	}
	st->event_out = 0;
}

/* MR registration: only the outermost call of the family (ibv_reg_mr calls ibv_reg_mr_iova2). */
static __always_inline void mr_enter(struct task_state *st, __u64 sp, __u64 len)
{
	if (nest_enter(&st->mr_depth, &st->mr_sp, sp)) {
		st->mr_len = len;
		st->mr_ts = bpf_ktime_get_ns();
	}
}

static __always_inline void mr_exit(struct task_state *st, bool ok)
{
	struct ns_rdma_comm_key ck = {};
	struct ns_rdma_comm_stat *cs;
	__u32 zero = 0;
	void *z;

	if (!nest_exit(&st->mr_depth) || !ok)
		return;
	proc_comm(ck.comm);
	z = bpf_map_lookup_elem(&zero_comm, &zero);
	cs = z ? lookup_or_insert(&comm_stats, &ck, z) : NULL;
	if (cs) {
		ns_hist_record(&cs->mr, bpf_ktime_get_ns() - st->mr_ts);
		__sync_fetch_and_add(&cs->mr_bytes, st->mr_len);
	}
}

static __always_inline bool is_mr(__u32 call)
{
	return call == NS_IBV_REG_MR || call == NS_IBV_REG_MR_IOVA || call == NS_IBV_REG_MR_IOVA2 ||
	       call == NS_IBV_REG_DMABUF_MR;
}

/* Functions that return a pointer (NULL on failure); the others return 0 or -1/an errno. */
static __always_inline bool returns_ptr(__u32 call)
{
	return call == NS_RDMA_CREATE_EVENT_CHANNEL || call == NS_IBV_GET_DEVICE_LIST ||
	       call == NS_IBV_OPEN_DEVICE || call == NS_IBV_ALLOC_PD || call == NS_IBV_CREATE_CQ ||
	       call == NS_IBV_CREATE_QP || is_mr(call);
}

SEC("uprobe")
int BPF_KPROBE(rdma_enter, __u64 arg1, __u64 arg2, __u64 arg3)
{
	__u32 call = (__u32)bpf_get_attach_cookie(ctx);
	struct task_state *st = task_state(true);

	if (!st)
		return 0;
	if (call == NS_RDMA_CONNECT)
		connect_enter(st, arg1);
	else if (call == NS_RDMA_DESTROY_ID)
		destroy_id_enter(arg1);
	else if (call == NS_RDMA_GET_CM_EVENT)
		st->event_out = arg2;
	else if (is_mr(call)) /* the ibv_reg_mr family takes the length third */
		mr_enter(st, PT_REGS_SP(ctx), arg3);
	nest_enter(&st->call_depth, &st->call_sp, PT_REGS_SP(ctx));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(rdma_exit, long ret)
{
	__u32 call = (__u32)bpf_get_attach_cookie(ctx);
	struct task_state *st = task_state(false);
	bool failed = returns_ptr(call) ? !ret : (int)ret != 0;

	if (!st)
		return 0;
	if (call == NS_RDMA_CONNECT)
		connect_exit(st, (int)ret);
	else if (call == NS_RDMA_GET_CM_EVENT)
		get_cm_event_exit(st, (int)ret);
	else if (is_mr(call))
		mr_exit(st, !failed);
	return call_exit(call, failed);
}

char LICENSE[] SEC("license") = "GPL";
