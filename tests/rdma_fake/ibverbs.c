// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in libibverbs.so.1 for tests: rdma-core's symbols, versions and ABI (compiled
 * against <infiniband/verbs.h>), with one fake device and scripted memory registrations.
 * Like the real library, ibv_reg_mr@@IBVERBS_1.1 and ibv_reg_mr_iova call ibv_reg_mr_iova2,
 * and an IBVERBS_1.0 compat ibv_reg_mr exists next to the default one.
 *
 * NS_FAKE_RDMA_MR="3000,FAIL,6000,..." : for each registration in turn, how many microseconds
 *   it takes, or FAIL (NULL, EINVAL, at once); the last entry repeats ("0": all instant).
 * NS_FAKE_RDMA_LOG=<file> : appends "mr_inner_ns ok <N>" per successful registration, measured
 *   inside ibv_reg_mr_iova2 (a lower bound of what a probe around the call sees).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>

#undef ibv_reg_mr
#undef ibv_reg_mr_iova

static int regs; /* registrations so far: index into the script */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Delay of the n-th registration in microseconds (past the end: the last entry again), or -1
 * for FAIL. */
static long script(int n)
{
	const char *s = getenv("NS_FAKE_RDMA_MR"), *next;

	for (; s && n > 0 && (next = strchr(s, ',')); n--)
		s = next + 1;
	if (!s || !strncmp(s, "FAIL", 4))
		return -1;
	return strtol(s, NULL, 10);
}

static void log_line(const char *what, uint64_t ns)
{
	const char *path = getenv("NS_FAKE_RDMA_LOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fprintf(f, "%s ok %llu\n", what, (unsigned long long)ns);
		fclose(f);
	}
}

struct ibv_device **ibv_get_device_list(int *num_devices)
{
	struct ibv_device **list = calloc(2, sizeof(*list));

	if (!list || !(list[0] = calloc(1, sizeof(**list)))) {
		free(list);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(list[0]->name, sizeof(list[0]->name), "fake_rdma0");
	list[0]->node_type = IBV_NODE_CA;
	list[0]->transport_type = IBV_TRANSPORT_IB;
	if (num_devices)
		*num_devices = 1;
	return list;
}

void ibv_free_device_list(struct ibv_device **list)
{
	for (int i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

struct ibv_context *ibv_open_device(struct ibv_device *device)
{
	struct ibv_context *ctx = calloc(1, sizeof(*ctx));

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	ctx->device = device;
	ctx->cmd_fd = -1;
	ctx->async_fd = -1;
	return ctx;
}

int ibv_close_device(struct ibv_context *context)
{
	free(context);
	return 0;
}

struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
	struct ibv_pd *pd = calloc(1, sizeof(*pd));

	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	pd->context = context;
	return pd;
}

int ibv_dealloc_pd(struct ibv_pd *pd)
{
	free(pd);
	return 0;
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				unsigned int access)
{
	uint64_t start = now_ns();
	long us = script(regs++);
	struct timespec ts;
	struct ibv_mr *mr;

	(void)iova, (void)access;
	if (us < 0 || !pd || !length) {
		errno = EINVAL;
		return NULL;
	}
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (us && nanosleep(&ts, &ts) && errno == EINTR)
		;
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	mr->context = pd->context;
	mr->pd = pd;
	mr->addr = addr;
	mr->length = length;
	mr->lkey = mr->rkey = (uint32_t)regs;
	if (us)
		log_line("mr_inner_ns", now_ns() - start);
	return mr;
}

/* The default ibv_reg_mr, and the compat one programs linked against IBVERBS_1.0 call. */
struct ibv_mr *ibv_reg_mr_1_1(struct ibv_pd *pd, void *addr, size_t length, int access);
struct ibv_mr *ibv_reg_mr_1_0(struct ibv_pd *pd, void *addr, size_t length, int access);
__asm__(".symver ibv_reg_mr_1_1, ibv_reg_mr@@IBVERBS_1.1");
__asm__(".symver ibv_reg_mr_1_0, ibv_reg_mr@IBVERBS_1.0");

struct ibv_mr *ibv_reg_mr_1_1(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, (uintptr_t)addr, (unsigned int)access);
}

struct ibv_mr *ibv_reg_mr_1_0(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	(void)pd, (void)addr, (void)length, (void)access;
	errno = ENOSYS; /* nothing in the tests links against IBVERBS_1.0 */
	return NULL;
}

struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
			       int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, iova, (unsigned int)access);
}

struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
				 uint64_t iova, int fd, int access)
{
	(void)pd, (void)offset, (void)length, (void)iova, (void)fd, (void)access;
	errno = EOPNOTSUPP;
	return NULL;
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	free(mr);
	return 0;
}

struct ibv_cq *ibv_create_cq(struct ibv_context *context, int cqe, void *cq_context,
			     struct ibv_comp_channel *channel, int comp_vector)
{
	struct ibv_cq *cq = calloc(1, sizeof(*cq));

	(void)channel, (void)comp_vector;
	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	cq->context = context;
	cq->cq_context = cq_context;
	cq->cqe = cqe;
	return cq;
}

int ibv_destroy_cq(struct ibv_cq *cq)
{
	free(cq);
	return 0;
}

struct ibv_qp *ibv_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *qp_init_attr)
{
	struct ibv_qp *qp = calloc(1, sizeof(*qp));

	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	qp->context = pd->context;
	qp->pd = pd;
	qp->qp_type = qp_init_attr->qp_type;
	qp->state = IBV_QPS_RESET;
	return qp;
}

int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int attr_mask)
{
	/* Like a provider: an RTR transition without a destination is invalid. */
	if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RTR &&
	    !(attr_mask & IBV_QP_AV))
		return EINVAL;
	if (attr_mask & IBV_QP_STATE)
		qp->state = attr->qp_state;
	return 0;
}

int ibv_destroy_qp(struct ibv_qp *qp)
{
	free(qp);
	return 0;
}
