# shellcheck shell=bash
# Firmware integration (examples/ and build/README-boards.md): the OpenWrt
# init script's UCI-to-command logic (with tests/boards/uci-shim.sh standing
# in for OpenWrt's functions.sh), the sysvinit script's stop/start keeping
# restart policies, images preloaded at firmware build time for another
# architecture (load --platform, no namespaces, no target code), a
# read-only root with the store on another filesystem, and a store on an
# overlay root (OpenWrt) falling back to a tmpfs or copied upper layer.

_init=$MD_REPO/examples/openwrt/minidock/files/minidock.init
_shim=$MD_REPO/tests/boards/uci-shim.sh

# _uci: a config like an OpenWrt user's, with awkward values.
_uci() {
    mkdir -p "$T/config"
    cat >"$T/config/minidock" <<'EOF'
config minidock 'globals'
	option enabled '1'
	option root '/tmp/unused-root'
	option gc_high '75'
	option gc_low '60'

config container 'web'
	option image 'bb:latest'
	list command 'httpd'
	list command '-f'
	list command '-p'
	list command '80'
	list port '8080:80'
	list port '127.0.0.1:8081:80/tcp'
	list volume '/srv/www:/www:ro'
	list env 'GREETING=hello world'
	list env "QUOTE=it's"
	option restart 'always'
	option network 'none'
	option memory '32m'

config container 'off'
	option enabled '0'
	option image 'bb'

config container 'plain'
	option image "bb"

config compose 'app'
	option file '/etc/minidock/my app/compose.yaml'
	option project 'hello'
	list profile 'debug'
	list env_file "/etc/minidock/it's.env"

config compose 'offapp'
	option enabled '0'
	option file '/etc/minidock/off.yaml'
EOF
}

# _source_init: the init script's functions in this shell, on the shim.
_source_init() {
    UCI_CONFIG_DIR=$T/config
    # shellcheck disable=SC1090
    . "$_shim"
    # shellcheck disable=SC1090
    . "$_init"
    config_load minidock
}

test_openwrt_uci_to_commands() {
    _uci
    # a stand-in minidock: logs its arguments one per line, knows "plain"
    cat >"$T/fake" <<'EOF'
#!/bin/sh
{ echo "---"; for a in "$@"; do echo "[$a]"; done; } >>"$FAKE_LOG"
case " $* " in *" container inspect "*" plain "*) exit 0 ;; *" container inspect "*) exit 1 ;; esac
exit 0
EOF
    chmod +x "$T/fake"
    export FAKE_LOG=$T/calls MINIDOCK=$T/fake
    _source_init
    minidock_args web || fail "minidock_args web returned $?"
    eval "set -- $MD_ARGS"
    local want=(run -d --name web --restart always --network none --memory 32m
        -p 8080:80 -p 127.0.0.1:8081:80/tcp -v /srv/www:/www:ro
        -e "GREETING=hello world" -e "QUOTE=it's" bb:latest httpd -f -p 80)
    assert_eq "$(printf '[%s]' "$@")" "$(printf '[%s]' "${want[@]}")" "run words for web"
    ! minidock_args off || fail "a disabled section made a command"
    minidock_args plain || fail "minidock_args plain"
    eval "set -- $MD_ARGS"
    assert_eq "$*" "run -d --name plain --restart unless-stopped bb" "defaults"
    minidock_compose_args app || fail "minidock_compose_args app returned $?"
    eval "set -- $MD_ARGS"
    want=(compose -f "/etc/minidock/my app/compose.yaml" -p hello --profile debug --env-file "/etc/minidock/it's.env" up -d)
    assert_eq "$(printf '[%s]' "$@")" "$(printf '[%s]' "${want[@]}")" "compose words for app"
    ! minidock_compose_args offapp || fail "a disabled compose section made a command"
    # the whole start: globals, boot, then run for web, start for plain
    : >"$FAKE_LOG"
    minidock_up
    local calls
    calls=$(tr '\n' ' ' <"$FAKE_LOG" | sed 's/--- /\n/g')
    assert_contains "$calls" "[--root] [/tmp/unused-root] [boot]"
    assert_eq "${MINIDOCK_GC_HIGH:-} ${MINIDOCK_GC_LOW:-}" "75 60" "the flash budget's marks from the globals"
    assert_contains "$calls" "[--root] [/tmp/unused-root] [run] [-d] [--name] [web]"
    assert_contains "$calls" "[--root] [/tmp/unused-root] [start] [plain]"
    assert_not_contains "$calls" "[off]"
    assert_contains "$calls" "[--root] [/tmp/unused-root] [compose] [-f] [/etc/minidock/my app/compose.yaml] [-p] [hello]"
    assert_not_contains "$calls" "[/etc/minidock/off.yaml]"
}

# The init script's start against the real minidock: a declared container
# is created and runs; after it stops, the next start starts it again.
test_openwrt_init_with_minidock() {
    ctr_setup
    bb_image
    # "plain" has the default network: a bridge, made in a network
    # namespace of the test's own (MINIDOCK runs there), never the machine's
    local ns=mdfw-$$
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    trap 'ctr_teardown; ip netns del '"$ns"' 2>/dev/null || true' EXIT
    printf '#!/bin/sh\nexec /usr/bin/nsenter --net=/run/netns/%s %s "$@"\n' "$ns" "$MINIDOCK" >"$T/md-in-ns"
    chmod 755 "$T/md-in-ns"
    MINIDOCK=$T/md-in-ns
    _uci
    sed -i "s|/tmp/unused-root|$MINIDOCK_ROOT|; s|list volume .*||; s|list port .*||; /option gc_/d" "$T/config/minidock"
    sed -i "s|list command '-f'|list command '-f'\n\tlist command '-h'\n\tlist command '/'|" "$T/config/minidock"
    sed -i '/^config compose/,$d' "$T/config/minidock"
    printf "\tlist command 'sleep'\n\tlist command '300'\n\n" >>"$T/config/minidock"
    # a compose section: the example app, as the package installs it
    printf "config compose 'hello'\n\toption file '%s'\n" "$MD_REPO/examples/compose/compose.yaml" >>"$T/config/minidock"
    bb_image busybox:latest
    export MINIDOCK
    _source_init
    minidock_up
    wait_until 10 "web running" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.State.Status}}' web)\" = running ]"
    assert_eq "$(md_ok inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Memory}}' web)" "always 33554432"
    assert_contains "$(md_ok inspect -f '{{json .Config.Env}}' web)" '"GREETING=hello world"'
    assert_contains "$(md_ok inspect -f '{{json .Config.Env}}' web)" "\"QUOTE=it's\""
    assert_eq "$(md_ok ps -a --filter name=plain -q | wc -l)" 1 "plain created"
    assert_eq "$(md_ok ps --filter label=com.docker.compose.project=hello --format '{{.Names}}' | sort | tr '\n' ' ')" \
        "hello-web-1 hello-worker-1 " "the example compose app"
    md_ok stop -t 1 web >/dev/null
    minidock_up
    wait_until 10 "web running again" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.State.Status}}' web)\" = running ]"
    assert_eq "$(md_ok ps -a -q | wc -l)" 4 "no duplicate containers"
    # stop_service (shutdown) and start_service (boot) bring web back
    stop_service
    assert_eq "$(md_ok ps -q)" "" "running after stop_service"
    start_service
    wait_until 10 "web running after start_service" \
        sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.State.Status}}' web)\" = running ]"
    assert_no_file "$MINIDOCK_ROOT/stopped-at-shutdown"
    assert_eq "$(md_ok ps --filter label=com.docker.compose.project=hello -q | wc -l)" 2 "the compose app after start_service"
    md_ok rm -f web plain >/dev/null
    md_ok compose -p hello down -v -t 1 >/dev/null 2>&1
}

# sysvinit (and the systemd unit, which calls it): stop stops the running
# containers; start brings back those with policy always or unless-stopped,
# though `minidock stop` counts as a manual stop; a --restart no one stays.
test_sysvinit_stop_start() {
    ctr_setup
    bb_image
    local init=$MD_REPO/examples/sysvinit/minidock
    md_ok run -d --network none --name keep --restart unless-stopped bb sleep 300 >/dev/null
    md_ok run -d --network none --name once bb sleep 300 >/dev/null
    MINIDOCK=$MINIDOCK STOP_TIMEOUT=1 sh "$init" stop >/dev/null || fail "init stop failed"
    assert_eq "$(md_ok ps -q)" "" "running after stop"
    MINIDOCK=$MINIDOCK sh "$init" start >/dev/null || fail "init start failed"
    assert_eq "$(ctr_state keep)" running "unless-stopped container after start"
    assert_eq "$(ctr_state once)" exited "restart-no container after start"
    assert_no_file "$MINIDOCK_ROOT/stopped-at-shutdown"
    md_ok rm -f keep once >/dev/null
    # COMPOSE_FILES: each brought up at start, and again after a stop
    # (network_mode none: this test runs in the machine's own namespace)
    printf 'name: cf\nservices:\n  job:\n    image: bb\n    command: sleep 300\n    network_mode: none\n    restart: unless-stopped\n' >"$T/c.yaml"
    MINIDOCK=$MINIDOCK COMPOSE_FILES="$T/c.yaml" sh "$init" start >/dev/null || fail "init start with COMPOSE_FILES failed"
    assert_eq "$(ctr_state cf-job-1)" running "COMPOSE_FILES' project after start"
    MINIDOCK=$MINIDOCK STOP_TIMEOUT=1 sh "$init" stop >/dev/null || fail "init stop failed"
    assert_eq "$(ctr_state cf-job-1)" exited "COMPOSE_FILES' project after stop"
    MINIDOCK=$MINIDOCK sh "$init" start >/dev/null || fail "init start failed"
    assert_eq "$(ctr_state cf-job-1)" running "COMPOSE_FILES' project after stop and start"
    md_ok compose -p cf down -t 1 >/dev/null 2>&1
    # the systemd unit is the same script, and a oneshot
    local unit=$MD_REPO/examples/systemd/minidock.service
    grep -q '^ExecStart=/usr/libexec/minidock/minidock-init start$' "$unit" || fail "unit ExecStart"
    grep -q '^Type=oneshot$' "$unit" && grep -q '^RemainAfterExit=yes$' "$unit" || fail "unit type"
    if command -v systemd-analyze >/dev/null 2>&1; then
        systemd-analyze verify "$unit" 2>&1 | grep -v 'minidock-init\|man:minidock' | grep . && fail "systemd-analyze verify"
    fi
    return 0
}

# _multi: the multi-platform busybox image of the board tests, made from
# Debian's busybox-static of each architecture (tests/boards/mkimage.py).
_multi() {
    local a c=${MD_DEPS_CACHE:-/var/cache/minidock-deps}/vm
    for a in amd64 arm64 armhf mipsel; do
        bash "$MD_REPO/mk/cross.sh" fetch "$a" "$c/busybox-$a" busybox-static >/dev/null ||
            fail "could not fetch busybox-static:$a"
    done
    "$PY" "$MD_REPO/tests/boards/mkimage.py" "$T/multi.tar" test/bb:latest \
        linux/amd64="$c/busybox-amd64/bin/busybox" linux/arm64="$c/busybox-arm64/bin/busybox" \
        linux/arm/v7="$c/busybox-armhf/bin/busybox" linux/mipsle="$c/busybox-mipsel/bin/busybox"
}

# Preloading at firmware build time: this machine's minidock loads another
# architecture's image into a staging store; no namespace, no target code.
# timeout: 300
test_preload_foreign_platforms() {
    require_root
    require_cmd file
    _multi
    local p arch want store
    for p in linux/arm64:arm64:"ARM aarch64" linux/arm/v7:arm:"ARM, EABI5" linux/mipsle:mipsle:"MIPS32" \
        linux/amd64:amd64:"x86-64"; do
        arch=$(cut -d: -f2 <<<"$p")
        want=$(cut -d: -f3 <<<"$p")
        store=$T/staging-$arch/var/lib/minidock
        # unshare -U (a user namespace, no privileges) would stop any
        # namespace or mount minidock tried: there must be none
        md_ok --root "$store" --run-root "$T/run-$arch" load -q --platform "${p%%:*}" -i "$T/multi.tar" >/dev/null
        assert_eq "$(md_ok --root "$store" --run-root "$T/run-$arch" image inspect -f '{{.Architecture}}' test/bb)" "$arch"
        md_ok --root "$store" --run-root "$T/run-$arch" system check >/dev/null
        local top
        top=$(MINIDOCK_ROOT=$store MINIDOCK_RUNROOT=$T/run-$arch image_lowerdirs test/bb | head -n 1)
        assert_contains "$(file -b "$top/bin/busybox")" "$want"
        [ ! -e "$T/run-$arch" ] || [ -z "$(find "$T/run-$arch" -name '*.sock')" ] || fail "load left sockets"
    done
    # without --platform the build machine's own is taken, and a platform
    # the archive lacks is an error naming what it has
    md_ok --root "$T/own" load -q -i "$T/multi.tar" >/dev/null
    assert_eq "$(md_ok --root "$T/own" image inspect -f '{{.Architecture}}' test/bb)" amd64
    md_fail any --root "$T/none" load -q --platform linux/riscv64 -i "$T/multi.tar"
    assert_contains "$(md_stderr)" "linux/arm64"
}

# A read-only root with the store on a separate writable filesystem: in a
# mount namespace whose / is read-only, the store on a tmpfs.
test_readonly_root_store_elsewhere() {
    ctr_setup
    bb_image
    mkdir -p "$T/data"
    cat >"$T/ro.sh" <<'EOF'
set -eu
mount -t tmpfs -o size=128m data "$T/data"
cp -a "$MINIDOCK_ROOT" "$T/data/store"
mount -o remount,bind,ro /
if touch /md-ro-test 2>/dev/null; then rm -f /md-ro-test; echo "root still writable"; exit 1; fi
export MINIDOCK_ROOT=$T/data/store MINIDOCK_RUNROOT=$T/data/run
"$MINIDOCK" run --rm --network none bb sh -c 'echo ro-root-ok; touch /inside'
"$MINIDOCK" system check >/dev/null
EOF
    local out
    out=$(unshare -m --propagation private bash "$T/ro.sh" 2>&1) || fail "read-only root run failed: $out"
    assert_contains "$out" ro-root-ok
}

# The store on an overlay root (OpenWrt's / is overlayfs): the default
# tmpfs upper layer, and MINIDOCK_OVERLAY_FALLBACK=copy.
test_overlay_root_fallback() {
    ctr_setup
    bb_image
    mkdir -p "$T/ovl"
    cat >"$T/ovl.sh" <<'EOF'
set -eu
mkdir -p "$T/ovl/lower" "$T/ovl/up" "$T/ovl/root"
mount -t tmpfs tmpfs "$T/ovl/up"
mkdir -p "$T/ovl/up/u" "$T/ovl/up/w"
mount -t overlay overlay -o "lowerdir=$T/ovl/lower,upperdir=$T/ovl/up/u,workdir=$T/ovl/up/w" "$T/ovl/root"
cp -a "$MINIDOCK_ROOT" "$T/ovl/root/store"
export MINIDOCK_ROOT=$T/ovl/root/store
"$MINIDOCK" run --rm --network none bb sh -c 'echo tmpfs-ok > /t; cat /t'
MINIDOCK_OVERLAY_FALLBACK=copy "$MINIDOCK" run --rm --network none bb sh -c 'echo copy-ok'
MINIDOCK_OVERLAY_FALLBACK=none "$MINIDOCK" run --rm --network none bb true && echo "none-ran" || echo "none-refused"
EOF
    local out
    out=$(unshare -m --propagation private bash "$T/ovl.sh" 2>&1) || fail "overlay root runs failed: $out"
    assert_contains "$out" "using a tmpfs upper layer"
    assert_contains "$out" "tmpfs-ok"
    assert_contains "$out" "using a copied root filesystem"
    assert_contains "$out" "copy-ok"
    assert_contains "$out" "none-refused"
}
