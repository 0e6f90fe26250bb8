// SPDX-License-Identifier: GPL-2.0
/* TCP traffic classes: the config section, glob tables, port tables; QEMU -incoming parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"
#include "tcp_class.h"
#include "probes/tcp_core.h"

static char errbuf[4096];

/* Parse a config file with this body; 0 or -1 with the message in errbuf. */
static int parse_yaml(const char *body)
{
	char path[] = "/tmp/ns-tcp-class-XXXXXX";
	char *argv[] = { "novascope", "--config.file", path, NULL };
	struct ns_config c;
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	int fd = mkstemp(path), ret;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	memset(errbuf, 0, sizeof(errbuf));
	ret = ns_config_parse(&c, 3, argv, err);
	fclose(err);
	ns_config_free(&c);
	unlink(path);
	return ret;
}

static void test_builtin_only(void **state)
{
	const struct ns_tcp_classes *cl;

	(void)state;
	ns_tcp_classes_reset();
	cl = ns_tcp_classes();
	assert_int_equal(cl->n, 1);
	assert_int_equal(cl->migration, 0);
	assert_string_equal(ns_tcp_class_name(cl, 0), "migration");
	assert_string_equal(ns_tcp_class_name(cl, NS_TCP_CLASS_OTHER), "other");
	assert_int_equal(cl->c[0].nthreads, 4);
}

static void test_parse_and_merge(void **state)
{
	const struct ns_tcp_classes *cl;

	(void)state;
	assert_int_equal(parse_yaml("tcp.classes:\n"
				    "  - name: storage\n"
				    "    threads: [iscsid, \"tgt*\"]\n"
				    "    local_ports: [3260, \"7000-7100\"]\n"
				    "    cgroups: [/system.slice/iscsid.service]\n"
				    "  - name: migration\n"
				    "    threads: virt-handler\n"
				    "  - name: web\n"
				    "    remote_ports: [\"443\"]\n"),
			 0);
	cl = ns_tcp_classes();
	assert_int_equal(cl->n, 3);
	assert_int_equal(cl->migration, 1); /* the file's position */
	assert_string_equal(cl->c[0].name, "storage");
	assert_int_equal(cl->c[0].nlports, 2);
	assert_int_equal(cl->c[0].lports[1].lo, 7000);
	assert_int_equal(cl->c[0].lports[1].hi, 7100);
	assert_int_equal(cl->c[0].ncgroups, 1);
	/* virt-handler plus the four built-in globs, and libvirt's range both ways */
	assert_int_equal(cl->c[1].nthreads, 5);
	assert_int_equal(cl->c[1].nlports, 1);
	assert_int_equal(cl->c[1].lports[0].lo, 49152);
	assert_int_equal(cl->c[1].rports[0].hi, 49215);
	/* Asking again does not add the built-ins twice. */
	assert_int_equal(ns_tcp_classes()->c[1].nthreads, 5);
	ns_tcp_classes_reset();
}

static void bad(const char *body, const char *want)
{
	assert_int_equal(parse_yaml(body), -1);
	if (!strstr(errbuf, want))
		fail_msg("message \"%s\" lacks \"%s\"", errbuf, want);
	/* A rejected file leaves only the built-in class. */
	assert_int_equal(ns_tcp_classes()->n, 1);
}

static void test_bad_rules(void **state)
{
	(void)state;
	bad("tcp.classes:\n  - name: a\n    port: [1]\n",
	    "tcp.classes[0] (\"a\"): unknown key \"port\"");
	bad("tcp.classes:\n  - name: a\n    local_ports: [\"70000\"]\n",
	    "port 70000 out of range 1-65535");
	bad("tcp.classes:\n  - name: a\n    local_ports: [\"0\"]\n", "port 0 out of range");
	bad("tcp.classes:\n  - name: a\n    local_ports: [\"80-x\"]\n", "want a port");
	bad("tcp.classes:\n  - name: a\n    remote_ports: [\"9-3\"]\n", "range 9-3 is backwards");
	bad("tcp.classes:\n  - name: a\n    threads: [\"\"]\n", "threads[0]: empty glob");
	bad("tcp.classes:\n  - name: a\n    threads: [[x]]\n", "threads: want a list of strings");
	bad("tcp.classes:\n  - name: a\n    cgroups: [\"/a/../b\"]\n",
	    "not an absolute cgroup path");
	bad("tcp.classes:\n  - name: a\n", "no rules");
	bad("tcp.classes:\n  - threads: [x]\n", "missing \"name\"");
	bad("tcp.classes:\n  - name: \"a b\"\n    threads: [x]\n", "must be 1-31 letters");
	bad("tcp.classes:\n  - name: a\n    threads: [x]\n  - name: a\n    threads: [y]\n",
	    "tcp.classes[1] (\"a\"): duplicate class name");
	bad("tcp.classes: 3\n", "want a list of classes");
	bad("tcp.classes:\n  - name: a\n    threads: [a,b,c,d,e,f,g,h,i,j,k,l,m]\n",
	    "too many thread globs");
}

static void test_too_many_classes(void **state)
{
	char body[4096] = "tcp.classes:\n";

	(void)state;
	for (int i = 0; i < 15; i++)
		snprintf(body + strlen(body), sizeof(body) - strlen(body),
			 "  - name: c%d\n    remote_ports: [\"%d\"]\n", i, 1000 + i);
	assert_int_equal(parse_yaml(body), 0);
	assert_int_equal(ns_tcp_classes()->n, 16);
	strcat(body, "  - name: c15\n    remote_ports: [\"2000\"]\n");
	bad(body, "too many classes");
}

static bool match(const char *pat, const char *comm)
{
	struct ns_tcp_glob g;

	assert_int_equal(ns_tcp_glob_compile(pat, 0, &g), 0);
	return ns_tcp_glob_match(&g, comm);
}

static void test_globs(void **state)
{
	struct ns_tcp_glob g;

	(void)state;
	assert_true(match("live_migration", "live_migration"));
	assert_false(match("live_migration", "live_migratio"));
	assert_false(match("live_migratio", "live_migration"));
	assert_true(match("multifdsend_*", "multifdsend_0"));
	assert_true(match("multifdsend_*", "multifdsend_"));
	assert_false(match("multifdsend_*", "multifdrecv_0"));
	assert_true(match("mig/*", "mig/src/send_1"));
	assert_false(match("mig/*", "xmig/src"));
	assert_true(match("*", ""));
	assert_true(match("*", "anything"));
	assert_true(match("a*b*c", "aXXbYYc"));
	assert_true(match("a*b*c", "abc"));
	assert_false(match("a*b*c", "aXXcYYb"));
	assert_true(match("*_worker", "io_worker"));
	assert_false(match("*_worker", "io_workers"));
	assert_true(match("CPU ?/KVM", "CPU 3/KVM"));
	assert_false(match("CPU ?/KVM", "CPU 12/KVM"));
	assert_true(match("a**b", "ab"));
	assert_true(match("a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaab"));
	assert_false(match("a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaa"));
	assert_int_equal(ns_tcp_glob_compile("", 0, &g), -1);
	assert_int_equal(ns_tcp_glob_compile("0123456789abcdef", 0, &g), -1);
	assert_int_equal(ns_tcp_glob_compile("0123456789abcde", 0, &g), 0);
	assert_int_equal(ns_tcp_glob_compile("***0123456789abcde", 0, &g), -1);
}

static void test_port_tables(void **state)
{
	static __u8 l[65536], r[65536];
	const struct ns_tcp_classes *cl;

	(void)state;
	assert_int_equal(parse_yaml("tcp.classes:\n"
				    "  - name: a\n    local_ports: [\"49200-49300\"]\n"
				    "  - name: b\n    local_ports: [\"100-200\", \"150\"]\n"
				    "    remote_ports: [\"49160\"]\n"),
			 0);
	cl = ns_tcp_classes();
	ns_tcp_port_tables(cl, l, r);
	assert_int_equal(l[49200], 0);      /* a wins over the built-in migration (id 2) */
	assert_int_equal(l[49199], 2);      /* libvirt's range */
	assert_int_equal(l[49300], 0);
	assert_int_equal(l[49301], NS_TCP_CLASS_OTHER);
	assert_int_equal(l[150], 1);
	assert_int_equal(l[99], NS_TCP_CLASS_OTHER);
	assert_int_equal(r[49160], 1);      /* b before migration */
	assert_int_equal(r[49161], 2);
	assert_int_equal(r[65535], NS_TCP_CLASS_OTHER);
	assert_int_equal(r[0], NS_TCP_CLASS_OTHER);
	ns_tcp_classes_reset();
}

static void test_globs_table(void **state)
{
	struct ns_tcp_glob g[NS_TCP_MAX_GLOBS];
	const struct ns_tcp_classes *cl;
	int n;

	(void)state;
	assert_int_equal(parse_yaml("tcp.classes:\n  - name: a\n    threads: [\"x*\", y]\n"), 0);
	cl = ns_tcp_classes();
	n = ns_tcp_globs(cl, g);
	assert_int_equal(n, 6);
	assert_int_equal(g[0].class, 0);
	assert_int_equal(g[2].class, 1); /* migration's live_migration */
	assert_true(ns_tcp_glob_match(&g[3], "multifdsend_3"));
	ns_tcp_classes_reset();
}

static int incoming(const char *const *args, int n, unsigned int *port)
{
	char buf[1024];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(args[i]) + 1;

		memcpy(buf + len, args[i], l);
		len += l;
	}
	return ns_qemu_incoming_port(buf, len, port);
}

/* PORT of "qemu -incoming VALUE", or -ENOENT. */
static int inc1(const char *value)
{
	unsigned int p = 0;
	int rc = incoming((const char *[]){ "qemu", "-incoming", value }, 3, &p);

	return rc ? rc : (int)p;
}

static void test_qemu_incoming(void **state)
{
	unsigned int p = 0;

	(void)state;
	assert_int_equal(inc1("tcp:127.0.0.1:4444"), 4444);
	assert_int_equal(inc1("tcp:[::]:49152,ipv6=on"), 49152);
	assert_int_equal(inc1("tcp:0:5"), 5);
	assert_int_equal(inc1("{\"channel-type\": \"main\", \"addr\": {\"transport\": "
			      "\"socket\", \"type\": \"inet\", \"host\": \"::\", "
			      "\"port\": \"7777\"}}"),
			 7777);
	assert_int_equal(inc1("defer"), -ENOENT);
	assert_int_equal(inc1("unix:/tmp/s"), -ENOENT);
	assert_int_equal(inc1("tcp:h:99999"), -ENOENT);
	assert_int_equal(inc1("tcp:h:"), -ENOENT);
	assert_int_equal(incoming((const char *[]){ "qemu", "--incoming", "tcp:0:6" }, 3, &p), 0);
	assert_int_equal(p, 6);
	assert_int_equal(incoming((const char *[]){ "qemu", "-incoming" }, 2, &p), -ENOENT);
	assert_int_equal(incoming((const char *[]){ "qemu", "-name", "tcp:1:2" }, 3, &p), -ENOENT);
	/* defer first, a tcp one later */
	assert_int_equal(
		incoming((const char *[]){ "q", "-incoming", "defer", "-incoming", "tcp::9" }, 5, &p),
		0);
	assert_int_equal(p, 9);
}

/* /proc/net/tcp and tcp6 tables: only a LISTEN (0A) row on the local port counts. */
static void test_tcp_table_listens(void **state)
{
	static const char v4[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
		"   0: 0100007F:7530 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
		"   1: 0100007F:7531 0100007F:C350 01 00000000:00000000 00:00000000 00000000\n";
	static const char v6[] =
		"  sl  local_address                         remote_address                        st\n"
		"   0: 00000000000000000000000000000000:C000 00000000000000000000000000000000:0000 0A\n";

	(void)state;
	assert_true(ns_tcp_table_listens(v4, 30000));
	assert_false(ns_tcp_table_listens(v4, 30001)); /* established, not listening */
	assert_false(ns_tcp_table_listens(v4, 50000)); /* a remote port */
	assert_true(ns_tcp_table_listens(v6, 49152));
	assert_false(ns_tcp_table_listens(v6, 0xC0));
	assert_false(ns_tcp_table_listens("", 1));
	assert_false(ns_tcp_table_listens("header only\n", 1));
	assert_false(ns_tcp_table_listens("h\n   0: garbage\n   1: 0:1 0:0\n", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_only),     cmocka_unit_test(test_parse_and_merge),
		cmocka_unit_test(test_bad_rules),        cmocka_unit_test(test_too_many_classes),
		cmocka_unit_test(test_globs),            cmocka_unit_test(test_port_tables),
		cmocka_unit_test(test_globs_table),      cmocka_unit_test(test_qemu_incoming),
		cmocka_unit_test(test_tcp_table_listens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
