# twlab build.
#
#   make            build/twlab (gcc, -Wall -Wextra -Werror)
#   make check      install missing Debian packages, build, run every test:
#                   unit tests (cmocka), the same under ASan+UBSan, a short
#                   run of every fuzz target, integration tests (root)
#   make demo       install, build, reproduce the report's incident
#   make fuzz       build the libFuzzer targets (clang) into build/fuzz/
#
# Sources are found by wildcard: a new .c under src/ is part of the binary, a
# new tests/unit/test_*.c is a test program, a new tests/fuzz/fuzz_*.c a fuzz
# target, a new tests/integration/*.sh an integration test.

BUILD    ?= build
CC       ?= gcc
SAN      ?=
OPT      ?= -O2
PKGS     := libpcap libbpf jansson inih libnetfilter_queue
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lm

CFLAGS   := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE \
            -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS  := $(SAN) $(EXTRA_LDFLAGS)

SRC_ALL  := $(shell find src -name '*.c' ! -name '*.bpf.c' | sort)
SRC_MAIN := src/cli/main.c
SRC_LIB  := $(filter-out $(SRC_MAIN),$(SRC_ALL))
OBJ_LIB  := $(SRC_LIB:%.c=$(BUILD)/obj/%.o)
OBJ_MAIN := $(SRC_MAIN:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
INTEG    := $(sort $(wildcard tests/integration/*.sh))

# BPF: vmlinux.h from this host's BTF, object by clang, skeleton by bpftool.
BPF_SRC  := $(wildcard src/trace/*.bpf.c)
BPF_OBJ  := $(BPF_SRC:src/trace/%.bpf.c=$(BUILD)/gen/%.bpf.o)
BPF_SKEL := $(BPF_SRC:src/trace/%.bpf.c=$(BUILD)/gen/%.skel.h)
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

.PHONY: all check demo deps unit unit-san fuzz fuzz-smoke integration clean
.DELETE_ON_ERROR:
# keep the BPF object: otherwise make deletes it as an intermediate and
# regenerates the skeleton (and so every object) on each run
.SECONDARY: $(BPF_OBJ) $(BPF_SKEL) $(BUILD)/gen/vmlinux.h $(BUILD)/gen/report_ini.h

all: $(BUILD)/twlab

$(BUILD)/twlab: $(OBJ_MAIN) $(OBJ_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/obj/%.o: %.c $(BPF_SKEL) $(BUILD)/gen/report_ini.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The default scenario, built into the binary from the shipped file.
$(BUILD)/gen/report_ini.h: scenarios/report.ini
	@mkdir -p $(dir $@)
	{ printf 'static const char report_ini[] =\n'; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; printf ';\n'; } > $@

$(BUILD)/gen/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/gen/%.bpf.o: src/trace/%.bpf.c $(BUILD)/gen/vmlinux.h $(wildcard src/trace/*.h)
	clang -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Isrc -I$(BUILD)/gen -c $< -o $@

$(BUILD)/gen/%.skel.h: $(BUILD)/gen/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/tests/%: tests/unit/%.c $(OBJ_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(OBJ_LIB) $(LDFLAGS) $(PKG_LIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

unit-san:
	$(MAKE) BUILD=$(BUILD)/san OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" unit

# libFuzzer targets: clang, with the library objects built by clang too.
fuzz:
	$(MAKE) BUILD=$(BUILD)/fuzz CC=clang OPT=-O1 \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" fuzz-bins

FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)
fuzz-bins: $(FUZZ_BIN)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(OBJ_LIB)
	clang $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(OBJ_LIB) $(PKG_LIBS)

# Every target for FUZZ_SECONDS from its seed corpus; a crash fails check.
FUZZ_SECONDS ?= 15
fuzz-smoke: fuzz
	@set -e; for f in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
	  echo "== fuzz $$f ($(FUZZ_SECONDS) s)"; \
	  d=$(BUILD)/fuzz; mkdir -p $$d/corpus/$$f; \
	  seeds=tests/fuzz/corpus/$$f; [ -d $$seeds ] || seeds=; \
	  $$d/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    -artifact_prefix=$$d/ $$d/corpus/$$f $$seeds 2>$$d/$$f.log \
	    || { tail -40 $$d/$$f.log; exit 1; }; \
	done

integration: $(BUILD)/twlab
	@pass=0; fail=0; for t in $(INTEG); do echo "== $$t"; \
	  if TWLAB=$(BUILD)/twlab bash $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "integration: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

deps:
	@scripts/deps

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) fuzz-smoke
	$(MAKE) integration
	@echo "twlab: check: all passed"

demo: deps
	$(MAKE) all
	$(BUILD)/twlab lab repro --firewall strict
	$(BUILD)/twlab lab repro --firewall linux

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
