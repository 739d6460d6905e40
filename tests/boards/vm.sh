#!/bin/bash
# tests/boards/vm.sh BOARD: boot BOARD's architecture's Debian kernel under
# qemu-system (TCG) with an initramfs holding the board's static minidock,
# Debian's busybox-static, nft with its libraries, the kernel modules
# minidock needs (with their dependencies from modules.dep) and a test image,
# and run containers there (tests/boards/vm-init.sh is the VM's /init).
#
# Prints the VM's TAP lines; exits 0 only when every test passed and the VM
# said "# vm-done" in time. Everything it downloads comes from Debian through
# mk/cross.sh and stays in $MD_DEPS_CACHE/vm; the work dir is
# build/boards/BOARD/vm (console.log, initrd.gz, the qemu command line).
#
#   amd64   qemu-system-x86_64 -M q35, linux-image-amd64, cgroup v2 only
#   arm64   qemu-system-aarch64 -M virt, linux-image-arm64, cgroup v1
#   armhf   qemu-system-arm -M virt, linux-image-armmp, cgroup v1
#   mipsel  qemu-system-mipsel -M malta, linux-image-4kc-malta, cgroup v1
#
# Environment: MD_VM_TIMEOUT (seconds, default 600), MD_VM_CGROUP=v1|v2 (to
# override the default above), MD_VM_NATIVE (the build machine's minidock
# that preloads a store; default build/boards/generic-x86_64/minidock, built).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/boards/lib.sh
. "$HERE/lib.sh"
BOARD=${1:?usage: tests/boards/vm.sh BOARD}
CACHE=${MD_DEPS_CACHE:-/var/cache/minidock-deps}
VMC=$CACHE/vm
CROSS="bash $REPO/mk/cross.sh"
TIMEOUT=${MD_VM_TIMEOUT:-600}
die() { echo "vm: $*" >&2; exit 1; }

mkvar() { sed -n "s/^$1 *:\?= *//p" "$REPO/board-configs/$BOARD.mk" | tail -n 1; }
[ -f "$REPO/board-configs/$BOARD.mk" ] || die "no board-configs/$BOARD.mk"
debarch=$(mkvar BOARD_DEBARCH)
[ -n "$debarch" ] || die "board-configs/$BOARD.mk sets no BOARD_DEBARCH"

vm_arch "$debarch" || exit 1
qemu=$vm_qemu plat=$vm_plat arch=$vm_arch machine=("${vm_machine[@]}") console=$vm_console
cg=${MD_VM_CGROUP:-$vm_cg}
command -v "$qemu" >/dev/null || die "no $qemu (mk/setup.sh boards)"

W=$REPO/build/boards/$BOARD/vm
rm -rf "$W"
mkdir -p "$W/root" "$VMC"

# ---- the pieces ----------------------------------------------------------------
make -s -C "$REPO" BOARD="$BOARD" >"$W/make.log" 2>&1 || { cat "$W/make.log" >&2; die "make BOARD=$BOARD failed"; }
bin=$REPO/build/boards/$BOARD/minidock

vm_kernel "$debarch" "$vm_meta" "$VMC" || exit 1
kpkg=$vm_kpkg kdir=$vm_kdir kver=$vm_kver kernel=$vm_kernel

# busybox-static of every platform of the test image; nft and its libraries
for a in amd64 arm64 armhf mipsel; do
	$CROSS fetch "$a" "$VMC/busybox-$a" busybox-static >/dev/null
done
mapfile -t nftpkgs < <($CROSS closure "$debarch" nftables)
nftroot=$($CROSS fetch "$debarch" "$VMC/nft-$debarch" "${nftpkgs[@]}")

img=$VMC/bb-multi.tar
if [ ! -f "$img" ] || [ "$HERE/mkimage.py" -nt "$img" ]; then
	python3 "$HERE/mkimage.py" "$img" test/bb:latest \
		linux/amd64="$VMC/busybox-amd64/bin/busybox" linux/arm64="$VMC/busybox-arm64/bin/busybox" \
		linux/arm/v7="$VMC/busybox-armhf/bin/busybox" linux/mipsle="$VMC/busybox-mipsel/bin/busybox"
fi

# ---- modules: what minidock needs, with what they need, in load order --------
vm_modules "$kdir/lib/modules/$kver" "$W/root" crc32c_generic overlay dummy veth bridge nf_tables nft_chain_nat \
	nft_nat nft_masq nft_fib_ipv4 nft_ct nf_conntrack nf_nat

# ---- a store preloaded on the build machine for this VM's platform ------------
native=${MD_VM_NATIVE:-}
if [ -z "$native" ]; then
	make -s -C "$REPO" BOARD=generic-x86_64 >>"$W/make.log" 2>&1 || die "make BOARD=generic-x86_64 failed"
	native=$REPO/build/boards/generic-x86_64/minidock
fi
mkdir -p "$W/root/preload"
"$native" --root "$W/root/preload" --run-root "$W/preload-run" load -q --platform "$plat" -i "$img" >"$W/preload.log" 2>&1 ||
	{ cat "$W/preload.log" >&2; die "preloading the store with load --platform $plat failed"; }
rm -rf "$W/preload-run"

# ---- the initramfs ------------------------------------------------------------
R=$W/root
vm_root "$R" "$VMC/busybox-$debarch/bin/busybox" "$bin" "$HERE/vm-init.sh"
mkdir -p "$R/images"
cp "$img" "$R/images/bb.tar"
cp "$kdir/boot/config-$kver" "$R/kernel.config"
# nft: the binary, the dynamic loader and the libraries, nothing else
cp "$nftroot/usr/sbin/nft" "$R/usr/sbin/nft"
for d in lib lib64 usr/lib; do
	[ -d "$nftroot/$d" ] || continue
	(cd "$nftroot" && find "$d" \( -name '*.so*' -o -name 'ld*.so*' \) -not -path '*/gconv/*' -not -name 'libnss_*' -print0 |
		cpio -0 -pdm --quiet "$R")
done
vm_initramfs "$R" "$W/initrd.gz"

# ---- boot ---------------------------------------------------------------------
append="console=$console panic=-1 loglevel=4 md_cgroup=$cg md_arch=$arch"
[ "$cg" = v2 ] && append="$append cgroup_no_v1=all"
cmd=("$qemu" "${machine[@]}" -kernel "$kernel" -initrd "$W/initrd.gz" -append "$append"
	-nographic -no-reboot -nic none -monitor none -serial stdio)
printf '%q ' "${cmd[@]}" >"$W/qemu.cmd"
echo "# $BOARD: $kpkg, $(du -k "$W/initrd.gz" | cut -f1) KiB initramfs, cgroup $cg, timeout ${TIMEOUT}s"
start=$(date +%s)
rc=0
timeout -k 5 "$TIMEOUT" "${cmd[@]}" </dev/null >"$W/console.log" 2>&1 || rc=$?
secs=$(($(date +%s) - start))
tr -d '\r' <"$W/console.log" | grep -E '^(ok|not ok) [0-9]+ |^# ' | grep -v '^# vm-done' || true
fails=$(tr -d '\r' <"$W/console.log" | grep -c '^not ok ' || true)
oks=$(tr -d '\r' <"$W/console.log" | grep -c '^ok ' || true)
if ! tr -d '\r' <"$W/console.log" | grep -q '^# vm-done'; then
	echo "vm: $BOARD: no '# vm-done' after ${secs}s (qemu exit $rc); the console's last lines:" >&2
	tail -n 30 "$W/console.log" | sed 's/^/    /' >&2
	exit 1
fi
echo "# $BOARD: $oks passed, $fails failed in the VM, ${secs}s"
[ "$fails" = 0 ] && [ "$oks" -gt 0 ]
