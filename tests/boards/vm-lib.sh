# shellcheck shell=sh
# tests/boards/vm-lib.sh -- what the board VMs' /init scripts share (busybox
# sh; tests/boards/vm-init.sh and powercut-init.sh). The host's vm_root
# (tests/boards/lib.sh) puts it in the initramfs as /lib/vm-lib.sh.

# arg NAME: the value of NAME=VALUE on the kernel command line
arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1"=*) echo "${w#*=}" ;; esac
	done
}

mount_basics() {
	mkdir -p /proc /sys /dev /run /tmp
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs -o mode=755 dev /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
	mount -t tmpfs -o mode=1777 shm /dev/shm
	mount -t tmpfs -o mode=755 run /run
	mount -t tmpfs -o mode=1777 tmp /tmp
}

# mount_cgroups: md_cgroup=v2, the unified hierarchy only; else cgroup v1
mount_cgroups() {
	if [ "$(arg md_cgroup)" = v2 ]; then
		mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
	else
		mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
		# one hierarchy per controller the kernel has, cpu+cpuacct together
		for c in $(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups); do
			case $c in cpu | cpuacct) c=cpu,cpuacct ;; net_cls | net_prio) c=net_cls,net_prio ;; esac
			[ -d "/sys/fs/cgroup/$c" ] && continue
			mkdir -p "/sys/fs/cgroup/$c"
			mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || rmdir "/sys/fs/cgroup/$c"
		done
		[ -d /sys/fs/cgroup/cpu,cpuacct ] && ln -s cpu,cpuacct /sys/fs/cgroup/cpu && ln -s cpu,cpuacct /sys/fs/cgroup/cpuacct
		[ -d /sys/fs/cgroup/net_cls,net_prio ] && ln -s net_cls,net_prio /sys/fs/cgroup/net_cls
	fi
}

# load_modules: insmod each module of /modules.list, in its order
load_modules() {
	while read -r m; do
		insmod "/lib/modules/$m" 2>/tmp/insmod.err ||
			grep -q 'File exists' /tmp/insmod.err || echo "# insmod $m: $(cat /tmp/insmod.err)"
	done </modules.list
}

# switch_to_tmpfs STATE [DIR...]: copy the initramfs (but the DIRs) to a
# tmpfs, with STATE in its /.stage1, and exec its /init 2 there (pivot_root(2)
# refuses the initramfs; switch_root deletes the initramfs' files).
switch_to_tmpfs() {
	state=$1
	shift
	mkdir -p /newroot
	mount -t tmpfs -o mode=755 root /newroot
	for f in /*; do
		case " /proc /sys /dev /run /tmp /newroot $* " in *" $f "*) continue ;; esac
		cp -a "$f" /newroot/
	done
	mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
	echo "$state" >/newroot/.stage1
	# leave nothing mounted but what switch_root moves
	for m in $(awk '{ print $2 }' /proc/mounts | sort -r); do
		case $m in / | /newroot | /proc | /sys | /dev) ;; *) umount -l "$m" 2>/dev/null ;; esac
	done
	umount -l /sys /dev 2>/dev/null
	umount -l /proc
	exec switch_root /newroot /init 2
}
