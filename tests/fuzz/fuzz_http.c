// SPDX-License-Identifier: GPL-2.0
/* Fuzz request routing: method, URL and Accept-Encoding from NUL-separated input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 3), *method, *url, *ae;
	struct ns_route r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = 0;
	method = buf;
	url = method + strlen(method) + 1;
	ae = url <= buf + size ? url + strlen(url) + 1 : buf + size + 2;
	if (url > buf + size)
		url = buf + size + 1;
	r = ns_http_route("/metrics", method, url, ae > buf + size ? NULL : ae);
	if (r.code != 200 && r.code != 404 && r.code != 405)
		abort();
	free(buf);
	return 0;
}
