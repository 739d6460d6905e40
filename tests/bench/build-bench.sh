#!/usr/bin/env bash
# tests/bench/build-bench.sh -- `minidock build` beside `podman build`
# (buildah), on demand (root; never part of `make check`); run by
# `BENCH_ONLY=build bash tests/bench/run.sh` or directly.
#
# The same 5-step Dockerfile on the same small context (FROM the busybox
# fixture image, COPY of a directory of 32 files (96 KiB), RUN, ENV, CMD),
# built by both tools:
#   cold  `build --no-cache`: every step done again (the RUN step starts a
#         container, COPY and RUN commit a layer each);
#   warm  `build` with every step in the cache (after one untimed build).
# The tools alternately (the order swaps each round), one untimed warm-up
# round, then BUILDBENCH_N timed rounds each; medians, spread = (max - min) / 2
# of the median, and the ratio of the medians minidock/podman.  The wall time
# is the whole command from its start until it and every process it started
# have exited.  Peak RSS: tests/bench/peakrss.c around each timed build, a
# child subreaper that reaps the command and all its descendants (a
# daemonized monitor too, which GNU time's %M would miss) and reports
# getrusage(RUSAGE_CHILDREN).ru_maxrss: the peak RSS of the largest single
# process of the build (the build itself, its RUN container's monitor, the
# RUN command, ...).  Issue's goal: minidock at most 0.5x podman's time, cold
# and warm; minidock's peak RSS at most 4 MiB.  No assertion is made: the
# figures are printed.
#
# Both tools: RUN without a network (`--network none`); every cold build
# makes new layers, all kept until the end (see tests/bench/run.sh on ext4
# without a journal and removals; the measurements wait, BUILDBENCH_SETTLE,
# when this script or run.sh removed files less than that before).
# minidock: its own --root and --run-root in the scratch directory, cgroups
# under a parent of this run's own.  podman: podman 4.3 in a store of its own
# (overlay), `--cgroup-manager=cgroupfs --runtime runc` (crun refuses this
# hybrid cgroup host), `--format docker --pull=never --identity-label=false`,
# `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024` (its defaults exceed
# this machine's hard limits), the base image from `minidock save` + `podman
# load`.  Nothing from the network.
#
# Environment: MINIDOCK (default ./minidock), BUILDBENCH_N=7, MD_FIXTURES
# (tests/tools/mkimages.sh's output, default /var/tmp/minidock-fixtures),
# BUILDBENCH_SETTLE (default BENCH_SETTLE, else auto: 370 on ext4 without a
# journal, else 0), BENCH_DIR (default /var/tmp/minidock-bench: the removal
# marker shared with run.sh), BENCH_OUT=FILE (append the markdown),
# BUILDBENCH_KEEP=1 (keep the scratch directory).
# Needs: podman, runc, cc, python3, GNU coreutils.
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/tests/bench
MD=$(readlink -f "${MINIDOCK:-$REPO/minidock}")
N=${BUILDBENCH_N:-7}
FIX=${MD_FIXTURES:-/var/tmp/minidock-fixtures}
BASE=${BENCH_DIR:-/var/tmp/minidock-bench}
SETTLE=${BUILDBENCH_SETTLE:-${BENCH_SETTLE:-auto}}
die() { echo "build-bench: $*" >&2; exit 1; }
log() { echo "build-bench: $*" >&2; }
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BUILDBENCH_N must be a positive integer"
for c in podman runc cc python3; do command -v "$c" >/dev/null || die "needs $c"; done
[ -x "$MD" ] || die "no minidock binary at $MD (set MINIDOCK)"
"$MD" version | grep -q '+build' || die "$MD has no build command (+build)"

W=$(mktemp -d /var/tmp/build-bench.XXXXXX)
CG=buildbench-$$
cleanup() {
    # containers/storage keeps its overlay directory mounted: nothing of
    # this run may stay mounted under it (rm -rf would go through)
    umount_under "$W"
    cg_remove "$CG"   # and $CG-pm, podman's
    if [ -z "${BUILDBENCH_KEEP:-}" ]; then
        rm -rf "$W"
        mark_removal "$BASE"
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export MINIDOCK_ROOT=$W/md/root MINIDOCK_RUNROOT=$W/md/run MINIDOCK_CGROUP_PARENT=$CG
mkdir -p "$W/pm/tmp" "$W/bin"
PM=(podman --root "$W/pm/root" --runroot "$W/pm/run" --tmpdir "$W/pm/tmp" --storage-driver overlay
    --cgroup-manager=cgroupfs --runtime runc --events-backend file)
pm() { TMPDIR=$W/pm/tmp "${PM[@]}" "$@"; }
cc -O2 -Wall -o "$W/bin/peakrss" "$HERE/peakrss.c" || die "cannot build tests/bench/peakrss.c"

# ---- the base image and the context
bb_image "$MD" "$FIX" "$W" pm
CTX=$W/ctx
mkdir -p "$CTX/app"
python3 - "$CTX/app" <<'PY'
import os, random, sys
r = random.Random(5)
for i in range(32):
    with open(os.path.join(sys.argv[1], "f%02d.txt" % i), "w") as f:
        f.write("".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789\n") for _ in range(3072)))
PY
cat >"$CTX/Dockerfile" <<'EOF'
FROM bench/bb:latest
COPY app/ /app/
RUN cat /app/*.txt | wc -c > /app/size
ENV APP=/app MODE=bench
CMD ["/bin/sh", "-c", "cat /app/size"]
EOF
CTX_KIB=$(($(cat "$CTX"/app/* | wc -c) / 1024))

# ---- settle: ext4 without a journal skips recently freed inodes one by one
settle_init BUILDBENCH_SETTLE "$SETTLE" "$W"
settle_wait BUILDBENCH_SETTLE "$BASE"

# ---- the builds
# build_cmd TOOL MODE: CMD, the argv of one build
build_cmd() {
    local nc=()
    [ "$2" = cold ] && nc=(--no-cache)
    case $1 in
    minidock) CMD=("$MD" build -q "${nc[@]}" --network none -t "bench/app:$2" "$CTX") ;;
    podman) CMD=(env "TMPDIR=$W/pm/tmp" "${PM[@]}" build -q "${nc[@]}" --format docker --pull=never
        --identity-label=false --network none --cgroup-parent "/$CG-pm"
        --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -t "bench/app:$2" "$CTX") ;;
    esac
}
declare -A TIMES=() RSS=()
# once TOOL MODE ROUND: one build, timed (untimed sync before it)
once() {
    local t0 t1 kib
    build_cmd "$1" "$2"
    sync -f "$W"
    t0=${EPOCHREALTIME/./}
    "$W/bin/peakrss" "$W/rss" "${CMD[@]}" >>"$W/cmd.log" 2>&1 ||
        { tail -n 20 "$W/cmd.log" >&2; die "$1 build ($2) failed"; }
    t1=${EPOCHREALTIME/./}
    kib=$(cat "$W/rss")
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$((t1 - t0))" "$kib" >>"$W/raw.tsv"
    [ "$3" -gt 0 ] || return 0
    TIMES[$1 $2]="${TIMES[$1 $2]:-} $((t1 - t0))"
    RSS[$1 $2]="${RSS[$1 $2]:-} $kib"
}
for mode in cold warm; do
    log "$mode: 1 warm-up + $N rounds, minidock and podman alternately"
    for ((r = 0; r <= N; r++)); do
        if ((r % 2)); then
            once podman $mode $r; once minidock $mode $r
        else
            once minidock $mode $r; once podman $mode $r
        fi
    done
done
# the builds made what they should (untimed)
cmd=$("$MD" image inspect -f '{{json .Config.Cmd}}' bench/app:warm)
[ "$cmd" = '["/bin/sh","-c","cat /app/size"]' ] || die "minidock's image has Cmd $cmd"
size=$("$MD" run --rm --network none bench/app:warm 2>>"$W/cmd.log") || die "minidock cannot run its image"
[ "$size" = $((32 * 3072)) ] || die "the RUN step wrote $size, not $((32 * 3072))"

# ---- the report (stats, ms, mib, spread, ratio, verdict: tests/bench/lib.sh)
declare -A MED=()
rows=""
for mode in cold warm; do
    for t in minidock podman; do
        read -r m lo hi < <(stats "${TIMES[$t $mode]}")
        MED[$t $mode]=$m
        read -r rm _ rhi < <(stats "${RSS[$t $mode]}")
        MED[rss $t $mode]=$rm
        MED[rssmax $t $mode]=$rhi
        rt="—"
        [ $t = podman ] && rt=$(ratio "${MED[minidock $mode]}" "$m")
        # shellcheck disable=SC2016
        case $mode in cold) what='cold (`--no-cache`)' ;; warm) what='warm (every step cached)' ;; esac
        rows="$rows| $what | \`$t build\` | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $(mib "$rm") (max $(mib "$rhi")) | $rt |"$'\n'
    done
done
rc=$(ratio "${MED[minidock cold]}" "${MED[podman cold]}")
rw=$(ratio "${MED[minidock warm]}" "${MED[podman warm]}")
rss_max=${MED[rssmax minidock cold]}
[ "${MED[rssmax minidock warm]}" -gt "$rss_max" ] && rss_max=${MED[rssmax minidock warm]}
rss_ok=$([ "$rss_max" -le 4096 ] && echo met || echo "NOT met")
out=$(cat <<MD
### Build an image

The same 5-step Dockerfile (FROM the busybox fixture image, COPY of a directory of 32 files ($CTX_KIB KiB), RUN, ENV, CMD) on the same context, built by \`minidock build\` and \`podman build\`, alternately (the order swaps each round), one warm-up round, then $N rounds each; cold: \`--no-cache\`, warm: every step in the cache; RUN without a network (\`--network none\`) in both. Time: the whole command until it and every process it started have exited; medians, spread = (max − min) / 2 of the median. Peak RSS: median (and max) of the rounds, by tests/bench/peakrss.c, a child subreaper around the command: getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest single process among the build and all its descendants (RUN's container, its monitor). Podman: $(podman --version | sed 's/.* version //'), buildah inside it, runc, overlay storage, cgroupfs, \`--format docker\` (\`bash tests/bench/build-bench.sh\`):

| build | tool | median | min – max | spread | peak RSS | minidock/podman |
|---|---|--:|--:|--:|--:|--:|
${rows%$'\n'}

Targets: minidock at most 0.5x podman's time: cold $(verdict "$rc" 0.5) ($rc), warm $(verdict "$rw" 0.5) ($rw); minidock's peak RSS at most 4 MiB: $rss_ok ($(mib "$rss_max") at most).
MD
)
echo "$out"
[ -z "${BENCH_OUT:-}" ] || printf '%s\n\n' "$out" >>"$BENCH_OUT"
