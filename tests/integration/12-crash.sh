# shellcheck shell=bash
# Crash safety: `load` killed with SIGKILL at random moments and at each of
# its renames and syncs (strace's fault injection), `rm` at each of its
# renames, syncs and deletions, `volume prune` at each of its renames and
# deletions.  After every kill
# `system check` must pass without --repair (the leftovers of a dead writer
# are swept, not damage), the image being loaded must be there whole or not
# at all, and the image that was complete before must still be there, whole.
# Real damage must still be found after such a sweep.  At the end a normal
# load must succeed and give umoci's tree.
#
# The random kill comes after 0-300 ms, shortened to 1.5 times the length
# of an undisturbed load when that is shorter, so that most kills land
# inside the load.  The loops are bounded by count and by time.
#
# A full filesystem: the store on a small tmpfs of the test's own, filled
# by a file that leaves N pages free, for every N from 0 until the command
# succeeds.  A command that cannot complete must fail with one line naming
# the problem and leave the store as it was; `system check` passes either
# way.

CRASH_ITERATIONS=${MD_CRASH_ITERATIONS:-40}
CRASH_SECONDS=${MD_CRASH_SECONDS:-120}

_now_ms() { date +%s%3N; }

# _after_kill WHAT IMAGE_NAME IMAGE_ID KEEP_NAME KEEP_ID KEEP_DIRS: after a
# killed load of IMAGE_NAME, `system check` passes as it is, the image is
# whole (its ID, every layer dir) or absent, and KEEP is untouched.  A load
# that completed is undone, so that the next one starts afresh.
_after_kill() {
    local what=$1 name=$2 want=$3 keep=$4 keep_id=$5 keep_dirs=$6 id d listed
    "$MINIDOCK" system check >"$T/check.out" 2>&1 ||
        fail "$what: system check fails after the kill: $(grep -v '^note' "$T/check.out" | head -n 3)"
    [ -z "$(ls -A "$MINIDOCK_ROOT/tmp" 2>/dev/null)" ] ||
        fail "$what: tmp/ not empty after system check: $(ls -A "$MINIDOCK_ROOT/tmp")"
    listed=$(md_ok images --no-trunc --format '{{.Repository}} {{.ID}}' | awk -v n="$name" '$1 == n { print $2 }')
    if id=$("$MINIDOCK" inspect -f '{{.Id}}' "$name" 2>/dev/null); then
        assert_eq "$id" "$want" "$what: $name"
        assert_eq "$listed" "$want" "$what: $name in images"
        for d in $(image_lowerdirs "$name"); do
            [ -d "$d" ] || fail "$what: $name is listed, but its layer dir $d is missing"
        done
        md_ok rmi "$name" >/dev/null
    else
        assert_eq "$listed" "" "$what: $name in images, but not found by inspect"
    fi
    id=$("$MINIDOCK" inspect -f '{{.Id}}' "$keep" 2>&1) ||
        fail "$what: $keep is gone: $id"
    assert_eq "$id" "$keep_id" "$what: $keep"
    for d in $keep_dirs; do
        [ -d "$d" ] || fail "$what: layer dir $d of $keep is gone"
    done
}

# _crash_loop IMAGE_ARCHIVE IMAGE_NAME IMAGE_ID KEEP_NAME KEEP_ID
_crash_loop() {
    local archive=$1 name=$2 want=$3 keep=$4 keep_id=$5
    local keep_dirs i=0 start=$SECONDS killed=0 completed=0 t0 span delay rc
    keep_dirs=$(image_lowerdirs "$keep")

    # how long does an undisturbed load take here?
    t0=$(_now_ms)
    MINIDOCK_ROOT=$T/timing "$MINIDOCK" load -i "$archive" >/dev/null ||
        fail "undisturbed load failed"
    span=$(($(_now_ms) - t0))
    span=$((span * 3 / 2))
    [ "$span" -le 300 ] || span=300
    [ "$span" -ge 5 ] || span=5
    echo "undisturbed load: $((span * 2 / 3)) ms; kill delays 0-$span ms" >&2

    while [ "$i" -lt "$CRASH_ITERATIONS" ] && [ $((SECONDS - start)) -lt "$CRASH_SECONDS" ]; do
        i=$((i + 1))
        delay=$((RANDOM % (span + 1)))
        # its own session, so that the kill reaches any helper it forks
        setsid "$MINIDOCK" load -i "$archive" >/dev/null 2>"$T/load.err" &
        pid=$!
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        if [ "$rc" = 137 ]; then
            killed=$((killed + 1))
        elif [ "$rc" = 0 ]; then
            completed=$((completed + 1))
        else
            fail "iteration $i: load exited $rc: $(cat "$T/load.err")"
        fi
        _after_kill "iteration $i (kill after $delay ms)" "$name" "$want" "$keep" "$keep_id" "$keep_dirs"
    done
    echo "$i iterations: $killed killed, $completed completed" >&2

    md_ok load -i "$archive" >/dev/null
    md_ok system check >/dev/null
    [ -z "$(ls -A "$MINIDOCK_ROOT/tmp" 2>/dev/null)" ] || fail "tmp/ not empty after a normal load"
}

_tree_ok() {   # IMAGE REFERENCE
    mount_image "$1" "$T/mnt"
    treecmp "$T/mnt" "$2" || fail "tree of $1 differs from $2"
    umount "$T/mnt"
}

# timeout: 400
test_crash_during_load() {
    require_root
    fixtures
    # a complete image beforehand, sharing no layer with the one loaded
    id=$(md_ok import - keep:me <"$FIX/busybox-rootfs.tar")
    _crash_loop "$FIX/multi-docker.tar" test/multi "$MULTI_ID" keep:me "$id"
    _tree_ok test/multi "$FIX/rootfs-umoci"
    mkdir "$T/bbref"
    tar -xpf "$FIX/busybox-rootfs.tar" --numeric-owner -C "$T/bbref"
    _tree_ok keep:me "$T/bbref"
}

# The complete image shares its two lower layers with the one being loaded:
# the sweep must not take them for leftovers of the killed load.
# timeout: 400
test_crash_during_load_shared_layers() {
    require_root
    fixtures
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    CRASH_ITERATIONS=${MD_CRASH_ITERATIONS:-20}
    _crash_loop "$FIX/multi-docker.tar" test/multi "$MULTI_ID" test/child "$CHILD_ID"
    _tree_ok test/multi "$FIX/rootfs-umoci"
    _tree_ok test/child "$FIX/rootfs-child-umoci"
}

# A killed load must not get in the way of the next command: without any
# repair, the next load succeeds, and since tmp/ must be empty after any
# command that finished normally, the store then passes its check.
# timeout: 300
test_load_after_crash_without_repair() {
    require_root
    fixtures
    local i delay rc
    for i in $(seq 1 "${MD_CRASH_ITERATIONS_NOREPAIR:-10}"); do
        delay=$((RANDOM % 150))
        setsid "$MINIDOCK" load -i "$FIX/multi-docker.tar" >/dev/null 2>&1 &
        pid=$!
        sleep "$(printf '0.%03d' "$delay")"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" || true
        md_ok load -i "$FIX/multi-docker.tar" >/dev/null
        md system check >"$T/check.out" ||
            fail "iteration $i (kill after $delay ms): check after a normal load: $(head -n 3 "$T/check.out")"
        md_ok rmi test/multi >/dev/null
    done
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    _tree_ok test/multi "$FIX/rootfs-umoci"
}

# _count_calls SYSCALL ARGS: how often `minidock ARGS` makes SYSCALL.  The
# calls must all come from one process (else the test fails): strace's
# inject when=N, which _kill_at uses, counts each process's calls apart.
_count_calls() {
    local sc=$1 procs
    shift
    strace -f -qq -e trace="$sc" -o "$T/strace.out" "$MINIDOCK" "$@" >/dev/null 2>"$T/strace.err" ||
        fail "minidock $* failed under strace: $(tail -n 3 "$T/strace.err")"
    procs=$(awk -v c="$sc(" 'index($0, c) { print $1 }' "$T/strace.out" | sort -u | wc -l)
    [ "$procs" -le 1 ] || fail "minidock $* makes its $sc calls in $procs processes: _kill_at's when=N would count each apart"
    grep -c "$sc(" "$T/strace.out"
}

# _kill_at SYSCALL N ARGS: `minidock ARGS`, killed by SIGKILL at its Nth
# SYSCALL (strace's fault injection, before the call takes effect).
_kill_at() {
    local sc=$1 n=$2 rc=0
    shift 2
    strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when="$n" \
        "$MINIDOCK" "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" = 137 ] || fail "minidock $* with a SIGKILL at $sc #$n exited $rc"
}

# A load killed at each of its renames and syncs: every step of staging and
# of the commit (layers into layers/, the config blob, the index).
# timeout: 400
# native: counts system calls with strace, which would see the emulator's
test_crash_load_at_each_step() {
    require_root
    require_cmd strace
    fixtures
    local sc n i keep_dirs
    id=$(md_ok import - keep:me <"$FIX/busybox-rootfs.tar")
    keep_dirs=$(image_lowerdirs keep:me)
    for sc in rename fsync syncfs; do
        n=$(_count_calls "$sc" load -i "$FIX/multi-docker.tar")
        md_ok rmi test/multi >/dev/null
        [ "$n" -gt 0 ] || fail "load makes no $sc call"
        for ((i = 1; i <= n; i++)); do
            _kill_at "$sc" "$i" load -i "$FIX/multi-docker.tar"
            _after_kill "SIGKILL at $sc #$i of $n" test/multi "$MULTI_ID" keep:me "$id" "$keep_dirs"
        done
    done
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    _tree_ok test/multi "$FIX/rootfs-umoci"
}

# The sweep takes only what the dead writer left: a layer whose content
# changed and an image whose config blob is gone are still reported, and
# nothing of the killed load is.
# native: counts system calls with strace, which would see the emulator's
test_crash_sweep_keeps_real_damage() {
    require_root
    require_cmd strace
    fixtures
    local n rc out top f
    keep=$(md_ok import - keep:me <"$FIX/busybox-rootfs.tar")
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    # killed at its last rename, the index's: its top layer (the other two
    # are test/child's) and its config are in place, unnamed
    n=$(_count_calls rename load -i "$FIX/multi-docker.tar")
    md_ok rmi test/multi >/dev/null
    _kill_at rename "$n" load -i "$FIX/multi-docker.tar"
    [ -n "$(ls -A "$MINIDOCK_ROOT/tmp")" ] || fail "the killed load left no session"
    assert_eq "$(find "$MINIDOCK_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 5 "layer dirs after the kill"
    # real damage
    top=$(image_lowerdirs keep:me | head -n 1)
    f=$(find "$top" -type f -size +0 | head -n 1)
    [ -n "$f" ] || fail "no file in $top"
    echo damage >>"$f"
    rm "$MINIDOCK_ROOT/blobs/sha256/${CHILD_ID#sha256:}"
    rc=0
    out=$("$MINIDOCK" system check 2>&1) || rc=$?
    [ "$rc" = 1 ] || fail "system check exited $rc: $out"
    top=$(basename "$(dirname "$top")")
    assert_contains "$out" "problem: layer sha256:$top: "
    assert_contains "$out" "problem: image $keep: a layer is damaged"
    assert_contains "$out" "problem: image $CHILD_ID: config blob is missing"
    assert_eq "$(grep -c '^problem' <<<"$out")" 3 "problems reported: $out"
    assert_contains "$out" "left by a command that died, removed"
    # the killed load's leftovers went: its session, its layer, its config
    assert_eq "$(ls -A "$MINIDOCK_ROOT/tmp")" "" "tmp/ after system check"
    assert_eq "$(find "$MINIDOCK_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 4 "layer dirs after system check"
    assert_no_file "$MINIDOCK_ROOT/blobs/sha256/${MULTI_ID#sha256:}"
}

# rm killed at each of its renames, syncs and deletions: the container is
# there and whole, or gone, and system check passes as it is.
# timeout: 300
# native: counts system calls with strace, which would see the emulator's
test_crash_rm_at_each_step() {
    ctr_setup
    require_cmd strace
    bb_image
    local sc n i id
    for sc in rename fsync unlinkat; do
        md_ok create --network none --name victim bb true >/dev/null
        n=$(_count_calls "$sc" rm victim)
        [ "$n" -gt 0 ] || fail "rm makes no $sc call"
        for ((i = 1; i <= n; i++)); do
            id=$(md_ok create --network none --name victim bb true)
            _kill_at "$sc" "$i" rm victim
            md system check >"$T/check.out" ||
                fail "SIGKILL at $sc #$i of $n: system check fails: $(grep -v '^note' "$T/check.out" | head -n 3)"
            if "$MINIDOCK" inspect victim >/dev/null 2>&1; then
                # whole: its config and layer on the store (its state and
                # host files are the run root's, made by a start)
                assert_file "$MINIDOCK_ROOT/containers/$id/config.json"
                for f in upper work; do
                    [ -d "$MINIDOCK_ROOT/containers/$id/$f" ] || fail "SIGKILL at $sc #$i of $n: no $f/ in the container's directory"
                done
                md_ok rm victim >/dev/null
            fi
            assert_ctr_gone "$id"
        done
    done
    md_ok system check >/dev/null
    assert_clean
}

# volume prune killed at each of its renames and deletions: the volume's
# directory is whole (its metadata and every file) or gone, before any
# other command has swept, and system check passes as it is.
# native: counts system calls with strace, which would see the emulator's
test_crash_volume_prune_at_each_step() {
    require_root
    require_cmd strace
    local sc n i f d=$MINIDOCK_ROOT/volumes/victim
    _victim_volume() {
        md_ok volume create victim >/dev/null
        for f in 1 2 3 4 5 6; do echo "$f" >"$d/_data/f$f"; done
        mkdir "$d/_data/sub"
        echo x >"$d/_data/sub/g"
    }
    for sc in unlinkat rename; do
        _victim_volume
        n=$(_count_calls "$sc" volume prune -a -f) || n=0
        [ "$n" -gt 0 ] || fail "volume prune makes no $sc call"
        for ((i = 1; i <= n; i++)); do
            _victim_volume
            _kill_at "$sc" "$i" volume prune -a -f
            if [ -e "$d" ]; then
                for f in volume.json _data/f1 _data/f2 _data/f3 _data/f4 _data/f5 _data/f6 _data/sub/g; do
                    [ -e "$d/$f" ] || fail "SIGKILL at $sc #$i of $n: half a volume left, $f is gone"
                done
            fi
            md system check >"$T/check.out" ||
                fail "SIGKILL at $sc #$i of $n: system check fails: $(grep -v '^note' "$T/check.out" | head -n 3)"
            md_ok volume rm -f victim >/dev/null
        done
    done
    assert_no_file "$d"
}

# ---- a full filesystem

# _small_fs: the store on a 16 MiB tmpfs of the test's own ($T/fs).
_small_fs() {
    require_cmd fallocate
    mkdir -p "$T/fs"
    mount -t tmpfs -o size=16m,mode=0755 mdtest "$T/fs" || fail "cannot mount a tmpfs on $T/fs"
    export MINIDOCK_ROOT=$T/fs/root
    CLEAN_MOUNTS_OK="${CLEAN_MOUNTS_OK:-} $T/fs"
}

# _fill_leaving N: $T/fs/filler fills the filesystem but for N blocks.
_fill_leaving() {
    local free bs
    rm -f "$T/fs/filler"
    free=$(stat -f -c %f "$T/fs")
    bs=$(stat -f -c %S "$T/fs")
    [ "$free" -ge "$1" ] || fail "only $free blocks free, $1 wanted"
    : >"$T/fs/filler"
    if [ "$free" -gt "$1" ]; then
        fallocate -l $(((free - $1) * bs)) "$T/fs/filler"
    fi
    assert_eq "$(stat -f -c %f "$T/fs")" "$1" "blocks left free"
}

# rm on a full filesystem: its index write fails, and the container is
# untouched: listed, its name taken, its image in use, its directory whole.
# With every amount of free space from none until rm succeeds.  Then
# container prune, the same way.
# timeout: 200
test_full_disk_rm() {
    ctr_setup
    _small_fs
    local n rc
    bb_image
    id=$(md_ok create --network none --name victim bb true)
    md_ok create --network none --name other bb true >/dev/null
    for n in $(seq 0 32); do
        _fill_leaving "$n"
        rc=0
        md rm victim >/dev/null || rc=$?
        [ "$rc" != 0 ] || break
        assert_eq "$rc" 1 "exit status of rm with $n blocks free"
        assert_one_line_error
        assert_contains "$(md_stderr)" "No space left on device"
        assert_eq "$(md_ok ps -a --format '{{.Names}}' | sort | tr '\n' ' ')" "other victim " "ps -a with $n blocks free"
        assert_eq "$(md_ok inspect -f '{{.Id}}' victim)" "$id"
        assert_file "$MINIDOCK_ROOT/containers/$id/config.json"
        md_fail 1 rename other victim
        assert_contains "$(md_stderr)" "already in use"
        md_fail 1 rmi bb
        assert_contains "$(md_stderr)" "conflict"
        md_ok system check >/dev/null
    done
    [ "$rc" = 0 ] || fail "rm failed with every amount of free space up to $n blocks"
    [ "$n" -gt 0 ] || fail "rm succeeded on a full filesystem"
    assert_ctr_gone "$id"
    md_ok system check >/dev/null
    rm "$T/fs/filler"
    # container prune
    _fill_leaving 0
    md_fail 1 container prune -f
    assert_contains "$(md_stderr)" "No space left on device"
    assert_eq "$(md_ok ps -a --format '{{.Names}}')" other
    md_ok system check >/dev/null
    rm "$T/fs/filler"
    md_ok container prune -f >/dev/null
    md_ok system check >/dev/null
    assert_clean
}

# _store_state: what a failed command must leave as it was.
_store_state() {
    (cd "$MINIDOCK_ROOT" && ls -A . layers blobs/sha256 tmp && cat index.json)
}

# import (a small tar) on a full filesystem, with every amount of free space
# from none until it succeeds: a failure (also at the index write, after
# the layer and config are in place) leaves the store as it was.
# timeout: 200
test_full_disk_import() {
    require_root
    _small_fs
    local n rc before at_index=0
    bb_image
    mkdir "$T/tiny"
    echo hello >"$T/tiny/hello"
    tar -C "$T/tiny" -cf "$T/tiny.tar" .
    before=$(_store_state)
    for n in $(seq 0 48); do
        _fill_leaving "$n"
        rc=0
        md import "$T/tiny.tar" tiny >/dev/null || rc=$?
        [ "$rc" != 0 ] || break
        assert_eq "$rc" 1 "exit status of import with $n blocks free"
        assert_one_line_error
        assert_contains "$(md_stderr)" "No space left on device"
        case $(md_stderr) in *index.json*) at_index=1 ;; esac
        assert_eq "$(_store_state)" "$before" "the store after import failed with $n blocks free"
        md_ok system check >/dev/null
    done
    [ "$rc" = 0 ] || fail "import failed with every amount of free space up to $n blocks"
    [ "$at_index" = 1 ] || fail "no import failed at its index write"
    md_ok inspect tiny >/dev/null
    rm "$T/fs/filler"
    md_ok system check >/dev/null
}
