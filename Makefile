# twlab build.
#
#   make            build/twlab (gcc, -Wall -Wextra -Werror)
#   make check      install missing Debian packages, build, run every test:
#                   unit tests (cmocka), the same under ASan+UBSan, a short
#                   run of every fuzz target, integration tests (root)
#   make demo       install, build, reproduce the report's incident
#   make fuzz       build the libFuzzer targets (clang) into build/fuzz/
#   make man        man pages from man/*.scd (scdoc) into build/man/
#   make install    binary, man pages, completion, scenarios, systemd unit
#                   (+ tmpfiles.d), docs under DESTDIR + PREFIX (default
#                   /usr/local);
#                   `make uninstall` with the same variables removes them
#   make deb        build/deb/twlab_*.deb by dpkg-buildpackage -us -uc -b on
#                   a copy of the tree (debian/)
#
# A man page is one file per subcommand: man/twlab-<command>.1.scd (scdoc).
# tests/integration/install.sh fails when `twlab <command> --help` lists an
# option that its page does not define in OPTIONS, or the page defines one
# --help does not list; a subcommand without a page fails too. To add one,
# copy man/twlab-craft.1.scd, keep its sections, and list it in twlab.1.scd.
#
# Sources are found by wildcard: a new .c under src/ is part of the binary, a
# new tests/unit/test_*.c is a test program, a new tests/fuzz/fuzz_*.c a fuzz
# target, a new tests/integration/*.sh an integration test (lib.sh there is
# the helpers they source).
#
# Libraries: each directory src/<area>/ (but cli) is a static library
# build/lib/libtwlab-<area>.a; a source that includes a BPF skeleton
# (*.skel.h) goes to libtwlab-bpf.a instead, so only that one needs BTF,
# clang and bpftool. The binary is src/cli/ linked with every library. A unit
# test or fuzz target links the libraries of the areas it #includes
# ("<area>/...") and what those areas need (AREA_DEPS below), nothing else.

BUILD    ?= build
# make's built-in CC=cc would win over `CC ?=`: replace only that default,
# keep a CC from the command line or the environment.
ifeq ($(origin CC),default)
CC       := gcc
endif
SAN      ?=
OPT      ?= -O2
PKGS     := libpcap libbpf jansson inih libnetfilter_queue
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lm

CFLAGS   := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE \
            -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS  := $(SAN) $(EXTRA_LDFLAGS)

SRC_ALL  := $(shell find src -name '*.c' ! -name '*.bpf.c' | sort)
SRC_CLI  := $(filter src/cli/%,$(SRC_ALL))
SRC_SKEL := $(shell grep -l '^\#include "[^"]*\.skel\.h"' $(SRC_ALL))
OBJ_CLI  := $(SRC_CLI:%.c=$(BUILD)/obj/%.o)

# Areas, in link order: an area comes before every area it uses.
AREAS    := bpf trace lab sim craft analyze capture scenario run util print model
# What each area uses, transitively (a missing entry fails the link).
AREA_DEPS_bpf      := trace capture model
AREA_DEPS_trace    := capture model
AREA_DEPS_lab      := analyze capture craft run scenario util model
AREA_DEPS_sim      := analyze capture scenario run util model
AREA_DEPS_craft    := capture util model
AREA_DEPS_analyze  := capture model
AREA_DEPS_capture  := model
AREA_DEPS_scenario := util model
AREA_DEPS_print    := model
AREA_DEPS_run      := model
lib      = $(BUILD)/lib/libtwlab-$(1).a
area_src = $(if $(filter bpf,$(1)),$(SRC_SKEL),$(filter-out $(SRC_SKEL),$(filter src/$(1)/%,$(SRC_ALL))))
area_obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(call area_src,$(1)))
LIBS_ALL := $(foreach a,$(AREAS),$(call lib,$(a)))
# The libraries a test source needs, in link order: the areas it includes
# and theirs.
test_areas = $(sort $(shell sed -n 's|^\#include "\([a-z_]*\)/.*|\1|p' $(1)))
test_libs  = $(foreach a,$(filter $(sort $(foreach t,$(call test_areas,$(1)),$(t) $(AREA_DEPS_$(t)))),$(AREAS)),$(call lib,$(a)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
# tests/integration/lib.sh is what the tests source, not a test
INTEG    := $(filter-out tests/integration/lib.sh,$(sort $(wildcard tests/integration/*.sh)))

# BPF: vmlinux.h from this host's BTF, object by clang, skeleton by bpftool.
BPF_SRC  := $(wildcard src/trace/*.bpf.c)
BPF_OBJ  := $(BPF_SRC:src/trace/%.bpf.c=$(BUILD)/gen/%.bpf.o)
BPF_SKEL := $(BPF_SRC:src/trace/%.bpf.c=$(BUILD)/gen/%.skel.h)
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

# Install layout (Debian's paths with PREFIX=/usr, see debian/rules).
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share
MANDIR   ?= $(DATADIR)/man
DOCDIR   ?= $(DATADIR)/doc/twlab
SCENARIODIR ?= $(DATADIR)/twlab/scenarios
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
PROMDIR  ?= /var/lib/prometheus/node-exporter
TWLAB_VERSION ?= $(shell scripts/version)
BUILT_WITH := $(shell for p in $(PKGS); do printf '%s %s, ' $$p "$$(pkg-config --modversion $$p 2>/dev/null)"; done; $(CC) --version 2>/dev/null | head -1)
MAN_SRC  := $(sort $(wildcard man/*.scd))
MAN_OUT  := $(MAN_SRC:man/%.scd=$(BUILD)/man/%)

.DEFAULT_GOAL := all
.PHONY: all check demo deps unit unit-san fuzz fuzz-smoke integration clean \
        man install uninstall deb FORCE
.DELETE_ON_ERROR:
# keep the BPF object: otherwise make deletes it as an intermediate and
# regenerates the skeleton (and so every object) on each run
.SECONDARY: $(BPF_OBJ) $(BPF_SKEL) $(BUILD)/gen/vmlinux.h $(BUILD)/gen/report_ini.h

# Version, libraries and install paths, for `twlab --version` and scenario
# lookup. Rewritten only when its text changes, so a rebuild stays minimal.
$(BUILD)/gen/buildinfo.h: FORCE
	@mkdir -p $(dir $@)
	@{ printf '#define TWLAB_VERSION "%s"\n' '$(TWLAB_VERSION)'; \
	   printf '#define TWLAB_BUILT_WITH "%s"\n' '$(BUILT_WITH)'; \
	   printf '#define TWLAB_SCENARIODIR "%s"\n' '$(SCENARIODIR)'; } > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/src/cli/main.o $(BUILD)/obj/src/scenario/lookup.o: $(BUILD)/gen/buildinfo.h

all: $(BUILD)/twlab

$(BUILD)/twlab: $(OBJ_CLI) $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $(OBJ_CLI) $(LIBS_ALL) $(PKG_LIBS)

# A library is rebuilt from scratch when an object changes or its list of
# objects does (a source moved or removed leaves no stale member behind).
$(foreach a,$(AREAS),$(eval $(call lib,$(a)): $(call area_obj,$(a)) $(BUILD)/lib/$(a).objs))
$(BUILD)/lib/%.objs: FORCE
	@mkdir -p $(dir $@)
	@echo '$(call area_obj,$*)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/lib/libtwlab-%.a:
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Generated headers, before the first compile writes the .d files: the
# skeleton only for the sources that embed it.
$(SRC_SKEL:%.c=$(BUILD)/obj/%.o): $(BPF_SKEL)
$(BUILD)/obj/src/scenario/scenario.o: $(BUILD)/gen/report_ini.h

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

# A test links only the libraries of what it tests.
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $$(call test_libs,tests/unit/$$*.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(call test_libs,$<) $(LDFLAGS) $(PKG_LIBS) -lcmocka

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
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $$(call test_libs,tests/fuzz/fuzz_$$*.c)
	clang $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(call test_libs,$<) $(PKG_LIBS)

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

# ---- man pages, install, Debian package

# @VERSION@, @SCENARIODIR@, @PROMDIR@ in a page are the values of this build.
SUBST = sed -e 's|@VERSION@|$(TWLAB_VERSION)|g' -e 's|@SCENARIODIR@|$(SCENARIODIR)|g' \
            -e 's|@PROMDIR@|$(PROMDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
            -e 's|@SYSTEMDUNITDIR@|$(SYSTEMDUNITDIR)|g'
$(BUILD)/man/%: man/%.scd $(BUILD)/gen/buildinfo.h
	@mkdir -p $(dir $@)
	$(SUBST) $< | scdoc > $@
man: $(MAN_OUT)

$(BUILD)/twlab-trace.service: systemd/twlab-trace.service.in $(BUILD)/gen/buildinfo.h
	$(SUBST) $< > $@
$(BUILD)/twlab.tmpfiles: systemd/twlab.tmpfiles.in $(BUILD)/gen/buildinfo.h
	$(SUBST) $< > $@

install: all man $(BUILD)/twlab-trace.service $(BUILD)/twlab.tmpfiles
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SCENARIODIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BUILD)/twlab $(DESTDIR)$(BINDIR)/twlab
	install -m 0644 $(filter %.1,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 scenarios/*.ini $(DESTDIR)$(SCENARIODIR)/
	install -m 0644 completion/twlab.bash $(DESTDIR)$(BASHCOMPDIR)/twlab
	install -m 0644 completion/_twlab $(DESTDIR)$(ZSHCOMPDIR)/_twlab
	install -m 0644 $(BUILD)/twlab-trace.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 $(BUILD)/twlab.tmpfiles $(DESTDIR)$(TMPFILESDIR)/twlab.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/

# Exactly what install put there (the same variables), then our own dirs.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/twlab \
	  $(patsubst man/%.1.scd,$(DESTDIR)$(MANDIR)/man1/%.1,$(filter %.1.scd,$(MAN_SRC))) \
	  $(patsubst man/%.5.scd,$(DESTDIR)$(MANDIR)/man5/%.5,$(filter %.5.scd,$(MAN_SRC))) \
	  $(patsubst scenarios/%,$(DESTDIR)$(SCENARIODIR)/%,$(wildcard scenarios/*.ini)) \
	  $(DESTDIR)$(BASHCOMPDIR)/twlab $(DESTDIR)$(ZSHCOMPDIR)/_twlab \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/twlab-trace.service $(DESTDIR)$(TMPFILESDIR)/twlab.conf \
	  $(DESTDIR)$(DOCDIR)/README.md
	-rmdir $(DESTDIR)$(SCENARIODIR) $(DESTDIR)$(DATADIR)/twlab $(DESTDIR)$(DOCDIR) 2>/dev/null

# dpkg-buildpackage writes into the parent directory: build a copy of the
# tree (tracked and new files, not build/) so the .deb lands in build/deb/.
# The package's version is debian/changelog's (`twlab --version` prints it).
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/twlab
	{ if git rev-parse --git-dir >/dev/null 2>&1; then git ls-files -co --exclude-standard -z; \
	  else find . -path ./build -prune -o -type f -print0; fi; } | grep -zv '^\(\./\)\?build/' | \
	  tar cf - --null --ignore-failed-read -T - | tar xf - -C $(BUILD)/deb/twlab
	cd $(BUILD)/deb/twlab && dpkg-buildpackage -us -uc -b

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
