// SPDX-License-Identifier: GPL-2.0
/*
 * KVM exits: kvm:kvm_exit counts exits per VMM process and reason and stamps the exit time in
 * the vCPU thread's task storage; kvm:kvm_entry, the next entry on that thread, turns it into
 * the host's handling latency per reason. kvm:kvm_userspace_exit counts the exits that KVM_RUN
 * returns to the VMM (QEMU) with, by reason.
 *
 * kvm_exit's arguments changed in 5.16 (0a62a0319abb, "KVM: x86: Get exit_reason as part of
 * kvm_x86_ops.get_exit_info"): up to 5.15 they are (exit_reason, vcpu, isa); since then
 * (vcpu, isa), and the reason only exists in the vendor's vcpu struct. Userspace reads the
 * tracepoint's BTF prototype and sets exit_args; the vendor structs (vcpu_vmx in kvm_intel,
 * vcpu_svm in kvm_amd) are read with CO-RE and existence checks, since a kernel has at most the
 * one its CPU needs.
 *
 * All three run in the vCPU thread, so per-vCPU state is that thread's task storage (current
 * task: no BTF argument needed, which keeps the raw_tp flavour identical to tp_btf).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "novascope/kvm.h"
#include "hist.bpf.h"

#define EINTR 4

/* Set before load. */
const volatile __u32 exit_args = NS_KVM_EXIT_ARGS_VCPU;

/* Local flavours of the vendor structs: only the fields read here, matched by CO-RE. */
struct kvm_vcpu___ns {
	int vcpu_id;
} __attribute__((preserve_access_index));

/* 5.11 made vcpu_vmx::exit_reason (u32) a union vmx_exit_reason whose u32 is .full. */
union vmx_exit_reason___ns {
	__u32 full;
} __attribute__((preserve_access_index));

struct vcpu_vmx___new {
	struct kvm_vcpu___ns vcpu;
	union vmx_exit_reason___ns exit_reason;
} __attribute__((preserve_access_index));

struct vcpu_vmx___old {
	struct kvm_vcpu___ns vcpu;
	__u32 exit_reason;
} __attribute__((preserve_access_index));

/* vmcb_control_area::exit_code is a u32 (with exit_code_hi), a u64 on the newest kernels. */
struct vmcb_control_area___ns {
	__u64 exit_code;
} __attribute__((preserve_access_index));

struct vmcb___ns {
	struct vmcb_control_area___ns control;
} __attribute__((preserve_access_index));

struct vcpu_svm___ns {
	struct kvm_vcpu___ns vcpu;
	struct vmcb___ns *vmcb;
} __attribute__((preserve_access_index));

struct exit_state {
	__u64 ts; /* of the last exit, 0 once its entry was seen */
	__u32 isa;
	__u32 reason;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct exit_state);
} vcpu_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct ns_kvm_exit_key);
	__type(value, __u64);
} exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct ns_kvm_lat_key);
	__type(value, struct ns_hist);
} exit_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct ns_kvm_uexit_key);
	__type(value, __u64);
} uexits SEC(".maps");

static const struct ns_hist zero_hist;
static const __u64 zero_u64;

/* Look a key up, creating it; when the map is full, the pre-created all-zero key. */
static __always_inline void *lookup_or_init(void *map, void *key, const void *init, void *other_key)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	return v ? v : bpf_map_lookup_elem(map, other_key);
}

/* 5.16+: the reason as the vendor module keeps it; *isa becomes UNKNOWN when unreadable. */
static __always_inline __u32 vendor_reason(void *vcpu, __u32 *isa)
{
	struct vcpu_vmx___new *vn;
	struct vcpu_vmx___old *vo;
	struct vcpu_svm___ns *svm;
	struct vmcb___ns *vmcb;
	__u64 code = 0;
	__u32 r = 0;

	/* Every CO-RE access sits behind its existence check: a relocation that found nothing
	 * is only allowed in code the verifier can see is dead. */
	if (*isa == NS_KVM_ISA_VMX) {
		if (bpf_core_field_exists(struct vcpu_vmx___new, exit_reason.full)) {
			vn = vcpu - bpf_core_field_offset(struct vcpu_vmx___new, vcpu);
			if (!bpf_core_read(&r, sizeof(r), &vn->exit_reason.full))
				return r;
		} else if (bpf_core_field_exists(struct vcpu_vmx___old, exit_reason)) {
			vo = vcpu - bpf_core_field_offset(struct vcpu_vmx___old, vcpu);
			if (!bpf_core_read(&r, sizeof(r), &vo->exit_reason))
				return r;
		}
	} else if (*isa == NS_KVM_ISA_SVM && bpf_core_field_exists(struct vcpu_svm___ns, vmcb)) {
		svm = vcpu - bpf_core_field_offset(struct vcpu_svm___ns, vcpu);
		if (!bpf_core_read(&vmcb, sizeof(vmcb), &svm->vmcb) &&
		    !bpf_core_read(&code, bpf_core_field_size(vmcb->control.exit_code),
				   &vmcb->control.exit_code))
			return (__u32)code;
	}
	*isa = NS_KVM_ISA_UNKNOWN;
	return 0;
}

static __always_inline int on_exit(__u64 *ctx)
{
	struct ns_kvm_exit_key key = {}, other = {};
	struct exit_state *st;
	__u64 *n;

	if (exit_args == NS_KVM_EXIT_ARGS_REASON) {
		key.reason = (__u32)ctx[0];
		key.isa = (__u32)ctx[2];
	} else {
		key.isa = (__u32)ctx[1];
		key.reason = vendor_reason((void *)ctx[0], &key.isa);
	}
	if (key.isa != NS_KVM_ISA_VMX && key.isa != NS_KVM_ISA_SVM) {
		key.isa = NS_KVM_ISA_UNKNOWN;
		key.reason = 0;
	}
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	n = lookup_or_init(&exits, &key, &zero_u64, &other);
	if (n)
		__sync_fetch_and_add(n, 1);
	st = bpf_task_storage_get(&vcpu_state, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st) {
		st->isa = key.isa;
		st->reason = key.reason;
		st->ts = bpf_ktime_get_ns();
	}
	return 0;
}

static __always_inline int on_entry(void)
{
	struct ns_kvm_lat_key key, other = {};
	struct exit_state *st;
	struct ns_hist *h;
	__u64 now, ts;

	st = bpf_task_storage_get(&vcpu_state, bpf_get_current_task_btf(), 0, 0);
	if (!st || !st->ts)
		return 0; /* the first entry, or we attached between an exit and its entry */
	now = bpf_ktime_get_ns();
	ts = st->ts;
	st->ts = 0;
	if (ts > now)
		return 0;
	key.isa = st->isa;
	key.reason = st->reason;
	h = lookup_or_init(&exit_lat, &key, &zero_hist, &other);
	if (h)
		ns_hist_record(h, now - ts);
	return 0;
}

static __always_inline int on_uexit(__u32 reason, int err)
{
	struct ns_kvm_uexit_key key, other = {};
	__u64 *n;

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.reason = err >= 0 ? reason : err == -EINTR ? NS_KVM_UEXIT_RESTART : NS_KVM_UEXIT_ERROR;
	n = lookup_or_init(&uexits, &key, &zero_u64, &other);
	if (n)
		__sync_fetch_and_add(n, 1); /* preemptible here: KVM_RUN is returning */
	return 0;
}

SEC("tp_btf/kvm_exit")
int kvm_exit_btf(__u64 *ctx)
{
	return on_exit(ctx);
}

SEC("tp_btf/kvm_entry")
int kvm_entry_btf(__u64 *ctx)
{
	return on_entry();
}

SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(kvm_userspace_exit_btf, __u32 reason, int err)
{
	return on_uexit(reason, err);
}

SEC("raw_tp/kvm_exit")
int kvm_exit_raw(__u64 *ctx)
{
	return on_exit(ctx);
}

SEC("raw_tp/kvm_entry")
int kvm_entry_raw(__u64 *ctx)
{
	return on_entry();
}

SEC("raw_tp/kvm_userspace_exit")
int BPF_PROG(kvm_userspace_exit_raw, __u32 reason, int err)
{
	return on_uexit(reason, err);
}

char LICENSE[] SEC("license") = "GPL";
