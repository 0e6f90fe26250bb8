// SPDX-License-Identifier: GPL-2.0
/*
 * The sched probe's raw_tp flavour (the fallback for kernels without tp_btf or task storage:
 * enqueue times in a pid-keyed LRU hash, fields through bpf_probe_read_kernel), attached for
 * real on this kernel, where the daemon itself would pick tp_btf. This thread moves into its own
 * cgroup v2 directory, shares its CPU with two busy children, and must find in the cgroup's key:
 * its voluntary/involuntary switches exactly as /proc counts them, and a run-queue wait sum
 * within 5% of its run_delay growth. Then, in both flavours, vCPU threads are told apart by
 * name: processes whose thread is called "CPU <n>/KVM" or "CPU <n>/TCG" (QEMU with and without
 * KVM) get run-queue waits in vcpu_stats, look-alike names do not. Needs root; skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attrib.h"
#include "probe_util.h"
#include "novascope/sched.h"
#include "sched.skel.h"

struct proc_counts {
	unsigned long long run_delay, vol, invol;
};

static void read_counts(struct proc_counts *c)
{
	char line[256];
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%*u %llu", &c->run_delay), 1);
	fclose(f);
	f = fopen("/proc/thread-self/status", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "voluntary_ctxt_switches: %llu", &c->vol);
		sscanf(line, "nonvoluntary_ctxt_switches: %llu", &c->invol);
	}
	fclose(f);
}

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spin 2ms of CPU, sleep 200us, for a second: waits after wakeups and after preemption. */
static void work(void)
{
	struct timespec nap = { 0, 200000 };
	double end = now(CLOCK_MONOTONIC) + 1.0;

	while (now(CLOCK_MONOTONIC) < end) {
		double spin = now(CLOCK_THREAD_CPUTIME_ID) + 0.002;

		while (now(CLOCK_THREAD_CPUTIME_ID) < spin)
			;
		nanosleep(&nap, NULL);
	}
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_true(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
	close(fd);
}

/* What a failed assertion must not leave behind: spinning children, our cgroup, the links. */
static struct {
	pid_t hogs[2], named[5];
	char dir[256], home[600], pid[32];
	struct sched_bpf *skel;
	bool moved;
} fx;

static void stop_hogs(void)
{
	for (int i = 0; i < 2; i++) {
		if (fx.hogs[i] > 0) {
			kill(fx.hogs[i], SIGKILL);
			waitpid(fx.hogs[i], NULL, 0);
		}
		fx.hogs[i] = 0;
	}
}

static void stop_named(void)
{
	for (size_t i = 0; i < sizeof(fx.named) / sizeof(fx.named[0]); i++) {
		if (fx.named[i] > 0) {
			kill(fx.named[i], SIGKILL);
			waitpid(fx.named[i], NULL, 0);
		}
		fx.named[i] = 0;
	}
}

static int teardown(void **state)
{
	(void)state;
	if (fx.moved)
		write_str(fx.home, fx.pid);
	stop_hogs();
	stop_named();
	sched_bpf__destroy(fx.skel);
	if (*fx.dir)
		rmdir(fx.dir);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

static void test_raw_tp_flavour(void **state)
{
	char procs[600];
	struct ns_sched_cg_stat sum = { 0 };
	struct proc_counts a, b;
	struct sched_bpf *s;
	struct stat st;
	cpu_set_t cpus;
	int ncpu = ns_nr_cpus(), cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	struct ns_sched_cg_stat *v = calloc((size_t)ncpu, sizeof(*v));
	__u64 id;

	(void)state;
	if (geteuid() != 0 || !ns_cgroup2_root())
		skip();
	/* Our own cgroup, so that its key holds only this thread. */
	snprintf(fx.dir, sizeof(fx.dir), "%.200s/novascope-unit-%d", ns_cgroup2_root(), getpid());
	assert_int_equal(mkdir(fx.dir, 0755), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", fx.dir);
	snprintf(fx.home, sizeof(fx.home), "%.200s/cgroup.procs", ns_cgroup2_root());
	snprintf(fx.pid, sizeof(fx.pid), "%d", getpid());
	assert_int_equal(stat(fx.dir, &st), 0);
	id = st.st_ino;
	s = fx.skel = sched_bpf__open();
	assert_non_null(s);
	ns_drop_flavour(s->obj, "_btf");
	bpf_map__set_autocreate(s->maps.enq, false);
	assert_int_equal(sched_bpf__load(s), 0);
	assert_int_equal(sched_bpf__attach(s), 0);

	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	assert_int_equal(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
	for (int i = 0; i < 2; i++) {
		fx.hogs[i] = fork();
		if (!fx.hogs[i])
			for (;;)
				;
	}
	write_str(procs, fx.pid);
	fx.moved = true;
	read_counts(&a);
	work();
	read_counts(&b);
	write_str(fx.home, fx.pid);
	fx.moved = false;
	stop_hogs();
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(s->maps.cg_stats), &id, v), 0);
	for (int c = 0; c < ncpu; c++) {
		sum.lat.sum += v[c].lat.sum;
		sum.nvcsw += v[c].nvcsw;
		sum.nivcsw += v[c].nivcsw;
	}
	free(v);
	printf("raw_tp: waits %.6fs (run_delay %.6fs), switches %llu/%llu (kernel %llu/%llu)\n",
	       (double)sum.lat.sum / 1e9, (double)(b.run_delay - a.run_delay) / 1e9,
	       (unsigned long long)sum.nvcsw, (unsigned long long)sum.nivcsw, b.vol - a.vol,
	       b.invol - a.invol);
	/* A switch or two around the reads (the write to cgroup.procs) may land in the key. */
	assert_true(b.run_delay - a.run_delay > 100000000ULL); /* real contention happened */
	assert_true((double)sum.lat.sum >= 0.95 * (double)(b.run_delay - a.run_delay));
	assert_true((double)sum.lat.sum <= 1.05 * (double)(b.run_delay - a.run_delay));
	assert_true(sum.nvcsw >= b.vol - a.vol && sum.nvcsw <= b.vol - a.vol + 2);
	assert_true(sum.nivcsw >= b.invol - a.invol && sum.nivcsw <= b.invol - a.invol + 2);
}

/* Sum of the vCPU run-queue waits (ns) recorded for tgid; -1 when it has no key. */
static long long vcpu_wait(struct sched_bpf *s, __u32 tgid)
{
	int ncpu = ns_nr_cpus();
	struct ns_sched_vcpu_stat *v = calloc((size_t)ncpu, sizeof(*v));
	long long sum = 0;

	assert_non_null(v);
	if (bpf_map_lookup_elem(bpf_map__fd(s->maps.vcpu_stats), &tgid, v)) {
		free(v);
		return -1;
	}
	for (int c = 0; c < ncpu; c++)
		sum += (long long)v[c].lat.sum;
	free(v);
	return sum;
}

/* One process per name, each one spinning thread so named, all sharing the last CPU for 0.4s. */
static void check_vcpu_names(bool btf)
{
	static const char *const names[] = { "CPU 0/KVM", "CPU 1/TCG", "CPU 2/TCX", "CPU 3/TC",
					     "ALL CPUs/TCG" };
	static const bool vcpu[] = { true, true, false, false, false };
	const size_t n = sizeof(names) / sizeof(names[0]);
	pid_t pids[sizeof(names) / sizeof(names[0])];
	struct sched_bpf *s;
	cpu_set_t cpus;
	int cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;

	if (geteuid() != 0)
		skip();
	s = fx.skel = sched_bpf__open();
	assert_non_null(s);
	/* Each flavour as the probe sets it up: tp_btf reads the kernel's run_delay, raw_tp takes
	 * timestamps. */
	ns_drop_flavour(s->obj, btf ? "_raw" : "_btf");
	bpf_map__set_autocreate(btf ? s->maps.enq_pid : s->maps.enq, false);
	s->rodata->kernel_delay = btf;
	assert_int_equal(sched_bpf__load(s), 0);
	assert_int_equal(sched_bpf__attach(s), 0);

	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	for (size_t i = 0; i < n; i++) {
		pids[i] = fx.named[i] = fork();
		assert_true(pids[i] >= 0);
		if (!pids[i]) {
			if (prctl(PR_SET_NAME, names[i]) ||
			    sched_setaffinity(0, sizeof(cpus), &cpus))
				_exit(1);
			for (;;)
				;
		}
	}
	usleep(400000);
	stop_named();
	for (size_t i = 0; i < n; i++) {
		long long w = vcpu_wait(s, (__u32)pids[i]);

		printf("%s: %-12s vCPU run-queue wait %.6fs%s\n", btf ? "tp_btf" : "raw_tp",
		       names[i], w < 0 ? 0.0 : (double)w / 1e9, w < 0 ? " (no key)" : "");
		if (vcpu[i])
			assert_true(w > 0); /* waited behind the other four */
		else
			assert_true(w < 0);
	}
}

static void test_vcpu_names_btf(void **state)
{
	(void)state;
	check_vcpu_names(true);
}

static void test_vcpu_names_raw_tp(void **state)
{
	(void)state;
	check_vcpu_names(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_raw_tp_flavour, teardown),
		cmocka_unit_test_teardown(test_vcpu_names_btf, teardown),
		cmocka_unit_test_teardown(test_vcpu_names_raw_tp, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
