#!/usr/bin/env bash
# tests/bench/flash-bench.sh -- issue 18's flash-like benchmark, on demand
# (root; never part of `make check`; BENCH_ONLY=flash in tests/bench/run.sh,
# not in its default set: it boots a VM twice, about 4-5 minutes here).
#
# The amd64 VM of the board tests (tests/boards/vm.sh: Debian's kernel and
# busybox-static through mk/cross.sh, cached in $MD_DEPS_CACHE/vm) under
# qemu-system-x86_64 with plain emulation (TCG: KVM hangs on this machine
# kind, so every time below is many times a native one), 2 vCPUs, 1 GiB,
# cgroup v2 only, with a second virtio disk, the "flash": a raw ext4 image
# (mkfs.ext4 on the host, inode tables and journal initialized there, so the
# kernel's lazy init writes nothing during the measurement) that qemu
# throttles to FLASHBENCH_IOPS I/O requests a second
# (`-drive ...,throttling.iops-total=N`, with qemu's default burst of N/10
# requests), about an SD card's random-write rate.  The guest sees a
# volatile write cache (qemu's cache=unsafe: its flushes cost nothing on the
# host, so the host's own disk and the other work on it stay out of the
# numbers; the throttle is the device's cost).  On the flash, mounted at
# /flash with the default options (ext4, journal, data=ordered, relatime):
#   /flash/md      minidock's store (MINIDOCK_ROOT), loaded on the host with
#                  the same binary (`load --platform linux/amd64`); its run
#                  root in /run (tmpfs), as on a device
#   /flash/md-b    the store of FLASHBENCH_MINIDOCK_B, when set
#   /flash/crun    crun's OCI bundle: `crun spec` made to match minidock's
#                  container (as tests/bench/run.sh does): /bin/true, no
#                  terminal, Docker's default capabilities, new pid, network,
#                  ipc, uts, mount and cgroup namespaces, Docker's seccomp
#                  profile as podman renders it (when podman runs), the root
#                  filesystem the image's layer (tests/boards/mkimage.py);
#                  crun's state in /run/crun (its default)
#   /flash/podman  podman's graphroot (overlay), its runroot and tmpdir in
#                  /run; the image loaded in the VM from a docker-archive
#                  (skopeo copy on the host), untimed
# The test image is tests/boards/mkimage.py's busybox image, amd64 only.
#
# crun, podman, conmon and jq are this machine's (amd64, like the VM),
# copied into the initramfs with the shared libraries `ldd` lists, and
# podman's configuration files (/etc/containers, /usr/share/containers).
# Podman runs with crun (the VM is cgroup v2 only), cgroupfs, the file
# events backend, `--network none` (no CNI plugin or netavark needed) and
# `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024` (its defaults exceed
# the VM's hard limits).  Missing podman (or one that fails in the VM)
# leaves it out of the tables, with the reason in the output.
#
# In the VM (tests/bench/flash-init.sh): one trial start of each tool, then
#   1 times   `minidock run --rm --network none test/bb /bin/true`, `crun run
#             --bundle /flash/crun ID` and `podman run --rm --network none
#             IMAGE /bin/true` alternately, timed by tests/bench/runtimes.c
#             (built static), fork to exit: one warm-up round, then
#             FLASHBENCH_N rounds; /flash synced (syncfs, untimed) before each
#             start, so that a start waits for its own writes and no other's,
#             and FLASHBENCH_GAP_MS idle between two starts
#   2 bytes   each tool FLASHBENCH_BYTES_N times in a row (after a sync), then
#             a sync; the flash's sectors written, write requests and flushes
#             (/proc/diskstats, vda) over the batch including that sync (the
#             writes still in the page cache when the last start returns are
#             counted; the table says how much of it the sync wrote), scaled
#             to 100 starts
# Then (FLASHBENCH_CONTROL=1) the same VM boots again on a fresh copy of the
# disk image without the throttle and repeats both: the difference of the
# medians is what the flash's speed costs each tool, the rest is the start
# itself under emulation.
#
# Output: a markdown section (medians, min – max, ratios minidock/peer, the
# byte table, where the time went, the command that reproduces it) on stdout
# and appended to $BENCH_OUT when set.  The work dir is build/flash-bench
# (console.log, qemu.cmd, initrd.gz, flash.img), kept until the next run.
#
# Environment:
#   MINIDOCK                 the minidock measured (default ./minidock, made
#                            when missing); static x86_64
#   FLASHBENCH_MINIDOCK_B    a second minidock (an earlier build, say;
#                            default BENCH_MINIDOCK_B): a row of its own, on a
#                            store of its own on the same disk
#   FLASHBENCH_N=25          timed rounds (after one warm-up round)
#   FLASHBENCH_BYTES_N=20    starts per tool for the byte count
#   FLASHBENCH_GAP_MS=100    idle time between two starts (untimed)
#   FLASHBENCH_IOPS=100      qemu's throttling.iops-total of the flash
#   FLASHBENCH_CACHE=unsafe  qemu's cache= of the flash (writeback: the
#                            guest's flushes become fdatasync on the host)
#   FLASHBENCH_PODMAN=1      0: leave podman out
#   FLASHBENCH_CONTROL=1     0: no second boot with the disk not throttled
#   FLASHBENCH_TIMEOUT=2400  seconds for the VM
#   BENCH_OUT=FILE           also append the markdown section to FILE
#
# Needs (Debian packages): qemu-system-x86, e2fsprogs, python3, jq, crun,
# musl-tools (or a gcc that links static), skopeo and podman with conmon
# (optional); the kernel and busybox come through mk/cross.sh.
set -eu -o pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${MD_DEPS_CACHE:-/var/cache/minidock-deps}
VMC=$CACHE/vm
CROSS="bash $REPO/mk/cross.sh"
N=${FLASHBENCH_N:-25}
BN=${FLASHBENCH_BYTES_N:-20}
GAP=${FLASHBENCH_GAP_MS:-100}
IOPS=${FLASHBENCH_IOPS:-100}
CMODE=${FLASHBENCH_CACHE:-unsafe}
USE_PODMAN=${FLASHBENCH_PODMAN:-1}
CONTROL=${FLASHBENCH_CONTROL:-1}
TIMEOUT=${FLASHBENCH_TIMEOUT:-2400}
MDB=${FLASHBENCH_MINIDOCK_B:-${BENCH_MINIDOCK_B:-}}
OUTFILE=${BENCH_OUT:-}
DISK_MB=512

die() { echo "flash-bench: $*" >&2; exit 1; }
log() { echo "flash-bench: $*" >&2; }
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (the store and the bundle keep file ownership)"
for v in N BN IOPS TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $GAP =~ ^[0-9]+$ ]] || die "FLASHBENCH_GAP_MS must be a number of milliseconds"
case $CONTROL in 0 | 1) ;; *) die "FLASHBENCH_CONTROL must be 0 or 1" ;; esac
case $CMODE in unsafe | writeback | none | writethrough | directsync) ;; *) die "FLASHBENCH_CACHE: a qemu cache mode" ;; esac
for c in qemu-system-x86_64:qemu-system-x86 mkfs.ext4:e2fsprogs python3:python3 jq:jq crun:crun ldd:libc-bin; do
	command -v "${c%%:*}" >/dev/null || die "${c%%:*} is missing (apt-get install ${c#*:})"
done
T0=$(date +%s)

MD=${MINIDOCK:-$REPO/minidock}
if [ -z "${MINIDOCK:-}" ] && [ ! -x "$MD" ]; then
	(cd "$REPO" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s) || die "cannot build ./minidock"
fi
MD=$(realpath "$MD")
[ -x "$MD" ] || die "no minidock at $MD"
[ -z "$MDB" ] || { MDB=$(realpath "$MDB"); [ -x "$MDB" ] || die "no minidock at $MDB (FLASHBENCH_MINIDOCK_B)"; }
for b in "$MD" $MDB; do
	file -b "$b" | grep -q 'x86-64.*statically linked' || die "$b is not a static x86-64 binary"
done

W=$REPO/build/flash-bench
rm -rf "$W"
mkdir -p "$W/root" "$W/flash" "$VMC"
R=$W/root
F=$W/flash
SECTION=$W/section.md
: >"$SECTION"

# ---- kernel, busybox, modules ---------------------------------------------------
log "kernel and busybox from Debian (mk/cross.sh, cached in $VMC)"
kpkg=$($CROSS depends amd64 linux-image-amd64 | grep -m 1 '^linux-image-') || die "no kernel behind linux-image-amd64"
kdir=$($CROSS fetch amd64 "$VMC/$kpkg" "$kpkg")
kver=${kpkg#linux-image-}
kernel=$kdir/boot/vmlinuz-$kver
[ -f "$kernel" ] || die "no kernel image in $kdir/boot"
bbdir=$($CROSS fetch amd64 "$VMC/busybox-amd64" busybox-static)
mods=$kdir/lib/modules/$kver

# the disk, ext4 and overlay as modules, with what they depend on (each
# module's .modinfo depends=), in load order
declare -A done_mod=()
: >"$R/modules.list"
mod_file() {   # NAME: its file under $mods, or nothing
	find "$mods/kernel" \( -name "$1.ko*" -o -name "${1//_/-}.ko*" \) | head -n 1
}
mod_cat() { case $1 in *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *) cat "$1" ;; esac; }
add_mod() {   # NAME
	local n=${1//-/_} f d rel
	[ -n "${done_mod[$n]:-}" ] && return 0
	done_mod[$n]=1
	f=$(mod_file "$n")
	if [ -z "$f" ]; then
		grep -q "/${n//_/[_-]}\.ko" "$mods/modules.builtin" || log "note: module $n is neither a file nor built in ($kver)"
		return 0
	fi
	for d in $(mod_cat "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do add_mod "$d"; done
	rel=${f#"$mods/"}
	rel=${rel%.xz}
	rel=${rel%.zst}
	mkdir -p "$R/lib/modules/$(dirname "$rel")"
	mod_cat "$f" >"$R/lib/modules/$rel"
	echo "$rel" >>"$R/modules.list"
}
for m in crc32c_generic virtio_pci virtio_blk ext4 overlay; do add_mod $m; done

# ---- the image: busybox-static, amd64 only -----------------------------------
log "the test image and the bundle"
bb=$bbdir/bin/busybox
python3 "$REPO/tests/boards/mkimage.py" "$W/bb.tar" test/bb:latest linux/amd64="$bb"
mkdir -p "$W/prerun"
"$MD" --root "$F/md" --run-root "$W/prerun/a" load -q --platform linux/amd64 -i "$W/bb.tar" >"$W/load.log" 2>&1 ||
	{ cat "$W/load.log" >&2; die "minidock load failed"; }
if [ -n "$MDB" ]; then
	"$MDB" --root "$F/md-b" --run-root "$W/prerun/b" load -q --platform linux/amd64 -i "$W/bb.tar" >>"$W/load.log" 2>&1 ||
		{ cat "$W/load.log" >&2; die "minidock load (FLASHBENCH_MINIDOCK_B) failed"; }
fi
rm -rf "$W/prerun"
# crun's bundle: the same layer, config.json as tests/bench/run.sh makes it
mkdir -p "$F/crun/rootfs"
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkimage; sys.stdout.buffer.write(mkimage.layer(sys.argv[2])[0])' \
	"$REPO/tests/boards" "$bb" | tar -x -C "$F/crun/rootfs"
(cd "$W" && crun spec && mv config.json spec.json)
jq --arg root rootfs --arg cg /flashbench/crun --argjson sc null -f "$HERE/oci-config.jq" "$W/spec.json" \
	>"$F/crun/config.json" || die "jq failed on crun's spec"

# ---- the initramfs ----------------------------------------------------------
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/etc" "$R/images" "$R/root" "$R/var/tmp" "$R/var/lib"
chmod 1777 "$R/var/tmp"
cp "$bb" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
cp "$MD" "$R/bin/minidock"
[ -z "$MDB" ] || cp "$MDB" "$R/bin/minidock-b"
cp "$HERE/flash-init.sh" "$R/init"
chmod 755 "$R/init"
if command -v musl-gcc >/dev/null; then cc=musl-gcc; else cc=cc; fi
$cc -static -O2 -Wall -o "$R/bin/runtimes" "$HERE/runtimes.c" || die "cannot build tests/bench/runtimes.c static"
# a dynamic binary of this machine with the libraries ldd lists (the VM is amd64)
copy_bin() {   # PATH
	local l
	mkdir -p "$R$(dirname "$1")"
	cp -L "$1" "$R$1"
	for l in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[ -e "$R$l" ] && continue
		mkdir -p "$R$(dirname "$l")"
		cp -L "$l" "$R$l"
	done
}
copy_bin "$(command -v crun)"
[ "$(command -v crun)" = /usr/bin/crun ] || ln -s "$(command -v crun)" "$R/usr/bin/crun"
PM_NOTE=""
if [ "$USE_PODMAN" = 1 ]; then
	for c in podman conmon skopeo; do
		command -v $c >/dev/null || PM_NOTE="${PM_NOTE:-left out:} no $c here (apt-get install $c)"
	done
	if [ -z "$PM_NOTE" ]; then
		skopeo copy -q oci-archive:"$W/bb.tar" docker-archive:"$W/bb-docker.tar":test/bb:latest >"$W/skopeo.log" 2>&1 ||
			PM_NOTE="left out: skopeo cannot convert the test image ($(tail -n 1 "$W/skopeo.log"))"
	fi
	if [ -z "$PM_NOTE" ]; then
		cp "$W/bb-docker.tar" "$R/images/bb-docker.tar"
		for b in "$(command -v podman)" "$(command -v conmon)" "$(command -v jq)"; do copy_bin "$b"; done
		mkdir -p "$R/etc/containers" "$R/usr/share/containers"
		cp -a /usr/share/containers/. "$R/usr/share/containers/"
		printf '{ "default": [ { "type": "insecureAcceptAnything" } ] }\n' >"$R/etc/containers/policy.json"
		[ -f /etc/containers/registries.conf ] && cp /etc/containers/registries.conf "$R/etc/containers/"
	fi
else
	PM_NOTE="left out (FLASHBENCH_PODMAN=0)"
fi
[ -z "$PM_NOTE" ] || log "podman: $PM_NOTE"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
: >"$R/etc/resolv.conf"
echo "127.0.0.1 localhost" >"$R/etc/hosts"
(cd "$R" && find . -print0 | cpio -0 -o -H newc -R 0:0 --quiet) | gzip -1 >"$W/initrd.gz"

# ---- the flash ----------------------------------------------------------------
mkdir -p "$F/podman"
mkfs.ext4 -F -q -E lazy_itable_init=0,lazy_journal_init=0 -d "$F" "$W/flash.img" "${DISK_MB}M" >"$W/mkfs.log" 2>&1 ||
	{ cat "$W/mkfs.log" >&2; die "mkfs.ext4 failed"; }

# ---- boot -------------------------------------------------------------------
# boot KEY IOPS: one VM on a fresh copy of the flash image (IOPS 0: not
# throttled); its console in $W/console-KEY.txt, its wall time in SECS[KEY]
declare -A SECS=()
boot() {
	local key=$1 iops=$2 drive rc=0 t c=$W/console-$1.txt
	cp --sparse=always "$W/flash.img" "$W/flash-$key.img"
	drive="file=$W/flash-$key.img,if=virtio,format=raw,cache=$CMODE"
	[ "$iops" = 0 ] || drive="$drive,throttling.iops-total=$iops"
	local cmd=(qemu-system-x86_64 -M q35 -cpu max -m 1024 -smp 2 -kernel "$kernel" -initrd "$W/initrd.gz"
		-append "console=ttyS0 panic=-1 loglevel=4 cgroup_no_v1=all fb_n=$N fb_bytes_n=$BN fb_gap=$GAP"
		-drive "$drive" -nographic -no-reboot -nic none -monitor none -serial stdio)
	printf '%q ' "${cmd[@]}" >"$W/qemu-$key.cmd"
	log "$key: booting the VM ($(du -k "$W/initrd.gz" | cut -f1) KiB initramfs; console: $c; timeout ${TIMEOUT}s)"
	t=$(date +%s)
	timeout -k 5 "$TIMEOUT" "${cmd[@]}" </dev/null 2>&1 | tr -d '\r' >"$c" || rc=$?
	SECS[$key]=$(($(date +%s) - t))
	rm -f "$W/flash-$key.img"
	grep '^# ' "$c" | grep -v '^# flash-done' | sed "s/^/flash-bench: $key: /" >&2 || true
	if grep -q '^FAIL ' "$c"; then
		grep -A 25 '^FAIL ' "$c" >&2
		die "$key: the VM failed (see $c)"
	fi
	grep -q '^# flash-done' "$c" || { tail -n 30 "$c" >&2; die "$key: no '# flash-done' after ${SECS[$key]}s (qemu exit $rc)"; }
}
T1=$(date +%s)
boot flash "$IOPS"
[ "$CONTROL" = 0 ] || boot control 0
C=$W/console-flash.txt

# ---- the tables -------------------------------------------------------------
# (stats, ms, spread, ratio: tests/bench/lib.sh)
kib() { awk -v b="$1" 'BEGIN { printf(b < 10485760 ? "%.0f KiB" : "%.1f MiB", b < 10485760 ? b / 1024 : b / 1048576) }'; }
emit() { printf '%s\n' "$@" | tee -a "$SECTION"; }
phase_at() { awk -v p="$2" '$1 == "P" && $2 == p { print $3; exit }' "$W/console-$1.txt"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f s", b - a }'; }
# KEY: the times of each tool's timed rounds in TIMES[KEY|TOOL]
declare -A TIMES=() LABEL=()
read_times() {
	local t r us
	while IFS=$'\t' read -r _ t r us; do
		[ "$r" -gt 0 ] && TIMES[$1|$t]="${TIMES[$1|$t]:-} $us"
	done < <(grep -P '^T\t' "$W/console-$1.txt")
	return 0
}
read_times flash
[ "$CONTROL" = 0 ] || read_times control

tools=$(awk '/^# tools: / { sub(/^# tools: /, ""); print; exit }' "$C")
# shellcheck disable=SC2016
LABEL[minidock]='`minidock run --rm --network none`'
[ -z "$MDB" ] || LABEL[minidock_b]="\`minidock run --rm --network none\`, B ($MDB, $(stat -c %s "$MDB") bytes)"
# shellcheck disable=SC2016
LABEL[crun]='`crun run` (OCI bundle)'
# shellcheck disable=SC2016
LABEL[podman]='`podman run --rm --network none`'
case " $tools " in *" podman "*) ;; *)
	[ -n "$PM_NOTE" ] || PM_NOTE="left out: it does not run in the VM ($(grep -A 3 '^# podman ' "$C" | sed -n 's/^#   //p' | tail -n 1))" ;;
esac

qver=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
cver=$(crun --version | sed -n '1s/.* version //p')
emit "### Start a container with the store on a flash-like disk (VM)" ""
ctext=""
[ "$CONTROL" = 0 ] || ctext=" The last columns come from a second boot of the same VM on a fresh copy of the disk, not throttled, the same runs: the difference is what the flash's speed costs each tool."
emit "\`/bin/true\` (a busybox applet) in a VM whose container storage is on a disk throttled to $IOPS I/O requests a second, an SD card's random-write rate: qemu-system-x86_64 $qver with plain emulation (TCG; KVM does not work on this machine, so every time is many times a native one: compare the tools, not the milliseconds), Debian's $kpkg, 2 vCPUs, 1 GiB, cgroup v2 only. The disk: virtio, raw, ext4 ($DISK_MB MiB, journal, default mount options), \`throttling.iops-total=$IOPS\` (qemu's default burst of $((IOPS / 10)) requests), \`cache=$CMODE\`. minidock's store, crun's OCI bundle (the image's layer as a directory, config.json made to match minidock's container) and podman's graphroot are on it; run roots and crun's state in /run (tmpfs), as on a device. The whole command from fork to exit, timed by tests/bench/runtimes.c in the VM: one warm-up round, then $N rounds, the tools alternately, $GAP ms apart, the disk synced (untimed) before each start, so each start waits for its own writes only.$ctext" ""
if [ "$CONTROL" = 0 ]; then
	emit "| command | median | min – max | spread | minidock/peer |" "|---|--:|--:|--:|--:|"
else
	emit "| command | median | min – max | spread | minidock/peer | not throttled | minidock/peer | the throttle's cost |" "|---|--:|--:|--:|--:|--:|--:|--:|"
fi
read -r m0 _ _ < <(stats "${TIMES[flash|minidock]}")
[ "$CONTROL" = 0 ] || read -r c0 _ _ < <(stats "${TIMES[control|minidock]}")
for t in $tools; do
	[ -n "${TIMES[flash|$t]:-}" ] || die "no times of $t in $C"
	read -r m lo hi < <(stats "${TIMES[flash|$t]}")
	rt="—" crt="—"
	[ "$t" = minidock ] || rt=$(ratio "$m0" "$m")
	row="| ${LABEL[$t]} | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $rt |"
	if [ "$CONTROL" != 0 ]; then
		[ -n "${TIMES[control|$t]:-}" ] || die "no times of $t in the control run"
		read -r cm _ _ < <(stats "${TIMES[control|$t]}")
		[ "$t" = minidock ] || crt=$(ratio "$c0" "$cm")
		row="$row $(ms "$cm") | $crt | $(ms $((m - cm))) |"
	fi
	emit "$row"
done
emit ""
pmver=$(sed -n 's/^# \(podman version .*\)/\1/p' "$C" | head -n 1)
vtext="minidock $("$MD" version | sed -n '1s/^minidock version //p;1q') ($(stat -c %s "$MD") bytes); crun $cver"
[ -z "$pmver" ] || vtext="$vtext; $pmver"
[ -z "$PM_NOTE" ] || vtext="$vtext; podman $PM_NOTE"
emit "$vtext. crun's seccomp filter: $(sed -n 's/^# seccomp: //p' "$C" | head -n 1)." ""
emit "qemu's throttle limits a rate, not each request's latency: writes that a tool spreads out at less than $IOPS requests a second (a slow start under emulation does) pass at full speed, and writes that it does not wait for (page-cache writeback, done by the untimed sync before the next start) are not in its time. Both are in the byte table below; a burst of synchronous writes (fsync) pays in full." ""

emit "Written to the disk (throttled boot) per 100 starts: each tool $BN times in a row after a sync, then a sync; the disk's counters from /proc/diskstats (sectors written, write requests, flushes) over the batch and that sync, scaled to 100 starts. The sync itself costs one write request and one flush a batch ($((100 / BN)) per 100 starts; crun's row is that floor)." ""
emit "| command | written per 100 starts | of it by the final sync | write requests | flushes |" "|---|--:|--:|--:|--:|"
while read -r _ t n s0 w0 f0 s1 _ _ s2 w2 f2; do
	b=$(((s2 - s0) * 512 * 100 / n))
	bs=$(((s2 - s1) * 512 * 100 / n))
	emit "| ${LABEL[$t]} | $(kib "$b") | $(kib "$bs") | $(((w2 - w0) * 100 / n)) | $(((f2 - f0) * 100 / n)) |"
done < <(grep '^B ' "$C")
emit ""

T2=$(date +%s)
split() {   # KEY: where that VM's time went
	local pb pt pby pe
	pb=$(phase_at "$1" setup) pt=$(phase_at "$1" times) pby=$(phase_at "$1" bytes) pe=$(phase_at "$1" end)
	echo "${SECS[$1]} s (boot to the benchmark $(secs 0 "$pb"), setup: trial starts and podman's image load $(secs "$pb" "$pt"), the timed starts $(secs "$pt" "$pby"), the byte count $(secs "$pby" "$pe"), the rest qemu's start and power-off)"
}
ttext="Where the $((T2 - T0)) s went: the host's preparation $((T1 - T0)) s (kernel and busybox from the cache, the image, the store, the initramfs, mkfs.ext4); the throttled VM $(split flash)"
[ "$CONTROL" = 0 ] || ttext="$ttext; the VM not throttled $(split control)"
emit "$ttext." ""
rcmd=""
for v in MINIDOCK FLASHBENCH_MINIDOCK_B FLASHBENCH_N FLASHBENCH_BYTES_N FLASHBENCH_GAP_MS FLASHBENCH_IOPS FLASHBENCH_CACHE FLASHBENCH_PODMAN FLASHBENCH_CONTROL; do
	[ -z "${!v:-}" ] || rcmd="$rcmd$v=$(printf '%q' "${!v}") "
done
# run.sh hands over a copy of ./minidock: not worth naming
cmp -s "$MD" "$REPO/minidock" && rcmd=${rcmd/"MINIDOCK=$(printf '%q' "${MINIDOCK:-}") "/}
emit "Reproduce (as root, in the source tree): \`${rcmd}bash tests/bench/flash-bench.sh\`" ""
[ -z "$OUTFILE" ] || cat "$SECTION" >>"$OUTFILE"
