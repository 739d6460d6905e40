# board-configs/generic-x86_64.mk -- a plain x86_64 PC, VM or server.
#
# `make BOARD=generic-x86_64` includes this file before the toolchain is
# chosen. A board file may set:
#   CROSS_COMPILE   toolchain prefix (CC defaults to $(CROSS_COMPILE)gcc);
#                   empty here: the build machine's musl-gcc is the compiler
#   CC, AR, RANLIB  when the prefix rule does not fit
#   ARCH            names build/deps-$(ARCH) and tells mk/deps.sh the arch
#   DEPS_HOST       the target triplet for mk/deps.sh (default: CC -dumpmachine)
#   BOARD_FEATURES  feature tokens applied before the command line's FEATURES
#                   (FEATURES set here instead is replaced by a command-line one)
#   BOARD_CFLAGS    extra compiler flags for minidock.c and the bundled deps
#   BOARD_CPPFLAGS  extra preprocessor flags for minidock.c only
#   BOARD_LDFLAGS   extra link flags for minidock (not the deps)
# board-configs/$(BOARD).h, when it exists, is compiled in as MD_BOARD_HEADER.
ARCH := x86_64
BOARD_FEATURES :=
BOARD_CFLAGS :=
# For the board tests (tests/boards/): Debian's name of the architecture
# (kernel, busybox) and qemu's.
BOARD_DEBARCH := amd64
BOARD_QEMU := x86_64
