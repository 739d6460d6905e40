# shellcheck shell=bash
# Hostile and corrupt layers (tests/tools/hostile.py): every load must fail
# cleanly, without a crash, naming the offending entry, leaving the store
# as it was (no image, no layer dir, nothing in tmp/) and everything outside
# the store untouched; the controls must load.  Each case gets a store of its
# own; a group runs all its cases and then names every case that failed.
# At the end, images that run: mount points the image controls (symlinks at
# /proc, /dev, /sys, on a volume's way, or swapped in while it is mounted).

# _outside_state: what a hostile layer could have changed outside the store.
_outside_state() {
    tree_snapshot "$T/outside"
    stat -c '%n %h %s %Y %i' /etc/passwd
    sha256sum /etc/passwd
    for f in /tmp/evil /etc/evil /evil "$T/evil"; do
        if [ -e "$f" ] || [ -L "$f" ]; then echo "EXISTS $f"; fi
    done
}

_outside_setup() {
    mkdir -p "$T/outside/dir"
    echo canary >"$T/outside/file"
    echo canary >"$T/outside/dir/file"
    ln -s file "$T/outside/link"
    local f
    for f in /tmp/evil /etc/evil /evil; do
        if [ -e "$f" ] || [ -L "$f" ]; then
            fail "$f exists before the test (left by an earlier run?); remove it"
        fi
    done
}

# _hostile_case NAME EXPECTED: load one case and judge it.  Runs in a
# subshell whose caller reads its status, so every check calls fail itself.
_hostile_case() {
    local name=$1 expected=$2 rc=0 alt ok top
    export MINIDOCK_ROOT=$T/stores/$name/root MINIDOCK_RUNROOT=$T/stores/$name/run
    _outside_state >"$T/outside.before" || fail "cannot snapshot"
    "$MINIDOCK" load -i "$HOSTILE/$name.tar" >"$T/out" 2>"$T/err" || rc=$?
    sed "s/^/    [$name] /" "$T/err" >&2
    [ "$rc" -lt 126 ] || fail "$name: minidock crashed or did not run (exit $rc)"
    _outside_state >"$T/outside.after" || fail "cannot snapshot"
    if ! diff "$T/outside.before" "$T/outside.after" >&2; then
        # they did not exist when the group started: remove them, so that
        # the escape is reported once and later cases still mean something
        rm -rf /tmp/evil /etc/evil /evil
        fail "$name: something outside the store changed"
    fi
    case $expected in
    OK)
        [ "$rc" = 0 ] || fail "$name: control case failed to load: $(cat "$T/err")"
        top=$(image_lowerdirs "hostile/$name:latest" | head -n 1) || exit 1
        case ${name%-gz} in
        control-dangling-abs-symlink)
            [ "$(readlink "$top/etc/passwd-link")" = /etc/passwd ] ||
                fail "$name: symlink not kept" ;;
        control-dotdot-prefix-name)
            [ -f "$top/..foo" ] && [ -f "$top/harmless/..bar" ] ||
                fail "$name: ..foo missing" ;;
        control-dot-components)
            [ -f "$top/a/b" ] || fail "$name: a/b missing" ;;
        control-whiteout-device)
            [ "$(stat -c '%F %t/%T' "$top/gone")" = "character special file 0/0" ] ||
                fail "$name: whiteout device not kept" ;;
        control-file-replaces-symlink)
            [ -f "$top/link" ] && [ ! -L "$top/link" ] &&
                [ "$(cat "$top/link")" = replaced ] ||
                fail "$name: file did not replace the symlink" ;;
        control-symlink-up)
            [ "$(readlink "$top/up")" = .. ] || fail "$name: symlink not kept" ;;
        esac
        md_ok system check >/dev/null
        return 0
        ;;
    ANY)
        [ "$rc" = 0 ] && return 0
        ;;
    *)
        [ "$rc" != 0 ] || fail "$name: hostile archive loaded"
        [ "$(wc -l <"$T/err")" = 1 ] || fail "$name: error is not one line"
        grep -q '^minidock: load: ' "$T/err" ||
            fail "$name: error does not start with 'minidock: load: '"
        if [ "$expected" != "*" ]; then
            ok=
            IFS='|' read -r -a alts <<<"$expected"
            for alt in "${alts[@]}"; do
                grep -qF -- "$alt" "$T/err" && ok=1
            done
            [ -n "$ok" ] || fail "$name: error does not name '$expected'"
        fi
        ;;
    esac
    # a failed load leaves nothing behind
    store_clean
    if [ -d "$MINIDOCK_ROOT" ]; then
        found=$(find "$MINIDOCK_ROOT" -name 'evil*' | head -n 3)
        [ -z "$found" ] || fail "$name: left in the store: $found"
    fi
}

# _hostile_group PREFIX: every case whose name starts with PREFIX.
_hostile_group() {
    require_root
    hostile_fixtures
    _outside_setup
    local name expected desc n=0 bad=
    while IFS=$'\t' read -r name expected desc; do
        case $name in "$1"*) ;; *) continue ;; esac
        n=$((n + 1))
        echo "--- $name: $desc (expect: $expected)" >&2
        if ! (_hostile_case "$name" "$expected"); then
            bad="$bad $name"
        fi
    done <"$HOSTILE/cases.tsv"
    [ "$n" -gt 0 ] || fail "no case starts with $1"
    [ -z "$bad" ] || fail "failed cases:$bad"
    echo "$n cases" >&2
}

test_hostile_paths() { _hostile_group path-; }
test_hostile_symlinks() { _hostile_group symlink-; }
test_hostile_hardlinks() { _hostile_group hardlink-; }
test_hostile_whiteouts() { _hostile_group whiteout-; }
test_hostile_devices() { _hostile_group device-; }
test_hostile_controls() { _hostile_group control-; }
test_hostile_corrupt() { _hostile_group corrupt-; }

# Loading a hostile archive into a store that already holds an image must
# leave that image alone.
test_hostile_keeps_existing_images() {
    require_root
    fixtures
    hostile_fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    local before
    before=$(tree_snapshot "$MINIDOCK_ROOT/layers")
    for name in path-dotdot symlink-abs-then-file corrupt-truncated-layer; do
        md_fail any load -i "$HOSTILE/$name.tar"
    done
    assert_eq "$(md_ok images -a -q --no-trunc)" "$MULTI_ID"
    [ "$(tree_snapshot "$MINIDOCK_ROOT/layers")" = "$before" ] ||
        fail "layers/ changed"
    md_ok system check >/dev/null
}

# ---- hostile images that run: mount points the image controls

# _bb_hostile NAME ENTRY...: the busybox fixture plus each ENTRY at the top
# of the image (NAME=TARGET a symlink, NAME alone a regular file),
# imported as NAME:latest.
_bb_hostile() {
    local img=$1 e n
    local -a names=()
    shift
    fixtures
    mkdir "$T/$img.d"
    cp "$FIX/busybox-rootfs.tar" "$T/$img.tar"
    for e in "$@"; do
        n=${e%%=*}
        if [ "$n" = "$e" ]; then echo hostile >"$T/$img.d/$n"; else ln -s "${e#*=}" "$T/$img.d/$n"; fi
        names+=("./$n")
    done
    tar -C "$T/$img.d" --owner=0 --group=0 -rf "$T/$img.tar" "${names[@]}"
    md_ok import "$T/$img.tar" "$img" >/dev/null
}

# /proc, /dev and /sys are where the kernel's filesystems go.  An image
# that puts a symlink (or a file) there is refused with one line naming the
# path: mounting through the link put procfs or the /dev tmpfs where it
# pointed (outside the root: the runc CVE-2019-19921 class) and the
# container ran with no /proc or with its devices in /etc.
# native: starts containers (their monitor is this binary exec'd again)
test_hostile_run_kernel_dirs() {
    ctr_setup
    mkdir "$T/outside"
    local up=../../../../../../../../.. spec img entry dir bad=
    for spec in "proc-abs proc=/$up$T/outside" "proc-rel proc=$up$T/outside" "proc-file proc" \
        "dev-etc dev=/etc" "dev-rel dev=$up$T/outside" "sys-abs sys=/$up$T/outside" "sys-rel sys=$up/etc"; do
        read -r img entry <<<"$spec"
        _bb_hostile "$img" "$entry"
        dir=/${entry%%=*}
        echo "--- $img: $entry" >&2
        # what the container sees, should it start
        if ! (md_fail 125 run --rm --network none "$img" sh -c \
            "ls -ld $dir; head -n 1 /proc/self/status; ls $dir | head -n 3" &&
            assert_one_line_error &&
            assert_contains "$(md_stderr)" "minidock: run: $dir in the image is "); then
            bad="$bad $img"
        fi
    done
    [ -z "$bad" ] || fail "not refused:$bad"
    assert_eq "$(ls -A "$T/outside")" "" "files made outside"
    assert_clean
}

# A volume whose destination goes through a symlink of the image works as
# in Docker: the link is followed inside the container's root, wherever it
# points, so nothing lands outside.
# native: starts containers (their monitor is this binary exec'd again)
test_hostile_run_volume_through_symlink() {
    ctr_setup
    mkdir "$T/outside" "$T/src"
    echo from-host >"$T/src/f"
    local up=../../../../../../../../..
    _bb_hostile vlink "data=/$up$T/outside" "rel=$up$T/outside/r"
    out=$(md_ok run --rm --network none -v "$T/src:/data/sub" -v "$T/src:/rel/sub:ro" vlink \
        sh -c "cat /data/sub/f /rel/sub/f; ls -d $T/outside/sub $T/outside/r/sub")
    assert_eq "$out" "$(printf 'from-host\nfrom-host\n%s\n%s' "$T/outside/r/sub" "$T/outside/sub")"
    assert_eq "$(ls -A "$T/outside")" "" "files made outside"
    assert_clean
}

# The race between checking a mount point and mounting on it: a volume's
# destination inside another volume (shared with the host, or with another
# container) is swapped for a symlink that leads out after minidock looked
# at it.  A write lease on a file there makes the timing exact: the copy of
# the image's files into the new volume opens it, the lease holder is told,
# swaps the directory for the symlink and lets the copy go on.  Following
# the symlink then mounted the new volume outside the root, where the
# container never sees it; now the mount goes onto the directory that was
# checked (and copied from), or the run is refused.
# native: starts containers (their monitor is this binary exec'd again)
test_hostile_run_volume_swapped() {
    ctr_setup
    bb_image
    md_ok volume create shared >/dev/null
    mp=$(md_ok volume inspect -f '{{.Mountpoint}}' shared)
    mkdir "$mp/sub" "$T/outside"
    echo data >"$mp/sub/aaa"
    "$PY" - "$mp/sub" "/../../../../../../../../..$T/outside" "$T/ready" <<'PYEOF' &
import fcntl, os, signal, sys
sub, target, ready = sys.argv[1:4]
fd = os.open(sub + "/aaa", os.O_RDWR)
def on_break(sig, frame):
    os.rename(sub, sub + ".old")
    os.symlink(target, sub)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    os._exit(0)
signal.signal(signal.SIGIO, on_break)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
open(ready, "w").close()
signal.alarm(60)
while True:
    signal.pause()
PYEOF
    lease=$!
    wait_until 20 "the lease on $mp/sub/aaa" test -e "$T/ready"
    rc=0
    md run --rm --network none -v shared:/v --mount type=volume,src=fresh,dst=/v/sub bb \
        sh -c 'touch /v/sub.old/from-ctr /v/sub/from-ctr 2>/dev/null; mount | grep " /v"; true' || rc=$?
    kill "$lease" 2>/dev/null || true
    wait "$lease" || true
    [ -L "$mp/sub" ] || fail "no race: the copy never opened $mp/sub/aaa"
    fresh=$(md_ok volume inspect -f '{{.Mountpoint}}' fresh)
    if [ "$rc" = 0 ]; then
        assert_file "$fresh/from-ctr"
    else
        assert_eq "$rc" 125
        assert_one_line_error
    fi
    assert_eq "$(ls -A "$T/outside")" "" "files made outside"
    assert_clean
}
