// SPDX-License-Identifier: GPL-2.0
/*
 * Pipe ping-pong between two processes pinned to one CPU: every round trip is two task-to-task
 * switches and two wakeups. Prints, per sample, the CPU time of both processes per round trip in
 * ns, read from their CPU-time clocks around the loop only (no process start-up in it, unlike a
 * command timed from outside).
 * Usage: pipe_pingpong [LOOPS] [SAMPLES] [CPU]
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long cpu_ns(clockid_t c)
{
	struct timespec ts;

	if (clock_gettime(c, &ts))
		return -1;
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void child_loop(int in, int out)
{
	char b;

	while (read(in, &b, 1) == 1)
		if (write(out, &b, 1) != 1)
			break;
	_exit(0);
}

static int run(long loops, long samples, int in, int out, pid_t child)
{
	clockid_t cc;
	char b = 'x';

	if (clock_getcpuclockid(child, &cc)) {
		fprintf(stderr, "pipe_pingpong: child CPU clock: %s\n", strerror(errno));
		return 1;
	}
	for (long s = 0; s < samples; s++) {
		long long t0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) + cpu_ns(cc), t1;

		for (long i = 0; i < loops; i++)
			if (write(out, &b, 1) != 1 || read(in, &b, 1) != 1) {
				fprintf(stderr, "pipe_pingpong: pipe: %s\n", strerror(errno));
				return 1;
			}
		t1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) + cpu_ns(cc);
		printf("%.1f\n", (double)(t1 - t0) / loops);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long loops = argc > 1 ? atol(argv[1]) : 20000, samples = argc > 2 ? atol(argv[2]) : 5;
	int cpu = argc > 3 ? atoi(argv[3]) : 0, to_child[2], to_parent[2], rc, st;
	cpu_set_t set;
	pid_t child;

	if (loops <= 0 || samples <= 0 || cpu < 0 || cpu >= CPU_SETSIZE) {
		fprintf(stderr, "usage: pipe_pingpong [LOOPS>0] [SAMPLES>0] [CPU]\n");
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "pipe_pingpong: pin to CPU %d: %s\n", cpu, strerror(errno));
		return 1;
	}
	if (pipe(to_child) || pipe(to_parent)) {
		perror("pipe_pingpong: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("pipe_pingpong: fork");
		return 1;
	}
	if (!child) {
		close(to_child[1]);
		close(to_parent[0]);
		child_loop(to_child[0], to_parent[1]);
	}
	close(to_child[0]);
	close(to_parent[1]);
	rc = run(loops, samples, to_parent[0], to_child[1], child);
	close(to_child[1]);
	if (rc)
		kill(child, SIGKILL);
	waitpid(child, &st, 0);
	return rc;
}
