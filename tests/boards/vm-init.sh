#!/bin/sh
# tests/boards/vm-init.sh -- /init of a board test VM (busybox sh, PID 1).
#
# tests/boards/vm.sh packs this with busybox, minidock, nft and its
# libraries, /lib/vm-lib.sh (what it shares with powercut-init.sh), the
# kernel modules of /modules.list and /images/bb.tar (a multi-platform
# busybox image) into an initramfs. Results go to the console
# as TAP lines ("ok N - name", "not ok N - name # why"), then "# vm-done";
# the host side fails on a "not ok", a missing "# vm-done" or a timeout.
#
# Stage 1 runs in the initramfs itself (rootfs), where pivot_root(2) is
# refused: one container run there takes minidock's MS_MOVE + chroot path.
# Then the files are copied to a tmpfs and switch_root starts stage 2, the
# normal path: overlay root, namespaces, cgroup limits, bridge networking
# with a published port, the overlay-fallback of an overlay root (OpenWrt),
# a preloaded store and, last, a read-only root with the store elsewhere.
#
# Kernel command line: md_cgroup=v1|v2 (the hierarchy to mount; v2 only is
# what a cgroup v2 host looks like), md_arch=amd64|arm64|arm|mipsel.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
STAGE=${1:-1}
# arg, mount_basics, mount_cgroups, load_modules, switch_to_tmpfs
# shellcheck source=tests/boards/vm-lib.sh
. /lib/vm-lib.sh
N=0
FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $*"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1${2:+ # $2}"; }
# t NAME CMD...: run CMD (output to /tmp/t.out, shown on failure)
t() {
	name=$1
	shift
	if "$@" >/tmp/t.out 2>&1; then
		ok "$name"
	else
		notok "$name" "exit $?"
		sed 's/^/#   /' /tmp/t.out | tail -n 25
	fi
}
# expect NAME WANT CMD...: CMD's output (stdout and stderr) contains WANT
expect() {
	name=$1 want=$2
	shift 2
	"$@" >/tmp/t.out 2>&1
	rc=$?
	if grep -qF -- "$want" /tmp/t.out; then
		ok "$name"
	else
		notok "$name" "exit $rc, no '$want' in the output"
		sed 's/^/#   /' /tmp/t.out | tail -n 25
	fi
}
# status NAME CODE CMD...: CMD exits CODE
status() {
	name=$1 want=$2
	shift 2
	"$@" >/tmp/t.out 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$name"
	else
		notok "$name" "exit $rc, expected $want"
		sed 's/^/#   /' /tmp/t.out | tail -n 25
	fi
}
finish() {
	echo "# $N tests, $FAILED failed"
	echo "# vm-done"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

# ---- stage 1: the initramfs ------------------------------------------------
if [ "$STAGE" = 1 ]; then
	/bin/busybox --install -s /bin 2>/dev/null
	mount_basics
	echo "# minidock board VM: $(uname -srm), $(arg md_cgroup) cgroups"
	echo "# $(minidock version | tr '\n' ' ')"
	load_modules
	mount_cgroups
	ip link set lo up
	# pivot_root(2) refuses the initramfs: the no-pivot path (MS_MOVE + chroot)
	export MINIDOCK_ROOT=/md-nopivot MINIDOCK_RUNROOT=/run/md-nopivot
	t "stage 1: load the image into a store on the initramfs" minidock load -q -i /images/bb.tar
	expect "stage 1: a container runs from the initramfs (no pivot_root)" "nopivot-ok" \
		minidock run --rm --network none test/bb sh -c 'echo nopivot-ok; test "$(cat /proc/1/comm 2>/dev/null)" = sh -o -e /proc/1'
	expect "stage 1: its root is the image" "overlay" minidock run --rm --network none test/bb cat /proc/mounts
	unset MINIDOCK_ROOT MINIDOCK_RUNROOT
	echo "# stage 1 done: $N tests, $FAILED failed"
	switch_to_tmpfs "$N $FAILED" /md-nopivot
fi

# ---- stage 2: a tmpfs root ---------------------------------------------------
read -r N FAILED </.stage1
mount_basics
mount_cgroups
cg=$(arg md_cgroup)
arch=$(arg md_arch)
# the VM's own address, on a dummy link: nothing leaves the VM
ip link set lo up
ip link add vm0 type dummy && ip addr add 192.0.2.10/24 dev vm0 && ip link set vm0 up
export MINIDOCK_ROOT=/var/lib/minidock MINIDOCK_RUNROOT=/run/minidock
md() { minidock "$@"; }
cgdir() {   # ID [CONTROLLER]: the container's cgroup dir
	find /sys/fs/cgroup/${2:-} -type d -name "$1*" 2>/dev/null | head -n 1
}

t "load the multi-platform image (this machine's platform)" md load -q -i /images/bb.tar
if minidock check-config --help >/dev/null 2>&1; then
	t "check-config: the kernel has what minidock needs" md check-config /kernel.config
	expect "info: cgroup version" "Cgroup Version: ${cg#v}" md info
fi
expect "the image is for $arch" "$arch" md image inspect -f '{{.Architecture}}' test/bb
expect "a container starts and its output is read" "hello from $arch" md run --rm --network none test/bb echo "hello from $arch"
expect "overlay root filesystem" "root-is-overlay" md run --rm --network none test/bb \
	sh -c 'grep -q "^overlay / overlay " /proc/mounts && echo root-is-overlay'
md run --network none --name w test/bb sh -c 'echo changed >/etc/motd' >/dev/null 2>&1
expect "writes stay in the container's layer" "missing" md run --rm --network none test/bb sh -c 'cat /etc/motd 2>/dev/null || echo missing'
md rm w >/dev/null 2>&1
# namespaces: pid 1 is the container's command, and every namespace differs
expect "pid namespace" "pid1=sh" md run --rm --network none test/bb sh -c 'echo pid1=$(cat /proc/1/comm)'
ns_host=$(for n in mnt uts ipc pid net cgroup; do readlink /proc/self/ns/$n; done | tr '\n' ' ')
ns_ctr=$(md run --rm --network none test/bb sh -c 'for n in mnt uts ipc pid net cgroup; do readlink /proc/self/ns/$n; done' | tr '\n' ' ')
same=""
for a in $ns_host; do case " $ns_ctr " in *" $a "*) same="$same $a" ;; esac; done
if [ -n "$ns_ctr" ] && [ -z "$same" ]; then ok "mnt uts ipc pid net cgroup namespaces"; else notok "namespaces" "shared:$same ctr: $ns_ctr"; fi
expect "uts namespace: --hostname" "boardtest" md run --rm --network none --hostname boardtest test/bb hostname
# cgroup limits
status "memory limit enforced: OOM kill exits 137" 137 \
	md run --rm --network none -m 8m --memory-swap 8m test/bb awk 'BEGIN { s = "x"; while (1) s = s s }'
expect "pids limit enforced" "fork" md run --rm --network none --pids-limit 8 test/bb \
	sh -c 'i=0; while [ $i -lt 20 ]; do sleep 10 & i=$((i + 1)); done 2>&1; kill $(jobs -p) 2>/dev/null'
id=$(md run -d --network none -m 32m --pids-limit 50 --cpus 0.5 --name lim test/bb sleep 300 2>/tmp/t.out)
if [ "$cg" = v2 ]; then
	d=$(cgdir "$id")
	expect "cgroup v2: memory.max" 33554432 cat "$d/memory.max"
	expect "cgroup v2: pids.max" 50 cat "$d/pids.max"
	expect "cgroup v2: cpu.max" "50000 100000" cat "$d/cpu.max"
	t "cgroup v2 only: no v1 hierarchy is mounted" sh -c '! grep -q " cgroup " /proc/mounts'
	# the device filter is a BPF program: a block device node made inside
	# (CAP_MKNOD is a default capability) cannot be opened
	expect "cgroup v2: device BPF filter" "Operation not permitted" md run --rm --network none test/bb \
		sh -c 'mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda'
	expect "cgroup v2: /dev/null is allowed" "ok" md run --rm --network none test/bb sh -c 'echo x >/dev/null && echo ok'
	t "cgroup v2: pause freezes through cgroup.freeze" md pause lim
	expect "cgroup v2: cgroup.freeze is 1" 1 cat "$d/cgroup.freeze"
	expect "cgroup v2: cgroup.events says frozen" "frozen 1" cat "$d/cgroup.events"
	t "cgroup v2: unpause" md unpause lim
else
	expect "cgroup v1: memory.limit_in_bytes" 33554432 cat "$(cgdir "$id" memory)/memory.limit_in_bytes"
	expect "cgroup v1: pids.max" 50 cat "$(cgdir "$id" pids)/pids.max"
	expect "cgroup v1: cpu.cfs_quota_us" 50000 cat "$(cgdir "$id" cpu,cpuacct)/cpu.cfs_quota_us"
	expect "cgroup v1: device filter" "Operation not permitted" md run --rm --network none test/bb \
		sh -c 'mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda'
	t "cgroup v1: pause (freezer)" md pause lim
	expect "cgroup v1: freezer.state" FROZEN cat "$(cgdir "$id" freezer)/freezer.state"
	t "cgroup v1: unpause" md unpause lim
fi
t "remove the limited container" md rm -f lim
# bridge networking and a published port, reached from the VM's own
# namespace via its address and 127.0.0.1
t "a web server with a published port" md run -d --name web -p 8080:80 test/bb httpd -f -p 80 -h /www
i=0
while [ $i -lt 20 ] && ! timeout 10 wget -q -O /dev/null http://127.0.0.1:8080/ 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
expect "published port via the VM's address" "hello from the container" timeout 10 wget -q -O - http://192.0.2.10:8080/
expect "published port via 127.0.0.1" "hello from the container" timeout 10 wget -q -O - http://127.0.0.1:8080/
ctrip=$(md inspect -f '{{.NetworkSettings.IPAddress}}' web 2>/dev/null)
expect "the container's bridge address answers directly" "hello from the container" timeout 10 wget -q -O - "http://$ctrip:80/"
expect "container to container over the bridge" "hello from the container" \
	md run --rm test/bb timeout 10 wget -q -O - "http://$ctrip:80/"
t "stop and remove the web server" md rm -f web
t "system check" md system check
# an overlay root (OpenWrt: squashfs + jffs2 under an overlayfs): the store
# on it cannot hold an upper layer; minidock falls back
mkdir -p /ovl/lower /ovl/upper /ovl/work /ovl/root
mount -t tmpfs tmpfs /ovl/upper && mkdir -p /ovl/upper/u /ovl/upper/w
mount -t overlay overlay -o lowerdir=/ovl/lower,upperdir=/ovl/upper/u,workdir=/ovl/upper/w /ovl/root
export MINIDOCK_ROOT=/ovl/root/opt/minidock MINIDOCK_RUNROOT=/run/md-ovl
t "overlay root: load into a store on an overlayfs" md load -q -i /images/bb.tar
expect "overlay root: tmpfs upper layer fallback announced" "using a tmpfs upper layer" \
	md run --rm --network none test/bb echo ran
expect "overlay root: the container ran" "ran-on-overlay" md run --rm --network none test/bb echo ran-on-overlay
expect "overlay root: MINIDOCK_OVERLAY_FALLBACK=copy" "using a copied root filesystem" \
	env MINIDOCK_OVERLAY_FALLBACK=copy minidock run --rm --network none test/bb echo ran
expect "overlay root: the copy container ran" "copy-ran" \
	env MINIDOCK_OVERLAY_FALLBACK=copy minidock run --rm --network none test/bb echo copy-ran
# a store preloaded at firmware build time, on the build machine, by the
# build machine's own minidock (load --platform of this VM's platform)
if [ -d /preload ]; then
	export MINIDOCK_ROOT=/preload MINIDOCK_RUNROOT=/run/md-preload
	expect "preloaded store: the image is for $arch" "$arch" md image inspect -f '{{.Architecture}}' test/bb
	t "preloaded store: system check" md system check
	expect "preloaded store: a container runs" "preloaded-ok" md run --rm --network none test/bb echo preloaded-ok
fi
# read-only root, the store on a separate writable filesystem
mkdir -p /data
mount -t tmpfs -o size=64m data /data
# a second store on this host: a bridge and subnet of its own
export MINIDOCK_ROOT=/data/minidock MINIDOCK_RUNROOT=/run/md-ro
export MINIDOCK_DEFAULT_BRIDGE=md-ro MINIDOCK_DEFAULT_SUBNET=10.86.0.0/16
t "read-only root: load into the store on /data" md load -q -i /images/bb.tar
if mount -o remount,ro / && ! touch /rofile 2>/dev/null; then
	ok "read-only root: / remounted read-only"
	expect "read-only root: a container runs" "ro-root-ok" md run --rm --network none test/bb echo ro-root-ok
	expect "read-only root: a container with a published port" "hello from the container" \
		sh -c 'minidock run -d --name web2 -p 8081:80 test/bb httpd -f -p 80 -h /www >/dev/null && sleep 1 &&
			timeout 10 wget -q -O - http://127.0.0.1:8081/; minidock rm -f web2 >/dev/null'
	mount -o remount,rw /
else
	notok "read-only root: remount / read-only"
fi
finish
