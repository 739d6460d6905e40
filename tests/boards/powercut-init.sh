#!/bin/sh
# tests/boards/powercut-init.sh -- /init of tests/boards/powercut.sh's VM
# (busybox sh, PID 1; amd64, cgroup v2 only).
#
# The host packs this with busybox, minidock, /lib/vm-lib.sh and the modules
# of /modules.list (virtio disk, ext4, overlay) and attaches the disk, a
# virtio disk (/dev/vda, ext4, qemu cache=none) holding minidock's store
# (/disk/store, preloaded on the host with test/bb:1 and test/bb:2, which
# differ by a file) and the compose project /disk/project (compose.yaml,
# whose web service takes its VERSION, image tag, healthcheck, command and
# restart policy from the environment). The host kills qemu (SIGKILL) at
# random moments and boots this again from the same disk.
#
# Each boot copies the initramfs to a tmpfs (switch_root; the run root,
# /run/minidock, is on tmpfs, as on a device), mounts the disk, and checks,
# one line each, "check ok WHAT" or "check FAIL WHAT: why":
#   - the file system mounts (the kernel replays the journal), and the
#     kernel logged no ext4 or I/O error
#   - `minidock boot` exits 0 (it rolls back an update a cut interrupted and
#     brings up the committed revision)
#   - `minidock system check` passes
#   - the record (/disk/store/compose/pc.json) has no update under way, and
#     exactly the committed revision's containers exist, running, each with
#     the revision's config hash and image ID
#   - nothing committed was lost: /disk/loop/committed has a line "REV
#     VERSION" for each update that `compose up -d` reported committed
#     (appended and synced after up returned 0); the record's committed
#     revision is at least the last REV, and when equal its VERSION matches
# then "# ready". With pc_mode=check (kernel command line) it then unmounts
# the disk and powers off ("# clean shutdown"); with pc_mode=loop (and no
# failed check) it updates the project until the power goes, alternately a
# good update (a new VERSION, test/bb:1 and :2 in turn; healthy, so
# committed) and a bad one (its healthcheck fails, or its command exits 3;
# rolled back), each announced by "update N KIND VERSION" and ended by
# "commit REV VERSION", "rollback REV: why" or "update FAIL ..." (a good
# update rolled back, a bad one committed, or another error). The first boot
# (no record yet) brings up revision 1 first.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
STAGE=${1:-1}
# arg, mount_basics, mount_cgroups, load_modules, switch_to_tmpfs
# shellcheck source=tests/boards/vm-lib.sh
. /lib/vm-lib.sh

if [ "$STAGE" = 1 ]; then
	/bin/busybox --install -s /bin 2>/dev/null
	mount_basics
	load_modules
	switch_to_tmpfs ""
fi

mount_basics
mount_cgroups
ip link set lo up
P=pc
export MINIDOCK_ROOT=/disk/store MINIDOCK_RUNROOT=/run/minidock
REC=$MINIDOCK_ROOT/compose/$P.json
LOG=/disk/loop/committed
FAILS=0
up() { cut -d' ' -f1 /proc/uptime; }
ok() { echo "check ok $*"; }
bad() {
	FAILS=$((FAILS + 1))
	echo "check FAIL $*"
}
indent() { sed "s/^/#   $1/"; }
# the record's top-level number NAME (committed, trying)
recnum() { grep -o "\"$1\":[0-9]*" "$REC" | tail -n 1 | cut -d: -f2; }
# the record's revision REV, alone on a line
revision() { sed 's/{"rev":/\n&/g' "$REC" | grep "^{\"rev\":$1,"; }
# OBJECT: the "key":"value" pairs of the revision's "OBJECT":{...} (on stdin), one a line
pairs() { grep -o "\"$1\":{[^}]*}" | head -n 1 | sed "s/^\"$1\":{//; s/}\$//; s/\"//g" | tr ',' '\n'; }
stop() {
	sync
	umount /disk 2>/dev/null
	echo "# clean shutdown"
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}
kernel_errors() { dmesg | grep -E 'EXT4-fs error|JBD2: .*(error|corrupt)|I/O error|blk_update_request'; }

echo "# powercut VM: $(uname -r), boot $(arg pc_boot), mode $(arg pc_mode), uptime $(up)"

# ---- the checks ----------------------------------------------------------------
mkdir -p /disk
if mount -t ext4 /dev/vda /disk 2>/tmp/mount.err; then
	ok "the file system mounts"
else
	bad "the file system mounts: $(cat /tmp/mount.err)"
	echo "# ready"
	stop
fi
dmesg | grep -E 'EXT4-fs|JBD2' | indent "dmesg: "
if kernel_errors >/tmp/kerr; then
	bad "the kernel logged errors: $(head -n 3 /tmp/kerr | tr '\n' ' ')"
else
	ok "no ext4 or I/O error in the kernel log"
fi
mkdir -p /disk/loop

if [ ! -f "$REC" ] && [ ! -s "$LOG" ]; then
	echo "# first boot: revision 1"
	if (cd /disk/project && VERSION=first minidock compose up -d) >/tmp/up.out 2>&1; then
		echo "$(recnum committed) first" >>"$LOG"
		sync
		echo "commit $(recnum committed) first"
	else
		bad "the first compose up: $(tail -n 1 /tmp/up.out)"
	fi
fi

echo "# minidock boot"
t0=$(up)
# its lines as they come: a cut may come first
{
	minidock boot 2>&1
	echo $? >/tmp/boot.rc
} | tee /tmp/boot.out | indent "boot: "
rc=$(cat /tmp/boot.rc)
if [ "$rc" = 0 ]; then
	ok "minidock boot ($(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f s", b - a }'))"
else
	bad "minidock boot: exit $rc: $(tail -n 1 /tmp/boot.out)"
fi
if minidock system check >/tmp/sc.out 2>&1; then
	ok "system check"
else
	bad "system check: $(tail -n 1 /tmp/sc.out)"
	indent "" </tmp/sc.out | tail -n 20
fi

# the committed revision's containers, and only they, run
if [ -f "$REC" ]; then
	com=$(recnum committed)
	trying=$(recnum trying)
	if [ "$trying" = 0 ]; then
		ok "no update under way in the record"
	else
		bad "the record's update $trying is still under way after boot"
	fi
	revision "$com" >/tmp/rev
	if [ -s /tmp/rev ]; then
		ok "the record has its committed revision $com"
	else
		bad "the record's committed revision $com is not in it"
	fi
	pairs images </tmp/rev >/tmp/images
	want="" n=0
	for kv in $(pairs hashes </tmp/rev); do
		s=${kv%%:*} h=${kv#*:}
		img=$(sed -n "s/^$s://p" /tmp/images)
		n=$((n + 1))
		want="$want $P-$s-1"
		got=$(minidock inspect -f '{{.State.Status}} {{index .Config.Labels "com.docker.compose.config-hash"}} {{.Image}}' "$P-$s-1" 2>&1)
		if [ "$got" = "running $h $img" ]; then
			ok "service $s runs revision $com"
		else
			bad "service $s does not run revision $com: want 'running $h $img', have '$got'"
		fi
	done
	[ "$n" -gt 0 ] || bad "the committed revision $com has no services"
	have=$(minidock ps -a --format '{{.Names}}' 2>&1 | sort | tr '\n' ' ')
	want=$(echo "$want" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
	if [ "$have" = "$want" ]; then
		ok "the containers are the revision's: $have"
	else
		bad "containers: want '$want', have '$have'"
	fi
	# nothing committed lost: the last line the loop wrote after a commit
	last=$(grep -E '^[0-9]+ [^ ]+$' "$LOG" 2>/dev/null | tail -n 1)
	lrev=${last%% *} lver=${last#* }
	ver=$(grep -o '"VERSION":"[^"]*"' /tmp/rev | head -n 1 | cut -d'"' -f4)
	echo "# committed: revision $com (VERSION $ver); the last commit logged: ${last:-none}"
	if [ -z "$last" ]; then
		bad "no commit logged in $LOG"
	elif [ "$com" -lt "$lrev" ]; then
		bad "a commit was lost: up -d committed revision $lrev ($lver), the record's committed one is $com"
	elif [ "$com" = "$lrev" ] && [ "$ver" != "$lver" ]; then
		bad "revision $com has VERSION $ver, the commit logged $lver"
	else
		ok "nothing committed is lost (revision $com >= $lrev)"
	fi
else
	bad "no record $REC"
fi
echo "# ready"
[ "$(arg pc_mode)" = loop ] || stop
if [ "$FAILS" != 0 ]; then
	echo "# stopped: $FAILS checks failed"
	stop
fi

# ---- updates until the power goes ---------------------------------------------------
cd /disk/project || stop
bid=$(cut -c1-8 /proc/sys/kernel/random/boot_id)
i=0
while :; do
	i=$((i + 1))
	v=$bid-$i
	export VERSION="$v" IMAGE=1 HEALTH=true WEB_CMD="sleep 86400" RESTART=unless-stopped
	case $((i % 4)) in
	1) kind=good ;;
	2) kind=unhealthy HEALTH="echo not ready; exit 1" ;;
	3) kind=good IMAGE=2 ;;
	0) kind=exits WEB_CMD='sh -c "exit 3"' RESTART=no ;;
	esac
	echo "update $i $kind $v"
	minidock compose up -d >/tmp/up.out 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		rev=$(recnum committed)
		echo "$rev $v" >>"$LOG"
		sync
		echo "commit $rev $v"
		[ "$kind" = good ] || echo "update FAIL: the $kind update $i was committed (revision $rev)"
	elif grep -q 'rolled back to' /tmp/up.out; then
		echo "rollback $(sed -n 's/.*revision \([0-9]*\) rolled back to \(.*\)/\1: to \2/p' /tmp/up.out | tail -n 1)"
		[ "$kind" != good ] || { echo "update FAIL: the good update $i was rolled back"; indent "" </tmp/up.out; }
	else
		echo "update FAIL: compose up -d exited $rc: $(tail -n 1 /tmp/up.out)"
		indent "" </tmp/up.out | tail -n 10
	fi
	if [ -z "${kerr:-}" ] && kernel_errors >/tmp/kerr; then
		kerr=1
		echo "check FAIL the kernel logged errors: $(head -n 3 /tmp/kerr | tr '\n' ' ')"
	fi
done
