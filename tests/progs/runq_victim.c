// SPDX-License-Identifier: GPL-2.0
/*
 * The measured thread of the run-queue accuracy tests. Prints "ready" and blocks on stdin; on
 * each line read it runs SECONDS of a mixed load (spin 2ms of CPU, sleep 200us: so that it
 * waits in the run queue both after wakeups and after being preempted), prints "done", and
 * blocks again. Exits on EOF. Single-threaded, so its tid is its pid.
 * Usage: runq_victim SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void work(double seconds)
{
	double end = now(CLOCK_MONOTONIC) + seconds;
	struct timespec nap = { 0, 200000 };

	while (now(CLOCK_MONOTONIC) < end) {
		double spin_end = now(CLOCK_THREAD_CPUTIME_ID) + 0.002;

		while (now(CLOCK_THREAD_CPUTIME_ID) < spin_end)
			;
		nanosleep(&nap, NULL);
	}
}

int main(int argc, char **argv)
{
	char line[64];
	double seconds = argc > 1 ? atof(argv[1]) : 0;

	if (seconds <= 0) {
		fprintf(stderr, "usage: runq_victim SECONDS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		work(seconds);
		printf("done\n");
	}
	return 0;
}
