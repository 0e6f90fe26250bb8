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
BUILD       := build
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
LDLIBS      := -lbpf -lelf -lz -lmicrohttpd -lyaml -ljson-c -lcurl -lcap -lpthread -lm
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -Ibpf -I$(BUILD) \
	       -I/usr/include/$(shell uname -m)-linux-gnu -Wall -Werror

.PHONY: all deps run test test-unit test-integration test-e2e bench install clean format fuzz
.DELETE_ON_ERROR:
all: bin/novascope

deps:
	@scripts/deps.sh test

$(BUILD)/vmlinux.h: | $(BUILD)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD) $(BUILD)/tests $(BUILD)/tests/progs bin:
	mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.bpf.h) $(wildcard include/novascope/*.h)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

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

bin/novascope: $(BUILD)/userspace/main.o $(BUILD)/libnovascope.a | bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libnovascope.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Wno-unused-parameter -o $@ $< $(BUILD)/libnovascope.a -lcmocka $(LDLIBS)

$(BUILD)/tests/progs/%: tests/progs/%.c | $(BUILD)/tests/progs
	$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -o $@ $< -lbpf -lelf -lz -lpthread -lm

BENCH_BPF := $(patsubst scripts/bench/%.bpf.c,$(BUILD)/bench/%.bpf.o,$(wildcard scripts/bench/*.bpf.c))
$(BUILD)/bench/%.bpf.o: scripts/bench/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

test-unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

test-integration: bin/novascope $(TEST_PROGS) $(BENCH_BPF)
	tests/run.sh integration

test-e2e: bin/novascope $(TEST_PROGS)
	tests/run.sh e2e

# One summary line for the script-driven suites comes from tests/run.sh.
test: deps
	$(MAKE) all $(UNIT_BINS) $(TEST_PROGS) $(BENCH_BPF)
	$(MAKE) test-unit
	tests/run.sh integration e2e

run: 
	@scripts/deps.sh run
	$(MAKE) all
	./bin/novascope --config.file=deploy/novascope.yml

bench: deps
	$(MAKE) all $(TEST_PROGS) $(BENCH_BPF)
	scripts/bench/run.sh

install: bin/novascope
	install -D -m 0755 bin/novascope $(DESTDIR)$(PREFIX)/bin/novascope
	install -D -m 0644 deploy/novascope.yml $(DESTDIR)/etc/novascope/novascope.yml
	install -D -m 0644 deploy/systemd/novascope.service $(DESTDIR)/etc/systemd/system/novascope.service

format:
	clang-format -i $(USER_SRCS) $(BPF_SRCS) userspace/*.h bpf/*.h include/novascope/*.h

clean:
	rm -rf $(BUILD) bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Unit tests that load a probe's skeleton (BPF_PROG_TEST_RUN) need it generated first.
$(BUILD)/tests/test_kvm_bpf: $(BUILD)/kvm.skel.h
$(BUILD)/tests/test_sched_bpf: $(BUILD)/sched.skel.h
