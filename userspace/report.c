// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

#define BAR_WIDTH 40

void ns_report_hist(FILE *out, const __u64 slots[NS_HIST_SLOTS], const char *unit)
{
	int first = -1, last = -1;
	__u64 max = 0;

	for (int i = 0; i < NS_HIST_SLOTS; i++) {
		if (!slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (first < 0)
		return;
	fprintf(out, "%*s%-10s : count    distribution\n", 14, "", unit);
	for (int i = first; i <= last; i++) {
		unsigned long long lo = i ? 1ULL << i : 0, hi = (1ULL << (i + 1)) - 1;
		int stars = (int)((double)slots[i] * BAR_WIDTH / (double)max);
		char bar[BAR_WIDTH + 1];

		memset(bar, '*', (size_t)stars);
		memset(bar + stars, ' ', (size_t)(BAR_WIDTH - stars));
		bar[BAR_WIDTH] = 0;
		fprintf(out, "%12llu -> %-12llu : %-8llu |%s|\n", lo, hi,
			(unsigned long long)slots[i], bar);
	}
}

static int by_sum_desc(const void *a, const void *b)
{
	double sa = (*(const struct ns_series *const *)a)->sum;
	double sb = (*(const struct ns_series *const *)b)->sum;

	return sa < sb ? 1 : sa > sb ? -1 : 0;
}

static void fmt_scaled(char *buf, size_t n, double v, bool seconds)
{
	if (!seconds)
		snprintf(buf, n, "%.0f", v);
	else if (v >= 1)
		snprintf(buf, n, "%.3fs", v);
	else if (v >= 1e-3)
		snprintf(buf, n, "%.3fms", v * 1e3);
	else
		snprintf(buf, n, "%.3fus", v * 1e6);
}

void ns_report_print(FILE *out, const struct ns_family *f, unsigned int top)
{
	struct ns_series **sorted;
	bool secs = f->d.scale < 1;

	if (!f->nseries) {
		fprintf(out, "no events recorded\n");
		return;
	}
	sorted = malloc(f->nseries * sizeof(*sorted));
	if (!sorted)
		return;
	memcpy(sorted, f->series, f->nseries * sizeof(*sorted));
	qsort(sorted, f->nseries, sizeof(*sorted), by_sum_desc);
	for (size_t i = 0; i < f->nseries && i < top; i++) {
		const struct ns_series *s = sorted[i];
		__u64 n = ns_hist_count(s->slots);
		char tot[32], avg[32], p99[32];

		fputc('\n', out);
		for (unsigned int k = 0; k < f->nlabels; k++)
			fprintf(out, "%s%s = %s", k ? ", " : "", f->d.labels[k], s->values[k]);
		fmt_scaled(tot, sizeof(tot), ns_scale(f, s->sum), secs);
		fmt_scaled(avg, sizeof(avg), n ? ns_scale(f, s->sum) / (double)n : 0, secs);
		fmt_scaled(p99, sizeof(p99), ns_hist_quantile(f, s->slots, 0.99), secs);
		fprintf(out, "    count %llu  total %s  avg %s  p99 %s\n", (unsigned long long)n,
			tot, avg, p99);
		ns_report_hist(out, s->slots, secs ? "nsecs" : "bytes");
	}
	if (f->nseries > top)
		fprintf(out, "\n(%zu more not shown; --top N)\n", f->nseries - top);
	free(sorted);
}
