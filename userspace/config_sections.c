// SPDX-License-Identifier: GPL-2.0
#include "config_sections.h"

const struct ns_config_section ns_config_sections[] = {
	{ 0 },
};
const size_t ns_config_nsections = 0;
