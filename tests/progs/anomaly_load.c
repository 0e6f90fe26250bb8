// SPDX-License-Identifier: GPL-2.0
/*
 * Workload and fault injector for the anomaly tests and the alert-latency benchmark.
 *
 *   anomaly_load read FILE RATE [KIB] pread KIB (default 4) KiB at random offsets of FILE,
 *                                     RATE reads per second in 100 ms batches, until killed.
 *                                     With ANOM_LAT_OUT=PATH in the environment, time each
 *                                     pread (CLOCK_MONOTONIC) and write a line per second of
 *                                     wall-clock time to PATH:
 *                                       UNIX_SECOND COUNT P50_NS P99_NS MAX_NS
 *                                     (exact nearest-rank quantiles of that second's preads):
 *                                     the workload's own view, independent of novascope. It
 *                                     includes any wait to run again on the way back from the
 *                                     kernel, which the kernel's syscall latency does not.
 *   anomaly_load evict FILE PERIOD_MS [KIB]
 *                                     drop FILE's first KIB KiB (default: all of it) from the
 *                                     page cache every PERIOD_MS (POSIX_FADV_DONTNEED), until
 *                                     killed
 *   anomaly_load pin FILE FROM_KIB    map FILE from FROM_KIB KiB on (0: all of it) and mlock it
 *                                     until killed: those pages stay cached whatever else
 *                                     happens on the machine (drop_caches, memory pressure and
 *                                     proactive reclaim skip mapped, locked pages)
 *
 * While FILE is cached, a pread is a memory copy (a few microseconds, insensitive to CPU
 * contention from other processes); while the evictor runs, most preads miss the page cache
 * and wait for the disk. The kernel sees the syscall latency jump: a real fault (cache
 * thrashing), not a workload that changes what it asks for.
 *
 * Batches are 100 ms apart, not 10: on a PVM guest the first syscall after a sleep takes
 * 11-14us (median) against 2-3us for the next ones, and far more while the host is busy. With
 * 10 ms batches of 50 that first read was 2% of all reads, so the p99 measured the host's
 * wake-up cost (4us to 49us from one second to the next here) instead of the read; in
 * batches of 500 it is 0.2% and the p99 stays at the read's 3us.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void tick(struct timespec *next, long ns)
{
	next->tv_nsec += ns;
	while (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

static long long ns_of(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Latencies of one wall-clock second, written out as a line when the next one begins. */
struct lat_sec {
	FILE *out;
	time_t sec;
	uint32_t *ns;
	size_t n, cap;
};

static void lat_flush(struct lat_sec *l)
{
	size_t n = l->n;

	if (!n)
		return;
	qsort(l->ns, n, sizeof(*l->ns), cmp_u32);
	/* Nearest rank: the smallest value with at least q * n values at or below it. */
	fprintf(l->out, "%lld %zu %u %u %u\n", (long long)l->sec, n, l->ns[(n + 1) / 2 - 1],
		l->ns[(99 * n + 99) / 100 - 1], l->ns[n - 1]);
	fflush(l->out);
	l->n = 0;
}

static int lat_add(struct lat_sec *l, long long ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8192;
		uint32_t *p = realloc(l->ns, cap * sizeof(*p));

		if (!p) {
			perror("anomaly_load");
			return -1;
		}
		l->ns = p;
		l->cap = cap;
	}
	l->ns[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return 0;
}

static int do_read(int fd, long rate, long kib)
{
	static char buf[1 << 20];
	uint64_t x = 88172645463325252ULL, pages;
	struct timespec next, t0, t1, now;
	off_t size = lseek(fd, 0, SEEK_END);
	long batch = rate / 10 > 0 ? rate / 10 : 1;
	const char *path = getenv("ANOM_LAT_OUT");
	struct lat_sec lat = {0};

	if (kib < 1 || kib > 1024 || size < kib * 1024) {
		fprintf(stderr, "anomaly_load: file too small\n");
		return 1;
	}
	if (path && *path) {
		lat.out = fopen(path, "w");
		if (!lat.out) {
			fprintf(stderr, "anomaly_load: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	pages = (uint64_t)(size - kib * 1024) / 4096 + 1;
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		if (lat.out) {
			clock_gettime(CLOCK_REALTIME, &now);
			if (now.tv_sec != lat.sec) {
				lat_flush(&lat);
				lat.sec = now.tv_sec;
			}
		}
		for (long i = 0; i < batch; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			if (lat.out)
				clock_gettime(CLOCK_MONOTONIC, &t0);
			if (pread(fd, buf, (size_t)kib * 1024, (off_t)(x % pages) * 4096) < 0) {
				perror("pread");
				return 1;
			}
			if (lat.out) {
				clock_gettime(CLOCK_MONOTONIC, &t1);
				if (lat_add(&lat, ns_of(&t1) - ns_of(&t0)))
					return 1;
			}
		}
		tick(&next, 100000000L);
	}
}

static int do_evict(int fd, long period_ms, long kib)
{
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		int err = posix_fadvise(fd, 0, (off_t)kib * 1024, POSIX_FADV_DONTNEED);

		if (err) {
			fprintf(stderr, "posix_fadvise: %s\n", strerror(err));
			return 1;
		}
		tick(&next, period_ms * 1000000L);
	}
}

static int do_pin(int fd, long from_kib)
{
	off_t size = lseek(fd, 0, SEEK_END), from = (off_t)from_kib * 1024;
	void *p;

	if (from % 4096 || from >= size) {
		fprintf(stderr, "anomaly_load: pin: FROM_KIB must be page-aligned and in the file\n");
		return 1;
	}
	p = mmap(NULL, (size_t)(size - from), PROT_READ, MAP_SHARED, fd, from);
	if (p == MAP_FAILED || mlock(p, (size_t)(size - from))) {
		perror("anomaly_load: pin");
		return 1;
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	bool pin;
	long n;
	int fd;

	if (argc < 4 || argc > 5 ||
	    (strcmp(argv[1], "read") && strcmp(argv[1], "evict") && strcmp(argv[1], "pin")))
		goto usage;
	pin = !strcmp(argv[1], "pin");
	n = strtol(argv[3], NULL, 10);
	if ((pin && (argc == 5 || n < 0)) || (!pin && n <= 0))
		goto usage;
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "anomaly_load: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "pin"))
		return do_pin(fd, n);
	if (!strcmp(argv[1], "read"))
		return do_read(fd, n, argc == 5 ? strtol(argv[4], NULL, 10) : 4);
	return do_evict(fd, n, argc == 5 ? strtol(argv[4], NULL, 10) : 0);
usage:
	fprintf(stderr, "usage: anomaly_load read FILE RATE [KIB] | evict FILE PERIOD_MS [KIB] | "
			"pin FILE FROM_KIB\n");
	return 2;
}
