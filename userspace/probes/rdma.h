/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the three RDMA probes (rdma_counters, rdma_uprobes, rdma_kernel), exposed for
 * their unit tests. The probes themselves are registered in probes.c.
 */
#ifndef NOVASCOPE_PROBES_RDMA_H
#define NOVASCOPE_PROBES_RDMA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ns_registry;

/* A small open-addressing hash table with fixed-size keys and values (rdma_util.c). Value
 * pointers stay valid only until the next ns_kv_get(..., true). */
struct ns_kv {
	size_t ksize, vsize, cap, n;
	unsigned char *slots;
};

void ns_kv_init(struct ns_kv *t, size_t ksize, size_t vsize);
/* Value for key (ksize bytes); with create, a zeroed value is added when absent. NULL when
 * absent (or out of memory). */
void *ns_kv_get(struct ns_kv *t, const void *key, bool create);
/* Slot i (0 <= i < t->cap): its value and key, or NULL when empty (for walking the table). */
void *ns_kv_at(const struct ns_kv *t, size_t i, const void **key);
void ns_kv_free(struct ns_kv *t);

/* "ESTABLISHED" for 9 (enum rdma_cm_event_type), "unknown_N" beyond the known ones. */
const char *ns_rdma_cm_event_name(unsigned int ev, char *buf, size_t n);

struct ns_family_desc;
/* Add each key's growth of the per-(event, status) CM event counts in map fd to d's counters;
 * prev (keys struct ns_rdma_event_key, values u64) holds the counts of the last read. */
void ns_rdma_collect_cm_events(int fd, struct ns_kv *prev, const struct ns_family_desc *d,
			       struct ns_registry *r);

/* rdma_counters: the sysfs reader. */
struct ns_rdma_sysfs;
struct ns_rdma_sysfs *ns_rdma_sysfs_new(const char *root);
void ns_rdma_sysfs_free(struct ns_rdma_sysfs *st);
/* Read every device and port under root into r (deltas of the kernel's counters). */
void ns_rdma_sysfs_collect(struct ns_rdma_sysfs *st, struct ns_registry *r);
/* A counter file's content as the kernel writes it ("%llu\n"); -1 for anything else. */
int ns_rdma_parse_u64(const char *buf, size_t len, uint64_t *out);
/* Read a small sysfs file into buf (NUL-terminated, *len bytes): 0 or -errno; -EFBIG when it
 * does not fit, -EISDIR/-EINVAL when not a regular file. Never blocks (FIFOs). */
int ns_rdma_read_small(const char *path, char *buf, size_t n, size_t *len);
/* Printable copy of untrusted content for a log line. */
void ns_rdma_printable(const char *in, size_t len, char *out, size_t n);
/* snprintf that says whether it fit (paths built from directory entries are skipped if not). */
bool ns_rdma_fmt(char *out, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* rdma_uprobes: where the libraries are and where their functions start (rdma_libs.c). */
#define NS_RDMA_MAX_LIBS 8
/*
 * Library files to attach to: with lib_path (comma-separated files or directories), those;
 * otherwise librdmacm.so.1 and libibverbs.so.1 in the dynamic linker's directories
 * (/etc/ld.so.conf and the multiarch defaults). Files are deduplicated by inode, since a
 * uprobe belongs to the inode. Returns how many were found (0 with why filled).
 */
int ns_rdma_find_libs(const char *lib_path, char paths[][PATH_MAX], int max, char *why,
		      size_t whylen);
/*
 * File offset of the default-version definition of function sym in the ELF file path (the one
 * a program linked today binds to: libibverbs also carries IBVERBS_1.0 compat copies).
 * Returns 0, -ENOENT when the file has no such function, or another -errno. vaddr (optional)
 * gets the symbol's value.
 */
int ns_elf_func_offset(const char *path, const char *sym, uint64_t *offset, uint64_t *vaddr);

/* rdma_kernel: offset and size of a field in a tracefs event format text; 0 or -ENOENT. */
int ns_tp_format_field(const char *format, const char *field, unsigned int *offset,
		       unsigned int *size);
struct ns_rdma_tp_offsets;
/* Fill the offsets the program for tracepoint cat:name reads, from
 * <tracefs>/events/<cat>/<name>/format; false when the file or a field (of the expected size)
 * is missing. Tracepoints whose programs read nothing need only the file. */
bool ns_rdma_tp_offsets(const char *tracefs, const char *cat, const char *name,
			struct ns_rdma_tp_offsets *o);

#endif
