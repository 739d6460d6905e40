#!/usr/bin/env bash
# tests/bench/sign-bench.sh -- issue 17's budget: what checking a sigstore
# signature adds to a pull.  The same small image (the busybox fixture, one
# gzip layer) from Debian's docker-registry on loopback (TLS, no auth),
# pulled into an empty store by `minidock pull -q` without a policy that asks
# for signatures and with one (sigstoreSigned, the image signed by
# tests/tools/cosign_sign.py as cosign does), alternately, one untimed
# warm-up round, then SIGNBENCH_N rounds.  Reports the median wall time of
# each, the median of the per-round differences, and the peak RSS (GNU
# time's %M) of each.  Budget: at most 10 ms more on loopback; peak RSS of a
# verified pull at most 4 MiB.  On demand (root), never part of `make check`;
# run by `BENCH_ONLY=sign bash tests/bench/run.sh` or directly.
#
# Environment: MINIDOCK (default ./minidock), SIGNBENCH_N=21, MD_FIXTURES
# (tests/tools/mkimages.sh's output), BENCH_OUT=FILE (append the markdown).
# Needs: docker-registry openssl curl python3 python3-cryptography time.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
MD=$(readlink -f "${MINIDOCK:-$REPO/minidock}")
N=${SIGNBENCH_N:-21}
FIX=${MD_FIXTURES:-$REPO/build/fixtures}
die() { echo "sign-bench: $*" >&2; exit 1; }
log() { echo "sign-bench: $*" >&2; }
[ "$(id -u)" = 0 ] || die "run as root"
for c in docker-registry openssl curl python3; do command -v "$c" >/dev/null || die "needs $c"; done
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time)"
W=$(mktemp -d /var/tmp/sign-bench.XXXXXX)
REG_PID=
cleanup() { [ -z "$REG_PID" ] || kill "$REG_PID" 2>/dev/null || true; rm -rf "$W"; }
[ -n "${SIGNBENCH_KEEP:-}" ] || trap cleanup EXIT

# ---- a TLS registry on a free loopback port
T=$W/tls
mkdir -p "$T" "$W/reg"
{
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=sign-bench CA" \
        -keyout "$T/ca.key" -out "$T/ca.crt"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout "$T/srv.key" -out "$T/srv.csr"
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf"
    openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/ext.cnf" -out "$T/srv.crt"
} >"$W/openssl.log" 2>&1 || { tail -n 5 "$W/openssl.log" >&2; die "openssl failed"; }
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=localhost:$PORT
cat >"$W/reg/config.yml" <<CFG
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
CFG
docker-registry serve "$W/reg/config.yml" >"$W/reg/log" 2>&1 &
REG_PID=$!
for i in $(seq 100); do
    curl -fsS --cacert "$T/ca.crt" "https://$REG/v2/" >/dev/null 2>&1 && break
    [ "$i" = 100 ] && die "docker-registry does not answer on $REG"
    sleep 0.1
done
export MINIDOCK_CONFIG_DIR=$W/mdcfg
mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$REG"
cp "$T/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$REG/ca.crt"

# ---- the image, pushed by minidock, signed as cosign signs
[ -f "$FIX/busybox-rootfs.tar" ] || "$REPO/tests/tools/mkimages.sh" "$FIX" >"$W/fixtures.log" 2>&1 ||
    die "cannot make the fixtures (tests/tools/mkimages.sh)"
IMG=$REG/bench/busybox:1
{
    MINIDOCK_ROOT=$W/src MINIDOCK_RUNROOT=$W/src-run "$MD" import "$FIX/busybox-rootfs.tar" "$IMG"
    MINIDOCK_ROOT=$W/src MINIDOCK_RUNROOT=$W/src-run "$MD" push -q "$IMG"
} >"$W/push.log" 2>&1 || { tail -n 5 "$W/push.log" >&2; die "push failed"; }
DIGEST=$(curl -fsSI --cacert "$T/ca.crt" -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "https://$REG/v2/bench/busybox/manifests/1" | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }')
[ -n "$DIGEST" ] || die "no manifest digest from the registry"
SIGN=$REPO/tests/tools/cosign_sign.py
python3 "$SIGN" keygen "$W/k.key" "$W/k.pub" >/dev/null
python3 "$SIGN" sign --registry "https://$REG" --ca "$T/ca.crt" --repo bench/busybox --digest "$DIGEST" \
    --identity "$IMG" --key "$W/k.key" >/dev/null || die "signing failed"
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$W/plain.json"
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/bench":[{"type":"sigstoreSigned","keyPath":"%s"}]}}}\n' \
    "$REG" "$W/k.pub" >"$W/signed.json"

# ---- rounds: each pull into an empty store; ms and KiB
pull_once() {   # POLICY ROUND: prints "MS KIB"
    local root=$W/r/$1-$2 t0 t1 kib
    mkdir -p "$root"
    MINIDOCK_ROOT=$root MINIDOCK_RUNROOT=$root/run "$MD" images -q >/dev/null
    sync
    t0=$(date +%s%N)
    MINIDOCK_POLICY=$W/$1.json MINIDOCK_ROOT=$root MINIDOCK_RUNROOT=$root/run \
        /usr/bin/time -f %M -o "$W/rss" "$MD" pull -q "$IMG" >/dev/null || die "pull ($1) failed"
    t1=$(date +%s%N)
    kib=$(tail -n 1 "$W/rss")
    echo "$(((t1 - t0) / 1000)) $kib"
}
check=$(MINIDOCK_POLICY=$W/signed.json MINIDOCK_ROOT=$W/r/check MINIDOCK_RUNROOT=$W/r/check/run "$MD" pull "$IMG") ||
    die "the signed pull failed"
grep -q '^Signature: verified' <<<"$check" || die "the signed pull did not verify the signature"
pull_once plain w >/dev/null
pull_once signed w >/dev/null
: >"$W/plain.txt"
: >"$W/signed.txt"
: >"$W/diff.txt"
for ((r = 0; r < N; r++)); do
    if ((r % 2)); then
        b=$(pull_once signed "$r"); a=$(pull_once plain "$r")
    else
        a=$(pull_once plain "$r"); b=$(pull_once signed "$r")
    fi
    echo "$a" >>"$W/plain.txt"
    echo "$b" >>"$W/signed.txt"
    echo $(( ${b% *} - ${a% *} )) >>"$W/diff.txt"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pm=$(cut -d' ' -f1 "$W/plain.txt" | median)
sm=$(cut -d' ' -f1 "$W/signed.txt" | median)
dm=$(median <"$W/diff.txt")
pr=$(cut -d' ' -f2 "$W/plain.txt" | median)
sr=$(cut -d' ' -f2 "$W/signed.txt" | median)
out=$(cat <<MD
One pull of the busybox fixture image (one gzip layer) into an empty store from Debian's docker-registry on loopback (TLS), without and with a policy that requires its sigstore signature (one ECDSA P-256 signature, checked before the layer is fetched), alternately, $N rounds after a warm-up; medians (\`bash tests/bench/sign-bench.sh\`):

| pull | time | peak RSS |
|---|--:|--:|
| no signature asked for | $(awk -v v="$pm" 'BEGIN { printf "%.1f ms", v / 1000 }') | $(awk -v v="$pr" 'BEGIN { printf "%.1f MiB", v / 1024 }') |
| signature verified | $(awk -v v="$sm" 'BEGIN { printf "%.1f ms", v / 1000 }') | $(awk -v v="$sr" 'BEGIN { printf "%.1f MiB", v / 1024 }') |
| difference (median of the rounds' differences) | $(awk -v v="$dm" 'BEGIN { printf "%+.1f ms", v / 1000 }') | |
MD
)
echo "$out"
[ -z "${BENCH_OUT:-}" ] || printf '%s\n\n' "$out" >>"$BENCH_OUT"
