// SPDX-License-Identifier: GPL-2.0
/*
 * Print the mean cost in ns of one raw getppid syscall over N calls (best of R rounds).
 * With "prctl" as third argument, of one prctl() with an unknown option instead (it fires
 * task:task_prctl_unknown and fails with EINVAL).
 * Usage: syscall_bench [N] [R] [prctl]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000, rounds = argc > 2 ? atol(argv[2]) : 5;
	int use_prctl = argc > 3 && !strcmp(argv[3], "prctl");
	double best = 1e18;

	for (long r = 0; r < rounds; r++) {
		double t0 = now(), per;

		for (long i = 0; i < n; i++) {
			if (use_prctl)
				prctl(0x7fff0000, 0, 0, 0, 0);
			else
				syscall(SYS_getppid);
		}
		per = (now() - t0) / (double)n;
		if (per < best)
			best = per;
	}
	printf("%.1f\n", best);
	return 0;
}
