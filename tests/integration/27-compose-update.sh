# shellcheck shell=bash
# Updates of compose projects (issue 15): each `compose up -d` records a
# revision; an update replaces only the changed services, keeps the
# previous containers, commits once the changed services have stayed
# healthy, rolls back by itself otherwise; a SIGKILL (MINIDOCK_CRASH_AT, a
# test hook that raises SIGKILL at a named step) or a power cut at any step
# leaves the committed revision to `minidock boot`. Helpers (_cp_setup, mc,
# _power_cut) are 26-compose.sh's; every test runs minidock in a network
# namespace of its own.

# shellcheck source=26-compose.sh
. "$MD_REPO/tests/integration/26-compose.sh"

# _app VERSION [HEALTH] [WEBCMD]: the project's file: db (unchanged by
# updates) and web, whose environment says VERSION, with a healthcheck
# (HEALTH, default: passes) and a command (default: sleeps).
_app() {
    cat >"$P/compose.yaml" <<YAML
x-minidock: {commit-after: 1s, commit-timeout: 20s}
services:
  db:
    image: bb
    command: sleep 300
  web:
    image: ${IMG:-bb}
    command: ${3:-sleep 300}
    environment: {VERSION: "$1"}
    restart: ${RESTART:-unless-stopped}
    depends_on: [db]
    healthcheck:
      test: ["CMD-SHELL", "${2:-true}"]
      interval: 0.3s
      retries: 2
YAML
}

_id() { md_ok inspect -f '{{.Id}}' "$1"; }
_env() { md_ok inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sed -n 's/^VERSION=//p'; }
_hist() { mc history --format json | jq -r '.[] | "\(.Revision):\(.State)"' | tr '\n' ' '; }

# kept containers (ID12_NAME) and what the project shows
_no_kept() {
    local left
    left=$(md_ok ps -a --format '{{.Names}}' | grep -E '^[0-9a-f]{12}_' || true)
    [ -z "$left" ] || fail "containers kept by an update are left: $left"
}

test_compose_update_commits_when_healthy() {
    _cp_setup
    bb_image
    _app 1
    mc up -d >/dev/null
    assert_eq "$(_hist)" "1:committed "
    local db web
    db=$(_id app-db-1) web=$(_id app-web-1)
    _app 2
    mc up -d >/dev/null
    assert_contains "$(md_stderr)" "Container app-web-1  Recreate"
    assert_eq "$(_hist)" "2:committed 1:replaced "
    assert_eq "$(_id app-db-1)" "$db" "db, unchanged, was made again"
    [ "$(_id app-web-1)" != "$web" ] || fail "web was not made again"
    assert_eq "$(_env app-web-1)" 2
    assert_eq "$(mc history --format json | jq -c '.[0].Changed')" '["web"]'
    _no_kept
    # nothing changed: no revision
    mc up -d >/dev/null
    assert_eq "$(_hist)" "2:committed 1:replaced "
    # rollback (to the revision the committed one replaced): a new revision, committed
    out=$(mc rollback)
    assert_contains "$out" "revision 1 brought back"
    assert_eq "$(_env app-web-1)" 1
    assert_eq "$(_hist)" "3:committed 2:replaced 1:replaced "
    mc_fail 1 rollback 3
    assert_contains "$(md_stderr)" "revision 3 is the one running"
    mc_fail 1 rollback 9
    assert_contains "$(md_stderr)" "has no revision 9"
    # a service added, then taken out (--remove-orphans): each a revision;
    # boot after a power cut does not bring the removed one back
    _app 1
    printf '  extra:\n    image: bb\n    command: sleep 300\n' >>"$P/compose.yaml"
    mc up -d >/dev/null
    assert_eq "$(mc history --format json | jq -r '.[0] | "\(.Revision) \(.State) \(.Changed | join(","))"')" "4 committed extra"
    _app 1
    mc up -d --remove-orphans >/dev/null
    md_fail any inspect app-extra-1
    assert_eq "$(mc history -q | head -n 1)" 5
    _power_cut
    md_ok boot >/dev/null
    assert_eq "$(md_ok ps --format '{{.Names}}' | sort | tr '\n' ' ')" "app-db-1 app-web-1 "
    mc down -t 1 >/dev/null 2>&1
    mc_fail 1 history
    assert_contains "$(md_stderr)" "has no revisions"
    assert_clean
}

# An update whose healthcheck fails, one that exits at start, one that
# restarts: each rolled back, the previous container serving again under
# its name, the revision recorded with the reason; the same update again
# is refused unless --force.
test_compose_update_rolls_back() {
    _cp_setup
    bb_image
    _app 1
    mc up -d >/dev/null
    local web
    web=$(_id app-web-1)
    _app 2 'echo not ready yet; exit 1'
    mc_fail 1 up -d
    assert_eq "$(md_stderr | tail -n 1)" 'minidock: compose up: revision 2 rolled back to 1: service "web" is unhealthy; its last check said: not ready yet'
    assert_eq "$(_id app-web-1)" "$web" "the previous web container"
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.Name}}' app-web-1)" "running /app-web-1"
    assert_eq "$(md_ok ps -a -q | wc -l)" 2 "containers after the rollback"
    assert_eq "$(_hist)" "2:rolled back 1:committed "
    assert_contains "$(mc history)" "not ready yet"
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" "revision 2 again, which was rolled back"
    mc_fail 1 up -d --force
    assert_contains "$(md_stderr)" "revision 3 rolled back to 1"
    assert_eq "$(_id app-web-1)" "$web"
    # exits at start (no restart policy): rolled back
    RESTART='"no"' _app 4 true 'sh -c "exit 3"'
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" 'service "web" exited (code 3)'
    assert_eq "$(_id app-web-1)" "$web"
    # exit 0 too, unless a dependant waits for it to complete (a job)
    RESTART='"no"' _app 41 true 'sh -c "exit 0"'
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" 'service "web" exited (code 0)'
    assert_eq "$(_id app-web-1)" "$web"
    # keeps restarting: rolled back
    RESTART=always _app 5 true 'sh -c "exit 4"'
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" 'service "web"'
    assert_eq "$(_id app-web-1)" "$web"
    assert_eq "$(md_ok inspect -f '{{.State.Status}}' app-web-1)" running
    _no_kept
    # a pull that fails: nothing running is touched, no revision
    IMG=127.0.0.1:9/nothing:1 _app 6
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" 'service "web"'
    assert_eq "$(_id app-web-1)" "$web"
    assert_eq "$(md_ok inspect -f '{{.State.Status}}' app-web-1)" running
    assert_eq "$(mc history -q | head -n 1)" 6 "a revision recorded for a failed pull"
    mc down -t 1 >/dev/null 2>&1
    assert_clean
}

# SIGKILL of `compose up` at each step of an update (after the pull, after
# the old container was stopped and kept, after the new one started, once
# healthy but before the commit), then `minidock boot`, with and without a
# power cut: the committed revision runs, nothing is kept, the store checks.
# timeout: 400
test_compose_update_killed_at_each_step() {
    _cp_setup
    bb_image
    _app 1
    mc up -d >/dev/null
    local step web n=1 cut
    for step in pulled kept started watched; do
        for cut in 0 1; do
            web=$(_id app-web-1)
            n=$((n + 1))
            _app "$n"
            local rc=0
            MINIDOCK_CRASH_AT=$step "$MINIDOCK" compose --project-directory "$P" up -d >/dev/null 2>&1 || rc=$?
            assert_eq "$rc" 137 "compose up killed at $step"
            [ "$cut" = 0 ] || _power_cut
            out=$(md_ok boot)
            assert_contains "$out" "started compose project app"
            assert_eq "$(_env app-web-1)" 1 "web's revision after a kill at $step (power cut: $cut)"
            assert_eq "$(md_ok inspect -f '{{.State.Status}}' app-web-1 app-db-1 | tr '\n' ' ')" "running running " "after a kill at $step"
            assert_eq "$(_id app-web-1)" "$web" "the previous container after a kill at $step (power cut: $cut)"
            _no_kept
            assert_eq "$(mc history --format json | jq -r '.[0].State')" \
                "$([ "$step" = pulled ] && echo committed || echo "rolled back")" "the revision after a kill at $step"
            md_ok system check >/dev/null || fail "system check after a kill at $step: $(md_stderr)"
        done
    done
    mc down -t 1 >/dev/null 2>&1
    assert_clean
}

# A revision brought back runs its own image though its tag moved since;
# boot runs the committed revision, not a file edited since.
test_compose_update_pins_images() {
    _cp_setup
    bb_image
    md_ok run --network none --name mk bb touch /marker >/dev/null
    md_ok commit mk bb:2 >/dev/null
    md_ok rm mk >/dev/null
    local v1 v2
    v1=$(md_ok image inspect -f '{{.Id}}' bb) v2=$(md_ok image inspect -f '{{.Id}}' bb:2)
    IMG=app:tag _app 1
    md_ok tag bb app:tag
    mc up -d >/dev/null
    md_ok tag bb:2 app:tag
    mc up -d >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Image}}' app-web-1)" "$v2" "the moved tag's image"
    assert_eq "$(_hist)" "2:committed 1:replaced "
    mc rollback 1 >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Image}}' app-web-1)" "$v1" "revision 1's image, not the tag's"
    # the file edited, not brought up; a power cut; boot runs what was committed
    IMG=app:tag _app 99
    _power_cut
    md_ok boot >/dev/null
    assert_eq "$(_env app-web-1)" 1
    assert_eq "$(md_ok inspect -f '{{.Image}}' app-web-1)" "$v1"
    mc down -t 1 >/dev/null 2>&1
    md_ok rmi app:tag bb:2 >/dev/null
    assert_clean
}

# The flash budget on a small loop-mounted ext4 store: past the high-water
# mark an import removes images, least recently wanted first, down to the
# low mark; never a pinned image, one a container uses, or one of a compose
# project's committed and previous revisions. `system df` lists what would go.
# timeout: 400
test_compose_flash_budget_gc() {
    _cp_setup
    require_cmd mkfs.ext4
    truncate -s 40M "$T/fs.img"
    mkfs.ext4 -q -F "$T/fs.img"
    mkdir -p "$T/small"
    mount -o loop "$T/fs.img" "$T/small"
    export MINIDOCK_ROOT=$T/small/root MINIDOCK_GC_HIGH=100
    bb_image
    local i
    for i in 1 2 3 4 5 6; do # each: busybox and 3 MB of its own
        md_ok run --network none --name "w$i" bb sh -c "head -c 3000000 /dev/urandom >/blob$i" >/dev/null
        md_ok commit "w$i" "img$i:1" >/dev/null
        md_ok rm "w$i" >/dev/null
        sleep 0.01
    done
    md_ok image pin img1:1 >/dev/null
    md_ok create --network none --name holder img2:1 true >/dev/null
    printf 'x-minidock: {commit-after: 0s}\nservices:\n  web:\n    image: img3:1\n    command: sleep 300\n    network_mode: none\n' >"$P/compose.yaml"
    mc up -d >/dev/null 2>&1
    sed -i 's/img3:1/img4:1/' "$P/compose.yaml"
    mc up -d >/dev/null 2>&1
    assert_eq "$(mc history -q | tr '\n' ' ')" "2 1 "
    out=$(md_ok system df)
    assert_match "$(tr '\n' ' ' <<<"$out")" "Flash budget: off .* img5:1 .* img6:1 "
    ! grep -qE 'img[1-4]:1|bb:latest' <<<"$(sed -n '/Flash budget/,$p' <<<"$out")" || fail "system df would remove a held or used image: $out"
    local fill
    fill=$(MINIDOCK_GC_HIGH=85 md_ok system df | sed -n 's/.*filesystem is \([0-9]*\)% full.*/\1/p')
    [ "$fill" -ge 40 ] || fail "the store is only $fill% full"
    # just past the high mark, a low mark a little under: one image goes, the oldest candidate
    printf 'x' >"$T/tiny"
    tar -C "$T" -cf "$T/tiny.tar" tiny
    MINIDOCK_GC_HIGH=$((fill - 1)) MINIDOCK_GC_LOW=$((fill - 3)) md_ok import "$T/tiny.tar" tiny:1 >/dev/null
    assert_contains "$(md_stderr)" "high-water mark $((fill - 1))%): removed image"
    assert_eq "$(md_stderr | grep -c 'removed image')" 1
    md_fail any image inspect img5:1
    md_ok image inspect img6:1 >/dev/null
    # low mark 1%: every candidate goes, nothing else
    MINIDOCK_GC_HIGH=2 MINIDOCK_GC_LOW=1 md_ok import "$T/tiny.tar" tiny:2 >/dev/null
    assert_eq "$(md_ok images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" \
        "bb:latest img1:1 img2:1 img3:1 img4:1 tiny:2 "
    md_ok system check >/dev/null
    # unpinned, then free to go
    md_ok image unpin img1:1 >/dev/null
    MINIDOCK_GC_HIGH=2 MINIDOCK_GC_LOW=1 md_ok import "$T/tiny.tar" tiny:3 >/dev/null
    md_fail any image inspect img1:1
    # down: the project's holds go with it
    mc down -t 0 >/dev/null 2>&1
    MINIDOCK_GC_HIGH=2 MINIDOCK_GC_LOW=1 md_ok import "$T/tiny.tar" tiny:4 >/dev/null
    md_fail any image inspect img3:1
    md_fail any image inspect img4:1
    md_ok image inspect img2:1 >/dev/null
    md_ok rm holder >/dev/null
    umount "$T/small"
    assert_clean
}
