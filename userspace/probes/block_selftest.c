// SPDX-License-Identifier: GPL-2.0
/*
 * `novascope selftest` for the block probe: a temporary loop device over a file, with direct
 * I/O, takes a known number of O_DIRECT 4 KiB writes and reads; the probe must count exactly
 * those bytes for that device (what /proc/diskstats would say too).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "probes.h"
#include "selftest.h"

#define IOS 64
#define IOSZ 4096

struct loopdev {
	int nr;
	char path[64], file[64];
};

static int loop_setup(struct loopdev *l)
{
	struct loop_info64 info = {0}; /* no autoclear: it would detach when setup closes it */
	int ctl, fd = -1, dev = -1, ret = -1;

	snprintf(l->file, sizeof(l->file), "/tmp/novascope-selftest-XXXXXX");
	fd = mkstemp(l->file);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (fd < 0 || ctl < 0 || ftruncate(fd, 4 << 20))
		goto out;
	l->nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	snprintf(l->path, sizeof(l->path), "/dev/loop%d", l->nr);
	dev = l->nr < 0 ? -1 : open(l->path, O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, LOOP_SET_FD, fd))
		goto out;
	/* Direct I/O on the backing file: every request reaches the device time tracepoints. */
	if (ioctl(dev, LOOP_SET_STATUS64, &info) || ioctl(dev, LOOP_SET_DIRECT_IO, 1UL)) {
		ioctl(dev, LOOP_CLR_FD, 0);
		goto out;
	}
	ret = 0;
out:
	if (dev >= 0)
		close(dev);
	if (ctl >= 0)
		close(ctl);
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(l->file);
	return ret;
}

static void loop_teardown(struct loopdev *l)
{
	int dev = open(l->path, O_RDWR | O_CLOEXEC);

	if (dev >= 0) {
		ioctl(dev, LOOP_CLR_FD, 0);
		close(dev);
	}
	unlink(l->file);
}

static int direct_io(void *arg)
{
	const struct loopdev *l = arg;
	void *buf;
	int fd = open(l->path, O_RDWR | O_DIRECT | O_CLOEXEC), ret = 0;

	if (fd < 0 || posix_memalign(&buf, IOSZ, IOSZ))
		return 1;
	memset(buf, 0x5a, IOSZ);
	for (int i = 0; i < IOS && !ret; i++)
		ret = pwrite(fd, buf, IOSZ, (off_t)i * IOSZ) != IOSZ;
	for (int i = 0; i < IOS && !ret; i++)
		ret = pread(fd, buf, IOSZ, (off_t)i * IOSZ) != IOSZ;
	free(buf);
	close(fd);
	return ret;
}

int ns_block_selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	const char *fam = "novascope_block_io_bytes_total";
	struct loopdev l;
	char dev[32];
	double w0, r0, w, r;
	int ret;

	(void)p;
	if (loop_setup(&l)) {
		snprintf(detail, n, "cannot set up a loop device: %s", strerror(errno));
		return 1;
	}
	snprintf(dev, sizeof(dev), "loop%d", l.nr);
	w0 = ns_selftest_total2(t, fam, "device", dev, "op", "write");
	r0 = ns_selftest_total2(t, fam, "device", dev, "op", "read");
	ret = ns_selftest_child(direct_io, &l);
	w = ns_selftest_total2(t, fam, "device", dev, "op", "write") - w0;
	r = ns_selftest_total2(t, fam, "device", dev, "op", "read") - r0;
	loop_teardown(&l);
	snprintf(detail, n,
		 "%d O_DIRECT writes and reads of 4 KiB on %s: counted %.0f and %.0f bytes", IOS,
		 dev, w, r);
	if (ret)
		return -1;
	return w == IOS * IOSZ && r == IOS * IOSZ ? 0 : -1;
}
