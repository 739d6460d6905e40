#!/usr/bin/env bash
# tests/bench/pull-bench.sh -- issue 5's target: `minidock pull` beside
# `skopeo copy` + `umoci unpack` and `podman pull`, the same images from the
# same loopback registry, on demand (root; never part of `make check`).
#
#   1 pull    wall time and peak RSS (GNU time's %M) of one pull into an empty
#             store, for (a) a large image of incompressible (random) files in
#             PULLBENCH_LAYERS gzip layers, PULLBENCH_MB MiB in all, and (b) a
#             small busybox image (tests/tools/mkimages.sh's rootfs, imported
#             by minidock, saved, pushed by skopeo: one gzip layer).
#             The tools run alternately (the order rotates each round), one
#             untimed warm-up round, then PULLBENCH_N timed rounds; medians.
#               minidock  `minidock pull -q REF` (download, sha256, gunzip,
#                         unpack, tar-split, syncfs: the image ready to run)
#               skopeo    `skopeo copy docker://REF oci:DIR:TAG` then
#                         `umoci unpack --image DIR:TAG BUNDLE` (a rootfs):
#                         time is the sum, peak RSS the larger of the two
#               podman    `podman pull -q REF` into overlay storage (layers
#                         stored unpacked: the like-for-like comparison)
#             Targets: minidock faster than both; its peak RSS at least ten
#             times below podman's, and at most 4 MiB for the large image.
#   2 flat    minidock's peak RSS for a single-layer image of PULLBENCH_SMALL_MB
#             and one of PULLBENCH_MB MiB (median of PULLBENCH_RSS_N runs each,
#             GNU time's %M), plus VmHWM of one run of each sampled from
#             /proc/PID/status every 10 ms: peak RSS must not grow with layer
#             size.
#
# Every round pulls into fresh directories (each tool's store initialized
# beforehand, untimed: `minidock images`, `podman images`), which are all
# removed at the end, never between measurements (see tests/bench/run.sh on
# ext4 and recently deleted inodes).  The filesystem is synced before each
# timed command (untimed); the page cache is not dropped.  On ext4 without a
# journal (this machine's root filesystem) the measurements start at least
# PULLBENCH_SETTLE s after this script or tests/bench/run.sh last removed
# their files (the marker BENCH_DIR/.last-removal, shared with run.sh).
#
# The registry is Debian's docker-registry (distribution 2.x) on a free
# 127.0.0.1 port with TLS (a CA and a server certificate for DNS:localhost
# made here with openssl), no auth, addressed as localhost:PORT.  Trust:
# minidock through MINIDOCK_CONFIG_DIR/certs.d/localhost:PORT/ca.crt, skopeo
# through --src-cert-dir, podman through --cert-dir.  The whole script runs in
# a private mount namespace (unshare -m) where a scratch directory is mounted
# over /var/lib/containers/cache (skopeo's blob-info cache as root), and
# podman gets its own --root/--runroot/--tmpdir: nothing touches the machine's
# stores.  Traffic stays on loopback.
#
# Environment:
#   MINIDOCK               binary (default: the checkout's ./minidock)
#   PULLBENCH_N=5          timed rounds (after one warm-up round)
#   PULLBENCH_MB=100       size of the large image (MiB of random data)
#   PULLBENCH_LAYERS=5     its number of layers
#   PULLBENCH_SMALL_MB=20  the smaller single-layer image of part 2
#   PULLBENCH_RSS_N=3      runs per size in part 2
#   PULLBENCH_PODMAN=1     0: leave podman out
#   PULLBENCH_DRIVER=overlay  podman's --storage-driver (overlay or vfs)
#   PULLBENCH_SETTLE=auto  see above (auto: 370 on ext4 without a journal, else 0)
#   BENCH_DIR=/var/tmp/minidock-bench   where the removal marker lives
#   MD_FIXTURES            the busybox rootfs fixture (tests/tools/mkimages.sh)
#   BENCH_OUT=FILE         also append the markdown section to FILE
#
# Needs (Debian packages): docker-registry, skopeo, umoci, podman (optional),
# openssl, curl, jq, time (GNU time), util-linux (unshare), iproute2 (ss).
set -eu -o pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$(dirname "$HERE")")
MD=$(realpath -m "${MINIDOCK:-$REPO/minidock}")
N=${PULLBENCH_N:-5}
BIG_MB=${PULLBENCH_MB:-100}
NLAYERS=${PULLBENCH_LAYERS:-5}
SMALL_MB=${PULLBENCH_SMALL_MB:-20}
RSS_N=${PULLBENCH_RSS_N:-3}
USE_PODMAN=${PULLBENCH_PODMAN:-1}
DRIVER=${PULLBENCH_DRIVER:-overlay}
FIX=${MD_FIXTURES:-/var/tmp/minidock-fixtures}
SETTLE=${PULLBENCH_SETTLE:-auto}
BASE=${BENCH_DIR:-/var/tmp/minidock-bench}
OUTFILE=${BENCH_OUT:-}

die() { echo "pull-bench: $*" >&2; exit 1; }
log() { echo "pull-bench: $*" >&2; }
# shellcheck source=tests/bench/lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root"
for v in N BIG_MB NLAYERS SMALL_MB RSS_N; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[ "$NLAYERS" -le 64 ] || die "PULLBENCH_LAYERS must be at most 64"
case $DRIVER in overlay|vfs) ;; *) die "PULLBENCH_DRIVER must be overlay or vfs" ;; esac
[ -x "$MD" ] || die "no minidock binary at $MD (make, or set MINIDOCK)"
for c in docker-registry:docker-registry skopeo:skopeo umoci:umoci openssl:openssl curl:curl \
    /usr/bin/time:time unshare:util-linux jq:jq ss:iproute2; do
    command -v "${c%%:*}" >/dev/null || die "${c%%:*} is missing (apt-get install ${c#*:})"
done

# ---- a private mount namespace: skopeo's blob-info cache, podman's mounts
if [ -z "${PULLBENCH_IN_NS:-}" ]; then
    exec unshare -m --propagation private env PULLBENCH_IN_NS=1 "$0" "$@"
fi

W=$(mktemp -d /var/tmp/mdpb.XXXXXX)   # short: podman refuses a long --runroot
SECTION=$W/section.md
REG_PID=""
cleanup() {
    set +e
    trap - EXIT INT TERM
    [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
    awk -v t="$W" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r p; do umount -l "$p" 2>/dev/null; done
    umount -l /var/lib/containers/cache 2>/dev/null
    if [ -d "$W" ]; then
        rm -rf "$W"
        mark_removal "$BASE"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W/cache" /var/lib/containers/cache
mount --bind "$W/cache" /var/lib/containers/cache

# ---- the registry: CA, server certificate, config, a free port
T=$W/tls
mkdir -p "$T" "$W/reg"
{
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pull-bench CA" \
        -keyout "$T/ca.key" -out "$T/ca.crt"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/srv.key" -out "$T/srv.csr"
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf"
    openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/ext.cnf" -out "$T/srv.crt"
} >"$W/openssl.log" 2>&1 || { tail -n 5 "$W/openssl.log" >&2; die "openssl failed"; }
mkdir -p "$W/certdir"          # skopeo's and podman's cert dirs: just the CA
cp "$T/ca.crt" "$W/certdir/ca.crt"

free_port() {
    local p used
    used=$(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 20000))
        grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
    done
    return 1
}
PORT=$(free_port) || die "no free port"
REG=localhost:$PORT
cat >"$W/reg/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/reg/data
http:
  addr: 127.0.0.1:$PORT
  tls:
    certificate: $T/srv.crt
    key: $T/srv.key
EOF
docker-registry serve "$W/reg/config.yml" >"$W/reg/log" 2>&1 &
REG_PID=$!
for i in $(seq 100); do
    curl -fsS --cacert "$T/ca.crt" "https://$REG/v2/" >/dev/null 2>&1 && break
    kill -0 "$REG_PID" 2>/dev/null || { tail -n 5 "$W/reg/log" >&2; die "docker-registry exited"; }
    [ "$i" = 100 ] && die "docker-registry does not answer on $REG"
    sleep 0.1
done
log "registry on https://$REG (pid $REG_PID)"

# ---- images, pushed once with skopeo (gzip layers)
export MINIDOCK_CONFIG_DIR=$W/mdcfg
mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$REG"
cp "$T/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$REG/ca.crt"
SK_PUSH=(skopeo copy -q --dest-cert-dir "$W/certdir")

mkrandom_image() {   # NAME MIB LAYERS: an OCI layout $W/src:NAME, pushed as bench/NAME
    local name=$1 mb=$2 nl=$3 l f per files d
    [ -d "$W/src" ] || umoci init --layout "$W/src"
    umoci new --image "$W/src:$name"
    per=$(((mb * 1024 + nl - 1) / nl))      # KiB per layer
    for ((l = 0; l < nl; l++)); do
        d=$W/gen/$name-$l
        mkdir -p "$d/data/l$l"
        files=4
        for ((f = 0; f < files; f++)); do
            head -c "$((per / files))K" /dev/urandom >"$d/data/l$l/blob$f.bin"
        done
        echo "layer $l of $name" >"$d/data/l$l/README"
        tar --numeric-owner --owner=0 --group=0 -C "$d" -cf "$d.tar" data
        umoci raw add-layer --image "$W/src:$name" "$d.tar"
        rm -rf "$d" "$d.tar"
    done
    "${SK_PUSH[@]}" "oci:$W/src:$name" "docker://$REG/bench/$name:latest"
}
log "building and pushing the images"
{
    mkrandom_image big "$BIG_MB" "$NLAYERS"
    mkrandom_image one-small "$SMALL_MB" 1
    mkrandom_image one-big "$BIG_MB" 1
    if [ ! -f "$FIX/busybox-rootfs.tar" ]; then
        "$REPO/tests/tools/mkimages.sh" "$FIX"
    fi
    MINIDOCK_ROOT=$W/imp-root MINIDOCK_RUNROOT=$W/imp-run "$MD" import "$FIX/busybox-rootfs.tar" bench/busybox:latest
    MINIDOCK_ROOT=$W/imp-root MINIDOCK_RUNROOT=$W/imp-run "$MD" save -o "$W/busybox.tar" bench/busybox:latest
    "${SK_PUSH[@]}" --dest-compress-format gzip "docker-archive:$W/busybox.tar" "docker://$REG/bench/busybox:latest"
} >"$W/images.log" 2>&1 || { tail -n 20 "$W/images.log" >&2; die "building or pushing the images failed"; }
sync
# what the registry serves: compressed layer bytes per image
img_info() {   # NAME -> "LAYERS COMPRESSED_BYTES MEDIATYPE"
    skopeo inspect --raw --cert-dir "$W/certdir" "docker://$REG/bench/$1:latest" |
        jq -r '"\(.layers | length) \([.layers[].size] | add) \(.layers[0].mediaType)"'
}
declare -A INFO=()
for im in big busybox one-small one-big; do
    INFO[$im]=$(img_info "$im") || die "cannot inspect bench/$im in the registry"
    case ${INFO[$im]} in *gzip*) ;; *) die "bench/$im is not served with gzip layers: ${INFO[$im]}" ;; esac
done

# ---- the tools
PM_NOTE=""
HAVE_PM=0
PM_BASE=(podman --storage-driver "$DRIVER" --cgroup-manager=cgroupfs --events-backend file)
pm() {   # DIR ARGS...: podman with the stores of DIR
    local d=$1
    shift
    "${PM_BASE[@]}" --root "$d/root" --runroot "$d/run" --tmpdir "$d/tmp" "$@"
}
pm_argv() {   # DIR: PMV gets the podman command with the stores of DIR
    PMV=("${PM_BASE[@]}" --root "$1/root" --runroot "$1/run" --tmpdir "$1/tmp")
}
if [ "$USE_PODMAN" = 1 ] && command -v podman >/dev/null; then
    mkdir -p "$W/pmprobe"
    if pm "$W/pmprobe" pull -q --cert-dir "$W/certdir" "$REG/bench/busybox:latest" >"$W/podman.log" 2>&1; then
        HAVE_PM=1
        PM_NOTE="podman $(podman --version | sed 's/.* version //'), --storage-driver $DRIVER"
    else
        tail -n 5 "$W/podman.log" >&2
        log "podman does not work here: left out"
    fi
fi

# One timed command; appends "KEY ROUND USEC KIB" to $W/results.
# RSS of a pipeline of two (skopeo, umoci): the larger, time: the sum.
timed() {   # KEY ROUND CMD...
    local key=$1 round=$2 t0 t1 us kib
    shift 2
    sync
    t0=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$W/rss.out" "$@" >>"$W/cmd.log" 2>&1 ||
        { tail -n 10 "$W/cmd.log" >&2; die "$key failed: $*"; }
    t1=$EPOCHREALTIME
    us=$(( (${t1/./} - ${t0/./}) ))
    kib=$(tail -n 1 "$W/rss.out")
    echo "$key $round $us $kib" >>"$W/results"
}
pull_md() {   # IMAGE ROUND
    local d=$W/r/md-$1-$2
    mkdir -p "$d"
    MINIDOCK_ROOT=$d/root MINIDOCK_RUNROOT=$d/run "$MD" images >/dev/null
    MINIDOCK_ROOT=$d/root MINIDOCK_RUNROOT=$d/run timed "md-$1" "$2" "$MD" pull -q "$REG/bench/$1:latest"
}
pull_sk() {
    local d=$W/r/sk-$1-$2
    mkdir -p "$d"
    timed "sk1-$1" "$2" skopeo copy -q --src-cert-dir "$W/certdir" "docker://$REG/bench/$1:latest" "oci:$d/oci:$1"
    timed "sk2-$1" "$2" umoci unpack --image "$d/oci:$1" "$d/bundle"
}
pull_pm() {
    local d=$W/r/pm-$1-$2
    mkdir -p "$d"
    pm "$d" images >/dev/null
    pm_argv "$d"
    timed "pm-$1" "$2" "${PMV[@]}" pull -q --cert-dir "$W/certdir" "$REG/bench/$1:latest"
}
TOOLS=(md sk)
[ "$HAVE_PM" = 1 ] && TOOLS+=(pm)

# ---- settle: ext4 without a journal skips recently freed inodes one by one
settle_init PULLBENCH_SETTLE "$SETTLE" "$W"
settle_wait PULLBENCH_SETTLE "$BASE"

# ---- 1. pull
: >"$W/results"
for im in big busybox; do
    log "pull $im: 1 warm-up + $N rounds, tools alternately"
    for ((r = 0; r <= N; r++)); do
        nt=${#TOOLS[@]}
        for ((k = 0; k < nt; k++)); do
            "pull_${TOOLS[$(((k + r) % nt))]}" "$im" "$r"
        done
    done
done
# check once that what minidock pulled is the image (not "Already exists")
MINIDOCK_ROOT=$W/r/md-big-1/root MINIDOCK_RUNROOT=$W/r/md-big-1/run "$MD" images >"$W/md-images.txt" 2>&1
grep -q "$REG/bench/big" "$W/md-images.txt" || die "minidock's store lacks the pulled image: $(cat "$W/md-images.txt")"

# ---- helpers for the numbers (ms, mib, ratio, spread: tests/bench/lib.sh)
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }'; }
vals() {   # KEY FIELD(3 usec, 4 KiB): timed rounds only
    awk -v k="$1" -v f="$2" '$1 == k && $2 > 0 { printf "%s ", $f }' "$W/results"
}
# skopeo + umoci per round: sum of times, max of RSS
sk_vals() {   # IMAGE FIELD
    join <(awk -v k="sk1-$1" '$1 == k && $2 > 0 { print $2, $3, $4 }' "$W/results" | sort) \
        <(awk -v k="sk2-$1" '$1 == k && $2 > 0 { print $2, $3, $4 }' "$W/results" | sort) |
        awk -v f="$2" '{ if (f == 3) printf "%d ", $2 + $4; else printf "%d ", ($3 > $5 ? $3 : $5) }'
}
emit() { printf '%s\n' "$@" | tee -a "$SECTION"; }

PM_SENT=""
SETTLE_SENT=""
[ $NOJOURNAL = yes ] && [ "$SETTLE" -gt 0 ] && SETTLE_SENT=" Started at least $SETTLE s after this script or tests/bench/run.sh last removed files (ext4 without a journal, see tests/bench/run.sh)."
[ -z "$PM_NOTE" ] || PM_SENT="Podman: $PM_NOTE, layers stored unpacked like minidock's."
emit "### Pull from a registry" ""
emit "One pull into an empty store from Debian's docker-registry $(docker-registry --version 2>/dev/null | awk '{ print $3 }') on loopback (TLS, no auth), the tools alternately, one warm-up round, then $N rounds; medians, spread = (max − min) / 2 of the median. skopeo + umoci: \`skopeo copy docker://… oci:…\` then \`umoci unpack\`, time summed, peak RSS the larger of the two. $PM_SENT Peak RSS: GNU time's %M (the largest process of the command). Each round pulls into fresh, initialized stores, removed only at the end; the filesystem synced before each pull; the page cache not dropped.$SETTLE_SENT" ""
emit "| image | tool | time | spread | peak RSS | minidock/tool time | tool/minidock RSS |" "|---|---|--:|--:|--:|--:|--:|"
declare -A MT=() MR=()
for im in big busybox; do
    read -r nl bytes _ <<<"${INFO[$im]}"
    label="$im: $nl layer$([ "$nl" = 1 ] || echo s), $(mib $((bytes / 1024))) gzip"
    for t in "${TOOLS[@]}"; do
        if [ "$t" = sk ]; then
            tv=$(sk_vals "$im" 3) rv=$(sk_vals "$im" 4)
        else
            tv=$(vals "$t-$im" 3) rv=$(vals "$t-$im" 4)
        fi
        MT[$t-$im]=$(median <<<"$tv")
        MR[$t-$im]=$(median <<<"$rv")
        read -r lo hi < <(minmax <<<"$tv")
        case $t in
            md) name='`minidock pull`' ;;
            sk) name='`skopeo copy` + `umoci unpack`' ;;
            pm) name='`podman pull`' ;;
        esac
        if [ "$t" = md ]; then
            rt="—" rr="—"
        else
            rt=$(ratio "${MT[md-$im]}" "${MT[$t-$im]}")
            rr="$(ratio "${MR[$t-$im]}" "${MR[md-$im]}")×"
        fi
        emit "| $label | $name | $(ms "${MT[$t-$im]}") | $(spread "${MT[$t-$im]}" "$lo" "$hi") | $(mib "${MR[$t-$im]}") | $rt | $rr |"
    done
done
emit "" "skopeo's share of its pair (big image): $(ms "$(median <<<"$(vals sk1-big 3)")") and $(mib "$(median <<<"$(vals sk1-big 4)")"); umoci unpack: $(ms "$(median <<<"$(vals sk2-big 3)")") and $(mib "$(median <<<"$(vals sk2-big 4)")")."

# ---- 2. flat: peak RSS against layer size
log "flat: minidock peak RSS, single layer of $SMALL_MB and $BIG_MB MiB, $RSS_N runs each"
: >"$W/results"
for ((r = 1; r <= RSS_N; r++)); do
    pull_md one-small "$r"
    pull_md one-big "$r"
done
hwm_sample() {   # IMAGE: one pull, VmHWM sampled; prints "KIB_AT_0.1S LAST_KIB SAMPLES"
    local d=$W/r/md-$1-hwm pid first="" last="" n=0 k v t0 now
    mkdir -p "$d"
    MINIDOCK_ROOT=$d/root MINIDOCK_RUNROOT=$d/run "$MD" images >/dev/null
    sync
    MINIDOCK_ROOT=$d/root MINIDOCK_RUNROOT=$d/run "$MD" pull -q "$REG/bench/$1:latest" >>"$W/cmd.log" 2>&1 &
    pid=$!
    t0=${EPOCHREALTIME/./}
    # bounded: at most 6000 samples (a minute); builtins only, so 10 ms apart
    for ((i = 0; i < 6000; i++)); do
        v=""
        { while read -r k v _; do [ "$k" = VmHWM: ] && break; v=""; done <"/proc/$pid/status"; } 2>/dev/null || break
        [ -n "$v" ] || break   # a zombie has no VmHWM
        n=$((n + 1))
        now=${EPOCHREALTIME/./}
        [ -n "$first" ] || [ $((now - t0)) -lt 100000 ] || first=$v
        last=$v
        sleep 0.01
    done
    wait "$pid" || die "minidock pull $1 failed"
    echo "${first:-$last} $last $n"
}
read -r s_first s_last s_n < <(hwm_sample one-small)
read -r b_first b_last b_n < <(hwm_sample one-big)
RS=$(median <<<"$(vals md-one-small 4)") RB=$(median <<<"$(vals md-one-big 4)")
TS=$(median <<<"$(vals md-one-small 3)") TB=$(median <<<"$(vals md-one-big 3)")
emit "" "minidock's peak RSS against layer size (one layer of random data; median of $RSS_N pulls, GNU time's %M; VmHWM of one more pull sampled from /proc/PID/status every 10 ms, 0.1 s after the start and at the last sample; the kernel's RSS counters are approximate to a few pages):" ""
emit "| image | time | peak RSS | VmHWM at 0.1 s → last (samples) |" "|---|--:|--:|--:|"
emit "| one layer, $SMALL_MB MiB | $(ms "$TS") | $RS KiB | $s_first → $s_last KiB ($s_n) |"
emit "| one layer, $BIG_MB MiB | $(ms "$TB") | $RB KiB | $b_first → $b_last KiB ($b_n) |"
emit ""

# ---- verdicts
v_time_sk=$(awk -v a="${MT[md-big]}" -v b="${MT[sk-big]}" 'BEGIN { print (a < b ? "met" : "NOT met") }')
line="Targets (big image): faster than skopeo + umoci: $v_time_sk ($(ratio "${MT[md-big]}" "${MT[sk-big]}"))"
if [ "$HAVE_PM" = 1 ]; then
    v_time_pm=$(awk -v a="${MT[md-big]}" -v b="${MT[pm-big]}" 'BEGIN { print (a < b ? "met" : "NOT met") }')
    v_rss_pm=$(awk -v a="${MR[md-big]}" -v b="${MR[pm-big]}" 'BEGIN { print (10 * a <= b ? "met" : "NOT met") }')
    line="$line; faster than podman: $v_time_pm ($(ratio "${MT[md-big]}" "${MT[pm-big]}")); peak RSS ≥ 10× below podman's: $v_rss_pm ($(ratio "${MR[pm-big]}" "${MR[md-big]}")×)"
else
    line="$line; podman left out"
fi
v_rss=$(awk -v a="${MR[md-big]}" 'BEGIN { print (a <= 4096 ? "met" : "NOT met") }')
v_flat=$(awk -v a="$RS" -v b="$RB" 'BEGIN { print (b <= a * 1.1 + 256 ? "met" : "NOT met") }')
emit "$line; peak RSS ≤ 4 MiB: $v_rss (${MR[md-big]} KiB); flat with layer size: $v_flat ($RS KiB at $SMALL_MB MiB, $RB KiB at $BIG_MB MiB)." ""
emit "Reproduce (as root, in the source tree): \`tests/bench/pull-bench.sh\`"

echo
echo "==== markdown section ===="
cat "$SECTION"
[ -z "$OUTFILE" ] || cat "$SECTION" >>"$OUTFILE"
