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
