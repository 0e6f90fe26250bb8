// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config.h"
#include "metrics.h"
#include "probe.h"
#include "selftest.h"

void ns_selftest_collect(struct ns_selftest *t)
{
	ns_registry_begin(t->r);
	t->p->ops->collect(t->p, t->r);
}

static int label_index(const struct ns_family *f, const char *label)
{
	for (unsigned int i = 0; label && i < f->nlabels; i++)
		if (!strcmp(f->d.labels[i], label))
			return (int)i;
	return -1;
}

double ns_selftest_total2(struct ns_selftest *t, const char *family, const char *l1, const char *v1,
			  const char *l2, const char *v2)
{
	const struct ns_family *f;
	double total = 0;
	int i1, i2;

	ns_selftest_collect(t);
	f = ns_family_find(t->r, family);
	if (!f)
		return 0;
	i1 = label_index(f, l1);
	i2 = label_index(f, l2);
	if ((l1 && i1 < 0) || (l2 && i2 < 0))
		return 0;
	for (size_t i = 0; i < f->nseries; i++) {
		const struct ns_series *s = f->series[i];

		if ((l1 && strcmp(s->values[i1], v1)) || (l2 && strcmp(s->values[i2], v2)))
			continue;
		total += f->d.type == NS_HISTOGRAM ? (double)ns_hist_count(s->slots) : s->value;
	}
	return total;
}

double ns_selftest_total(struct ns_selftest *t, const char *family, const char *label,
			 const char *value)
{
	return ns_selftest_total2(t, family, label, value, NULL, NULL);
}

int ns_selftest_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int ns_selftest_run(const struct ns_config *c)
{
	int failed = 0, passed = 0;

	ns_for_each_probe (p) {
		struct ns_selftest t = {.p = p};
		char detail[256] = "";
		int rc;

		if (!p->selected)
			continue;
		if (p->state == NS_PROBE_UNSUPPORTED) {
			printf("SKIP %-14s unsupported: %s\n", p->ops->name, p->reason);
			continue;
		}
		if (!p->ops->selftest) {
			printf("SKIP %-14s no self-test\n", p->ops->name);
			continue;
		}
		if (p->ops->start(p, c)) {
			printf("FAIL %-14s did not start: %s\n", p->ops->name, p->reason);
			p->ops->stop(p);
			failed++;
			continue;
		}
		p->state = NS_PROBE_UP;
		t.r = ns_registry_new(c->max_series);
		rc = t.r ? p->ops->selftest(p, &t, detail, sizeof(detail)) : -1;
		printf("%s %-14s %s\n",
		       rc == 0	? "PASS"
		       : rc > 0 ? "SKIP"
				: "FAIL",
		       p->ops->name, detail);
		fflush(stdout);
		failed += rc < 0;
		passed += rc == 0;
		ns_registry_free(t.r);
		p->ops->stop(p);
		p->state = NS_PROBE_DOWN;
	}
	printf("selftest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
