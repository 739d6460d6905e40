#!/usr/bin/env bash
# tests/bench/compose-bench.sh -- `minidock compose` beside Debian's
# docker-compose 1.29 (driving `minidock serve`) and podman-compose 1.0.3
# (driving podman 4.3), on demand (root; never part of `make check`); run by
# `BENCH_ONLY=compose bash tests/bench/run.sh` or directly.
#
# The same compose.yaml, a project of 5 services without healthchecks (the
# busybox fixture image; four shells that sleep and one busybox httpd with a
# published port; two services depend on a third), all on the project's
# default network (a bridge), brought up and taken down by each tool:
#   up    `up -d`: the project's network and its 5 containers made and
#         started (the command returns with them running);
#   down  `down`: the containers stopped and removed, and the network (but
#         podman-compose 1.0.3's `down` leaves the network in place, so its
#         later `up`s find it and skip making it).
# Each tool has a project name of its own (-p), so their names never meet:
#   minidock        `minidock compose -p mdc up -d` / `down`
#   docker-compose  `docker-compose -p dcc up -d` / `down`, DOCKER_HOST the
#                   unix socket of `minidock serve` on minidock's store
#   podman-compose  `podman-compose -p pcc up -d` / `down`
# The tools alternately (the order swaps each round), one untimed warm-up
# round, then COMPOSEBENCH_N timed rounds, each round a tool's up then its
# down; medians of up, of down and of the per-round sum up + down, spread =
# (max - min) / 2 of the median, and the ratio of the medians
# minidock/tool.  The wall time is the command from its start until it exits
# (after `up -d` the containers and their monitors, conmon, stay), run under
# timeout(1) and GNU time (a fork and exec each, the same for every tool).  Peak RSS:
# GNU time's %M, the largest peak of the command and of the descendants it
# waited for: for `minidock compose up -d` the command itself and every
# short-lived process it forked and reaped, not the monitor each container
# keeps (detached, never waited for: tests/bench/peakrss.c, a subreaper,
# would wait 30 s for those monitors and then count none of them); the
# monitors' own peak (VmHWM from /proc/PID/status, read after each timed
# `up`) is reported beside it.  For docker-compose the figure is the Python
# client's alone (the server's work is in `minidock serve`'s per-connection
# processes), for podman-compose its Python process and the podman commands
# it waited for.  Issue's goal: minidock at most 0.25x podman-compose's time
# (up + down); the peak RSS of `minidock compose up -d` at most 2 MiB.  No
# assertion is made: the figures are printed.
#
# Everything runs in a network namespace of this run's own
# (mdbench-compose-PID, loopback up, nothing else; removed at the end):
# minidock's and podman's bridges, veths and firewall rules (nftables,
# iptables) live there; no traffic is sent.  The script enters it itself (it
# runs again under `nsenter --net`) and removes it when that run ends,
# however it ends.  minidock: its own --root and --run-root
# (MINIDOCK_ROOT, MINIDOCK_RUNROOT) in the scratch directory, cgroups under a
# parent of this run's own (MINIDOCK_CGROUP_PARENT), inherited by `minidock
# serve`.  podman: podman 4.3 in a store of its own (--root, --runroot,
# --tmpdir, --network-config-dir in the scratch directory; overlay),
# `--cgroup-manager=cgroupfs --runtime runc --events-backend file` given
# through podman-compose's `--podman-args`, and `--cgroup-parent` under
# this run's own parent and `--ulimit nofile=1024:1024 --ulimit
# nproc=1024:1024` (its defaults exceed this machine's hard limits) through
# `--podman-run-args`; the image from `minidock save` + `podman load`.  The
# CNI plugins' host-local IPAM keeps its leases under
# /var/lib/cni/networks/NETWORK whatever podman is told: this run's network's
# directory is removed at the end.  Nothing from the network.
#
# Environment: MINIDOCK (default ./minidock), COMPOSEBENCH_N (default
# BENCH_N, else 7), MD_FIXTURES (tests/tools/mkimages.sh's output, default
# /var/tmp/minidock-fixtures), COMPOSEBENCH_SETTLE (default BENCH_SETTLE,
# else auto: 370 on ext4 without a journal, else 0), BENCH_DIR (default
# /var/tmp/minidock-bench: the removal marker shared with run.sh),
# BENCH_OUT=FILE (append the markdown), COMPOSEBENCH_KEEP=1 (keep the
# scratch directory), COMPOSEBENCH_TIMEOUT=120 (seconds: a command that takes
# longer is killed, with its process group, and the run ends).
# Needs: docker-compose, podman-compose, podman, runc, ip, nsenter, curl,
# GNU time (/usr/bin/time), GNU coreutils.
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SELF=$REPO/tests/bench/compose-bench.sh
MD=$(readlink -f "${MINIDOCK:-$REPO/minidock}")
N=${COMPOSEBENCH_N:-${BENCH_N:-7}}
FIX=${MD_FIXTURES:-/var/tmp/minidock-fixtures}
BASE=${BENCH_DIR:-/var/tmp/minidock-bench}
SETTLE=${COMPOSEBENCH_SETTLE:-${BENCH_SETTLE:-auto}}
TMO=${COMPOSEBENCH_TIMEOUT:-120}
die() { echo "compose-bench: $*" >&2; exit 1; }
log() { echo "compose-bench: $*" >&2; }
# shellcheck source=tests/bench/lib.sh
. "$REPO/tests/bench/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "COMPOSEBENCH_N must be a positive integer"
[[ $TMO =~ ^[1-9][0-9]*$ ]] || die "COMPOSEBENCH_TIMEOUT must be a positive number of seconds"
for c in docker-compose podman-compose podman runc ip nsenter curl timeout /usr/bin/time; do
    command -v "$c" >/dev/null || die "needs $c"
done
[ -x "$MD" ] || die "no minidock binary at $MD (set MINIDOCK)"
"$MD" version | grep -q '+compose' || die "$MD has no compose command (+compose)"
"$MD" version | grep -q '+api' || die "$MD has no serve command (+api)"

# ---- the network namespace: this script again, inside it
if [ -z "${COMPOSEBENCH_NETNS:-}" ]; then
    NS=mdbench-compose-$$
    ip netns add "$NS" || die "cannot make the network namespace $NS"
    child=""
    # shellcheck disable=SC2317  # (the EXIT trap)
    outer_cleanup() {
        trap - EXIT
        trap '' INT TERM
        if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
            kill -TERM "$child" 2>/dev/null
            wait "$child" 2>/dev/null
        fi
        ip netns del "$NS" 2>/dev/null || log "cannot remove the network namespace $NS"
    }
    trap outer_cleanup EXIT
    ip -n "$NS" link set lo up
    # the inner run cleans up after itself (its EXIT trap); INT and TERM
    # reach it from here (a background job ignores SIGINT)
    COMPOSEBENCH_NETNS=$NS nsenter --net="/run/netns/$NS" bash "$SELF" "$@" &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null' INT TERM
    rc=0
    while :; do
        wait "$child" && rc=0 || rc=$?
        kill -0 "$child" 2>/dev/null || break
    done
    child=""
    exit "$rc"
fi
NS=$COMPOSEBENCH_NETNS
[ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ] && die "not in a network namespace of its own"

# ---- inside the namespace
W=$(mktemp -d /var/tmp/compose-bench.XXXXXX)
CG=composebench-$$
PROJ_MD=mdc PROJ_DC=dcc PROJ_PM=pcc
PM_NET=${PROJ_PM}_default
SOCK=$W/docker.sock
SERVE_PID=""
CNI_DIR=/var/lib/cni/networks/$PM_NET
CNI_MADE=""   # the parts of /var/lib/cni this run made (removed when empty)
for d in /var/lib/cni /var/lib/cni/networks /var/lib/cni/results; do
    [ -e "$d" ] || CNI_MADE="$d $CNI_MADE"
done
[ -e "$CNI_DIR" ] || [ -e /var/lib/cni/networks/pcu_default ] && die "$CNI_DIR or pcu_default's exists already (another run of this script?)"
export MINIDOCK_ROOT=$W/md/root MINIDOCK_RUNROOT=$W/md/run MINIDOCK_CGROUP_PARENT=$CG
mkdir -p "$W/pm/tmp" "$W/pm/net" "$W/app"
PM=(podman --root "$W/pm/root" --runroot "$W/pm/run" --tmpdir "$W/pm/tmp" --storage-driver overlay
    --network-config-dir "$W/pm/net" --cgroup-manager=cgroupfs --runtime runc --events-backend file)
pm() { TMPDIR=$W/pm/tmp "${PM[@]}" "$@"; }
cleanup() {
    local d id
    trap - EXIT
    trap '' INT TERM
    set +e
    # the projects (a failed round may have left one up), then whatever else
    # is in the private stores
    if [ -f "$W/app/compose.yaml" ] && [ -d "$MINIDOCK_ROOT" ]; then
        timeout -k 5 60 "$MD" compose -f "$W/app/compose.yaml" -p $PROJ_MD down -t 1 >>"$W/cmd.log" 2>&1
        timeout -k 5 60 "$MD" compose -f "$W/app/compose.yaml" -p $PROJ_DC down -t 1 >>"$W/cmd.log" 2>&1
    fi
    if [ -n "$SERVE_PID" ]; then
        kill "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    fi
    if [ -d "$MINIDOCK_ROOT" ]; then
        for id in $("$MD" ps -aq --no-trunc 2>/dev/null); do
            timeout -k 5 60 "$MD" rm -f "$id" >>"$W/cmd.log" 2>&1 || log "cannot remove minidock container $id"
        done
        for id in $("$MD" network ls --format '{{.Name}}' 2>/dev/null); do
            case $id in bridge|host|none) ;; *) "$MD" network rm "$id" >>"$W/cmd.log" 2>&1 ;; esac
        done
    fi
    if [ -d "$W/pm/root" ]; then
        TMPDIR=$W/pm/tmp timeout -k 5 120 "${PM[@]}" rm -af -t 0 >>"$W/cmd.log" 2>&1 || log "podman rm -a failed"
        TMPDIR=$W/pm/tmp timeout -k 5 60 "${PM[@]}" network rm -f "$PM_NET" pcu_default >>"$W/cmd.log" 2>&1
    fi
    # the CNI plugins' leases of this run's podman networks (host-local IPAM)
    rm -rf "$CNI_DIR" /var/lib/cni/networks/pcu_default
    for d in $CNI_MADE; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
    # the cgroups of this run, in every hierarchy (bounded: 5 s)
    cg_remove "$CG"   # and $CG-pm, podman's
    # containers/storage keeps its overlay directory mounted: nothing of
    # this run may stay mounted under it (rm -rf would go through)
    umount_under "$W"
    if [ -z "${COMPOSEBENCH_KEEP:-}" ]; then
        rm -rf "$W"
        mark_removal "$BASE"
    else
        log "kept $W"
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the image and the project
bb_image "$MD" "$FIX" "$W" pm
# five services; each main process ends on SIGTERM (a shell as PID 1 that
# traps it), so that no tool's `down` waits for its stop timeout
cat >"$W/app/compose.yaml" <<'EOF'
services:
  db:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  cache:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  api:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [db, cache]
  worker:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [db]
  web:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 & wait"]
    ports: ["8080:80"]
    depends_on: [api]
EOF
NSVC=5

# minidock serve for docker-compose, on the same store
"$MD" serve -H "unix://$SOCK" >>"$W/serve.log" 2>&1 &
SERVE_PID=$!
for i in $(seq 100); do
    [ "$(curl -s --max-time 1 --unix-socket "$SOCK" http://d/_ping 2>/dev/null)" = OK ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { tail -n 5 "$W/serve.log" >&2; die "minidock serve exited"; }
    [ "$i" -lt 100 ] || die "minidock serve does not answer on $SOCK"
    sleep 0.1
done

# ---- settle: ext4 without a journal skips recently freed inodes one by one
settle_init COMPOSEBENCH_SETTLE "$SETTLE" "$W"
settle_wait COMPOSEBENCH_SETTLE "$BASE"

# ---- the rounds
F=$W/app/compose.yaml
# podman-compose with this run's podman store and limits: "${PC[@]}" -f FILE -p NAME "${PC_OPTS[@]}" COMMAND
PC=(env "TMPDIR=$W/pm/tmp" podman-compose)
PC_OPTS=(--podman-args "${PM[*]:1}" --podman-run-args "--cgroup-parent /$CG-pm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024")
# compose_cmd TOOL PHASE: CMD, the argv of one up -d or down
compose_cmd() {
    local a=(up -d)
    [ "$2" = down ] && a=(down)
    case $1 in
    minidock) CMD=("$MD" compose -f "$F" -p "$PROJ_MD" "${a[@]}") ;;
    docker-compose) CMD=(env "DOCKER_HOST=unix://$SOCK" docker-compose -f "$F" -p "$PROJ_DC" "${a[@]}") ;;
    podman-compose) CMD=("${PC[@]}" -f "$F" -p "$PROJ_PM" "${PC_OPTS[@]}" "${a[@]}") ;;
    esac
}
# running TOOL: how many of the project's containers run; all: of any state
running() {
    local all=()
    [ "${2:-}" = all ] && all=(-a)
    case $1 in
    minidock) "$MD" ps -q "${all[@]}" --filter "label=com.docker.compose.project=$PROJ_MD" ;;
    docker-compose) "$MD" ps -q "${all[@]}" --filter "label=com.docker.compose.project=$PROJ_DC" ;;
    podman-compose) pm ps -q "${all[@]}" --filter "label=io.podman.compose.project=$PROJ_PM" ;;
    esac 2>>"$W/cmd.log" | grep -c . || true
}
# monitors_hwm: the largest VmHWM (KiB) of the monitors of minidock's project
monitors_hwm() {
    local id p k max=0
    for id in $("$MD" ps -q --no-trunc --filter "label=com.docker.compose.project=$PROJ_MD" 2>>"$W/cmd.log"); do
        for p in $(pgrep -f -- "__monitor $id" || true); do
            k=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
            [ -n "$k" ] && [ "$k" -gt "$max" ] && max=$k
        done
    done
    echo "$max"
}
declare -A TIMES=() RSS=() SUM=()
MON_HWM=""
# once TOOL ROUND: the tool's up -d then its down, each timed (untimed sync
# before each, untimed checks after each)
once() {
    local ph t0 t1 kib n us=0
    for ph in up down; do
        compose_cmd "$1" $ph
        sync -f "$W"
        t0=${EPOCHREALTIME/./}
        timeout -k 5 "$TMO" /usr/bin/time -f %M -o "$W/rss" "${CMD[@]}" >>"$W/cmd.log" 2>&1 ||
            { tail -n 20 "$W/cmd.log" >&2; die "$1: ${CMD[*]} failed or took more than $TMO s (round $2)"; }
        t1=${EPOCHREALTIME/./}
        kib=$(tail -n 1 "$W/rss")
        printf '%s\t%s\t%s\t%s\t%s\n' "$1" $ph "$2" "$((t1 - t0))" "$kib" >>"$W/raw.tsv"
        if [ $ph = up ]; then
            n=$(running "$1")
            [ "$n" = $NSVC ] || { tail -n 20 "$W/cmd.log" >&2; die "$1 up -d left $n of $NSVC containers running (round $2)"; }
            [ "$1" = minidock ] && [ "$2" -gt 0 ] && MON_HWM="$MON_HWM $(monitors_hwm)"
        else
            n=$(running "$1" all)
            [ "$n" = 0 ] || { tail -n 20 "$W/cmd.log" >&2; die "$1 down left $n containers (round $2)"; }
        fi
        us=$((us + t1 - t0))
        [ "$2" -gt 0 ] || continue
        TIMES[$1 $ph]="${TIMES[$1 $ph]:-} $((t1 - t0))"
        RSS[$1 $ph]="${RSS[$1 $ph]:-} $kib"
    done
    [ "$2" -gt 0 ] || return 0
    SUM[$1]="${SUM[$1]:-} $us"
}
TOOLS=(minidock docker-compose podman-compose)
log "1 warm-up + $N rounds, ${TOOLS[*]} alternately (each: up -d, then down), in network namespace $NS"
for ((r = 0; r <= N; r++)); do
    if ((r % 2)); then
        for ((i = ${#TOOLS[@]} - 1; i >= 0; i--)); do once "${TOOLS[i]}" $r; done
    else
        for t in "${TOOLS[@]}"; do once "$t" $r; done
    fi
    log "round $r done"
done

# ---- the firewall tool's share (one more round of minidock, untimed)
# minidock applies its NAT and published-port rules with the nftables CLI
# (`nft -f -`, or iptables): during `up` its monitors run it (detached: not in
# up's %M), during `down` the command itself (in down's %M).  An `nft` first
# on PATH that runs the real one under GNU time records each run's peak.
NFT=$(command -v nft || true)
if [ -n "$NFT" ]; then
    mkdir -p "$W/nftbin"
    # shellcheck disable=SC2016
    printf '#!/bin/sh\nexec /usr/bin/time -a -o "%s/nft-$NFT_PHASE.rss" -f %%M %s "$@"\n' "$W" "$NFT" >"$W/nftbin/nft"
    chmod 755 "$W/nftbin/nft"
    for ph in up down; do
        compose_cmd minidock $ph
        timeout -k 5 "$TMO" env NFT_PHASE=$ph PATH="$W/nftbin:$PATH" "${CMD[@]}" >>"$W/cmd.log" 2>&1 ||
            { tail -n 20 "$W/cmd.log" >&2; die "minidock $ph (the firewall round) failed"; }
    done
    [ "$(running minidock all)" = 0 ] || die "minidock down left containers (the firewall round)"
fi
# nft_note PHASE: "N runs, peak X MiB" of the nft runs recorded for PHASE
nft_note() {
    local f=$W/nft-$1.rss
    if [ ! -s "$f" ]; then echo "no run"; return; fi
    # (GNU time writes "Command exited with non-zero status" lines too)
    grep -E '^[0-9]+$' "$f" | sort -n | awk -v what="$2" '{ n++; m = $1 } END {
        printf "%d run%s %s, peak RSS %.1f MiB at most", n, n == 1 ? "" : "s", what, m / 1024 }'
}

# ---- the report (stats, ms, mib, spread, ratio, verdict: tests/bench/lib.sh)
PMV=$(podman --version | sed 's/.* version //')
DCV=$(docker-compose version --short 2>/dev/null || docker-compose --version | sed 's/.* version \([^,]*\).*/\1/')
PCV=$(podman-compose --version 2>/dev/null | grep -o 'podman-composer* version:* *[0-9.]*' | sed -n '1s/.* //p' || true)
[ -n "$PCV" ] || PCV=$(dpkg-query -W -f '${Version}' podman-compose 2>/dev/null | sed 's/-.*//')
# shellcheck disable=SC2016
declare -A LABEL=(
    [minidock]='`minidock compose`'
    [docker-compose]="\`docker-compose\` $DCV → \`minidock serve\`"
    [podman-compose]="\`podman-compose\` $PCV → podman $PMV"
)
declare -A MED=()
rows=""
for ph in up down sum; do
    for t in "${TOOLS[@]}"; do
        if [ $ph = sum ]; then
            list=${SUM[$t]}
            rssc="—"
        else
            list=${TIMES[$t $ph]}
            read -r rm_ _ rhi < <(stats "${RSS[$t $ph]}")
            MED[rssmax $t $ph]=$rhi
            rssc="$(mib "$rm_") (max $(mib "$rhi"))"
        fi
        read -r m lo hi < <(stats "$list")
        MED[$t $ph]=$m
        rt="—"
        [ "$t" = minidock ] || rt=$(ratio "${MED[minidock $ph]}" "$m")
        # shellcheck disable=SC2016
        case $ph in up) what='`up -d`' ;; down) what='`down`' ;; sum) what='up + down' ;; esac
        rows="$rows| $what | ${LABEL[$t]} | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $rssc | $rt |"$'\n'
    done
done
r_pm=$(ratio "${MED[minidock sum]}" "${MED[podman-compose sum]}")
r_dc=$(ratio "${MED[minidock sum]}" "${MED[docker-compose sum]}")
# podman-compose 1.0.3 sleeps 1 s after each `podman run` of `up` (its
# Podman.run(sleep=1)): its time without those sleeps, for the ratio
pcs=${MED[podman-compose sum]}
pm_nosleep=$((pcs - NSVC * 1000000))
r_pm_ns=$(ratio "${MED[minidock sum]}" "$pm_nosleep")
rss_up=${MED[rssmax minidock up]}
rss_ok=$([ "$rss_up" -le 2048 ] && echo met || echo "NOT met")
read -r mon_m _ mon_hi < <(stats "$MON_HWM")
if [ -n "$NFT" ]; then
    # shellcheck disable=SC2016
    FWNOTE="the nftables CLI (\`nft -f -\`, nftables $(nft --version | sed 's/^nftables v\([^ ]*\).*/\1/')), measured in one more round of minidock's up and down (untimed; an \`nft\` first on PATH running the real one under GNU time): $(nft_note up 'by the monitors during `up -d`' ) (not in up's figure), $(nft_note down 'by `down` itself') (in down's figure)."
else
    FWNOTE="no \`nft\` here (iptables, if any: not measured)."
fi
out=$(cat <<MD
### Compose: up and down of a 5-service project

The same compose.yaml, 5 services (the busybox fixture image; four shells that sleep, one busybox httpd with a published port; \`depends_on\` between some; no healthchecks; every main process ends on SIGTERM), on the project's default network (a bridge), brought up (\`up -d\`) and taken down (\`down\`) by each tool under a project name of its own, in a network namespace of the run's own: \`minidock compose\`, Debian's \`docker-compose\` $DCV (Python) driving \`minidock serve\` on the same store, and \`podman-compose\` $PCV driving podman $PMV (runc, cgroupfs, overlay storage, CNI bridge, a store of its own). The tools alternately (the order swaps each round), one warm-up round, then $N rounds, each round a tool's up then its down. Time: the command until it exits (after \`up -d\` the containers and their monitors stay); medians, spread = (max − min) / 2 of the median; up + down is the median of each round's sum. Peak RSS: median (and max) of the rounds, GNU time's %M: the largest single process among the command and the descendants it waited for (not the detached monitors; not \`minidock serve\`'s processes for docker-compose) (\`bash tests/bench/compose-bench.sh\`):

| phase | tool | median | min – max | spread | peak RSS | minidock/tool |
|---|---|--:|--:|--:|--:|--:|
${rows%$'\n'}

podman-compose $PCV sleeps 1 s after each \`podman run\` of its \`up\` ($NSVC s of each round), and its \`down\` leaves the project's network, so that its later \`up\`s skip making it; without those sleeps its up + down would be $(ms "$pm_nosleep") (minidock/that $r_pm_ns). docker-compose's time includes its Python start. minidock's monitors (one per container, left running by \`up -d\`, not in up's figure): VmHWM $(mib "$mon_m") median, $(mib "$mon_hi") max. minidock's firewall tool, $FWNOTE

Targets: minidock at most 0.25x podman-compose's time (up + down): $(verdict "$r_pm" 0.25) ($r_pm; up $(ratio "${MED[minidock up]}" "${MED[podman-compose up]}"), down $(ratio "${MED[minidock down]}" "${MED[podman-compose down]}")); against docker-compose through \`minidock serve\`: $r_dc; the peak RSS of \`minidock compose up -d\` at most 2 MiB: $rss_ok ($(mib "$rss_up") at most).
MD
)
# ---- updates (issue 15), COMPOSEBENCH_UPDATE=1: a 3-service project (db,
# api, web) whose web image changes each round (bench/bb:latest and
# bench/bb:2, the fixture plus a file), updated by `minidock compose up -d`
# (a transaction: web's old container kept, the new one made and started,
# committed at once, `x-minidock: {commit-after: 0s}`, the old one removed)
# and by podman-compose, which cannot make one service again (1.0.3 has no
# config hash: `up -d` on a running project only starts what exists), so
# `up -d --force-recreate`, its way to apply a change (all 3 made again).
# Time as above; bytes written: the sectors written (/proc/diskstats) of the
# scratch directory's device from before the command to after a sync that
# follows it (other writers on the machine count too: read the medians).
# Then the rollback: a web service serving its version over a published
# port, updated to one whose healthcheck fails at once (interval 0.2s,
# retries 1): the time from the new container's health_status: unhealthy
# event to the old container's start event, and to the first HTTP answer of
# the old version (curl every 10 ms). Issue's goal: at most 2 s.
if [ "${COMPOSEBENCH_UPDATE:-1}" = 1 ]; then
    "$MD" run --network none --name mk2 bench/bb:latest sh -c 'echo 2 >/version' >>"$W/cmd.log" 2>&1 &&
        "$MD" commit mk2 bench/bb:2 >>"$W/cmd.log" 2>&1 && "$MD" rm mk2 >>"$W/cmd.log" 2>&1 &&
        "$MD" save -o "$W/bb2.tar" bench/bb:2 >>"$W/cmd.log" 2>&1 && pm load -q -i "$W/bb2.tar" >>"$W/cmd.log" 2>&1 ||
        die "cannot make the second image (bench/bb:2)"
    UF=$W/upd/compose.yaml
    mkdir -p "$W/upd" "$W/rb"
    upd_file() {   # TAG: web's image
        cat >"$UF" <<YAML
x-minidock: {commit-after: 0s}
services:
  db:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  api:
    image: bench/bb:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [db]
  web:
    image: bench/bb:$1
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 & wait"]
    depends_on: [api]
YAML
    }
    DEV=$(basename "$(readlink -f "$(findmnt -no SOURCE -T "$W" | sed -n 1p)")")
    wsect() { awk -v d="$DEV" '$3 == d { print $10 }' /proc/diskstats; }
    [ -n "$(wsect)" ] || die "no /proc/diskstats line for $DEV (the scratch directory's device)"
    upd_cmd() {   # TOOL [first]: CMD, the update
        case $1 in
        minidock) CMD=("$MD" compose -f "$UF" -p mdu up -d) ;;
        podman-compose) CMD=("${PC[@]}" -f "$UF" -p pcu "${PC_OPTS[@]}" up -d)
            [ "${2:-}" = first ] || CMD+=(--force-recreate) ;;
        esac
    }
    declare -A UT=() UB=()
    for t in minidock podman-compose; do   # the projects, untimed
        upd_file latest
        upd_cmd $t first
        timeout -k 5 "$TMO" "${CMD[@]}" >>"$W/cmd.log" 2>&1 || { tail -n 20 "$W/cmd.log" >&2; die "$t: the update project's first up failed"; }
    done
    upd_once() {   # TOOL ROUND
        local tag=latest s0 s1 t0 t1
        (($2 % 2)) || tag=2
        upd_file $tag
        upd_cmd "$1"
        sync -f "$W"
        s0=$(wsect)
        t0=${EPOCHREALTIME/./}
        timeout -k 5 "$TMO" "${CMD[@]}" >>"$W/cmd.log" 2>&1 || { tail -n 20 "$W/cmd.log" >&2; die "$1: the update failed (round $2)"; }
        t1=${EPOCHREALTIME/./}
        sync -f "$W"
        s1=$(wsect)
        if [ "$1" = minidock ]; then
            [ "$("$MD" inspect -f '{{.Config.Image}}' mdu-web-1 2>>"$W/cmd.log")" = "bench/bb:$tag" ] || die "minidock: web is not bench/bb:$tag after the update (round $2)"
        fi
        [ "$2" -gt 0 ] || return 0
        UT[$1]="${UT[$1]:-} $((t1 - t0))"
        UB[$1]="${UB[$1]:-} $(((s1 - s0) * 512 / 1024))"
    }
    log "updates: 1 warm-up + $N rounds, minidock and podman-compose alternately"
    for ((r = 0; r <= N; r++)); do
        if ((r % 2)); then upd_once podman-compose $r; upd_once minidock $r; else upd_once minidock $r; upd_once podman-compose $r; fi
    done
    timeout -k 5 60 "$MD" compose -f "$UF" -p mdu down -t 1 >>"$W/cmd.log" 2>&1
    # the rollback
    RF=$W/rb/compose.yaml
    rb_file() {   # VERSION HEALTHCHECK
        cat >"$RF" <<YAML
x-minidock: {commit-after: 1s, commit-timeout: 30s}
services:
  web:
    image: bench/bb:latest
    command: ["sh", "-c", "mkdir -p /w; echo $1 >/w/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /w & wait"]
    ports: ["18090:80"]
    healthcheck: {test: ["CMD-SHELL", "$2"], interval: 0.2s, retries: 1}
YAML
    }
    RB_START="" RB_SERVE=""
    log "rollbacks: $N"
    for ((r = 1; r <= N; r++)); do
        rb_file "good-$r" true
        timeout -k 5 "$TMO" "$MD" compose -f "$RF" -p mdr up -d >>"$W/cmd.log" 2>&1 || die "rollback round $r: the good revision did not commit"
        old=$("$MD" inspect -f '{{.Id}}' mdr-web-1)
        ( while :; do
            curl -s --max-time 0.5 http://127.0.0.1:18090/ 2>/dev/null | grep -q "^good-$r\$" && echo "${EPOCHREALTIME/./}"
            sleep 0.01
        done ) >"$W/rb/poll" &
        poller=$!
        since=$(date +%s) t_us=${EPOCHREALTIME/./}
        rb_file "bad-$r" 'exit 1'
        timeout -k 5 "$TMO" "$MD" compose -f "$RF" -p mdr up -d >>"$W/cmd.log" 2>&1 && die "rollback round $r: the bad revision committed"
        until=$(($(date +%s) + 1))
        bad_ns=$("$MD" events --since "$since" --until "$until" --filter event=health_status --format '{{.TimeNano}} {{.Action}} {{.Actor.ID}}' |
            awk -v old="$old" -v t="$t_us" '$3 == "unhealthy" && $4 != old && $1 > t * 1000 { print $1; exit }')
        start_ns=$("$MD" events --since "$since" --until "$until" --filter event=start --filter "container=$old" --format '{{.TimeNano}}' | tail -n 1)
        serve_us=""
        for _ in $(seq 100); do # (the old version's first answer after the verdict: up to 5 s)
            serve_us=$(awk -v b="${bad_ns:-0}" '$1 * 1000 > b { print $1; exit }' "$W/rb/poll")
            [ -z "$serve_us" ] || break
            sleep 0.05
        done
        kill "$poller" 2>/dev/null
        wait "$poller" 2>/dev/null || true
        [ -n "$bad_ns" ] && [ -n "$start_ns" ] && [ -n "$serve_us" ] || die "rollback round $r: no unhealthy event, start event or answer ($bad_ns, $start_ns, $serve_us)"
        RB_START="$RB_START $(((start_ns - bad_ns) / 1000))"
        RB_SERVE="$RB_SERVE $((serve_us - bad_ns / 1000))"
    done
    timeout -k 5 60 "$MD" compose -f "$RF" -p mdr down -t 1 >>"$W/cmd.log" 2>&1
    read -r um ulo uhi < <(stats "${UT[minidock]}")
    read -r pmm plo phi < <(stats "${UT[podman-compose]}")
    read -r ubm _ _ < <(stats "${UB[minidock]}")
    read -r pbm _ _ < <(stats "${UB[podman-compose]}")
    read -r sm slo shi < <(stats "$RB_START")
    read -r vm vlo vhi < <(stats "$RB_SERVE")
    UPD=$(cat <<MD
### Compose: an update of one service of three, and a rollback

A 3-service project (db, api, web; \`depends_on\` in a chain; no healthchecks) whose web image changes each round (bench/bb:latest and bench/bb:2, the fixture plus a file), alternately by \`minidock compose up -d\` (a transaction: the old web container kept, the new one made and started, committed at once with \`x-minidock: {commit-after: 0s}\`, the old one removed) and by podman-compose $PCV, which cannot make one service again (no config hash: its \`up -d\` on a running project only starts what exists), so \`up -d --force-recreate\`, its way to apply a change (all 3 made again, with its 1 s sleep after each \`podman run\`); one warm-up round, $N rounds. Bytes: sectors written to the scratch directory's device ($DEV, /proc/diskstats) from before the command to after a sync that follows it (\`bash tests/bench/compose-bench.sh\`):

| update | median | min – max | spread | written (median) | minidock/tool |
|---|--:|--:|--:|--:|--:|
| \`minidock compose up -d\` | $(ms "$um") | $(ms "$ulo") – $(ms "$uhi") | $(spread "$um" "$ulo" "$uhi") | $ubm KiB | — |
| \`podman-compose up -d --force-recreate\` | $(ms "$pmm") | $(ms "$plo") – $(ms "$phi") | $(spread "$pmm" "$plo" "$phi") | $pbm KiB | $(ratio "$um" "$pmm") |

Rollback ($N rounds): web serving its version on a published port, updated to a version whose healthcheck fails at once (interval 0.2s, retries 1); from the new container's \`health_status: unhealthy\` event to the old container's \`start\` event: $(ms "$sm") median ($(ms "$slo") – $(ms "$shi")); to the first HTTP answer of the old version (curl every 10 ms from the namespace's 127.0.0.1): $(ms "$vm") median ($(ms "$vlo") – $(ms "$vhi")). Target: at most 2 s to serving again: $([ "$vhi" -le 2000000 ] && echo met || echo "NOT met") ($(ms "$vhi") at most).
MD
)
    out="$out"$'\n\n'"$UPD"
fi

echo "$out"
[ -z "${BENCH_OUT:-}" ] || printf '%s\n\n' "$out" >>"$BENCH_OUT"
