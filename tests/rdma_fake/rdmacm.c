// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in librdmacm.so.1 for tests: the same symbols, versions and ABI as rdma-core's
 * library (it is compiled against <rdma/rdma_cma.h>), but with a scripted connection manager so
 * a test knows exactly which events come and when. A program linked against the real library
 * runs on it unchanged with LD_LIBRARY_PATH pointing here.
 *
 * NS_FAKE_RDMA_CONNECT="ESTABLISHED:3000,REJECTED:1000,FAIL:0,..." : for each rdma_connect in
 *   turn, the event its rdma_get_cm_event returns and after how many microseconds (counted
 *   from rdma_connect's start); FAIL makes rdma_connect itself fail (-1, EINVAL).
 * NS_FAKE_RDMA_LOG=<file> : appends "connect_inner_ns <event> <N>" per connect event, N measured
 *   inside the library from rdma_connect's start to rdma_get_cm_event's return: a lower bound
 *   of what a probe around the calls sees.
 * Other calls succeed at once and queue the event the real CM would (ADDR_RESOLVED, ...).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rdma/rdma_cma.h>

struct fake_event {
	struct fake_event *next;
	struct rdma_cm_id *id;
	enum rdma_cm_event_type type;
	int status;
	uint64_t ready_ns; /* CLOCK_MONOTONIC */
	uint64_t connect_ns; /* rdma_connect's start, for connect events */
};

/* The public struct first: applications only see that part. */
struct fake_channel {
	struct rdma_event_channel pub;
	struct fake_event *head, *tail;
};

struct fake_id {
	struct rdma_cm_id pub;
	struct ibv_context ctx;
};

static int connects; /* rdma_connect calls so far: index into the script */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int queue(struct rdma_cm_id *id, enum rdma_cm_event_type type, int status,
		 uint64_t ready, uint64_t connect)
{
	struct fake_channel *ch = (struct fake_channel *)id->channel;
	struct fake_event *e = calloc(1, sizeof(*e));

	if (!e) {
		errno = ENOMEM;
		return -1;
	}
	*e = (struct fake_event){ NULL, id, type, status, ready, connect };
	if (ch->tail)
		ch->tail->next = e;
	else
		ch->head = e;
	ch->tail = e;
	return 0;
}

/* The n-th entry of the connect script: event type, status, delay. */
static int script(int n, enum rdma_cm_event_type *type, int *status, uint64_t *delay_ns)
{
	static const struct {
		const char *name;
		enum rdma_cm_event_type type;
		int status;
	} outcomes[] = {
		{ "ESTABLISHED", RDMA_CM_EVENT_ESTABLISHED, 0 },
		{ "REJECTED", RDMA_CM_EVENT_REJECTED, 28 }, /* IB_CM_REJ_CONSUMER_DEFINED */
		{ "UNREACHABLE", RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT },
		{ "CONNECT_ERROR", RDMA_CM_EVENT_CONNECT_ERROR, -ECONNRESET },
		{ "FAIL", RDMA_CM_EVENT_CONNECT_ERROR, 1 }, /* status 1: the call fails */
	};
	const char *s = getenv("NS_FAKE_RDMA_CONNECT");
	char name[32];
	unsigned long us;

	for (; s && n > 0; n--) {
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
	if (!s || sscanf(s, "%31[A-Z_]:%lu", name, &us) != 2)
		return -1;
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (!strcmp(outcomes[i].name, name)) {
			*type = outcomes[i].type;
			*status = outcomes[i].status;
			*delay_ns = us * 1000ULL;
			return 0;
		}
	return -1;
}

static void log_line(const char *what, const char *event, uint64_t ns)
{
	const char *path = getenv("NS_FAKE_RDMA_LOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fprintf(f, "%s %s %llu\n", what, event, (unsigned long long)ns);
		fclose(f);
	}
}

struct rdma_event_channel *rdma_create_event_channel(void)
{
	struct fake_channel *ch = calloc(1, sizeof(*ch));

	if (!ch) {
		errno = ENOMEM;
		return NULL;
	}
	ch->pub.fd = -1;
	return &ch->pub;
}

void rdma_destroy_event_channel(struct rdma_event_channel *channel)
{
	struct fake_channel *ch = (struct fake_channel *)channel;

	while (ch->head) {
		struct fake_event *e = ch->head;

		ch->head = e->next;
		free(e);
	}
	free(ch);
}

int rdma_create_id(struct rdma_event_channel *channel, struct rdma_cm_id **id, void *context,
		   enum rdma_port_space ps)
{
	struct fake_id *fid;

	if (!channel) {
		errno = EINVAL; /* synchronous ids are not scripted */
		return -1;
	}
	fid = calloc(1, sizeof(*fid));
	if (!fid) {
		errno = ENOMEM;
		return -1;
	}
	fid->pub.channel = channel;
	fid->pub.context = context;
	fid->pub.ps = ps;
	fid->pub.qp_type = IBV_QPT_RC;
	*id = &fid->pub;
	return 0;
}

int rdma_destroy_id(struct rdma_cm_id *id)
{
	free(id);
	return 0;
}

int rdma_getaddrinfo(const char *node, const char *service, const struct rdma_addrinfo *hints,
		     struct rdma_addrinfo **res)
{
	(void)node, (void)service, (void)hints, (void)res;
	errno = ENODEV;
	return -1;
}

void rdma_freeaddrinfo(struct rdma_addrinfo *res)
{
	(void)res;
}

const char *rdma_event_str(enum rdma_cm_event_type event)
{
	static const char *const names[] = {
		"RDMA_CM_EVENT_ADDR_RESOLVED",	  "RDMA_CM_EVENT_ADDR_ERROR",
		"RDMA_CM_EVENT_ROUTE_RESOLVED",	  "RDMA_CM_EVENT_ROUTE_ERROR",
		"RDMA_CM_EVENT_CONNECT_REQUEST",  "RDMA_CM_EVENT_CONNECT_RESPONSE",
		"RDMA_CM_EVENT_CONNECT_ERROR",	  "RDMA_CM_EVENT_UNREACHABLE",
		"RDMA_CM_EVENT_REJECTED",	  "RDMA_CM_EVENT_ESTABLISHED",
		"RDMA_CM_EVENT_DISCONNECTED",	  "RDMA_CM_EVENT_DEVICE_REMOVAL",
		"RDMA_CM_EVENT_MULTICAST_JOIN",	  "RDMA_CM_EVENT_MULTICAST_ERROR",
		"RDMA_CM_EVENT_ADDR_CHANGE",	  "RDMA_CM_EVENT_TIMEWAIT_EXIT",
	};

	return (unsigned int)event < sizeof(names) / sizeof(names[0]) ? names[event]
								     : "UNKNOWN EVENT";
}

int rdma_resolve_addr(struct rdma_cm_id *id, struct sockaddr *src_addr,
		      struct sockaddr *dst_addr, int timeout_ms)
{
	(void)src_addr, (void)dst_addr, (void)timeout_ms;
	/* The CM binds the id to the device that routes to dst. */
	id->verbs = &((struct fake_id *)id)->ctx;
	id->port_num = 1;
	return queue(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0, 0, 0);
}

int rdma_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	(void)timeout_ms;
	return queue(id, RDMA_CM_EVENT_ROUTE_RESOLVED, 0, 0, 0);
}

int rdma_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd, struct ibv_qp_init_attr *attr)
{
	(void)id, (void)pd, (void)attr;
	return 0;
}

int rdma_connect(struct rdma_cm_id *id, struct rdma_conn_param *conn_param)
{
	uint64_t start = now_ns(), delay;
	enum rdma_cm_event_type type;
	int status;

	(void)conn_param;
	if (script(connects++, &type, &status, &delay)) {
		errno = EINVAL;
		return -1;
	}
	if (status == 1) { /* FAIL */
		errno = EINVAL;
		return -1;
	}
	return queue(id, type, status, start + delay, start);
}

int rdma_listen(struct rdma_cm_id *id, int backlog)
{
	(void)id, (void)backlog;
	return 0;
}

int rdma_accept(struct rdma_cm_id *id, struct rdma_conn_param *conn_param)
{
	(void)conn_param;
	return queue(id, RDMA_CM_EVENT_ESTABLISHED, 0, 0, 0);
}

int rdma_reject(struct rdma_cm_id *id, const void *private_data, uint8_t private_data_len)
{
	(void)id, (void)private_data, (void)private_data_len;
	return 0;
}

int rdma_disconnect(struct rdma_cm_id *id)
{
	return queue(id, RDMA_CM_EVENT_DISCONNECTED, 0, 0, 0);
}

int rdma_get_cm_event(struct rdma_event_channel *channel, struct rdma_cm_event **event)
{
	struct fake_channel *ch = (struct fake_channel *)channel;
	struct fake_event *e = ch->head;
	struct rdma_cm_event *ev;

	if (!e) {
		errno = ENODATA; /* the real one would block forever */
		return -1;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		errno = ENOMEM;
		return -1;
	}
	ch->head = e->next;
	if (!ch->head)
		ch->tail = NULL;
	sleep_until(e->ready_ns);
	ev->id = e->id;
	ev->event = e->type;
	ev->status = e->status;
	if (e->connect_ns)
		log_line("connect_inner_ns", rdma_event_str(e->type), now_ns() - e->connect_ns);
	free(e);
	*event = ev;
	return 0;
}

int rdma_ack_cm_event(struct rdma_cm_event *event)
{
	free(event);
	return 0;
}
