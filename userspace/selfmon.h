/* SPDX-License-Identifier: GPL-2.0 */
/* The collector's own metrics, and the /health document. */
#ifndef NOVASCOPE_SELFMON_H
#define NOVASCOPE_SELFMON_H

#include <stddef.h>
#include <stdint.h>
#include "metrics.h"

/* Update self metrics; collect_ns is how long the last collection took. */
void ns_selfmon_collect(struct ns_registry *r, uint64_t collect_ns);
/* /health JSON; *code gets 200 when every enabled probe is up, else 503. */
char *ns_health_json(double uptime_s, unsigned int *code, size_t *len);
/* --list-probes table on stdout. */
void ns_list_probes(void);

#endif
