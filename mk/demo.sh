#!/bin/bash
# mk/demo.sh -- minidock in three commands, on a busybox rootfs made here.
#
# Run by `make demo` (which installs busybox-static and builds ./minidock
# first). Everything lives in build/demo/: rootfs/ and rootfs.tar (the image),
# root/ (minidock's data root) and run/ (its run root). Needs root.
# The container runs with --network none: a first command should not leave
# a bridge, firewall rules or ip_forward changed on the machine (the default
# bridge stays once made, as docker0 does), and needs no nft or iptables.
set -euo pipefail
cd "$(dirname "$0")/.."

top=$PWD
demo=$top/build/demo
busybox=${BUSYBOX:-/bin/busybox}

[ -x ./minidock ] || { echo "demo: no ./minidock; run make first" >&2; exit 1; }
[ -x "$busybox" ] || { echo "demo: no $busybox; run mk/setup.sh demo" >&2; exit 1; }
if ! "$busybox" --list >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
	echo "demo: $busybox is not a static busybox (install busybox-static)" >&2
	exit 1
fi

# Undo what an earlier demo may have left mounted before removing its files.
if [ -d "$demo" ]; then
	awk -v d="$demo" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$demo"
fi

# The image: /bin/busybox plus one symlink per applet.
mkdir -p "$demo/rootfs/bin"
cd "$demo/rootfs"
mkdir -p etc proc sys dev tmp root
chmod 1777 tmp
cp "$busybox" bin/busybox
for app in $("$busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' >etc/passwd
echo 'root:x:0:' >etc/group
tar --numeric-owner --owner=0 --group=0 -cf "$demo/rootfs.tar" .
cd "$top"

md() {
	local a line="$"
	for a in "$@"; do
		case $a in *[[:space:]]*) line+=" \"$a\"" ;; *) line+=" $a" ;; esac
	done
	echo "$line"
	"$@"
}
echo "demo: rootfs.tar with busybox and $("$busybox" --list | wc -l) applets"
dirs=(--root build/demo/root --run-root build/demo/run)
md ./minidock "${dirs[@]}" import build/demo/rootfs.tar demo/busybox:latest
md ./minidock "${dirs[@]}" images
md ./minidock "${dirs[@]}" run --rm --network none demo/busybox:latest echo "hello from a minidock container"
