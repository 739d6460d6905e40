# shellcheck shell=bash
# tests/bench/lib.sh -- what the benchmark scripts share (run.sh,
# build-bench.sh, compose-bench.sh, pull-bench.sh, flash-bench.sh).  Sourced,
# not run; its functions call the sourcing script's die and log.
#   the figures   stats (median min max of a list), ms, mib, spread, ratio,
#                 verdict: the numbers of the markdown tables
#   settle        settle_init, settle_wait, mark_removal: ext4 without a
#                 journal and recently removed files (see tests/bench/run.sh)
#   the image     bb_image: the busybox fixture image in minidock and podman
#   cleanup       cg_remove, umount_under: what a run leaves in the cgroup
#                 hierarchies and the mount table

# ---- the figures
# stats LIST: median min max (integers, same unit as LIST)
stats() {
    # shellcheck disable=SC2086
    printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%d %d %d\n", m, v[1], v[NR] }'
}
# ms USEC: "12.3 ms" below 100 ms, "123 ms" below 1 s, "1.23 s" above (either sign)
ms() {
    awk -v u="$1" 'BEGIN { v = u / 1000; a = v < 0 ? -v : v
        if (a >= 1000) printf "%.2f s", v / 1000; else printf(a < 100 ? "%.1f ms" : "%.0f ms", v) }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }   # KIB
spread() { awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN { printf "±%.0f%%", m ? 50 * (hi - lo) / m : 0 }'; }   # MEDIAN MIN MAX
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }   # A B: A / B
verdict() {   # RATIO GOAL
    awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g ? "met" : "NOT met") }'
}

# ---- settle: ext4 without a journal checks every candidate inode for a
# recent deletion, so that creating files is slow for minutes after many were
# removed.  Each script records when it removed files (mark_removal, the
# marker BENCH_DIR/.last-removal, shared by all) and measures only SETTLE s
# after the last removal (settle_wait).

# settle_init NAME VALUE DIR: sets FSTYPE (DIR's filesystem), NOJOURNAL (yes:
# DIR is on ext4 without a journal, else no) and SETTLE from VALUE, the
# variable NAME's: seconds, or auto (370 on ext4 without a journal, else 0)
settle_init() {
    local dev
    dev=$(basename "$(readlink -f "$(findmnt -no SOURCE -T "$3" 2>/dev/null | sed -n 1p)")" 2>/dev/null || true)
    FSTYPE=$(findmnt -no FSTYPE -T "$3" 2>/dev/null | sed -n 1p || true)
    NOJOURNAL=no
    if [ "$FSTYPE" = ext4 ] && [ "$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null)" = "<none>" ]; then
        NOJOURNAL=yes
    fi
    SETTLE=$2
    if [ "$SETTLE" = auto ]; then
        if [ $NOJOURNAL = yes ]; then SETTLE=370; else SETTLE=0; fi
    fi
    [[ $SETTLE =~ ^[0-9]+$ ]] || die "$1 must be auto or a number of seconds"
}
# settle_wait NAME BASE: wait until SETTLE s have passed since the last
# removal recorded in BASE; NAME (the variable that sets SETTLE) for the message
settle_wait() {
    [ "$SETTLE" -gt 0 ] || return 0
    local last now wait
    last=$(cat "$2/.last-removal" 2>/dev/null || echo 0)
    now=$(date +%s)
    wait=$((last + SETTLE - now))
    [ $wait -gt 0 ] || return 0
    sync -f "$2"
    log "waiting ${wait}s: files were removed $((now - last))s ago (ext4 without a journal; $1=0 skips this)"
    sleep "$wait"
}
# mark_removal BASE: files were removed now
mark_removal() { mkdir -p "$1" && date +%s >"$1/.last-removal"; }

# ---- the image
# bb_image MD FIX W PODMAN...: bench/bb:latest, the busybox fixture
# (tests/tools/mkimages.sh's rootfs in FIX, made when missing), imported by
# minidock MD, saved, and loaded by PODMAN... (a command or function that runs
# podman on the script's store); the logs in the scratch directory W
bb_image() {
    local md=$1 fix=$2 w=$3
    shift 3
    [ -f "$fix/busybox-rootfs.tar" ] || "$(dirname "${BASH_SOURCE[0]}")/../tools/mkimages.sh" "$fix" >"$w/fixtures.log" 2>&1 ||
        { tail -n 5 "$w/fixtures.log" >&2; die "cannot make the fixtures (tests/tools/mkimages.sh)"; }
    {
        "$md" import "$fix/busybox-rootfs.tar" bench/bb:latest
        "$md" save -o "$w/bb.tar" bench/bb:latest
        "$@" load -q -i "$w/bb.tar"
    } >"$w/setup.log" 2>&1 || { tail -n 5 "$w/setup.log" >&2; die "cannot give the image to both minidock and podman"; }
}

# ---- cleanup
# cg_remove PARENT: remove the cgroup parents PARENT and PARENT-* (a peer's,
# e.g. podman's --cgroup-parent) with all below them, in every hierarchy:
# empty once the containers are gone, but cgroup2 keeps one busy until its
# exited processes are reaped, which this machine's init does lazily
# (podman's conmon): tried for up to 5 s, then what is left is logged
cg_remove() {
    local h d left
    for _ in $(seq 50); do
        left=""
        for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
            for d in "$h/$1" "$h/$1"-*; do
                [ -d "$d" ] || continue
                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
                if [ -d "$d" ]; then left="$left $d"; fi
            done
        done
        [ -n "$left" ] || break
        sleep 0.1
    done
    [ -z "$left" ] || log "cannot remove the cgroups$left"
}
# umount_under DIR: unmount whatever is mounted below DIR, deepest first
# (rm -rf would go through a mount)
umount_under() {
    local d
    findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r | while read -r d; do
        umount -l "$d" 2>/dev/null || log "cannot unmount $d"
    done
}
