#!/bin/sh
# tests/bench/flash-init.sh -- /init of tests/bench/flash-bench.sh's VM
# (busybox sh, PID 1; amd64, cgroup v2 only).
#
# The host packs this with busybox, the minidock binaries, crun, podman (when
# it can) with their libraries, runtimes (tests/bench/runtimes.c, static),
# the kernel modules of /modules.list and /images/bb-docker.tar into an
# initramfs, and attaches the "flash": a virtio disk (/dev/vda, ext4)
# throttled by qemu, holding minidock's store(s) (/flash/md, /flash/md-b),
# crun's OCI bundle (/flash/crun) and podman's graphroot (/flash/podman).
# Run roots and crun's state are in /run (tmpfs), as on a device.
#
# Stage 1 copies the initramfs to a tmpfs and switch_roots (pivot_root(2),
# which crun and podman need, refuses the initramfs); stage 2 measures.
# Kernel command line: fb_n (timed rounds), fb_bytes_n (starts per tool for
# the byte count), fb_gap (ms between two starts).
#
# Output on the console, read by the host:
#   P NAME UPTIME              a phase starts (seconds since boot)
#   T<TAB>TOOL<TAB>ROUND<TAB>US  one timed start (runtimes.c; round 0: warm-up)
#   B TOOL N S0 W0 F0 S1 W1 F1 S2 W2 F2   N starts of TOOL in a row: the flash
#                              disk's sectors written, write requests and
#                              flushes (/proc/diskstats) after a sync before
#                              them, right after them, after a sync after them
#   # ...                      notes; "FAIL ..." stops the measurement
#   # flash-done               the end (then the VM powers off)
# shellcheck disable=SC2013,SC2086,SC2091 # the tools' command lines are word-split on purpose
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
STAGE=${1:-1}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1"=*) echo "${w#*=}" ;; esac
	done
}
phase() { echo "P $1 $(cut -d' ' -f1 /proc/uptime)"; }
finish() {
	phase end
	echo "# flash-done"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}
fail() {
	echo "FAIL $*"
	sed 's/^/#   /' /tmp/t.out 2>/dev/null | tail -n 25
	finish
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

# ---- stage 1: the initramfs --------------------------------------------------
if [ "$STAGE" = 1 ]; then
	/bin/busybox --install -s /bin 2>/dev/null
	mount_basics
	phase stage1
	while read -r m; do
		insmod "/lib/modules/$m" 2>/tmp/insmod.err ||
			grep -q 'File exists' /tmp/insmod.err || echo "# insmod $m: $(cat /tmp/insmod.err)"
	done </modules.list
	mkdir -p /newroot
	mount -t tmpfs -o mode=755 root /newroot
	for f in /*; do
		case $f in /proc | /sys | /dev | /run | /tmp | /newroot) continue ;; esac
		cp -a "$f" /newroot/
	done
	mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
	for m in $(awk '{ print $2 }' /proc/mounts | sort -r); do
		case $m in / | /newroot | /proc | /sys | /dev) ;; *) umount -l "$m" 2>/dev/null ;; esac
	done
	umount -l /sys /dev 2>/dev/null
	umount -l /proc
	exec switch_root /newroot /init 2
fi

# ---- stage 2: a tmpfs root ---------------------------------------------------
mount_basics
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
ip link set lo up
phase setup
N=$(arg fb_n)
BN=$(arg fb_bytes_n)
GAP=$(arg fb_gap)
echo "# $(uname -srm), $(nproc) CPUs, $(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo) KiB"
mkdir -p /flash
mount -t ext4 /dev/vda /flash || fail "cannot mount /dev/vda (the flash disk) on /flash"
echo "# flash: $(grep ' /flash ' /proc/mounts)"

# each tool's command line, arguments without spaces (word-split on purpose)
MD_A="minidock --root /flash/md --run-root /run/md run --rm --network none test/bb /bin/true"
MD_B="minidock-b --root /flash/md-b --run-root /run/md-b run --rm --network none test/bb /bin/true"
CRUN="crun run --bundle /flash/crun fb-crun"
PM="podman --root /flash/podman --runroot /run/podman --tmpdir /run/libpod --storage-driver overlay
	--cgroup-manager cgroupfs --runtime /usr/bin/crun --events-backend file"
PM_OPTS="--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
TOOLS="minidock"
[ -x /bin/minidock-b ] && TOOLS="$TOOLS minidock_b"
TOOLS="$TOOLS crun"
echo "# $(minidock version | tr '\n' ' ')"
[ -x /bin/minidock-b ] && echo "# B: $(minidock-b version | tr '\n' ' ')"
echo "# $(crun --version | head -n 1)"

# podman: its image loaded from the archive onto the flash (untimed); its
# rendering of Docker's default seccomp profile goes into crun's config.json,
# so that crun filters as podman and minidock do
if [ -x /usr/bin/podman ]; then
	echo "# $(podman --version), $(conmon --version | head -n 1)"
	if $PM load -q -i /images/bb-docker.tar >/tmp/t.out 2>&1 &&
		PMIMG=$($PM images -q 2>>/tmp/t.out | head -n 1) && [ -n "$PMIMG" ] &&
		id=$($PM create $PM_OPTS $PMIMG /bin/true 2>>/tmp/t.out) &&
		$PM init "$id" >>/tmp/t.out 2>&1; then
		cfg=$(find /flash/podman -path "*$id/userdata/config.json" | head -n 1)
		if [ -n "$cfg" ] && jq -e '.linux.seccomp' "$cfg" >/tmp/seccomp.json 2>>/tmp/t.out; then
			jq --slurpfile sc /tmp/seccomp.json '.linux.seccomp = $sc[0]' /flash/crun/config.json >/flash/crun/config.new &&
				mv /flash/crun/config.new /flash/crun/config.json && echo "# seccomp: podman's rendering of Docker's profile, in crun's config.json"
		fi
		$PM rm -f "$id" >>/tmp/t.out 2>&1
		if $PM run $PM_OPTS --rm $PMIMG /bin/true >>/tmp/t.out 2>&1; then
			TOOLS="$TOOLS podman"
		else
			echo "# podman run fails here: left out"
			sed 's/^/#   /' /tmp/t.out | tail -n 15
		fi
	else
		echo "# podman cannot load the image here: left out"
		sed 's/^/#   /' /tmp/t.out | tail -n 15
	fi
fi
grep -q '"seccomp"' /flash/crun/config.json || echo "# seccomp: none (no podman to render Docker's profile; minidock installs its own)"
cmd_of() {
	case $1 in
	minidock) echo "$MD_A" ;;
	minidock_b) echo "$MD_B" ;;
	crun) echo "$CRUN" ;;
	podman) echo "$PM run $PM_OPTS --rm $PMIMG /bin/true" ;;
	esac
}
for t in $TOOLS; do
	$(cmd_of $t) >/tmp/t.out 2>&1 || fail "$t: $(cmd_of $t)"
done
echo "# tools: $TOOLS"
sync

# ---- the start times: the tools alternately ----------------------------------
for t in $TOOLS; do
	printf '%s\thost' "$t"
	for a in $(cmd_of $t); do printf '\t%s' "$a"; done
	printf '\n'
done >/tmp/plan
phase times
runtimes -s /flash -g "$GAP" "$N" /tmp/plan >/tmp/times.tsv 2>/tmp/t.out || fail "runtimes failed"
sed 's/^/T\t/' /tmp/times.tsv

# ---- bytes written: each tool BN times in a row ------------------------------
ds() { awk '$3 == "vda" { printf "%s %s %s", $10, $8, $19 }' /proc/diskstats; }
phase bytes
for t in $TOOLS; do
	sync
	s0=$(ds)
	i=0
	while [ $i -lt "$BN" ]; do
		$(cmd_of $t) >/tmp/t.out 2>&1 || fail "$t: $(cmd_of $t)"
		i=$((i + 1))
	done
	s1=$(ds)
	sync
	echo "B $t $BN $s0 $s1 $(ds)"
done
finish
