/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structured sections of the config file (things that do not fit in a flag: traffic-class
 * rules, anomaly signals). Each module that owns one adds a row to config_sections.c; the
 * validator runs at start-up and must name the offending key and value on error.
 */
#ifndef NOVASCOPE_CONFIG_SECTIONS_H
#define NOVASCOPE_CONFIG_SECTIONS_H

#include <stdio.h>
#include <yaml.h>

struct ns_config;

struct ns_config_section {
	const char *name;
	/* Validate (and keep what the module needs) from node; 0 or -1 with a message on err. */
	int (*parse)(struct ns_config *c, yaml_document_t *doc, yaml_node_t *node, FILE *err);
};

extern const struct ns_config_section ns_config_sections[];
extern const size_t ns_config_nsections;

/* YAML helpers: scalar value of node, or NULL when it is not a scalar. */
const char *ns_yaml_scalar(yaml_node_t *node);
/* Value node for key in a mapping node, or NULL. */
yaml_node_t *ns_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key);

#endif
