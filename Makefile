# SPDX-License-Identifier: GPL-2.0-only
#
# appshot: `make` builds everything under build/; `make demo`, `make test`
# and `make bench` set up the machine (scripts/setup.sh) first. V=1 shows
# the commands.

VERSION := 0.9.0
PREFIX ?= /usr/local
DESTDIR ?=
OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
CC ?= gcc
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_H ?= vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers \
	$(EXTRA_CFLAGS)
CPPFLAGS += -Iinclude -Ilib -Iloader -Irestore -Ikinds -Itests/lib -I$(OUTPUT)
LDLIBS += -lbpf -lelf -lz -ljson-c -lxxhash
# The host's multiarch headers come last: the BPF programs take syscall
# numbers from <asm/unistd_64.h>.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(dir $(VMLINUX_H)) -Iinclude -Imaps -Ibpf \
	-idirafter /usr/include/$(shell $(CC) -print-multiarch)

BPF_SRCS := maps/maps.bpf.c $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst %.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(notdir $(BPF_SRCS)))
BPF_HDRS := $(wildcard bpf/*.bpf.h maps/*.bpf.h) include/trace.h include/regions.h include/syscalls.h

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst lib/%.c,$(OUTPUT)/obj/lib/%.o,$(LIB_SRCS))
LIB := $(OUTPUT)/libappshot.a

TRACE_SRCS := loader/appshot-trace.c loader/attach.c loader/status.c loader/events.c loader/load.c
APPSHOT_SRCS := loader/appshot.c loader/run.c loader/snapshot.c loader/dump.c loader/dump_mem.c \
	loader/dump_files.c loader/dump_ipc.c loader/dump_sock.c loader/inspect.c loader/check.c \
	$(wildcard restore/*.c) \
	$(wildcard kinds/*.c)

BINS := $(OUTPUT)/bin/appshot $(OUTPUT)/bin/appshot-trace

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_BINS := $(patsubst tests/workloads/%.c,$(OUTPUT)/tests/workloads/%,$(WORKLOAD_SRCS))
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(patsubst tests/integration/%.c,$(OUTPUT)/tests/integration/%,$(INTEG_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

.DELETE_ON_ERROR:
.PHONY: all tests clean demo test test-apps bench setup vmlinux vmtest fuzz install

all: $(BINS) tests

tests: $(UNIT_BINS) $(WORKLOAD_BINS) $(INTEG_BINS) $(BENCH_BINS)

# ---- BPF: compile each object, link them into one, generate the skeleton
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bpf/maps.bpf.o: maps/maps.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/trace.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/trace.skel.h: $(OUTPUT)/trace.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name trace > $@

# the traffic hold (TC), loaded apart from the tracer
$(OUTPUT)/bpf/hold.bpf.o: bpf/hold/hold.bpf.c include/hold.h $(VMLINUX_H) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/hold.skel.h: $(OUTPUT)/bpf/hold.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name hold > $@

# ---- user space
# Test diagnostics are cut to their buffers on purpose (gcc warns of it, clang has no such warning).
$(OUTPUT)/obj/tests/%.o: CFLAGS += $(shell $(CC) -Werror -Wno-format-truncation -E -x c /dev/null \
	>/dev/null 2>&1 && echo -Wno-format-truncation)
$(OUTPUT)/obj/lib/cmd.o: CPPFLAGS += -DAPPSHOT_VERSION='"$(VERSION)"'
# A kind's operations share one signature; not every kind needs every argument.
$(OUTPUT)/obj/kinds/%.o: CFLAGS += -Wno-unused-parameter

$(OUTPUT)/obj/%.o: %.c $(wildcard include/*.h lib/*.h loader/*.h restore/*.h kinds/*.h tests/lib/*.h) \
		$(OUTPUT)/trace.skel.h $(OUTPUT)/hold.skel.h
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/bin/appshot-trace: $(patsubst %.c,$(OUTPUT)/obj/%.o,$(TRACE_SRCS)) $(LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/bin/appshot: $(patsubst %.c,$(OUTPUT)/obj/%.o,$(APPSHOT_SRCS)) $(LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/unit/%: $(OUTPUT)/obj/tests/unit/%.o $(LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcmocka -o $@

# The kinds' unit test runs the table as appshot does: with appshot's objects but its main.
$(OUTPUT)/tests/unit/test_kinds: $(OUTPUT)/obj/tests/unit/test_kinds.o \
		$(patsubst %.c,$(OUTPUT)/obj/%.o,$(filter-out loader/appshot.c,$(APPSHOT_SRCS))) $(LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcmocka -o $@

# The image fuzzer: appshot's objects (but its main) under libFuzzer, ASan and UBSan.
$(OUTPUT)/fuzz/fuzz_image: $(OUTPUT)/obj/tests/fuzz/fuzz_image.o \
		$(patsubst %.c,$(OUTPUT)/obj/%.o,$(filter-out loader/appshot.c,$(APPSHOT_SRCS))) $(LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/workloads/%: tests/workloads/%.c $(wildcard tests/workloads/*.h)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/workloads $< -lpthread -o $@

$(OUTPUT)/tests/integration/%: $(OUTPUT)/obj/tests/integration/%.o \
		$(patsubst %.c,$(OUTPUT)/obj/%.o,$(TESTLIB_SRCS)) $(LIB)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/bench/%: bench/%.c bench/bench.h tests/workloads/echo_loop.h
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(OUTPUT)/bpf:
	@mkdir -p $@

# ---- the two commands of the README, and the rest
setup:
	$(Q)scripts/setup.sh

demo: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

test: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

vmtest: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/vmtest.sh

test-apps: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/apps/run.sh

FUZZ_OUTPUT := build/fuzz
fuzz: setup
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(FUZZ_OUTPUT) CC=clang \
		EXTRA_CFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link" \
		$(FUZZ_OUTPUT)/fuzz/fuzz_image
	$(Q)tests/fuzz/run.sh $(FUZZ_OUTPUT)/fuzz/fuzz_image

bench: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh

# The two commands (their BPF objects are in them), man pages, completion,
# and the systemd unit that loads the tracer at boot (its paths made PREFIX's).
install: $(BINS)
	$(Q)install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/lib/systemd/system
	$(Q)install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	$(Q)install -m 0644 docs/man/appshot.8 docs/man/appshot-trace.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/
	$(Q)install -m 0644 docs/man/appshot-image.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	$(Q)install -m 0644 scripts/completion/appshot \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/appshot
	$(Q)ln -sf appshot $(DESTDIR)$(PREFIX)/share/bash-completion/completions/appshot-trace
	$(Q)sed 's|/usr/sbin/|$(PREFIX)/sbin/|g' scripts/appshot-trace.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/appshot-trace.service
	$(Q)chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/appshot-trace.service
	@echo "installed appshot $(VERSION) under $(DESTDIR)$(PREFIX)"

vmlinux:
	$(Q)vmlinux/gen.sh

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
