// SPDX-License-Identifier: GPL-2.0
/* Request routing (404/405), Accept-Encoding handling, attribution parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "attrib.h"
#include "http.h"

static void test_routes(void **state)
{
	struct ns_route r;

	(void)state;
	r = ns_http_route("/metrics", "GET", "/metrics", NULL);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.doc, NS_DOC_METRICS);
	r = ns_http_route("/metrics", "GET", "/metrics", "gzip, deflate");
	assert_int_equal(r.doc, NS_DOC_METRICS_GZ);
	r = ns_http_route("/custom", "GET", "/metrics", NULL);
	assert_int_equal(r.code, 404);
	r = ns_http_route("/metrics", "HEAD", "/health", NULL);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.doc, NS_DOC_HEALTH);
	r = ns_http_route("/metrics", "GET", "/metrics/summary", NULL);
	assert_int_equal(r.doc, NS_DOC_SUMMARY);
	r = ns_http_route("/metrics", "POST", "/metrics", NULL);
	assert_int_equal(r.code, 405);
	r = ns_http_route("/metrics", "DELETE", "/health", NULL);
	assert_int_equal(r.code, 405);
	r = ns_http_route("/metrics", "GET", "/metrics/", NULL);
	assert_int_equal(r.code, 404);
	r = ns_http_route("/metrics", "POST", "/nope", NULL);
	assert_int_equal(r.code, 404);
	r = ns_http_route("/metrics", "GET", "/../etc/passwd", NULL);
	assert_int_equal(r.code, 404);
}

static void test_accept_encoding(void **state)
{
	(void)state;
	assert_true(ns_accepts_gzip("gzip"));
	assert_true(ns_accepts_gzip("deflate, gzip;q=0.5"));
	assert_true(ns_accepts_gzip("GZIP"));
	assert_true(ns_accepts_gzip("*"));
	assert_false(ns_accepts_gzip("gzip;q=0"));
	assert_false(ns_accepts_gzip("identity"));
	assert_false(ns_accepts_gzip("xgzip"));
	assert_false(ns_accepts_gzip(""));
	assert_false(ns_accepts_gzip(NULL));
}

static void test_vm_name(void **state)
{
	static const char a[] = "qemu-system-x86_64\0-enable-kvm\0-name\0guest=vm1,debug-threads=on\0";
	static const char b[] = "qemu\0-name\0plain\0-m\0128";
	static const char c[] = "qemu\0-name\0";
	static const char d[] = "qemu\0-m\0128\0";
	char out[64];

	(void)state;
	assert_int_equal(ns_vm_name_from_cmdline(a, sizeof(a) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "vm1");
	assert_int_equal(ns_vm_name_from_cmdline(b, sizeof(b) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "plain");
	assert_int_not_equal(ns_vm_name_from_cmdline(c, sizeof(c) - 1, out, sizeof(out)), 0);
	assert_int_not_equal(ns_vm_name_from_cmdline(d, sizeof(d) - 1, out, sizeof(out)), 0);
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(ns_thread_role("CPU 0/KVM"), NS_ROLE_VCPU);
	assert_int_equal(ns_thread_role("CPU 12/KVM"), NS_ROLE_VCPU);
	assert_int_equal(ns_thread_role("CPU 0/TCG"), NS_ROLE_VCPU); /* QEMU without KVM */
	assert_int_equal(ns_thread_role("CPU 12/TCG"), NS_ROLE_VCPU);
	assert_int_equal(ns_thread_role("live_migration"), NS_ROLE_MIGRATION);
	assert_int_equal(ns_thread_role("mig/src/main"), NS_ROLE_MIGRATION);
	assert_int_equal(ns_thread_role("multifdsend_1"), NS_ROLE_MIGRATION_SEND);
	assert_int_equal(ns_thread_role("mig/src/send_0"), NS_ROLE_MIGRATION_SEND);
	assert_int_equal(ns_thread_role("multifdrecv_0"), NS_ROLE_MIGRATION_RECV);
	assert_int_equal(ns_thread_role("mig/dst/recv_3"), NS_ROLE_MIGRATION_RECV);
	assert_int_equal(ns_thread_role("vhost-1234"), NS_ROLE_VHOST);
	assert_int_equal(ns_thread_role("qemu-system-x86"), NS_ROLE_OTHER);
	assert_int_equal(ns_thread_role("CPU 0/TCX"), NS_ROLE_OTHER);
	assert_int_equal(ns_thread_role("ALL CPUs/TCG"), NS_ROLE_OTHER);
}

static void test_cgroup_label(void **state)
{
	char out[256];

	(void)state;
	ns_cgroup_label("/system.slice/sshd.service", 0, out, sizeof(out));
	assert_string_equal(out, "/system.slice/sshd.service");
	ns_cgroup_label("/system.slice/sshd.service/extra/deep", 0, out, sizeof(out));
	assert_string_equal(out, "/system.slice/sshd.service");
	ns_cgroup_label("/kubepods.slice/kubepods-burstable.slice/"
			"kubepods-burstable-pod1234.slice/cri-containerd-ab.scope",
			0, out, sizeof(out));
	assert_string_equal(out, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice");
	ns_cgroup_label("/kubepods/besteffort/pod5678/abcdef", 0, out, sizeof(out));
	assert_string_equal(out, "/kubepods/besteffort/pod5678");
	ns_cgroup_label("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt/vcpu0", 0, out,
			sizeof(out));
	assert_string_equal(out, "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope");
	ns_cgroup_label("/a/b/c", 2, out, sizeof(out));
	assert_string_equal(out, "/a/b");
	ns_cgroup_label("/a", 3, out, sizeof(out));
	assert_string_equal(out, "/a");
	ns_cgroup_label("/plain/dir", 0, out, sizeof(out));
	assert_string_equal(out, "/plain/dir");
	ns_cgroup_label("/", 0, out, sizeof(out));
	assert_string_equal(out, "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),	 cmocka_unit_test(test_accept_encoding),
		cmocka_unit_test(test_vm_name),	 cmocka_unit_test(test_roles),
		cmocka_unit_test(test_cgroup_label),
	};

	return cmocka_run_group_tests_name("http_attrib", tests, NULL, NULL);
}
