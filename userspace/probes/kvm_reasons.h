/* SPDX-License-Identifier: GPL-2.0 */
/* Names of KVM exit reasons, as the kernel's own trace output prints them. */
#ifndef NOVASCOPE_KVM_REASONS_H
#define NOVASCOPE_KVM_REASONS_H

#include <stddef.h>
#include <linux/types.h>

/*
 * kvm_exit reasons: VMX basic exit reasons (SDM; "FAILED_VMENTRY_" prefixed when bit 31 is
 * set), SVM exit codes (AMD APM; "vmx_N"/"svm_0xN" when unknown), "unknown" when the reason
 * could not be read (isa 0). Returns name or buf.
 */
const char *ns_kvm_exit_reason(__u32 isa, __u32 reason, char *buf, size_t n);
/* kvm_userspace_exit reasons: KVM_EXIT_* in lower case without the prefix ("io", "hlt"),
 * "restart" (KVM_RUN interrupted, -EINTR) and "error" (other errors). */
const char *ns_kvm_uexit_reason(__u32 reason, char *buf, size_t n);

/* Self-test workload (kvm_selftest.c): a VM doing n `out` then `hlt`; the io exits seen, or -1. */
long ns_kvm_run_outs(unsigned int n);

#endif
