// SPDX-License-Identifier: GPL-2.0
/* Pinning of maps and links so that counts survive agent restarts (see probe_util.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "probe.h"
#include "probe_util.h"

#define BPF_FS_MAGIC 0xcafe4a11

bool ns_is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

bool ns_is_bpffs_parent(const char *path)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return false;
	*slash = 0;
	return ns_is_bpffs(parent);
}

static int rm_pins(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			n += rm_pins(path);
			rmdir(path);
		} else if (!unlink(path)) {
			n++;
		}
	}
	closedir(d);
	return n;
}

int ns_pins_cleanup(const char *pin_root)
{
	int n = rm_pins(pin_root);

	rmdir(pin_root);
	return n;
}

/* Does the pinned map at path have the layout this build expects? */
static bool pin_compatible(const char *path, const struct bpf_map *m, char *why, size_t n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);
	bool ok;

	if (fd < 0)
		return true; /* nothing pinned yet */
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(m) &&
	     info.key_size == bpf_map__key_size(m) && info.value_size == bpf_map__value_size(m) &&
	     info.max_entries == bpf_map__max_entries(m) && info.map_flags == bpf_map__map_flags(m);
	if (!ok)
		snprintf(why, n, "%s: pinned value_size %u max_entries %u, this build %u %u",
			 bpf_map__name(m), info.value_size, info.max_entries,
			 bpf_map__value_size(m), bpf_map__max_entries(m));
	close(fd);
	return ok;
}

unsigned int ns_ringbuf_size;

/* --bpf.ringbuf-size: every ring buffer of the object gets this size (a power of 2). */
static void size_ringbufs(struct bpf_object *obj)
{
	struct bpf_map *m;

	if (!ns_ringbuf_size)
		return;
	bpf_object__for_each_map(m, obj) if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF)
		bpf_map__set_max_entries(m, ns_ringbuf_size);
}

int ns_probe_pin_maps(struct ns_probe *p, struct bpf_object *obj, const char *pin_root,
		      const char *const *maps)
{
	char path[PATH_MAX], why[256];
	bool stale = false;

	size_ringbufs(obj);
	p->pin_dir[0] = 0;
	p->adopted = false;
	if (!pin_root || !*pin_root)
		return 0;
	snprintf(p->pin_dir, sizeof(p->pin_dir), "%s/%s", pin_root, p->ops->name);
	if (mkdir(pin_root, 0700) && errno != EEXIST)
		goto fail;
	if (mkdir(p->pin_dir, 0700) && errno != EEXIST)
		goto fail;
	for (const char *const *m = maps; m && *m && !stale; m++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, *m);

		snprintf(path, sizeof(path), "%s/%s", p->pin_dir, *m);
		if (map && !pin_compatible(path, map, why, sizeof(why)))
			stale = true;
	}
	if (stale) {
		ns_log(NS_LOG_WARN,
		       "pinned maps have another layout (other version): replacing pins", "probe",
		       p->ops->name, "detail", why, NULL);
		rm_pins(p->pin_dir);
	}
	for (const char *const *m = maps; m && *m; m++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, *m);

		if (!map)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->pin_dir, *m);
		if (!access(path, F_OK))
			p->adopted = true;
		if (bpf_map__set_pin_path(map, path))
			goto fail;
	}
	return 0;
fail:
	ns_probe_set_reason(p, "pin under %s: %s", pin_root, strerror(errno));
	return -errno;
}

/* Detach the link an earlier agent pinned for prog, if any. */
static void drop_pinned_link(struct ns_probe *p, struct bpf_program *prog)
{
	char path[PATH_MAX];
	struct bpf_link *old;

	if (!*p->pin_dir)
		return;
	snprintf(path, sizeof(path), "%s/link_%s", p->pin_dir, bpf_program__name(prog));
	old = bpf_link__open(path);
	if (libbpf_get_error(old))
		return;
	bpf_link__unpin(old);
	bpf_link__destroy(old); /* last reference: the old program detaches */
	p->adopted = true;
}

static int attach_one(struct ns_probe *p, struct bpf_program *prog, struct bpf_link **out)
{
	char path[PATH_MAX];
	struct bpf_link *l;
	int err;

	drop_pinned_link(p, prog);
	snprintf(path, sizeof(path), "%s/link_%s", p->pin_dir, bpf_program__name(prog));
	l = bpf_program__attach(prog);
	err = libbpf_get_error(l);
	if (err) {
		ns_probe_set_reason(p, "attach %s: %s", bpf_program__name(prog), strerror(-err));
		return err;
	}
	if (*p->pin_dir && (err = bpf_link__pin(l, path))) {
		ns_probe_set_reason(p, "pin link %s: %s", path, strerror(-err));
		bpf_link__destroy(l);
		return err;
	}
	*out = l;
	return 0;
}

int ns_probe_attach(struct ns_probe *p, struct bpf_object *obj)
{
	struct bpf_program *prog;
	size_t n = 0;
	int err;

	bpf_object__for_each_program(prog, obj) n++;
	p->links = calloc(n ? n : 1, sizeof(*p->links));
	if (!p->links)
		return -ENOMEM;
	bpf_object__for_each_program(prog, obj)
	{
		/* Iterators are not attached to an event: their probe runs them itself. */
		if (bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER)
			continue;
		/* Not loaded (another flavour of the same hook was picked), or attached by the probe
		 * itself, unpinned: a pin an earlier agent left for it would count twice. */
		if (!bpf_program__autoload(prog) || !bpf_program__autoattach(prog)) {
			drop_pinned_link(p, prog);
			continue;
		}
		err = attach_one(p, prog, &p->links[p->nlinks]);
		if (err)
			return err;
		p->nlinks++;
	}
	if (p->adopted)
		ns_log(NS_LOG_INFO, "adopted pinned state: counts continue", "probe", p->ops->name,
		       "pin_dir", p->pin_dir, NULL);
	return 0;
}

void ns_probe_detach(struct ns_probe *p)
{
	/* Destroying a pinned link only closes our fd: the pin keeps it attached. */
	for (size_t i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	p->links = NULL;
	p->nlinks = 0;
}
