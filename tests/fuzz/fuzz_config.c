// SPDX-License-Identifier: GPL-2.0
/* Fuzz the config-file parser: any bytes as a YAML config must parse or fail cleanly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], arg[80];
	char *argv[] = { "novascope", arg, NULL };
	struct ns_config c;
	FILE *err = fopen("/dev/null", "w");

	if (fd < 0)
		fd = memfd_create("cfg", 0);
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) {
		fclose(err);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(arg, sizeof(arg), "--config.file=%s", path);
	ns_config_parse(&c, 2, argv, err);
	ns_config_free(&c);
	fclose(err);
	return 0;
}
