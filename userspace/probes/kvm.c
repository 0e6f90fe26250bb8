// SPDX-License-Identifier: GPL-2.0
/*
 * KVM probe: exits per VM and reason, the host's exit-to-entry handling latency per reason, and
 * the exits KVM_RUN returns to the VMM with. Kernel side: bpf/kvm.bpf.c.
 *
 * The vm label is the QEMU -name of the process that ran the vCPU; a VMM that is not QEMU (or
 * a QEMU without -name) is labelled "<comm>:<tgid>". Keys of processes that are gone are
 * deleted after their last read, and their series expire STALE_AFTER intervals later.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "attrib.h"
#include "config.h"
#include "features.h"
#include "log.h"
#include "metrics.h"
#include "probe_util.h"
#include "probes.h"
#include "selftest.h"
#include "kvm_reasons.h"
#include "mapread.h"
#include "novascope/kvm.h"
#include "kvm.skel.h"

#define STALE_AFTER 5
#define OTHER "other"
#define HIST_WORDS (sizeof(struct ns_hist) / sizeof(__u64))

static const struct ns_family_desc exits_desc = {
	.name = "novascope_kvm_exits_total",
	.help = "VM exits (kvm:kvm_exit) per VM and exit reason.",
	.type = NS_COUNTER,
	.labels = {"vm", "reason"},
	.fold_label = 1,
	.stale_after = STALE_AFTER,
};

static const struct ns_family_desc lat_desc = {
	.name = "novascope_kvm_exit_latency_seconds",
	.help = "Time from a VM exit to the next entry of the same vCPU (the host's handling, "
		"including any trip to the VMM and halts), per exit reason.",
	.type = NS_HISTOGRAM,
	.labels = {"reason"},
	.min_slot = 8, /* le 512ns .. 17.2s */
	.max_slot = 33,
	.scale = 1e-9,
	.stale_after = STALE_AFTER,
};

static const struct ns_family_desc uexits_desc = {
	.name = "novascope_kvm_userspace_exits_total",
	.help = "Returns of KVM_RUN to the VMM (kvm:kvm_userspace_exit) per VM and reason.",
	.type = NS_COUNTER,
	.labels = {"vm", "reason"},
	.fold_label = 1,
	.stale_after = STALE_AFTER,
};

/* One key of one map, as last read. Keys are kept sorted (ns_rec_cmp on key). */
struct ent {
	__u64 key[NS_REC_KEY_WORDS];
	struct ns_hist prev; /* counters use prev.sum */
	char vm[160];
};

struct priv {
	struct kvm_bpf *skel;
	struct ns_keytab exits, lat, uexits;
};

/* The kvm tracepoints' prototypes live in vmlinux BTF, or in the kvm module's when modular. */
static const struct btf_type *trace_proto(const char *tp, struct btf **owner)
{
	struct btf *base = ns_vmlinux_btf(), *mod = NULL;
	const struct btf_type *t;
	char name[64];
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	*owner = base;
	id = base ? btf__find_by_name_kind(base, name, BTF_KIND_TYPEDEF) : -1;
	if (id <= 0 && base) {
		mod = btf__parse_split("/sys/kernel/btf/kvm", base);
		if (libbpf_get_error(mod))
			return NULL;
		*owner = mod;
		id = btf__find_by_name_kind(mod, name, BTF_KIND_TYPEDEF);
	}
	if (id <= 0)
		return NULL;
	t = btf__type_by_id(*owner, btf__resolve_type(*owner, (__u32)id));
	t = t && btf_is_ptr(t) ? btf__type_by_id(*owner, t->type) : NULL;
	return t && btf_is_func_proto(t) ? t : NULL;
}

/* kvm_exit's argument layout from its prototype (see bpf/kvm.bpf.c), or -1 if unrecognised. */
static int exit_args(void)
{
	struct btf *owner = NULL;
	const struct btf_type *p = trace_proto("kvm_exit", &owner), *a;
	const struct btf_param *pr;
	int ret = -1;

	if (!p)
		goto cleanup;
	pr = btf_params(p);
	/* Parameter 0 is the tracepoint's void *__data. */
	a = btf_vlen(p) >= 3 ? btf__type_by_id(owner, btf__resolve_type(owner, pr[1].type)) : NULL;
	if (a && btf_vlen(p) == 4 && btf_is_int(a))
		ret = NS_KVM_EXIT_ARGS_REASON;
	else if (a && btf_vlen(p) == 3 && btf_is_ptr(a))
		ret = NS_KVM_EXIT_ARGS_VCPU;
cleanup:
	if (owner && owner != ns_vmlinux_btf())
		btf__free(owner);
	return ret;
}

static bool check(struct ns_probe *p, const struct ns_features *f)
{
	const char *fl;

	if (!ns_require_btf_task_storage(p, f))
		return false;
	fl = ns_pick_tp_flavour(f, "kvm_userspace_exit", p->reason, sizeof(p->reason));
	if (!fl) {
		ns_probe_set_reason(p, "no kvm tracepoints (KVM not built in or not loaded)");
		return false;
	}
	if (ns_btf_tracepoint_exists("kvm_exit") && ns_btf_tracepoint_exists("kvm_entry") &&
	    exit_args() >= 0)
		ns_probe_set_hook(p, "%s kvm_exit/kvm_entry/kvm_userspace_exit", fl);
	else
		ns_probe_set_hook(p, "%s kvm_userspace_exit", fl);
	return true;
}

/* The all-zero key takes what a full map cannot hold (vm "other"); it must exist beforehand
 * (and is kept when the map was adopted from a pin). */
static int add_other_key(struct bpf_map *m)
{
	size_t n = (size_t)ns_nr_cpus();
	void *zero = calloc(n, (bpf_map__value_size(m) + 7) / 8 * 8);
	char key[16] = {0};
	int err = 0;

	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(bpf_map__fd(m), key, zero, BPF_NOEXIST) && errno != EEXIST)
		err = -errno;
	free(zero);
	return err;
}

static void init_tabs(struct priv *pv);

static int start(struct ns_probe *p, const struct ns_config *cfg)
{
	struct priv *pv = calloc(1, sizeof(*pv));
	bool btf = !strncmp(p->hook, "tp_btf", 6);
	int err, layout = exit_args();

	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	init_tabs(pv);
	pv->skel = kvm_bpf__open();
	if (!pv->skel) {
		ns_probe_set_reason(p, "open BPF object: %s", strerror(errno));
		return -errno;
	}
	p->obj = pv->skel->obj;
	ns_drop_flavour(p->obj, btf ? "_raw" : "_btf");
	if (strstr(p->hook, "kvm_exit")) {
		pv->skel->rodata->exit_args = (__u32)layout;
	} else {
		/* No kvm_exit/kvm_entry, or a kvm_exit prototype we do not know: exits by reason
		 * would be wrong, so only userspace exits are counted. */
		bpf_program__set_autoload(
			btf ? pv->skel->progs.kvm_exit_btf : pv->skel->progs.kvm_exit_raw, false);
		bpf_program__set_autoload(
			btf ? pv->skel->progs.kvm_entry_btf : pv->skel->progs.kvm_entry_raw, false);
	}
	/* Only the counts are pinned; per-vCPU exit times belong to this agent. */
	err = ns_probe_pin_maps(p, p->obj, cfg->pin_path,
				NS_LV("exits", "exit_lat", "uexits", NULL));
	if (err)
		return err;
	err = kvm_bpf__load(pv->skel);
	if (err) {
		ns_probe_set_reason(p, "load BPF programs: %s", strerror(-err));
		return err;
	}
	err = add_other_key(pv->skel->maps.exits) ?: add_other_key(pv->skel->maps.exit_lat) ?:
	      add_other_key(pv->skel->maps.uexits);
	if (err) {
		ns_probe_set_reason(p, "create the \"other\" keys: %s", strerror(-err));
		return err;
	}
	return ns_probe_attach(p, p->obj);
}

static void label_vm(struct ent *e)
{
	__u32 tgid = (__u32)e->key[0];

	if (!tgid || ns_vm_label((pid_t)tgid, e->vm, sizeof(e->vm)))
		snprintf(e->vm, sizeof(e->vm), OTHER); /* the overflow key, or gone before seen */
}

static void emit_exit(struct ns_registry *r, const struct ent *e, const __u64 *cur)
{
	const struct ns_kvm_exit_key *k = (const void *)e->key;
	struct ns_family *f = ns_family(r, &exits_desc);
	char buf[48];
	const char *reason = ns_kvm_exit_reason(k->isa, k->reason, buf, sizeof(buf));
	struct ns_series *s;

	if (!f || !cur[0] || !(s = ns_series(f, NS_LV(e->vm, reason))))
		return;
	ns_counter_add(s, (double)(cur[0] - e->prev.sum));
	ns_series_touch(r, s);
}

static void emit_uexit(struct ns_registry *r, const struct ent *e, const __u64 *cur)
{
	const struct ns_kvm_uexit_key *k = (const void *)e->key;
	struct ns_family *f = ns_family(r, &uexits_desc);
	char buf[48];
	const char *reason = ns_kvm_uexit_reason(k->reason, buf, sizeof(buf));
	struct ns_series *s;

	if (!f || !cur[0] || !(s = ns_series(f, NS_LV(e->vm, reason))))
		return;
	ns_counter_add(s, (double)(cur[0] - e->prev.sum));
	ns_series_touch(r, s);
}

static void emit_lat(struct ns_registry *r, const struct ent *e, const __u64 *cur)
{
	const struct ns_kvm_lat_key *k = (const void *)e->key;
	const struct ns_hist *h = (const void *)cur;
	struct ns_family *f = ns_family(r, &lat_desc);
	char buf[48];
	/* isa 0: reason unreadable, or (never seen so far) the map was full: "unknown". */
	const char *reason = ns_kvm_exit_reason(k->isa, k->reason, buf, sizeof(buf));
	__u64 d[NS_HIST_SLOTS];
	struct ns_series *s;

	if (!f || !ns_hist_count(h->slots) || !(s = ns_series(f, NS_LV(reason))))
		return;
	for (int i = 0; i < NS_HIST_SLOTS; i++)
		d[i] = h->slots[i] - e->prev.slots[i];
	ns_hist_add(s, d, (double)(h->sum - e->prev.sum));
	ns_series_touch(r, s);
}

/* Keep this read as the previous one; a per-VM key's last read is the one after its VMM exited. */
static bool keep(struct ent *e, const __u64 *cur, size_t words, bool per_vm)
{
	__u32 tgid = (__u32)e->key[0];

	if (words == 1)
		e->prev.sum = cur[0];
	else
		memcpy(&e->prev, cur, sizeof(e->prev));
	return !(per_vm && tgid && kill((pid_t)tgid, 0) && errno == ESRCH);
}

static bool update_exit(void *r, void *e, const __u64 *cur)
{
	emit_exit(r, e, cur);
	return keep(e, cur, 1, true);
}

static bool update_uexit(void *r, void *e, const __u64 *cur)
{
	emit_uexit(r, e, cur);
	return keep(e, cur, 1, true);
}

static bool update_lat(void *r, void *e, const __u64 *cur)
{
	emit_lat(r, e, cur);
	return keep(e, cur, HIST_WORDS, false);
}

static void init_vm(void *ctx, void *e)
{
	(void)ctx;
	label_vm(e);
}

static void init_tabs(struct priv *pv)
{
	pv->exits = (struct ns_keytab){sizeof(struct ent), sizeof(struct ns_kvm_exit_key), 1,
				       init_vm, update_exit};
	pv->uexits = (struct ns_keytab){sizeof(struct ent), sizeof(struct ns_kvm_uexit_key), 1,
					init_vm, update_uexit};
	pv->lat = (struct ns_keytab){sizeof(struct ent), sizeof(struct ns_kvm_lat_key), HIST_WORDS,
				     NULL, update_lat}; /* per reason: the key is the label */
}

static int collect(struct ns_probe *p, struct ns_registry *r)
{
	struct priv *pv = p->priv;
	int e1 = ns_keytab_collect(&pv->exits, bpf_map__fd(pv->skel->maps.exits), r);
	int e2 = ns_keytab_collect(&pv->lat, bpf_map__fd(pv->skel->maps.exit_lat), r);
	int e3 = ns_keytab_collect(&pv->uexits, bpf_map__fd(pv->skel->maps.uexits), r);

	return e1 ?: e2 ?: e3;
}

static void stop(struct ns_probe *p)
{
	struct priv *pv = p->priv;

	if (!pv)
		return;
	ns_probe_detach(p);
	kvm_bpf__destroy(pv->skel);
	ns_keytab_free(&pv->exits);
	ns_keytab_free(&pv->lat);
	ns_keytab_free(&pv->uexits);
	free(pv);
	p->priv = NULL;
	p->obj = NULL;
}

#define SELFTEST_OUTS 1000

static int run_vm(void *arg)
{
	(void)arg;
	return ns_kvm_run_outs(SELFTEST_OUTS) == SELFTEST_OUTS ? 0 : 1;
}

static int selftest(struct ns_probe *p, struct ns_selftest *t, char *detail, size_t n)
{
	double before, got;

	(void)p;
	if (access("/dev/kvm", R_OK | W_OK)) {
		snprintf(detail, n, "no usable /dev/kvm: %s", strerror(errno));
		return 1;
	}
	before = ns_selftest_total(t, uexits_desc.name, "reason", "io");
	if (ns_selftest_child(run_vm, NULL)) {
		snprintf(detail, n, "workload failed (a VM through /dev/kvm)");
		return -1;
	}
	got = ns_selftest_total(t, uexits_desc.name, "reason", "io") - before;
	snprintf(detail, n, "a VM doing %d out instructions: %.0f io exits to userspace counted",
		 SELFTEST_OUTS, got);
	return got >= SELFTEST_OUTS ? 0 : -1;
}

const struct ns_probe_ops ns_kvm_probe = {
	.name = "kvm",
	.description = "KVM exits per VM and reason, exit handling latency, exits to the VMM",
	.check = check,
	.start = start,
	.collect = collect,
	.stop = stop,
	.report_family = "novascope_kvm_exit_latency_seconds",
	.selftest = selftest,
};
