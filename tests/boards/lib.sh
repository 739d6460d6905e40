# shellcheck shell=bash
# tests/boards/lib.sh: what the board scripts share. Sourced.
BOARDS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BOARDS_HERE/../.." && pwd)

# The boards the checks cover, in the order run.sh takes them.
# shellcheck disable=SC2034 # used by the scripts that source this
BOARDS_ALL="generic-x86_64 generic-arm64 rpi-armhf openwrt-mipsel openwrt-aarch64"

# board_var BOARD NAME: a variable of board-configs/BOARD.mk (its last plain
# assignment; board files hold no conditionals).
board_var() {
	sed -n "s/^$2 *[:?]\{0,1\}= *//p" "$REPO/board-configs/$1.mk" | tail -n 1
}

# board_run BOARD: the command prefix that runs the board's binaries here
# (nothing for the build machine's own architecture, qemu-ARCH-static else).
board_run() {
	local q
	q=$(board_var "$1" BOARD_QEMU)
	if [ -z "$q" ] || [ "$q" = "$(uname -m)" ]; then
		echo ""
	else
		echo "qemu-$q-static"
	fi
}

# board_file_arch BOARD: what file(1) says of the board's architecture.
board_file_arch() {
	case $(board_var "$1" ARCH) in
	x86_64) echo "x86-64" ;;
	aarch64) echo "ARM aarch64" ;;
	arm) echo "ARM, EABI5" ;;
	mipsel) echo "LSB executable, MIPS, MIPS32" ;;
	*) echo "unknown" ;;
	esac
}
