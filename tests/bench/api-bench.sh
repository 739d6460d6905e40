#!/usr/bin/env bash
# tests/bench/api-bench.sh -- issue 7's targets for the Docker Engine API
# (`minidock serve`), on demand (root; never part of `make check`).
#
#   1 run     `docker run --rm --network none bb /bin/true` (the docker CLI on
#             PATH, DOCKER_HOST=unix://W/docker.sock, a `minidock serve` of
#             this run's own) against `minidock run --rm --network none bb
#             /bin/true` (the same binary, the same store, directly), plus
#             `docker version --format '{{.Server.Version}}'` through the same
#             server: the docker CLI's own start (a Go binary) and one request,
#             the part of the API path that is not minidock's, plus `apirun
#             W/docker.sock bb /bin/true` (tests/bench/apirun.c, built here: a
#             minimal C client making the docker CLI's requests for that
#             `docker run`, in its order, on its connections): the server's
#             share without the Go client's start.  Timed by
#             tests/bench/runtimes.c (fork to exit, CLOCK_MONOTONIC), the
#             four commands alternately, one warm-up round then BENCH_API_N
#             rounds, BENCH_API_GAP_MS apart; medians, spread ((max - min) / 2
#             of the median), the differences of the medians (target: the API
#             adds at most 10 ms; reported for the docker CLI and, as the
#             server's share, for apirun) and their ratios.
#   2 rss     VmRSS, RssAnon, RssFile and VmHWM (/proc/PID/status) of the
#             `minidock serve` listener idle 2 s after it first answers, and
#             again 2 s after the timed rounds (it forks a process per
#             connection: the listener is what stays); beside dockerd's (and
#             the containerd it starts) idle 2 s after it answers, when
#             `dockerd` is on PATH.
#
# Isolation: everything lives in a mktemp -d directory W under /var/tmp:
# MINIDOCK_ROOT, MINIDOCK_RUNROOT, the server's socket, the docker CLI's
# config (DOCKER_CONFIG=W/docker-cli: ~/.docker is untouched), dockerd's
# --data-root, --exec-root, --pidfile and socket.  minidock's containers go
# under a cgroup parent of this run's own (MINIDOCK_CGROUP_PARENT=mdab-PID),
# dockerd's under mdab-PID-dockerd.  The containers have no network
# (--network none).  dockerd runs with --bridge=none and no iptables, ip
# forwarding or masquerading, in a network and a mount namespace of its own
# (unshare --net --mount, private propagation), in which /etc/docker, /opt
# and /run (where they exist) are covered by empty tmpfs mounts, so that it
# reads no host configuration, uses no running containerd (/run/containerd)
# and writes nothing outside W (it makes /run/docker/plugins, its containerd
# /opt/containerd; dockerd < 23 also gets its key.json path in W).
# On exit everything is removed: the servers stopped, containers removed,
# processes naming W ended, mounts under W unmounted, cgroups removed.
#
# Environment:
#   MINIDOCK              binary (default: a copy, taken at the start, of the
#                         checkout's ./minidock)
#   BENCH_API_N=15        timed rounds (after one warm-up round)
#   BENCH_API_GAP_MS=100  idle time between two commands (untimed)
#   BENCH_API_DOCKERD=1   0: leave dockerd out even when it is installed
#   MD_FIXTURES           the busybox rootfs fixture (tests/tools/mkimages.sh)
#   BENCH_OUT=FILE        also append the markdown section to FILE
#
# Needs: docker (the CLI; Debian package docker-cli or docker.io), cc (gcc),
# curl, util-linux (unshare); dockerd (docker.io) for the dockerd rows.
set -eu -o pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$(dirname "$HERE")")
N=${BENCH_API_N:-15}
GAP=${BENCH_API_GAP_MS:-100}
USE_DOCKERD=${BENCH_API_DOCKERD:-1}
FIX=${MD_FIXTURES:-/var/tmp/minidock-fixtures}
OUTFILE=${BENCH_OUT:-}

die() { echo "api-bench: $*" >&2; exit 1; }
log() { echo "api-bench: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_API_N must be a positive integer"
[[ $GAP =~ ^[0-9]+$ ]] || die "BENCH_API_GAP_MS must be a number of milliseconds"
for c in docker:docker-cli cc:gcc curl:curl unshare:util-linux pgrep:procps; do
    command -v "${c%%:*}" >/dev/null || die "${c%%:*} is missing (apt-get install ${c#*:})"
done

ID=mdab-$$
W=$(mktemp -d /var/tmp/mdab.XXXXXX)   # short: the sockets' paths
SECTION=$W/section.md
mkdir -p "$W/bin"
if [ -n "${MINIDOCK:-}" ]; then
    MD=$(realpath -m "$MINIDOCK")
    [ -x "$MD" ] || die "no minidock binary at $MD"
else
    # a copy: the checkout's binary may be rebuilt while this runs
    [ -x "$REPO/minidock" ] || die "no minidock binary at $REPO/minidock (make, or set MINIDOCK)"
    cp "$REPO/minidock" "$W/bin/minidock"
    MD=$W/bin/minidock
fi
export MINIDOCK_ROOT=$W/md-root MINIDOCK_RUNROOT=$W/md-run MINIDOCK_CGROUP_PARENT=$ID
export DOCKER_HOST=unix://$W/docker.sock DOCKER_CONFIG=$W/docker-cli
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_API_VERSION
mkdir -p "$DOCKER_CONFIG"
SOCK=$W/docker.sock
SERVE_PID=""
DD_PID=""
DD_KIDS=""

# stop PID: SIGTERM, up to 20 s, then SIGKILL; only while its command line
# still names $W (no stranger that took over a reused PID)
stop_pid() {
    local p=$1 i
    ours "$p" || return 0
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    ours "$p" && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null || true
    return 0
}
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$W"; }
cg_dirs() {   # PARENT: its directories in every hierarchy
    local d
    for d in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
        [ -d "$d" ] && [ -e "$d/cgroup.procs" ] && echo "$d"
    done | sort -u
}

cleanup() {
    set +e
    trap - EXIT INT TERM
    local id p d i pids
    [ -n "$SERVE_PID" ] && stop_pid "$SERVE_PID"
    if [ -n "$DD_PID" ]; then
        stop_pid "$DD_PID"
        for p in $DD_KIDS; do stop_pid "$p"; done
    fi
    if [ -d "$MINIDOCK_ROOT" ]; then
        for id in $(timeout 20 "$MD" ps -aq --no-trunc 2>/dev/null); do
            timeout 20 "$MD" rm -f "$id" >/dev/null 2>&1 || log "cannot remove container $id"
        done
    fi
    # whatever is left in this run's cgroups or names $W (bounded)
    for ((i = 0; i < 10; i++)); do
        pids=""
        for p in "$ID" "$ID-dockerd"; do
            for d in $(cg_dirs "$p"); do
                pids="$pids $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)"
            done
        done
        pids="$pids $(pgrep -f -- "$W" 2>/dev/null)"
        [ -z "${pids// /}" ] && break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.2
    done
    awk -v t="$W" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r p; do umount -l "$p" 2>/dev/null; done
    for p in "$ID" "$ID-dockerd"; do
        for ((i = 0; i < 25; i++)); do
            for d in $(cg_dirs "$p"); do
                find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
            done
            [ -z "$(cg_dirs "$p")" ] && break
            sleep 0.2
        done
        [ -z "$(cg_dirs "$p")" ] || log "cannot remove the cgroups $(cg_dirs "$p" | tr '\n' ' ')"
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the image and the timer
if [ ! -f "$FIX/busybox-rootfs.tar" ]; then
    log "building the test fixtures (tests/tools/mkimages.sh)"
    "$REPO/tests/tools/mkimages.sh" "$FIX" >"$W/mkimages.log" 2>&1 ||
        { tail -n 5 "$W/mkimages.log" >&2; die "tests/tools/mkimages.sh failed"; }
fi
"$MD" import "$FIX/busybox-rootfs.tar" bb:latest >"$W/cmd.log" 2>&1 ||
    { tail -n 5 "$W/cmd.log" >&2; die "minidock import failed"; }
cc -O2 -Wall -o "$W/bin/runtimes" "$HERE/runtimes.c" >>"$W/cmd.log" 2>&1 ||
    { tail -n 5 "$W/cmd.log" >&2; die "cannot build tests/bench/runtimes.c"; }
cc -O2 -Wall -o "$W/bin/apirun" "$HERE/apirun.c" >>"$W/cmd.log" 2>&1 ||
    { tail -n 5 "$W/cmd.log" >&2; die "cannot build tests/bench/apirun.c"; }

# ---- helpers for the numbers
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
spread() { awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN { printf "±%.0f%%", m ? 50 * (hi - lo) / m : 0 }'; }
emit() { printf '%s\n' "$@" | tee -a "$SECTION"; }
mem() {   # PID: VmRSS RssAnon RssFile VmHWM (KiB) from /proc/PID/status
    awk '$1 == "VmRSS:" { v = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
        $1 == "VmHWM:" { h = $2 } END { if (v == "") exit 1; print v, a, f, h }' "/proc/$1/status"
}
ping_ok() { [ "$(curl -s --max-time 2 --unix-socket "$1" http://d/_ping 2>/dev/null)" = OK ]; }
wait_ping() {   # SOCKET PID SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        ping_ok "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- the server
"$MD" serve -H "unix://$SOCK" >"$W/serve.log" 2>&1 &
SERVE_PID=$!
wait_ping "$SOCK" "$SERVE_PID" 10 || { tail -n 5 "$W/serve.log" >&2; die "minidock serve does not answer on $SOCK"; }
sleep 2
read -r S0_RSS S0_ANON S0_FILE S0_HWM < <(mem "$SERVE_PID") || die "cannot read /proc/$SERVE_PID/status"
API_VERSION=$(curl -s --max-time 2 --unix-socket "$SOCK" http://d/version | sed -n 's/.*"ApiVersion" *: *"\([^"]*\)".*/\1/p')
docker run --rm --network none bb /bin/true >>"$W/cmd.log" 2>&1 ||
    { tail -n 5 "$W/cmd.log" >&2; die "docker run through minidock serve fails"; }
# apirun does the whole `docker run`: the streams apart, the exit status
rc=0
"$W/bin/apirun" "$SOCK" bb sh -c 'echo out; echo err >&2; exit 3' >"$W/apirun.out" 2>"$W/apirun.err" || rc=$?
if [ "$rc" != 3 ] || [ "$(cat "$W/apirun.out")" != out ] || [ "$(cat "$W/apirun.err")" != err ]; then
    cat "$W/apirun.err" >&2
    die "apirun through minidock serve fails (exit status $rc, want 3; stdout and stderr: out, err)"
fi

# ---- 1. the container start, directly and through the API
plan=$W/plan
{
    printf 'direct\thost'; printf '\t%s' "$MD" run --rm --network none bb /bin/true; printf '\n'
    printf 'api\thost'; printf '\t%s' docker run --rm --network none bb /bin/true; printf '\n'
    printf 'version\thost'; printf '\t%s' docker version --format '{{.Server.Version}}'; printf '\n'
    printf 'apirun\thost'; printf '\t%s' "$W/bin/apirun" "$SOCK" bb /bin/true; printf '\n'
} >"$plan"
log "1 warm-up + $N rounds, $GAP ms apart: $(cut -f1 "$plan" | tr '\n' ' ')"
"$W/bin/runtimes" -s "$W" -g "$GAP" "$N" "$plan" >"$W/times.tsv" 2>>"$W/cmd.log" ||
    { tail -n 20 "$W/cmd.log" >&2; die "the benchmark failed"; }
left=$("$MD" ps -aq | wc -l)
[ "$left" = 0 ] || log "warning: $left containers left after the rounds (docker run --rm)"
sleep 2
read -r S1_RSS S1_ANON S1_FILE S1_HWM < <(mem "$SERVE_PID") || die "minidock serve is gone after the rounds"
stop_pid "$SERVE_PID"
SERVE_PID=""

declare -A T=()
while IFS=$'\t' read -r key r us; do
    [ "$r" -gt 0 ] && T[$key]="${T[$key]:-} $us"
done <"$W/times.tsv"
declare -A M=()
for k in direct api version apirun; do M[$k]=$(median <<<"${T[$k]}"); done

# ---- 2. dockerd, idle
DD_NOTE="dockerd not installed"
DD_VER=""
if [ "$USE_DOCKERD" != 1 ]; then
    DD_NOTE="dockerd left out (BENCH_API_DOCKERD=0)"
elif command -v dockerd >/dev/null; then
    D=$W/dockerd
    mkdir -p "$D/data" "$D/exec"
    DD_VER=$(dockerd --version | sed -n 's/^Docker version \([^,]*\).*/\1/p')
    if [ "${DD_VER%%.*}" -lt 23 ] 2>/dev/null; then
        printf '{ "deprecated-key-path": "%s" }\n' "$D/key.json" >"$D/daemon.json"
    else
        echo '{}' >"$D/daemon.json"
    fi
    log "dockerd $DD_VER: starting it in namespaces of its own"
    # shellcheck disable=SC2016
    unshare --net --mount --propagation private sh -c '
        for d in /etc/docker /opt /run; do
            if [ -d "$d" ]; then mount -t tmpfs -o mode=755 mdab "$d" || exit 1; fi
        done
        exec "$@"' sh \
        dockerd --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
        --pidfile "$D/dockerd.pid" -H "unix://$D/dockerd.sock" --bridge=none --iptables=false \
        --ip6tables=false --ip-forward=false --ip-masq=false --userland-proxy=false \
        --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "$ID-dockerd" >"$D/log" 2>&1 &
    DD_PID=$!
    if wait_ping "$D/dockerd.sock" "$DD_PID" 60; then
        DD_KIDS=$(pgrep -P "$DD_PID" | tr '\n' ' ' || true)
        sleep 2
        DD_KIDS=$(pgrep -P "$DD_PID" | tr '\n' ' ' || true)
        read -r D_RSS D_ANON D_FILE D_HWM < <(mem "$DD_PID") || die "dockerd is gone"
        C_RSS=0 C_ANON=0 C_FILE=0 C_HWM=0 C_NAMES=""
        for p in $DD_KIDS; do
            read -r a b c d < <(mem "$p") || continue
            C_RSS=$((C_RSS + a)) C_ANON=$((C_ANON + b)) C_FILE=$((C_FILE + c)) C_HWM=$((C_HWM + d))
            C_NAMES="$C_NAMES $(cat "/proc/$p/comm")"
        done
        C_NAMES=${C_NAMES# }
        DD_NOTE=""
    else
        tail -n 5 "$D/log" >&2
        log "dockerd does not answer on $D/dockerd.sock: left out"
        DD_NOTE="dockerd $DD_VER did not start here"
    fi
    stop_pid "$DD_PID"
    for p in $DD_KIDS; do stop_pid "$p"; done
    DD_PID="" DD_KIDS=""
    rm -rf "$D"
fi

# ---- the section
emit "### Docker Engine API (\`minidock serve\`)" ""
emit "\`/bin/true\` in the busybox image (\`bb\`), the whole command from fork to exit (tests/bench/runtimes.c), one warm-up round, then $N rounds, the four commands alternately, $GAP ms apart. The first runs minidock directly; the second is the docker CLI $(docker version --format '{{.Client.Version}}' 2>/dev/null) (a Go binary) talking to \`minidock serve -H unix://…/docker.sock\` (API ${API_VERSION:-?}), which creates, attaches to, starts, waits for and removes the container in its per-connection processes, on the same store; the third is the docker CLI's start plus one request (\`docker version --format '{{.Server.Version}}'\`: /_ping and /version), the share of the API path that is the client, not minidock; the fourth is \`apirun\` (tests/bench/apirun.c), a minimal C client (plain libc) making the docker CLI's requests for that \`docker run\`, in its order and on its connections (HEAD /_ping, create, attach with an upgrade, wait?condition=removed, start, the stream and the status to their ends), without the Go client's start: the server's share." ""
emit "| command | median | min – max | spread | vs direct |" "|---|--:|--:|--:|--:|"
row() {   # KEY LABEL VS
    local m=${M[$1]} lo hi
    read -r lo hi < <(minmax <<<"${T[$1]}")
    emit "| $2 | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $3 |"
}
DIFF=$(awk -v a="${M[api]}" -v b="${M[direct]}" 'BEGIN { print a - b }')
SRV=$(awk -v a="${M[apirun]}" -v b="${M[direct]}" 'BEGIN { print a - b }')
# per-round differences, KEY minus direct of the same round (a check on the
# difference of the medians when the direct starts are noisy)
paired() {
    join -t $'\t' <(awk '$1 == "direct" && $2 > 0 { print $2 "\t" $3 }' "$W/times.tsv" | sort) \
        <(awk -v k="$1" '$1 == k && $2 > 0 { print $2 "\t" $3 }' "$W/times.tsv" | sort) |
        awk -F'\t' '{ printf "%d ", $3 - $2 }' | median
}
PAIRED=$(paired api)
SRV_PAIRED=$(paired apirun)
REST=$(awk -v d="$DIFF" -v v="${M[version]}" 'BEGIN { print d - v }')
signed() { awk -v u="$1" 'BEGIN { printf "%s%.1f ms", u < 0 ? "−" : "+", (u < 0 ? -u : u) / 1000 }'; }
row direct "\`minidock run --rm --network none bb /bin/true\`" "—"
row api "\`docker run --rm --network none bb /bin/true\` via \`minidock serve\`" "$(signed "$DIFF") ($(ratio "${M[api]}" "${M[direct]}")×)"
row version "\`docker version --format '{{.Server.Version}}'\` via \`minidock serve\` (client start + one request)" "$(ratio "${M[version]}" "${M[direct]}")×"
row apirun "\`apirun …/docker.sock bb /bin/true\` via \`minidock serve\` (a minimal C client making the docker CLI's requests: the server's share)" "$(signed "$SRV") ($(ratio "${M[apirun]}" "${M[direct]}")×)"
emit ""
verdict=$(awk -v u="$DIFF" 'BEGIN { print (u <= 10000 ? "met" : "NOT met") }')
srv_verdict=$(awk -v u="$SRV" 'BEGIN { print (u <= 10000 ? "met" : "NOT met") }')
GO=$(awk -v a="${M[api]}" -v b="${M[apirun]}" 'BEGIN { print a - b }')
emit "With the docker CLI as the client, the API path adds $(signed "$DIFF") to a container start, difference of the medians (target ≤ 10 ms: $verdict; the median of the per-round differences: $(signed "$PAIRED")). For scale, the docker CLI's own start plus one round trip (\`docker version\`) takes $(ms "${M[version]}"); the difference less that is $(signed "$REST"): \`docker run\`'s further requests and the server's work, net of what \`minidock run\`'s own process does." ""
emit "Without the Go client, **the server adds $(signed "$SRV") over \`minidock run\`**: \`apirun\` (the same requests from a small C program) less \`minidock run\`, difference of the medians (target ≤ 10 ms: $srv_verdict; the median of the per-round differences: $(signed "$SRV_PAIRED")). This is minidock's own share of the API path (with apirun's own exec, and its six requests on three unix-socket connections); the docker CLI row's further $(signed "$GO") (\`docker run\` less \`apirun\`) is the Go client: its start and its own work between the requests." ""

DD_SENT=""
[ -n "$DD_NOTE" ] || DD_SENT="; dockerd $DD_VER (with the containerd it starts) 2 s after it first answered (its own --data-root, --exec-root and config file, --bridge=none, no iptables, in namespaces of its own, no container ever run)"
emit "Idle memory, from /proc/PID/status: the \`minidock serve\` listener (each connection is served by a forked process that exits with it) 2 s after it first answered, and 2 s after the $((N + 1)) \`docker run\`, $((N + 1)) \`apirun\` and $((N + 1)) \`docker version\` above (plus one untimed \`docker run\` and one untimed \`apirun\`)$DD_SENT." ""
emit "| process | when | VmRSS | RssAnon | RssFile | VmHWM | vs \`minidock serve\` idle |" "|---|---|--:|--:|--:|--:|--:|"
emit "| \`minidock serve\` | idle | $S0_RSS KiB | $S0_ANON KiB | $S0_FILE KiB | $S0_HWM KiB | — |"
emit "| \`minidock serve\` | after the requests | $S1_RSS KiB | $S1_ANON KiB | $S1_FILE KiB | $S1_HWM KiB | $(ratio "$S1_RSS" "$S0_RSS")× |"
if [ -n "$DD_NOTE" ]; then
    emit "| dockerd | idle | $DD_NOTE | | | | |"
else
    emit "| dockerd | idle | $D_RSS KiB | $D_ANON KiB | $D_FILE KiB | $D_HWM KiB | $(ratio "$D_RSS" "$S0_RSS")× |"
    if [ -n "$C_NAMES" ]; then
        emit "| its children ($C_NAMES) | idle | $C_RSS KiB | $C_ANON KiB | $C_FILE KiB | $C_HWM KiB | $(ratio "$C_RSS" "$S0_RSS")× |"
        emit "| dockerd + children | idle | $((D_RSS + C_RSS)) KiB | $((D_ANON + C_ANON)) KiB | $((D_FILE + C_FILE)) KiB | $((D_HWM + C_HWM)) KiB | $(ratio "$((D_RSS + C_RSS))" "$S0_RSS")× |"
    fi
fi
emit ""
cmd=""
for v in BENCH_API_N BENCH_API_GAP_MS BENCH_API_DOCKERD; do
    [ -z "${!v:-}" ] || cmd="$cmd$v=$(printf '%q' "${!v}") "
done
emit "Reproduce (as root, in the source tree): \`${cmd}bash tests/bench/api-bench.sh\`"

echo
echo "==== markdown section ===="
cat "$SECTION"
[ -z "$OUTFILE" ] || cat "$SECTION" >>"$OUTFILE"
