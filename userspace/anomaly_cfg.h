/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by anomaly_config.c (merging definitions) and anomaly_keys.c (parsing). */
#ifndef NOVASCOPE_ANOMALY_CFG_H
#define NOVASCOPE_ANOMALY_CFG_H

#include <stdio.h>
#include <yaml.h>
#include "anomaly.h"

/* A definition being built, with what the stat-dependent defaults must not override. */
struct build {
	struct ns_signal_def d;
	bool scale_set, min_count_set, spread_abs_set, spread_rel_set, dir_set, resolve_set;
	yaml_node_t *bnode, *unode; /* built-in and config-file mappings */
	yaml_document_t *bdoc;
};

struct ctx {
	const char *file;
	FILE *err;
	yaml_document_t *doc;
	uint64_t interval_ns;
};

#define FAIL(x, where, ...)                                                 \
	do {                                                                \
		fprintf((x)->err, "novascope: %s: %s: ", (x)->file, where); \
		fprintf((x)->err, __VA_ARGS__);                             \
		fputc('\n', (x)->err);                                      \
		return -1;                                                  \
	} while (0)

/* A metric (colon allowed) or label name. */
bool ns_anomaly_name_ok(const char *s, bool colon);
/* Apply a mapping of signal keys to b; defaults_only allows only detection settings. */
int ns_anomaly_apply_map(struct ctx *x, const char *where, struct build *b, yaml_node_t *map,
			 bool defaults_only);

#endif
