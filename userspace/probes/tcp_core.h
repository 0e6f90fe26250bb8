/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The `tcp` and `migration` probes share one BPF object (bpf/tcp.bpf.c): the first of them to
 * start loads and attaches it, the last to stop destroys it, and whichever the main loop asks
 * first consumes its ring buffer and hands each event to both views.
 */
#ifndef NOVASCOPE_TCP_CORE_H
#define NOVASCOPE_TCP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "probe.h"
#include "novascope/tcp.h"

struct ns_features;
struct ns_config;
struct tcp_bpf;

struct ns_tcp_core {
	struct tcp_bpf *skel;
	int refs;
	bool per_netns;
	bool mig_on; /* the migration view is running */
	struct ns_probe *rb_owner;
	struct ns_probe *owner; /* holds the pins and links: the tcp probe's entry */
	struct bpf_link *flush; /* iterator bringing open sockets' byte counts up to date */
	uint64_t flushed_gen;
	const struct ns_tcp_classes *classes;
};

struct ns_tcp_core *ns_tcp_core(void);
bool ns_tcp_core_check(struct ns_probe *p, const struct ns_features *f);
int ns_tcp_core_start(struct ns_probe *p, const struct ns_config *cfg);
void ns_tcp_core_stop(struct ns_probe *p);
struct bpf_map *ns_tcp_core_events_map(struct ns_probe *p);
/* Once per collection (registry generation gen): run the byte-count iterator. */
void ns_tcp_core_flush(uint64_t gen);
int ns_tcp_core_on_event(struct ns_probe *p, const void *data, size_t size);
/* Between collections (the owner hooks' deferred detach). */
void ns_tcp_core_tick(struct ns_probe *p);
/* Run the iterator once more: the number of sockets waiting for the owner hooks. */
__u64 ns_tcp_core_count_awaiting(void);

/* tcp_owner.c: the owner hooks, attached only while a socket waits for its owner. */
void ns_tcp_owner_prepare(struct tcp_bpf *skel);
int ns_tcp_owner_start(struct tcp_bpf *skel, bool always);
void ns_tcp_owner_stop(void);
void ns_tcp_owner_on_event(__u8 type);
void ns_tcp_owner_after_flush(__u64 awaiting);
void ns_tcp_owner_tick(void);
bool ns_tcp_owner_attached(uint64_t *attaches);
bool ns_tcp_owner_settled(void);
/* tcp.c: a connection closed (for `novascope report tcp`). */
void ns_tcp_on_close(const struct ns_tcp_event *e);
/* "addr:port" of one end of an event's connection. */
void ns_tcp_fmt_addr(const struct ns_tcp_event *e, bool local, char *buf, size_t n);

/* migration.c: the session view fed by the core. */
void ns_mig_on_event(const struct ns_tcp_event *e);
void ns_mig_reset(void);
/* qemu_incoming.c: migration listeners, QEMU processes started with -incoming tcp:HOST:PORT. */
void ns_mig_incoming_reset(void);
void ns_mig_incoming_scan(int map_fd);
void ns_mig_incoming_on_listen(int map_fd, const struct ns_tcp_event *e);
void ns_mig_incoming_gc(int map_fd);
/* PORT from "-incoming tcp:HOST:PORT[,opts]" in a NUL-separated argv; 0 or -ENOENT. */
int ns_qemu_incoming_port(const char *argv, size_t len, unsigned int *port);
bool ns_tcp_table_listens(const char *table, unsigned int port);
bool ns_proc_listens_on(pid_t pid, unsigned int port);

#endif
