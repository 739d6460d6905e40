# shellcheck shell=bash
# The Docker Engine API (issue 7): `minidock serve` driven by clients that
# minidock's authors did not write: the docker CLI (DOCKER_HOST=unix://...,
# whichever `docker` is on PATH: 28.x here, Debian's docker.io has 20.10)
# and python3-docker, plus hostile requests from curl and raw sockets, the
# socket's permissions and socket activation (systemd-socket-activate).
#
# Each test starts its own server, `minidock serve -H unix://$T/docker.sock`,
# in the background with the test's MINIDOCK_ROOT, MINIDOCK_RUNROOT and
# MINIDOCK_CGROUP_PARENT (ctr_setup), and stops it before its last checks;
# _api_teardown kills whatever is left.  The docker CLI gets a config dir of
# the test's own (DOCKER_CONFIG=$T/docker-cli), so ~/.docker is untouched.
#
# Networking: every container is --network none, except in the tests that
# call _api_netns: those run the server (and so every container it starts)
# inside a network namespace of the test's own, entered with `nsenter --net`
# (not `ip netns exec`, which remounts /sys and hides the cgroup
# hierarchies), and check that the machine's own namespace gained no link
# and no nftables table.  The pull test's registry listens on 127.0.0.1
# inside that namespace too.
#
# Debian packages: curl python3 python3-docker docker-cli (or docker.io)
# util-linux (script, nsenter, setpriv) iproute2 nftables openssl
# docker-registry apache2-utils skopeo systemd (systemd-socket-activate) jq
# (and the fixtures' own, see tests/tools/mkimages.sh)

# ---- helpers

# _api_setup: ctr_setup, the docker CLI's environment, and the teardown.
_api_setup() {
    ctr_setup
    require_cmd docker curl
    export DOCKER_HOST=unix://$T/docker.sock DOCKER_CONFIG=$T/docker-cli
    unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_API_VERSION
    mkdir -p "$DOCKER_CONFIG"
    API_BG='' API_NS=''
    trap '_api_teardown' EXIT
}

_api_teardown() {
    local p
    trap - EXIT ERR
    set +eE
    for p in $API_BG; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.2
    for p in $API_BG; do kill -KILL "$p" 2>/dev/null; done
    ctr_teardown
    [ -z "$API_NS" ] || [ ! -e "/run/netns/$API_NS" ] || ip netns del "$API_NS"
    return 0
}

# _api_netns: a network namespace of the test's own (lo up), and MINIDOCK
# pointed at a wrapper that runs the binary under test inside it, so that
# the server, md_ok and ctr_teardown's rm -f all run there.  Records the
# machine's own links and nftables tables for _api_host_untouched.
_api_netns() {
    require_cmd ip nsenter
    API_NS=mda-$$
    ip netns add "$API_NS"
    ip -n "$API_NS" link set lo up
    MD_REAL=${MD_REAL:-$MINIDOCK}
    printf '#!/bin/sh\nexec /usr/bin/nsenter --net=/run/netns/%s %s "$@"\n' "$API_NS" "$MD_REAL" >"$T/md-in-ns"
    chmod 755 "$T/md-in-ns"
    export MINIDOCK=$T/md-in-ns MD_REAL
    _host_net_state >"$T/host-net.before"
}

# _host_net_state: the machine's own links and nftables tables.
_host_net_state() {
    ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print "link", $2 }' | sort
    { nft list tables 2>/dev/null || true; } | sort
}

# _api_host_untouched: the machine's own namespace has the links and
# tables it had before _api_netns.
_api_host_untouched() {
    _host_net_state >"$T/host-net.after"
    diff "$T/host-net.before" "$T/host-net.after" >"$T/host-net.diff" ||
        fail "the machine's own network namespace changed: $(cat "$T/host-net.diff")"
}

# _in_ns CMD...: run CMD in the test's namespace.
_in_ns() { nsenter --net="/run/netns/$API_NS" "$@"; }

# _ns_links: the links in the test's namespace but lo and the default bridge.
_ns_links() { _in_ns ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -v -x -e lo -e md0 || true; }
_ns_links_clean() { [ -z "$(_ns_links)" ]; }

# _ping SOCKET: GET /_ping answers OK.
_ping() { [ "$(curl -s --max-time 3 --unix-socket "$1" http://d/_ping)" = OK ]; }

# _serve [SERVE-OPTIONS]: start `minidock serve -H unix://$API_SOCK`
# (default $T/docker.sock; API_SOCK=default: no -H, so serve's own default,
# RUN-ROOT/docker.sock) in the background and wait until it answers; sets
# SERVE_PID.  Its stderr goes to $T/serve.log.
_serve() {
    local sock=${API_SOCK:-$T/docker.sock} h=()
    if [ "$sock" = default ]; then
        sock=$MINIDOCK_RUNROOT/docker.sock
    else
        h=(-H "unix://$sock")
    fi
    "$MINIDOCK" serve "${h[@]}" "$@" >>"$T/serve.log" 2>&1 &
    SERVE_PID=$!
    API_BG="$API_BG $SERVE_PID"
    wait_until 10 "minidock serve answering on $sock" _ping "$sock"
}

# _serve_stop: SIGTERM the server and wait for it (it must exit 0 and
# remove its socket), then for its connection processes, which end with
# their clients.
_serve_stop() {
    local rc=0 sock=${API_SOCK:-$T/docker.sock}
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID" || rc=$?
    assert_eq "$rc" 0 "minidock serve's exit status after SIGTERM (log: $(tail -n 3 "$T/serve.log"))"
    assert_no_file "$sock"
    wait_until 40 "the server's connection processes gone: $(pgrep -af "serve -H unix://$sock" || true)" \
        _no_procs "serve -H unix://$sock"
}

# _no_procs PATTERN: no process's command line matches PATTERN.
_no_procs() { ! pgrep -f "$1" >/dev/null; }

# dk ARGS: the docker CLI; its stderr also goes to $T/dk.stderr.
dk() {
    local rc=0
    timeout 120 docker "$@" 2>"$T/dk.stderr" || rc=$?
    cat "$T/dk.stderr" >&2
    return "$rc"
}

# dk_ok ARGS: dk, and fail the test unless it exits 0; prints its stdout.
dk_ok() {
    local rc=0
    dk "$@" || rc=$?
    [ "$rc" = 0 ] || fail "docker $* exited $rc: $(tail -n 3 "$T/dk.stderr")"
}

# dk_fail CODE ARGS: dk, and fail the test unless it exits with CODE
# (any: any failure but a crash or a timeout).
dk_fail() {
    local want=$1 rc=0
    shift
    dk "$@" || rc=$?
    if [ "$want" = any ]; then
        [ "$rc" != 0 ] || fail "docker $* succeeded, expected a failure"
        [ "$rc" -lt 124 ] || fail "docker $* crashed or timed out: exit $rc"
    else
        [ "$rc" = "$want" ] || fail "docker $* exited $rc, expected $want ($(tail -n 2 "$T/dk.stderr"))"
    fi
}

# _req [--within SECS] [CURL-OPTIONS] PATH: curl on the test's socket
# ($API_SOCK, default $T/docker.sock); prints "STATUS BODY".  The request
# has 20 s and a curl error fails; with --within it has SECS and a curl
# error is none of _req's ("000" when no answer came).
_req() {
    local max=20 tolerant=false args path
    if [ "$1" = --within ]; then
        max=$2 tolerant=true
        shift 2
    fi
    args=("$@")
    path=${args[-1]}
    unset 'args[-1]'
    { curl -s --max-time "$max" --unix-socket "${API_SOCK:-$T/docker.sock}" -w '\n%{http_code}' "${args[@]}" "http://d$path" || $tolerant; } |
        awk '{ l[NR] = $0 } END { printf "%s", l[NR]; for (i = 1; i < NR; i++) printf " %s", l[i]; print "" }'
}

# _pyraw: write $T/raw.py, a raw-socket client: raw.py SOCKET < HEX-BYTES
# sends the bytes, reads until the server closes (or TIMEOUT s, default 5)
# and prints the status line, "closed" or "open", and the body.
_pyraw() {
    cat >"$T/raw.py" <<'PYEOF'
import os, socket, sys, time
sock, data = sys.argv[1], bytes.fromhex(sys.stdin.read().strip())
limit = float(os.environ.get("TIMEOUT", "5"))
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(data)
out, state, end = b"", "open", time.time() + limit
s.settimeout(0.2)
while time.time() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    except ConnectionResetError:
        state = "closed"   # a reset after the response: the server closed with input unread
        break
    if not d:
        state = "closed"
        break
    out += d
head, _, body = out.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(errors="replace") or "-", state, body.decode(errors="replace"))
PYEOF
}

# _raw BYTES: raw.py on the test's socket with printf-style BYTES.
_raw() {
    # shellcheck disable=SC2059
    printf "$1" | od -An -tx1 -v | tr -d ' \n' | "$PY" "$T/raw.py" "${API_SOCK:-$T/docker.sock}"
}

# ---- the docker CLI

# Every engine error answers the status of its kind (issue 12), never one
# picked from the message's words: not found 404, conflict 409, invalid
# argument 400, forbidden 403; the body is Docker's {"message"}.
test_api_error_statuses_from_kinds() {
    _api_setup
    bb_image
    _serve
    local r
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"nosuch:1","Cmd":["true"]}' /containers/create)
    assert_eq "${r%% *}" 404 "create, no such image"
    assert_contains "$r" '"message":"No such image: nosuch:1"'
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb@sha256:zz","Cmd":["true"]}' /containers/create)
    assert_eq "${r%% *}" 400 "create, a bad digest in the image reference: $r"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":["sleep","60"],"HostConfig":{"NetworkMode":"none"}}' '/containers/create?name=k1' | cut -d' ' -f1)" 201 "create"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}' '/containers/create?name=k1' | cut -d' ' -f1)" 409 "create, the name in use"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":["true"],"HostConfig":{"Memory":4096}}' /containers/create | cut -d' ' -f1)" 400 "create, memory under the minimum"
    assert_eq "$(_req -X POST /containers/k1/kill | cut -d' ' -f1)" 409 "kill of a container that is not running"
    assert_eq "$(_req -X POST /containers/k1/start | cut -d' ' -f1)" 204 "start"
    assert_eq "$(_req -X POST '/containers/k1/kill?signal=NOSUCH' | cut -d' ' -f1)" 400 "kill, a bad signal"
    assert_eq "$(_req -X DELETE /containers/k1 | cut -d' ' -f1)" 409 "rm of a running container"
    assert_eq "$(_req -X POST /containers/k1/pause | cut -d' ' -f1)" 204 "pause"
    assert_eq "$(_req -X POST /containers/k1/pause | cut -d' ' -f1)" 409 "pause twice"
    assert_eq "$(_req -X POST /containers/k1/unpause | cut -d' ' -f1)" 204 "unpause"
    assert_eq "$(_req -X DELETE /images/bb | cut -d' ' -f1)" 409 "rmi of an image a container uses"
    assert_eq "$(_req '/containers/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D' | cut -d' ' -f1)" 400 "an unknown filter"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"bad/name"}' /networks/create | cut -d' ' -f1)" 400 "a bad network name"
    assert_eq "$(_req -X DELETE /networks/bridge | cut -d' ' -f1)" 403 "rm of the default network"
    assert_eq "$(_req -X DELETE /networks/nosuch | cut -d' ' -f1)" 404 "rm of no network"
    assert_eq "$(_req -X DELETE /volumes/nosuch | cut -d' ' -f1)" 404 "rm of no volume"
    # a driver minidock does not have is a plugin not found, as Docker says
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"v9","Driver":"nfs"}' /volumes/create)
    assert_eq "${r%% *}" 404 "volume create, an unknown driver: $r"
    assert_contains "$r" 'plugin \"nfs\" not found'
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"n9","Driver":"macvlan"}' /networks/create)
    assert_eq "${r%% *}" 404 "network create, an unknown driver: $r"
    assert_contains "$r" 'plugin \"macvlan\" not found'
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"v9","Driver":"local"}' /volumes/create | cut -d' ' -f1)" 201 "volume create, driver local"
    assert_eq "$(_req -X DELETE /volumes/v9 | cut -d' ' -f1)" 204 "rm v9"
    # a load that fails answers as Docker's: 200, and the stream ends with
    # the error (errorDetail), which the SDKs and the CLI raise
    r=$(_req -X POST --data-binary 'not a tar' /images/load)
    assert_eq "${r%% *}" 200 "load of garbage: $r"
    assert_contains "$r" '"errorDetail":{"message":'
    # malformed archives: each named in the error
    mkdir "$T/arc"
    echo '[{"Config":"nosuch.json","RepoTags":["arc:1"],"Layers":[]}]' >"$T/arc/manifest.json"
    tar -C "$T/arc" -cf "$T/noconfig.tar" manifest.json
    r=$(_req -X POST --data-binary "@$T/noconfig.tar" /images/load)
    assert_contains "$r" '"errorDetail"'
    assert_contains "$r" nosuch.json
    echo '[{"Config":' >"$T/arc/manifest.json"
    tar -C "$T/arc" -cf "$T/badjson.tar" manifest.json
    r=$(_req -X POST --data-binary "@$T/badjson.tar" /images/load)
    assert_contains "$r" '"errorDetail"'
    assert_contains "$r" manifest.json
    rm "$T/arc/manifest.json"
    echo '{"schemaVersion":2,"manifests":[]}' >"$T/arc/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$T/arc/oci-layout"
    tar -C "$T/arc" -cf "$T/noman.tar" index.json oci-layout
    r=$(_req -X POST --data-binary "@$T/noman.tar" /images/load)
    assert_contains "$r" '"errorDetail"'
    assert_contains "$r" manifest
    assert_eq "$(_req -X DELETE '/containers/k1?force=1' | cut -d' ' -f1)" 204 "rm -f"
    # a command that cannot be found is the request's fault (400, as Docker's
    # 127); a user that cannot be found fails minidock's own setup (500, 125)
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":["no-such-command"],"HostConfig":{"NetworkMode":"none"}}' '/containers/create?name=k2' | cut -d' ' -f1)" 201 "create k2"
    r=$(_req -X POST /containers/k2/start)
    assert_eq "${r%% *}" 400 "start, no such command: $r"
    assert_contains "$r" no-such-command
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":["true"],"User":"no-such-user","HostConfig":{"NetworkMode":"none"}}' '/containers/create?name=k3' | cut -d' ' -f1)" 201 "create k3"
    r=$(_req -X POST /containers/k3/start)
    assert_eq "${r%% *}" 500 "start, no such user: $r"
    assert_eq "$(_req -X DELETE /containers/k2 | cut -d' ' -f1)" 204 "rm k2"
    assert_eq "$(_req -X DELETE /containers/k3 | cut -d' ' -f1)" 204 "rm k3"
    assert_eq "$(_req /containers/k1/json | cut -d' ' -f1)" 404 "inspect after rm"
}

# A container that fails to start, attached without a terminal: the error
# reaches the attached client inside the multiplexed stream's stderr
# frames (it was written raw onto the connection, which broke the framing
# for Docker's clients).
test_api_attach_sees_start_failure_framed() {
    _api_setup
    bb_image
    _serve
    local id out
    id=$(md_ok create --network none bb no-such-command)
    cat >"$T/attach.py" <<'PYEOF'
import socket, sys
path, cid = sys.argv[1], sys.argv[2]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    return s
a = conn()
a.sendall(("POST /containers/%s/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\n"
           "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % cid).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = a.recv(4096)
    if not d:
        sys.exit("attach: closed before its answer")
    buf += d
head, data = buf.split(b"\r\n\r\n", 1)
print("attach", head.split(b"\r\n")[0].decode())
s = conn()
s.sendall(("POST /containers/%s/start HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n"
           "Connection: close\r\n\r\n" % cid).encode())
r = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    r += d
print("start", r.split(b"\r\n")[0].decode())
while True:
    d = a.recv(65536)
    if not d:
        break
    data += d
i, out = 0, {1: b"", 2: b""}
while i < len(data):
    if len(data) - i < 8 or data[i] not in (1, 2) or data[i + 1:i + 4] != b"\0\0\0":
        sys.exit("not a stream frame at byte %d: %r" % (i, data[i:i + 60]))
    n = int.from_bytes(data[i + 4:i + 8], "big")
    out[data[i]] += data[i + 8:i + 8 + n]
    i += 8 + n
print("stderr", out[2].decode(errors="replace").strip())
PYEOF
    out=$(python3 "$T/attach.py" "$T/docker.sock" "$id" 2>&1) || fail "attach client: $out"
    assert_contains "$out" "attach HTTP/1.1 101"
    assert_contains "$out" "start HTTP/1.1 400"
    assert_match "$out" 'stderr minidock: [a-z]+: exec: "no-such-command": executable file not found'
    md_ok rm "$id" >/dev/null
}

test_api_version_and_info() {
    _api_setup
    bb_image
    _serve
    # /_ping, GET and HEAD, with the API-Version header the CLI negotiates with
    assert_eq "$(_req /_ping)" "200 OK"
    local h
    h=$(curl -s -I --max-time 5 --unix-socket "$T/docker.sock" http://d/_ping | tr -d '\r')
    assert_match "$h" "^HTTP/1.1 200"
    grep -qix 'api-version: 1.43' <<<"$h" || fail "no API-Version: 1.43 on HEAD /_ping: $h"
    # the CLI negotiates 1.43 (a client older than API 1.43, Docker 24, keeps its own)
    local cv major
    assert_eq "$(dk_ok version --format '{{.Server.APIVersion}}')" 1.43 "Server.APIVersion"
    assert_eq "$(dk_ok version --format '{{.Server.MinAPIVersion}}')" 1.24 "Server.MinAPIVersion"
    cv=$(dk_ok version --format '{{.Client.Version}}')
    major=${cv%%.*}
    if [ "$major" -ge 24 ]; then
        assert_eq "$(dk_ok version --format '{{.Client.APIVersion}}')" 1.43 "the API version the CLI $cv negotiated"
    fi
    local ver
    ver=$(md_ok version | awk 'NR == 1 { print $3 }')
    assert_eq "$(dk_ok version --format '{{.Server.Version}}')" "$ver"
    # docker info: the same store
    assert_eq "$(dk_ok info --format '{{.ServerVersion}} {{.Images}} {{.Containers}} {{.OSType}}')" "$ver 1 0 linux"
    md_ok create --network none --name made bb true >/dev/null
    assert_eq "$(dk_ok info --format '{{.Containers}} {{.ContainersStopped}}')" "1 1"
    md_ok rm made >/dev/null
    # the /vX.YY prefix: old versions in range are served, newer than the server's refused
    assert_eq "$(_req /v1.24/_ping)" "200 OK"
    assert_match "$(_req /v1.43/version)" '^200 .*"ApiVersion":"1\.43"'
    assert_match "$(_req /v1.12/version)" '^400 .*"message":'
    _serve_stop
    assert_clean
}

test_api_load_images_tag_save_rmi() {
    _api_setup
    bb_image
    local id
    id=$(md_ok image inspect -f '{{.Id}}' bb)
    md_ok save -o "$T/bb.tar" bb >/dev/null
    md_ok rmi bb >/dev/null
    _serve
    assert_eq "$(dk_ok images -q)" ""
    # docker load -i of a tar made by minidock save
    assert_contains "$(dk_ok load -i "$T/bb.tar")" "Loaded image: bb:latest"
    assert_eq "$(dk_ok images --format '{{.Repository}}:{{.Tag}} {{.ID}}')" "bb:latest ${id:7:12}"
    assert_eq "$(dk_ok image inspect -f '{{.Id}}' bb)" "$id"
    assert_eq "$(md_ok image inspect -f '{{.Id}}' bb)" "$id" "minidock sees what docker load loaded"
    # load from stdin too
    dk_ok rmi bb >/dev/null
    assert_contains "$(dk_ok load <"$T/bb.tar")" "Loaded image: bb:latest"
    # tag, then untag
    dk_ok tag bb example.org/team/bb:v2
    assert_eq "$(md_ok images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" "bb:latest example.org/team/bb:v2 "
    assert_contains "$(dk_ok rmi example.org/team/bb:v2)" "Untagged: example.org/team/bb:v2"
    # docker save (images/get) makes a tar minidock loads back
    dk_ok save -o "$T/out.tar" bb
    tar -tf "$T/out.tar" | grep -x manifest.json >/dev/null || fail "docker save's tar has no manifest.json: $(tar -tf "$T/out.tar" | head)"
    # an image in use by a container: 409 conflict, and it stays
    dk_ok create --network none --name user bb true >/dev/null
    dk_fail 1 rmi bb
    assert_contains "$(cat "$T/dk.stderr")" "conflict"
    dk_ok rm user >/dev/null
    # unknown image: 404, "No such image"
    dk_fail 1 rmi no-such-image:latest
    assert_contains "$(cat "$T/dk.stderr")" "No such image"
    assert_contains "$(dk_ok rmi bb)" "Deleted: $id"
    assert_eq "$(md_ok images -q)" ""
    md_ok load -i "$T/out.tar" >/dev/null
    assert_eq "$(md_ok image inspect -f '{{.Id}}' bb)" "$id" "the image docker save wrote"
    md_ok rmi bb >/dev/null
    _serve_stop
    store_clean
    assert_clean
}

test_api_run_rm_output_and_exit_codes() {
    _api_setup
    bb_image
    _serve
    assert_eq "$(dk_ok run --rm --network none bb echo hi)" hi
    # stdout and stderr stay apart
    assert_eq "$(dk_ok run --rm --network none bb sh -c 'echo out; echo err >&2' 2>/dev/null)" out
    assert_eq "$(cat "$T/dk.stderr")" err
    # the container's exit code is docker's
    dk_fail 3 run --rm --network none bb sh -c 'exit 3'
    dk_fail 127 run --rm --network none bb no-such-command
    assert_contains "$(cat "$T/dk.stderr")" no-such-command
    dk_fail 137 run --rm --init --network none bb sh -c 'kill -KILL $$; sleep 5'
    # stdin with -i, to EOF
    assert_eq "$(printf 'a\nb\nc\n' | dk_ok run --rm -i --network none bb wc -l)" 3
    assert_eq "$(printf 'x' | dk_ok run --rm -i --network none bb cat)" x
    # flags that go through Config and HostConfig
    assert_eq "$(dk_ok run --rm --network none -e A=1 -w /tmp -u 1000:1000 -h hn bb sh -c 'echo $A $(pwd) $(id -u):$(id -g) $(hostname)')" \
        "1 /tmp 1000:1000 hn"
    assert_eq "$(dk_ok run --rm --network none --read-only bb sh -c 'touch /x 2>/dev/null && echo rw || echo ro')" ro
    # a tty: -it under a pty, its size from the terminal
    local out rc=0
    out=$(TERM=xterm timeout 60 script -eqc "stty cols 93 rows 31; docker run --rm -it --network none bb sh -c 'stty size; tty; exit 6'" /dev/null < <(sleep 60)) || rc=$?
    assert_eq "$rc" 6 "docker run -it's exit code under script (output: $out)"
    assert_contains "$out" "31 93"
    assert_contains "$out" /dev/pts/
    # --rm left nothing
    assert_eq "$(dk_ok ps -aq)" ""
    # docker run of an image that is not there and cannot be pulled
    dk_fail 125 run --rm --network none --pull never no-such-image true
    _serve_stop
    assert_clean
}

test_api_run_detached_logs_follow_wait() {
    _api_setup
    bb_image
    _serve
    local id
    id=$(dk_ok run -d --network none --name lg bb sh -c 'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.4; done; exit 2')
    assert_match "$id" '^[0-9a-f]{64}$'
    # logs -f follows to the container's end, then returns
    timeout 30 docker logs -f lg >"$T/lo" 2>"$T/le" || fail "docker logs -f did not end with the container (exit $?)"
    assert_eq "$(tr '\n' ' ' <"$T/lo")" "out1 out2 out3 "
    assert_eq "$(tr '\n' ' ' <"$T/le")" "err1 err2 err3 "
    assert_eq "$(dk_ok wait lg)" 2
    assert_eq "$(dk_ok inspect -f '{{.State.Status}} {{.State.ExitCode}}' lg)" "exited 2"
    # --tail counts the lines of both streams, as Docker's does: the last
    # two are out3 and err3 (their order across the two pipes is not fixed)
    assert_eq "$(dk_ok logs --tail 2 lg 2>&1 | sort | tr '\n' ' ')" "err3 out3 "
    assert_eq "$(dk_ok logs --tail 1 lg 2>&1 | grep -c 3)" 1
    assert_eq "$(dk_ok logs -t lg 2>/dev/null | sed -n 1p | cut -d' ' -f2)" out1
    # logs -f on a running container keeps following until it exits
    dk_ok run -d --network none --name lg2 bb sh -c 'sleep 1; echo late' >/dev/null
    assert_eq "$(timeout 30 docker logs -f lg2)" late
    # start again, attach-less: docker start -a gives the new output
    assert_contains "$(dk_ok start -a lg2)" late
    dk_ok rm lg lg2 >/dev/null
    # wait on an exited --rm container's id: 404 after removal
    id=$(dk_ok run -d --rm --network none bb sh -c 'exit 4')
    wait_until 10 "--rm container $id removed" sh -c "! docker inspect $id"
    _serve_stop
    assert_ctr_gone "$id"
    assert_clean
}

# A body that follows its head raw (attach's 101, logs until close) is sent
# only once the client has read the head: docker-py reads such bodies from
# the raw socket past http.client's buffer, and a client slow to read the
# head (here: 0.3 s asleep first) found the first bytes swallowed by that
# buffer (docker-py's attach and exec answered b'' now and then).
test_api_raw_body_after_head() {
    _api_setup
    bb_image
    _serve
    dk_ok run --network none --name rb bb echo hello >/dev/null
    local out
    out=$("$PY" - "$T/docker.sock" <<'PYEOF'
import http.client, socket, sys, time
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sys.argv[1])
for path, hdr in (("/containers/rb/attach?logs=1&stream=0&stdout=1", {"Connection": "Upgrade", "Upgrade": "tcp"}),
                  ("/containers/rb/logs?stdout=1&follow=1", {})):
    c = C("localhost")
    c.request("POST" if "attach" in path else "GET", path, headers=hdr)
    time.sleep(0.3)
    r = c.getresponse()
    raw, data = r.fp.raw, b""  # what docker-py reads: the socket, past the buffer
    while True:
        b = raw.read(4096)
        if not b:
            break
        data += b
    print(r.status, data[8:].decode().strip())
PYEOF
)
    assert_eq "$out" $'101 hello\n200 hello'
    dk_ok rm rb >/dev/null
    _serve_stop
    assert_clean
}

# GET /events: the journal as Docker streams it, to the docker CLI (with
# --since/--until, filters, and following) and docker-py's events().
test_api_events() {
    _api_setup
    bb_image
    _serve
    local since until fp out
    sleep 1 # (the CLI sends whole seconds: the import is a second before)
    since=$(date +%s)
    dk_fail 2 run --network none --name ea --label tier=web bb sh -c 'exit 2'
    dk_ok rm ea >/dev/null
    dk_ok volume create eav >/dev/null
    sleep 1
    until=$(date +%s)
    assert_eq "$(dk_ok events --since "$since" --until "$until" --format '{{.Type}} {{.Action}}' | tr '\n' ',')" \
        "container create,container start,container die,container destroy,volume create,"
    assert_eq "$(dk_ok events --since "$since" --until "$until" --filter event=die --format '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.tier}}')" \
        "2 web"
    out=$("$PY" - "$T/docker.sock" "$since" "$until" <<'PYEOF'
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
ev = list(c.events(since=int(sys.argv[2]), until=int(sys.argv[3]), decode=True, filters={"type": "container"}))
print(" ".join(e["Action"] for e in ev), ev[0]["Actor"]["Attributes"]["name"], type(ev[0]["timeNano"]).__name__)
PYEOF
)
    assert_eq "$out" "create start die destroy ea int"
    # an unknown filter: 400 with Docker's message
    assert_eq "$(curl -s -o "$T/ev400" -w '%{http_code}' --unix-socket "$T/docker.sock" \
        "http://x/events?until=$until&filters=%7B%22colour%22%3A%5B%22red%22%5D%7D")" 400
    assert_contains "$(cat "$T/ev400")" "invalid filter 'colour=red'"
    # following: docker events with no bounds gets what comes
    docker events --filter type=volume --format '{{.Action}} {{.Actor.ID}}' >"$T/evf" 2>&1 &
    fp=$!
    sleep 1
    dk_ok volume rm eav >/dev/null
    wait_until 10 "the follower's destroy" grep -q "destroy eav" "$T/evf"
    kill "$fp"
    wait "$fp" 2>/dev/null || true
    assert_eq "$(cat "$T/evf")" "destroy eav"
    # a healthcheck through the docker CLI: ps's health column and filter,
    # inspect's State.Health, the health_status event
    since=$(date +%s)
    dk_ok run -d --network none --name ehc --health-cmd 'test -d /' --health-interval 1s bb sleep 300 >/dev/null
    wait_until 15 "ehc healthy in docker ps" sh -c "docker ps --filter name=ehc | grep -q '(healthy)'"
    assert_match "$(dk_ok ps --filter name=ehc --format '{{.Status}}')" '^Up .* \(healthy\)$'
    assert_eq "$(dk_ok ps --filter health=healthy --format '{{.Names}}')" ehc
    assert_eq "$(dk_ok ps --filter health=unhealthy --format '{{.Names}}')" ""
    assert_eq "$(dk_ok inspect -f '{{.State.Health.Status}} {{(index .State.Health.Log 0).ExitCode}}' ehc)" "healthy 0"
    assert_eq "$(dk_ok events --since "$since" --until "$(($(date +%s) + 1))" --filter event=health_status --format '{{.Action}}' | head -n 1)" \
        "health_status: healthy"
    dk_ok rm -f ehc >/dev/null
    _serve_stop
    assert_clean
}

test_api_exec() {
    _api_setup
    bb_image
    _serve
    dk_ok run -d --network none --name ex bb sleep 300 >/dev/null
    # no tty: exit code, stdout and stderr apart
    dk_fail 4 exec ex sh -c 'echo out; echo err >&2; exit 4' >"$T/eo"
    assert_eq "$(cat "$T/eo")" out
    assert_eq "$(cat "$T/dk.stderr")" err
    assert_eq "$(dk_ok exec ex true; echo $?)" 0
    dk_fail 127 exec ex no-such-command
    # stdin with -i; -e, -w, -u
    assert_eq "$(echo piped | dk_ok exec -i ex cat)" piped
    assert_eq "$(dk_ok exec -e X=y -w /etc -u 1000 ex sh -c 'echo $X $(pwd) $(id -u)')" "y /etc 1000"
    # -it under a pty: the terminal's size arrives, the exit code comes back
    local out rc=0
    out=$(TERM=xterm timeout 60 script -eqc "stty cols 91 rows 37; docker exec -it ex sh -c 'stty size; tty; exit 5'" /dev/null < <(sleep 60)) || rc=$?
    assert_eq "$rc" 5 "docker exec -it's exit code under script (output: $out)"
    assert_contains "$out" "37 91"
    assert_contains "$out" /dev/pts/
    # typed input reaches the shell in the container
    rc=0
    out=$(TERM=xterm timeout 60 script -eqc "docker exec -it ex sh" /dev/null < <(sleep 1; printf 'echo typed-$((6*7))\n'; sleep 1; printf 'exit 3\n'; sleep 30)) || rc=$?
    assert_eq "$rc" 3 "docker exec -it sh, then typed 'exit 3' (output: $out)"
    assert_contains "$out" typed-42
    # exec in a stopped container: an error, not a hang
    dk_ok stop -t 1 ex >/dev/null
    dk_fail any exec ex true
    assert_contains "$(cat "$T/dk.stderr")" "not running"
    dk_ok rm ex >/dev/null
    _serve_stop
    assert_clean
}

# A command that stops at once on SIGTERM (sh as PID 1 ignores it otherwise).
_TRAPPY=(sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')

test_api_ps_filters_top_stats_stop_rm() {
    _api_setup
    bb_image
    _serve
    dk_ok run -d --network none --name r1 --label app=web bb sleep 300 >/dev/null
    dk_ok run -d --network none --name r2 bb "${_TRAPPY[@]}" >/dev/null
    dk_fail 3 run --network none --name e3 bb sh -c 'exit 3'
    dk_ok create --network none --name c4 bb true >/dev/null
    _names() { dk_ok ps "$@" --format '{{.Names}}' | sort | tr '\n' ' '; }
    assert_eq "$(_names)" "r1 r2 " "ps"
    assert_eq "$(_names -a)" "c4 e3 r1 r2 " "ps -a"
    assert_eq "$(_names -a --filter status=exited)" "e3 " "status=exited"
    assert_eq "$(_names -a --filter status=created)" "c4 " "status=created"
    assert_eq "$(_names --filter label=app=web)" "r1 " "label=app=web"
    assert_eq "$(_names --filter label=app)" "r1 " "label=app"
    assert_eq "$(_names -a --filter name=r2)" "r2 " "name=r2"
    assert_eq "$(_names -a --filter exited=3)" "e3 " "exited=3"
    assert_eq "$(_names -a --filter ancestor=bb)" "c4 e3 r1 r2 " "ancestor=bb"
    assert_eq "$(_names -a --filter status=running --filter label=app=web)" "r1 " "two filters"
    local id1
    id1=$(dk_ok inspect -f '{{.Id}}' r1)
    assert_eq "$(_names -a --filter "id=${id1:0:12}")" "r1 " "id=short"
    assert_eq "$(dk_ok ps -q --no-trunc --filter name=r1)" "$id1"
    dk_fail 1 ps --filter bogus=1    # Docker's CLI: the daemon's 400, exit 1 (minidock ps too)
    assert_eq "$(dk_ok ps -a -n 1 --format '{{.Names}}')" c4 "ps -n 1: the newest"
    assert_match "$(dk_ok ps -a --filter name=e3 --format '{{.Status}}')" '^Exited \(3\) '
    # top and stats
    assert_contains "$(dk_ok top r1)" "sleep 300"
    assert_eq "$(dk_ok stats --no-stream --format '{{.Name}}' r1)" r1
    # stop: SIGTERM first; the command that handles it stops at once
    local t0 t1
    t0=$(date +%s%N)
    dk_ok stop r2 >/dev/null
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "docker stop of a container that exits on SIGTERM took $(((t1 - t0) / 1000000)) ms"
    assert_eq "$(dk_ok inspect -f '{{.State.Status}} {{.State.ExitCode}}' r2)" "exited 0"
    # a running container is not removed without -f (409), with -f it is
    dk_fail 1 rm r1
    assert_contains "$(cat "$T/dk.stderr")" "running"
    assert_eq "$(dk_ok inspect -f '{{.State.Running}}' r1)" true
    dk_ok stop -t 1 r1 >/dev/null
    assert_eq "$(dk_ok inspect -f '{{.State.ExitCode}}' r1)" 137 "sleep ignores SIGTERM: killed after -t 1"
    dk_ok restart -t 1 r1 >/dev/null
    assert_eq "$(dk_ok inspect -f '{{.State.Running}}' r1)" true
    dk_ok rename r1 r1b
    dk_ok rm -f r1b >/dev/null
    dk_ok rm r2 e3 c4 >/dev/null
    dk_fail 1 rm no-such-container
    assert_contains "$(cat "$T/dk.stderr")" "No such container"
    assert_eq "$(dk_ok ps -aq)" ""
    _serve_stop
    assert_ctr_gone "$id1"
    assert_clean
}

test_api_cli_and_api_share_containers() {
    _api_setup
    bb_image
    _serve
    local mid did
    mid=$(md_ok run -d --network none --name mdmade bb sleep 300)
    did=$(dk_ok run -d --network none --name apimade bb sleep 300)
    # each front end lists what the other made, with the same IDs
    assert_eq "$(dk_ok ps --no-trunc --format '{{.ID}} {{.Names}}' | sort)" "$(printf '%s\n' "$did apimade" "$mid mdmade" | sort)"
    assert_eq "$(md_ok ps --no-trunc --format '{{.ID}} {{.Names}}' | sort)" "$(printf '%s\n' "$did apimade" "$mid mdmade" | sort)"
    # and works on it
    assert_eq "$(dk_ok exec mdmade echo via-api)" via-api
    assert_eq "$(md_ok exec apimade echo via-cli)" via-cli
    assert_eq "$(dk_ok inspect -f '{{.State.Pid}}' mdmade)" "$(md_ok inspect -f '{{.State.Pid}}' mdmade)"
    dk_ok stop -t 1 mdmade >/dev/null
    assert_eq "$(ctr_state mdmade)" exited
    md_ok stop -t 1 apimade >/dev/null
    assert_eq "$(dk_ok inspect -f '{{.State.Status}}' apimade)" exited
    dk_ok rm mdmade >/dev/null
    md_ok rm apimade >/dev/null
    assert_eq "$(dk_ok ps -aq)" ""
    _serve_stop
    assert_ctr_gone "$mid"
    assert_ctr_gone "$did"
    assert_clean
}

test_api_volumes() {
    _api_setup
    bb_image
    _serve
    assert_eq "$(dk_ok volume create vol1)" vol1
    assert_contains "$(md_ok volume ls -q)" vol1
    dk_ok run --rm --network none -v vol1:/data bb sh -c 'echo kept >/data/f'
    assert_eq "$(dk_ok run --rm --network none -v vol1:/data:ro bb cat /data/f)" kept
    assert_eq "$(dk_ok volume inspect -f '{{.Name}} {{.Driver}}' vol1)" "vol1 local"
    assert_eq "$(dk_ok volume ls -q)" vol1
    # a bind mount from the host
    mkdir -p "$T/host"
    echo from-host >"$T/host/f"
    assert_eq "$(dk_ok run --rm --network none -v "$T/host:/h:ro" bb cat /h/f)" from-host
    # in use: 409; then removed
    dk_ok create --network none --name vuser -v vol1:/data bb true >/dev/null
    dk_fail 1 volume rm vol1
    dk_ok rm vuser >/dev/null
    assert_eq "$(dk_ok volume rm vol1)" vol1
    assert_eq "$(md_ok volume ls -q)" ""
    _serve_stop
    assert_clean
}

# What the SDKs ask beyond the CLI (issue 13): prune, filters, diff, df,
# import from the body, the built-in networks, swarm answered as a Docker
# outside one, kill that waits for SIGKILL, Docker's errors for an unknown
# runtime, log driver or network, and chunked JSON streams. (docker-py's
# own suite, 51-dockerpy.sh, drives the same through the SDK.)
# timeout: 300
test_api_sdk_endpoints() {
    _api_setup
    _api_netns # it creates a network: in a namespace of its own
    bb_image
    _serve
    local r id
    # prune: a stopped container goes, a running one stays
    id=$(md_ok create --network none --name p1 bb true)
    md_ok start -a p1 >/dev/null
    md_ok run -d --network none --name p2 bb sleep 300 >/dev/null
    r=$(_req -X POST /containers/prune)
    assert_eq "${r%% *}" 200 "containers/prune: $r"
    assert_contains "$r" "\"ContainersDeleted\":[\"$id\"]"
    assert_eq "$(md_ok ps -aq --no-trunc)" "$(md_ok inspect -f '{{.Id}}' p2)" "containers left after the prune"
    assert_eq "$(_req -X POST '/containers/prune?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D' | cut -d' ' -f1)" 400 "prune, an unknown filter"
    # kill waits for SIGKILL to take effect: not running right after
    assert_eq "$(_req -X POST /containers/p2/kill | cut -d' ' -f1)" 204 "kill"
    assert_eq "$(md_ok inspect -f '{{.State.Running}} {{.State.ExitCode}}' p2)" "false 137" "state right after kill"
    assert_eq "$(_req -X DELETE /containers/p2 | cut -d' ' -f1)" 204 "rm p2"
    # images: import from the body (a chunked JSON stream), filters, prune
    r=$(curl -s -i --unix-socket "$T/docker.sock" -X POST --data-binary "@$FIX/busybox-rootfs.tar" \
        -H 'Content-Type: application/x-tar' 'http://d/v1.43/images/create?fromSrc=-&repo=imp/bb&tag=t1&changes=CMD%20%5B%22sh%22%5D')
    assert_contains "$r" "Transfer-Encoding: chunked"
    assert_match "$r" '"status":"sha256:[0-9a-f]{64}"'
    assert_eq "$(md_ok image inspect -f '{{json .Config.Cmd}}' imp/bb:t1)" '["sh"]' "the import's CMD change"
    assert_eq "$(_req -X POST '/images/create?fromSrc=http%3A%2F%2Fexample.invalid%2Fx.tar&repo=u' | cut -d' ' -f1)" 400 "import from a URL"
    r=$(_req '/images/json?filters=%7B%22reference%22%3A%5B%22imp%2F*%22%5D%7D')
    assert_eq "$(jq -r '[.[] | .RepoTags[]] | join(",")' <<<"${r#* }")" imp/bb:t1 "images, reference imp/*"
    r=$(_req '/images/json?filters=%7B%22reference%22%3A%5B%22nosuch%22%5D%7D')
    assert_eq "${r#* }" "[]" "images, reference nosuch"
    assert_eq "$(_req '/images/json?filters=%7B%22since%22%3A%5B%22bb%22%5D%7D' | cut -d' ' -f1)" 400 "images, a filter minidock does not have"
    r=$(_req -X POST '/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D')
    assert_contains "$r" '{"Untagged":"imp/bb:t1"}'
    assert_eq "$(md_ok images -q imp/bb)" "" "imp/bb after the prune"
    assert_eq "$(md_ok images -q bb)" "" "bb (no container uses it) after the prune"
    bb_image
    # volumes: filters and prune (anonymous ones; all=true: every unused one)
    md_ok volume create keepme >/dev/null
    r=$(_req '/volumes?filters=%7B%22name%22%3A%5B%22keep%22%5D%7D')
    assert_eq "$(jq -r '[.Volumes[].Name] | join(",")' <<<"${r#* }")" keepme "volumes, name keep"
    r=$(_req '/volumes?filters=%7B%22name%22%3A%5B%22foobar%22%5D%7D')
    assert_eq "$(jq -r '.Volumes | length' <<<"${r#* }")" 0 "volumes, name foobar"
    # labels: each must hold (as the CLI's --filter and Docker's)
    md_ok volume create --label a=1 labelled >/dev/null
    r=$(_req '/volumes?filters=%7B%22label%22%3A%5B%22a%3D1%22%5D%7D')
    assert_eq "$(jq -r '[.Volumes[].Name] | join(",")' <<<"${r#* }")" labelled "volumes, label a=1"
    r=$(_req '/volumes?filters=%7B%22label%22%3A%5B%22a%3D1%22%2C%22b%22%5D%7D')
    assert_eq "$(jq -r '.Volumes | length' <<<"${r#* }")" 0 "volumes, labels a=1 and b"
    md_ok volume rm labelled >/dev/null
    r=$(_req -X POST /volumes/prune)
    assert_contains "$r" '"VolumesDeleted":null'
    r=$(_req -X POST '/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D')
    assert_contains "$r" '"VolumesDeleted":["keepme"]'
    # networks: the built-in ones inspect, filters, prune
    assert_eq "$(_req /networks/host | cut -d' ' -f1)" 200 "inspect host"
    assert_contains "$(_req /networks/none)" '"Driver":"null"'
    assert_eq "$(_req /networks/nosuch | cut -d' ' -f1)" 404 "inspect nosuch"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"pnet"}' /networks/create | cut -d' ' -f1)" 201 "create pnet"
    r=$(_req '/networks?filters=%7B%22name%22%3A%5B%22pne%22%5D%7D')
    assert_eq "$(jq -r '[.[].Name] | join(",")' <<<"${r#* }")" pnet "networks, name pne"
    r=$(_req '/networks?filters=%7B%22type%22%3A%5B%22builtin%22%5D%7D')
    assert_eq "$(jq -r '[.[].Name] | sort | join(",")' <<<"${r#* }")" bridge,host,none "networks, type builtin"
    assert_eq "$(_req '/networks?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D' | cut -d' ' -f1)" 400 "networks, an unknown filter"
    assert_contains "$(_req -X POST /networks/prune)" '"NetworksDeleted":["pnet"]'
    # Docker's errors for names it does not know
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","HostConfig":{"Runtime":"kata"}}' /containers/create)
    assert_eq "$r" '400 {"message":"unknown or invalid runtime name: kata"}'
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","HostConfig":{"LogConfig":{"Type":"asdf"}}}' /containers/create)
    assert_eq "$r" "400 {\"message\":\"logger: no log driver named 'asdf' is registered\"}"
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","NetworkingConfig":{"EndpointsConfig":{"nosuchnet":{}}}}' /containers/create)
    assert_eq "${r%% *}" 404 "an endpoint on no network: $r"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":["true"],"HostConfig":{"Runtime":"runc","NetworkMode":"none"}}' '/containers/create?name=rt' | cut -d' ' -f1)" 201 "create with runtime runc"
    assert_eq "$(md_ok inspect -f '{{.HostConfig.Runtime}}' rt)" runc
    # diff (changes) and df
    md_ok run --network none --name d1 bb sh -c 'touch /test; mkdir -p /a; echo x >/a/b; rm /bin/ls' >/dev/null
    r=$(_req /containers/d1/changes)
    assert_eq "${r#* }" '[{"Path":"/a","Kind":1},{"Path":"/a/b","Kind":1},{"Path":"/bin","Kind":0},{"Path":"/bin/ls","Kind":2},{"Path":"/test","Kind":1}]' "changes"
    assert_eq "$(md_ok diff d1 | tr '\n' ' ')" "A /a A /a/b C /bin D /bin/ls A /test " "minidock diff"
    # commit: the changes as a new image, the body's Config fields over the container's
    r=$(_req -X POST -H 'Content-Type: application/json' -d '{"Labels":{"made":"by-api"}}' \
        '/commit?container=d1&repo=api/c&tag=1&comment=via%20api&changes=WORKDIR%20/a')
    assert_eq "${r%% *}" 201 "commit: $r"
    assert_match "$r" '"Id":"sha256:[0-9a-f]{64}"'
    assert_eq "$(md_ok image inspect -f '{{.Config.Labels.made}} {{.Config.WorkingDir}}' api/c:1)" "by-api /a"
    assert_eq "$(md_ok run --rm --network none api/c:1 cat b)" x "a file of the committed layer"
    assert_eq "$(_req -X POST '/commit?container=nosuch' | cut -d' ' -f1)" 404 "commit of no container"
    md_ok rmi api/c:1 >/dev/null
    r=$(_req /system/df)
    assert_eq "$(jq -r '[has("LayersSize"), (.Images | length), (.Containers | length), (.Volumes | length)] | join(" ")' <<<"${r#* }")" "true 1 2 0" "system/df: $r"
    assert_eq "$(jq -r '[.Containers[] | select(.Names == ["/d1"]) | .SizeRw > 0] | join(" ")' <<<"${r#* }")" true "d1's SizeRw"
    md_ok rm d1 rt >/dev/null
    # attach: logs=1 without stream sends the output and ends; on a
    # terminal the detach keys (ctrl-p ctrl-q, or detachKeys) end the
    # attach and leave the container running
    md_ok run --network none --name lg bb echo logged >/dev/null
    assert_eq "$(curl -s --max-time 10 --unix-socket "$T/docker.sock" -X POST \
        'http://d/containers/lg/attach?logs=1&stream=0&stdout=1' | tr -d '\000-\010')" logged "attach logs=1 stream=0"
    md_ok rm lg >/dev/null
    md_ok run -d -i -t --network none --name cat1 bb cat >/dev/null
    cat >"$T/detach.py" <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
s.sendall(("POST /containers/cat1/attach?stdin=1&stdout=1&stream=1%s HTTP/1.1\r\nHost: d\r\n"
           "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % sys.argv[2]).encode())
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(4096)
s.sendall(b"hello\n")
time.sleep(0.5)
for k in bytes.fromhex(sys.argv[3]):
    s.sendall(bytes([k]))
    time.sleep(0.2)
end = time.time() + 10
while time.time() < end:
    d = s.recv(4096)
    if not d:
        print("closed")
        sys.exit(0)
print("still open")
PYEOF
    assert_eq "$("$PY" "$T/detach.py" "$T/docker.sock" "" 1011)" closed "attach, ctrl-p ctrl-q"
    assert_eq "$(md_ok inspect -f '{{.State.Running}}' cat1)" true "running after the detach"
    assert_eq "$("$PY" "$T/detach.py" "$T/docker.sock" "&detachKeys=ctrl-x,y" 1879)" closed "attach, detachKeys=ctrl-x,y"
    assert_eq "$(_req -X POST '/containers/cat1/attach?stream=1&stdin=1&detachKeys=ctrl-' | cut -d' ' -f1)" 400 "bad detach keys"
    md_ok rm -f cat1 >/dev/null
    # archive (the API's cp): PUT into a created container's volume, GET
    # and HEAD back with the path's stat
    md_ok create --network none --name ar -v /vol1 bb cat /vol1/in.txt >/dev/null
    mkdir -p "$T/put"
    echo put-through-api >"$T/put/in.txt"
    tar -C "$T/put" -cf "$T/put.tar" in.txt
    assert_eq "$(_req -X PUT --data-binary "@$T/put.tar" '/containers/ar/archive?path=/vol1' | cut -d' ' -f1)" 200 "PUT archive"
    assert_eq "$(md_ok start -a ar)" put-through-api "the file, read in the container from its volume"
    curl -s -D "$T/ar.head" -o "$T/ar.tar" --unix-socket "$T/docker.sock" 'http://d/containers/ar/archive?path=/vol1/in.txt'
    assert_eq "$(tar -xOf "$T/ar.tar" in.txt)" put-through-api "GET archive"
    assert_eq "$(sed -n 's/^X-Docker-Container-Path-Stat: //p' "$T/ar.head" | tr -d '\r' | base64 -d | jq -r '"\(.name) \(.size)"')" "in.txt 16" "the path's stat"
    assert_eq "$(_req -I '/containers/ar/archive?path=/nosuch' | cut -d' ' -f1)" 404 "HEAD of no such path"
    assert_eq "$(_req -X PUT --data-binary "@$T/put.tar" '/containers/ar/archive?path=/vol1/in.txt' | cut -d' ' -f1)" 400 "PUT into a file"
    md_ok rm -v ar >/dev/null
    # swarm, as a Docker outside one; no plugins; no build cache
    assert_eq "$(_req /swarm | cut -d' ' -f1)" 503 "GET /swarm"
    assert_eq "$(_req -X POST '/swarm/leave?force=1')" '503 {"message":"This node is not part of a swarm"}'
    assert_eq "$(_req /services | cut -d' ' -f1)" 503 "GET /services"
    assert_eq "$(_req -X POST -d '{}' /secrets/create | cut -d' ' -f1)" 503 "POST /secrets/create"
    assert_eq "$(_req /plugins)" "200 []"
    assert_contains "$(_req -X POST /build/prune)" '"SpaceReclaimed":0'
    _serve_stop
    _api_host_untouched
    assert_clean
}

# The docker CLI's own commands over the endpoints above (issue 13):
# commit, diff, cp both ways (the archive endpoints), update, system df
# and system prune -f.
# timeout: 300
test_api_docker_cli_commit_cp_update_df() {
    _api_setup
    bb_image
    _serve
    dk_ok run --name dc1 --network none bb sh -c 'echo one >/f1; rm /bin/ls' >/dev/null
    assert_eq "$(dk_ok diff dc1 | tr '\n' ' ')" "C /bin D /bin/ls A /f1 " "docker diff"
    dk_ok commit -m "by the docker CLI" -c 'CMD ["cat","/f1"]' dc1 dcli/c:1 >/dev/null
    assert_eq "$(dk_ok run --rm --network none dcli/c:1)" one "docker commit, then run"
    # cp: out of and into a stopped container
    dk_ok cp dc1:/f1 "$T/f1.out"
    assert_eq "$(cat "$T/f1.out")" one "docker cp out"
    echo two >"$T/f2"
    dk_ok cp "$T/f2" dc1:/f2
    assert_eq "$(md_ok cp dc1:/f2 - | tar -xO f2)" two "docker cp in"
    # update of a running container
    dk_ok run -d --name dc2 --network none bb sleep 300 >/dev/null
    dk_ok update --memory 96m --memory-swap 192m --pids-limit 40 dc2 >/dev/null
    assert_eq "$(md_ok inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' dc2)" "100663296 40" "docker update"
    assert_contains "$(dk_ok system df)" "Images"
    dk_ok rm -f dc2 >/dev/null
    dk_ok system prune -f >/dev/null
    assert_eq "$(md_ok ps -aq)" "" "containers after docker system prune -f"
    dk_ok rmi dcli/c:1 >/dev/null
    _serve_stop
    assert_clean
}

# `DOCKER_BUILDKIT=0 docker build` through serve: the context as the CLI
# sends it (a tar, .dockerignore applied), a multi-stage Dockerfile, the
# legacy builder's output, the cache on a second build, a failing RUN.
test_api_docker_cli_build() {
    _api_setup
    bb_image
    _serve
    mkdir -p "$T/ctx/sub"
    echo hello >"$T/ctx/a.txt"
    echo skip >"$T/ctx/skip.log"
    echo in >"$T/ctx/sub/in"
    printf '*.log\n' >"$T/ctx/.dockerignore"
    cat >"$T/ctx/Dockerfile" <<'DFEOF'
FROM bb AS first
ARG WHO=nobody
RUN echo "built by $WHO" >/made
FROM bb
COPY --from=first /made /made
COPY . /ctx/
ENV GREETING=hi
CMD ["sh", "-c", "cat /made; ls -A /ctx | sort | tr '\\n' ' '"]
DFEOF
    DOCKER_BUILDKIT=0 dk_ok build --network none --build-arg WHO=cli -t dcli/b:1 "$T/ctx" >"$T/b1.out"
    assert_contains "$(cat "$T/b1.out")" "Step 8/8 : CMD"
    assert_contains "$(cat "$T/b1.out")" "Successfully tagged dcli/b:1"
    assert_eq "$(dk_ok run --rm --network none dcli/b:1)" "built by cli
.dockerignore Dockerfile a.txt sub " "the built image"
    assert_eq "$(dk_ok image inspect -f '{{json .Config.Env}}' dcli/b:1)" \
        '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","GREETING=hi"]'
    # history: a line a step, each with the image it made (the cache's chain)
    assert_eq "$(dk_ok history -q dcli/b:1 | head -n 1)" "$(md_ok images -q dcli/b:1)" "docker history"
    assert_eq "$(dk_ok history -q dcli/b:1 | grep -vc missing)" 5 "steps of the last stage in docker history"
    DOCKER_BUILDKIT=0 dk_ok build --network none --build-arg WHO=cli -t dcli/b:1 "$T/ctx" >"$T/b2.out"
    assert_eq "$(grep -c 'Using cache' "$T/b2.out")" 6 "steps from the cache on the second build"
    printf 'FROM bb\nRUN echo failing; exit 3\n' >"$T/ctx/Dockerfile.bad"
    rc=0
    DOCKER_BUILDKIT=0 docker -H "unix://$T/docker.sock" build --network none -f "$T/ctx/Dockerfile.bad" "$T/ctx" >"$T/b3.out" 2>&1 || rc=$?
    assert_eq "$rc" 3 "docker build of a failing RUN: its exit code"
    assert_contains "$(cat "$T/b3.out")" "returned a non-zero code: 3"
    # as Docker's: the failed RUN's container stays to be looked at
    assert_eq "$(md_ok ps -aq --filter status=exited | wc -l)" 1 "the failed RUN's container"
    dk_ok rm "$(md_ok ps -aq)" >/dev/null
    dk_ok rmi dcli/b:1 >/dev/null
    _serve_stop
    assert_clean
}

# timeout: 300
test_api_network_create_and_run() {
    _api_setup
    _api_netns
    require_cmd jq
    bb_image
    _serve
    assert_contains "$(dk_ok network ls --format '{{.Name}}' | tr '\n' ' ')" "bridge host none"
    dk_ok network create --subnet 10.231.0.0/24 --label t=1 tnet >/dev/null
    assert_eq "$(dk_ok network inspect -f '{{.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' tnet)" \
        "bridge 10.231.0.0/24 10.231.0.1"
    assert_eq "$(md_ok network ls --format '{{.Name}}' | grep -c '^tnet$')" 1 "minidock sees the network"
    dk_fail any network create --subnet 10.231.0.0/24 tnet
    # a web server and a client on it, by name
    dk_ok run -d --network tnet --name web bb sh -c 'mkdir -p /www && echo hello-web >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
    local ip
    ip=$(dk_ok inspect -f '{{(index .NetworkSettings.Networks "tnet").IPAddress}}' web)
    assert_match "$ip" '^10\.231\.0\.[0-9]+$'
    assert_eq "$(dk_ok run --rm --network tnet bb sh -c 'for i in $(seq 50); do wget -q -O - http://web/ && exit 0; sleep 0.1; done; exit 1')" hello-web
    assert_eq "$(dk_ok run --rm --network tnet bb sh -c "wget -q -O - http://$ip/")" hello-web
    # the default bridge, and --network none, in the same namespace
    assert_match "$(dk_ok run --rm bb ip -4 -o addr show eth0)" 'inet 10\.'
    assert_eq "$(dk_ok run --rm --network none bb sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "
    # connect and disconnect
    dk_ok network create tnet2 >/dev/null
    dk_ok network connect tnet2 web
    assert_eq "$(dk_ok inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' web)" "tnet tnet2 "
    assert_contains "$(dk_ok network inspect -f '{{range .Containers}}{{.Name}}{{end}}' tnet2)" web
    dk_ok network disconnect tnet2 web
    assert_eq "$(dk_ok inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' web)" "tnet "
    # a network in use is not removed
    dk_fail any network rm tnet
    dk_ok rm -f web >/dev/null
    dk_ok network rm tnet tnet2 >/dev/null
    assert_not_contains "$(dk_ok network ls --format '{{.Name}}' | tr '\n' ' ')" tnet
    _serve_stop
    # nothing left in the test's namespace but the default bridge (veths go
    # with their container's namespace, which the kernel ends a moment
    # later), nothing at all in the machine's
    wait_until 10 "links left in the test's namespace: $(_ns_links)" _ns_links_clean
    _api_host_untouched
    assert_clean
}

# The docker CLI's endpoint settings (run --link-local-ip,
# connect --link/--driver-opt/--link-local-ip) and IPAM IPRange and
# AuxiliaryAddresses through the API, kept, shown and honoured; what the
# one IPv4 IPAM cannot do refused.
test_api_network_endpoint_ipam() {
    _api_setup
    _api_netns
    require_cmd jq
    bb_image
    _serve
    dk_ok network create --subnet 10.232.0.0/24 --ip-range 10.232.0.128/30 --aux-address r=10.232.0.129 "t net" >/dev/null
    assert_eq "$(dk_ok network inspect -f '{{json .IPAM.Config}}' "t net" | jq -c .)" \
        '[{"Subnet":"10.232.0.0/24","IPRange":"10.232.0.128/30","Gateway":"10.232.0.128","AuxiliaryAddresses":{"r":"10.232.0.129"}}]'
    # (the CLI sends a MAC per network only to API 1.44 and later)
    dk_ok run -d --name wb --network "t net" --link-local-ip 169.254.9.9 bb sleep 120 >/dev/null
    local n='(index .NetworkSettings.Networks "t net")'
    assert_eq "$(dk_ok inspect -f "{{$n.IPAddress}} {{json $n.IPAMConfig.LinkLocalIPs}}" wb)" '10.232.0.130 ["169.254.9.9"]'
    assert_contains "$(dk_ok exec wb ip -o -4 addr show dev eth0)" "inet 169.254.9.9/16"
    dk_ok network create t2 >/dev/null
    dk_ok network connect --link wb:web --driver-opt com.example.k=v t2 wb
    assert_eq "$(dk_ok inspect -f '{{json (index .NetworkSettings.Networks "t2").Links}} {{json (index .NetworkSettings.Networks "t2").DriverOpts}}' wb)" \
        '["wb:web"] {"com.example.k":"v"}'
    # refused, not dropped: an IPv6 address on a network without IPv6, a
    # link-local address that is not one, IPv6 without an IPv6 subnet
    dk_fail 125 run --rm --network t2 --ip6 2001:db8::5 bb true
    dk_fail 125 run --rm --network "t net" --link-local-ip 10.0.0.1 bb true
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"x1","IPAM":{"Config":[{"Subnet":"10.232.0.0/25"}]}}' /networks/create | cut -d' ' -f1)" 403 "an overlapping subnet (Docker's pool overlap)"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"x2","IPAM":{"Config":[{"Subnet":"10.235.0.0/24","IPRange":"nonsense"}]}}' /networks/create | cut -d' ' -f1)" 400 "a bad IPRange"
    assert_eq "$(_req -X POST -H 'Content-Type: application/json' -d '{"Name":"x3","IPAM":{"Config":[{"Subnet":"10.235.0/24"}]}}' /networks/create | cut -d' ' -f1)" 400 "a bad subnet"
    dk_fail any network create --ipv6 v6
    dk_fail any network create --ipam-driver nosuch ipd
    assert_contains "$(cat "$T/dk.stderr")" 'plugin "nosuch" not found'
    dk_fail any network create --ipam-opt k=v ipo
    dk_fail any network create --subnet 10.233.0.0/24 --subnet 10.234.0.0/24 two
    dk_ok rm -f wb >/dev/null
    dk_ok network rm "t net" t2 >/dev/null
    _serve_stop
    wait_until 10 "links left in the test's namespace: $(_ns_links)" _ns_links_clean
    _api_host_untouched
    assert_clean
}

# _api_registry: a registry (Debian's docker-registry, TLS with a CA and a
# certificate for DNS:localhost made here, htpasswd auth) on 127.0.0.1:5000
# inside the test's namespace; MINIDOCK_CONFIG_DIR trusts the CA.  Sets REG.
_API_REG_USER=mdtest
_API_REG_PASS=pw-for-mdtest-0
# _api_registry [open]: Debian's docker-registry on localhost:5000 in the
# test's namespace, with TLS (a CA of the test's own, trusted through
# $MINIDOCK_CONFIG_DIR/certs.d) and htpasswd auth ($_API_REG_USER), or none
# with "open"; sets REG, REG_PID.
_api_registry() {
    require_cmd docker-registry openssl htpasswd skopeo
    local open=${1:-}
    local d=$T/pki
    mkdir -p "$d/skopeo"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=minidock-api-test-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>"$d/openssl.log"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout "$d/srv.key" -out "$d/srv.csr" 2>>"$d/openssl.log"
    printf '%s\n' 'subjectAltName=DNS:localhost' 'basicConstraints=CA:FALSE' \
        'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' >"$d/srv.ext"
    openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
        -extfile "$d/srv.ext" -out "$d/srv.crt" 2>>"$d/openssl.log" || fail "openssl: $(tail -n 3 "$d/openssl.log")"
    cp "$d/ca.crt" "$d/skopeo/ca.crt"
    htpasswd -Bbn "$_API_REG_USER" "$_API_REG_PASS" >"$d/htpasswd" 2>/dev/null
    mkdir -p "$T/reg"
    cat >"$T/reg/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T/reg/data
http:
  addr: 127.0.0.1:5000
  tls:
    certificate: $d/srv.crt
    key: $d/srv.key
EOF
    [ "$open" = open ] || printf '%s\n' 'auth:' '  htpasswd:' '    realm: minidock-api-test' \
        "    path: $d/htpasswd" >>"$T/reg/config.yml"
    _in_ns docker-registry serve "$T/reg/config.yml" >"$T/reg/log" 2>&1 &
    REG_PID=$!
    API_BG="$API_BG $REG_PID"
    REG=localhost:5000
    wait_until 20 "the registry on $REG ($(tail -n 2 "$T/reg/log"))" \
        _in_ns curl -s --cacert "$d/ca.crt" -o /dev/null "https://$REG/v2/"
    export MINIDOCK_CONFIG_DIR=$T/cfg
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$REG"
    cp "$d/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$REG/ca.crt"
}

# timeout: 300
test_api_pull_from_registry() {
    _api_setup
    _api_netns
    bb_image
    local id
    id=$(md_ok image inspect -f '{{.Id}}' bb)
    md_ok save -o "$T/bb.tar" bb >/dev/null
    md_ok rmi bb >/dev/null
    _api_registry
    _in_ns skopeo --insecure-policy copy -q --dest-creds "$_API_REG_USER:$_API_REG_PASS" \
        --dest-cert-dir "$T/pki/skopeo" "docker-archive:$T/bb.tar" "docker://$REG/test/bb:v1" >/dev/null ||
        fail "skopeo could not push to $REG"
    _serve
    # the CLI sends the credentials of its config file as X-Registry-Auth
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf '%s:%s' "$_API_REG_USER" "$_API_REG_PASS" | base64 -w0)" \
        >"$DOCKER_CONFIG/config.json"
    dk_ok pull "$REG/test/bb:v1" >"$T/pull.out"
    assert_contains "$(cat "$T/pull.out")" "$REG/test/bb:v1"
    assert_eq "$(dk_ok image inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$id" "the pulled image's ID"
    assert_eq "$(md_ok images --format '{{.Repository}}:{{.Tag}}')" "$REG/test/bb:v1"
    assert_eq "$(dk_ok run --rm --network none "$REG/test/bb:v1" echo pulled)" pulled
    # the streamed progress is Docker's JSON, one object a line
    local j
    j=$(curl -s --max-time 60 --unix-socket "$T/docker.sock" -X POST \
        -H "X-Registry-Auth: $(printf '{"username":"%s","password":"%s"}' "$_API_REG_USER" "$_API_REG_PASS" | base64 -w0 | tr '+/' '-_')" \
        "http://d/v1.43/images/create?fromImage=$REG/test/bb&tag=v1")
    jq -e -s 'length > 0 and all(.[]; type == "object" and (has("status") or has("error")))' <<<"$j" >/dev/null ||
        fail "images/create's stream is not JSON objects: $j"
    jq -e -s 'all(.[]; has("error") | not)' <<<"$j" >/dev/null || fail "images/create reported an error: $j"
    # what the registry holds, without pulling (distribution inspect)
    j=$(curl -s --max-time 60 --unix-socket "$T/docker.sock" \
        -H "X-Registry-Auth: $(printf '{"username":"%s","password":"%s"}' "$_API_REG_USER" "$_API_REG_PASS" | base64 -w0 | tr '+/' '-_')" \
        "http://d/v1.43/distribution/$REG/test/bb:v1/json")
    assert_eq "$(jq -r '"\(.Descriptor.digest | startswith("sha256:")) \(.Descriptor.size > 0) \(.Platforms[0].os)/\(.Platforms[0].architecture)"' <<<"$j")" \
        "true true linux/amd64" "distribution inspect: $j"
    assert_eq "$(_req -H "X-Registry-Auth: $(printf '{"username":"%s","password":"%s"}' "$_API_REG_USER" "$_API_REG_PASS" | base64 -w0 | tr '+/' '-_')" \
        "/distribution/$REG/test/bb:nosuch/json" | cut -d' ' -f1)" 404 "distribution inspect of no such tag"
    # errors: a missing tag, wrong credentials
    dk_fail 1 pull "$REG/test/bb:nope"
    assert_match "$(cat "$T/dk.stderr")" "not found|unknown|404"
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf '%s:wrong' "$_API_REG_USER" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
    dk_fail 1 pull "$REG/test/bb:v1"
    assert_match "$(cat "$T/dk.stderr")" "unauthorized|401|denied|authentication"
    dk_ok rmi "$REG/test/bb:v1" >/dev/null
    _serve_stop
    # (_in_ns runs in a subshell of its own: the registry is its child)
    pkill -TERM -f "docker-registry serve $T/reg/config.yml" || true
    wait "$REG_PID" 2>/dev/null || true
    wait_until 10 "the registry gone" _no_procs "docker-registry serve $T/reg/config.yml"
    store_clean
    _api_host_untouched
    assert_clean
}

# ---- python3-docker

# timeout: 300
test_api_python_docker() {
    _api_setup
    "$PY" -c 'import docker' 2>/dev/null || skip "python3-docker not installed (for $PY)"
    bb_image
    _serve
    cat >"$T/sdk.py" <<'PYEOF'
import sys, time, docker
sock, img_id = sys.argv[1], sys.argv[2]
def check(what, got, want):
    if got != want:
        print(f"FAIL: {what}: got {got!r}, want {want!r}")
        sys.exit(1)
c = docker.DockerClient(base_url="unix://" + sock, timeout=60)
check("ping", c.ping(), True)
check("api version", c.version()["ApiVersion"], "1.43")
check("images.list", sorted(t for i in c.images.list() for t in i.tags), ["bb:latest"])
check("images.get", c.images.get("bb").id, img_id)
c.images.get("bb").tag("py/bb", "t1")
check("tag", sorted(c.images.get("py/bb:t1").tags), ["bb:latest", "py/bb:t1"])
c.images.remove("py/bb:t1")
# run: output, and a failing command raises ContainerError with the exit code
check("run", c.containers.run("bb", ["echo", "hi-py"], remove=True, network_mode="none"), b"hi-py\n")
try:
    c.containers.run("bb", ["sh", "-c", "echo oops >&2; exit 9"], remove=True, network_mode="none")
    check("run exit 9", "no error", "ContainerError")
except docker.errors.ContainerError as e:
    check("ContainerError.exit_status", e.exit_status, 9)
# detached, logs (stream and follow), exec_run, wait, remove
ct = c.containers.run("bb", ["sh", "-c", "echo a; echo b >&2; sleep 300"], detach=True,
                      network_mode="none", name="py1", labels={"from": "py"})
for _ in range(50):
    if ct.logs() == b"a\nb\n":
        break
    time.sleep(0.1)
check("logs", ct.logs(), b"a\nb\n")
check("logs stdout", ct.logs(stderr=False), b"a\n")
check("list by label", [x.name for x in c.containers.list(filters={"label": "from=py"})], ["py1"])
r = ct.exec_run(["sh", "-c", "echo ex; exit 7"])
check("exec_run", (r.exit_code, r.output), (7, b"ex\n"))
r = ct.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
check("exec_run demux", (r.exit_code, r.output), (0, (b"o\n", b"e\n")))
r = ct.exec_run("id -u", user="1000")
check("exec_run user", r.output, b"1000\n")
ct.kill(signal="SIGKILL")
check("wait", ct.wait(timeout=30), {"StatusCode": 137, "Error": None})
ct.reload()
check("status", (ct.status, ct.attrs["State"]["ExitCode"]), ("exited", 137))
ct.remove()
check("gone", [x.name for x in c.containers.list(all=True)], [])
# follow a stream to the container's end
ct = c.containers.run("bb", ["sh", "-c", "for i in 1 2 3; do echo l$i; sleep 0.2; done"], detach=True, network_mode="none")
check("logs follow", b"".join(ct.logs(stream=True, follow=True)), b"l1\nl2\nl3\n")
check("wait 0", ct.wait(timeout=30)["StatusCode"], 0)
ct.remove()
# attach through the SDK's socket: stdin in, stdout out
ct = c.containers.create("bb", ["sh", "-c", "read x; echo got-$x"], stdin_open=True, network_mode="none")
s = ct.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
ct.start()
s._sock.sendall(b"line\n")
buf, end = b"", time.time() + 20
s._sock.settimeout(1)
while b"got-line" not in buf and time.time() < end:
    try:
        d = s._sock.recv(4096)
    except OSError:
        continue
    if not d:
        break
    buf += d
s.close()
if b"got-line" not in buf:
    check("attach", buf, b"...got-line...")
check("attach wait", ct.wait(timeout=30)["StatusCode"], 0)
ct.remove()
# an unsupported HostConfig field: 400 naming it, no container made
for kw, field in ((dict(blkio_weight=300), "BlkioWeight"), (dict(sysctls={"net.core.somaxconn": "1024"}), "Sysctls"),
                  (dict(oom_score_adj=500), "OomScoreAdj")):
    try:
        c.containers.create("bb", ["true"], network_mode="none", **kw)
        check(f"HostConfig.{field}", "accepted", "400")
    except docker.errors.APIError as e:
        check(f"HostConfig.{field} status", e.status_code, 400)
        if f"HostConfig.{field}" not in str(e.explanation) or "not supported" not in str(e.explanation):
            check(f"HostConfig.{field} message", e.explanation, f"... HostConfig.{field} ... not supported ...")
check("nothing made", c.containers.list(all=True), [])
# not found: the SDK's NotFound (404)
try:
    c.containers.get("no-such-container")
    check("get missing", "found", "NotFound")
except docker.errors.NotFound:
    pass
try:
    c.images.get("no-such-image")
    check("image missing", "found", "ImageNotFound")
except docker.errors.ImageNotFound:
    pass
print("ok")
PYEOF
    local out
    out=$(timeout 240 "$PY" "$T/sdk.py" "$T/docker.sock" "$(md_ok image inspect -f '{{.Id}}' bb)" 2>&1) ||
        fail "python3-docker script: $(tail -n 15 <<<"$out")"
    assert_eq "$(tail -n 1 <<<"$out")" ok
    assert_eq "$(md_ok ps -aq)" ""
    _serve_stop
    assert_clean
}

# ---- hostile requests

test_api_hostile_malformed_requests() {
    _api_setup
    require_cmd curl
    bb_image
    _serve
    _pyraw
    # an oversized head: 400, the connection closed, the server still serves
    local big
    big=$(_raw "GET /_ping HTTP/1.1\r\nX-Big: $(head -c 70000 /dev/zero | tr '\0' a)\r\n\r\n")
    assert_match "$big" '^HTTP/1.1 400 [A-Za-z ]+ closed .*larger than'
    assert_eq "$(_req /_ping)" "200 OK" "ping after an oversized head"
    # many headers, each small: still bounded
    local hs
    hs=$(for i in $(seq 200); do printf 'X-H%d: v\\r\\n' "$i"; done)
    assert_match "$(_raw "GET /_ping HTTP/1.1\r\n${hs}\r\n")" '^HTTP/1.1 400 '
    # malformed request lines and heads: 400 each, never a crash
    local r
    for r in 'GARBAGE\r\n\r\n' 'GET\r\n\r\n' 'GET /_ping\r\n\r\n' 'get /_ping HTTP/1.1\r\n\r\n' \
        'GET /_ping HTTP/2.0\r\n\r\n' 'GET /_ping HTTP/1.1 extra\r\n\r\n' 'GET _ping HTTP/1.1\r\n\r\n' \
        'GET http://x/_ping HTTP/1.1\r\n\r\n' 'GET /_p\x01ing HTTP/1.1\r\n\r\n' '\x00\x01\x02\r\n\r\n' \
        'GET /_ping HTTP/1.1\r\nNo colon here\r\n\r\n' 'GET /_ping HTTP/1.1\r\n: empty name\r\n\r\n' \
        'GET /_ping HTTP/1.1\r\n folded: x\r\n\r\n' 'GET /_ping HTTP/1.1\r\nContent-Length: -1\r\n\r\n' \
        'GET /_ping HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n' \
        'GET /_ping HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n' \
        'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n' \
        'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n'; do
        assert_match "$(_raw "$r")" '^HTTP/1.1 400 ' 
    done
    assert_eq "$(_req /_ping)" "200 OK" "ping after the malformed heads"
    # unknown path 404, wrong method 405, both as Docker's JSON
    assert_eq "$(_req /no/such/path)" '404 {"message":"page not found"}'
    assert_eq "$(_req /v1.43/no/such/path)" '404 {"message":"page not found"}'
    assert_match "$(_req -X PUT /_ping)" '^405 \{"message":'
    assert_match "$(_req -X DELETE /version)" '^405 \{"message":'
    assert_match "$(_req -X POST /images/json)" '^405 \{"message":'
    # a bad JSON body to /containers/create: 400, and no container
    assert_match "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":' /containers/create)" '^400 \{"message":".*JSON'
    assert_match "$(_req -X POST -H 'Content-Type: application/json' -d '["bb"]' /containers/create)" '^400 \{"message":'
    assert_match "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","Cmd":"not-a-list","HostConfig":{"NetworkMode":"none"}}' /containers/create)" '^(400|201) '
    assert_match "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"bb","HostConfig":{"NetworkMode":"none","BlkioWeight":300}}' /containers/create)" \
        '^400 \{"message":"HostConfig.BlkioWeight is not supported'
    assert_match "$(_req -X POST -H 'Content-Type: application/json' -d '{"Image":"no-such-image","HostConfig":{"NetworkMode":"none"}}' /containers/create)" \
        '^404 \{"message":"No such image'
    # a chunked body with a bad chunk size
    assert_match "$(_raw 'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')" '^HTTP/1.1 400 '
    # a JSON body over the limit (1 MiB)
    head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
    assert_match "$(_req -X POST -H 'Content-Type: application/json' --data-binary "@$T/big.json" /containers/create)" '^(400|413) '
    # bad query values
    assert_match "$(_req '/containers/json?filters=%7Bnot-json')" '^400 '
    assert_match "$(_req '/containers/json?filters=%ZZ')" '^(200|400) '
    # none of this made a container, and the server still works for the CLI
    for id in $(md_ok ps -aq --no-trunc); do md_ok rm -f "$id" >/dev/null; done
    assert_eq "$(dk_ok run --rm --network none bb echo still-fine)" still-fine
    _serve_stop
    assert_clean
}

# Connection: close (and HTTP/1.0 without keep-alive) ends the connection
# after the response, whatever the response is.
test_api_connection_close_honoured() {
    _api_setup
    _serve
    _pyraw
    local r
    for r in 'GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n' 'GET /_ping HTTP/1.0\r\n\r\n' \
        'GET /no/such/path HTTP/1.1\r\nConnection: close\r\n\r\n' 'PUT /_ping HTTP/1.1\r\nConnection: close\r\n\r\n' \
        'GET /v1.12/version HTTP/1.1\r\nConnection: close\r\n\r\n' 'GET /v9.99/_ping HTTP/1.1\r\nConnection: close\r\n\r\n' \
        'GET /v1x/_ping HTTP/1.1\r\nConnection: close\r\n\r\n' 'GET /v1.43 HTTP/1.1\r\nConnection: close\r\n\r\n'; do
        assert_match "$(TIMEOUT=3 _raw "$r")" '^HTTP/1\.[01] [0-9]{3} [A-Za-z ]+ closed' "response to '$r' ends the connection"
    done
    # keep-alive: two requests on one connection, both answered
    local two
    two=$(TIMEOUT=2 _raw 'GET /_ping HTTP/1.1\r\n\r\nGET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n')
    assert_match "$two" '^HTTP/1.1 200 OK closed OK.*HTTP/1.1 200 OK'
    _serve_stop
}

# timeout: 200
test_api_hostile_slow_clients_do_not_block_others() {
    _api_setup
    bb_image
    _serve
    cat >"$T/slow.py" <<'PYEOF'
import socket, sys, time
sock = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    return s
held = []
# a client that connects and sends nothing
held.append(conn())
# one that sends half a head and stalls
s = conn(); s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n"); held.append(s)
# one that announces a huge body and trickles it
slow = conn()
slow.sendall(b"POST /containers/create HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n{")
held.append(slow)
# one that sends a huge chunk size and stalls
s = conn(); s.sendall(b"POST /images/load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nab"); held.append(s)
# one stuck in the middle of a keep-alive connection
s = conn(); s.sendall(b"GET /_ping HTTP/1.1\r\n\r\n"); held.append(s)
worst = 0.0
for i in range(30):
    t = time.time()
    c = conn()
    c.settimeout(5)
    c.sendall(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        try:
            d = c.recv(4096)
        except socket.timeout:
            print(f"FAIL: ping {i} got no answer in 5 s while slow clients are connected: {out!r}")
            sys.exit(1)
        if not d:
            break
        out += d
    if not out.startswith(b"HTTP/1.1 200"):
        print(f"FAIL: ping {i}: {out[:200]!r}")
        sys.exit(1)
    worst = max(worst, time.time() - t)
    try:
        slow.send(b" ")
    except OSError:
        pass
    time.sleep(0.05)
print(f"ok worst {worst * 1000:.1f} ms")
# hold the slow clients while the shell runs docker commands
sys.stdout.flush()
time.sleep(float(sys.argv[2]))
PYEOF
    "$PY" "$T/slow.py" "$T/docker.sock" 30 >"$T/slow.out" 2>&1 &
    local slowpid=$!
    API_BG="$API_BG $slowpid"
    wait_until 30 "the slow clients' pings ($(cat "$T/slow.out"))" grep -q '^ok\|^FAIL' "$T/slow.out"
    assert_match "$(head -n 1 "$T/slow.out")" '^ok '
    # and a whole docker run goes through meanwhile
    assert_eq "$(dk_ok run --rm --network none bb echo while-slow)" while-slow
    assert_eq "$(dk_ok version --format '{{.Server.APIVersion}}')" 1.43
    kill "$slowpid" 2>/dev/null || true
    wait "$slowpid" 2>/dev/null || true
    assert_eq "$(md_ok ps -aq)" "" "the stalled create made no container"
    _serve_stop
    assert_clean
}

# _api_group: GRP and GID, a group other than root's that every Debian
# machine has (the test adds none), or skip.
_api_group() {
    for GRP in daemon adm staff users nogroup; do
        GID=$(getent group "$GRP" | cut -d: -f3) && [ -n "$GID" ] && [ "$GID" != 0 ] && return 0
    done
    skip "no non-root group on this machine to test -G with"
}

# _as_member CMD...: CMD as uid 65534 with $GID as its only group; _as_other:
# as uid 65534 in no group.  (setpriv: no change to /etc.)
_as_member() { setpriv --reuid=65534 --regid=65534 --groups="$GID" "$@"; }
_as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# _api_farm: write $T/farm.py (readable by uid 65534), many clients at once:
#   farm.py SOCK trickle N SECS: N connections, each sending one byte of a
#     head that never ends every 2 s; prints "connected" once all are, then
#     one line per connection when it closes or SECS pass: its status ("-":
#     none) and when it was closed, in seconds after its connect, or "open"
#   farm.py SOCK hold N SECS [REQ]: N connections that send REQ (default:
#     half a head) and read what comes; prints "held N STATUSES" once each
#     has its response head (or, without REQ, at once), then holds them
#     SECS seconds
_api_farm() {
    chmod 0711 "$T"
    cat >"$T/farm.py" <<'PYEOF'
import select, socket, sys, time
sock, mode, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)  # blocking: a full backlog makes a connect with a timeout fail at once
    s.settimeout(10)
    return s
if mode == "trickle":
    head = b"GET /_ping HTTP/1.1\r\nX-Slow: " + b"a" * 1000
    cs = []
    for i in range(n):
        s = conn()
        s.setblocking(False)
        cs.append({"s": s, "t0": time.time(), "sent": 0, "next": time.time(), "got": b"", "end": None})
    print("connected", n, flush=True)
    stop = time.time() + secs
    while time.time() < stop and any(c["end"] is None for c in cs):
        now = time.time()
        for c in cs:
            if c["end"] is None and now >= c["next"]:
                try:
                    c["s"].send(head[c["sent"]:c["sent"] + 1])
                    c["sent"] += 1
                except OSError:
                    pass
                c["next"] = now + 2
        live = [c for c in cs if c["end"] is None]
        r, _, _ = select.select([c["s"] for c in live], [], [], 0.1)
        for c in live:
            if c["s"] in r:
                try:
                    d = c["s"].recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b""
                c["got"] += d
                if not d:
                    c["end"] = time.time() - c["t0"]
                    c["s"].close()
    for c in cs:
        st = c["got"].split(b" ")[1].decode() if c["got"].startswith(b"HTTP/") else "-"
        body = c["got"].partition(b"\r\n\r\n")[2].decode(errors="replace")
        print(st, "open" if c["end"] is None else "%.1f" % c["end"], body)
elif mode == "hold":
    req = sys.argv[5].encode().decode("unicode_escape").encode() if len(sys.argv) > 5 else b"GET /_ping HTTP/1.1\r\n"
    cs = []
    for i in range(n):
        s = conn()
        s.sendall(req)
        cs.append(s)
    sts = []
    for s in cs:
        got = b""
        while len(sys.argv) > 5 and b"\r\n\r\n" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
        sts.append(got.split(b" ")[1].decode() if got.startswith(b"HTTP/") else "-")
    print("held", n, " ".join(sorted(set(sts))), flush=True)
    time.sleep(secs)
PYEOF
    chmod 0644 "$T/farm.py"
}

# _head_200 REQ [N]: REQ on N connections (default 1) to $API_SOCK at once
# gets a response head with status 200 on each.
_head_200() { [ "$("$PY" "$T/farm.py" "$API_SOCK" hold "${2:-1}" 0 "$1")" = "held ${2:-1} 200" ]; }

# _api_group_setup: _api_setup, a group (_api_group), farm.py (_api_farm)
# and a server with -G $GRP on API_SOCK=$T/pub/docker.sock, which uid 65534
# can reach.
_api_group_setup() {
    _api_setup
    require_cmd setpriv
    _api_group
    _api_farm
    mkdir -m 0755 "$T/pub"
    API_SOCK=$T/pub/docker.sock
    _serve -G "$GRP"
}

# Slowloris: more clients than the old limit of 64 connections, each sending
# one header byte every 2 s (the old 30 s stall timeout restarted at each
# byte, and the listener stopped accepting at 64).  Now a head must be whole
# 10 s after its first byte, a uid but root holds at most 16 connections
# and the others get 503 at once, so /_ping from root answers meanwhile.
# timeout: 120
test_api_hostile_slowloris_heads() {
    _api_group_setup
    _as_member "$PY" "$T/farm.py" "$API_SOCK" trickle 70 20 >"$T/user.out" 2>&1 &
    local upid=$! rpid i t0 t1 st when
    API_BG="$API_BG $upid"
    "$PY" "$T/farm.py" "$API_SOCK" trickle 4 20 >"$T/root.out" 2>&1 &
    rpid=$!
    API_BG="$API_BG $rpid"
    wait_until 15 "uid 65534's trickling clients connected ($(head -c 300 "$T/user.out"))" grep -q '^connected' "$T/user.out"
    wait_until 5 "root's trickling clients connected ($(head -c 300 "$T/root.out"))" grep -q '^connected' "$T/root.out"
    # while they trickle, /_ping from root answers at once, five times
    for i in 1 2 3 4 5; do
        t0=$(date +%s%N)
        assert_eq "$(_req --within 5 /_ping)" "200 OK" "ping $i while 74 clients trickle their heads"
        t1=$(date +%s%N)
        [ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "ping $i took $(((t1 - t0) / 1000000)) ms"
        sleep 0.5
    done
    wait "$upid" "$rpid" || true
    # root's four: closed without an answer by the head deadline (10 s after
    # the connect), not before it, not much after it
    assert_eq "$(grep -c . "$T/root.out")" 5 "lines from the root clients: $(cat "$T/root.out")"
    while read -r st when _; do
        [ "$st" = connected ] && continue
        assert_eq "$st" - "a trickling root client got an answer: $st $when"
        [ "$when" != open ] || fail "a trickling root client was still connected after 20 s"
        awk -v w="$when" 'BEGIN { exit !(w >= 9 && w <= 15) }' || fail "a trickling root client closed after ${when} s"
    done <"$T/root.out"
    # uid 65534's seventy: 16 served (and closed by the deadline), the rest
    # refused with 503 naming the limit
    assert_eq "$(grep -c '^- ' "$T/user.out")" 16 "uid 65534's connections served: $(sort "$T/user.out" | uniq -c | head)"
    assert_eq "$(grep -c '^503 ' "$T/user.out")" 54 "uid 65534's connections refused"
    assert_contains "$(grep -m1 '^503 ' "$T/user.out")" '{"message":"too many connections from uid 65534: at most 16'
    ! grep -q ' open' "$T/user.out" || fail "uid 65534's clients still connected after 20 s"
    while read -r st when _; do
        [ "$st" = - ] || continue
        awk -v w="$when" 'BEGIN { exit !(w >= 9 && w <= 15) }' || fail "a trickling client of uid 65534 closed after ${when} s"
    done <"$T/user.out"
    assert_eq "$(_req --within 5 /_ping)" "200 OK"
    _serve_stop
}

# Each uid but root holds at most 16 connections at once: its 17th gets 503
# naming the limit, and another uid, and root, are still served.
test_api_per_uid_connection_cap() {
    _api_group_setup
    _as_member "$PY" "$T/farm.py" "$API_SOCK" hold 16 30 >"$T/hold.out" 2>&1 &
    local hpid=$!
    API_BG="$API_BG $hpid"
    wait_until 8 "uid 65534 holding 16 connections ($(cat "$T/hold.out"))" grep -q '^held 16' "$T/hold.out"
    assert_match "$(_as_member curl -s --max-time 5 --unix-socket "$API_SOCK" -w ' %{http_code}' http://d/_ping)" \
        '^\{"message":"too many connections from uid 65534: at most 16 at once for a user other than root"\} 503$'
    # another uid of the group, and root, are served meanwhile
    assert_eq "$(setpriv --reuid=65533 --regid=65533 --groups="$GID" curl -s --max-time 5 --unix-socket "$API_SOCK" http://d/_ping)" \
        OK "uid 65533 while uid 65534 holds its 16"
    assert_eq "$(_req --within 5 /_ping)" "200 OK" "root while uid 65534 holds its 16"
    # when they go, uid 65534 is served again
    kill "$hpid"
    wait "$hpid" 2>/dev/null || true
    wait_until 10 "uid 65534 served again" _as_member "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
sys.exit(not s.recv(100).startswith(b"HTTP/1.1 200"))' "$API_SOCK"
    _serve_stop
}

# Long streams (wait, logs -f) have a budget of their own (32): with it full,
# and as many short connections open besides (together the old limit of 64),
# short requests still answer; one more stream gets 503; a stream that ends
# frees its slot.
# timeout: 150
test_api_streams_have_their_own_budget() {
    _api_setup
    bb_image
    _api_farm
    _serve
    local id
    id=$(md_ok run -d --network none bb sleep 300)
    # 8 waits (the monitor serves 16 clients) and 24 logs -f
    "$PY" "$T/farm.py" "$T/docker.sock" hold 8 60 "POST /containers/$id/wait HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/waits.out" 2>&1 &
    local wpid=$!
    API_BG="$API_BG $wpid"
    "$PY" "$T/farm.py" "$T/docker.sock" hold 24 60 "GET /containers/$id/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: d\r\n\r\n" \
        >"$T/logs.out" 2>&1 &
    local lpid=$!
    API_BG="$API_BG $lpid"
    wait_until 20 "8 waits streaming ($(cat "$T/waits.out"))" grep -q '^held 8' "$T/waits.out"
    wait_until 20 "24 logs -f streaming ($(cat "$T/logs.out"))" grep -q '^held 24' "$T/logs.out"
    assert_eq "$(cat "$T/waits.out")" "held 8 200"
    assert_eq "$(cat "$T/logs.out")" "held 24 200"
    # 32 short connections besides, idle in their heads
    "$PY" "$T/farm.py" "$T/docker.sock" hold 32 30 >"$T/idle.out" 2>&1 &
    local ipid=$!
    API_BG="$API_BG $ipid"
    wait_until 5 "32 idle connections" grep -q '^held 32' "$T/idle.out"
    API_SOCK=$T/docker.sock
    assert_eq "$(_req --within 5 /_ping)" "200 OK" "ping with 32 streams and 32 idle connections"
    assert_match "$(_req --within 5 /containers/json)" '^200 \[' "a list with 32 streams and 32 idle connections"
    assert_match "$(_req --within 5 "/containers/$id/logs?stdout=1")" '^200' "logs without follow are not a stream"
    # one stream more: 503, naming the budget
    assert_match "$(_req --within 5 -X POST "/containers/$id/wait")" '^503 \{"message":"too many streams: minidock serve holds at most 32 '
    assert_match "$(_req --within 5 "/containers/$id/logs?follow=1&stdout=1")" '^503 \{"message":"too many streams'
    assert_match "$(_req --within 5 -X POST "/containers/$id/attach?stream=1&stdout=1")" '^503 \{"message":"too many streams'
    # the waits end: their slots are free again
    kill "$wpid"
    wait "$wpid" 2>/dev/null || true
    wait_until 10 "a wait stream admitted again" _head_200 "POST /containers/$id/wait HTTP/1.1\r\nHost: d\r\n\r\n"
    # so do the logs -f, though the container writes nothing
    kill "$lpid" "$ipid"
    wait "$lpid" "$ipid" 2>/dev/null || true
    wait_until 10 "24 logs -f admitted again" \
        _head_200 "GET /containers/$id/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: d\r\n\r\n" 24
    md_ok rm -f "$id" >/dev/null
    _serve_stop
}

# ---- the socket

test_api_socket_permissions() {
    _api_setup
    require_cmd setpriv stat
    # a directory others may traverse, so that permissions are the socket's own
    chmod 0711 "$T"
    mkdir -p "$T/pub"
    chmod 0755 "$T/pub"
    API_SOCK=$T/pub/docker.sock
    _serve
    assert_eq "$(stat -c '%a %U %G' "$API_SOCK")" "600 root root" "default socket mode and owner"
    # an unprivileged user cannot connect
    local rc=0
    _as_other curl -s --max-time 5 --unix-socket "$API_SOCK" http://d/_ping >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "uid 65534 could use a 0600 root socket"
    # a second server on the same socket is refused, the first keeps serving
    md_fail any serve -H "unix://$API_SOCK"
    assert_contains "$(md_stderr)" "in use"
    assert_eq "$(API_SOCK=$API_SOCK _req /_ping)" "200 OK"
    _serve_stop
    # -G GROUP: mode 0660, group GROUP; a member may connect, others not
    _api_group
    _serve -G "$GRP"
    assert_eq "$(stat -c '%a %U %G' "$API_SOCK")" "660 root $GRP" "socket mode and owner with -G $GRP"
    assert_eq "$(_as_member curl -s --max-time 5 --unix-socket "$API_SOCK" http://d/_ping)" OK "a member of $GRP"
    rc=0
    _as_other curl -s --max-time 5 --unix-socket "$API_SOCK" http://d/_ping >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "uid 65534 outside $GRP could use the 0660 socket"
    _serve_stop
    # an unknown group: refused, no socket left
    md_fail 125 serve -H "unix://$API_SOCK" -G no-such-group-mdtest
    assert_one_line_error
    assert_no_file "$API_SOCK"
    # a stale socket (nobody listening) is replaced
    "$PY" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$API_SOCK"
    [ -S "$API_SOCK" ] || fail "could not make a stale socket"
    _serve
    assert_eq "$(stat -c '%a' "$API_SOCK")" 600
    _serve_stop
    # only unix:// is served
    md_fail 125 serve -H tcp://127.0.0.1:2375
    assert_one_line_error
    # the default socket: RUN-ROOT/docker.sock
    API_SOCK=default _serve
    API_SOCK=$MINIDOCK_RUNROOT/docker.sock _serve_stop
}

# -G GROUP with the default socket, RUN-ROOT/docker.sock: the run root (0700:
# it holds container state) lets the group search it (0710, group GROUP)
# and nothing more, while serve runs; a member connects, others do not.  A
# -H socket in directories minidock makes is reached the same way; a
# directory on the way the group cannot search is named in a warning.
test_api_group_reaches_default_socket() {
    _api_setup
    require_cmd setpriv stat
    _api_group
    local rr=$MINIDOCK_RUNROOT sock=$MINIDOCK_RUNROOT/docker.sock
    mkdir -p "$rr/containers/x"
    chmod 0700 "$rr" "$rr/containers"
    echo secret >"$rr/containers/x/state"
    # $T stands for /run (0755 or 0711)
    chmod 0711 "$T"
    API_SOCK=default _serve -G "$GRP"
    assert_eq "$(_as_member curl -s --max-time 5 --unix-socket "$sock" http://d/_ping)" OK "a member of $GRP on the default socket"
    assert_not_contains "$(cat "$T/serve.log")" warning
    assert_eq "$(stat -c '%a %U %G' "$sock")" "660 root $GRP" "the socket"
    assert_eq "$(stat -c '%a %U %G' "$rr")" "710 root $GRP" "the run root while serve -G runs"
    local rc=0
    _as_other curl -s --max-time 5 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "uid 65534 outside $GRP could use the default socket"
    # the rest of the run root stays closed to the member
    rc=0
    _as_member ls "$rr" >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "a member of $GRP could list the run root"
    rc=0
    _as_member cat "$rr/containers/x/state" >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "a member of $GRP could read container state in the run root"
    API_SOCK=$sock _serve_stop
    assert_eq "$(stat -c '%a %U %G' "$rr")" "700 root root" "the run root after serve -G"
    # -H in directories minidock makes: passable, the socket's mode decides
    API_SOCK=$T/made/sub/docker.sock
    _serve -G "$GRP"
    assert_eq "$(stat -c '%a' "$T/made" "$T/made/sub" | tr '\n' ' ')" "711 711 "
    assert_eq "$(_as_member curl -s --max-time 5 --unix-socket "$API_SOCK" http://d/_ping)" OK "a member of $GRP on a -H socket"
    rc=0
    _as_other curl -s --max-time 5 --unix-socket "$API_SOCK" http://d/_ping >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "uid 65534 outside $GRP could use the -H socket"
    _serve_stop
    # with $T 0700 again the group cannot reach the socket, and serve says so
    chmod 0700 "$T"
    : >"$T/serve.log"
    API_SOCK=default _serve -G "$GRP"
    assert_contains "$(cat "$T/serve.log")" "warning: members of group $GRP cannot reach $sock: $T is mode 0700"
    API_SOCK=$sock _serve_stop
}

test_api_socket_activation() {
    _api_setup
    command -v systemd-socket-activate >/dev/null 2>&1 ||
        skip "systemd-socket-activate not installed (Debian package systemd)"
    bb_image
    # the socket is made by systemd-socket-activate; minidock is started on
    # the first connection with it as fd 3 (LISTEN_FDS=1, LISTEN_PID)
    systemd-socket-activate -l "$T/act.sock" -E MINIDOCK_ROOT -E MINIDOCK_RUNROOT -E MINIDOCK_CGROUP_PARENT \
        -E PATH "$MINIDOCK" serve >>"$T/serve.log" 2>&1 &
    SERVE_PID=$!
    API_BG="$API_BG $SERVE_PID"
    wait_until 10 "systemd-socket-activate listening ($(cat "$T/serve.log"))" test -S "$T/act.sock"
    export DOCKER_HOST=unix://$T/act.sock
    assert_eq "$(dk_ok version --format '{{.Server.APIVersion}}')" 1.43
    assert_contains "$(cat "$T/serve.log")" "Execing"
    assert_eq "$(tr '\0' ' ' <"/proc/$SERVE_PID/cmdline")" "$MINIDOCK serve " "the activated server replaced systemd-socket-activate"
    # many connections on the inherited socket, the test's store
    assert_eq "$(dk_ok images --format '{{.Repository}}')" bb
    assert_eq "$(dk_ok run --rm --network none bb echo activated)" activated
    local i
    for i in 1 2 3 4 5; do _ping "$T/act.sock" || fail "ping $i on the activated socket"; done
    # it made no socket of its own
    assert_no_file "$MINIDOCK_RUNROOT/docker.sock"
    kill -TERM "$SERVE_PID"
    local rc=0
    wait "$SERVE_PID" || rc=$?
    assert_eq "$rc" 0 "exit status of the activated server after SIGTERM"
    assert_clean
}

# HostConfig's links, volumes-from, bind propagation, volume subpaths,
# device cgroup rules and volume driver through the docker CLI, and what
# is refused answered 400 (404 for what is not there), nothing made.
test_api_links_volumes_from_devices() {
    _api_setup
    _api_netns
    require_cmd jq
    bb_image
    _serve
    local r ip
    # links on the default bridge: variables and /etc/hosts; rm --link
    dk_ok run -d --name db -e FOO=1 --expose 5432 bb sleep 300 >/dev/null
    ip=$(dk_ok inspect -f '{{.NetworkSettings.IPAddress}}' db)
    r=$(dk_ok run --rm --link db:mydb bb sh -c 'echo "$MYDB_NAME $MYDB_ENV_FOO $MYDB_PORT"; grep mydb /etc/hosts')
    assert_match "$r" "^/[a-z_]+/mydb 1 tcp://$ip:5432"
    assert_contains "$r" "$(printf '%s\tmydb db' "$ip")"
    dk_ok run -d --name web --link db:webdb bb sleep 300 >/dev/null
    assert_eq "$(dk_ok inspect -f '{{json .HostConfig.Links}}' web)" '["/db:/web/webdb"]'
    r=$(_req '/containers/json')
    assert_eq "$(jq -r '.[] | select(.Names[0] == "/db") | .Names | join(",")' <<<"${r#* }")" "/db,/web/webdb"
    assert_eq "$(_req -X DELETE '/containers/web/nosuch?link=1' | cut -d' ' -f1)" 404 "rm a link that is not there"
    assert_eq "$(_req -X DELETE '/containers/web/webdb' | cut -d' ' -f1)" 404 "a link's name without link=1"
    dk_ok rm --link /web/webdb >/dev/null
    assert_eq "$(dk_ok inspect -f '{{json .HostConfig.Links}}' web)" '[]'
    assert_eq "$(md_ok ps -q | wc -l)" 2 "both containers stay"
    dk_ok rm -f db web >/dev/null
    # volumes-from, a volume's subpath, propagation
    dk_ok run --name vsrc --network none -v vfrom:/data bb sh -c 'mkdir -p /data/sub && echo deep >/data/sub/f' >/dev/null
    assert_eq "$(dk_ok run --rm --network none --volumes-from vsrc:ro bb cat /data/sub/f)" deep
    assert_eq "$(dk_ok run --rm --network none --mount type=volume,src=vfrom,dst=/m,volume-subpath=sub bb cat /m/f)" deep
    mkdir -p "$T/prop"
    assert_eq "$(dk_ok create --network none --name pr -v "$T/prop:/p:rslave" bb true | wc -c)" 65
    assert_eq "$(dk_ok inspect -f '{{range .Mounts}}{{.Propagation}}{{end}}' pr)" rslave
    # device cgroup rules, the volume driver
    dk_ok create --network none --name dr --device-cgroup-rule 'c 7:128 rwm' --volume-driver foo bb true >/dev/null
    assert_eq "$(dk_ok inspect -f '{{json .HostConfig.DeviceCgroupRules}} {{.HostConfig.VolumeDriver}}' dr)" '["c 7:128 rwm"] foo'
    dk_ok rm pr dr vsrc >/dev/null
    # refused: 400, nothing made
    local body
    for body in '{"Image":"bb","Cmd":["true"],"HostConfig":{"DeviceCgroupRules":["c 7:128 rwmx"]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"DeviceCgroupRules":"c 1:3 r"}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"VolumeDriver":"foo","Binds":["newvol:/x"]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"volume","Source":"vfrom","Target":"/m","VolumeOptions":{"Subpath":"../x"}}]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"bind","Source":"/tmp","Target":"/m","BindOptions":{"Propagation":"up"}}]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"Binds":["/tmp:/m:rshared,rslave"]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"VolumesFrom":["vsrc:xx"]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"Links":["x y"]}}' \
        '{"Image":"bb","Cmd":["true"],"HostConfig":{"NetworkMode":"host","Links":["vsrc"]}}'; do
        r=$(_req -X POST -H 'Content-Type: application/json' -d "$body" /containers/create)
        assert_eq "${r%% *}" 400 "create $body: $r"
    done
    for body in '{"Image":"bb","Cmd":["true"],"HostConfig":{"VolumesFrom":["nosuch"]}}' '{"Image":"bb","Cmd":["true"],"HostConfig":{"Links":["nosuch:x"]}}'; do
        r=$(_req -X POST -H 'Content-Type: application/json' -d "$body" /containers/create)
        assert_eq "${r%% *}" 404 "create $body: $r"
    done
    assert_eq "$(md_ok ps -aq)" "" "containers left by refused creates"
    assert_eq "$(md_ok volume ls -q)" vfrom "volumes left by refused creates"
    dk_ok volume rm vfrom >/dev/null
    _serve_stop
    _api_host_untouched
    assert_clean
}
