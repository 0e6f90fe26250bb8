# novascope: eBPF telemetry collector.
#   make            build bin/novascope
#   make run        install what is missing, build, run with the default config
#   make test       install what is missing, build, run every test (unit, integration, e2e)
#   make bench      benchmarks (tables in BENCHMARKS.md)
VERSION     ?= 0.1.0
CC          ?= gcc
CLANG       ?= clang
BPFTOOL     ?= bpftool
LLVM_STRIP  ?= llvm-strip
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
PREFIX      ?= /usr/local
# SANITIZE=1 builds everything (ASan + UBSan) in its own tree, so the two never mix.
BUILD       := $(if $(SANITIZE),build-san,build)
BIN         := $(if $(SANITIZE),$(BUILD)/novascope,bin/novascope)
ARCH        := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS       := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
USER_SRCS   := $(wildcard userspace/*.c userspace/probes/*.c)
USER_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(USER_SRCS)) $(BUILD)/syscall_names.o
LIB_OBJS    := $(filter-out $(BUILD)/userspace/main.o,$(USER_OBJS))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TEST_PROGS  := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/progs/*.c))

comma := ,
SANITIZE_FLAGS := $(if $(SANITIZE),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer)
CFLAGS      ?= -O2 -g
CFLAGS      += -Wall -Wextra -Werror -Wno-missing-field-initializers -std=gnu11 -D_GNU_SOURCE -Iinclude -iquote userspace -iquote $(BUILD) \
	       -DNS_VERSION='"$(VERSION)"' $(SANITIZE_FLAGS) -MMD -MP
LDLIBS      := -lbpf -lelf -lz -lmicrohttpd -lgnutls -lcrypt -lyaml -ljson-c -lcurl -lcap -lpthread -lm
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -Ibpf -I$(BUILD) \
	       -I/usr/include/$(shell uname -m)-linux-gnu -Wall -Werror

# libFuzzer targets (tests/fuzz/fuzz_*.c) against the userspace code built with clang.
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst $(BUILD)/%.o,$(BUILD)/fuzz/%.o,$(LIB_OBJS))
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -D_GNU_SOURCE -Iinclude \
		-iquote userspace -iquote $(BUILD) -DNS_VERSION='"$(VERSION)"' -Wno-unused-command-line-argument
FUZZ_SECONDS ?= 60

.PHONY: all deps run test test-unit test-integration test-e2e bench install clean format fuzz
.DELETE_ON_ERROR:
# Skeleton headers and BPF objects are intermediates of the binary: keep them, or every
# build would regenerate them and recompile everything that includes them.
.SECONDARY:
all: $(BIN)

deps:
	@scripts/deps.sh test

$(BUILD)/vmlinux.h: | $(BUILD)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD) $(BUILD)/tests $(BUILD)/tests/progs bin:
	mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.bpf.h) $(wildcard include/novascope/*.h)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

# tcp: compare-and-swap on per-socket counters (BPF v3 atomics, 5.12+).
$(BUILD)/tcp.bpf.o: BPF_CFLAGS += -mcpu=v3

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/syscall_names.c: scripts/gen-syscall-names.sh | $(BUILD)
	scripts/gen-syscall-names.sh $@

$(BUILD)/syscall_names.o: $(BUILD)/syscall_names.c
	$(CC) -O2 -c $< -o $@

$(BUILD)/userspace/%.o: userspace/%.c $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libnovascope.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/userspace/main.o $(BUILD)/libnovascope.a | bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libnovascope.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Wno-unused-parameter -o $@ $< $(BUILD)/libnovascope.a -lcmocka $(LDLIBS)

# Workloads are never sanitized: ASan's runtime makes syscalls of its own (getppid...).
$(BUILD)/tests/progs/%: tests/progs/%.c | $(BUILD)/tests/progs
	$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -o $@ $< -lbpf -lelf -lz -lpthread -lm

BENCH_BPF := $(patsubst scripts/bench/%.bpf.c,$(BUILD)/bench/%.bpf.o,$(wildcard scripts/bench/*.bpf.c))
$(BUILD)/bench/%.bpf.o: scripts/bench/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# RDMA: scripted stand-ins for librdmacm/libibverbs (same symbols, versions and ABI), and the
# test programs that link against the real libraries (librdmacm-dev, libibverbs-dev).
RDMA_FAKE   := $(BUILD)/tests/rdma_fake/librdmacm.so.1 $(BUILD)/tests/rdma_fake/libibverbs.so.1
$(RDMA_FAKE): $(BUILD)/tests/rdma_fake/lib%.so.1: tests/rdma_fake/%.c tests/rdma_fake/%.map
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -shared -Wl,-soname,lib$*.so.1 \
		-Wl,--version-script=tests/rdma_fake/$*.map -o $@ $<

$(BUILD)/tests/progs/rdma_%: tests/progs/rdma_%.c $(RDMA_FAKE) | $(BUILD)/tests/progs
	$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -o $@ $< -lrdmacm -libverbs

# The rdma_kernel unit test loads the skeleton's programs through the verifier.
$(BUILD)/tests/test_rdma_kernel: $(BUILD)/rdma_kernel.skel.h

test-unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# The script suites find the binary and helper programs through NS_BIN and NS_BUILD.
export NS_BIN   := $(abspath $(BIN))
export NS_BUILD := $(abspath $(BUILD))

test-integration: $(BIN) $(TEST_PROGS) $(BENCH_BPF)
	tests/run.sh integration

test-e2e: $(BIN) $(TEST_PROGS)
	tests/run.sh e2e

# One summary line for the script-driven suites comes from tests/run.sh.
test: deps
	$(MAKE) all $(UNIT_BINS) $(TEST_PROGS) $(BENCH_BPF) $(FUZZ_BINS)
	$(MAKE) test-unit
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BINS)
	tests/run.sh integration e2e

run: 
	@scripts/deps.sh run
	$(MAKE) all
	./bin/novascope --config.file=deploy/novascope.yml

bench: deps
	$(MAKE) all $(TEST_PROGS) $(BENCH_BPF)
	scripts/bench/run.sh

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/novascope
	install -D -m 0644 deploy/novascope.yml $(DESTDIR)/etc/novascope/novascope.yml
	install -D -m 0644 deploy/systemd/novascope.service $(DESTDIR)/etc/systemd/system/novascope.service

format:
	clang-format -i $(USER_SRCS) $(BPF_SRCS) userspace/*.h bpf/*.h include/novascope/*.h

clean:
	rm -rf $(BUILD) bin

$(BUILD)/fuzz/%.o: $(BUILD)/%.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/userspace/%.o: userspace/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/libfuzzns.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libfuzzns.a
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libfuzzns.a $(LDLIBS)

# Each target runs FUZZ_SECONDS on its corpus (tests/fuzz/corpus/<name>), two at a time.
fuzz: $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BINS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Unit tests that load a probe's skeleton (BPF_PROG_TEST_RUN) need it generated first.
$(BUILD)/tests/test_kvm_bpf: $(BUILD)/kvm.skel.h
$(BUILD)/tests/test_sched_bpf: $(BUILD)/sched.skel.h
