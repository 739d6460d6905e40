# shellcheck shell=bash
# tests/lib.sh: helpers for the integration tests, sourced by tests/run.sh
# before each tests/integration/*.sh file.  A test is a shell function named
# test_*; it runs in its own bash with `set -eEu -o pipefail` (an ERR trap
# names the command that failed), in its scratch dir $T (removed afterwards,
# mounts under it undone), with MINIDOCK_ROOT=$T/root and
# MINIDOCK_RUNROOT=$T/run.  A test passes when it returns; `fail`, a failed
# assertion or any failing command ends it.
#
# Exported by run.sh: MINIDOCK (binary under test), MINIDOCK_MINIMAL,
# MD_REPO (checkout), MD_TOOLS (tests/tools), T, MD_SKIP_FILE.
#
# Note: write `x=$(md_ok ...)`, not `local x=$(md_ok ...)`: `local` would
# swallow the failure.

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# fail MSG: end the test as failed, naming the caller's line.
fail() {
    local i where=
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        if [ "${BASH_SOURCE[i]}" != "${BASH_SOURCE[0]}" ]; then
            where=" (at ${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]})"
            break
        fi
    done
    echo "FAIL: $*$where" >&2
    exit 1
}

# skip REASON: end the test as skipped (run.sh turns this into a failure
# when MD_TEST_STRICT=1).
skip() {
    echo "$*" >"${MD_SKIP_FILE:-/dev/null}"
    echo "SKIP: $*" >&2
    exit 77
}

require_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# require_cmd CMD...: skip unless every CMD is on PATH.
require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
    done
}

# md ARGS: run the binary under test.  Its stderr also goes to $T/md.stderr
# (see md_stderr); md returns its exit status.
md() {
    local rc=0
    [ -x "$MINIDOCK" ] || fail "no minidock binary at $MINIDOCK (set MINIDOCK)"
    "$MINIDOCK" "$@" 2>"$T/md.stderr" || rc=$?
    cat "$T/md.stderr" >&2
    return "$rc"
}

# md_stderr: what the last md/md_ok/md_fail wrote on stderr.
md_stderr() { cat "$T/md.stderr"; }

# md_ok ARGS: run md, fail the test unless it exits 0; prints its stdout.
md_ok() {
    local rc=0
    md "$@" || rc=$?
    [ "$rc" = 0 ] || fail "minidock $* exited $rc: $(tail -n 3 "$T/md.stderr")"
}

# md_fail CODE ARGS: run md, fail the test unless it exits with CODE.
# CODE "any" accepts any failure that is not a crash (1..125: 126 and 127
# mean it did not run, 128 or more that it died of a signal).
md_fail() {
    local want=$1 rc=0
    shift
    md "$@" || rc=$?
    if [ "$want" = any ]; then
        [ "$rc" -ne 0 ] || fail "minidock $* succeeded, expected failure"
        [ "$rc" -lt 126 ] || fail "minidock $* crashed or did not run: exit $rc"
    else
        [ "$rc" = "$want" ] || fail "minidock $* exited $rc, expected $want"
    fi
}

assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-assert_eq}: '$1' != '$2'"
}

assert_match() {
    [[ $1 =~ $2 ]] || fail "'$1' does not match /$2/"
}

assert_contains() {
    case $1 in
    *"$2"*) ;;
    *) fail "'$2' not found in: $1" ;;
    esac
}

assert_not_contains() {
    case $1 in
    *"$2"*) fail "'$2' unexpectedly found in: $1" ;;
    esac
}

# assert_file PATH: PATH exists (any type; a dangling symlink counts).
assert_file() { [ -e "$1" ] || [ -L "$1" ] || fail "$1 does not exist"; }

# assert_no_file PATH: nothing at PATH, not even a dangling symlink.
assert_no_file() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "$1 exists"; }

# tree_snapshot DIR: one line per entry below DIR (path, type, mode,
# owner, size, link count, mtime, symlink target, sha256 of regular files),
# sorted; two snapshots that compare equal mean nothing in DIR changed.
tree_snapshot() {
    (
        cd "$1" || exit 1
        find . -printf '%p\t%y\t%#m\t%U:%G\t%s\t%n\t%T@\t%l\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

# fixtures: build (once, cached) the images of tests/tools/mkimages.sh and
# set FIX to their directory, and the variables of $FIX/info.env.
fixtures() {
    FIX=${MD_FIXTURES:-/var/tmp/minidock-fixtures}
    local rc=0
    "$MD_TOOLS/mkimages.sh" "$FIX" >"$T/mkimages.log" 2>&1 || rc=$?
    if [ "$rc" = 77 ]; then
        skip "fixtures: $(tail -n 1 "$T/mkimages.log")"
    elif [ "$rc" != 0 ]; then
        cat "$T/mkimages.log" >&2
        fail "tests/tools/mkimages.sh failed"
    fi
    # shellcheck disable=SC1091
    . "$FIX/info.env"
}

# hostile_fixtures: build (once, cached) tests/tools/hostile.py's corpus into
# $HOSTILE.
hostile_fixtures() {
    HOSTILE=${MD_FIXTURES:-/var/tmp/minidock-fixtures}-hostile
    local sum
    sum=$(sha256sum "$MD_TOOLS/hostile.py" | cut -d' ' -f1)
    if [ "$(cat "$HOSTILE/.done" 2>/dev/null)" != "$sum" ]; then
        rm -rf "$HOSTILE.new"
        "$PY" "$MD_TOOLS/hostile.py" "$HOSTILE.new" >&2 || fail "hostile.py failed"
        echo "$sum" >"$HOSTILE.new/.done"
        rm -rf "$HOSTILE"
        mv "$HOSTILE.new" "$HOSTILE"
    fi
}

# treecmp ARGS: tests/tools/treecmp.py.
treecmp() { "$PY" "$MD_TOOLS/treecmp.py" "$@"; }

# image_lowerdirs IMAGE: the image's layer dirs, top first, one a line.
image_lowerdirs() {
    local l
    l=$(md_ok image inspect -f '{{.GraphDriver.Data.LowerDir}}' "$1")
    [ -n "$l" ] || fail "empty LowerDir for $1"
    tr ':' '\n' <<<"$l"
}

# mount_image IMAGE DIR: mount the image's layers read-only as overlayfs on
# DIR (created), as a container would see them.
mount_image() {
    local lower
    lower=$(md_ok image inspect -f '{{.GraphDriver.Data.LowerDir}}' "$1")
    [ -n "$lower" ] || fail "empty LowerDir for $1"
    case $lower in
    *:*) ;;
    *) # overlayfs wants two lower dirs when there is no upper dir
        mkdir -p "$T/empty-lower"
        lower=$lower:$T/empty-lower ;;
    esac
    mkdir -p "$2"
    mount -t overlay overlay -o "ro,lowerdir=$lower" "$2" ||
        fail "cannot mount $1 (lowerdir=$lower)"
}

# chain_ids DIFF_ID...: the OCI ChainIDs, one a line ("sha256:...").
chain_ids() {
    local chain=
    for d in "$@"; do
        if [ -z "$chain" ]; then
            chain=$d
        else
            chain=sha256:$(printf '%s %s' "$chain" "$d" | sha256sum | cut -d' ' -f1)
        fi
        echo "$chain"
    done
}

# store_clean: the store holds no image, layer or staging leftover, and
# `system check` is happy with it.
store_clean() {
    local ids
    ids=$(md_ok images -a -q) || fail "images -a -q failed"
    [ -z "$ids" ] || fail "store not empty: images $ids"
    if [ -d "$MINIDOCK_ROOT/layers" ]; then
        [ -z "$(ls -A "$MINIDOCK_ROOT/layers")" ] ||
            fail "layer dirs left: $(ls "$MINIDOCK_ROOT/layers" | head -n 5)"
    fi
    if [ -d "$MINIDOCK_ROOT/tmp" ]; then
        [ -z "$(ls -A "$MINIDOCK_ROOT/tmp")" ] ||
            fail "staging left in tmp/: $(ls -A "$MINIDOCK_ROOT/tmp" | head -n 5)"
    fi
    md_ok system check >/dev/null
}

# ---- containers (tests/integration/2*.sh)
#
# A test that starts containers calls ctr_setup first.  It gives the test a
# cgroup parent of its own and, however the test ends, ctr_teardown removes
# what the test's containers may have left: containers, processes, mounts,
# cgroups.  The test itself should still end with assert_clean, which fails
# when anything was left after its own `rm`: the teardown is a safety net
# for the machine, not a way to make a leaking minidock pass.

# ctr_setup [N]: export MINIDOCK_CGROUP_PARENT=mdtest-<pid>-<N> (unique to
# this test; N defaults to 0, a test may switch to another parent with
# another N) and arrange for ctr_teardown to run when the test exits.
ctr_setup() {
    require_root
    export MINIDOCK_CGROUP_PARENT=mdtest-$$-${1:-0}
    CTR_PARENTS=${CTR_PARENTS:-}" $MINIDOCK_CGROUP_PARENT"
    trap 'ctr_teardown' EXIT
    trap 'exit 143' TERM
}

# cgroup_parent_dirs [PARENT]: the directories of PARENT (default: this
# test's) in every cgroup hierarchy (v1 controllers, the v2 unified one or a
# pure v2 root), one a line.
cgroup_parent_dirs() {
    local p=${1:-$MINIDOCK_CGROUP_PARENT} d
    for d in /sys/fs/cgroup/*/"$p" /sys/fs/cgroup/unified/"$p" /sys/fs/cgroup/"$p"; do
        if [ -d "$d" ] && [ -e "$d/cgroup.procs" ]; then echo "$d"; fi
    done | sort -u
}

# cgroup_dir CONTROLLER ID: the container's cgroup dir in one v1 controller
# (memory, cpu, pids...), or in the v2 hierarchy for CONTROLLER "unified".
cgroup_dir() {
    local d=/sys/fs/cgroup/$1/$MINIDOCK_CGROUP_PARENT/$2
    [ -d "$d" ] || fail "no cgroup dir $d"
    echo "$d"
}

# ctr_teardown: remove everything the test's containers left (see above).
# Only touches processes in this test's cgroup parents or whose command line
# names $T, mounts under $T and the test's run root, and the test's cgroup
# parents.
ctr_teardown() {
    local id p d i pids
    trap - EXIT ERR
    set +eE
    if [ -x "$MINIDOCK" ] && [ -d "$MINIDOCK_ROOT" ]; then
        for id in $(timeout 20 "$MINIDOCK" ps -aq --no-trunc 2>/dev/null); do
            timeout 20 "$MINIDOCK" rm -f -v "$id" >/dev/null 2>&1
        done
    fi
    for i in 1 2 3 4 5 6 7 8 9 10; do
        pids=
        for p in $CTR_PARENTS; do
            for d in $(cgroup_parent_dirs "$p"); do
                find "$d" -name freezer.state -exec sh -c 'echo THAWED >"$1"' _ {} \; 2>/dev/null
                pids="$pids $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)"
            done
        done
        pids="$pids $(pgrep -f "$T" 2>/dev/null)"
        [ -z "${pids// /}" ] && break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.2
    done
    for d in "$T" "$MINIDOCK_RUNROOT"; do
        for i in 1 2 3 4 5; do
            awk -v t="$d" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
                sort -r | while read -r p; do umount -l "$p" 2>/dev/null; done
        done
    done
    for p in $CTR_PARENTS; do
        for i in 1 2 3 4 5 6 7 8 9 10; do
            for d in $(cgroup_parent_dirs "$p"); do
                find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
            done
            [ -z "$(cgroup_parent_dirs "$p")" ] && break
            sleep 0.2
        done
        [ -z "$(cgroup_parent_dirs "$p")" ] ||
            echo "warning: cgroup dirs left: $(cgroup_parent_dirs "$p" | tr '\n' ' ')" >&2
    done
}

# bb_image [NAME]: import the busybox fixture as NAME (default bb:latest).
bb_image() {
    fixtures
    md_ok import "$FIX/busybox-rootfs.tar" "${1:-bb:latest}" >/dev/null
}

# bb_user_image [NAME]: import (as NAME, default bbu:latest) the busybox
# fixture plus /etc/passwd, /etc/group (users root 0, alice 1000:1000 also
# in staff(50) and audio(29), bob 1001:1001), /tmp (1777), /home/alice
# (owned by alice), /noexec (a 0644 script), /w and /seed/hello.txt
# ("seed", owned by 1000:1000).
bb_user_image() {
    fixtures
    "$PY" - "$FIX/busybox-rootfs.tar" "$T/bbu.tar" <<'PYEOF'
import io, shutil, sys, tarfile
shutil.copyfile(sys.argv[1], sys.argv[2])
def add(t, name, data=None, mode=0o644, uid=0, gid=0, kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, 1577836800
    if data is not None:
        ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if data is not None else None)
with tarfile.open(sys.argv[2], "a", format=tarfile.PAX_FORMAT) as t:
    add(t, "./etc", mode=0o755, kind=tarfile.DIRTYPE)
    add(t, "./etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
        b"alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
        b"bob:x:1001:1001:Bob:/:/bin/sh\n"
        b"nobody:x:65534:65534:nobody:/:/bin/false\n")
    add(t, "./etc/group", b"root:x:0:\naudio:x:29:alice\nstaff:x:50:alice,bob\n"
        b"alice:x:1000:\nbob:x:1001:\nnogroup:x:65534:\n")
    add(t, "./tmp", mode=0o1777, kind=tarfile.DIRTYPE)
    add(t, "./root", mode=0o700, kind=tarfile.DIRTYPE)
    add(t, "./home", mode=0o755, kind=tarfile.DIRTYPE)
    add(t, "./home/alice", mode=0o755, uid=1000, gid=1000, kind=tarfile.DIRTYPE)
    add(t, "./w", mode=0o755, kind=tarfile.DIRTYPE)
    add(t, "./noexec", b"#!/bin/sh\necho no\n", mode=0o644)
    add(t, "./seed", mode=0o750, uid=1000, gid=1000, kind=tarfile.DIRTYPE)
    add(t, "./seed/hello.txt", b"seed\n", uid=1000, gid=1000)
PYEOF
    md_ok import "$T/bbu.tar" "${1:-bbu:latest}" >/dev/null
}

# ctr_state NAME: the container's State.Status.
ctr_state() { md_ok inspect -f '{{.State.Status}}' "$1"; }

# ctr_pid NAME: the container's State.Pid (its process as the host sees
# it); fails unless it is a real process (never hand 0 or 1 to kill).
ctr_pid() {
    local pid
    pid=$(md_ok inspect -f '{{.State.Pid}}' "$1")
    [[ $pid =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] && [ -d "/proc/$pid" ] ||
        fail "container $1 has no process (State.Pid '$pid')"
    echo "$pid"
}

# wait_until SECONDS DESCRIPTION CMD...: run CMD every 0.1 s until it
# succeeds; fail naming DESCRIPTION after SECONDS.
wait_until() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "timed out after ${secs}s waiting for: $what"
}

# state_is NAME STATUS: the container's State.Status is STATUS (for wait_until).
state_is() { [ "$("$MINIDOCK" inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = "$2" ]; }

# assert_one_line_error: the last md call wrote exactly one line on stderr,
# starting with "minidock: ".
assert_one_line_error() {
    local err
    err=$(md_stderr)
    assert_match "$err" "^minidock: "
    assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines on stderr ($err)"
}

# assert_ctr_gone ID: nothing of container ID (full ID) is left: no mount
# naming it, no cgroup dir, no state dir in the data or run root.
assert_ctr_gone() {
    local id=$1 d
    [ ${#id} = 64 ] || fail "assert_ctr_gone wants a full ID, got '$id'"
    ! grep -q "$id" /proc/self/mountinfo || fail "mounts left for $id: $(grep "$id" /proc/self/mountinfo | cut -d' ' -f5)"
    for d in $(cgroup_parent_dirs); do
        assert_no_file "$d/$id"
    done
    assert_no_file "$MINIDOCK_ROOT/containers/$id"
    assert_no_file "$MINIDOCK_RUNROOT/containers/$id"
}

# assert_clean: nothing of the test's containers is left: none in ps -a, no
# mount under $T or the run root (but the test's own, listed in
# CLEAN_MOUNTS_OK as mount points), no cgroup dir below the test's parent in
# any hierarchy, no process in it or naming $T, no state under either
# root's containers/.
assert_clean() {
    local left d m
    left=$(md_ok ps -aq)
    [ -z "$left" ] || fail "containers left: $left"
    left=
    while read -r m; do
        case " ${CLEAN_MOUNTS_OK:-} " in *" $m "*) continue ;; esac
        left="$left $m"
    done < <(awk -v t="$T" -v r="$MINIDOCK_RUNROOT" '$5 == t || index($5, t "/") == 1 ||
        index($4, t "/") == 1 || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo)
    [ -z "$left" ] || fail "mounts left:$left"
    for d in $(cgroup_parent_dirs); do
        left=$(find "$d" -mindepth 1 -type d)
        [ -z "$left" ] || fail "cgroup dirs left: $left"
        left=$(cat "$d/cgroup.procs")
        [ -z "$left" ] || fail "processes left in $d: $left"
    done
    left=$(pgrep -af "$T" || true)
    [ -z "$left" ] || fail "processes left: $left"
    for d in "$MINIDOCK_ROOT/containers" "$MINIDOCK_RUNROOT/containers"; do
        [ ! -d "$d" ] || [ -z "$(ls -A "$d")" ] || fail "state left in $d: $(ls -A "$d")"
    done
}
