#!/bin/bash
# tests/boards/powercut.sh [CUTS]: real power cuts (issue 15). The amd64 VM
# of the board tests (Debian's kernel under qemu-system-x86_64, TCG) boots
# with minidock's store on a virtio disk (a raw ext4 image, cache=none: what
# the guest flushed is on the host's disk, what it did not may be lost) and
# updates a compose project in a loop (tests/boards/powercut-init.sh is its
# /init); qemu is killed with SIGKILL at random moments, CUTS times (default
# 20, or MD_POWERCUT_CUTS), and the VM boots again from the same disk and
# checks: the file system mounts, `minidock boot` finishes, `system check`
# passes, the committed revision's containers (only they) run, nothing
# committed is lost. A last boot only checks, then shuts down cleanly.
#
# A cut lands MD_POWERCUT_MIN_MS to MD_POWERCUT_MAX_MS (500-10000) after the
# VM said "# ready" (during the updates: pulls none, stops, creates, starts,
# healthchecks, commits, rollbacks); every MD_POWERCUT_EARLY-th cut (5; 0:
# none) 0-1 s after it said "# minidock boot" instead, mostly while boot
# rolls back what the cut before interrupted. Between cuts the host checks a
# copy of the disk: e2fsck replays the journal (-E journal_only), then
# `e2fsck -fy` may fix only what a cut leaves on a sound ext4 (orphan inodes,
# the superblock's free counts); after the last boot, a clean shutdown,
# `e2fsck -fn` of the disk itself must find nothing.
#
# Prints a line per cut and, last, "powercut: N cuts, N commits, N
# rollbacks, N failures" (failures: a "check FAIL" or "update FAIL" line, a
# boot that never said "# ready", an e2fsck error). Exits 1 on any failure,
# after the first one (MD_POWERCUT_KEEP_GOING=1: after all the cuts); the
# disk image and every boot's console stay in the work dir then. The work
# dir: build/boards/powercut (console-NNN.log, qemu.cmd, initrd.gz; when
# something failed also disk.img and cut.img, the disk as the last cut before
# the failing boot left it).
#
# Environment: MD_POWERCUT_CUTS, MD_POWERCUT_SEED (bash's RANDOM; default:
# from the clock, printed), MD_POWERCUT_MIN_MS, MD_POWERCUT_MAX_MS,
# MD_POWERCUT_EARLY, MD_POWERCUT_READY_TIMEOUT (seconds a boot may take to
# "# ready", 180), MD_POWERCUT_KEEP_GOING, MD_DEPS_CACHE.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/boards/lib.sh
. "$HERE/lib.sh"
CUTS=${1:-${MD_POWERCUT_CUTS:-20}}
SEED=${MD_POWERCUT_SEED:-$(($(date +%s%N) / 1000 % 32768))}
MIN_MS=${MD_POWERCUT_MIN_MS:-500}
MAX_MS=${MD_POWERCUT_MAX_MS:-10000}
EARLY=${MD_POWERCUT_EARLY:-5}
READY_TIMEOUT=${MD_POWERCUT_READY_TIMEOUT:-180}
KEEP_GOING=${MD_POWERCUT_KEEP_GOING:-0}
VMC=${MD_DEPS_CACHE:-/var/cache/minidock-deps}/vm
DISK_MB=256
die() { echo "powercut: $*" >&2; exit 1; }

for v in CUTS SEED MIN_MS MAX_MS EARLY READY_TIMEOUT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number"
done
[ "$MAX_MS" -ge "$MIN_MS" ] || die "MD_POWERCUT_MAX_MS is below MD_POWERCUT_MIN_MS"
[ "$(id -u)" = 0 ] || die "needs root (the store keeps its files' owners)"
vm_arch amd64 || exit 1
for c in "$vm_qemu":qemu-system-x86 mkfs.ext4:e2fsprogs e2fsck:e2fsprogs python3:python3 cpio:cpio busybox:busybox; do
	command -v "${c%%:*}" >/dev/null || die "${c%%:*} is missing (apt-get install ${c#*:})"
done
RANDOM=$SEED
T0=$(date +%s)

W=$REPO/build/boards/powercut
# one run a tree: a second one would empty the first one's work dir
mkdir -p "$REPO/build/boards"
exec 9>"$REPO/build/boards/powercut.lock"
flock -n 9 || die "another tests/boards/powercut.sh runs in this tree (build/boards/powercut.lock)"
QPID=''
finish() {
	[ -z "$QPID" ] || { kill -KILL "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; }
	rm -rf "$W/root" "$W/stage" "$W/prerun" "$W/fsck.img" "$W"/bb-*.tar
}
trap finish EXIT
trap 'exit 130' INT TERM
rm -rf "$W"
mkdir -p "$W/root" "$VMC"

# ---- the initramfs: busybox, minidock, the modules of the disk, ext4, overlay ------
make -s -C "$REPO" BOARD=generic-x86_64 >"$W/make.log" 2>&1 || { cat "$W/make.log" >&2; die "make BOARD=generic-x86_64 failed"; }
bin=$REPO/build/boards/generic-x86_64/minidock
vm_kernel amd64 "$vm_meta" "$VMC" || exit 1
bb=$(bash "$REPO/mk/cross.sh" fetch amd64 "$VMC/busybox-amd64" busybox-static)/bin/busybox
vm_modules "$vm_kdir/lib/modules/$vm_kver" "$W/root" crc32c_generic virtio_pci virtio_blk ext4 overlay
vm_root "$W/root" "$bb" "$bin" "$HERE/powercut-init.sh"
vm_initramfs "$W/root" "$W/initrd.gz"

# ---- the disk: the store with test/bb:1 and :2, the project ------------------------
S=$W/stage
mkdir -p "$S/project"
for v in 1 2; do
	python3 "$HERE/mkimage.py" --file etc/app-version=$v "$W/bb-$v.tar" test/bb:$v linux/amd64="$bb"
	"$bin" --root "$S/store" --run-root "$W/prerun" load -q --platform linux/amd64 -i "$W/bb-$v.tar" >>"$W/preload.log" 2>&1 ||
		{ cat "$W/preload.log" >&2; die "preloading the store failed"; }
done
# web's update: VERSION, IMAGE (the tag), HEALTH, WEB_CMD, RESTART from the
# environment; the containers stop at once (SIGKILL), not after 10 s
cat >"$S/project/compose.yaml" <<'EOF'
name: pc
x-minidock: {commit-after: 1s, commit-timeout: 30s}
services:
  db:
    image: test/bb:1
    network_mode: none
    command: sleep 86400
    restart: unless-stopped
    stop_signal: SIGKILL
  web:
    image: test/bb:${IMAGE:-1}
    network_mode: none
    command: ${WEB_CMD:-sleep 86400}
    restart: ${RESTART:-unless-stopped}
    stop_signal: SIGKILL
    environment: {VERSION: "${VERSION:-0}"}
    depends_on: [db]
    healthcheck:
      test: ["CMD-SHELL", "${HEALTH:-true}"]
      interval: 0.3s
      retries: 2
EOF
mkfs.ext4 -F -q -E lazy_itable_init=0,lazy_journal_init=0 -d "$S" "$W/disk.img" "${DISK_MB}M" >"$W/mkfs.log" 2>&1 ||
	{ cat "$W/mkfs.log" >&2; die "mkfs.ext4 failed"; }
rm -rf "$S" "$W/prerun" "$W"/bb-*.tar

# ---- boots and cuts ------------------------------------------------------------
CONSOLE=''
boot() {   # N MODE: the VM in the background (QPID), its console in CONSOLE
	CONSOLE=$W/console-$(printf %03d "$1").log
	: >"$CONSOLE"
	local cmd=("$vm_qemu" "${vm_machine[@]}" -kernel "$vm_kernel" -initrd "$W/initrd.gz"
		-append "console=$vm_console panic=-1 loglevel=4 md_cgroup=v2 cgroup_no_v1=all pc_mode=$2 pc_boot=$1"
		-drive "file=$W/disk.img,format=raw,if=virtio,cache=none" -nographic -no-reboot -nic none -monitor none -serial stdio)
	printf '%q ' "${cmd[@]}" >"$W/qemu.cmd"
	"${cmd[@]}" </dev/null >"$CONSOLE" 2>&1 &
	QPID=$!
}
seen() { tr -d '\r' <"$CONSOLE" | grep -qE "$1"; }
wait_for() {   # REGEX SECONDS: 0 once the console has it, 1 after SECONDS, 2 when qemu ended first
	local end=$((SECONDS + $2))
	while ! seen "$1"; do
		kill -0 "$QPID" 2>/dev/null || { seen "$1" && return 0; return 2; }
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
power_off() {   # the power goes: SIGKILL
	kill -KILL "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	QPID=''
}
count() { tr -d '\r' <"$CONSOLE" | grep -cE "$1" || true; }

ncuts=0 commits=0 rollbacks=0 fails=0 interrupted=0 bootrb=0 early=0
fail() {   # WHY: a failure; the run stops after it unless KEEP_GOING
	fails=$((fails + 1))
	echo "powercut: FAILURE: $*"
	tr -d '\r' <"$CONSOLE" | grep -E '^(check FAIL|update FAIL|#   )' | tail -n 40 | sed 's/^/    /' || true
}
# tally: what the console of the boot that just ended says
tally() {
	local c r f b last
	c=$(count '^commit ')
	r=$(count '^rollback ')
	b=$(count 'was not committed: rolled back')
	commits=$((commits + c)) rollbacks=$((rollbacks + r)) bootrb=$((bootrb + b))
	f=$(count '^(check|update) FAIL')
	[ "$f" = 0 ] || fail "$f failed lines on $CONSOLE"
	last=$(tr -d '\r' <"$CONSOLE" | grep -E '^(update [0-9]|commit |rollback |update FAIL)' | tail -n 1) || true
	TALLY="$c commits, $r rollbacks"
	[ "$b" = 0 ] || TALLY="$TALLY; boot rolled back an interrupted update"
	case $last in "update "[0-9]*)
		interrupted=$((interrupted + 1))
		TALLY="$TALLY; cut during ${last#update }" ;;
	esac
}
# check_fs IMAGE NAME: e2fsck -fy on IMAGE (a copy: it is changed), its journal
# replayed first; what it fixes must be what a cut leaves on a sound ext4:
# orphan inodes to clear (files deleted while open) and the superblock's
# free block and inode totals (kept exact in memory only). Anything else, or
# an exit status of 4 or more, is a failure, its log kept as fsck-NAME.log.
check_fs() {
	local rc=0 odd
	e2fsck -y -E journal_only "$1" >"$W/fsck.log" 2>&1 || true
	e2fsck -fy "$1" >>"$W/fsck.log" 2>&1 || rc=$?
	odd=$(awk '/\? yes *$/ { t = $0; sub(/ *[A-Z][A-Za-z \/+]*\? yes *$/, "", t); if (t == "") t = prev
			if (t !~ /^Free (blocks|inodes) count wrong \(/) print t }
		NF { prev = $0 }' "$W/fsck.log")
	if [ "$rc" -ge 4 ] || [ -n "$odd" ]; then
		cp "$W/fsck.log" "$W/fsck-$2.log"
		fail "e2fsck after cut $2 (exit $rc): $W/fsck-$2.log"
		printf '%s\n' "$odd" | head -n 20 | sed 's/^/    /'
	fi
}
fsck_copy() {   # N: the disk as the cut left it kept as cut.img, check_fs on a copy
	cp --sparse=always "$W/disk.img" "$W/cut.img"
	cp --sparse=always "$W/cut.img" "$W/fsck.img"
	check_fs "$W/fsck.img" "$1"
	rm -f "$W/fsck.img"
}

echo "# powercut: $CUTS cuts, seed $SEED, $vm_kpkg, $(du -k "$W/initrd.gz" | cut -f1) KiB initramfs, ${DISK_MB} MiB ext4 disk (cache=none)"
TB=$(date +%s)
n=0
while [ "$n" -le "$CUTS" ]; do
	n=$((n + 1))
	t=$(date +%s)
	if [ "$n" -gt "$CUTS" ]; then
		# the last boot: checks, then a clean shutdown
		boot "$n" check
		wait_for '^# clean shutdown' "$READY_TIMEOUT" || true
		end=$((SECONDS + 30))
		while kill -0 "$QPID" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
		power_off
		if ! seen '^# clean shutdown'; then
			fail "the last boot did not check and shut down (see $CONSOLE)"
			tail -n 20 "$CONSOLE" | sed 's/^/    /'
		fi
		tally
		e2fsck -fn "$W/disk.img" >"$W/fsck.log" 2>&1 || { cp "$W/fsck.log" "$W/fsck-last.log"; fail "e2fsck -fn of the disk after the clean shutdown: $W/fsck-last.log"; }
		echo "boot $n (checks only): $(count '^check ok') checks passed, $(($(date +%s) - t)) s"
		break
	fi
	boot "$n" loop
	if [ "$EARLY" != 0 ] && [ $((n % EARLY)) = 0 ]; then
		delay=$((RANDOM % 1000)) what="after '# minidock boot'"
		early=$((early + 1))
		rc=0
		wait_for '^# minidock boot' "$READY_TIMEOUT" || rc=$?
	else
		delay=$((MIN_MS + (RANDOM * 32768 + RANDOM) % (MAX_MS - MIN_MS + 1))) what="after '# ready'"
		rc=0
		wait_for '^# ready' "$READY_TIMEOUT" || rc=$?
	fi
	if [ "$rc" != 0 ]; then
		power_off
		fail "boot $n never said ${what#after } ($([ "$rc" = 1 ] && echo "timeout ${READY_TIMEOUT}s" || echo "qemu ended"); see $CONSOLE)"
		tail -n 20 "$CONSOLE" | sed 's/^/    /'
	elif seen '^# stopped'; then
		wait_for '^# clean shutdown' 60 || true
		power_off
	else
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		power_off
		ncuts=$((ncuts + 1))
	fi
	tally
	# (after a failure the disk stays as the failing boot left it)
	if [ "$fails" = 0 ] || [ "$KEEP_GOING" = 1 ]; then fsck_copy "$n"; fi
	echo "cut $n/$CUTS: ${delay} ms $what; $TALLY; boot to cut $(($(date +%s) - t)) s"
	[ "$fails" = 0 ] || [ "$KEEP_GOING" = 1 ] || break
done
TE=$(date +%s)
echo "# $ncuts cuts ($early during boot), $interrupted during an update, $bootrb interrupted updates rolled back by boot; $((TE - T0)) s in all, $((TE - TB)) s of boots and cuts ($(awk -v s=$((TE - TB)) -v n="$n" 'BEGIN { printf "%.1f", s / n }') s a boot)"
echo "powercut: $ncuts cuts, $commits commits, $rollbacks rollbacks, $fails failures"
if [ "$fails" = 0 ]; then
	rm -f "$W/disk.img" "$W/cut.img" "$W/fsck.log"
else
	k=$W/disk.img
	[ ! -f "$W/cut.img" ] || k="$k, $W/cut.img (the disk as the cut before boot $n left it)"
	echo "powercut: kept $k and the consoles (seed $SEED)" >&2
fi
[ "$fails" = 0 ]
