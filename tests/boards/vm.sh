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
REPO=$(cd "$HERE/../.." && pwd)
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

case $debarch in
amd64) meta=linux-image-amd64 qemu=qemu-system-x86_64 plat=linux/amd64 arch=amd64 cg=v2
	machine=(-M q35 -cpu max -m 512 -smp 2) console=ttyS0 ;;
arm64) meta=linux-image-arm64 qemu=qemu-system-aarch64 plat=linux/arm64 arch=arm64 cg=v1
	machine=(-M virt -cpu cortex-a57 -m 512 -smp 2) console=ttyAMA0 ;;
armhf) meta=linux-image-armmp qemu=qemu-system-arm plat=linux/arm/v7 arch=arm cg=v1
	machine=(-M virt,highmem=off -cpu cortex-a15 -m 512 -smp 2) console=ttyAMA0 ;;
mipsel) meta=linux-image-4kc-malta qemu=qemu-system-mipsel plat=linux/mipsle arch=mipsle cg=v1
	machine=(-M malta -cpu 24Kf -m 256) console=ttyS0 ;;
*) die "no VM recipe for $debarch" ;;
esac
cg=${MD_VM_CGROUP:-$cg}
command -v "$qemu" >/dev/null || die "no $qemu (mk/setup.sh boards)"

W=$REPO/build/boards/$BOARD/vm
rm -rf "$W"
mkdir -p "$W/root" "$VMC"

# ---- the pieces ----------------------------------------------------------------
make -s -C "$REPO" BOARD="$BOARD" >"$W/make.log" 2>&1 || { cat "$W/make.log" >&2; die "make BOARD=$BOARD failed"; }
bin=$REPO/build/boards/$BOARD/minidock

kpkg=$($CROSS depends "$debarch" "$meta" | grep -m 1 '^linux-image-') || die "no kernel behind $meta"
kdir=$($CROSS fetch "$debarch" "$VMC/$kpkg" "$kpkg")
kver=${kpkg#linux-image-}
kernel=$kdir/boot/vmlinuz-$kver
[ -f "$kernel" ] || kernel=$kdir/boot/vmlinux-$kver
[ -f "$kernel" ] || die "no kernel image in $kdir/boot"

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
mods=$kdir/lib/modules/$kver
# modules.dep is depmod's work at install time: make it from each module's
# .modinfo "depends=" (direct dependencies; add_mod follows them down)
if [ ! -s "$mods/modules.dep" ]; then
	python3 - "$mods" >"$mods/modules.dep.tmp" <<'PYEOF'
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
want="crc32c_generic overlay dummy veth bridge nf_tables nft_chain_nat nft_nat nft_masq nft_fib_ipv4 nft_ct nf_conntrack nf_nat"
declare -A done_mod=()
order=()
add_mod() {   # PATH relative to $mods
	local m=$1 deps d
	[ -n "${done_mod[$m]:-}" ] && return 0
	done_mod[$m]=1
	deps=$(awk -v m="$m:" '$1 == m { $1 = ""; print }' "$mods/modules.dep")
	for d in $deps; do add_mod "$d"; done
	order+=("$m")
}
for n in $want; do
	p=$(awk -v n="$n" '{ f = $1; sub(":$", "", f); b = f; sub(".*/", "", b); sub("\\.ko.*$", "", b);
		gsub("-", "_", b); if (b == n) { print f; exit } }' "$mods/modules.dep")
	if [ -n "$p" ]; then
		add_mod "$p"
	elif ! grep -q "/${n//_/[_-]}\.ko" "$mods/modules.builtin"; then
		echo "vm: note: module $n is neither in modules.dep nor built in ($kver)" >&2
	fi
done
: >"$W/root/modules.list"
for m in "${order[@]}"; do
	mkdir -p "$W/root/lib/modules/$(dirname "$m")"
	case $m in
	*.ko.xz) xz -dc "$mods/$m" >"$W/root/lib/modules/${m%.xz}"; m=${m%.xz} ;;
	*.ko.zst) zstd -qdc "$mods/$m" >"$W/root/lib/modules/${m%.zst}"; m=${m%.zst} ;;
	*) cp "$mods/$m" "$W/root/lib/modules/$m" ;;
	esac
	echo "$m" >>"$W/root/modules.list"
done

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
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/etc" "$R/images" "$R/root" "$R/var/lib" "$R/sys/fs/cgroup"
cp "$VMC/busybox-$debarch/bin/busybox" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
cp "$bin" "$R/bin/minidock"
cp "$HERE/vm-init.sh" "$R/init"
chmod 755 "$R/init"
cp "$img" "$R/images/bb.tar"
cp "$kdir/boot/config-$kver" "$R/kernel.config"
# nft: the binary, the dynamic loader and the libraries, nothing else
cp "$nftroot/usr/sbin/nft" "$R/usr/sbin/nft"
for d in lib lib64 usr/lib; do
	[ -d "$nftroot/$d" ] || continue
	(cd "$nftroot" && find "$d" \( -name '*.so*' -o -name 'ld*.so*' \) -not -path '*/gconv/*' -not -name 'libnss_*' -print0 |
		cpio -0 -pdm --quiet "$R")
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
: >"$R/etc/resolv.conf"
echo "127.0.0.1 localhost" >"$R/etc/hosts"
(cd "$R" && find . -print0 | cpio -0 -o -H newc -R 0:0 --quiet) | gzip -1 >"$W/initrd.gz"

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
