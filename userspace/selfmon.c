// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "probe.h"
#include "probe_util.h"
#include "selfmon.h"

static const struct ns_family_desc build_desc = {
	.name = "novascope_build_info",
	.help = "Build information of the running collector.",
	.type = NS_GAUGE,
	.labels = {"version", "libbpf"},
};
static const struct ns_family_desc up_desc = {
	.name = "novascope_probe_up",
	.help = "1 when the probe is loaded and attached, 0 when it is down or unsupported.",
	.type = NS_GAUGE,
	.labels = {"probe"},
};
static const struct ns_family_desc dur_desc = {
	.name = "novascope_collect_duration_seconds",
	.help = "Time one collection (read maps, render, compress) took.",
	.type = NS_HISTOGRAM,
	.min_slot = 12, /* 8us */
	.max_slot = 31, /* ~4s */
	.scale = 1e-9,
};
static const struct ns_family_desc run_time_desc = {
	.name = "novascope_bpf_run_time_seconds_total",
	.help = "CPU time spent in the probe's BPF programs (while BPF run-time stats are on).",
	.type = NS_COUNTER,
	.labels = {"probe"},
};
static const struct ns_family_desc run_cnt_desc = {
	.name = "novascope_bpf_run_count_total",
	.help = "Runs of the probe's BPF programs (while BPF run-time stats are on).",
	.type = NS_COUNTER,
	.labels = {"probe"},
};
static const struct ns_family_desc drops_desc = {
	.name = "novascope_events_dropped_total",
	.help = "Ring-buffer events the kernel side could not deliver (buffer full).",
	.type = NS_COUNTER,
	.labels = {"probe"},
};
static const struct ns_family_desc misses_desc = {
	.name = "novascope_bpf_recursion_misses_total",
	.help = "Runs of the probe's BPF programs the kernel skipped: the program was already "
		"running on that CPU (interrupted by, e.g., a softirq hitting the same hook).",
	.type = NS_COUNTER,
	.labels = {"probe"},
};
static const struct ns_family_desc rss_desc = {
	.name = "process_resident_memory_bytes",
	.help = "Resident memory size of the collector in bytes.",
	.type = NS_GAUGE,
};
static const struct ns_family_desc cpu_desc = {
	.name = "process_cpu_seconds_total",
	.help = "User and system CPU time spent by the collector in seconds.",
	.type = NS_COUNTER,
};

/* Kernel counters are cumulative: move the series to the new total (no backwards step). */
static void counter_to(struct ns_series *s, double total)
{
	if (total >= s->value)
		ns_counter_add(s, total - s->value);
}

static void process_stats(struct ns_registry *r)
{
	long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK);
	unsigned long long ut = 0, st = 0, rss_pages = 0, size;
	FILE *f;
	struct ns_series *s;

	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &size, &rss_pages) == 2) {
			s = ns_series(ns_family(r, &rss_desc), NULL);
			ns_gauge_set(s, (double)rss_pages * (double)page);
			ns_series_touch(r, s);
		}
		fclose(f);
	}
	f = fopen("/proc/self/stat", "r");
	if (f) {
		char buf[1024], *p = NULL;

		if (fgets(buf, sizeof(buf), f))
			p = strrchr(buf, ')'); /* comm may contain spaces */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
				&st) == 2) {
			s = ns_series(ns_family(r, &cpu_desc), NULL);
			counter_to(s, (double)(ut + st) / (double)tck);
			ns_series_touch(r, s);
		}
		fclose(f);
	}
}

void ns_selfmon_collect(struct ns_registry *r, uint64_t collect_ns)
{
	char libbpf[32];
	struct ns_series *s;

	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	s = ns_series(ns_family(r, &build_desc), NS_LV(NS_VERSION, libbpf));
	ns_gauge_set(s, 1);
	ns_series_touch(r, s);
	s = ns_series(ns_family(r, &dur_desc), NULL);
	if (collect_ns)
		ns_hist_observe(s, collect_ns);
	ns_series_touch(r, s);
	ns_for_each_probe (p) {
		__u64 run_ns, run_cnt;

		s = ns_series(ns_family(r, &up_desc), NS_LV(p->ops->name));
		ns_gauge_set(s, p->state == NS_PROBE_UP);
		ns_series_touch(r, s);
		if (p->state != NS_PROBE_UP)
			continue;
		if (ns_prog_bpf_stats(p->obj, &run_ns, &run_cnt)) {
			s = ns_series(ns_family(r, &run_time_desc), NS_LV(p->ops->name));
			counter_to(s, (double)run_ns / 1e9);
			ns_series_touch(r, s);
			s = ns_series(ns_family(r, &run_cnt_desc), NS_LV(p->ops->name));
			counter_to(s, (double)run_cnt);
			ns_series_touch(r, s);
		}
		if (p->obj) {
			s = ns_series(ns_family(r, &misses_desc), NS_LV(p->ops->name));
			counter_to(s, (double)ns_prog_recursion_misses(p->obj));
			ns_series_touch(r, s);
		}
		if (p->drops) {
			s = ns_series(ns_family(r, &drops_desc), NS_LV(p->ops->name));
			counter_to(s, (double)ns_percpu_u64_sum(p->drops, 0));
			ns_series_touch(r, s);
		}
	}
	process_stats(r);
}

char *ns_health_json(double uptime_s, unsigned int *code, size_t *len)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	bool healthy = true;
	char *out;

	ns_for_each_probe (p) {
		struct json_object *o = json_object_new_object();
		bool up = p->state == NS_PROBE_UP;

		json_object_object_add(o, "name", json_object_new_string(p->ops->name));
		json_object_object_add(o, "state", json_object_new_string(up ? "up" : "down"));
		json_object_object_add(o, "enabled", json_object_new_boolean(p->selected));
		json_object_object_add(o, "hook", json_object_new_string(p->hook));
		if (!up)
			json_object_object_add(
				o, "reason",
				json_object_new_string(p->state == NS_PROBE_DISABLED
							       ? "not selected with --probes"
							       : p->reason));
		json_object_array_add(arr, o);
		if (p->selected && !up)
			healthy = false;
	}
	json_object_object_add(root, "status", json_object_new_string(healthy ? "ok" : "degraded"));
	json_object_object_add(root, "version", json_object_new_string(NS_VERSION));
	json_object_object_add(root, "uptime_seconds", json_object_new_double(uptime_s));
	json_object_object_add(root, "probes", arr);
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	*code = healthy ? 200 : 503;
	if (out)
		*len = strlen(out);
	return out;
}

void ns_list_probes(void)
{
	printf("%-14s %-11s %-44s %s\n", "PROBE", "SUPPORTED", "HOOK", "DETAIL");
	ns_for_each_probe (p) {
		bool ok = p->state != NS_PROBE_UNSUPPORTED;

		printf("%-14s %-11s %-44s %s\n", p->ops->name, ok ? "yes" : "no",
		       *p->hook ? p->hook : "-", ok ? p->ops->description : p->reason);
	}
}
