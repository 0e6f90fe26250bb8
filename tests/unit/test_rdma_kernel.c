// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_kernel: field offsets from tracefs format files, checked on the RDMA events' formats
 * (tests/fixtures/rdma_tracefs, as the kernel prints them from cma_trace.h and rdma_core.h) and
 * on a live format of this kernel against its BTF; then the BPF programs, configured from the
 * fixture, must pass this kernel's verifier even though it has no RDMA tracepoints to attach.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "features.h"
#include "probes/rdma.h"
#include "novascope/rdma.h"
#include "rdma_kernel.skel.h"

#define TRACEFS_FIXTURE "tests/fixtures/rdma_tracefs"

static void test_format_fields(void **state)
{
	const char *fmt = "name: x\nID: 1\nformat:\n"
			  "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
			  "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
			  "\tfield:const void * skbaddr;\toffset:24;\tsize:8;\tsigned:0;\n"
			  "\tfield:unsigned long event;\toffset:32;\tsize:8;\tsigned:0;\n"
			  "\tfield:__data_loc char[] name;\toffset:40;\tsize:4;\tsigned:0;\n"
			  "\nprint fmt: \"event=%lu comm=%s\", REC->event, REC->prev_comm\n";
	unsigned int off = 0, size = 0;

	(void)state;
	assert_int_equal(ns_tp_format_field(fmt, "prev_comm", &off, &size), 0);
	assert_int_equal(off, 8);
	assert_int_equal(size, 16);
	assert_int_equal(ns_tp_format_field(fmt, "skbaddr", &off, &size), 0);
	assert_int_equal(off, 24);
	assert_int_equal(ns_tp_format_field(fmt, "event", &off, &size), 0);
	assert_int_equal(off, 32);
	assert_int_equal(size, 8);
	assert_int_equal(ns_tp_format_field(fmt, "name", &off, &size), 0);
	assert_int_equal(off, 40);
	/* Whole identifiers only, and not from the print format line. */
	assert_int_equal(ns_tp_format_field(fmt, "comm", &off, &size), -ENOENT);
	assert_int_equal(ns_tp_format_field(fmt, "type", &off, &size), -ENOENT);
	assert_int_equal(ns_tp_format_field(fmt, "REC", &off, &size), -ENOENT);
	assert_int_equal(ns_tp_format_field("", "event", &off, &size), -ENOENT);
	assert_int_equal(ns_tp_format_field("\tfield:int x;\toffset:;\n", "x", &off, &size),
			 -ENOENT);
}

static void test_rdma_offsets(void **state)
{
	struct ns_rdma_tp_offsets o;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	assert_true(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "rdma_cma", "cm_event_handler", &o));
	assert_int_equal(o.ev_cm_id, 8);
	assert_int_equal(o.ev_event, 16);
	assert_int_equal(o.ev_event_size, 8); /* unsigned long on 64-bit */
	assert_int_equal(o.ev_status, 24);
	assert_true(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "rdma_cma", "cm_send_req", &o));
	assert_int_equal(o.req_cm_id, 8);
	assert_true(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "rdma_core", "cq_process", &o));
	assert_int_equal(o.cq_interrupt, 12);
	assert_int_equal(o.cq_latency, 16);
	assert_false(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "ib_mad", "ib_mad_error_handler", &o));
}

/* The parser on a format this kernel wrote, against the kernel's own BTF layout. */
static void test_live_format_matches_btf(void **state)
{
	static const char *const fields[] = { "prev_comm", "prev_pid", "prev_state", "next_pid" };
	const char *fmt_path = "/sys/kernel/tracing/events/sched/sched_switch/format";
	struct btf *btf = ns_vmlinux_btf();
	const struct btf_type *t;
	char buf[8192];
	size_t n;
	FILE *f;
	int id;

	(void)state;
	f = fopen(fmt_path, "r");
	if (!f || !btf)
		skip();
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	id = btf__find_by_name_kind(btf, "trace_event_raw_sched_switch", BTF_KIND_STRUCT);
	assert_true(id > 0);
	t = btf__type_by_id(btf, (__u32)id);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct btf_member *m = btf_members(t);
		unsigned int off = 0, size = 0;
		int k;

		assert_int_equal(ns_tp_format_field(buf, fields[i], &off, &size), 0);
		for (k = 0; k < btf_vlen(t); k++, m++)
			if (!strcmp(btf__name_by_offset(btf, m->name_off), fields[i]))
				break;
		assert_true(k < btf_vlen(t));
		assert_int_equal(off, btf_member_bit_offset(t, (__u32)k) / 8);
	}
}

/* Load every program with the fixture's offsets: the verifier must accept them all. */
static void test_programs_verify(void **state)
{
	struct rdma_kernel_bpf *skel;
	struct ns_rdma_tp_offsets o;
	struct bpf_program *prog;
	int n = 0;

	(void)state;
	if (geteuid())
		skip();
	memset(&o, 0xff, sizeof(o));
	assert_true(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "rdma_cma", "cm_event_handler", &o));
	assert_true(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "rdma_cma", "cm_send_req", &o));
	assert_true(ns_rdma_tp_offsets(TRACEFS_FIXTURE, "rdma_core", "cq_process", &o));
	skel = rdma_kernel_bpf__open();
	assert_non_null(skel);
	skel->rodata->off = o;
	assert_int_equal(rdma_kernel_bpf__load(skel), 0);
	bpf_object__for_each_program(prog, skel->obj) {
		assert_true(bpf_program__fd(prog) >= 0);
		n++;
	}
	assert_int_equal(n, 7);
	rdma_kernel_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_rdma_offsets),
		cmocka_unit_test(test_live_format_matches_btf),
		cmocka_unit_test(test_programs_verify),
	};

	return cmocka_run_group_tests_name("rdma_kernel", tests, NULL, NULL);
}
