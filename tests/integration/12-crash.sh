# shellcheck shell=bash
# Crash safety: `load` killed with SIGKILL at random moments.  After every
# kill `system check` must pass, or pass after `system check --repair`, and
# the image that was complete before must still be there, whole.  At the end
# a normal load must succeed and give umoci's tree.
#
# The kill comes after a random 0-300 ms, shortened to 1.5 times the length
# of an undisturbed load when that is shorter, so that most kills land
# inside the load.  The loop is bounded by count and by time.

CRASH_ITERATIONS=${MD_CRASH_ITERATIONS:-40}
CRASH_SECONDS=${MD_CRASH_SECONDS:-120}

_now_ms() { date +%s%3N; }

# _crash_loop IMAGE_ARCHIVE IMAGE_NAME KEEP_NAME KEEP_ID
_crash_loop() {
    local archive=$1 name=$2 keep=$3 keep_id=$4
    local keep_dirs i=0 start=$SECONDS killed=0 completed=0 repaired=0 t0 span delay rc
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
        if ! "$MINIDOCK" system check >"$T/check.out" 2>&1; then
            echo "iteration $i (kill after $delay ms): check: $(head -n 3 "$T/check.out")" >&2
            "$MINIDOCK" system check --repair >"$T/repair.out" 2>&1 ||
                fail "iteration $i: repair failed: $(tail -n 3 "$T/repair.out")"
            "$MINIDOCK" system check >"$T/check.out" 2>&1 ||
                fail "iteration $i: check fails after repair: $(head -n 3 "$T/check.out")"
            repaired=$((repaired + 1))
            [ -z "$(ls -A "$MINIDOCK_ROOT/tmp" 2>/dev/null)" ] ||
                fail "iteration $i: tmp/ not empty after repair"
        fi
        # the complete image is still complete
        id=$("$MINIDOCK" inspect -f '{{.Id}}' "$keep" 2>&1) ||
            fail "iteration $i: $keep is gone: $id"
        assert_eq "$id" "$keep_id" "iteration $i: $keep"
        for d in $keep_dirs; do
            [ -d "$d" ] || fail "iteration $i: layer dir $d of $keep is gone"
        done
        # a load that completed is undone, so that the next one starts afresh
        if "$MINIDOCK" inspect "$name" >/dev/null 2>&1; then
            md_ok rmi "$name" >/dev/null
        fi
    done
    echo "$i iterations: $killed killed, $completed completed, $repaired repaired" >&2

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
    _crash_loop "$FIX/multi-docker.tar" test/multi keep:me "$id"
    _tree_ok test/multi "$FIX/rootfs-umoci"
    mkdir "$T/bbref"
    tar -xpf "$FIX/busybox-rootfs.tar" --numeric-owner -C "$T/bbref"
    _tree_ok keep:me "$T/bbref"
}

# The complete image shares its two lower layers with the one being loaded:
# a repair must not take them for leftovers of the killed load.
# timeout: 400
test_crash_during_load_shared_layers() {
    require_root
    fixtures
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    CRASH_ITERATIONS=${MD_CRASH_ITERATIONS:-20}
    _crash_loop "$FIX/multi-docker.tar" test/multi test/child "$CHILD_ID"
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
