# board-configs/openwrt-aarch64.mk -- an OpenWrt router on 64-bit ARM
# (mediatek filogic, qualcommax, bcm27xx/bcm2711 class: Cortex-A53/A72,
# 256 MB - 1 GB RAM). Variables: see openwrt-mipsel.mk and generic-x86_64.mk.
ARCH := aarch64
BOARD_DEBARCH := arm64
BOARD_GNU := aarch64-linux-gnu
BOARD_QEMU := aarch64
BOARD_FEATURES :=
# No -mcpu=cortex-a53: it grows the binary by a fifth (erratum 843419 and
# 835769 workarounds, alignment) for no gain that matters here.
BOARD_CFLAGS :=
# OpenWrt's arm64 kernels use 4 KiB pages: without the 64 KiB segment
# alignment that ld defaults to on aarch64 (for 64 KiB-page kernels, which
# generic-arm64 keeps) the file loses up to 60 KiB of padding.
BOARD_LDFLAGS := -Wl,-z,max-page-size=4096
