// SPDX-License-Identifier: GPL-2.0
#include "config_sections.h"
#include "tcp_class.h"
#include "anomaly.h"

/* One row per section; the { 0 } row ends the table (not counted). */
const struct ns_config_section ns_config_sections[] = {
	{"tcp.classes", ns_tcp_classes_parse},
	{"anomaly", ns_anomaly_config_section},
	{0},
};
const size_t ns_config_nsections = sizeof(ns_config_sections) / sizeof(ns_config_sections[0]) - 1;
