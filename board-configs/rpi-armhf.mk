# board-configs/rpi-armhf.mk -- a 32-bit ARMv7 board with hardware floating
# point (Raspberry Pi 2/3 on a 32-bit OS, BeagleBone, i.MX6, Allwinner A20
# class: Cortex-A7/A8/A9/A53 in AArch32, 512 MB - 1 GB RAM) running Debian,
# Raspberry Pi OS, Buildroot or Yocto. Variables: see openwrt-mipsel.mk.
ARCH := arm
BOARD_DEBARCH := armhf
BOARD_GNU := arm-linux-gnueabihf
BOARD_QEMU := arm
BOARD_FEATURES :=
# Debian's armhf baseline (ARMv7-A, VFPv3-D16, Thumb-2): Thumb-2 code is
# about 25% smaller than ARM code.
BOARD_CFLAGS := -march=armv7-a -mthumb -mfpu=vfpv3-d16 -mfloat-abi=hard
