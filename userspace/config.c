// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "config.h"
#include "config_sections.h"

enum opt_type { O_STR, O_BOOL, O_DURATION, O_UINT, O_LIST };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	const char *def;
	const char *help;
	unsigned long long max; /* O_UINT upper bound; O_DURATION minimum in ns */
};

#define F(x) offsetof(struct ns_config, x)

static const struct opt opts[] = {
	{"web.listen-address", O_STR, F(listen_address), ":9469",
	 "Address to listen on for the web interface and telemetry ([host]:port)."},
	{"web.telemetry-path", O_STR, F(telemetry_path), "/metrics",
	 "Path under which to expose metrics."},
	{"web.config.file", O_STR, F(web_config_file), NULL,
	 "Path to a web config file (TLS and basic auth, exporter-toolkit format)."},
	{"collect.interval", O_DURATION, F(interval_ns), "1s",
	 "How often kernel maps are read and /metrics is rendered (100ms..1h).", 100000000ULL},
	{"collect.bpf-stats", O_BOOL, F(bpf_stats), "false",
	 "Enable kernel BPF run-time statistics for the agent's lifetime (BPF_ENABLE_STATS)."},
	{"probes", O_STR, F(probes), NULL,
	 "Comma-separated probes to enable (default: every probe this kernel supports)."},
	{"metrics.max-series", O_UINT, F(max_series), "2000",
	 "Default cap on series per metric family; beyond it labels fold into \"other\".", 1000000},
	{"summary.top", O_UINT, F(summary_top), "10",
	 "Label sets per histogram family in /metrics/summary (top N by count).", 10000},
	{"config.file", O_STR, F(config_file), NULL, "Path to the YAML configuration file."},
	{"log.level", O_STR, F(log_level), "info", "Log level: debug, info, warn, error."},
	{"log.format", O_STR, F(log_format), "text", "Log format: text or json."},
	{"bpf.pin-path", O_STR, F(pin_path), NULL,
	 "Pin links and counting maps in this bpffs directory so counts survive restarts."},
	{"bpf.ringbuf-size", O_UINT, F(ringbuf_size), "0",
	 "Size in bytes of every probe's event ring buffer (a power of 2, at least the page "
	 "size; 0: each probe's own, 256 KiB to 1 MiB).",
	 1U << 30},
	{"runtime.keep-caps", O_STR, F(keep_caps), NULL,
	 "Capabilities to keep once every probe is attached (comma list; default none)."},
	{"runtime.user", O_STR, F(run_user), NULL,
	 "Switch to this user once every probe is attached (when started as root)."},
	{"syscall.cgroup", O_STR, F(syscall_cgroup), NULL,
	 "Only trace syscalls of tasks in this cgroup v2 directory (and below)."},
	{"sched.cgroup-depth", O_UINT, F(sched_cgroup_depth), "0",
	 "cgroup label of the sched metrics: the path cut at this many levels; 0 = the level "
	 "naming a workload (systemd unit, Kubernetes pod, libvirt machine).",
	 64},
	{"sched.max-cgroups", O_UINT, F(sched_max_cgroups), "500",
	 "Most cgroup label values per sched metric, \"other\" included; the rest fold into "
	 "\"other\" (2..100000).",
	 100000},
	{"sched.accounting", O_STR, F(sched_accounting), "auto",
	 "How run-queue waits are measured: schedstat (the kernel's own sched_info, "
	 "CONFIG_SCHED_INFO), timestamps (wakeup/switch hooks), or auto (schedstat when the "
	 "kernel keeps it)."},
	{"tcp.per-netns", O_BOOL, F(tcp_per_netns), "false",
	 "Add a netns label (network namespace inode) to the TCP metrics."},
	{"tcp.owner-hooks", O_STR, F(tcp_owner_hooks), "dynamic",
	 "The send/receive hooks that find a new socket's owner: dynamic (attached only while "
	 "a socket waits for one) or always."},
	{"alertmanager.url", O_LIST, F(alertmanager_urls), NULL,
	 "Alertmanager to send alerts to (http[s]://host:port[/prefix]); repeat for several."},
	{"alertmanager.timeout", O_DURATION, F(alertmanager_timeout_ns), "10s",
	 "Timeout of one request to an Alertmanager.", 100000000ULL},
	{"alertmanager.resend-interval", O_DURATION, F(alertmanager_resend_ns), "1m",
	 "How often firing alerts are sent again (keep below Alertmanager's resolve_timeout).",
	 1000000000ULL},
	{"block.slow-threshold", O_DURATION, F(block_slow_threshold_ns), "50ms",
	 "Block requests with at least this device time are logged and counted per cgroup "
	 "(novascope_block_slow_io_total); 0 turns this off."},
	{"duration", O_DURATION, F(report_duration_ns), "10s",
	 "report: how long to trace before printing.", 1000000ULL},
	{"top", O_UINT, F(report_top), "10", "report: how many label sets to print.", 100000},
	{"version", O_BOOL, F(version), "false", "Print the version and exit."},
	{"help", O_BOOL, F(help), "false", "Show this help and exit."},
	{"list-probes", O_BOOL, F(list_probes), "false",
	 "List every probe, whether this kernel supports it, its hook, and exit."},
	{"rdma.sysfs-root", O_STR, F(rdma_sysfs_root), "/sys/class/infiniband",
	 "Directory of RDMA devices whose port counters, hw_counters and link state are read."},
	{"rdma.lib-path", O_STR, F(rdma_lib_path), NULL,
	 "Comma-separated librdmacm/libibverbs files or directories to attach uprobes to "
	 "(default: the dynamic linker's directories)."},
	{"rdma.uprobe-multi", O_BOOL, F(rdma_uprobe_multi), "true",
	 "Attach the RDMA library uprobes with uprobe_multi links when the kernel has them "
	 "(6.6+); false: one perf uprobe per function (each takes ~0.1s to detach)."},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

void ns_config_usage(FILE *out)
{
	fprintf(out, "usage: novascope [flags]\n"
		     "       novascope report <probe> [--duration 10s] [--top N] [flags]\n"
		     "       novascope selftest [--probes=...]\n"
		     "       novascope cleanup --bpf.pin-path=DIR\n"
		     "       novascope --list-probes\n\nFlags:\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		fprintf(out, "  --%s%s\n      %s", o->name, o->type == O_BOOL ? "" : "=VALUE",
			o->help);
		if (o->def && o->type != O_BOOL)
			fprintf(out, " (default: %s)", o->def);
		fputc('\n', out);
	}
}

int ns_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *u;
		double mult;
	} units[] = {{"ns", 1},	 {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
		     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},	  {"d", 86400e9}};
	double total = 0;
	const char *p = s;

	if (!s || !*s)
		return -1;
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v;
		size_t best = 0, bi = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p || v < 0)
			return -1;
		p = end;
		/* Longest unit that matches ("ms" before "m"). */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (!strncmp(p, units[i].u, l) && l > best)
				best = l, bi = i;
		}
		if (!best)
			return -1;
		total += v * units[bi].mult;
		p += best;
	}
	if (total > 1e18)
		return -1;
	*ns = (uint64_t)total;
	return 0;
}

int ns_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int ns_parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
		*out = false;
	else
		return -1;
	return 0;
}

int ns_parse_listen(const char *s, char *host, size_t hostlen, unsigned int *port)
{
	const char *colon = strrchr(s, ':');
	unsigned long long p;
	size_t hl;

	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (hl && s[0] == '[') {
		if (s[hl - 1] != ']')
			return -1;
		s++;
		hl -= 2;
	} else if (memchr(s, ':', hl)) {
		return -1; /* bare IPv6 needs brackets */
	}
	if (hl >= hostlen || ns_parse_uint(colon + 1, 65535, &p) || p == 0)
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	*port = (unsigned int)p;
	return 0;
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

static int set_opt(struct ns_config *c, const struct opt *o, const char *val, FILE *err,
		   const char *origin)
{
	char *base = (char *)c;
	unsigned long long u;
	uint64_t d;

	switch (o->type) {
	case O_STR:
		free(*(char **)(base + o->off));
		*(char **)(base + o->off) = strdup(val);
		return 0;
	case O_BOOL:
		if (!ns_parse_bool(val, (bool *)(base + o->off)))
			return 0;
		fprintf(err, "novascope: invalid value \"%s\" for %s%s: want true or false\n", val,
			origin, o->name);
		return -1;
	case O_UINT:
		if (!ns_parse_uint(val, o->max, &u)) {
			*(unsigned int *)(base + o->off) = (unsigned int)u;
			return 0;
		}
		fprintf(err, "novascope: invalid value \"%s\" for %s%s: want an integer 0..%llu\n",
			val, origin, o->name, o->max);
		return -1;
	case O_LIST: {
		struct ns_strlist *l = (struct ns_strlist *)(base + o->off);

		if (l->n == NS_MAX_LIST) {
			fprintf(err, "novascope: too many values for %s%s (at most %d)\n", origin,
				o->name, NS_MAX_LIST);
			return -1;
		}
		l->v[l->n] = strdup(val);
		if (!l->v[l->n])
			return -1;
		l->n++;
		return 0;
	}
	case O_DURATION:
		if (ns_parse_duration(val, &d)) {
			fprintf(err,
				"novascope: invalid value \"%s\" for %s%s: want a duration like "
				"500ms, 1s, 2m\n",
				val, origin, o->name);
			return -1;
		}
		if (d < o->max) {
			fprintf(err,
				"novascope: invalid value \"%s\" for %s%s: below the minimum of "
				"%llums\n",
				val, origin, o->name, o->max / 1000000);
			return -1;
		}
		*(uint64_t *)(base + o->off) = d;
		return 0;
	}
	return -1;
}

/* --name=value, --name value, --name (bool), --no-name (bool false). */
static int parse_args(struct ns_config *c, int argc, char **argv, bool *set, FILE *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val = NULL;
		const struct opt *o;
		size_t len;
		bool neg = false;

		if (a[0] != '-' || a[1] != '-') {
			if (a[0] == '-' && a[1]) {
				fprintf(err, "novascope: unknown flag %s (flags start with --)\n",
					a);
				return -1;
			}
			if (!c->command) {
				c->command = a;
			} else if (c->nargs < 4) {
				c->args[c->nargs++] = a;
			} else {
				fprintf(err, "novascope: unexpected argument \"%s\"\n", a);
				return -1;
			}
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(name, len);
		if (!o && len > 3 && !strncmp(name, "no-", 3)) {
			o = find_opt(name + 3, len - 3);
			neg = o && o->type == O_BOOL && !eq;
			if (!neg)
				o = NULL;
		}
		if (!o) {
			fprintf(err, "novascope: unknown flag --%.*s (see --help)\n", (int)len,
				name);
			return -1;
		}
		if (eq)
			val = eq + 1;
		else if (o->type == O_BOOL)
			val = neg ? "false" : "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(err, "novascope: flag --%s needs a value\n", o->name);
			return -1;
		}
		if (set_opt(c, o, val, err, "--"))
			return -1;
		set[o - opts] = true;
	}
	return 0;
}

const char *ns_yaml_scalar(yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value
						      : NULL;
}

yaml_node_t *ns_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(doc, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static int apply_key(struct ns_config *c, yaml_document_t *doc, const char *key, yaml_node_t *v,
		     const bool *set, FILE *err)
{
	const struct opt *o;
	const char *val;

	for (size_t i = 0; i < ns_config_nsections; i++)
		if (!strcmp(ns_config_sections[i].name, key))
			return ns_config_sections[i].parse(c, doc, v, err);
	if (key[0] == '-' && key[1] == '-')
		key += 2;
	o = find_opt(key, strlen(key));
	if (!o || o->off == F(config_file) || o->off == F(help) || o->off == F(version)) {
		fprintf(err, "novascope: %s: unknown key \"%s\"\n", c->config_file, key);
		return -1;
	}
	if (o->type == O_LIST && v && v->type == YAML_SEQUENCE_NODE) {
		if (set[o - opts])
			return 0; /* the command line wins */
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			val = ns_yaml_scalar(yaml_document_get_node(doc, *it));
			if (!val) {
				fprintf(err, "novascope: %s: key \"%s\" wants a list of values\n",
					c->config_file, key);
				return -1;
			}
			if (set_opt(c, o, val, err, "config key "))
				return -1;
		}
		return 0;
	}
	val = ns_yaml_scalar(v);
	if (!val) {
		fprintf(err, "novascope: %s: key \"%s\" wants a single value\n", c->config_file,
			key);
		return -1;
	}
	if (set[o - opts])
		return 0; /* the command line wins */
	return set_opt(c, o, val, err, "config key ");
}

static int parse_file(struct ns_config *c, const bool *set, FILE *err)
{
	yaml_parser_t parser;
	yaml_document_t *doc = calloc(1, sizeof(*doc));
	yaml_node_t *root;
	FILE *f = fopen(c->config_file, "r");
	int ret = -1;

	if (!f || !doc) {
		fprintf(err, "novascope: cannot open config file %s: %s\n", c->config_file,
			strerror(errno));
		free(doc);
		if (f)
			fclose(f);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, doc)) {
		fprintf(err, "novascope: %s:%zu:%zu: YAML error: %s\n", c->config_file,
			parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "unknown");
		free(doc);
		goto cleanup;
	}
	c->yaml = doc;
	root = yaml_document_get_root_node(doc);
	if (!root) { /* empty file: nothing to set */
		ret = 0;
		goto cleanup;
	}
	if (root->type != YAML_MAPPING_NODE) {
		fprintf(err, "novascope: %s: the top level must be a mapping of keys\n",
			c->config_file);
		goto cleanup;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(doc, p->key));

		if (!k) {
			fprintf(err, "novascope: %s: keys must be plain strings\n", c->config_file);
			goto cleanup;
		}
		if (apply_key(c, doc, k, yaml_document_get_node(doc, p->value), set, err))
			goto cleanup;
	}
	ret = 0;
cleanup:
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}

static int validate(struct ns_config *c, FILE *err)
{
	char host[256];
	unsigned int port;
	const char *tp = c->telemetry_path;

	if (ns_parse_listen(c->listen_address, host, sizeof(host), &port)) {
		fprintf(err,
			"novascope: invalid value \"%s\" for --web.listen-address: want "
			"[host]:port with port 1..65535\n",
			c->listen_address);
		return -1;
	}
	if (tp[0] != '/' || !strcmp(tp, "/health") || !strcmp(tp, "/metrics/summary") ||
	    !strcmp(tp, "/alerts") || strpbrk(tp, "?# ")) {
		fprintf(err,
			"novascope: invalid value \"%s\" for --web.telemetry-path: want a path "
			"starting with / other than /health, /metrics/summary, /alerts\n",
			tp);
		return -1;
	}
	if (c->interval_ns > 3600ULL * 1000000000ULL) {
		fprintf(err, "novascope: invalid value for --collect.interval: above the maximum "
			     "of 1h\n");
		return -1;
	}
	if (!strcmp(c->log_level, "debug") + !strcmp(c->log_level, "info") +
		    !strcmp(c->log_level, "warn") + !strcmp(c->log_level, "error") ==
	    0) {
		fprintf(err,
			"novascope: invalid value \"%s\" for --log.level: want debug, info, warn "
			"or error\n",
			c->log_level);
		return -1;
	}
	if (strcmp(c->log_format, "text") && strcmp(c->log_format, "json")) {
		fprintf(err,
			"novascope: invalid value \"%s\" for --log.format: want text or json\n",
			c->log_format);
		return -1;
	}
	if (strcmp(c->sched_accounting, "auto") && strcmp(c->sched_accounting, "schedstat") &&
	    strcmp(c->sched_accounting, "timestamps")) {
		fprintf(err,
			"novascope: invalid value \"%s\" for --sched.accounting: want auto, "
			"schedstat or timestamps\n",
			c->sched_accounting);
		return -1;
	}
	if (strcmp(c->tcp_owner_hooks, "dynamic") && strcmp(c->tcp_owner_hooks, "always")) {
		fprintf(err,
			"novascope: invalid value \"%s\" for --tcp.owner-hooks: want dynamic or "
			"always\n",
			c->tcp_owner_hooks);
		return -1;
	}
	if (c->sched_max_cgroups < 2) {
		fprintf(err,
			"novascope: invalid value %u for --sched.max-cgroups: want at least 2\n",
			c->sched_max_cgroups);
		return -1;
	}
	for (int i = 0; i < c->alertmanager_urls.n; i++) {
		const char *u = c->alertmanager_urls.v[i];

		if ((strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
		    !u[strcspn(u, ":") + 3] || u[strcspn(u, ":") + 3] == '/' ||
		    strpbrk(u, " \t\n")) {
			fprintf(err,
				"novascope: invalid value \"%s\" for --alertmanager.url: want "
				"http://host:port or https://host:port[/path]\n",
				u);
			return -1;
		}
	}
	if (c->ringbuf_size &&
	    (c->ringbuf_size < 4096 || (c->ringbuf_size & (c->ringbuf_size - 1)))) {
		fprintf(err,
			"novascope: invalid value %u for --bpf.ringbuf-size: want a power of 2, at "
			"least 4096\n",
			c->ringbuf_size);
		return -1;
	}
	if (c->max_series < 10) {
		fprintf(err,
			"novascope: invalid value %u for --metrics.max-series: want at least 10\n",
			c->max_series);
		return -1;
	}
	return 0;
}

const struct ns_config *ns_config_active;

int ns_config_parse(struct ns_config *c, int argc, char **argv, FILE *err)
{
	bool set[NOPTS] = {0};

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].def && set_opt(c, &opts[i], opts[i].def, err, "default "))
			return -1;
	if (parse_args(c, argc, argv, set, err))
		return -1;
	if (c->help || c->version)
		return 0;
	if (c->config_file && parse_file(c, set, err))
		return -1;
	if (validate(c, err))
		return -1;
	ns_config_active = c;
	return 0;
}

void ns_config_free(struct ns_config *c)
{
	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].type == O_STR) {
			free(*(char **)((char *)c + opts[i].off));
			*(char **)((char *)c + opts[i].off) = NULL;
		} else if (opts[i].type == O_LIST) {
			struct ns_strlist *l = (struct ns_strlist *)((char *)c + opts[i].off);

			while (l->n)
				free(l->v[--l->n]);
		}
	}
	if (c->yaml) {
		yaml_document_delete(c->yaml);
		free(c->yaml);
		c->yaml = NULL;
	}
}
