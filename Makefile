# minidock -- one static binary from one C file.
#
# Targets
#   make                 ./minidock: static, stripped, against the bundled deps
#                        (mk/deps.sh builds zlib, libzstd, BearSSL, libarchive, libyaml
#                        from Debian sources once, cached outside the clone)
#   make minimal         build/minimal/minidock with FEATURES=none
#   make unit            build/unit-tests from tests/unit.c (-DMD_TEST)
#   make check           mk/setup.sh test, ./minidock, minimal, tests/run.sh
#   make BOARD=NAME      build/boards/NAME/minidock for a board (cross, static)
#   make BOARD=NAME unit build/boards/NAME/unit-tests (run it under qemu-user)
#   make check-boards    tests/boards/run.sh: every board built, its tests run
#                        under qemu-user, and a VM of its Debian kernel booted
#   make soak            the long runs: tests/boards/powercut.sh with 200 power
#                        cuts (SOAK_CUTS) of the amd64 VM during compose updates
#   make fuzz            build tests/fuzz/fuzz_*.c with libFuzzer (clang, system
#                        libs) into build/fuzz/, run each FUZZ_SECONDS
#   make fuzz-build      build the fuzzers only
#   make bench           ./minidock, then tests/bench/run.sh
#   make demo            import a busybox rootfs and run a container (mk/demo.sh)
#   make install         $(DESTDIR)$(BINDIR)/minidock, mode 0755
#   make install-docker-link   install, plus a `docker` symlink beside it
#   make clean           remove build/ and ./minidock (the deps cache stays)
#   make distclean       clean, plus fuzz artifacts left in the top directory
#   make help            this text
#
# Variables
#   FEATURES="..."       tokens applied left to right: NAME or +NAME turns a
#                        feature on, -NAME off, `none` all off, `all` all on.
#                        Only mentioned features become -DMD_FEATURE_NAME=0|1;
#                        minidock.c holds the names (MD_FEATURES) and defaults.
#   BOARD=NAME           include board-configs/NAME.mk (may set CROSS_COMPILE,
#                        CC, ARCH, BOARD_FEATURES or FEATURES, BOARD_CFLAGS,
#                        BOARD_CPPFLAGS, BOARD_LDFLAGS, DEPS_HOST, BOARD_GNU,
#                        BOARD_DEBARCH)
#                        and pass board-configs/NAME.h as MD_BOARD_HEADER when
#                        it exists. BOARD_FEATURES are applied before FEATURES;
#                        a board's plain FEATURES is replaced by a FEATURES
#                        given on the command line. Output: build/boards/NAME/.
#                        BOARD_GNU: Debian's cross gcc, made a static musl
#                        compiler by mk/cross.sh, unless CC or CROSS_COMPILE
#                        is given.
#   CC, CFLAGS, CPPFLAGS, LDFLAGS, LDLIBS, AR, RANLIB, CROSS_COMPILE
#                        as OpenWrt and Buildroot pass them: CC given is used;
#                        else $(CROSS_COMPILE)gcc when CROSS_COMPILE is set; else
#                        musl-gcc (cc with DEPS=system). CFLAGS/LDFLAGS come
#                        after ours.
#   DEPS=bundled|system  bundled (default): static deps from mk/deps.sh, linked
#                        into build/deps-$(ARCH). system: the distribution's
#                        -dev packages via pkg-config, dynamic; install them
#                        with `mk/setup.sh system` (make installs nothing then).
#   DEPS_CFLAGS          extra flags for the bundled deps (default: $(CFLAGS)
#                        when CC or CROSS_COMPILE come from outside, so a cross
#                        toolchain's -march etc. reach them too)
#   MD_DEPS_CACHE        deps cache root (default /var/cache/minidock-deps)
#   WERROR=0             build without -Werror (for packagers)
#   STRIP_LDFLAGS        default -s; empty keeps symbols
#   PREFIX=/usr/local BINDIR=$(PREFIX)/bin DESTDIR=    for install
#   FUZZ_SECONDS=30      per fuzzer; FUZZ_ARGS adds libFuzzer flags
#
# Nothing here downloads anything but Debian packages and Debian sources.

# The feature names, from minidock.c's one list (MD_FEATURES: a tab, then
# "X(NAME, name, summary)" per feature).
md_paren := (
KNOWN_FEATURES := $(shell sed -n '/^.define MD_FEATURES(X)/,/^$$/s/^\tX$(md_paren)[A-Z0-9_]*, *\([a-z0-9_]*\),.*/\1/p' minidock.c)
ifeq ($(KNOWN_FEATURES),)
$(error cannot read the feature list (MD_FEATURES) from minidock.c)
endif

MAKEFLAGS += -r
.SUFFIXES:
.DEFAULT_GOAL := all
SHELL := /bin/bash

# ---- board ----------------------------------------------------------------
BOARD ?=
ifneq ($(BOARD),)
BOARD_MK := board-configs/$(BOARD).mk
ifeq ($(wildcard $(BOARD_MK)),)
$(error unknown BOARD '$(BOARD)': no $(BOARD_MK) (have: $(basename $(notdir $(wildcard board-configs/*.mk)))))
endif
include $(BOARD_MK)
BOARD_H := $(wildcard board-configs/$(BOARD).h)
BOARD_DEFS := $(if $(BOARD_H),-DMD_BOARD_HEADER='"$(BOARD_H)"') $(BOARD_CPPFLAGS) $(BOARD_LDFLAGS)
# A board's build goes to build/boards/NAME/, deps linked per board.
OUT ?= build/boards/$(BOARD)/minidock
FLAGS_STAMP ?= build/boards/$(BOARD)/minidock.flags
DEPS_NAME ?= board-$(BOARD)
BOARD_UNIT := build/boards/$(BOARD)/unit-tests
# BOARD_GNU names Debian's cross gcc; mk/cross.sh wraps it as a musl-gcc
# (musl-dev and linux-libc-dev of BOARD_DEBARCH, kept in the deps cache)
# unless the caller brings a compiler (CC or CROSS_COMPILE).
ifneq ($(BOARD_GNU),)
ifeq ($(origin CC)$(CROSS_COMPILE),default)
BOARD_MUSL := $(patsubst %-gnueabihf,%-musleabihf,$(patsubst %-gnu,%-musl,$(BOARD_GNU)))
BOARD_CC := $(or $(MD_DEPS_CACHE),/var/cache/minidock-deps)/toolchains/$(BOARD_MUSL)/bin/$(BOARD_MUSL)-gcc
CC := $(BOARD_CC)
MD_OWN_CC := 1
AR := $(BOARD_GNU)-ar
RANLIB := $(BOARD_GNU)-ranlib
endif
endif
endif

# ---- toolchain ------------------------------------------------------------
DEPS ?= bundled
ifeq ($(filter bundled system,$(DEPS)),)
$(error DEPS must be bundled or system, not '$(DEPS)')
endif
CROSS_COMPILE ?=
# Did CC come from the caller (command line, environment, board file)?
MD_CC_GIVEN := $(if $(filter default,$(origin CC)),$(if $(CROSS_COMPILE),1),1)
ifeq ($(origin CC),default)
ifneq ($(CROSS_COMPILE),)
CC := $(CROSS_COMPILE)gcc
else ifeq ($(DEPS),system)
CC := cc
else
CC := musl-gcc
MD_OWN_CC := 1
endif
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif
RANLIB ?= $(CROSS_COMPILE)ranlib
PKG_CONFIG ?= pkg-config
CC_NATIVE_MUSL ?= musl-gcc
FUZZ_CC ?= clang
NATIVE_ARCH := $(shell uname -m)
# ARCH from a board file or the command line; an ARCH in the environment is
# often the kernel's name (arm64), so ask the compiler (or the prefix of a
# compiler not installed yet) instead.
ifneq ($(filter undefined environment%,$(origin ARCH)),)
ARCH := $(firstword $(subst -, ,$(or $(shell $(CC) -dumpmachine 2>/dev/null),$(CROSS_COMPILE),$(NATIVE_ARCH))))
endif
DEPS_HOST ?=

# ---- features ---------------------------------------------------------------
comma := ,
md_tokens := $(subst $(comma), ,$(BOARD_FEATURES) $(FEATURES))
md_names := $(patsubst +%,%,$(patsubst -%,%,$(filter-out none all,$(md_tokens))))
md_unknown := $(filter-out $(KNOWN_FEATURES),$(md_names))
ifneq ($(md_unknown),)
$(error unknown feature '$(firstword $(md_unknown))' in FEATURES (known: $(KNOWN_FEATURES) none all))
endif
# Each token becomes NAME=0|1 words; the last word for a name wins.
md_assign = $(if $(filter none,$1),$(KNOWN_FEATURES:%=%=0),$(if $(filter all,$1),$(KNOWN_FEATURES:%=%=1),$(if $(filter -%,$1),$(1:-%=%)=0,$(1:+%=%)=1)))
md_upper = $(subst a,A,$(subst b,B,$(subst c,C,$(subst d,D,$(subst e,E,$(subst f,F,$(subst g,G,$(subst h,H,$(subst i,I,$(subst j,J,$(subst k,K,$(subst l,L,$(subst m,M,$(subst n,N,$(subst o,O,$(subst p,P,$(subst q,Q,$(subst r,R,$(subst s,S,$(subst t,T,$(subst u,U,$(subst v,V,$(subst w,W,$(subst x,X,$(subst y,Y,$(subst z,Z,$1))))))))))))))))))))))))))
md_value = $(lastword $(patsubst $1=%,%,$(filter $1=%,$2)))
md_feature_defs = $(foreach f,$(KNOWN_FEATURES),$(if $(call md_value,$f,$1),-DMD_FEATURE_$(call md_upper,$f)=$(call md_value,$f,$1)))
FEATURE_DEFS := $(call md_feature_defs,$(foreach t,$(md_tokens),$(call md_assign,$t)))
MINIMAL_FEATURE_DEFS := $(call md_feature_defs,$(call md_assign,none))

# ---- flags ------------------------------------------------------------------
WERROR ?= 1
STRIP_LDFLAGS ?= -s
WARN := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
MD_CFLAGS := -std=gnu11 -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables $(WARN)
MD_LDFLAGS := -Wl,--gc-sections $(STRIP_LDFLAGS)
# Our own static musl compilers (musl-gcc, a board's mk/cross.sh wrapper):
# position-dependent code, as a static non-PIE binary loads at a fixed
# address anyway (2-3% smaller). A compiler from outside keeps its defaults.
MD_PIE_FLAGS := $(if $(MD_OWN_CC),$(if $(filter bundled,$(DEPS)),-fno-pie -no-pie))
MD_CFLAGS += $(MD_PIE_FLAGS)
DEPS_LIBS_ORDER := -larchive -lzstd -lz -lbearssl -lyaml

ifeq ($(DEPS),bundled)
DEPS_CFLAGS ?= $(if $(MD_CC_GIVEN),$(CFLAGS))
DEPS_NAME ?= $(ARCH)
DEPS_DIR := build/deps-$(DEPS_NAME)
DEPS_ARGS := --cc '$(CC)' --ar '$(AR)' --ranlib '$(RANLIB)' --arch '$(ARCH)' \
	$(if $(DEPS_HOST),--host '$(DEPS_HOST)') --cflags '$(strip $(MD_PIE_FLAGS) $(BOARD_CFLAGS) $(DEPS_CFLAGS))'
DEPS_STAMP := build/.deps-$(DEPS_NAME).stamp
DEPS_CPPFLAGS := -isystem $(DEPS_DIR)/kinclude -I$(DEPS_DIR)/include
DEPS_LIBS := -L$(DEPS_DIR)/lib $(DEPS_LIBS_ORDER)
MD_LDFLAGS += -static
else
DEPS_STAMP :=
# libyaml only for compose: a system without it builds FEATURES=-compose
MD_SYSTEM_YAML := $(if $(findstring MD_FEATURE_COMPOSE=0,$(FEATURE_DEFS)),,yaml-0.1)
DEPS_CPPFLAGS := $(shell $(PKG_CONFIG) --cflags libarchive libzstd zlib $(MD_SYSTEM_YAML) 2>/dev/null)
DEPS_LIBS := $(or $(shell $(PKG_CONFIG) --libs libarchive libzstd zlib 2>/dev/null),-larchive -lzstd -lz) \
	$(or $(shell $(PKG_CONFIG) --libs bearssl 2>/dev/null),-lbearssl) \
	$(if $(MD_SYSTEM_YAML),$(or $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null),-lyaml))
endif

# Unit tests always run here, so they use native musl deps (the same entry
# as the main build when that is native and bundled).
UNIT_DEPS_DIR := build/deps-native
UNIT_DEPS_ARGS := --cc '$(CC_NATIVE_MUSL)' --ar ar --ranlib ranlib --arch '$(NATIVE_ARCH)' --cflags '-fno-pie -no-pie'
UNIT_DEPS_STAMP := build/.deps-native.stamp

OUT ?= minidock
FLAGS_STAMP ?= build/minidock.flags
OUT_FEATURE_DEFS ?= $(FEATURE_DEFS)

COMPILE = $(strip $(CC) $(MD_CFLAGS) $(OUT_FEATURE_DEFS) $(BOARD_DEFS) $(BOARD_CFLAGS) \
	-I. $(DEPS_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(MD_LDFLAGS) $(LDFLAGS))
UNIT_COMPILE = $(strip $(CC_NATIVE_MUSL) -DMD_TEST -g -O1 -std=gnu11 -fno-pie -no-pie -Wall -Wextra $(FEATURE_DEFS) \
	-I. -isystem $(UNIT_DEPS_DIR)/kinclude -I$(UNIT_DEPS_DIR)/include -static)
FUZZ_FLAGS := -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -DMD_TEST -DMD_FUZZ
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs libarchive libzstd zlib yaml-0.1) -lbearssl

# Stamps: a file holding the command line, rewritten only when it changes,
# so a new FEATURES, BOARD, CC or flag set rebuilds what depends on it.
md_stamp = $(call md_stamp_,$1,$(strip $2),$(strip $(file <$1)))
md_stamp_ = $(if $(subst $2,,$3)$(subst $3,,$2),$(shell mkdir -p $(dir $1))$(file >$1,$2))
ifneq ($(filter-out clean distclean help,$(or $(MAKECMDGOALS),all)),)
$(call md_stamp,$(FLAGS_STAMP),$(COMPILE) -o $(OUT) minidock.c $(DEPS_LIBS) $(LDLIBS))
$(call md_stamp,build/unit.flags,$(UNIT_COMPILE))
ifeq ($(DEPS),bundled)
$(call md_stamp,build/.deps-$(DEPS_NAME).args,$(DEPS_ARGS) $(MD_DEPS_CACHE))
endif
$(call md_stamp,build/.deps-native.args,$(UNIT_DEPS_ARGS) $(MD_DEPS_CACHE))
endif
ifdef MD_DEPS_CACHE
export MD_DEPS_CACHE
endif

.PHONY: all minimal unit check check-boards soak fuzz fuzz-build bench demo install install-docker-link \
	clean distclean help deps FORCE

all: $(OUT)

# ---- deps ---------------------------------------------------------------------
# deps.sh is cheap when its cache entry exists, but it runs only when its
# arguments or the script changed, or the link to the entry is gone.
deps: $(DEPS_STAMP)

build/.deps-%.stamp: build/.deps-%.args mk/deps.sh mk/deps-probe.c
	@bash mk/deps.sh $(if $(filter native,$*),$(UNIT_DEPS_ARGS),$(DEPS_ARGS)) --out build/deps-$*
	@touch $@

# A stamp whose cache entry has vanished is out of date.
ifeq ($(DEPS),bundled)
ifeq ($(wildcard $(DEPS_DIR)/key.txt),)
$(DEPS_STAMP): FORCE
endif
endif
ifeq ($(wildcard $(UNIT_DEPS_DIR)/key.txt),)
$(UNIT_DEPS_STAMP): FORCE
endif

# ---- minidock -------------------------------------------------------------------
$(OUT): minidock.c Makefile $(FLAGS_STAMP) $(DEPS_STAMP) $(BOARD_MK) $(BOARD_H)
ifeq ($(DEPS),system)
	@$(PKG_CONFIG) --exists libarchive libzstd zlib $(MD_SYSTEM_YAML) && \
		echo '#include <bearssl.h>' | $(CC) $(CPPFLAGS) $(CFLAGS) -E -x c - >/dev/null 2>&1 || \
		{ echo "minidock: DEPS=system needs libarchive-dev libbearssl-dev libzstd-dev zlib1g-dev$(if $(MD_SYSTEM_YAML), libyaml-dev (or FEATURES=-compose)) (run: mk/setup.sh system)" >&2; exit 1; }
endif
	@mkdir -p $(dir $@)
	$(COMPILE) -o $@ minidock.c $(DEPS_LIBS) $(LDLIBS)

minimal: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory OUT=build/minimal/minidock FLAGS_STAMP=build/minimal/minidock.flags \
		OUT_FEATURE_DEFS='$(MINIMAL_FEATURE_DEFS)' build/minimal/minidock

unit: $(if $(BOARD),$(BOARD_UNIT),build/unit-tests)

build/unit-tests: tests/unit.c tests/unit-registry.inc tests/unit-api.inc tests/unit-sign.inc minidock.c Makefile build/unit.flags $(UNIT_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(UNIT_COMPILE) -o $@ tests/unit.c -L$(UNIT_DEPS_DIR)/lib $(DEPS_LIBS_ORDER)

# ---- boards: cross builds, their unit tests, emulation ------------------------------
# `make BOARD=NAME unit`: tests/unit.c for the board, run under qemu-user by
# tests/boards/user.sh. `make check-boards`: tests/boards/run.sh (every
# board: build, qemu-user tests, a VM boot of the board's Debian kernel).
ifneq ($(BOARD),)
$(BOARD_UNIT): tests/unit.c tests/unit-registry.inc tests/unit-api.inc tests/unit-sign.inc minidock.c Makefile $(FLAGS_STAMP) $(DEPS_STAMP) $(BOARD_MK) $(BOARD_H)
	@mkdir -p $(dir $@)
	$(strip $(CC) -DMD_TEST -g -O1 -std=gnu11 -Wall -Wextra $(FEATURE_DEFS) $(BOARD_DEFS) $(BOARD_CFLAGS) \
		-I. $(DEPS_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -static $(LDFLAGS)) -o $@ tests/unit.c $(DEPS_LIBS) $(LDLIBS)
endif
ifneq ($(BOARD_CC),)
$(DEPS_STAMP) $(OUT): | $(BOARD_CC)
$(BOARD_CC):
	@bash mk/cross.sh toolchain $(BOARD_DEBARCH) $(BOARD_GNU) >/dev/null
endif

check-boards:
	@bash tests/boards/run.sh

# `make soak`: what `make check` runs short, run long (tests/boards/powercut.sh:
# 20 cuts in `make check`, tests/integration/92-powercut.sh)
SOAK_CUTS ?= 200
soak:
	@bash tests/boards/powercut.sh $(SOAK_CUTS)

# ---- tests ------------------------------------------------------------------------
check:
	@bash mk/setup.sh test
	@$(MAKE) --no-print-directory $(OUT) minimal
	@bash tests/run.sh

FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30
FUZZ_ARGS ?=

fuzz-build:
	@bash mk/setup.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_NAMES:%=build/fuzz/%)

build/fuzz/%: tests/fuzz/%.c minidock.c Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FEATURE_DEFS) -I. -o $@ $< $(FUZZ_LIBS)

# Each fuzzer works on a scratch copy of its corpus, so new inputs stay out
# of the repo; crashes land in build/fuzz/NAME-crash-*.
fuzz: fuzz-build
	@set -e; [ -n "$(FUZZ_NAMES)" ] || { echo "fuzz: no tests/fuzz/fuzz_*.c"; exit 0; }; \
	failed=""; \
	for n in $(FUZZ_NAMES); do \
		work=build/fuzz/corpus-$$n; rm -rf $$work; mkdir -p $$work; \
		c=tests/fuzz/corpus/$${n#fuzz_}; if [ -d $$c ]; then cp -R $$c/. $$work/; fi; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s (log: build/fuzz/$$n.log)"; \
		if ! build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build/fuzz/$$n- \
				$(FUZZ_ARGS) $$work >build/fuzz/$$n.log 2>&1; then \
			tail -n 40 build/fuzz/$$n.log; failed="$$failed $$n"; \
		fi; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz: FAILED:$$failed (inputs: build/fuzz/NAME-crash-*)"; exit 1; }; \
	echo "fuzz: all passed"

bench: $(OUT)
	@bash tests/bench/run.sh

demo:
	@bash mk/setup.sh demo
	@$(MAKE) --no-print-directory $(OUT)
	@bash mk/demo.sh

# ---- install --------------------------------------------------------------------
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

install: $(OUT)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(OUT) $(DESTDIR)$(BINDIR)/minidock

install-docker-link: install
	ln -sfn minidock $(DESTDIR)$(BINDIR)/docker

# ---- cleaning -----------------------------------------------------------------------
clean:
	rm -rf build minidock

distclean: clean
	rm -f crash-* leak-* timeout-* oom-* slow-unit-*
	@echo "note: the deps cache ($(or $(MD_DEPS_CACHE),/var/cache/minidock-deps)) is kept"

help:
	@sed -n '1,/^$$/s/^# \{0,1\}//p' Makefile

FORCE:
