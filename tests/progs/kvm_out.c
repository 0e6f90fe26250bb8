// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal VM through /dev/kvm: one vCPU in real mode runs `out dx, al` N times (port 0x3f8)
 * then `hlt`. Each `out` is a KVM_EXIT_IO back to us, so kvm:kvm_userspace_exit fires N times
 * with reason io, and once with reason hlt.
 * Protocol (for tests): prints "ready" once the VM exists, runs when a line arrives on stdin,
 * prints "done <io exits seen>", then waits for EOF on stdin before exiting, so that whoever
 * labels its exits can still find the process.
 * Usage: kvm_out N   (1..65535)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000

static int die(const char *what)
{
	fprintf(stderr, "kvm_out: %s: %s\n", what, strerror(errno));
	return 1;
}

/* mov dx, 0x3f8; mov cx, N; l: out dx, al; loop l; hlt */
static size_t guest_code(unsigned char *p, unsigned int n)
{
	const unsigned char code[] = { 0xba, 0xf8, 0x03, 0xb9, n & 0xff, (n >> 8) & 0xff,
				       0xee, 0xe2, 0xfd, 0xf4 };

	memcpy(p, code, sizeof(code));
	return sizeof(code);
}

static int setup_vcpu(int kvm, int vm, struct kvm_run **run)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_ADDR, .rax = 'x', .rflags = 0x2 };
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);

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

/* Run until hlt; returns the number of io exits for port 0x3f8, or -1. */
static long run_guest(int vcpu, struct kvm_run *run)
{
	long outs = 0;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3f8)
				outs += run->io.count;
			break;
		case KVM_EXIT_HLT:
			return outs;
		default:
			fprintf(stderr, "kvm_out: unexpected exit reason %u\n", run->exit_reason);
			return -1;
		}
	}
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 0;
	struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = GUEST_ADDR,
						       .memory_size = 0x1000 };
	struct kvm_run *run;
	unsigned char *mem;
	char line[64];
	int kvm, vm, vcpu;
	long outs;

	if (n < 1 || n > 65535) {
		fprintf(stderr, "usage: kvm_out N   (1..65535 out instructions)\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return die("KVM_CREATE_VM");
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap guest memory");
	guest_code(mem, n);
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return die("KVM_SET_USER_MEMORY_REGION");
	vcpu = setup_vcpu(kvm, vm, &run);
	if (vcpu < 0)
		return die("vCPU setup");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	outs = run_guest(vcpu, run);
	if (outs < 0)
		return die("KVM_RUN");
	printf("done %ld\n", outs);
	while (fgets(line, sizeof(line), stdin))
		;
	return outs == n ? 0 : 1;
}
