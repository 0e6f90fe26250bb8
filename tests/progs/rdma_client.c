// SPDX-License-Identifier: GPL-2.0
/*
 * An RDMA client written against rdma-core's librdmacm and libibverbs, for the rdma_uprobes
 * tests. It prints one line per traced call so a test can compare with what novascope counted.
 *
 *   rdma_client real
 *       Calls that a node without an RDMA device fails (the real libraries, no device):
 *       "CALL <function> ok|fail <errno name>".
 *   rdma_client connect N
 *       N active connections (resolve address, resolve route, connect, wait for the CM event,
 *       disconnect on success): "CONNECT <event> <status> <ns>", ns measured around
 *       rdma_connect ... rdma_get_cm_event (an upper bound of the probe's latency). Run with the
 *       scripted test libraries (tests/rdma_fake) on LD_LIBRARY_PATH.
 *   rdma_client mr SIZE...
 *       Registers one MR of each size (ibv_reg_mr; a size prefixed with "i" uses
 *       ibv_reg_mr_iova): "MR <size> ok|fail <ns>".
 *   rdma_client bench N
 *       N x (ibv_reg_mr + ibv_dereg_mr) of 4 KiB, for the cost of the probes: "BENCH <ns/iter>"
 *       (with NS_FAKE_RDMA_MR=0 the test library registers instantly).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void call(const char *fn, int failed)
{
	printf("CALL %s %s %s\n", fn, failed ? "fail" : "ok",
	       failed ? strerrorname_np(errno) : "-");
}

static int real(void)
{
	struct rdma_event_channel *ch;
	struct rdma_addrinfo *ai = NULL;
	struct ibv_device **list;
	struct rdma_cm_id *id = NULL;
	int n = 0;

	errno = 0;
	ch = rdma_create_event_channel();
	call("rdma_create_event_channel", !ch);
	errno = 0;
	call("rdma_create_id", rdma_create_id(ch, &id, NULL, RDMA_PS_TCP) != 0);
	errno = 0;
	call("rdma_getaddrinfo", rdma_getaddrinfo("127.0.0.1", "7471", NULL, &ai) != 0);
	errno = 0;
	list = ibv_get_device_list(&n);
	call("ibv_get_device_list", !list);
	if (list)
		ibv_free_device_list(list);
	if (ai)
		rdma_freeaddrinfo(ai);
	if (id)
		rdma_destroy_id(id);
	if (ch)
		rdma_destroy_event_channel(ch);
	return 0;
}

/* Wait for the next CM event; its type and status, or -1. */
static int next_event(struct rdma_event_channel *ch, int *status)
{
	struct rdma_cm_event *ev;
	int type;

	if (rdma_get_cm_event(ch, &ev)) {
		perror("rdma_get_cm_event");
		return -1;
	}
	type = ev->event;
	*status = ev->status;
	rdma_ack_cm_event(ev);
	return type;
}

static int connect_one(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(7471) };
	struct rdma_conn_param param = { .retry_count = 7, .rnr_retry_count = 7 };
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct rdma_cm_id *id = NULL;
	int type, status, ret = -1;
	uint64_t t0, t1;

	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ch || rdma_create_id(ch, &id, NULL, RDMA_PS_TCP)) {
		perror("create");
		goto cleanup;
	}
	if (rdma_resolve_addr(id, NULL, (struct sockaddr *)&dst, 2000) ||
	    next_event(ch, &status) != RDMA_CM_EVENT_ADDR_RESOLVED ||
	    rdma_resolve_route(id, 2000) ||
	    next_event(ch, &status) != RDMA_CM_EVENT_ROUTE_RESOLVED) {
		fprintf(stderr, "address/route resolution failed\n");
		goto cleanup;
	}
	t0 = now_ns();
	if (rdma_connect(id, &param)) {
		printf("CONNECT call_failed %s 0\n", strerrorname_np(errno));
		ret = 0;
		goto cleanup;
	}
	type = next_event(ch, &status);
	t1 = now_ns();
	if (type < 0)
		goto cleanup;
	printf("CONNECT %s %d %llu\n", rdma_event_str(type), status,
	       (unsigned long long)(t1 - t0));
	if (type == RDMA_CM_EVENT_ESTABLISHED) {
		rdma_disconnect(id);
		if (next_event(ch, &status) != RDMA_CM_EVENT_DISCONNECTED)
			goto cleanup;
	}
	ret = 0;
cleanup:
	if (id)
		rdma_destroy_id(id);
	if (ch)
		rdma_destroy_event_channel(ch);
	return ret;
}

static int mr(int argc, char **argv)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = list && list[0] ? ibv_open_device(list[0]) : NULL;
	struct ibv_pd *pd = ctx ? ibv_alloc_pd(ctx) : NULL;

	if (!pd) {
		perror("no protection domain");
		return 1;
	}
	for (int i = 0; i < argc; i++) {
		bool iova = argv[i][0] == 'i';
		size_t size = strtoull(argv[i] + iova, NULL, 0);
		void *buf = malloc(size ? size : 1);
		struct ibv_mr *m;
		uint64_t t0 = now_ns(), t1;

		if (iova)
			m = ibv_reg_mr_iova(pd, buf, size, 0x10000, IBV_ACCESS_LOCAL_WRITE);
		else
			m = ibv_reg_mr(pd, buf, size, IBV_ACCESS_LOCAL_WRITE);
		t1 = now_ns();
		printf("MR %zu %s %llu\n", size, m ? "ok" : "fail", (unsigned long long)(t1 - t0));
		if (m)
			ibv_dereg_mr(m);
		free(buf);
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	ibv_free_device_list(list);
	return 0;
}

static int bench(long n)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = list && list[0] ? ibv_open_device(list[0]) : NULL;
	struct ibv_pd *pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	static char buf[4096];
	uint64_t t0;

	if (!pd) {
		perror("no protection domain");
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		struct ibv_mr *m = ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);

		if (!m) {
			perror("ibv_reg_mr");
			return 1;
		}
		ibv_dereg_mr(m);
	}
	printf("BENCH %.1f\n", (double)(now_ns() - t0) / (double)n);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	ibv_free_device_list(list);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "real"))
		return real();
	if (argc == 3 && !strcmp(argv[1], "connect")) {
		for (int i = 0, n = atoi(argv[2]); i < n; i++)
			if (connect_one())
				return 1;
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "mr"))
		return mr(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(atol(argv[2]));
	fprintf(stderr, "usage: rdma_client real | connect N | mr SIZE... | bench N\n");
	return 2;
}
