// SPDX-License-Identifier: GPL-2.0
/*
 * The kvm probe's self-test workload: a minimal VM through /dev/kvm whose one vCPU runs, in
 * real mode, `out dx, al` n times then `hlt` (tests/progs/kvm_out.c is the same for the
 * integration tests). Each `out` returns to us as KVM_EXIT_IO.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm_reasons.h"

#define GUEST_ADDR 0x1000

static int make_vcpu(int kvm, int vm, unsigned int n, struct kvm_run **run)
{
	/* mov dx, 0x3f8; mov cx, n; l: out dx, al; loop l; hlt */
	const unsigned char code[] = {0xba, 0xf8, 0x03, 0xb9, n & 0xff, (n >> 8) & 0xff,
				      0xee, 0xe2, 0xfd, 0xf4};
	struct kvm_userspace_memory_region region = {.guest_phys_addr = GUEST_ADDR,
						     .memory_size = 0x1000};
	struct kvm_regs regs = {.rip = GUEST_ADDR, .rflags = 0x2};
	struct kvm_sregs sregs;
	unsigned char *mem;
	int vcpu, size;

	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	memcpy(mem, code, sizeof(code));
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return -1;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return -1;
	*run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (*run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs))
		return -1;
	return vcpu;
}

long ns_kvm_run_outs(unsigned int n)
{
	struct kvm_run *run;
	long outs = 0;
	int kvm, vm, vcpu;

	if (n < 1 || n > 65535)
		return -1;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	vcpu = vm < 0 ? -1 : make_vcpu(kvm, vm, n, &run);
	if (vcpu < 0)
		return -1; /* the process exits right after: the kernel closes what is open */
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			return outs;
		if (run->exit_reason != KVM_EXIT_IO)
			return -1;
		outs += run->io.count;
	}
}
