// SPDX-License-Identifier: GPL-2.0
/*
 * novascope: loads the probes, collects their maps once per interval into the registry,
 * renders /metrics, /metrics/summary and /health, and serves them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "carry.h"
#include "anomaly.h"
#include "config.h"
#include "expose.h"
#include "features.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "privs.h"
#include "probe.h"
#include "probe_util.h"
#include "report.h"
#include "selfmon.h"
#include "selftest.h"
#include "summary.h"
#include "webconfig.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (lvl == LIBBPF_DEBUG && ns_log_level() > NS_LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	ns_log(lvl == LIBBPF_WARN ? NS_LOG_DEBUG : NS_LOG_DEBUG, "libbpf", "detail", buf, NULL);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void setup_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: wake the loop */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Mark probes selected by --probes (or every supported one) and run their checks. */
static int select_probes(const struct ns_config *c)
{
	const struct ns_features *f = ns_features_get();
	char *list, *tok, *save = NULL;

	ns_for_each_probe (p) {
		p->state = p->ops->check(p, f) ? NS_PROBE_DISABLED : NS_PROBE_UNSUPPORTED;
		p->selected = !c->probes && p->state != NS_PROBE_UNSUPPORTED;
	}
	if (!c->probes)
		return 0;
	list = strdup(c->probes);
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct ns_probe *p = ns_probe_find(tok);

		if (!p) {
			fprintf(stderr, "novascope: unknown probe \"%s\" in --probes (known:", tok);
			ns_for_each_probe (q)
				fprintf(stderr, " %s", q->ops->name);
			fprintf(stderr, ")\n");
			free(list);
			return -1;
		}
		p->selected = true;
	}
	free(list);
	return 0;
}

static void start_probes(const struct ns_config *c)
{
	ns_for_each_probe (p) {
		int err;

		if (!p->selected || p->state == NS_PROBE_UNSUPPORTED)
			continue;
		err = p->ops->start(p, c);
		if (err) {
			p->ops->stop(p);
			p->state = NS_PROBE_DOWN;
			ns_log(NS_LOG_ERROR, "probe failed to start", "probe", p->ops->name,
			       "reason", p->reason, NULL);
			continue;
		}
		p->state = NS_PROBE_UP;
		ns_log(NS_LOG_INFO, "probe up", "probe", p->ops->name, "hook", p->hook, NULL);
	}
	ns_for_each_probe (p)
		if (p->selected && p->state == NS_PROBE_UNSUPPORTED)
			ns_log(NS_LOG_WARN, "probe unsupported on this kernel", "probe",
			       p->ops->name, "reason", p->reason, NULL);
}

static void stop_probes(void)
{
	ns_for_each_probe (p) {
		if (p->state == NS_PROBE_UP || p->priv)
			p->ops->stop(p);
		if (p->state == NS_PROBE_UP)
			p->state = NS_PROBE_DOWN;
	}
}

static int rb_event(void *ctx, void *data, size_t size)
{
	struct ns_probe *p = ctx;

	return p->ops->on_event ? p->ops->on_event(p, data, size) : 0;
}

static struct ring_buffer *setup_ringbufs(void)
{
	struct ring_buffer *rb = NULL;

	ns_for_each_probe (p) {
		struct bpf_map *m;

		if (p->state != NS_PROBE_UP || !p->ops->events_map || !(m = p->ops->events_map(p)))
			continue;
		if (!rb)
			rb = ring_buffer__new(bpf_map__fd(m), rb_event, p, NULL);
		else if (ring_buffer__add(rb, bpf_map__fd(m), rb_event, p))
			ns_log(NS_LOG_ERROR, "ring buffer", "probe", p->ops->name, NULL);
	}
	return rb;
}

/* One collection: read every probe, update self metrics, render and publish. */
static void collect_once(struct ns_registry *r, struct ns_http *h, const struct ns_config *c,
			 struct ns_anomaly *an, uint64_t started, uint64_t *last_ns)
{
	uint64_t t0 = now_ns();
	struct strbuf sb;
	char *text, *gz, *doc;
	size_t len, gzlen, dlen;
	unsigned int code;

	ns_registry_begin(r);
	ns_for_each_probe (p) {
		int err;

		if (p->state != NS_PROBE_UP)
			continue;
		err = p->ops->collect(p, r);
		if (err)
			ns_log(NS_LOG_WARN, "collect failed", "probe", p->ops->name, "error",
			       strerror(-err), NULL);
	}
	ns_selfmon_collect(r, *last_ns);
	if (an) /* not on the partial interval collected at shutdown */
		ns_anomaly_collect(an, r, (double)c->interval_ns / 1e9);
	ns_registry_sweep(r);
	ns_carry_save(r);
	sb_init(&sb, 64 * 1024);
	ns_expose_text(r, &sb);
	if (an)
		ns_anomaly_expose(an, &sb);
	text = sb_take(&sb, &len);
	gz = text ? ns_gzip(text, len, &gzlen) : NULL;
	if (h) {
		ns_http_publish(h, NS_DOC_METRICS, text, len);
		ns_http_publish(h, NS_DOC_METRICS_GZ, gz, gz ? gzlen : 0);
		doc = ns_summary_json(r, c->summary_top, (double)c->interval_ns / 1e9, &dlen);
		ns_http_publish(h, NS_DOC_SUMMARY, doc, doc ? dlen : 0);
		doc = ns_health_json((double)(now_ns() - started) / 1e9, &code, &dlen);
		ns_http_set_health_code(h, code);
		ns_http_publish(h, NS_DOC_HEALTH, doc, doc ? dlen : 0);
		doc = ns_anomaly_alerts_json(an, &dlen);
		ns_http_publish(h, NS_DOC_ALERTS, doc, doc ? dlen : 0);
	} else {
		free(text);
		free(gz);
	}
	*last_ns = now_ns() - t0;
}

static void tick_probes(void)
{
	ns_for_each_probe (p)
		if (p->state == NS_PROBE_UP && p->ops->tick)
			p->ops->tick(p);
}

/* Until deadline: ring-buffer events as they come, and the probes' ticks every 100 ms. */
static void wait_until(struct ring_buffer *rb, uint64_t deadline)
{
	while (!stopping) {
		uint64_t now = now_ns();
		int ms;

		if (now >= deadline)
			return;
		ms = (int)((deadline - now + 999999) / 1000000);
		ms = ms > 100 ? 100 : ms;
		if (rb) {
			/* Producers may use BPF_RB_NO_WAKEUP: consume what is there, then wait. */
			ring_buffer__consume(rb);
			if (ring_buffer__poll(rb, ms) < 0 && errno != EINTR)
				return;
		} else {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};

			nanosleep(&ts, NULL);
		}
		tick_probes();
	}
}

static int run_daemon(const struct ns_config *c, const struct ns_webconfig *web)
{
	struct ns_http_opts ho = {c->listen_address, c->telemetry_path, web};
	struct ns_registry *r = ns_registry_new(c->max_series);
	struct ns_anomaly *an = ns_anomaly_start(c, stderr);
	struct ring_buffer *rb;
	struct ns_http *h;
	uint64_t started = now_ns(), next, last_ns = 0;
	char err[256];
	int stats_fd = -1;
	sigset_t sigs;

	if (!an) {
		ns_registry_free(r);
		return 1;
	}
	if (c->bpf_stats) {
		/* The kernel turns the stats off again when this fd closes, even on SIGKILL. */
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			ns_log(NS_LOG_WARN, "cannot enable BPF run-time stats", "error",
			       strerror(errno), NULL);
	}
	start_probes(c);
	if (c->pin_path)
		ns_carry_open(r, c->pin_path);
	rb = setup_ringbufs();
	/* The web server's threads inherit this mask: SIGTERM/SIGINT must reach the main loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	h = ns_http_bind(&ho, err, sizeof(err));
	/* Every probe is attached and the port bound: nothing below needs privileges, and the
	 * web server's threads must start with the reduced set (capabilities are per thread). */
	if (h && ns_drop_privileges(c->keep_caps, c->run_user, err, sizeof(err))) {
		ns_http_stop(h);
		h = NULL;
	}
	if (h && ns_http_start(h, err, sizeof(err))) {
		ns_http_stop(h);
		h = NULL;
	}
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	if (!h) {
		ns_log(NS_LOG_ERROR, "start-up failed", "error", err, NULL);
		ring_buffer__free(rb);
		stop_probes();
		ns_anomaly_free(an);
		ns_registry_free(r);
		return 1;
	}
	ns_log(NS_LOG_INFO, "listening", "address", c->listen_address, "path", c->telemetry_path,
	       NULL);
	next = now_ns();
	while (!stopping) {
		if (rb)
			ring_buffer__consume(rb);
		collect_once(r, h, c, an, started, &last_ns);
		next += c->interval_ns;
		if (next < now_ns())
			next = now_ns() + c->interval_ns; /* fell behind: don't burst */
		wait_until(rb, next);
	}
	ns_log(NS_LOG_INFO, "shutting down", NULL);
	if (c->pin_path) {
		/* What was consumed since the last collection is carried to the next agent. */
		if (rb)
			ring_buffer__consume(rb);
		collect_once(r, NULL, c, NULL, started, &last_ns);
	}
	ns_carry_close(r);
	/* Detach first so nothing keeps tracing while the web server drains. */
	ring_buffer__free(rb);
	stop_probes();
	ns_log(NS_LOG_DEBUG, "probes detached", NULL);
	ns_http_stop(h);
	ns_log(NS_LOG_DEBUG, "web server stopped", NULL);
	ns_anomaly_free(an);
	ns_registry_free(r);
	if (stats_fd >= 0)
		close(stats_fd);
	return 0;
}

/* `novascope report <alias>` names a probe by its domain as users say it. */
static const char *const report_aliases[][2] = {
	{"disk", "block"}, {"runq", "sched"}, /* what an SRE who knows runqlat types */
};

static struct ns_probe *report_probe(const char *name)
{
	for (size_t i = 0; i < sizeof(report_aliases) / sizeof(report_aliases[0]); i++)
		if (!strcmp(name, report_aliases[i][0]))
			name = report_aliases[i][1];
	return ns_probe_find(name);
}

static int run_report(const struct ns_config *c)
{
	struct ns_probe *p = c->nargs ? report_probe(c->args[0]) : NULL;
	struct ring_buffer *rb = NULL;
	struct ns_registry *r;
	struct bpf_map *m;
	uint64_t deadline;
	int ret = 1;

	if (!p || (!p->ops->report_family && !p->ops->report)) {
		fprintf(stderr, "novascope: report needs a probe name: one of");
		ns_for_each_probe (q)
			if (q->ops->report_family || q->ops->report)
				fprintf(stderr, " %s", q->ops->name);
		for (size_t i = 0; i < sizeof(report_aliases) / sizeof(report_aliases[0]); i++)
			fprintf(stderr, " %s (= %s)", report_aliases[i][0], report_aliases[i][1]);
		fprintf(stderr, "\n");
		return 2;
	}
	if (p->state == NS_PROBE_UNSUPPORTED) {
		fprintf(stderr, "novascope: probe %s is not supported here: %s\n", p->ops->name,
			p->reason);
		return 1;
	}
	if (p->ops->start(p, c)) {
		fprintf(stderr, "novascope: probe %s failed: %s\n", p->ops->name, p->reason);
		p->ops->stop(p);
		return 1;
	}
	p->state = NS_PROBE_UP;
	if (p->ops->events_map && (m = p->ops->events_map(p)))
		rb = ring_buffer__new(bpf_map__fd(m), rb_event, p, NULL);
	r = ns_registry_new(c->max_series);
	fprintf(stderr, "Tracing %s for %.1fs (Ctrl-C to stop early)...\n", p->ops->name,
		(double)c->report_duration_ns / 1e9);
	deadline = now_ns() + c->report_duration_ns;
	wait_until(rb, deadline);
	if (rb)
		ring_buffer__consume(rb);
	ns_registry_begin(r);
	if (!p->ops->collect(p, r)) {
		const struct ns_family *f =
			p->ops->report_family ? ns_family_find(r, p->ops->report_family) : NULL;

		if (p->ops->report)
			p->ops->report(p, r, c->report_top, stdout);
		else if (f)
			ns_report_print(stdout, f, c->report_top);
		else
			printf("no events recorded\n");
		ret = 0;
	}
	ring_buffer__free(rb);
	p->ops->stop(p);
	ns_registry_free(r);
	return ret;
}

int main(int argc, char **argv)
{
	struct ns_config cfg;
	struct ns_webconfig web = {0};
	char err[640];
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	int ret;

	if (ns_config_parse(&cfg, argc, argv, stderr)) {
		ns_config_free(&cfg);
		return 2;
	}
	if (cfg.help) {
		ns_config_usage(stdout);
		goto out0;
	}
	if (cfg.version) {
		printf("novascope %s (libbpf %u.%u)\n", NS_VERSION, libbpf_major_version(),
		       libbpf_minor_version());
		goto out0;
	}
	ns_log_set_level(cfg.log_level);
	ns_log_set_format(cfg.log_format);
	libbpf_set_print(libbpf_log);
	setrlimit(RLIMIT_MEMLOCK, &rl); /* pre-5.11 kernels charge maps to memlock */
	if (cfg.command && strcmp(cfg.command, "report") && strcmp(cfg.command, "cleanup") &&
	    strcmp(cfg.command, "selftest")) {
		fprintf(stderr,
			"novascope: unknown command \"%s\" (want: report, selftest, cleanup)\n",
			cfg.command);
		ns_config_free(&cfg);
		return 2;
	}
	if (cfg.pin_path &&
	    (ns_mount_fs(), !ns_is_bpffs(cfg.pin_path) && !ns_is_bpffs_parent(cfg.pin_path))) {
		fprintf(stderr,
			"novascope: invalid value \"%s\" for --bpf.pin-path: not on a bpf "
			"filesystem (mount -t bpf bpf /sys/fs/bpf)\n",
			cfg.pin_path);
		ns_config_free(&cfg);
		return 2;
	}
	if (cfg.command && !strcmp(cfg.command, "cleanup")) {
		if (!cfg.pin_path) {
			fprintf(stderr, "novascope: cleanup needs --bpf.pin-path\n");
			ns_config_free(&cfg);
			return 2;
		}
		printf("removed %d pinned objects under %s\n", ns_pins_cleanup(cfg.pin_path),
		       cfg.pin_path);
		goto out0;
	}
	if (select_probes(&cfg)) {
		ns_config_free(&cfg);
		return 2;
	}
	if (cfg.list_probes) {
		ns_list_probes();
		goto out0;
	}
	if (ns_caps_parse(cfg.keep_caps, err, sizeof(err))) {
		fprintf(stderr, "novascope: %s\n", err);
		ns_config_free(&cfg);
		return 2;
	}
	if (cfg.web_config_file && ns_webconfig_load(cfg.web_config_file, &web, err, sizeof(err))) {
		fprintf(stderr, "novascope: %s\n", err);
		ns_config_free(&cfg);
		return 2;
	}
	if (cfg.command && cfg.pin_path) {
		/* report and selftest must never take over a running agent's pinned links. */
		free(cfg.pin_path);
		cfg.pin_path = NULL;
	}
	ns_ringbuf_size = cfg.ringbuf_size;
	setup_signals();
	if (!cfg.command)
		ret = run_daemon(&cfg, &web);
	else if (!strcmp(cfg.command, "selftest"))
		ret = ns_selftest_run(&cfg);
	else
		ret = run_report(&cfg);
	ns_webconfig_free(&web);
	ns_config_free(&cfg);
	return ret;
out0:
	ns_config_free(&cfg);
	return 0;
}
