/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Configuration: flags in the Prometheus-exporter style, and a YAML config file that can set
 * every flag (same name, without the dashes) plus structured sections that do not fit a flag.
 * Flags given on the command line win over the file.
 */
#ifndef NOVASCOPE_CONFIG_H
#define NOVASCOPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NS_MAX_LIST 16

struct ns_strlist {
	char *v[NS_MAX_LIST];
	int n;
};

struct ns_config {
	/* web */
	char *listen_address;
	char *telemetry_path;
	char *web_config_file;
	/* collection */
	uint64_t interval_ns;
	bool bpf_stats;
	char *probes;
	unsigned int max_series;
	unsigned int summary_top;
	/* process */
	char *config_file;
	char *log_level;
	char *log_format;
	bool version;
	bool help;
	bool list_probes;
	/* pinning */
	char *pin_path;
	unsigned int ringbuf_size;
	/* least privilege */
	char *keep_caps;
	char *run_user;
	/* syscall probe */
	char *syscall_cgroup;
	/* rdma probes */
	char *rdma_sysfs_root;
	char *rdma_lib_path;
	bool rdma_uprobe_multi;
	/* sched probe */
	unsigned int sched_cgroup_depth;
	unsigned int sched_max_cgroups;
	char *sched_accounting;
	/* tcp probe */
	bool tcp_per_netns;
	char *tcp_owner_hooks; /* dynamic | always */
	/* alert delivery */
	struct ns_strlist alertmanager_urls;
	uint64_t alertmanager_timeout_ns;
	uint64_t alertmanager_resend_ns;
	/* block probe */
	uint64_t block_slow_threshold_ns;
	/* report / selftest subcommands */
	uint64_t report_duration_ns;
	unsigned int report_top;

	/* Subcommand (NULL for the daemon) and its positional arguments. */
	const char *command;
	const char *args[4];
	int nargs;
	/* The parsed config file's YAML document (yaml_document_t *), or NULL. */
	void *yaml;
};

/* Parse argv then the config file. On error, print a message naming the problem to err and
 * return -1 (the caller exits with status 2). */
int ns_config_parse(struct ns_config *c, int argc, char **argv, FILE *err);
void ns_config_free(struct ns_config *c);
void ns_config_usage(FILE *out);
/* The configuration of this run (set by a successful ns_config_parse): probes whose check()
 * depends on a flag (e.g. where a user-space library lives) read it here. NULL before. */
extern const struct ns_config *ns_config_active;

/* Helpers shared with modules that parse their own values. Return 0 or -1. */
int ns_parse_duration(const char *s, uint64_t *ns);
int ns_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
int ns_parse_bool(const char *s, bool *out);
/* host:port or :port; host may be [v6]. Splits into host (empty for any) and port. */
int ns_parse_listen(const char *s, char *host, size_t hostlen, unsigned int *port);

#endif
