# shellcheck shell=bash
# What each container command costs the store (issue 18): the fsync budget
# README.md states ("What a container costs the flash", in "The store"),
# counted with strace over the command
# and what it leaves running (the container's monitor, traced for 0.5 s
# after the command returns): fsync, fdatasync, syncfs, sync,
# sync_file_range and msync calls.  For `run --rm`, also every change the
# command and its monitor make on the store (successful creat/open for
# writing, mkdir, rename, link, unlink, rmdir, truncate under
# $MINIDOCK_ROOT): only the container's writable layer may be touched.
# A restart by the restart policy is counted on the monitor alone.
#
# tests/boards/user.sh runs this file with each board's binary under
# qemu-user too (strace then counts qemu's calls: one host call for each
# emulated sync call, and none of qemu's own).
#
# The bridge case runs in network namespaces of its own (30-network.sh's
# _net_setup, sourced from there): the address leases are run-time state.
#
# Debian packages: strace, iproute2, nftables, util-linux (and the
# fixtures' own, see tests/tools/mkimages.sh)

# shellcheck disable=SC1091
. "$MD_REPO/tests/integration/30-network.sh"

# _traced NAME CMD...: minidock CMD under strace -f, with the monitors of
# the store's running containers (they write what `stop` or `kill` change),
# the trace in $T/trace.NAME; prints its number of sync calls.
_traced() {
    local name=$1 sp child i m mons=()
    shift
    for m in $(pgrep -f -- "--root $MINIDOCK_ROOT .*__monitor " || true); do
        mons+=(-p "$m")
    done
    strace -f -qq -o "$T/trace.$name" "${mons[@]}" \
        -e trace=fsync,fdatasync,syncfs,sync,sync_file_range,msync,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,rmdir,truncate,ftruncate \
        "$MINIDOCK" "$@" >"$T/out.$name" 2>&1 &
    sp=$!
    # the command is strace's child: wait for it to end (bounded), then
    # half a second for what it started
    child=
    for ((i = 0; i < 500; i++)); do
        child=$(pgrep -P "$sp" | head -n 1) || true
        [ -z "$child" ] && kill -0 "$sp" 2>/dev/null || break
        sleep 0.01
    done
    for ((i = 0; i < 1200; i++)); do
        [ -n "$child" ] && kill -0 "$child" 2>/dev/null || break
        sleep 0.05
    done
    sleep 0.5
    # strace detaches from the monitors on SIGINT; killed while it does, it
    # can leave one stopped (seen on a loaded machine): give it 5 s
    kill -INT "$sp" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$sp" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    grep -cE '^[0-9]+ +(fsync|fdatasync|syncfs|sync|sync_file_range|msync)\(' "$T/trace.$name" || true
}

# _budget MAX NAME CMD...: CMD makes at most MAX sync calls.
_budget() {
    local max=$1 name=$2 n
    shift 2
    n=$(_traced "$name" "$@")
    ! grep -q '^minidock: ' "$T/out.$name" || fail "$name ($*): $(grep '^minidock: ' "$T/out.$name" | head -n 1)"
    [ "$n" -le "$max" ] ||
        fail "$name ($*): $n sync calls, the budget is $max: $(grep -E '^[0-9]+ +[a-z_]*sync' "$T/trace.$name" | head -n 5 | tr '\n' ' ')"
    echo "# $name: $n (budget $max)"
}

# _store_writes NAME ID: the changes the trace NAME made under the store,
# but for container ID's layer and the store's lock (opened, never written).
_store_writes() {
    local root=$MINIDOCK_ROOT id=$2
    grep -vE '= -1 ' "$T/trace.$1" |
        grep -E '(open|openat|creat)\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)|(mkdir|mkdirat|rename|renameat2?|link|linkat|symlink|symlinkat|unlink|unlinkat|rmdir|truncate)\(' |
        grep -F "\"$root/" |
        grep -vE "\"$root/containers/$id(/upper|/work)?(/[^\"]*)?\"" |
        grep -vE "\"$root/lock\"" || true
}

test_flash_budget() {
    require_root
    require_cmd strace
    ctr_setup
    bb_image bb:1
    md_ok run --rm --network none bb:1 true >/dev/null # the store's directories exist
    _budget 0 run-rm run --rm --network none bb:1 true
    local id w
    id=$(grep -oE "\"$MINIDOCK_ROOT/containers/[0-9a-f]{64}\"" "$T/trace.run-rm" | head -n 1 | sed 's|.*/||; s|"||')
    [ -n "$id" ] || fail "run --rm made no container directory on the store"
    w=$(_store_writes run-rm "$id")
    [ -z "$w" ] || fail "run --rm changed the store outside the container's layer: $w"
    assert_eq "$(ls -A "$MINIDOCK_ROOT/containers")" "" "containers/ after run --rm"
    _budget 2 create create --name fa --network none bb:1 sleep 1000
    _budget 0 start start fa
    _budget 0 stop stop -t 1 fa
    _budget 0 start-again start fa
    _budget 0 kill kill fa
    _budget 0 restart restart -t 1 fa
    _budget 2 rm rm -f fa
    _budget 2 run-d run -d --name fb --network none bb:1 sleep 1000
    _budget 2 rm-running rm -f fb
    # restart policies: run -d and the restarts by the policy
    _budget 2 run-d-always run -d --name fc --restart always --network none bb:1 sh -c 'sleep 0.5; exit 3'
    local mon sp n count
    sleep 1
    mon=$(pgrep -f "__monitor [0-9a-f]*$(md_ok inspect -f '{{.Id}}' fc | cut -c1-12)" | head -n 1) || true
    [ -n "$mon" ] || mon=$(pgrep -f -n "__monitor") || fail "no monitor for fc"
    strace -f -qq -o "$T/trace.restarts" -e trace=fsync,fdatasync,syncfs,sync,sync_file_range,msync -p "$mon" &
    sp=$!
    sleep 4
    kill -INT "$sp" 2>/dev/null || true
    sleep 0.2
    kill -KILL "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    count=$(md_ok inspect -f '{{.RestartCount}}' fc)
    [ "$count" -ge 2 ] || fail "fc restarted $count times"
    n=$(grep -cE '^[0-9]+ +[a-z_]*sync' "$T/trace.restarts" || true)
    assert_eq "$n" 0 "sync calls of the monitor over restarts by the policy (restart count $count)"
    _budget 2 rm-always rm -f fc
    # unless-stopped: its exit record changes when it is stopped or started by hand
    _budget 2 run-d-unless run -d --name fd --restart unless-stopped --network none bb:1 sleep 1000
    _budget 1 stop-unless stop -t 1 fd
    _budget 1 start-unless start fd
    _budget 1 kill-unless kill fd
    _budget 1 start-unless-again start fd
    _budget 2 rm-unless rm -f fd
    # on-failure: no record while it runs; stopped (ended), then started
    _budget 2 run-d-onfail run -d --name fo --restart on-failure --network none bb:1 sleep 1000
    _budget 1 stop-onfail stop -t 1 fo
    _budget 1 start-onfail start fo
    _budget 2 rm-onfail rm -f fo
}

# The default bridge network: a run --rm, a run -d, stop, start and rm cost
# what they cost with --network none (the leases live in the run root).
test_flash_budget_bridge() {
    require_root
    require_cmd strace
    _net_setup
    bb_image bb:1
    md_ok run --rm bb:1 true >/dev/null
    _budget 0 run-rm-bridge run --rm bb:1 sh -c 'ip -4 addr | grep -q "inet 10\."'
    _budget 2 run-d-bridge run -d --name fe bb:1 sleep 1000
    _budget 0 stop-bridge stop -t 1 fe
    _budget 0 start-bridge start fe
    _budget 2 rm-bridge rm -f fe
}

# Healthchecks: probes every 0.2 s cost the store nothing (State.Health
# lives in the run root): no sync call and no change under the store by
# the monitor and its probes over 3 s.
test_flash_healthcheck() {
    require_root
    require_cmd strace
    ctr_setup
    bb_image bb:1
    local id mon sp w
    id=$(md_ok run -d --name fh --network none --health-cmd 'echo ok' --health-interval 0.2s bb:1 sleep 1000)
    mon=$(pgrep -f "__monitor $id" | head -n 1) || true
    [ -n "$mon" ] || fail "no monitor for fh"
    strace -f -qq -o "$T/trace.health" \
        -e trace=fsync,fdatasync,syncfs,sync,sync_file_range,msync,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,rmdir,truncate,ftruncate \
        -p "$mon" &
    sp=$!
    sleep 3
    kill -INT "$sp" 2>/dev/null || true
    sleep 0.2
    kill -KILL "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    [ "$(md_ok inspect fh | jq '.[0].State.Health.Log | length')" -ge 3 ] || fail "fewer than 3 probes in 3 s"
    assert_eq "$(grep -cE '^[0-9]+ +[a-z_]*sync' "$T/trace.health" || true)" 0 "sync calls of the monitor and its probes"
    w=$(_store_writes health "$id")
    [ -z "$w" ] || fail "probes changed the store: $w"
    md_ok rm -f fh >/dev/null
}
