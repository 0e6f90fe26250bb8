/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attribution: cgroup id -> cgroup path and a bounded label for it; QEMU process -> VM name;
 * QEMU thread name -> role. All lookups are cached; callers may call them per event.
 */
#ifndef NOVASCOPE_ATTRIB_H
#define NOVASCOPE_ATTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* Mount point of the cgroup v2 hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified), or NULL. */
const char *ns_cgroup2_root(void);

/* Path of cgroup id (its cgroup v2 directory inode, as bpf_get_current_cgroup_id() returns)
 * relative to the cgroup2 root, starting with '/'. Returns 0, or -ENOENT when it is gone. */
int ns_cgroup_path(__u64 id, char *buf, size_t n);

/*
 * The label for a cgroup path: the path cut at `depth` components, or with depth 0 the
 * component that names a workload: a systemd unit (*.service, *.scope), a Kubernetes pod
 * (pod<uid>) or a libvirt machine (machine-qemu...scope); otherwise the path itself.
 */
void ns_cgroup_label(const char *path, unsigned int depth, char *out, size_t n);

/* VM name from a QEMU command line (-name guest=X,... or -name X); 0 or -ENOENT. Cached by
 * pid and start time, so reused pids are not confused. */
int ns_vm_name(pid_t tgid, char *out, size_t n);
/* The same from a NUL-separated argv buffer (for tests). */
int ns_vm_name_from_cmdline(const char *argv, size_t len, char *out, size_t n);
/* Is this process a QEMU (its comm or argv[0] basename starts with qemu)? */
bool ns_is_qemu(pid_t tgid);

enum ns_thread_role {
	NS_ROLE_OTHER = 0,
	NS_ROLE_VCPU, /* "CPU 0/KVM", "CPU 0/TCG" */
	NS_ROLE_MIGRATION, /* "live_migration", "mig/src/main" */
	NS_ROLE_MIGRATION_SEND, /* "multifdsend_N", "mig/src/send_N" */
	NS_ROLE_MIGRATION_RECV, /* "multifdrecv_N", "mig/dst/recv_N", "mig/dst/main" */
	NS_ROLE_VHOST, /* "vhost-<pid>" */
};

enum ns_thread_role ns_thread_role(const char *comm);
const char *ns_thread_role_str(enum ns_thread_role r);

/* Drop cached entries (for tests, and after a cgroup removal burst). */
void ns_attrib_flush(void);

/* Label for a VM process: its QEMU -name, else "<comm>:<tgid>" (a VMM that is not QEMU, or a
 * QEMU started without -name). 0, or -ENOENT when the process is gone. */
int ns_vm_label(pid_t tgid, char *out, size_t n);

#endif
