// SPDX-License-Identifier: GPL-2.0
/*
 * O_DIRECT 4 KiB I/O rate on a block device: THREADS threads each issue synchronous 4 KiB
 * reads (or writes) at random aligned offsets for SECONDS; prints the total I/Os per second.
 * usage: dio_bench DEVICE [SECONDS=3] [THREADS=1] [read|write]
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

#define BS 4096

static const char *dev;
static double seconds = 3;
static int writing;
static uint64_t blocks;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	uint64_t x = 88172645463325252ULL ^ (uintptr_t)arg, n = 0;
	int fd = open(dev, (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);
	void *buf;
	double end = now() + seconds;

	if (fd < 0 || posix_memalign(&buf, BS, BS)) {
		perror(dev);
		exit(1);
	}
	memset(buf, 0x5a, BS);
	while ((n & 63) || now() < end) {
		off_t off;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		off = (off_t)(x % blocks) * BS;
		if ((writing ? pwrite(fd, buf, BS, off) : pread(fd, buf, BS, off)) != BS) {
			perror("I/O");
			exit(1);
		}
		n++;
	}
	close(fd);
	free(buf);
	return (void *)(uintptr_t)n;
}

int main(int argc, char **argv)
{
	int threads = argc > 3 ? atoi(argv[3]) : 1, fd;
	pthread_t tid[64];
	uint64_t size = 0, total = 0;
	double t0;

	if (argc < 2 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: dio_bench DEVICE [SECONDS] [THREADS] [read|write]\n");
		return 2;
	}
	dev = argv[1];
	seconds = argc > 2 ? atof(argv[2]) : 3;
	writing = argc > 4 && !strcmp(argv[4], "write");
	fd = open(dev, O_RDONLY);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < BS) {
		perror(dev);
		return 1;
	}
	close(fd);
	blocks = size / BS;
	t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < threads; i++) {
		void *r;

		pthread_join(tid[i], &r);
		total += (uint64_t)(uintptr_t)r;
	}
	printf("%.0f\n", (double)total / (now() - t0));
	return 0;
}
