/* SPDX-License-Identifier: GPL-2.0 */
/* Terminal troubleshooting mode: `novascope report <probe>`. */
#ifndef NOVASCOPE_REPORT_H
#define NOVASCOPE_REPORT_H

#include <stdio.h>
#include "metrics.h"

/* Print the top `top` series of a histogram family by total (sum), each with a log2 table. */
void ns_report_print(FILE *out, const struct ns_family *f, unsigned int top);
/* Print one log2 histogram, libbpf-tools style, from the first to the last non-empty slot. */
void ns_report_hist(FILE *out, const __u64 slots[NS_HIST_SLOTS], const char *unit);

#endif
