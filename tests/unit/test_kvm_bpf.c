// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm probe's exit/entry logic, run for real in the kernel with BPF_PROG_TEST_RUN on the
 * raw_tp programs and synthetic tracepoint arguments (kvm_exit never fires on this machine's
 * KVM). Covers both argument layouts of kvm_exit, VMX and SVM reasons, exit-to-entry latency,
 * an entry without an exit, back-to-back exits, and kvm_userspace_exit's errno handling; plus
 * the reason names. Needs root (BPF); skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe_util.h"
#include "probes/kvm_reasons.h"
#include "novascope/kvm.h"
#include "kvm.skel.h"

static struct kvm_bpf *load(__u32 layout)
{
	struct kvm_bpf *s = kvm_bpf__open();

	if (!s)
		return NULL;
	ns_drop_flavour(s->obj, "_btf"); /* test runs work on raw_tp, not tp_btf */
	s->rodata->exit_args = layout;
	if (kvm_bpf__load(s)) {
		kvm_bpf__destroy(s);
		return NULL;
	}
	return s;
}

static void run(struct bpf_program *prog, __u64 a0, __u64 a1, __u64 a2, int nargs)
{
	__u64 args[3] = { a0, a1, a2 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = nargs ? args : NULL,
		    .ctx_size_in = (__u32)nargs * 8);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &o), 0);
	assert_int_equal(o.retval, 0);
}

/* Sum of a per-CPU value of `words` u64 across CPUs, word by word into out (0 if absent). */
static void sum(struct bpf_map *m, const void *key, __u64 *out, int words)
{
	int n = ns_nr_cpus();
	__u64 *v = calloc((size_t)n * (size_t)words, sizeof(*v));

	assert_non_null(v);
	memset(out, 0, sizeof(*out) * (size_t)words);
	if (!bpf_map_lookup_elem(bpf_map__fd(m), key, v))
		for (int c = 0; c < n; c++)
			for (int w = 0; w < words; w++)
				out[w] += v[c * words + w];
	free(v);
}

static __u64 exits(struct kvm_bpf *s, __u32 isa, __u32 reason)
{
	struct ns_kvm_exit_key k = { .tgid = (__u32)getpid(), .isa = isa, .reason = reason };
	__u64 v;

	sum(s->maps.exits, &k, &v, 1);
	return v;
}

static struct ns_hist lat(struct kvm_bpf *s, __u32 isa, __u32 reason)
{
	struct ns_kvm_lat_key k = { .isa = isa, .reason = reason };
	struct ns_hist h;

	sum(s->maps.exit_lat, &k, (__u64 *)&h, sizeof(h) / 8);
	return h;
}

static __u64 hist_count(const struct ns_hist *h)
{
	__u64 n = 0;

	for (int i = 0; i < NS_HIST_SLOTS; i++)
		n += h->slots[i];
	return n;
}

static void nap_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	*state = load(NS_KVM_EXIT_ARGS_REASON);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	kvm_bpf__destroy(*state);
	return 0;
}

#define NEED_ROOT(s)                                                                               \
	do {                                                                                       \
		if (!(s))                                                                          \
			skip();                                                                    \
	} while (0)

/* Up to 5.15: (exit_reason, vcpu, isa). VMX IO_INSTRUCTION, exit -> 2ms -> entry, 3 times. */
static void test_legacy_vmx_exit_to_entry(void **state)
{
	struct kvm_bpf *s = *state;
	struct ns_hist h;

	NEED_ROOT(s);
	for (int i = 0; i < 3; i++) {
		run(s->progs.kvm_exit_raw, 30, 0, NS_KVM_ISA_VMX, 3);
		nap_ms(2);
		run(s->progs.kvm_entry_raw, 0, 0, 0, 0);
	}
	assert_int_equal(exits(s, NS_KVM_ISA_VMX, 30), 3);
	h = lat(s, NS_KVM_ISA_VMX, 30);
	assert_int_equal(hist_count(&h), 3);
	assert_true(h.sum >= 6000000ULL && h.sum < 1000000000ULL);
	/* Each 2ms+ wait lands in slot 20 (1.05ms..2.1ms) or above, never below. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(h.slots[i], 0);
}

/* SVM codes are counted under their own isa: io (0x7b), and an entry with no exit before it
 * adds no latency sample. */
static void test_legacy_svm_and_lone_entry(void **state)
{
	struct kvm_bpf *s = *state;
	struct ns_hist h;

	NEED_ROOT(s);
	run(s->progs.kvm_exit_raw, 0x7b, 0, NS_KVM_ISA_SVM, 3);
	run(s->progs.kvm_entry_raw, 0, 0, 0, 0);
	run(s->progs.kvm_entry_raw, 0, 0, 0, 0); /* no exit since the last entry */
	assert_int_equal(exits(s, NS_KVM_ISA_SVM, 0x7b), 1);
	assert_int_equal(exits(s, NS_KVM_ISA_VMX, 0x7b), 0);
	h = lat(s, NS_KVM_ISA_SVM, 0x7b);
	assert_int_equal(hist_count(&h), 1);
}

/* Two exits before an entry (e.g. we attached mid-way): both counted, the latency belongs to
 * the last one. A failed VM entry (bit 31) keeps its flag. */
static void test_back_to_back_and_failed_entry(void **state)
{
	struct kvm_bpf *s = *state;
	struct ns_hist h_hlt, h_fail;

	NEED_ROOT(s);
	run(s->progs.kvm_exit_raw, 12, 0, NS_KVM_ISA_VMX, 3);
	run(s->progs.kvm_exit_raw, 0x80000021, 0, NS_KVM_ISA_VMX, 3);
	run(s->progs.kvm_entry_raw, 0, 0, 0, 0);
	assert_int_equal(exits(s, NS_KVM_ISA_VMX, 12), 1);
	assert_int_equal(exits(s, NS_KVM_ISA_VMX, 0x80000021), 1);
	h_hlt = lat(s, NS_KVM_ISA_VMX, 12);
	h_fail = lat(s, NS_KVM_ISA_VMX, 0x80000021);
	assert_int_equal(hist_count(&h_hlt), 0);
	assert_int_equal(hist_count(&h_fail), 1);
}

/* An isa that is neither VMX nor SVM counts as unknown, reason dropped. */
static void test_unknown_isa(void **state)
{
	struct kvm_bpf *s = *state;

	NEED_ROOT(s);
	run(s->progs.kvm_exit_raw, 7, 0, 9, 3);
	run(s->progs.kvm_entry_raw, 0, 0, 0, 0);
	assert_int_equal(exits(s, NS_KVM_ISA_UNKNOWN, 0), 1);
	assert_int_equal(exits(s, 9, 7), 0);
}

/* kvm_userspace_exit(reason, errno): reasons as given; -EINTR is "restart", other errors
 * "error". */
static void test_userspace_exit(void **state)
{
	struct kvm_bpf *s = *state;
	struct ns_kvm_uexit_key k = { .tgid = (__u32)getpid() };
	__u64 v;

	NEED_ROOT(s);
	run(s->progs.kvm_userspace_exit_raw, 2, 0, 0, 2);
	run(s->progs.kvm_userspace_exit_raw, 2, 0, 0, 2);
	run(s->progs.kvm_userspace_exit_raw, 2, (__u64)-4, 0, 2);
	run(s->progs.kvm_userspace_exit_raw, 5, (__u64)-14, 0, 2);
	k.reason = 2;
	sum(s->maps.uexits, &k, &v, 1);
	assert_int_equal(v, 2);
	k.reason = NS_KVM_UEXIT_RESTART;
	sum(s->maps.uexits, &k, &v, 1);
	assert_int_equal(v, 1);
	k.reason = NS_KVM_UEXIT_ERROR;
	sum(s->maps.uexits, &k, &v, 1);
	assert_int_equal(v, 1);
}

/* 5.16+: (vcpu, isa), the reason read from vcpu_vmx/vcpu_svm. With no readable vendor struct
 * (not in this kernel's BTF, or a pointer that does not point at one) the exit counts as
 * unknown instead of a made-up reason; latency still pairs with the next entry. */
static void test_vcpu_layout_unreadable_reason(void **state)
{
	struct kvm_bpf *s;
	struct ns_hist h;

	(void)state;
	if (geteuid() != 0)
		skip();
	s = load(NS_KVM_EXIT_ARGS_VCPU);
	assert_non_null(s);
	run(s->progs.kvm_exit_raw, 0, NS_KVM_ISA_VMX, 0, 2);
	run(s->progs.kvm_entry_raw, 0, 0, 0, 0);
	run(s->progs.kvm_exit_raw, 0, NS_KVM_ISA_SVM, 0, 2);
	run(s->progs.kvm_entry_raw, 0, 0, 0, 0);
	assert_int_equal(exits(s, NS_KVM_ISA_UNKNOWN, 0), 2);
	h = lat(s, NS_KVM_ISA_UNKNOWN, 0);
	assert_int_equal(hist_count(&h), 2);
	kvm_bpf__destroy(s);
}

static void test_reason_names(void **state)
{
	char b[48];

	(void)state;
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_VMX, 30, b, sizeof(b)), "IO_INSTRUCTION");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_VMX, 48, b, sizeof(b)), "EPT_VIOLATION");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_VMX, 0x80000021, b, sizeof(b)),
			    "FAILED_VMENTRY_INVALID_STATE");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_VMX, 99, b, sizeof(b)), "vmx_99");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x7b, b, sizeof(b)), "io");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x400, b, sizeof(b)), "npf");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x4e, b, sizeof(b)), "PF_excp");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x13, b, sizeof(b)), "write_cr3");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x27, b, sizeof(b)), "read_dr7");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x80000010, b, sizeof(b)),
			    "vmgexit_page_state_change");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0xffffffff, b, sizeof(b)),
			    "invalid_guest_state");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_SVM, 0x999, b, sizeof(b)), "svm_0x999");
	assert_string_equal(ns_kvm_exit_reason(NS_KVM_ISA_UNKNOWN, 5, b, sizeof(b)), "unknown");
	assert_string_equal(ns_kvm_uexit_reason(2, b, sizeof(b)), "io");
	assert_string_equal(ns_kvm_uexit_reason(5, b, sizeof(b)), "hlt");
	assert_string_equal(ns_kvm_uexit_reason(24, b, sizeof(b)), "system_event");
	assert_string_equal(ns_kvm_uexit_reason(NS_KVM_UEXIT_RESTART, b, sizeof(b)), "restart");
	assert_string_equal(ns_kvm_uexit_reason(NS_KVM_UEXIT_ERROR, b, sizeof(b)), "error");
	assert_string_equal(ns_kvm_uexit_reason(999, b, sizeof(b)), "exit_999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legacy_vmx_exit_to_entry),
		cmocka_unit_test(test_legacy_svm_and_lone_entry),
		cmocka_unit_test(test_back_to_back_and_failed_entry),
		cmocka_unit_test(test_unknown_isa),
		cmocka_unit_test(test_userspace_exit),
		cmocka_unit_test(test_vcpu_layout_unreadable_reason),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
