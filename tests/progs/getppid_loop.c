// SPDX-License-Identifier: GPL-2.0
/* Make exactly N getppid syscalls (raw syscall: no libc caching), then print N. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	long sink = 0;

	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getppid);
	printf("%ld\n", n);
	return sink == 0; /* keep the loop */
}
