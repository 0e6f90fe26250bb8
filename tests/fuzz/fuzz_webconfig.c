// SPDX-License-Identifier: GPL-2.0
/* Fuzz the web-config (TLS / basic auth) parser. */
#include <stdint.h>
#include <string.h>
#include "webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_webconfig wc;
	char err[512];

	if (!ns_webconfig_parse((const char *)data, size, "/nonexistent", &wc, err, sizeof(err)))
		ns_webconfig_free(&wc);
	return 0;
}
