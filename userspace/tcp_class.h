/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP traffic classes: the `tcp.classes:` config section, the built-in `migration` class, and
 * their compiled forms for bpf/tcp.bpf.c (port tables, thread-name glob tables, cgroup rules).
 *
 *   tcp.classes:
 *     - name: storage
 *       threads: ["iscsid", "tgtd*"]        # thread-name globs ('*' and '?'), <= 15 chars
 *       local_ports: ["3260", "7000-7100"]  # sockets we accepted on these ports
 *       remote_ports: ["3260"]              # sockets we connected to these ports
 *       cgroups: ["/system.slice/iscsid.service"]  # cgroup v2 directories and below
 *
 * A socket belongs to the first class (in file order) any of whose rules match; the built-in
 * `migration` class comes after the file's classes unless the file names a class `migration`,
 * which then adds its rules to the built-in ones at its own position. Everything else: `other`.
 */
#ifndef NOVASCOPE_TCP_CLASS_H
#define NOVASCOPE_TCP_CLASS_H

#include <stdbool.h>
#include <stdio.h>
#include <yaml.h>
#include <linux/types.h>
#include "novascope/tcp.h"

#define NS_TCP_MAX_RANGES 32
#define NS_TCP_NAME_MAX 32

struct ns_config;

struct ns_tcp_range {
	unsigned int lo, hi;
};

struct ns_tcp_class_def {
	char name[NS_TCP_NAME_MAX];
	char *threads[NS_TCP_MAX_GLOBS];
	int nthreads;
	struct ns_tcp_range lports[NS_TCP_MAX_RANGES];
	int nlports;
	struct ns_tcp_range rports[NS_TCP_MAX_RANGES];
	int nrports;
	char *cgroups[NS_TCP_MAX_CGROUPS];
	int ncgroups;
};

struct ns_tcp_classes {
	int n; /* classes, in precedence order (ids 0..n-1) */
	int migration; /* id of the migration class */
	struct ns_tcp_class_def c[NS_TCP_MAX_CLASSES];
};

/* Config section `tcp.classes` (see config_sections.c). 0, or -1 with a message on err. */
int ns_tcp_classes_parse(struct ns_config *c, yaml_document_t *doc, yaml_node_t *node, FILE *err);
/* The classes in effect: the config file's (if any) merged with the built-in migration one. */
const struct ns_tcp_classes *ns_tcp_classes(void);
/* Forget the config file's classes (tests). */
void ns_tcp_classes_reset(void);
/* "other" for NS_TCP_CLASS_OTHER or an unknown id. */
const char *ns_tcp_class_name(const struct ns_tcp_classes *cl, unsigned int id);

/* Compile a glob ('*' any run, '?' any one character) into shift-and tables; -1 if it is
 * empty or longer than a thread name once runs of '*' are collapsed. */
int ns_tcp_glob_compile(const char *pat, unsigned int class, struct ns_tcp_glob *g);
/* The same walk the BPF side does (bpf/tcp_class.bpf.h: thread_class()). */
bool ns_tcp_glob_match(const struct ns_tcp_glob *g, const char *comm);
/* All globs of all classes, in class order; returns how many (<= NS_TCP_MAX_GLOBS). */
int ns_tcp_globs(const struct ns_tcp_classes *cl, struct ns_tcp_glob *out);
/* port -> lowest class id covering it, NS_TCP_CLASS_OTHER where none (65536 entries each). */
void ns_tcp_port_tables(const struct ns_tcp_classes *cl, __u8 *lport, __u8 *rport);
/* "N" or "N-M" with 1 <= N <= M <= 65535. 0 or -1 with why filled. */
int ns_tcp_parse_range(const char *s, struct ns_tcp_range *r, char *why, size_t n);

#endif
