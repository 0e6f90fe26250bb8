/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef NOVASCOPE_KVM_H
#define NOVASCOPE_KVM_H

#include "novascope/hist.h"

/* The isa argument of kvm:kvm_exit (arch/x86/kvm/trace.h); 0 here: reason not readable. */
#define NS_KVM_ISA_UNKNOWN 0
#define NS_KVM_ISA_VMX 1
#define NS_KVM_ISA_SVM 2

/* Arguments of kvm:kvm_exit, by kernel (userspace reads the tracepoint's BTF prototype). */
enum ns_kvm_exit_args {
	NS_KVM_EXIT_ARGS_VCPU = 0, /* (vcpu, isa): 5.16+, reason from the vendor's vcpu struct */
	NS_KVM_EXIT_ARGS_REASON = 1, /* (exit_reason, vcpu, isa): up to 5.15 */
};

/* kvm:kvm_userspace_exit with a negative errno: -EINTR is "restart", the rest "error". */
#define NS_KVM_UEXIT_RESTART 0x10000
#define NS_KVM_UEXIT_ERROR 0x10001

/* Key 0/0/0 ("other") takes what the bounded maps cannot hold; userspace creates it. */
struct ns_kvm_exit_key {
	__u32 tgid; /* the VMM process */
	__u32 isa;
	__u32 reason; /* VMX: the full exit reason (bit 31: failed VM entry); SVM: exit code */
	__u32 pad;
};

/* Per-CPU, per (isa, reason): time from an exit to the next entry on the same vCPU (ns). */
struct ns_kvm_lat_key {
	__u32 isa;
	__u32 reason;
};

struct ns_kvm_uexit_key {
	__u32 tgid;
	__u32 reason; /* KVM_EXIT_* or NS_KVM_UEXIT_* */
};

#endif
