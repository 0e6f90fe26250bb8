// SPDX-License-Identifier: GPL-2.0
/*
 * Migration listeners: QEMU processes started with `-incoming tcp:HOST:PORT` wait for a
 * migration on that port. Their (netns, port) go into the BPF map incoming_ports, which makes
 * both ends of such connections migration-class (bpf/tcp_class.bpf.h). Learnt when a QEMU
 * starts listening (NS_TCP_EV_LISTEN) and, at start-up, by a scan of /proc; forgotten when
 * the process is gone.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "tcp_core.h"
#include "tcp.skel.h"

#define MAX_LISTENERS 64

struct listener {
	struct ns_tcp_port_key key;
	pid_t tgid;
	unsigned long long start;
	bool used;
};

static struct listener listeners[MAX_LISTENERS];

void ns_mig_incoming_reset(void)
{
	memset(listeners, 0, sizeof(listeners));
}

static int parse_port(const char *s, size_t len, unsigned int *port)
{
	unsigned int v = 0;

	if (!len || len > 5)
		return -ENOENT;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -ENOENT;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -ENOENT;
	*port = v;
	return 0;
}

/* "tcp:HOST:PORT[,opts]", "tcp:[v6]:PORT", or QEMU 9.1+'s JSON form with "port": "N". */
static int incoming_value_port(const char *v, unsigned int *port)
{
	const char *end, *colon = NULL;

	if (v[0] == '{') {
		const char *p = strstr(v, "\"port\"");

		if (!p || !strstr(v, "\"inet\"") || !(p = strchr(p + 6, ':')))
			return -ENOENT;
		p += strspn(p + 1, " \t\"") + 1;
		return parse_port(p, strspn(p, "0123456789"), port);
	}
	if (strncmp(v, "tcp:", 4))
		return -ENOENT;
	v += 4;
	end = v + strcspn(v, ",");
	for (const char *p = v; p < end; p++)
		if (*p == ':')
			colon = p;
	return colon ? parse_port(colon + 1, (size_t)(end - colon - 1), port) : -ENOENT;
}

int ns_qemu_incoming_port(const char *argv, size_t len, unsigned int *port)
{
	const char *p = argv, *end = argv + len;

	while (p < end) {
		const char *arg = p, *next = memchr(p, 0, (size_t)(end - p));

		next = next ? next + 1 : end;
		if ((!strcmp(arg, "-incoming") || !strcmp(arg, "--incoming")) && next < end &&
		    !incoming_value_port(next, port))
			return 0;
		p = next;
	}
	return -ENOENT;
}

static ssize_t read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return -errno;
	len = read(fd, buf, n - 1);
	close(fd);
	if (len >= 0)
		buf[len] = 0;
	return len;
}

static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return 0;
	sscanf(p + 2,
	       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	       &st);
	return st;
}

/* The -incoming port of QEMU process pid, or 0. */
static unsigned int qemu_incoming(pid_t pid)
{
	char path[64], cmd[16384];
	const char *base;
	unsigned int port;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	len = read_file(path, cmd, sizeof(cmd));
	if (len <= 0)
		return 0;
	base = strrchr(cmd, '/');
	base = base ? base + 1 : cmd;
	if (strncmp(base, "qemu", 4) || ns_qemu_incoming_port(cmd, (size_t)len, &port))
		return 0;
	return port;
}

/* Let the kernel skip its incoming_ports lookups while there are none. */
static void count_listeners(void)
{
	struct ns_tcp_core *core = ns_tcp_core();
	__u32 n = 0;

	for (int i = 0; i < MAX_LISTENERS; i++)
		n += listeners[i].used;
	if (core->skel)
		core->skel->bss->nincoming = n;
}

static void add_listener(int map_fd, pid_t pid, __u32 netns, unsigned int port)
{
	struct listener *free_l = NULL;
	__u8 one = 1;
	char p[16], ps[16];

	for (int i = 0; i < MAX_LISTENERS; i++) {
		struct listener *l = &listeners[i];

		if (l->used && l->key.netns == netns && l->key.port == port && l->tgid == pid)
			return;
		if (!l->used && !free_l)
			free_l = l;
	}
	if (!free_l)
		return;
	*free_l = (struct listener){.key = {.netns = netns, .port = (__u16)port},
				    .tgid = pid,
				    .start = proc_start(pid),
				    .used = true};
	if (bpf_map_update_elem(map_fd, &free_l->key, &one, BPF_ANY)) {
		free_l->used = false;
		return;
	}
	count_listeners();
	snprintf(p, sizeof(p), "%d", pid);
	snprintf(ps, sizeof(ps), "%u", port);
	ns_log(NS_LOG_DEBUG, "migration listener", "pid", p, "port", ps, NULL);
}

/*
 * QEMUs that were already listening when the agent started. Their network namespace is read
 * from /proc/<pid>/ns/net, which needs ptrace access (CAP_SYS_PTRACE for a QEMU running as
 * another user, as under libvirt); without it, assume the agent's own namespace.
 */
void ns_mig_incoming_scan(int map_fd)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct stat self;

	if (!d)
		return;
	if (stat("/proc/self/ns/net", &self))
		self.st_ino = 0;
	while ((de = readdir(d))) {
		char path[64];
		struct stat st;
		unsigned int port;
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		port = qemu_incoming(pid);
		if (!port)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		if (stat(path, &st))
			st.st_ino = self.st_ino;
		add_listener(map_fd, pid, (__u32)st.st_ino, port);
	}
	closedir(d);
}

void ns_mig_incoming_on_listen(int map_fd, const struct ns_tcp_event *e)
{
	unsigned int port = qemu_incoming((pid_t)e->tgid);

	if (port && port == e->sport)
		add_listener(map_fd, (pid_t)e->tgid, e->netns, port);
}

/* Forget listeners whose QEMU is gone, so that their port stops meaning "migration". */
void ns_mig_incoming_gc(int map_fd)
{
	for (int i = 0; i < MAX_LISTENERS; i++) {
		struct listener *l = &listeners[i];

		if (!l->used || proc_start(l->tgid) == l->start)
			continue;
		l->used = false;
		for (int k = 0; k < MAX_LISTENERS; k++) {
			const struct listener *o = &listeners[k];

			if (o->used && !memcmp(&o->key, &l->key, sizeof(l->key)))
				goto shared;
		}
		bpf_map_delete_elem(map_fd, &l->key);
	shared:;
	}
	count_listeners();
}

/* Whether a /proc/net/tcp{,6} table has a socket in LISTEN (state 0x0A) on local port. */
bool ns_tcp_table_listens(const char *table, unsigned int port)
{
	for (const char *l = strchr(table, '\n'); l && *++l; l = strchr(l, '\n')) {
		unsigned int lport, state;

		if (sscanf(l, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &state) == 2 &&
		    state == 0x0A && lport == port)
			return true;
	}
	return false;
}

/*
 * Whether process pid listens on TCP port in its network namespace. A socket first seen
 * mid-life (the agent started later, or the kernel skipped the nested runs that saw its
 * handshake) has no direction: a local port that the owner listens on says it was accepted.
 */
bool ns_proc_listens_on(pid_t pid, unsigned int port)
{
	static const char *const tables[] = {"tcp", "tcp6"};
	static char buf[1 << 20]; /* one line per socket of the namespace: 150 B each */

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, tables[i]);
		if (read_file(path, buf, sizeof(buf)) > 0 && ns_tcp_table_listens(buf, port))
			return true;
	}
	return false;
}
