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

# board_binfmt BOARD: a binfmt_misc entry that runs the board's ELF binaries
# with its qemu-user, so that a cross binary can exec itself (the container's
# monitor) and so start containers here. The entry, named minidock-test-ARCH,
# has the fix-binary flag (the emulator is opened now, so it also runs in the
# containers' mount namespaces). Prints the entry's path when this call made
# it (board_binfmt_off removes it), nothing when the board is native or an
# entry for its qemu was there already; fails when binfmt_misc is not usable.
board_binfmt() {
	local q arch class machine dir=/proc/sys/fs/binfmt_misc e name
	q=$(board_var "$1" BOARD_QEMU)
	[ -n "$q" ] && [ "$q" != "$(uname -m)" ] || return 0
	arch=$(board_var "$1" ARCH)
	case $arch in     # ELF class (1: 32-bit, 2: 64-bit) and e_machine, little-endian
	aarch64) class='\x02' machine='\xb7\x00' ;;
	arm) class='\x01' machine='\x28\x00' ;;
	mipsel) class='\x01' machine='\x08\x00' ;;
	*) echo "board_binfmt: no ELF magic for $arch" >&2; return 1 ;;
	esac
	[ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" || return 1
	for e in "$dir"/*; do
		case ${e##*/} in register | status) continue ;; esac
		if grep -q '^enabled' "$e" 2>/dev/null && grep -q "^interpreter .*qemu-$q" "$e"; then
			return 0
		fi
	done
	name=minidock-test-$arch
	[ ! -e "$dir/$name" ] || echo -1 >"$dir/$name"
	# magic: \x7fELF, class, little-endian, version 1, any ABI and padding,
	# e_type 2 or 3 (executable or PIE), e_machine
	printf '%s' ":$name:M::\\x7fELF$class\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00$machine:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xfe\\xff\\xff\\xff:$(command -v "qemu-$q-static"):F" >"$dir/register" || return 1
	echo "$dir/$name"
}

# board_binfmt_off ENTRY: remove what board_binfmt made (nothing if empty).
board_binfmt_off() {
	[ -z "${1:-}" ] || [ ! -e "$1" ] || echo -1 >"$1"
}
