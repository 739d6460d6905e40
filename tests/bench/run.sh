#!/usr/bin/env bash
# tests/bench/run.sh -- minidock side by side with its peers, on demand
# (`make bench` builds ./minidock and runs this; never part of `make check`).
#
#   1 unpack  `minidock load -i IMAGE.tar` into a fresh --root (the whole load:
#             decompress, sha256, unpack, tar-split, syncfs of the store)
#             against `umoci unpack` of the same OCI layout and GNU `tar -xzf`
#             of the same layer blobs in order (one tar per layer), for a small
#             (busybox-static, 1 layer) and a large (Debian minbase, 3 layers)
#             image.  tar does not interpret whiteouts and syncs nothing, so a
#             fourth column runs tar followed by syncfs(2) of the same
#             filesystem, the durability minidock pays for.
#   2 save    `minidock save -o FILE ID` of the large image against
#             `skopeo copy oci:DIR:TAG docker-archive:FILE` (and skopeo +
#             syncfs: minidock fsyncs its output)
#   3 rss     peak RSS (GNU time %M) of minidock load, umoci unpack and tar,
#             small and large image
#   4 profile only when minidock's unpack is slower than tar (or
#             BENCH_PROFILE=1): tests/bench/profile.sh, where the time goes
#   5 run     start a container: `minidock run --rm --network none IMAGE
#             /bin/true`, the whole command from fork to exit, against `crun
#             run` and `runc run` of an OCI bundle of the same root filesystem
#             and `podman run --rm --network none` (runc, overlay storage);
#             timed by tests/bench/runtimes.c, BENCH_RUN_N rounds (see
#             "container runtime" below).  minidock's bridge networking is
#             measured by tests/bench/net-bench.sh, in namespaces of its own
#   6 monitor idle memory: VmRSS (RssAnon + RssFile) of minidock's monitor
#             process of `minidock run -d IMAGE sleep 600` (median of 5)
#             against podman's conmon (median of 3)
#   7 size    stripped binary size per feature set, built with
#             `make OUT=... FEATURES=...` in a copy of the source tree taken at
#             the start of the run (copies land in build/bench-sizes/;
#             ./minidock and build/minidock.flags are not touched)
#   8 build   `minidock build` against `podman build` of the same 5-step
#             Dockerfile (FROM, COPY, RUN, ENV, CMD) on the same small
#             context, cold (--no-cache) and with every step cached, and
#             minidock's peak RSS (tests/bench/peakrss.c: the build and all
#             its descendants); tests/bench/build-bench.sh, like net, pull,
#             api and sign below, run after the rest
#   9 compose `up -d` then `down` of the same 5-service project (bridge
#             network, a published port, no healthchecks) by `minidock
#             compose`, by Debian's docker-compose 1.29 driving `minidock
#             serve` and by podman-compose driving podman, and the peak RSS
#             of `minidock compose up -d` (GNU time's %M: the command, not
#             the monitors it leaves); tests/bench/compose-bench.sh, in a
#             network namespace of its own, after build
#
# Method: every timed benchmark runs its tools alternately (A B C A B C ...)
# in one invocation, on the same input: one untimed warm-up round, then
# BENCH_N timed rounds; it reports the median of each tool, the spread
# ((max - min) / 2 as a share of the median) and the ratio of the medians
# minidock/peer.  No assertion is made on any time; the page cache is not
# dropped.  Before each timed command the filesystem is synced (untimed), so
# no run pays for another's writeback.
#
# Output directories: every run writes into a fresh directory.  By default
# (BENCH_CLEAN=defer) they are all removed at the end, after the
# measurements, because on ext4 without a journal (this machine's root
# filesystem) the inode allocator skips, one by one, every free inode whose
# deletion time is recent: 60 s, or 360 s while its inode table block is
# dirty, which the new files themselves make it (fs/ext4/ialloc.c,
# recently_deleted()).  Creating 6,000 files within minutes after removing
# 6,000 then costs seconds of system time and noise of +-40%: the removal
# would be measured, not the tool.  For the same reason the script waits
# (BENCH_SETTLE, 370 s there) when a previous run of it removed its files
# less than that before, and mkinputs.sh hands its work trees to this run to
# remove at the end.  Removals by anything else cannot be seen: keep the
# machine otherwise quiet.  BENCH_CLEAN=each removes each run's output right
# after it (untimed) instead, and shows the effect.
#
# Inputs are built once by tests/bench/mkinputs.sh with umoci (debootstrap
# from the Debian mirror in apt's sources, or this machine's own files when
# that fails) and cached under $BENCH_DIR/inputs-<sha256 of mkinputs.sh>.
#
# Environment:
#   BENCH_N=7            timed rounds per benchmark (after 1 warm-up round)
#   BENCH_RSS_N=3        runs per tool for peak RSS
#   BENCH_RUN_N=25       timed rounds of the container start (after 1 warm-up)
#   BENCH_RUN_GAP_MS=100 idle time between two container starts (untimed)
#   BENCH_ONLY=unpack,save,rss,profile,run,monitor,size,net,pull,api,sign,build,compose   which parts to run
#                        (in that order: run and monitor remove files, so
#                        they come after the unpack and save timings)
#                        (flash: tests/bench/flash-bench.sh, a VM, about 5 minutes: not in the default set)
#   BENCH_PROFILE=auto   auto: profile when minidock unpacks slower than tar;
#                        1: always; 0: never
#   BENCH_DIR=/var/tmp/minidock-bench    inputs cache and scratch space
#   BENCH_CLEAN=defer    or each (see above)
#   BENCH_SETTLE=auto    seconds to keep between this script's last removal
#                        and a measurement (auto: 370 on ext4 without a
#                        journal, else 0)
#   BENCH_FEATURE_SETS   ;-separated FEATURES values for the size table
#   BENCH_OUT=FILE       also write the final markdown section to FILE
#   BENCH_MINIDOCK_B=PATH a second minidock binary (an earlier build, say):
#                        after the start benchmark, a second one times only
#                        ./minidock and it, alternately (each start follows
#                        the other's, so neither gains from the cgroup move
#                        just before it), on stores of their own; a row of
#                        its own, ratio ./minidock's median over its
#
# Needs root (umoci unpack keeps ownership; the inputs need root to build).
# Debian packages: umoci skopeo jq time busybox-static; debootstrap
# (optional); linux-perf and strace (for the profile); gcc, crun, runc,
# podman (with conmon), procps and iproute2 (for run and monitor; a missing peer is
# left out of the table).
set -eu -o pipefail
export LC_ALL=C

TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/bench
N=${BENCH_N:-7}
RSS_N=${BENCH_RSS_N:-3}
ONLY=${BENCH_ONLY:-unpack,save,rss,profile,run,monitor,size,net,pull,api,sign,build,compose}
RUN_N=${BENCH_RUN_N:-25}
RUN_GAP=${BENCH_RUN_GAP_MS:-100}
PROFILE=${BENCH_PROFILE:-auto}
BASE=${BENCH_DIR:-/var/tmp/minidock-bench}
CLEAN=${BENCH_CLEAN:-defer}
SETTLE=${BENCH_SETTLE:-auto}
FEATURE_SETS=${BENCH_FEATURE_SETS:-"-compose;-build;-ipv6;-sign;-zstd;-seccomp;-api;-pull -tls;-pull -tls -api -net -userns"}
OUTFILE=${BENCH_OUT:-}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
var() { local n=$1; echo "${!n:-}"; }   # the value of the variable named $1
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer"
[[ $RSS_N =~ ^[1-9][0-9]*$ ]] || die "BENCH_RSS_N must be a positive integer"
[[ $RUN_N =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUN_N must be a positive integer"
[[ $RUN_GAP =~ ^[0-9]+$ ]] || die "BENCH_RUN_GAP_MS must be a number of milliseconds"
case $CLEAN in defer|each) ;; *) die "BENCH_CLEAN must be defer or each" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (umoci unpack and the inputs keep file ownership)"

# ---- tools ---------------------------------------------------------------------
# Install what is missing with apt-get (Debian packages only).
need_pkgs() {   # CMD:PKG...
    local t missing=""
    for t in "$@"; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
    done
    [ -n "$missing" ] || return 0
    log "installing$missing"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends $missing; } >"$BASE/apt.log" 2>&1 ||
        { tail -n 20 "$BASE/apt.log" >&2; return 1; }
}
mkdir -p "$BASE"
need_pkgs umoci:umoci skopeo:skopeo jq:jq /usr/bin/time:time busybox:busybox-static ||
    die "cannot install the tools"
need_pkgs debootstrap:debootstrap || log "no debootstrap: the large image is made of this machine's files"
if want profile; then
    need_pkgs perf:linux-perf strace:strace || log "no perf/strace: no profile"
fi
if want run || want monitor; then
    need_pkgs cc:gcc pgrep:procps || die "cannot install gcc and procps"
    need_pkgs crun:crun runc:runc podman:podman conmon:conmon ||
        log "could not install crun, runc or podman: the missing ones are left out"
fi

[ -x "$TOP/minidock" ] || (cd "$TOP" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s) ||
    die "cannot build ./minidock"

# ---- scratch space and inputs -------------------------------------------------
W=$BASE/run-$$
rm -rf "$W"
mkdir -p "$W/bin"
# the container runtime parts (run, monitor) leave containers, cgroups, a
# bridge and mounts behind if interrupted: rt_cleanup removes them (see
# "container runtime" below)
RT=""
RT_BRIDGE=""
RT_PM_RUN=""   # podman's --runroot when $W is too long a path for it
RT_ID=mdbench-$$   # name of this run's cgroup parents and OCI container ids
rt_cleanup() {
    [ -n "$RT" ] && [ -d "$RT" ] || return 0
    local id t
    if [ -d "$RT/md-root" ]; then
        for id in $("$MD" --root "$RT/md-root" --run-root "$RT/md-run" ps -aq --no-trunc 2>/dev/null); do
            "$MD" --root "$RT/md-root" --run-root "$RT/md-run" rm -f "$id" >>"$W/cmd.log" 2>&1 ||
                log "cannot remove minidock container $id"
        done
    fi
    if [ -n "${PODMAN[*]:-}" ]; then
        "${PODMAN[@]}" rm -a -f -t 0 >>"$W/cmd.log" 2>&1 || log "podman rm -a failed"
    fi
    for t in crun runc; do
        [ -d "$RT/$t-state/$RT_ID-$t" ] && $t --root "$RT/$t-state" delete -f "$RT_ID-$t" >>"$W/cmd.log" 2>&1
    done
    # the bridge of minidock's default network in this run, made by it
    [ -n "$RT_BRIDGE" ] && ip link show "$RT_BRIDGE" >/dev/null 2>&1 && ip link del "$RT_BRIDGE"
    # the cgroups of this run, in every hierarchy ($RT_ID and $RT_ID-*)
    cg_remove "$RT_ID"
    [ -z "$RT_PM_RUN" ] || rm -rf "$RT_PM_RUN"
    # nothing of this run may stay mounted under it (rm -rf would go through)
    umount_under "$RT"
    RT=""
    return 0
}
cleanup() {
    rt_cleanup
    if [ -d "$W" ]; then
        rm -rf "$W"
        mark_removal "$BASE"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$TOP/minidock" "$W/bin/minidock"   # later builds cannot change what is timed
MD=$W/bin/minidock
# and the source it came from, for the size builds and the profile
SRC=$W/src
mkdir -p "$SRC"
tar -C "$TOP" --exclude=./build --exclude=./.git --exclude=./tests -cf - . | tar -C "$SRC" -xf -

IHASH=$(sha256sum "$HERE/mkinputs.sh" | cut -c1-16)
IN=$BASE/inputs-$IHASH
for d in "$BASE"/inputs-* "$BASE"/inputs-*.new; do   # older mkinputs.sh versions
    [ -d "$d" ] && [ "$d" != "$IN" ] && [ "$d" != "$IN.new" ] && { log "removing stale $d"; mv "$d" "$W/trash-${d##*/}"; }
done
if [ ! -f "$IN/.done" ]; then
    log "building the input images (once; cached in $IN)"
    # its work trees go to $W/trash, removed with $W after the measurements
    MKINPUTS_TRASH=$W/trash bash "$HERE/mkinputs.sh" "$IN" || die "mkinputs.sh failed"
fi
# shellcheck disable=SC1091
. "$IN/info.env"

# ext4 without a journal checks every candidate inode for a recent deletion:
# FSTYPE, NOJOURNAL, SETTLE (auto: 370 s there, else 0), and settle, the wait
# before each benchmark (tests/bench/lib.sh)
settle_init BENCH_SETTLE "$SETTLE" "$W"
settle() { settle_wait BENCH_SETTLE "$BASE"; }

if [ $CLEAN = defer ]; then
    # a large round writes about 4 x the unpacked image; keep 2 GiB spare
    need_kb=$(( (LARGE_BYTES * 4 * (N + 1) + SMALL_BYTES * 4 * (N + 1) + LARGE_BYTES * 3 * RSS_N) / 1024 * 13 / 10 + 2097152 ))
    avail_kb=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
    if [ "$avail_kb" -lt "$need_kb" ]; then
        log "only $((avail_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed: BENCH_CLEAN=each"
        CLEAN=each
    fi
fi

# ---- timing and statistics ----------------------------------------------------
declare -A TIMES=()   # "BENCH|TOOL" -> microseconds of the timed rounds
# timed KEY ROUND CMD...: sync (untimed), run CMD, keep its time unless warm-up
timed() {
    local key=$1 round=$2; shift 2
    sync -f "$W"
    local t0 t1
    t0=${EPOCHREALTIME/./}   # microseconds (LC_ALL=C: the separator is a dot)
    if ! "$@" >>"$W/cmd.log" 2>&1; then
        tail -n 20 "$W/cmd.log" >&2
        die "failed: $*"
    fi
    t1=${EPOCHREALTIME/./}
    [ "$round" -gt 0 ] && TIMES[$key]="${TIMES[$key]:-} $((t1 - t0))"
    printf '%s\t%s\t%s\n' "$key" "$round" "$((t1 - t0))" >>"$W/raw.tsv"
    return 0
}
# (stats, ms, spread, ratio: tests/bench/lib.sh)
mbps() { awk -v b="$1" -v u="$2" 'BEGIN { printf "%.0f MB/s", u ? b / u : 0 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

SECTION=$W/section.md
: >"$SECTION"
: >"$W/raw.tsv"
emit() { printf '%s\n' "$@" | tee -a "$SECTION"; }
RESULTS=$W/results.env   # machine-readable medians, for the summary

# ---- 1 unpack -------------------------------------------------------------------
u_minidock() { "$MD" --root "$1/root" --run-root "$1/run" load -q -i "$IN/$IMG-oci.tar"; }
u_umoci() { umoci --log error unpack --image "$IN/$IMG/oci:$IMG" "$1/bundle"; }
u_tar() {
    local l
    mkdir "$1/rootfs" || return 1
    for l in $LAYERS; do tar -xzf "$IN/$l" -C "$1/rootfs" || return 1; done
}
u_tar_sync() { u_tar "$1" && sync -f "$1"; }
UNPACK_TOOLS="minidock umoci tar tar_sync"
declare -A LABEL=([minidock]='`minidock load -i`' [umoci]='`umoci unpack`'
    [tar]='`tar -xzf` per layer' [tar_sync]='`tar -xzf` per layer + syncfs'
    [md_save]='`minidock save -o`' [skopeo]='`skopeo copy` to docker-archive'
    [skopeo_sync]='`skopeo copy` + syncfs')

bench_unpack() {   # IMG (small|large)
    IMG=$1
    local up=${IMG^^} r t d
    LAYERS=$(var "${up}_LAYERS")
    local bytes files nl gz
    bytes=$(var "${up}_BYTES"); files=$(var "${up}_FILES")
    nl=$(var "${up}_NLAYERS"); gz=$(var "${up}_GZ_BYTES")
    settle
    log "unpack $IMG: 1 warm-up + $N rounds of: $UNPACK_TOOLS"
    for ((r = 0; r <= N; r++)); do
        for t in $UNPACK_TOOLS; do
            d=$W/unpack-$IMG/$t-$r
            mkdir -p "$d"
            timed "unpack-$IMG|$t" "$r" "u_$t" "$d"
            if [ $CLEAN = each ]; then rm -rf "$d"; mark_removal "$BASE"; fi
        done
    done
    local m0 m lo hi
    read -r m0 lo hi < <(stats "${TIMES[unpack-$IMG|minidock]}")
    local desc
    desc="$IMG: $nl gzip layer(s), $(mb "$gz") compressed, $(mb "$bytes") in $files entries"
    for t in $UNPACK_TOOLS; do
        read -r m lo hi < <(stats "${TIMES[unpack-$IMG|$t]}")
        local rt="—"
        [ "$t" != minidock ] && rt=$(ratio "$m0" "$m")
        emit "| $desc | ${LABEL[$t]} | $(ms "$m") | $(spread "$m" "$lo" "$hi") | $(mbps "$bytes" "$m") | $rt |"
        echo "UNPACK_${up}_${t}=$m" >>"$RESULTS"
        desc=""
    done
    if [ $CLEAN = defer ]; then   # what each tool leaves on disk (round 1)
        local s
        for t in minidock umoci tar; do
            s=$(du -sb "$W/unpack-$IMG/$t-1" | cut -f1)
            echo "DISK_${up}_${t}=$s" >>"$RESULTS"
        done
    fi
}

# ---- 2 save ---------------------------------------------------------------------
s_md_save() { "$MD" --root "$W/save-root" --run-root "$W/save-run" save -o "$1" "$LARGE_ID"; }
s_skopeo() { skopeo --insecure-policy copy -q "oci:$IN/large/oci:large" "docker-archive:$1:bench/large:latest"; }
s_skopeo_sync() { s_skopeo "$1" && sync -f "$1"; }
SAVE_TOOLS="md_save skopeo skopeo_sync"
bench_save() {
    local r t f
    log "save: loading the large image into a store (untimed)"
    "$MD" --root "$W/save-root" --run-root "$W/save-run" load -q -i "$IN/large-oci.tar" >>"$W/cmd.log" 2>&1 ||
        die "minidock load failed"
    log "save large: 1 warm-up + $N rounds of: $SAVE_TOOLS"
    for ((r = 0; r <= N; r++)); do
        for t in $SAVE_TOOLS; do
            f=$W/save-$t.tar
            rm -f "$f"
            timed "save|$t" "$r" "s_$t" "$f"
            [ "$r" = 1 ] && echo "SAVE_SIZE_$t=$(stat -c %s "$f")" >>"$RESULTS"
            rm -f "$f"
        done
    done
    # shellcheck disable=SC1090
    . "$RESULTS"
    local m0 m lo hi desc="large → docker-archive (uncompressed layers)"
    read -r m0 lo hi < <(stats "${TIMES[save|md_save]}")
    for t in $SAVE_TOOLS; do
        read -r m lo hi < <(stats "${TIMES[save|$t]}")
        local rt="—" sz
        [ "$t" != md_save ] && rt=$(ratio "$m0" "$m")
        sz=$(var "SAVE_SIZE_$t")
        emit "| $desc | ${LABEL[$t]} | $(ms "$m") | $(spread "$m" "$lo" "$hi") | $(mb "$sz"), $(mbps "$sz" "$m") | $rt |"
        echo "SAVE_$t=$m" >>"$RESULTS"
        desc=""
    done
}

# ---- 3 peak RSS -----------------------------------------------------------------
rss_of() {   # CMD...: peak RSS in KiB of CMD and the processes it waited for
    local f=$W/rss.out
    /usr/bin/time -f %M -o "$f" "$@" >>"$W/cmd.log" 2>&1 || die "failed: $*"
    tail -n 1 "$f"
}
bench_rss() {
    local img t i d up list row
    for img in small large; do
        IMG=$img; up=${img^^}
        LAYERS=$(var "${up}_LAYERS")
        row="| $img ($(mb "$(var "${up}_BYTES")")) |"
        for t in minidock umoci tar; do
            list=""
            for ((i = 0; i < RSS_N; i++)); do
                d=$W/rss-$img/$t-$i
                mkdir -p "$d"
                case $t in
                minidock) list="$list $(rss_of "$MD" --root "$d/root" --run-root "$d/run" load -q -i "$IN/$img-oci.tar")" ;;
                umoci) list="$list $(rss_of umoci --log error unpack --image "$IN/$img/oci:$img" "$d/bundle")" ;;
                tar)   # the largest of the per-layer runs
                    local l k max=0
                    mkdir "$d/rootfs"
                    for l in $LAYERS; do
                        k=$(rss_of tar -xzf "$IN/$l" -C "$d/rootfs")
                        [ "$k" -gt "$max" ] && max=$k
                    done
                    list="$list $max" ;;
                esac
                if [ $CLEAN = each ]; then rm -rf "$d"; mark_removal "$BASE"; fi
            done
            read -r m _ _ < <(stats "$list")
            row="$row $m KiB |"
            echo "RSS_${up}_$t=$m" >>"$RESULTS"
        done
        emit "$row"
    done
}

# ---- 7 binary size --------------------------------------------------------------
# Built from the copy of the source tree taken at the start ($SRC), so that
# edits made to the tree during the run do not leak in, and copied to
# build/bench-sizes/.
bench_size() {
    local dir=$TOP/build/bench-sizes set slug f full="" sets
    mkdir -p "$dir"
    # a clean environment: a FEATURES given to `make bench` must not leak in
    local mk=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u FEATURES make -s -C "$SRC")
    sizeof() { strip --strip-all -o "$1.stripped" "$1" && stat -c %s "$1.stripped" && rm -f "$1.stripped"; }
    row() {   # LABEL FILE
        local sz pct="—"
        sz=$(sizeof "$2")
        cp "$2" "$dir/${2##*/}"
        [ -n "$full" ] && pct=$(awk -v a="$sz" -v b="$full" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
        [ -n "$full" ] || full=$sz
        emit "| $1 | $sz | $(awk -v b="$sz" 'BEGIN { printf "%.1f", b / 1024 }') | $pct |"
    }
    log "size: building the feature sets (copies in build/bench-sizes/)"
    if ! "${mk[@]}" OUT=build/bench-sizes/minidock-full FLAGS_STAMP=build/bench-sizes/minidock-full.flags \
            build/bench-sizes/minidock-full >>"$W/cmd.log" 2>&1; then
        emit "(Not built: minidock.c as copied at the start of the run does not compile; see \`make\`.)"
        return 0
    fi
    row "full (\`make\`: $("$SRC/build/bench-sizes/minidock-full" version | sed -n 's/^features: //p'))" \
        "$SRC/build/bench-sizes/minidock-full"
    echo "SIZE_FULL=$full" >>"$RESULTS"
    IFS=';' read -r -a sets <<<"$FEATURE_SETS"
    for set in "${sets[@]}"; do
        slug=$(echo "$set" | sed 's/-\([a-z0-9]*\)/no-\1/g; s/+//g; s/ \{1,\}/_/g')
        f=build/bench-sizes/minidock-$slug
        "${mk[@]}" OUT="$f" FLAGS_STAMP="$f.flags" FEATURES="$set" "$f" >>"$W/cmd.log" 2>&1 ||
            die "build FEATURES='$set' failed (see $W/cmd.log)"
        row "FEATURES=\"$set\"" "$SRC/$f"
    done
    "${mk[@]}" minimal >>"$W/cmd.log" 2>&1 || die "make minimal failed"
    cp "$SRC/build/minimal/minidock" "$SRC/build/minimal/minidock-minimal"
    row "\`make minimal\` (FEATURES=none)" "$SRC/build/minimal/minidock-minimal"
    if ! cmp -s "$SRC/build/bench-sizes/minidock-full" "$MD"; then
        emit "" "(The timed ./minidock is not this full build: it was built from another minidock.c than the one copied at the start of the run.)"
    fi
}

# ---- 5, 6 container runtime: start time, idle monitor ------------------------
# Everything lives in $RT ($W/rt, on the same filesystem as the other
# outputs): minidock's --root and --run-root, podman's --root, --runroot and
# --tmpdir, the state directories of crun and runc and their OCI bundle.  The
# cgroups go under private parents named $RT_ID (minidock, through
# MINIDOCK_CGROUP_PARENT), $RT_ID-oci (crun and runc: cgroupsPath) and
# $RT_ID-podman (--cgroup-parent), removed with the containers by rt_cleanup
# right after the measurements (and by the EXIT trap if interrupted).
#
# The image: the small input (busybox-static, /bin/true is a busybox applet
# symlink) -- for minidock `minidock import` of its layer blob, for podman
# `podman load` of its OCI archive, for crun and runc `umoci unpack` of its
# OCI layout, whose config.json is then made to match what minidock does:
# /bin/true, no terminal, Docker's default capabilities, no
# no_new_privileges, new pid, network, ipc, uts, mount and cgroup
# namespaces, and Docker's default seccomp profile as podman renders it for
# the same image (none when podman is missing: said so in the output).
#
# crun 1.8 refuses hybrid cgroup hosts: tests/bench/runtimes.c runs it in a
# private mount namespace of its own in which /sys/fs/cgroup/unified is
# unmounted (the host's mounts are not touched); the other tools run in the
# host's.
PODMAN=()
RT_TOOLS=""
declare -A RT_LABEL=()
rt_setup() {
    RT=$W/rt
    mkdir -p "$RT"
    export MINIDOCK_CGROUP_PARENT=$RT_ID
    MDR=("$MD" --root "$RT/md-root" --run-root "$RT/md-run")
    # the timer
    cc -O2 -Wall -o "$W/bin/runtimes" "$HERE/runtimes.c" >>"$W/cmd.log" 2>&1 ||
        { tail -n 20 "$W/cmd.log" >&2; die "cannot build tests/bench/runtimes.c"; }
    # minidock's image
    "${MDR[@]}" import "$IN/$SMALL_LAYERS" bench/small:latest >>"$W/cmd.log" 2>&1 ||
        { tail -n 20 "$W/cmd.log" >&2; die "minidock import failed"; }
    RT_TOOLS="minidock"
    RT_LABEL[minidock]='`minidock run --rm --network none`'
    if [ -n "${BENCH_MINIDOCK_B:-}" ]; then
        MDB=("$(realpath "$BENCH_MINIDOCK_B")" --root "$RT/mdb-root" --run-root "$RT/mdb-run")
        "${MDB[@]}" import "$IN/$SMALL_LAYERS" bench/small:latest >>"$W/cmd.log" 2>&1 ||
            { tail -n 20 "$W/cmd.log" >&2; die "minidock import (BENCH_MINIDOCK_B) failed"; }
        RT_LABEL[minidock_b]="\`minidock run --rm --network none\`, BENCH_MINIDOCK_B ($(basename "$BENCH_MINIDOCK_B"), $(stat -c %s "$BENCH_MINIDOCK_B") bytes)"
    fi
    # podman (its seccomp rendering is borrowed for the OCI bundle)
    local seccomp=null id cfg t
    RT_PODMAN_NOTE=""
    if command -v podman >/dev/null && command -v runc >/dev/null; then
        local pmrun=$RT/pm/run
        if [ ${#pmrun} -gt 50 ]; then   # podman refuses a longer --runroot
            RT_PM_RUN=$(mktemp -d /tmp/mdbench-pm.XXXXXX)
            pmrun=$RT_PM_RUN
        fi
        PODMAN=(podman --root "$RT/pm/root" --runroot "$pmrun" --tmpdir "$RT/pm/tmp"
            --storage-driver overlay --cgroup-manager=cgroupfs --runtime runc --events-backend file)
        PODMAN_RUN=(run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
            --cgroup-parent "/$RT_ID-podman")
        if "${PODMAN[@]}" load -q -i "$IN/small-oci.tar" >>"$W/cmd.log" 2>&1 &&
            id=$("${PODMAN[@]}" create "${PODMAN_RUN[@]:1}" localhost/small:latest /bin/true 2>>"$W/cmd.log") &&
            "${PODMAN[@]}" init "$id" >>"$W/cmd.log" 2>&1; then
            cfg=$(find "$RT/pm/root" -path "*$id/userdata/config.json" | sed -n 1p)
            [ -n "$cfg" ] && seccomp=$(jq -c '.linux.seccomp // null' "$cfg")
            "${PODMAN[@]}" rm -f -t 0 "$id" >>"$W/cmd.log" 2>&1 || true
            RT_TOOLS="$RT_TOOLS podman"
            RT_LABEL[podman]='`podman run --rm --network none`'
            RT_PODMAN_NOTE="podman $(podman --version | sed 's/.* version //') ($(conmon --version | sed -n '1s/ version / /p'), runc, overlay storage, cgroupfs; with \`--ulimit nofile=1024:1024 --ulimit nproc=1024:1024\`, as its defaults exceed this machine's hard limits)"
        else
            tail -n 5 "$W/cmd.log" >&2
            log "podman does not work here: left out"
            PODMAN=()
        fi
    fi
    # the OCI bundle for crun and runc
    RT_SECCOMP_NOTE="Docker's default seccomp profile as podman renders it (containers-common)"
    [ "$seccomp" = null ] && RT_SECCOMP_NOTE="no seccomp filter (podman, whose rendering of Docker's profile is used, is missing here; minidock does install one)"
    if command -v crun >/dev/null || command -v runc >/dev/null; then
        umoci --log error unpack --image "$IN/small/oci:small" "$RT/oci" >>"$W/cmd.log" 2>&1 ||
            die "umoci unpack of the small image failed"
        for t in crun runc; do
            command -v $t >/dev/null || continue
            mkdir -p "$RT/$t" "$RT/$t-state"
            jq --arg root "$RT/oci/rootfs" --arg cg "/$RT_ID-oci/$t" --argjson sc "$seccomp" -f "$HERE/oci-config.jq" \
                "$RT/oci/config.json" >"$RT/$t/config.json" || die "jq failed on the OCI config"
        done
        if command -v crun >/dev/null; then
            RT_TOOLS="$RT_TOOLS crun"
            RT_LABEL[crun]='`crun run` (OCI bundle)'
        fi
        if command -v runc >/dev/null; then
            RT_TOOLS="$RT_TOOLS runc"
            RT_LABEL[runc]='`runc run` (OCI bundle)'
        fi
    fi
    # in this order in each round
    local order=""
    for t in minidock crun runc podman; do
        case " $RT_TOOLS " in *" $t "*) order="$order $t" ;; esac
    done
    RT_TOOLS=${order# }
}

# plan_line TOOL: TOOL's line of a runtimes.c plan (name, cgroup mode, argv).
plan_line() {
    case $1 in
    minidock) printf 'minidock\thost'
        printf '\t%s' "${MDR[@]}" run --rm --network none bench/small:latest /bin/true ;;
    minidock_b) printf 'minidock_b\thost'
        printf '\t%s' "${MDB[@]}" run --rm --network none bench/small:latest /bin/true ;;
    crun) printf 'crun\tnocg2'   # crun refuses this hybrid cgroup host: see above
        printf '\t%s' crun --root "$RT/crun-state" run --bundle "$RT/crun" "$RT_ID-crun" ;;
    runc) printf 'runc\thost'
        printf '\t%s' runc --root "$RT/runc-state" run --bundle "$RT/runc" "$RT_ID-runc" ;;
    podman) printf 'podman\thost'
        printf '\t%s' "${PODMAN[@]}" "${PODMAN_RUN[@]}" --rm localhost/small:latest /bin/true ;;
    esac
    printf '\n'
}

# bench_run: `/bin/true` starts of each tool in RT_TOOLS, timed by runtimes.c
# (1 warm-up + RUN_N rounds, the tools alternately, RUN_GAP ms apart)
bench_run() {
    local plan=$RT/plan t r us
    for t in $RT_TOOLS; do plan_line "$t"; done >"$plan"
    log "run: 1 warm-up + $RUN_N rounds of: $RT_TOOLS ($RUN_GAP ms apart)"
    "$W/bin/runtimes" -s "$RT" -g "$RUN_GAP" "$RUN_N" "$plan" >"$RT/times.tsv" 2>>"$W/cmd.log" ||
        { tail -n 20 "$W/cmd.log" >&2; die "the container start benchmark failed (see $W/cmd.log)"; }
    while IFS=$'\t' read -r t r us; do
        printf 'run|%s\t%s\t%s\n' "$t" "$r" "$us" >>"$W/raw.tsv"
        if [ "$r" -gt 0 ]; then TIMES[run|$t]="${TIMES[run|$t]:-} $us"; fi
    done <"$RT/times.tsv"
    local m0 m lo hi rt
    read -r m0 lo hi < <(stats "${TIMES[run|minidock]}")
    for t in $RT_TOOLS; do
        read -r m lo hi < <(stats "${TIMES[run|$t]}")
        rt="—"
        if [ "$t" != minidock ]; then rt=$(ratio "$m0" "$m"); fi
        emit "| ${RT_LABEL[$t]} | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $rt |"
        echo "RUN_$t=$m" >>"$RESULTS"
    done
    [ -n "${MDB[*]:-}" ] || return 0
    # ./minidock against BENCH_MINIDOCK_B alone, alternately
    { plan_line minidock; plan_line minidock_b; } >"$RT/plan-b"
    log "run: 1 warm-up + $RUN_N rounds of: minidock minidock_b ($RUN_GAP ms apart)"
    "$W/bin/runtimes" -s "$RT" -g "$RUN_GAP" "$RUN_N" "$RT/plan-b" >"$RT/times-b.tsv" 2>>"$W/cmd.log" ||
        { tail -n 20 "$W/cmd.log" >&2; die "the start benchmark of BENCH_MINIDOCK_B failed (see $W/cmd.log)"; }
    local ta="" tb=""
    while IFS=$'\t' read -r t r us; do
        printf 'runb|%s\t%s\t%s\n' "$t" "$r" "$us" >>"$W/raw.tsv"
        [ "$r" -gt 0 ] || continue
        if [ "$t" = minidock ]; then ta="$ta $us"; else tb="$tb $us"; fi
    done <"$RT/times-b.tsv"
    read -r m0 lo hi < <(stats "$ta")
    emit ""
    emit "The same start, \`./minidock\` and BENCH_MINIDOCK_B alone, alternately ($RUN_N rounds):"
    emit ""
    emit "| command | median | min – max | spread | minidock/B |"
    emit "|---|--:|--:|--:|--:|"
    emit "| ${RT_LABEL[minidock]} | $(ms "$m0") | $(ms "$lo") – $(ms "$hi") | $(spread "$m0" "$lo" "$hi") | — |"
    read -r m lo hi < <(stats "$tb")
    emit "| ${RT_LABEL[minidock_b]} | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $(ratio "$m0" "$m") |"
    echo "RUN_minidock_b=$m" >>"$RESULTS"
}

# bench_monitor: idle RSS of the process that stays beside a detached
# container -- minidock's monitor (5 containers), podman's conmon (3)
rss_status() {   # PID: VmRSS RssAnon RssFile (KiB) from /proc/PID/status
    awk '$1 == "VmRSS:" { v = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
        END { if (v == "") exit 1; print v, a, f }' "/proc/$1/status"
}
mon_row() {   # KEY LABEL PID...: one table row, medians of each column on its own
    local key=$1 label=$2 p v a f vl="" al="" fl="" m0 rt="—"; shift 2
    for p in "$@"; do
        read -r v a f < <(rss_status "$p") || die "cannot read /proc/$p/status"
        vl="$vl $v"; al="$al $a"; fl="$fl $f"
    done
    printf '%s\t%s\t%s\t%s\n' "monitor|$key" "$vl" "$al" "$fl" >>"$W/raw.tsv"
    read -r v _ _ < <(stats "$vl")
    read -r a _ _ < <(stats "$al")
    read -r f _ _ < <(stats "$fl")
    echo "MON_$key=$v" >>"$RESULTS"
    if [ "$key" != minidock ]; then
        m0=$(sed -n 's/^MON_minidock=//p' "$RESULTS" | tail -n 1)
        rt=$(ratio "$m0" "$v")
    fi
    emit "| $label | $# | $v KiB | $a KiB | $f KiB | $rt |"
}
bench_monitor() {
    [ -n "$RT" ] || rt_setup
    local i id p ids=() pids=()
    log "monitor: 5 × minidock run -d ... sleep 600, 2 s idle, VmRSS of each monitor"
    for i in 1 2 3 4 5; do
        id=$("${MDR[@]}" run -d --network none bench/small:latest sleep 600 2>>"$W/cmd.log") ||
            { tail -n 20 "$W/cmd.log" >&2; die "minidock run -d failed"; }
        ids+=("$id")
    done
    sleep 2
    for id in "${ids[@]}"; do
        p=$(pgrep -f -- "__monitor $id" | sed -n 1p) || true
        [ -n "$p" ] || die "no monitor process for minidock container $id"
        pids+=("$p")
    done
    mon_row minidock "minidock's monitor (\`minidock __monitor ID\`) of \`minidock run -d --network none IMAGE sleep 600\`" "${pids[@]}"
    "${MDR[@]}" rm -f "${ids[@]}" >>"$W/cmd.log" 2>&1 || log "minidock rm -f failed"
    [ ${#PODMAN[@]} -gt 0 ] || return 0
    ids=(); pids=()
    log "monitor: 3 × podman run -d ... sleep 600, 2 s idle, VmRSS of each conmon"
    for i in 1 2 3; do
        id=$("${PODMAN[@]}" "${PODMAN_RUN[@]}" -d localhost/small:latest sleep 600 2>>"$W/cmd.log") ||
            { tail -n 20 "$W/cmd.log" >&2; die "podman run -d failed"; }
        ids+=("$id")
    done
    sleep 2
    for id in "${ids[@]}"; do
        p=$("${PODMAN[@]}" inspect --format '{{.State.ConmonPid}}' "$id" 2>>"$W/cmd.log") || true
        case $p in ''|0|*[!0-9]*) p=$(pgrep -f -- "conmon .*-c $id" | sed -n 1p) || true ;; esac
        [ -n "$p" ] || die "no conmon process for podman container $id"
        pids+=("$p")
    done
    mon_row conmon "podman's conmon of \`podman run -d --network none IMAGE sleep 600\`" "${pids[@]}"
    "${PODMAN[@]}" rm -f -t 0 "${ids[@]}" >>"$W/cmd.log" 2>&1 || log "podman rm -f failed"
}

# ---- the run --------------------------------------------------------------------
# the command that reproduces this run: the BENCH_* settings given (not
# BENCH_OUT), then make bench (or this script)
cmd=""
for v in $(env | sed -n 's/^\(BENCH_[A-Z_]*\)=.*/\1/p'); do
    [ "$v" = BENCH_OUT ] && continue
    cmd="$cmd$v=$(printf '%q' "$(var "$v")") "
done
if [ -n "${MAKELEVEL:-}" ]; then cmd="${cmd}make bench"; else cmd="${cmd}bash tests/bench/run.sh"; fi

rev=""
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
    rev=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || true)
    if [ -n "$rev" ] && ! git -C "$TOP" diff --quiet HEAD -- 2>/dev/null; then rev="$rev+local changes"; fi
fi
fsdesc=$FSTYPE
[ $NOJOURNAL = no ] || fsdesc="$fsdesc without a journal"
emit "## Benchmarks" ""
emit "Measured by \`tests/bench/run.sh\` on $(date +%F), minidock $("$MD" version | sed -n '1s/^minidock version //p')${rev:+ ($rev)}, $(grep -c '^processor' /proc/cpuinfo) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p), $(awk '$1 == "MemTotal:" { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), $fsdesc; umoci $(umoci --version | sed 's/.* version //'), skopeo $(skopeo --version | sed 's/.* version //'), tar $(tar --version | sed -n '1s/.* //p'), gzip $(gzip --version | sed -n '1s/.* //p')."
method="Every benchmark runs the tools alternately in one invocation on the same input: one warm-up round, then $N timed rounds; the table gives each tool's median, the spread ((max − min) / 2 of the median) and the ratio of the medians minidock/peer (below 1: minidock is faster). The filesystem is synced before each timed command; the page cache is not dropped;"
if [ $CLEAN = defer ]; then
    method="$method outputs are removed after all runs."
else
    method="$method each run's output is removed right after it (BENCH_CLEAN=each)."
fi
if [ "$SETTLE" -gt 0 ]; then
    method="$method Each benchmark started at least $SETTLE s after this script last removed files: on ext4 without a journal, recently freed inodes slow file creation down (see tests/bench/run.sh)."
fi
emit "$method Input images: built with umoci from $SOURCE (tests/bench/mkinputs.sh)." ""

if want unpack; then
    emit "### Unpack an image" ""
    emit "| image | tool | median | spread | unpacked MB/s | minidock/peer |" "|---|---|--:|--:|--:|--:|"
    bench_unpack small
    bench_unpack large
    emit ""
    # shellcheck disable=SC2086
    nwh=$(for l in $LARGE_LAYERS; do tar -tzf "$IN/$l"; done | grep -c '\(^\|/\)\.wh\.' || true)
    emit "minidock's time is the whole \`load\`: it reads the OCI archive, checks each blob's sha256, decompresses, hashes the DiffID, unpacks each layer into its own directory (whiteouts become overlay whiteouts), writes a tar-split so that \`save\` can rebuild the layer byte for byte, and syncs the store (syncfs) before it names the image. umoci applies the layers into one tree (whiteouts applied) and writes an mtree manifest. GNU tar (\`tar -xzf\`, gzip in a second process) writes the layers into one tree, does not interpret whiteouts (the large image's $nwh \`.wh.*\` files are extracted as empty files and the files they delete stay) and syncs nothing." ""
    if [ $CLEAN = defer ]; then
        # shellcheck disable=SC1090
        . "$RESULTS"
        emit "On disk after the large image: minidock's store $(mb "$(var DISK_LARGE_minidock)") (layers, tar-splits, configs), umoci's bundle $(mb "$(var DISK_LARGE_umoci)"), tar's tree $(mb "$(var DISK_LARGE_tar)")." ""
    fi
fi
if want save; then
    emit "### Save an image" ""
    emit "| image | tool | median | spread | archive, MB/s | minidock/peer |" "|---|---|--:|--:|--:|--:|"
    settle
    bench_save
    emit "" "minidock rebuilds each layer tar from its directory and tar-split (checking its DiffID) and fsyncs the archive; skopeo decompresses the OCI layout's gzip layers into the archive and syncs nothing (hence the skopeo + syncfs row)." ""
fi
if want rss; then
    emit "### Peak memory (RSS) while unpacking" ""
    emit "Median of $RSS_N runs of GNU \`time -f %M\`, which covers a process and the children it waited for (tar's gzip); for tar, the largest of its per-layer runs." ""
    emit "| image | ${LABEL[minidock]} | ${LABEL[umoci]} | ${LABEL[tar]} |" "|---|--:|--:|--:|"
    settle
    bench_rss
    emit ""
fi
if want profile; then
    prof=no
    case $PROFILE in
    1) prof=yes ;;
    auto)   # only when minidock unpacks the large image slower than tar
        # shellcheck disable=SC1090
        . "$RESULTS"
        if [ -n "${UNPACK_LARGE_minidock:-}" ] && [ -n "${UNPACK_LARGE_tar:-}" ] &&
            [ "$UNPACK_LARGE_minidock" -gt "$UNPACK_LARGE_tar" ]; then
            prof=yes
        fi ;;
    esac
    if [ $prof = yes ] && ! { command -v perf && command -v strace; } >/dev/null 2>&1; then
        log "profile: no perf or strace, skipped"
        prof=no
    fi
    if [ $prof = yes ]; then
        settle
        log "profile: minidock load of the large image (tests/bench/profile.sh)"
        if bash "$HERE/profile.sh" "$SRC" "$IN" "$W/profile" "$MD" >"$W/profile.md" 2>>"$W/cmd.log"; then
            emit "$(cat "$W/profile.md")" ""
        else
            tail -n 20 "$W/cmd.log" >&2
            log "profile.sh failed (see above); going on"
        fi
        mark_removal "$BASE"   # profile.sh removes its work trees
    fi
fi
if want run; then
    emit "### Start a container" ""
    if [ "$RUN_GAP" -gt 0 ]; then
        gaptext="$RUN_GAP ms apart (untimed, the filesystem synced before each), so that each start is a cold one: moving a process into a cgroup (v1, \`cgroup.procs\`) waits for an RCU grace period, 10–15 ms here (percpu_down_write → rcu_sync_enter → synchronize_rcu, seen with perf), unless another move happened moments before, so that runs back to back (BENCH_RUN_GAP_MS=0) skip most of that wait"
    else
        gaptext="back to back (BENCH_RUN_GAP_MS=0; the filesystem synced before each, untimed), so that most starts skip the RCU grace period (10–15 ms here) that moving a process into a cgroup (v1, \`cgroup.procs\`) waits for unless another move happened moments before: warmer than a start on a quiet machine"
    fi
    fsrt=$(findmnt -no FSTYPE -T "$W" 2>/dev/null | sed -n 1p || true)
    rt_setup
    # (minidock's bridge networking is measured by tests/bench/net-bench.sh,
    # inside network namespaces of its own: nothing here touches the
    # machine's network)
    RT_NET_NOTE=""
    emit "\`/bin/true\` (a busybox applet) in the small image, the whole command from fork to exit, timed by tests/bench/runtimes.c: one warm-up round, then $RUN_N rounds, the tools alternately, $gaptext. Each tool's state ($fsrt, in the run's scratch directory) and cgroups (under parents of the run's own) are removed after the run." ""
    emit "| command | median | min – max | spread | minidock/peer |" "|---|--:|--:|--:|--:|"
    bench_run
    emit ""
    rtv="minidock imports the image's layer (\`minidock import\`) and runs it on an overlay mount, under its monitor, and removes the container afterwards (\`--rm\`)."
    case " $RT_TOOLS " in *" crun "*|*" runc "*)
        rtv="$rtv crun $(crun --version | sed -n '1s/.* version //p') and runc $(runc --version | sed -n '1s/.* version //p') run an OCI bundle, \`umoci unpack\` of the same image (the root filesystem a plain directory, no overlay), with config.json made to match minidock: no terminal, Docker's default capabilities, new pid, network, ipc, uts, mount and cgroup namespaces, $RT_SECCOMP_NOTE, cgroupsPath under a private parent; crun (which refuses this hybrid cgroup host) runs in a private mount namespace without the cgroup2 mount, entered before the clock starts." ;;
    esac
    [ -n "$RT_PODMAN_NOTE" ] && rtv="$rtv Podman: $RT_PODMAN_NOTE, the image loaded from the same OCI archive."
    [ -z "$RT_NET_NOTE" ] || rtv="$rtv ($RT_NET_NOTE.)"
    emit "$rtv" ""
fi
if want monitor; then
    emit "### Idle monitor memory" ""
    emit "The process that stays beside a detached container: RSS 2 s after \`run -d\`, from /proc/PID/status; median over n containers (each column on its own)." ""
    emit "| process | n | VmRSS | RssAnon | RssFile | minidock/peer |" "|---|--:|--:|--:|--:|--:|"
    bench_monitor
    emit ""
fi
if want run || want monitor; then
    rt_cleanup
    mark_removal "$BASE"   # minidock and podman removed their containers' files
fi
if want size; then
    emit "### Binary size" ""
    emit "Static, stripped (\`strip --strip-all\`), $(uname -m) musl, built with \`make OUT=... FEATURES=...\` from a copy of the source tree taken at the start of the run (copies in build/bench-sizes/; ./minidock is not touched)." ""
    emit "| build | bytes | KiB | vs full |" "|---|--:|--:|--:|"
    bench_size
    emit ""
fi
# the standalone benchmarks, each in namespaces and temp dirs of its own;
# they append their markdown sections to $BENCH_OUT
for part in net pull api sign build compose flash; do
    want "$part" || continue
    [ -f "$HERE/$part-bench.sh" ] || continue
    log "$part: tests/bench/$part-bench.sh"
    BENCH_OUT=$SECTION MINIDOCK=$MD bash "$HERE/$part-bench.sh" >>"$W/cmd.log" 2>&1 ||
        { tail -n 20 "$W/cmd.log" >&2; log "$part-bench.sh failed (see above); going on"; }
done
emit "Reproduce (as root, in the source tree): \`$cmd\`"

echo
echo "==== markdown section (for README.md) ===="
echo
cat "$SECTION"
echo
echo "==== reproduce with: $cmd"
[ -z "$OUTFILE" ] || cp "$SECTION" "$OUTFILE"
# keep this run's section and raw timings (microseconds, round 0 = warm-up)
rm -rf "$BASE/last-run"
mkdir -p "$BASE/last-run"
cp "$SECTION" "$BASE/last-run/section.md"
cp "$W/raw.tsv" "$RESULTS" "$BASE/last-run/" 2>/dev/null || true
echo "==== raw timings: $BASE/last-run/raw.tsv"
