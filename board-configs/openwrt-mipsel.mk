# board-configs/openwrt-mipsel.mk -- an OpenWrt router on 32-bit MIPS, little
# endian (ramips mt76x8/mt7621, ath79 class: MIPS 24Kc/1004Kc, 64-128 MB RAM).
#
# `make BOARD=openwrt-mipsel` builds build/boards/openwrt-mipsel/minidock with
# Debian's mipsel cross gcc and musl (mk/cross.sh toolchain), static. For a
# firmware image build inside the OpenWrt SDK instead (its own musl and
# soft-float ABI): examples/openwrt/. Variables: see generic-x86_64.mk.
#   BOARD_DEBARCH   Debian architecture of the target (musl-dev, kernels, busybox)
#   BOARD_GNU       Debian's cross compiler prefix (gcc-$(BOARD_GNU))
#   BOARD_QEMU      qemu-$(BOARD_QEMU)-static runs the binary on the build machine
ARCH := mipsel
BOARD_DEBARCH := mipsel
BOARD_GNU := mipsel-linux-gnu
BOARD_QEMU := mipsel
BOARD_FEATURES :=
# mips32r2 (24Kc and later) with Debian's hard-float FPXX ABI: the kernel
# emulates the FPU these SoCs lack, and minidock does no floating point on a
# hot path. -mno-shared: non-PIC calls within a static executable, ~15% less code.
BOARD_CFLAGS := -march=mips32r2 -mtune=24kc -fno-pie -no-pie -mno-shared
# MIPS has no SIGSTKFLT; until minidock.c's signal table guards it with
# #ifdef, name the signal MIPS has in its place (7, SIGEMT). For minidock.c
# only (BOARD_CPPFLAGS), so the deps' cache key does not depend on it.
BOARD_CPPFLAGS := $(if $(shell grep -q 'ifdef SIGSTKFLT' minidock.c && echo y),,-DSIGSTKFLT=SIGEMT)
