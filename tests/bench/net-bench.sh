#!/usr/bin/env bash
# tests/bench/net-bench.sh -- what minidock's bridge networking costs, beside
# podman's, on demand (root; never part of `make check`).
#
#   1 setup   the extra time `--network bridge` (the default) adds to
#             `minidock run --rm IMAGE /bin/true` over `--network none`,
#             beside the same for podman (`podman run --rm` with its default
#             network, netavark, against `--network none`).  Timed by
#             tests/bench/runtimes.c, all four commands alternately, one
#             warm-up round then NETBENCH_RUN_N rounds, NETBENCH_GAP_MS apart.
#             The extra time is the median of the per-round differences
#             (bridge minus none of the same round).  Target: at most 5 ms.
#             One more row runs the bridge with MINIDOCK_FIREWALL=none (through
#             env, about 1 ms more), to tell the firewall's share.
#   2 tcp     TCP throughput with iperf3 (NETBENCH_TP_N runs of
#             NETBENCH_TP_SECS s each, alternately, the first second of each
#             omitted): a container (on the default bridge: its veth, the
#             bridge, forwarding and NAT, then the uplink veth) sending to an
#             iperf3 server in the uplink namespace, against the same
#             transfer over a plain veth pair between two namespaces.  The
#             container runs the machine's iperf3, bind-mounted read-only with
#             its libraries into the busybox image.  Target: at least 90%.
#
# Nothing touches the machine's own network namespace: the commands run in a
# "host" namespace of this run's own, joined by a veth pair (192.0.2.1 and
# .2, TEST-NET-1) to an "uplink" namespace; the plain pair is two more
# namespaces (198.51.100.1 and .2).  minidock's bridge, its NAT rules
# (MINIDOCK_FIREWALL as set, default auto: nftables here), podman's bridge and
# netavark's rules, and ip_forward live in those namespaces, deleted at the
# end with the state, the images and the cgroup parents of the run.
#
# Environment:
#   MINIDOCK             binary (default: the checkout's ./minidock)
#   NETBENCH_RUN_N=15    timed rounds of the container starts
#   NETBENCH_GAP_MS=100  idle time between two starts (untimed)
#   NETBENCH_TP_N=3      iperf3 runs per path
#   NETBENCH_TP_SECS=5   seconds per iperf3 run
#   NETBENCH_PODMAN=1    0: leave podman out
#   MD_FIXTURES          the busybox rootfs fixture (tests/tools/mkimages.sh)
#   BENCH_OUT=FILE       also write the markdown section to FILE
#
# Needs: iperf3 (Debian package iperf3), ip, nsenter, nft or iptables, cc;
# podman with runc for the podman rows.
set -eu -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$(dirname "$HERE")")
MD=$(realpath -m "${MINIDOCK:-$REPO/minidock}")
RUN_N=${NETBENCH_RUN_N:-15}
GAP=${NETBENCH_GAP_MS:-100}
TP_N=${NETBENCH_TP_N:-3}
TP_SECS=${NETBENCH_TP_SECS:-5}
USE_PODMAN=${NETBENCH_PODMAN:-1}
FIX=${MD_FIXTURES:-/var/tmp/minidock-fixtures}
OUTFILE=${BENCH_OUT:-}

die() { echo "net-bench: $*" >&2; exit 1; }
log() { echo "net-bench: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$MD" ] || die "no minidock binary at $MD (make, or set MINIDOCK)"
for c in ip nsenter cc jq iperf3; do
    command -v "$c" >/dev/null || die "$c is missing${c:+ (apt-get install $([ "$c" = cc ] && echo gcc || echo "$c"))}"
done

ID=mdnb-$$
NH=$ID-h NU=$ID-u NA=$ID-a NB=$ID-b
W=$(mktemp -d /var/tmp/mdnetbench.XXXXXX)
SECTION=$W/section.md
export MINIDOCK_ROOT=$W/md-root MINIDOCK_RUNROOT=/run/$ID MINIDOCK_CGROUP_PARENT=$ID
PM_DIR=""
PODMAN=()
SERVERS=""

inns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
mdh() { inns "$NH" "$MD" "$@"; }

cleanup() {
    set +e
    trap - EXIT INT TERM
    local id p d i
    for p in $SERVERS; do kill -KILL "$p" 2>/dev/null; done
    if [ -d "$MINIDOCK_ROOT" ] && [ -e "/run/netns/$NH" ]; then
        for id in $(mdh ps -aq 2>/dev/null); do mdh rm -f "$id" >/dev/null 2>&1; done
    fi
    if [ ${#PODMAN[@]} -gt 0 ]; then
        inns "$NH" "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
    fi
    for d in "$W" "$PM_DIR" "$MINIDOCK_RUNROOT"; do
        [ -n "$d" ] || continue
        awk -v t="$d" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
            sort -r | while read -r p; do umount -l "$p" 2>/dev/null; done
    done
    for p in $NH $NU $NA $NB; do [ -e "/run/netns/$p" ] && ip netns del "$p"; done
    for p in "$ID" "$ID-podman"; do
        for i in 1 2 3 4 5; do
            for d in /sys/fs/cgroup/*/"$p" /sys/fs/cgroup/unified/"$p"; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
            done
            ls -d /sys/fs/cgroup/*/"$p" /sys/fs/cgroup/unified/"$p" >/dev/null 2>&1 || break
            sleep 0.2
        done
    done
    rm -rf "$W" "$PM_DIR" "$MINIDOCK_RUNROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- namespaces: host <-> uplink, and the plain pair a <-> b
ns_pair() {   # NS1 NS2 IP1 IP2
    ip netns add "$1"
    ip netns add "$2"
    ip -n "$1" link set lo up
    ip -n "$2" link set lo up
    ip -n "$1" link add v0 type veth peer name v1 netns "$2"
    ip -n "$1" addr add "$3/24" dev v0
    ip -n "$2" addr add "$4/24" dev v1
    ip -n "$1" link set v0 up
    ip -n "$2" link set v1 up
}
ns_pair "$NH" "$NU" 192.0.2.1 192.0.2.2
ip -n "$NH" route add default via 192.0.2.2
ns_pair "$NA" "$NB" 198.51.100.1 198.51.100.2

# ---- images
if [ ! -f "$FIX/busybox-rootfs.tar" ]; then
    log "building the test fixtures (tests/tools/mkimages.sh)"
    "$REPO/tests/tools/mkimages.sh" "$FIX" >"$W/mkimages.log" 2>&1 ||
        { tail -n 5 "$W/mkimages.log" >&2; die "tests/tools/mkimages.sh failed"; }
fi
mdh import "$FIX/busybox-rootfs.tar" bench/bb:latest >/dev/null
mkdir -p "$W/bin"
cc -O2 -Wall -o "$W/bin/runtimes" "$HERE/runtimes.c" || die "cannot build tests/bench/runtimes.c"

PM_NOTE=""
if [ "$USE_PODMAN" = 1 ] && command -v podman >/dev/null && command -v runc >/dev/null; then
    PM_DIR=$(mktemp -d /tmp/mdnbpm.XXXXXX)   # podman refuses a long --runroot
    PODMAN=(podman --root "$PM_DIR/root" --runroot "$PM_DIR/run" --tmpdir "$PM_DIR/tmp"
        --storage-driver overlay --cgroup-manager=cgroupfs --runtime runc --events-backend file)
    PM_RUN=(run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent "/$ID-podman")
    if inns "$NH" "${PODMAN[@]}" import "$FIX/busybox-rootfs.tar" localhost/bb:latest >"$W/podman.log" 2>&1 &&
        inns "$NH" "${PODMAN[@]}" "${PM_RUN[@]}" localhost/bb:latest /bin/true >>"$W/podman.log" 2>&1; then
        PM_BACKEND=$("${PODMAN[@]}" info --format '{{.Host.NetworkBackend}}' 2>/dev/null || true)
        PM_NOTE="podman $(podman --version | sed 's/.* version //'), runc, cgroupfs, overlay storage, its default network (${PM_BACKEND:-netavark}: bridge podman0, 10.88.0.0/16, its iptables rules), with \`--ulimit nofile=1024:1024 --ulimit nproc=1024:1024\` (its defaults exceed this machine's hard limits), in the same host namespace"
    else
        tail -n 5 "$W/podman.log" >&2
        log "podman does not work here: left out"
        PODMAN=()
    fi
fi

# ---- helpers for the numbers
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
gbps() { awk -v b="$1" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", b ? 100 * a / b : 0 }'; }
spread() { awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN { printf "±%.0f%%", m ? 50 * (hi - lo) / m : 0 }'; }
emit() { printf '%s\n' "$@" | tee -a "$SECTION"; }

emit "### Bridge networking" ""

# ---- 1. setup time
plan=$W/plan
{
    printf 'md_none\thost'; printf '\t%s' "$MD" run --rm --network none bench/bb /bin/true; printf '\n'
    printf 'md_bridge\thost'; printf '\t%s' "$MD" run --rm bench/bb /bin/true; printf '\n'
    printf 'md_nofw\thost'; printf '\t%s' env MINIDOCK_FIREWALL=none "$MD" run --rm bench/bb /bin/true; printf '\n'
    if [ ${#PODMAN[@]} -gt 0 ]; then
        printf 'pm_none\thost'; printf '\t%s' "${PODMAN[@]}" "${PM_RUN[@]}" --network none localhost/bb:latest /bin/true; printf '\n'
        printf 'pm_bridge\thost'; printf '\t%s' "${PODMAN[@]}" "${PM_RUN[@]}" localhost/bb:latest /bin/true; printf '\n'
    fi
} >"$plan"
log "setup: 1 warm-up + $RUN_N rounds, $GAP ms apart: $(cut -f1 "$plan" | tr '\n' ' ')"
inns "$NH" "$W/bin/runtimes" -s "$W" -g "$GAP" "$RUN_N" "$plan" >"$W/times.tsv" 2>"$W/runtimes.log" ||
    { tail -n 20 "$W/runtimes.log" >&2; die "the container start benchmark failed"; }
declare -A T=()
while IFS=$'\t' read -r key r us; do
    [ "$r" -gt 0 ] && T[$key]="${T[$key]:-} $us"
done <"$W/times.tsv"
# per-round differences, bridge minus none
diffs() {   # NONE BRIDGE
    join -t $'\t' <(awk -v k="$1" '$1 == k && $2 > 0 { print $2 "\t" $3 }' "$W/times.tsv" | sort) \
        <(awk -v k="$2" '$1 == k && $2 > 0 { print $2 "\t" $3 }' "$W/times.tsv" | sort) |
        awk -F'\t' '{ printf "%d ", $3 - $2 }'
}
emit "\`/bin/true\` in the busybox image, the whole command from fork to exit (tests/bench/runtimes.c), one warm-up round, then $RUN_N rounds, the commands alternately, $GAP ms apart; the extra time is the median of each round's difference." ""
emit "| command | median | min – max | spread | extra for the bridge |" "|---|--:|--:|--:|--:|"
row() {   # KEY LABEL [NONEKEY]
    local m lo hi extra="—"
    m=$(median <<<"${T[$1]}")
    read -r lo hi < <(minmax <<<"${T[$1]}")
    if [ $# = 3 ]; then
        extra="+$(ms "$(median <<<"$(diffs "$3" "$1")")")"
    fi
    emit "| $2 | $(ms "$m") | $(ms "$lo") – $(ms "$hi") | $(spread "$m" "$lo" "$hi") | $extra |"
}
row md_none '`minidock run --rm --network none`'
row md_bridge '`minidock run --rm` (bridge)' md_none
row md_nofw '`env MINIDOCK_FIREWALL=none minidock run --rm` (bridge, no NAT rules)' md_none
MD_EXTRA=$(median <<<"$(diffs md_none md_bridge)")
if [ ${#PODMAN[@]} -gt 0 ]; then
    row pm_none '`podman run --rm --network none`'
    row pm_bridge '`podman run --rm` (its default network)' pm_none
    PM_EXTRA=$(median <<<"$(diffs pm_none pm_bridge)")
fi
emit ""
verdict="target ≤ 5 ms: $(awk -v u="$MD_EXTRA" 'BEGIN { print (u <= 5000 ? "met" : "NOT met") }')"
line="Bridge setup and teardown add $(ms "$MD_EXTRA") to a minidock run ($verdict: a veth pair, an address lease in the store, the bridge's port; the firewall table is rewritten only when its rules change, which a run without published ports does not do once its network's rules are in place; firewall: ${MINIDOCK_FIREWALL:-auto})"
if [ ${#PODMAN[@]} -gt 0 ]; then
    line="$line, podman's default network adds $(ms "$PM_EXTRA") (minidock/podman $(ratio "$MD_EXTRA" "$PM_EXTRA")). Podman: $PM_NOTE."
else
    line="$line; podman left out (missing, not working, or NETBENCH_PODMAN=0)."
fi
emit "$line" ""

# ---- 2. TCP throughput
IPERF_MOUNTS=(--tmpfs /tmp -v /usr/bin/iperf3:/usr/bin/iperf3:ro)
if [ -L /lib ]; then IPERF_MOUNTS+=(-v "$(readlink -f /lib):/lib:ro"); else IPERF_MOUNTS+=(-v /lib:/lib:ro); fi
[ -d /lib64 ] && IPERF_MOUNTS+=(-v "$(readlink -f /lib64):/lib64:ro")
[ -d /usr/lib ] && IPERF_MOUNTS+=(-v /usr/lib:/usr/lib:ro)
inns "$NU" iperf3 -s -B 192.0.2.2 -p 5201 >"$W/iperf-uplink.log" 2>&1 &
SERVERS="$SERVERS $!"; disown $!
inns "$NB" iperf3 -s -B 198.51.100.2 -p 5201 >"$W/iperf-b.log" 2>&1 &
SERVERS="$SERVERS $!"; disown $!
for i in $(seq 50); do
    inns "$NU" ss -ltn | grep -q 192.0.2.2:5201 && inns "$NB" ss -ltn | grep -q 198.51.100.2:5201 && break
    sleep 0.1
done
tp() {   # NAME CMD...: one run; prints bits/s received
    local name=$1 out
    shift
    out=$W/tp-$name-$RANDOM.json
    timeout $((TP_SECS + 30)) "$@" -t "$TP_SECS" -O 1 -J >"$out" 2>>"$W/iperf-client.log" ||
        { tail -n 5 "$W/iperf-client.log" >&2; die "iperf3 ($name) failed: $(jq -r '.error // empty' "$out" 2>/dev/null)"; }
    jq -e '.end.sum_received.bits_per_second' "$out" || { cp "$out" /tmp/nb-bad.json; die "no result from iperf3 ($name): $(head -c 300 "$out")"; }
}
declare -A TP=()
log "tcp: $TP_N × $TP_SECS s per path, alternately"
for ((i = 0; i < TP_N; i++)); do
    TP[veth]="${TP[veth]:-} $(tp veth nsenter --net="/run/netns/$NA" iperf3 -c 198.51.100.2 -p 5201)"
    TP[ctr]="${TP[ctr]:-} $(tp ctr nsenter --net="/run/netns/$NH" "$MD" run --rm "${IPERF_MOUNTS[@]}" bench/bb iperf3 -c 192.0.2.2 -p 5201)"
    TP[hostnet]="${TP[hostnet]:-} $(tp hostnet nsenter --net="/run/netns/$NH" "$MD" run --rm --network host "${IPERF_MOUNTS[@]}" bench/bb iperf3 -c 192.0.2.2 -p 5201)"
done
emit "One TCP stream, iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }'), $TP_N runs of $TP_SECS s per path (the first second of each omitted), the paths alternately; receiver's rate." ""
emit "| path | median | min – max | vs plain veth |" "|---|--:|--:|--:|"
tprow() {   # KEY LABEL
    local m lo hi
    m=$(median <<<"${TP[$1]}")
    read -r lo hi < <(minmax <<<"${TP[$1]}")
    emit "| $2 | $(gbps "$m") | $(gbps "$lo") – $(gbps "$hi") | $(pct "$m" "$(median <<<"${TP[veth]}")") |"
}
tprow veth 'plain veth pair, namespace to namespace'
tprow ctr 'container on the default bridge → uplink (veth, bridge, forward, NAT, veth)'
tprow hostnet 'container with `--network host` → uplink (one veth)'
CTR_PCT=$(awk -v a="$(median <<<"${TP[ctr]}")" -v b="$(median <<<"${TP[veth]}")" 'BEGIN { printf "%.0f", 100 * a / b }')
emit "" "Bridge and NAT keep $CTR_PCT% of a plain veth pair's throughput (target ≥ 90%: $([ "$CTR_PCT" -ge 90 ] && echo met || echo NOT met))." ""
emit "Reproduce (as root, in the source tree): \`tests/bench/net-bench.sh\`"

echo
echo "==== markdown section ===="
cat "$SECTION"
[ -z "$OUTFILE" ] || cp "$SECTION" "$OUTFILE"
