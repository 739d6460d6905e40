# shellcheck shell=bash
# Hostile and corrupt layers (tests/tools/hostile.py): every load must fail
# cleanly, without a crash, naming the offending entry, leaving the store
# as it was (no image, no layer dir, nothing in tmp/) and everything outside
# the store untouched; the controls must load.  Each case gets a store of its
# own; a group runs all its cases and then names every case that failed.

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
