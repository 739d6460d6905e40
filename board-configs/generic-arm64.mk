# board-configs/generic-arm64.mk -- a 64-bit ARM board or server (Raspberry Pi
# 3/4/5 on a 64-bit OS, Rockchip, i.MX8, NXP Layerscape, AWS Graviton class)
# running Debian, Ubuntu, Buildroot or Yocto. Variables: see openwrt-mipsel.mk.
ARCH := aarch64
BOARD_DEBARCH := arm64
BOARD_GNU := aarch64-linux-gnu
BOARD_QEMU := aarch64
BOARD_FEATURES :=
BOARD_CFLAGS :=
