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

# ---- VMs: what vm.sh and powercut.sh share -------------------------------------

# vm_arch DEBARCH: how a VM of that Debian architecture boots. Sets vm_meta
# (the kernel's meta package), vm_qemu, vm_plat (the image platform), vm_arch
# (md_arch= of the VM's /init), vm_cg (its default cgroup version),
# vm_machine (qemu's machine options, an array) and vm_console.
vm_arch() {
	case $1 in
	amd64) vm_meta=linux-image-amd64 vm_qemu=qemu-system-x86_64 vm_plat=linux/amd64 vm_arch=amd64 vm_cg=v2
		vm_machine=(-M q35 -cpu max -m 512 -smp 2) vm_console=ttyS0 ;;
	arm64) vm_meta=linux-image-arm64 vm_qemu=qemu-system-aarch64 vm_plat=linux/arm64 vm_arch=arm64 vm_cg=v1
		vm_machine=(-M virt -cpu cortex-a57 -m 512 -smp 2) vm_console=ttyAMA0 ;;
	armhf) vm_meta=linux-image-armmp vm_qemu=qemu-system-arm vm_plat=linux/arm/v7 vm_arch=arm vm_cg=v1
		vm_machine=(-M virt,highmem=off -cpu cortex-a15 -m 512 -smp 2) vm_console=ttyAMA0 ;;
	mipsel) vm_meta=linux-image-4kc-malta vm_qemu=qemu-system-mipsel vm_plat=linux/mipsle vm_arch=mipsle vm_cg=v1
		vm_machine=(-M malta -cpu 24Kf -m 256) vm_console=ttyS0 ;;
	*) echo "vm: no VM recipe for $1" >&2; return 1 ;;
	esac
}

# vm_kernel DEBARCH META CACHE: the Debian kernel package behind META,
# unpacked in CACHE (mk/cross.sh). Sets vm_kpkg, vm_kdir (where it is
# unpacked), vm_kver and vm_kernel (the image to boot).
vm_kernel() {
	local cross="bash $REPO/mk/cross.sh"
	vm_kpkg=$($cross depends "$1" "$2" | grep -m 1 '^linux-image-') || { echo "vm: no kernel behind $2" >&2; return 1; }
	vm_kdir=$($cross fetch "$1" "$3/$vm_kpkg" "$vm_kpkg") || return 1
	vm_kver=${vm_kpkg#linux-image-}
	vm_kernel=$vm_kdir/boot/vmlinuz-$vm_kver
	[ -f "$vm_kernel" ] || vm_kernel=$vm_kdir/boot/vmlinux-$vm_kver
	[ -f "$vm_kernel" ] || { echo "vm: no kernel image in $vm_kdir/boot" >&2; return 1; }
}

# vm_modules MODS ROOT NAME...: the modules NAME (of the kernel tree MODS,
# lib/modules/VERSION) with what they depend on, in load order, uncompressed
# into ROOT/lib/modules, their paths in ROOT/modules.list (for insmod, by the
# VM's /init); a module built in, or missing, is left out (the latter with a
# note).
vm_modules() {
	local mods=$1 root=$2 n p m
	shift 2
	# modules.dep is depmod's work at install time: make it from each
	# module's .modinfo "depends=" (direct dependencies; _vm_add_mod follows
	# them down)
	if [ ! -s "$mods/modules.dep" ]; then
		python3 - "$mods" >"$mods/modules.dep.tmp" <<'PYEOF' || return 1
import os, re, sys
top = sys.argv[1]
paths, deps = {}, {}
for d, _, fs in os.walk(os.path.join(top, "kernel")):
    for f in fs:
        if not re.search(r"\.ko(\.xz|\.zst)?$", f):
            continue
        p = os.path.relpath(os.path.join(d, f), top)
        data = open(os.path.join(top, p), "rb").read()
        if p.endswith(".xz"):
            import lzma; data = lzma.decompress(data)
        name = re.sub(r"\.ko.*$", "", f).replace("-", "_")
        m = re.search(rb"(?:^|\0)depends=([^\0]*)", data)
        paths[name] = p
        deps[p] = [x.replace("-", "_") for x in m.group(1).decode().split(",") if x] if m else []
for p in sorted(deps):
    print(p + ":" + "".join(" " + paths[n] for n in deps[p] if n in paths))
PYEOF
		mv "$mods/modules.dep.tmp" "$mods/modules.dep"
	fi
	local -A done_mod=()
	local order=()
	for n in "$@"; do
		p=$(awk -v n="$n" '{ f = $1; sub(":$", "", f); b = f; sub(".*/", "", b); sub("\\.ko.*$", "", b);
			gsub("-", "_", b); if (b == n) { print f; exit } }' "$mods/modules.dep")
		if [ -n "$p" ]; then
			_vm_add_mod "$p"
		elif ! grep -q "/${n//_/[_-]}\.ko" "$mods/modules.builtin"; then
			echo "vm: note: module $n is neither in modules.dep nor built in (${mods##*/})" >&2
		fi
	done
	: >"$root/modules.list"
	for m in "${order[@]}"; do
		mkdir -p "$root/lib/modules/$(dirname "$m")"
		case $m in
		*.ko.xz) xz -dc "$mods/$m" >"$root/lib/modules/${m%.xz}"; m=${m%.xz} ;;
		*.ko.zst) zstd -qdc "$mods/$m" >"$root/lib/modules/${m%.zst}"; m=${m%.zst} ;;
		*) cp "$mods/$m" "$root/lib/modules/$m" ;;
		esac
		echo "$m" >>"$root/modules.list"
	done
}
_vm_add_mod() {   # PATH relative to $mods; vm_modules' done_mod and order
	local m=$1 deps d
	[ -n "${done_mod[$m]:-}" ] && return 0
	done_mod[$m]=1
	deps=$(awk -v m="$m:" '$1 == m { $1 = ""; print }' "$mods/modules.dep")
	for d in $deps; do _vm_add_mod "$d"; done
	order+=("$m")
}

# vm_root ROOT BUSYBOX MINIDOCK INIT: an initramfs's tree: busybox (and sh),
# minidock, INIT as /init, tests/boards/vm-lib.sh (what the VMs' /init
# scripts share) as /lib/vm-lib.sh, and the few files of /etc.
vm_root() {
	local r=$1
	mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/etc" "$r/lib" "$r/root" "$r/var/lib" "$r/sys/fs/cgroup"
	cp "$2" "$r/bin/busybox"
	ln -sf busybox "$r/bin/sh"
	cp "$3" "$r/bin/minidock"
	cp "$4" "$r/init"
	chmod 755 "$r/init"
	cp "$BOARDS_HERE/vm-lib.sh" "$r/lib/vm-lib.sh"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
	: >"$r/etc/resolv.conf"
	echo "127.0.0.1 localhost" >"$r/etc/hosts"
}

# vm_initramfs ROOT OUT: ROOT packed as a gzipped newc cpio archive, owned by root.
vm_initramfs() {
	(cd "$1" && find . -print0 | cpio -0 -o -H newc -R 0:0 --quiet) | gzip -1 >"$2"
}
