# shellcheck shell=bash
# Registry client (issue 5): login/logout, push, pull (by tag, by digest,
# -a, multi-platform indexes, by IPv4 and IPv6 address), run --pull, the
# image limits, and failures that must be a clear one-line error and leave
# nothing behind: unknown CA, host name or IP address mismatch, expired
# certificate, wrong password, missing tag, a tampered blob, a connection
# cut mid-blob (then resumed, also with the layers stored before the cut
# kept), a pull killed by SIGKILL (then finished),
# and HTTPS_PROXY via CONNECT.
#
# Each test starts its own registry: Debian's docker-registry (the
# distribution registry) on a free loopback port, with TLS (a CA and
# server certificate made by the test with openssl, the CA trusted through
# $MINIDOCK_CONFIG_DIR/certs.d/localhost:PORT/ca.crt; the registry is
# addressed as localhost:PORT, or by IP with a certificate naming the
# address in an iPAddress entry) and htpasswd basic auth.  Images go in
# with skopeo (made by umoci from the busybox fixture), or with minidock's
# own push (nested indexes with curl).  tests/tools/regproxy.py sits between
# minidock and the registry where the network must misbehave.  Everything
# lives in $T; all traffic stays on loopback.
#
# Debian packages: docker-registry skopeo umoci apache2-utils openssl jq
# curl python3 (and the fixtures' own, see tests/tools/mkimages.sh)

_REG_USER=mdtest
_REG_PASS=pw-for-mdtest-0

# _reg_teardown: kill what the test started in the background (and what its
# containers left, if it called ctr_setup).
_reg_teardown() {
    local p
    trap - EXIT ERR
    set +eE
    [ -z "${CTR_PARENTS:-}" ] || ctr_teardown
    for p in ${REG_BG:-}; do kill -KILL "$p" 2>/dev/null || true; done
    return 0
}

# _bg CMD...: run CMD in the background, killed at teardown; sets BG_PID.
_bg() {
    "$@" &
    BG_PID=$!
    REG_BG="${REG_BG:-} $BG_PID"
}

_free_port() {   # [ADDRESS]: a free port on the loopback address (127.0.0.1)
    "$PY" -c 'import socket, sys; a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET); s.bind((a, 0)); print(s.getsockname()[1])' \
        "${1:-127.0.0.1}"
}

# _reg_pki: the test's CA ($T/pki/ca.crt), an openssl-ca database to sign
# with arbitrary dates, and a skopeo --cert-dir that trusts the CA.
_reg_pki() {
    local d=$T/pki
    [ -f "$d/ca.crt" ] && return 0
    mkdir -p "$d/db" "$d/skopeo"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=minidock-test-ca -keyout "$d/ca.key" -out "$d/ca.crt" 2>"$d/openssl.log"
    : >"$d/db/index.txt"
    echo 1000 >"$d/db/serial"
    cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $d/db/index.txt
new_certs_dir = $d/db
serial = $d/db/serial
default_md = sha256
policy = p
copy_extensions = none
unique_subject = no
[p]
commonName = supplied
[srv]
subjectAltName = \${ENV::MD_SAN}
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
EOF
    cp "$d/ca.crt" "$d/skopeo/ca.crt"
}

# _reg_cert NAME SAN [NOT_BEFORE NOT_AFTER]: $T/pki/NAME.{crt,key}, signed
# by the test's CA, subjectAltName SAN, valid from yesterday for two days
# unless dates (YYYYMMDDHHMMSSZ) are given.  The CN is SAN's first name, or
# $REG_CN.
_reg_cert() {
    local d=$T/pki name=$1 san=$2 cn
    local nb=${3:-$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)} na=${4:-$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)}
    [ -f "$d/$name.crt" ] && return 0
    cn=${san#*:}
    cn=${REG_CN:-${cn%%,*}}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
        -keyout "$d/$name.key" -out "$d/$name.csr" 2>>"$d/openssl.log"
    MD_SAN=$san openssl ca -batch -notext -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" \
        -extensions srv -startdate "$nb" -enddate "$na" -in "$d/$name.csr" -out "$d/$name.crt" \
        2>>"$d/openssl.log" || fail "openssl ca failed: $(tail -n 3 "$d/openssl.log")"
}

# _reg_start [ok|expired|other|ip|ip-other]: start a registry (TLS, htpasswd)
# on a free loopback port; sets REG_PORT, REG=localhost:PORT, REG_PID and
# exports MINIDOCK_CONFIG_DIR=$T/cfg with certs.d/$REG/ca.crt.  The server
# certificate: ok (DNS:localhost, valid), expired (DNS:localhost, expired in
# 2020), other (DNS:other.invalid), ip (IP:127.0.0.1 and IP:::1 only, CN
# minidock-ip), ip-other (IP:192.0.2.10, IP:2001:db8::10 and DNS:localhost,
# CN 127.0.0.1).  With ip and ip-other, REG=ADDRESS:PORT, the address
# 127.0.0.1 or, with REG_LISTEN=::1, [::1].  With REG_AUTH=token, bearer tokens
# from tests/tools/regtoken.py (the registry's own "auth: token" option)
# instead of htpasswd; its log is $T/token.log.
_reg_start() {
    local kind=${1:-ok} cert port dir ok='' auth listen=${REG_LISTEN:-127.0.0.1} la
    la=$listen
    case $listen in *:*) la="[$listen]" ;; esac
    require_cmd docker-registry openssl htpasswd skopeo umoci jq
    unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy NO_PROXY no_proxy ALL_PROXY all_proxy
    export MINIDOCK_CONFIG_DIR=$T/cfg
    mkdir -p "$MINIDOCK_CONFIG_DIR"
    REG_BG=${REG_BG:-}
    trap _reg_teardown EXIT
    trap 'exit 143' TERM
    _reg_pki
    case $kind in
    ok) cert=srv; _reg_cert srv DNS:localhost ;;
    expired) cert=srv-expired; _reg_cert srv-expired DNS:localhost 20200101000000Z 20200102000000Z ;;
    other) cert=srv-other; _reg_cert srv-other DNS:other.invalid ;;
    ip) cert=srv-ip; REG_CN=minidock-ip _reg_cert srv-ip IP:127.0.0.1,IP:::1 ;;
    ip-other) cert=srv-ip-other; REG_CN=127.0.0.1 _reg_cert srv-ip-other IP:192.0.2.10,IP:2001:db8::10,DNS:localhost ;;
    *) fail "_reg_start: unknown kind $kind" ;;
    esac
    [ -f "$T/pki/htpasswd" ] || htpasswd -Bbn "$_REG_USER" "$_REG_PASS" >"$T/pki/htpasswd" 2>/dev/null
    auth="  htpasswd:
    realm: minidock-test
    path: $T/pki/htpasswd"
    if [ "${REG_AUTH:-htpasswd}" = token ]; then
        _reg_cert srv DNS:localhost
        [ -f "$T/pki/token.crt" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
            -subj /CN=minidock-token-signer -keyout "$T/pki/token.key" -out "$T/pki/token.crt" \
            2>>"$T/pki/openssl.log"
        rm -f "$T/token.port"
        _bg "$PY" "$MD_TOOLS/regtoken.py" --port-file "$T/token.port" --log "$T/token.log" \
            --cert "$T/pki/srv.crt" --key "$T/pki/srv.key" --sign-key "$T/pki/token.key" \
            --sign-cert "$T/pki/token.crt" --issuer minidock-test-issuer \
            --user "$_REG_USER" --password "$_REG_PASS" >"$T/token.err" 2>&1
        wait_until 10 "regtoken listening ($(cat "$T/token.err" 2>/dev/null))" test -s "$T/token.port"
        auth="  token:
    realm: https://localhost:$(cat "$T/token.port")/token
    service: minidock-test-registry
    issuer: minidock-test-issuer
    rootcertbundle: $T/pki/token.crt"
    fi
    for _ in 1 2 3 4 5; do
        port=$(_free_port "$listen")
        dir=$T/reg-$port
        mkdir -p "$dir/data"
        cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: "$la:$port"
  tls:
    certificate: $T/pki/$cert.crt
    key: $T/pki/$cert.key
auth:
$auth
EOF
        _bg docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1
        REG_PID=$BG_PID
        for _ in $(seq 100); do
            kill -0 "$REG_PID" 2>/dev/null || break
            if (exec 3<>"/dev/tcp/$listen/$port") 2>/dev/null; then
                sleep 0.1
                kill -0 "$REG_PID" 2>/dev/null && ok=1
                break
            fi
            sleep 0.1
        done
        [ -n "$ok" ] && break
        kill -KILL "$REG_PID" 2>/dev/null || true
    done
    [ -n "$ok" ] || fail "docker-registry did not start: $(tail -n 5 "$dir/log")"
    REG_PORT=$port REG=localhost:$port
    case $kind in ip*) REG=$la:$port ;; esac
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$REG"
    cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$REG/ca.crt"
}

# _reg_stop: stop the current registry.
_reg_stop() {
    kill -KILL "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
}

# _login HOST:PORT: minidock login with the right credentials.
_login() {
    md_ok login -u "$_REG_USER" --password-stdin "$1" <<<"$_REG_PASS" >/dev/null
}

# _sk ARGS: skopeo with the test's CA and credentials for the registry.
_sk_push() {   # SRC REPO:TAG [skopeo copy options]
    local src=$1 dst=$2
    shift 2
    skopeo --insecure-policy copy -q --dest-creds "$_REG_USER:$_REG_PASS" \
        --dest-cert-dir "$T/pki/skopeo" "$@" "$src" "docker://$REG/$dst" >/dev/null ||
        fail "skopeo copy $src to $REG/$dst failed"
}
_sk_inspect() {   # REPO:TAG [skopeo inspect options]
    local ref=$1
    shift
    skopeo inspect --creds "$_REG_USER:$_REG_PASS" --cert-dir "$T/pki/skopeo" "$@" "docker://$REG/$ref"
}

# _oci_bb LAYOUT TAG [MARKER]: an image made by umoci in the OCI layout
# LAYOUT: the busybox fixture's rootfs as its layer, plus with MARKER a
# second layer holding /etc/marker (MARKER and a newline).
_oci_bb() {
    local lay=$1 tag=$2
    fixtures
    [ -d "$lay" ] || umoci --log error init --layout "$lay"
    umoci --log error new --image "$lay:$tag"
    umoci --log error config --image "$lay:$tag" --no-history --os linux --architecture amd64 \
        --created 2020-01-01T00:00:00Z --config.cmd /bin/sh \
        --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin
    umoci --log error raw add-layer --image "$lay:$tag" --history.created 2020-01-01T00:00:00Z \
        --history.created_by "40-registry: busybox" "$FIX/busybox-rootfs.tar"
    [ -z "${3:-}" ] || _oci_marker "$lay" "$tag" "$3"
}

# _oci_marker LAYOUT TAG MARKER: add a layer with /etc/marker to the image.
_oci_marker() {
    local m=$T/marker.$$
    mkdir -p "$m/etc"
    printf '%s\n' "$3" >"$m/etc/marker"
    tar -C "$m" --numeric-owner --owner=0 --group=0 --mtime=2020-01-01 -cf "$m.tar" ./etc ./etc/marker
    umoci --log error raw add-layer --image "$1:$2" --history.created 2020-01-02T00:00:00Z \
        --history.created_by "40-registry: marker $3" "$m.tar"
    rm -rf "$m" "$m.tar"
}

# _oci_manifest LAYOUT TAG: path of the tag's manifest blob.
_oci_manifest() {
    local d
    d=$(jq -r --arg t "$2" '.manifests[] |
        select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$1/index.json")
    [ -n "$d" ] || fail "no tag $2 in $1"
    echo "$1/blobs/sha256/${d#sha256:}"
}

# _oci_id LAYOUT TAG: the image ID (config digest) of the tag.
_oci_id() { jq -r .config.digest "$(_oci_manifest "$1" "$2")"; }

# _seed REPO:TAG [MARKER]: an umoci-made busybox image, pushed with skopeo;
# sets SEED_ID (config digest), SEED_LAYER (digest of the busybox layer)
# and SEED_SIZE (its size).
_seed() {
    local t=seed$RANDOM m
    _oci_bb "$T/oci" "$t" "${2:-}"
    _sk_push "oci:$T/oci:$t" "$1"
    m=$(_oci_manifest "$T/oci" "$t")
    SEED_ID=$(jq -r .config.digest "$m")
    SEED_LAYER=$(jq -r '.layers[0].digest' "$m")
    SEED_SIZE=$(jq -r '.layers[0].size' "$m")
}

# _proxy_start NAME MODE [regproxy options]: tests/tools/regproxy.py in front
# of $REG; sets PX=localhost:PORT (trusted through certs.d) and PX_LOG.
_proxy_start() {
    local name=$1 mode=$2 args
    shift 2
    args=(--port-file "$T/$name.port" --log "$T/$name.log" --mode "$mode")
    if [ "$mode" != connect ]; then
        args+=(--upstream "$REG" --cert "$T/pki/srv.crt" --key "$T/pki/srv.key" --ca "$T/pki/ca.crt")
    fi
    _bg "$PY" "$MD_TOOLS/regproxy.py" "${args[@]}" "$@" >"$T/$name.err" 2>&1
    wait_until 10 "regproxy $name listening ($(cat "$T/$name.err" 2>/dev/null))" test -s "$T/$name.port"
    PX_PORT=$(cat "$T/$name.port")
    PX=localhost:$PX_PORT
    PX_LOG=$T/$name.log
    if [ "$mode" != connect ]; then
        mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$PX"
        cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$PX/ca.crt"
    fi
}

# _pulls_empty: no partial blob left in ROOT/pulls.
_pulls_empty() {
    local d=$MINIDOCK_ROOT/pulls
    [ ! -d "$d" ] || [ -z "$(ls -A "$d")" ] || fail "partial blobs left in pulls/: $(ls -A "$d")"
}

# _fails_clean CODE PATTERN ARGS: minidock ARGS exits CODE (or "any"
# failure), with one line on stderr matching PATTERN (extended regex, case
# ignored), and leaves the store empty: no image, layer, staging or partial.
# FAIL_ERR gets the error line.
_fails_clean() {
    local code=$1 pat=$2
    shift 2
    md_fail "$code" "$@"
    assert_one_line_error
    FAIL_ERR=$(md_stderr)
    grep -qiE "$pat" <<<"$FAIL_ERR" || fail "error does not match /$pat/: $FAIL_ERR"
    store_clean
    _pulls_empty
}

# ---- login, push, pull

test_login_logout() {
    _reg_start
    out=$(md_ok login -u "$_REG_USER" --password-stdin "$REG" <<<"$_REG_PASS")
    assert_eq "$out" "Login Succeeded"
    cfg=$MINIDOCK_CONFIG_DIR/config.json
    assert_eq "$(stat -c %a "$cfg")" 600 "mode of config.json"
    assert_eq "$(jq -r --arg r "$REG" '.auths[$r].auth' "$cfg")" \
        "$(printf '%s:%s' "$_REG_USER" "$_REG_PASS" | base64 -w0)" "stored credentials"
    before=$(cat "$cfg")
    # a wrong password: one line, exit 1, the stored credentials untouched
    md_fail 1 login -u "$_REG_USER" --password-stdin "$REG" <<<"wrong-password"
    assert_one_line_error
    assert_match "$(md_stderr)" "incorrect username or password"
    assert_eq "$(cat "$cfg")" "$before" "config.json after a failed login"
    # an unknown user too
    md_fail 1 login -u nobody --password-stdin "$REG" <<<"$_REG_PASS"
    assert_one_line_error
    # login to a port where nothing listens: a clear error
    md_fail 1 login -u "$_REG_USER" --password-stdin "localhost:$(_free_port)" <<<"$_REG_PASS"
    assert_one_line_error
    out=$(md_ok logout "$REG")
    assert_eq "$out" "Removing login credentials for $REG"
    assert_eq "$(jq -r --arg r "$REG" '.auths[$r] // "none"' "$cfg")" none "credentials after logout"
    assert_eq "$(md_ok logout "$REG")" "Not logged in to $REG"
    # without credentials a pull says how to log in
    _seed test/bb:v1
    _fails_clean 1 "minidock login" pull "$REG/test/bb:v1"
}

# timeout: 400
test_push_and_pull_back() {
    _reg_start
    _login "$REG"
    bb_image "$REG/test/bb:v1"
    id=$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")
    layers=$(md_ok inspect -f '{{json .RootFS.Layers}}' "$REG/test/bb:v1" | jq -c .)
    start=$SECONDS
    out=$(md_ok push "$REG/test/bb:v1")
    # no wait for the body of a HEAD response (its Content-Length is the
    # GET's): that cost the 30 s timeout per blob
    [ $((SECONDS - start)) -lt 25 ] || fail "push took $((SECONDS - start)) s"
    assert_contains "$out" "The push refers to repository [$REG/test/bb]"
    digest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]\{64\}\) size: [0-9]*$/\1/p' <<<"$out")
    [ -n "$digest" ] || fail "no 'v1: digest: ... size: ...' line in: $out"
    # what skopeo sees: the same manifest digest, config and diff_ids
    _sk_inspect test/bb:v1 >"$T/inspect.json" || fail "skopeo inspect failed"
    assert_eq "$(jq -r .Digest "$T/inspect.json")" "$digest" "manifest digest (skopeo)"
    _sk_inspect test/bb:v1 --raw >"$T/manifest.json"
    assert_eq "$(jq -r .config.digest "$T/manifest.json")" "$id" "config digest in the manifest"
    assert_eq "sha256:$(sha256sum <"$T/manifest.json" | cut -d' ' -f1)" "$digest" "sha256 of the raw manifest"
    _sk_inspect test/bb:v1 --config >"$T/config.json"
    assert_eq "$(jq -c .rootfs.diff_ids "$T/config.json")" "$layers" "diff_ids (skopeo)"
    # skopeo copies it back as it is (verifying every blob)...
    skopeo --insecure-policy copy -q --src-creds "$_REG_USER:$_REG_PASS" --src-cert-dir "$T/pki/skopeo" \
        "docker://$REG/test/bb:v1" "dir:$T/back-dir" || fail "skopeo could not copy the pushed image back"
    assert_eq "sha256:$(sha256sum <"$T/back-dir/manifest.json" | cut -d' ' -f1)" "$digest" "manifest copied back"
    assert_file "$T/back-dir/${id#sha256:}"
    # ...and converted to OCI, which umoci unpacks
    skopeo --insecure-policy copy -q --src-creds "$_REG_USER:$_REG_PASS" --src-cert-dir "$T/pki/skopeo" \
        "docker://$REG/test/bb:v1" "oci:$T/back:bb" || fail "skopeo could not copy the pushed image to OCI"
    umoci --log error unpack --image "$T/back:bb" "$T/bundle" >/dev/null || fail "umoci unpack failed"
    [ -x "$T/bundle/rootfs/bin/busybox" ] || fail "no /bin/busybox in umoci's unpack"
    tar -xOf "$FIX/busybox-rootfs.tar" ./bin/busybox | cmp - "$T/bundle/rootfs/bin/busybox" ||
        fail "busybox differs after push and umoci unpack"
    # a second push uploads nothing and gives the same digest
    out=$(md_ok push "$REG/test/bb:v1")
    assert_contains "$out" "Layer already exists"
    assert_contains "$out" "v1: digest: $digest "
    # another repository of the same registry: the layer is mounted
    md_ok tag "$REG/test/bb:v1" "$REG/test/other:v1" >/dev/null
    out=$(md_ok push "$REG/test/other:v1")
    assert_contains "$out" "Mounted from another repository"
    assert_eq "$(_sk_inspect test/other:v1 | jq -r .Digest)" "$digest" "digest of the mounted copy"
    # removed and pulled again: the same image
    md_ok rmi "$REG/test/bb:v1" "$REG/test/other:v1" >/dev/null
    store_clean
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_contains "$out" "Digest: $digest"
    assert_contains "$out" "Status: Downloaded newer image for $REG/test/bb:v1"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$id" "image ID after rmi and pull"
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' "$REG/test/bb:v1" | jq -c .)" "$layers"
    md_ok inspect -f '{{json .RepoDigests}}' "$REG/test/bb:v1" | jq -e --arg d "$REG/test/bb@$digest" \
        'index($d) != null' >/dev/null || fail "RepoDigests lacks $REG/test/bb@$digest"
    # pulled again: up to date
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_contains "$out" "Status: Image is up to date for $REG/test/bb:v1"
    # -q: only the name
    assert_eq "$(md_ok pull -q "$REG/test/bb:v1")" "$REG/test/bb:v1"
    # pushing what is not here, or a digest: clear errors
    md_fail 1 push "$REG/test/none:v1"
    assert_one_line_error
    md_fail 1 push "$REG/test/bb@$digest"
    assert_one_line_error
    _pulls_empty
    md_ok system check >/dev/null
}

# timeout: 400
test_pull_skopeo_pushed() {
    require_root
    _reg_start
    _login "$REG"
    _seed test/bb:v1 one
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$SEED_ID"
    # the fixture with whiteouts, hardlinks, xattrs..., and its zstd twin
    _sk_push "oci:$FIX/oci:multi" test/multi:latest
    mkdir "$T/zstd"
    tar -C "$T/zstd" -xf "$FIX/multi-zstd-oci.tar"
    _sk_push "oci:$T/zstd:multi" test/multi:zstd
    md_ok pull "$REG/test/multi" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/multi")" "$MULTI_ID"
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' "$REG/test/multi" | jq -c .)" "$MULTI_DIFF_IDS"
    mount_image "$REG/test/multi" "$T/mnt"
    treecmp "$T/mnt" "$FIX/rootfs-umoci" || fail "tree of the pulled image differs from umoci's"
    umount "$T/mnt"
    md_ok pull "$REG/test/multi:zstd" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/multi:zstd")" "$ZSTD_ID"
    mount_image "$REG/test/multi:zstd" "$T/mnt"
    treecmp "$T/mnt" "$FIX/rootfs-umoci" || fail "tree of the zstd image differs from umoci's"
    umount "$T/mnt"
    _pulls_empty
    md_ok system check >/dev/null
}

# _oci_multiplatform LAYOUT: index "multi" of four images (linux/amd64,
# linux/arm64, linux/arm/v7, linux/arm/v6), each the busybox layer (shared)
# plus /etc/marker naming its platform, and an attestation manifest
# (unknown/unknown) as BuildKit writes them; prints "PLATFORM CONFIG MANIFEST"
# lines, then "index DIGEST".
_oci_multiplatform() {
    local lay=$1 p
    _oci_bb "$lay" base >/dev/null
    for p in amd64 arm64 armv7 armv6; do
        umoci --log error tag --image "$lay:base" "p-$p"
        _oci_marker "$lay" "p-$p" "$p"
    done
    # umoci has no --variant: set architecture and variant in each config
    # and write the index by hand
    "$PY" - "$lay" <<'PYEOF'
import hashlib, json, sys
L = sys.argv[1]
def rd(d):
    return open(f"{L}/blobs/sha256/{d[7:]}", "rb").read()
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{L}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
idx = json.load(open(f"{L}/index.json"))
bytag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
descs = []
for arch, var in (("amd64", ""), ("arm64", ""), ("arm", "v7"), ("arm", "v6")):
    m = json.loads(rd(bytag["p-" + arch + var]["digest"]))
    c = json.loads(rd(m["config"]["digest"]))
    c["os"], c["architecture"] = "linux", arch
    c.pop("variant", None)
    if var:
        c["variant"] = var
    m["config"]["digest"], m["config"]["size"] = put(json.dumps(c).encode())
    md, ms = put(json.dumps(m).encode())
    plat = {"architecture": arch, "os": "linux"}
    if var:
        plat["variant"] = var
    descs.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "digest": md, "size": ms, "platform": plat})
    print("linux/%s%s %s %s" % (arch, "/" + var if var else "", m["config"]["digest"], md))
# an attestation manifest, as BuildKit adds them: not an image to pick
att = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "subject": []}).encode()
ad, asz = put(att)
ac = json.dumps({"architecture": "unknown", "os": "unknown", "config": {},
                 "rootfs": {"type": "layers", "diff_ids": [ad]}}).encode()
acd, acs = put(ac)
am = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": acd, "size": acs},
                 "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": ad, "size": asz,
                             "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}]}).encode()
amd, ams = put(am)
descs.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": ams,
              "platform": {"architecture": "unknown", "os": "unknown"},
              "annotations": {"vnd.docker.reference.digest": descs[0]["digest"],
                              "vnd.docker.reference.type": "attestation-manifest"}})
ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs}
xd, xs = put(json.dumps(ix).encode())
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": xd,
                         "size": xs, "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open(f"{L}/index.json", "w"))
print("index", xd)
PYEOF
}

# timeout: 400
test_pull_multiplatform() {
    _reg_start
    _login "$REG"
    fixtures
    _oci_multiplatform "$T/mp" >"$T/mp.txt"
    _sk_push "oci:$T/mp:multi" test/multi:latest --all
    idx=$(awk '$1 == "index" { print $2 }' "$T/mp.txt")
    assert_eq "$(_sk_inspect test/multi:latest --raw | sha256sum | cut -d' ' -f1)" "${idx#sha256:}" \
        "the registry holds the index as written"
    cfg() { awk -v p="$1" '$1 == p { print $2 }' "$T/mp.txt"; }
    img=$REG/test/multi:latest
    # absent platforms: one line listing what the image has, nothing left
    _fails_clean 1 "linux/s390x" pull --platform linux/s390x "$img"
    assert_contains "$FAIL_ERR" "(it has: linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6)"
    # strict about arm variants: a v5 machine gets neither v6 nor v7
    _fails_clean 1 "linux/arm/v6" pull --platform linux/arm/v5 "$img"
    md_ok pull --platform linux/arm/v6 "$img" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$img")" "$(cfg linux/arm/v6)" "linux/arm/v6 picks v6"
    assert_eq "$(md_ok inspect -f '{{.Architecture}}' "$img")" arm
    out=$(md_ok pull --platform linux/arm/v7 "$img")
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$img")" "$(cfg linux/arm/v7)" "linux/arm/v7 picks v7"
    assert_contains "$out" "Already exists"   # the shared busybox layer
    md_ok pull --platform linux/arm64 "$img" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$img")" "$(cfg linux/arm64)" "linux/arm64"
    md_ok pull --platform aarch64 "$img" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$img")" "$(cfg linux/arm64)" "aarch64 is arm64"
    # no --platform: this machine's
    if [ "$(uname -m)" = x86_64 ]; then
        md_ok pull "$img" >/dev/null
        assert_eq "$(md_ok inspect -f '{{.Id}}' "$img")" "$(cfg linux/amd64)" "the host's platform"
        assert_eq "$(md_ok inspect -f '{{.Architecture}}' "$img")" amd64
    fi
    # by the index's digest: the platform's image, recorded under that digest
    md_ok pull --platform linux/arm/v6 "$REG/test/multi@$idx" >/dev/null
    md_ok inspect -f '{{json .RepoDigests}}' "$(cfg linux/arm/v6)" | jq -e --arg d "$REG/test/multi@$idx" \
        'index($d) != null' >/dev/null || fail "RepoDigests of the v6 image lack $REG/test/multi@$idx"
    _pulls_empty
    md_ok system check >/dev/null
}

# timeout: 400
test_pull_all_tags() {
    _reg_start
    _login "$REG"
    _seed test/tags:v1
    id1=$SEED_ID
    _seed test/tags:v2 two
    id2=$SEED_ID
    _sk_push "oci:$FIX/oci:multi" test/tags:latest
    # a tag with -a: refused
    md_fail 1 pull -a "$REG/test/tags:v1"
    assert_one_line_error
    md_ok pull -a "$REG/test/tags" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/tags:v1")" "$id1"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/tags:v2")" "$id2"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/tags:latest")" "$MULTI_ID"
    n=$(md_ok images --format '{{.Repository}}:{{.Tag}}' | grep -c "^$REG/test/tags:" || true)
    assert_eq "$n" 3 "tags pulled by -a"
    # a repository that does not exist
    md_fail 1 pull -a "$REG/test/none"
    assert_one_line_error
    _pulls_empty
}

# timeout: 400
test_pull_by_digest() {
    _reg_start
    _login "$REG"
    _seed test/dig:v1
    digest=$(_sk_inspect test/dig:v1 | jq -r .Digest)
    out=$(md_ok pull "$REG/test/dig@$digest")
    assert_contains "$out" "Digest: $digest"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/dig@$digest")" "$SEED_ID"
    assert_eq "$(md_ok inspect -f '{{json .RepoTags}}' "$SEED_ID")" "[]" "no tag from a digest pull"
    md_ok inspect -f '{{json .RepoDigests}}' "$SEED_ID" | jq -e --arg d "$REG/test/dig@$digest" \
        'index($d) != null' >/dev/null || fail "RepoDigests lacks $REG/test/dig@$digest"
    # then by tag: the same image, now tagged
    md_ok pull "$REG/test/dig:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/dig:v1")" "$SEED_ID"
    assert_eq "$(md_ok images -q --no-trunc | sort -u | wc -l)" 1 "one image"
    # a digest the registry does not have
    md_ok rmi -f "$SEED_ID" >/dev/null
    none=sha256:$(printf 'nothing' | sha256sum | cut -d' ' -f1)
    _fails_clean 1 "invalid|digest" pull "$REG/test/dig@sha256:1234"
    _fails_clean 1 "not found" pull "$REG/test/dig@$none"
    assert_contains "$FAIL_ERR" "$REG/test/dig@$none"
}

# The image limits, at pull: an image of 201 layers (one more than a
# container's overlay mount holds) is refused by name before any blob
# comes; 200 layers pull.  tests/tools/mklayers.py's images (tiny layers,
# this machine's platform), pushed with skopeo.
# timeout: 400
test_pull_layer_limit() {
    _reg_start
    _login "$REG"
    "$PY" "$MD_TOOLS/mklayers.py" oci "$T/many201.tar" 201 --tag many
    "$PY" "$MD_TOOLS/mklayers.py" oci "$T/many200.tar" 200 --tag many
    _sk_push "oci-archive:$T/many201.tar:many" test/many:201
    _fails_clean 1 "image $REG/test/many:201 has 201 layers; minidock supports at most 200 " pull "$REG/test/many:201"
    _sk_push "oci-archive:$T/many200.tar:many" test/many:200
    md_ok pull -q "$REG/test/many:200" >/dev/null
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' "$REG/test/many:200" | jq length)" 200 "layers pulled"
    _pulls_empty
    md_ok system check >/dev/null
}

# An image under 8 nested image indexes pulls; under 9 it is refused as
# such, not as "no matching manifest".  The indexes go in with curl (skopeo
# copies no nested index).
test_pull_nested_index_limit() {
    require_cmd curl
    _reg_start
    _login "$REG"
    _seed test/nest:base
    _sk_inspect test/nest:base --raw >"$T/m0"
    mt=$(jq -r .mediaType "$T/m0") dg=$(_sk_inspect test/nest:base | jq -r .Digest)
    for k in $(seq 1 9); do
        jq -cn --arg mt "$mt" --arg d "$dg" --argjson s "$(wc -c <"$T/m$((k - 1))")" \
            '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
              manifests: [{mediaType: $mt, digest: $d, size: $s, platform: {architecture: "amd64", os: "linux"}}]}' \
            | tr -d '\n' >"$T/m$k"
        curl -sSf --cacert "$T/pki/ca.crt" -u "$_REG_USER:$_REG_PASS" -X PUT \
            -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$T/m$k" \
            "https://$REG/v2/test/nest/manifests/nest$k" >/dev/null || fail "PUT of index nest$k failed"
        mt=application/vnd.oci.image.index.v1+json dg=sha256:$(sha256sum <"$T/m$k" | cut -d' ' -f1)
    done
    _fails_clean 1 "image index of $REG/test/nest:nest9 nested more than 8 deep" pull "$REG/test/nest:nest9"
    md_ok pull -q "$REG/test/nest:nest8" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/nest:nest8")" "$SEED_ID" "image under 8 indexes"
    _pulls_empty
}

# timeout: 400
test_run_pull_policy() {
    ctr_setup
    _reg_start
    _login "$REG"
    _seed test/run:latest one
    img=$REG/test/run
    md_fail 125 run --rm --network none --pull never "$img" cat /etc/marker
    assert_one_line_error
    assert_contains "$(md_stderr)" "No such image"
    out=$(md_ok run --rm --network none --pull missing "$img" cat /etc/marker)
    assert_eq "$out" one "run --pull missing pulls what is missing"
    assert_contains "$(md_stderr)" "Unable to find image '$img:latest' locally"
    # the tag moves in the registry
    _seed test/run:latest two
    assert_eq "$(md_ok run --rm --network none --pull missing "$img" cat /etc/marker)" one "missing: no pull"
    assert_eq "$(md_ok run --rm --network none --pull never "$img" cat /etc/marker)" one "never: no pull"
    assert_eq "$(md_ok run --rm --network none "$img" cat /etc/marker)" one "default (missing)"
    assert_eq "$(md_ok run --rm --network none --pull always "$img" cat /etc/marker)" two "always pulls"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$img")" "$SEED_ID"
    # create --pull too
    id=$(md_ok create --network none --pull always "$img" true)
    md_ok rm "$id" >/dev/null
    md_fail 125 run --rm --network none --pull sometimes "$img" true
    assert_one_line_error
    # the registry gone: missing still runs, always fails with one line
    _reg_stop
    assert_eq "$(md_ok run --rm --network none --pull missing "$img" cat /etc/marker)" two
    md_fail 125 run --rm --network none --pull always "$img" true
    err=$(md_stderr)
    _pulls_empty
    assert_clean
    # one line (Docker says "Pulling from" only once it has the manifest)
    assert_match "$err" "^minidock: "
    assert_eq "$(wc -l <<<"$err")" 1 "lines on stderr ($err)"
}

# timeout: 400
test_token_auth() {
    require_cmd "$PY"
    REG_AUTH=token _reg_start
    _seed test/bb:v1 one
    priv=$SEED_ID
    _seed public/bb:v1 two
    pub=$SEED_ID
    # a private repository without credentials: denied, nothing left
    _fails_clean 1 "denied|unauthorized|authentication required" pull "$REG/test/bb:v1"
    # anonymous pull of a public one: an anonymous token
    md_ok pull "$REG/public/bb:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/public/bb:v1")" "$pub"
    grep -q "scope=repository:public/bb:pull auth=no status=200 granted=public/bb:pull" "$T/token.log" ||
        fail "no anonymous token for public/bb: $(cat "$T/token.log")"
    # login: checked against the token service
    md_fail 1 login -u "$_REG_USER" --password-stdin "$REG" <<<"wrong-password"
    assert_one_line_error
    assert_contains "$(md_stderr)" "incorrect username or password"
    _login "$REG"
    md_ok pull "$REG/test/bb:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$priv"
    # push with a pull,push token
    md_ok tag "$REG/test/bb:v1" "$REG/test/pushed:v1" >/dev/null
    out=$(md_ok push "$REG/test/pushed:v1")
    digest=$(sed -n 's/^v1: digest: \(sha256:[0-9a-f]\{64\}\) size: [0-9]*$/\1/p' <<<"$out")
    assert_eq "$(_sk_inspect test/pushed:v1 | jq -r .Digest)" "$digest" "digest of the token-auth push"
    # the registry's challenge names the actions in either order (a Go map)
    grep -Eq "scope=repository:test/pushed:(pull,push|push,pull) auth=yes status=200" "$T/token.log" ||
        fail "no pull,push token for test/pushed: $(cat "$T/token.log")"
    _pulls_empty
}

# ---- failures: one line, nothing left behind

test_fail_unknown_ca() {
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    rm -r "$MINIDOCK_CONFIG_DIR/certs.d/$REG"
    _fails_clean 1 "unknown authority" pull "$REG/test/bb:v1"
    md_fail 1 login -u "$_REG_USER" --password-stdin "$REG" <<<"$_REG_PASS"
    assert_one_line_error
    assert_contains "$(md_stderr)" "unknown authority"
    # the CA in Docker's layout name but another file: still found (*.crt)
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$REG"
    cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$REG/my-ca.crt"
    md_ok pull -q "$REG/test/bb:v1" >/dev/null
}

test_fail_host_name_mismatch() {
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    # the certificate names DNS:localhost only; 127.0.0.1 is not in it
    ip=127.0.0.1:$REG_PORT
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$ip"
    cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$ip/ca.crt"
    _fails_clean 1 "not valid for IP address 127\.0\.0\.1 \(it names: DNS:localhost\)" pull "$ip/test/bb:v1"
    # a certificate for another name altogether
    _reg_start other
    _fails_clean 1 "not valid for host name localhost \(it names: DNS:other\.invalid\)" pull "$REG/test/bb:v1"
}

# A registry addressed by IP (a registry on a local network): its
# certificate names the address in an iPAddress entry, which Docker,
# podman and curl accept.  The same certificate does not cover a DNS name
# it does not list.
test_pull_by_ip_address() {
    _reg_start ip
    assert_eq "$REG" "127.0.0.1:$REG_PORT" "registry address"
    _login "$REG"
    _seed test/bb:v1
    md_ok pull -q "$REG/test/bb:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$SEED_ID" "image ID pulled by IP"
    # by name: the certificate names no DNS name (and its CN is never used)
    h=localhost:$REG_PORT
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$h"
    cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$h/ca.crt"
    md_fail 1 pull -q "$h/test/bb:v1"
    assert_one_line_error
    assert_contains "$(md_stderr)" "TLS handshake with localhost:$REG_PORT failed: certificate is not valid for host name localhost (it names: IP:127.0.0.1, IP:::1)"
    _pulls_empty
}

# The same over IPv6 loopback, [::1]:PORT: a push and a pull back.
test_push_pull_by_ipv6_address() {
    "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
        skip "no IPv6 loopback address (::1) here"
    REG_LISTEN=::1 _reg_start ip
    assert_eq "$REG" "[::1]:$REG_PORT" "registry address"
    _login "$REG"
    bb_image "$REG/test/bb:v1"
    id=$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")
    md_ok push "$REG/test/bb:v1" >/dev/null
    md_ok rmi "$REG/test/bb:v1" >/dev/null
    store_clean
    md_ok pull -q "$REG/test/bb:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$id" "image ID after a push and pull over [::1]"
    _pulls_empty
}

# A certificate that names other addresses, and a DNS name and a CN that
# are the address as text: refused, saying what it names.  By its DNS
# name the registry is fine.
test_fail_ip_address_mismatch() {
    _reg_start ip-other
    _fails_clean 1 "certificate is not valid for IP address 127\.0\.0\.1 \(it names: IP:192\.0\.2\.10, IP:2001:db8::10, DNS:localhost\)" \
        pull "$REG/test/bb:v1"
    md_fail 1 login -u "$_REG_USER" --password-stdin "$REG" <<<"$_REG_PASS"
    assert_one_line_error
    assert_contains "$(md_stderr)" "not valid for IP address 127.0.0.1"
    h=localhost:$REG_PORT
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$h"
    cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$h/ca.crt"
    _login "$h"
}

test_fail_expired_certificate() {
    _reg_start expired
    _fails_clean 1 "expired" pull "$REG/test/bb:v1"
    md_fail 1 login -u "$_REG_USER" --password-stdin "$REG" <<<"$_REG_PASS"
    assert_one_line_error
    assert_contains "$(md_stderr)" "expired"
}

test_fail_wrong_password() {
    _reg_start
    _seed test/bb:v1
    # stored credentials that the registry refuses
    mkdir -p "$MINIDOCK_CONFIG_DIR"
    jq -n --arg r "$REG" --arg a "$(printf '%s:wrong' "$_REG_USER" | base64 -w0)" \
        '{auths: {($r): {auth: $a}}}' >"$MINIDOCK_CONFIG_DIR/config.json"
    _fails_clean 1 "incorrect username or password" pull "$REG/test/bb:v1"
    # none stored at all
    rm "$MINIDOCK_CONFIG_DIR/config.json"
    _fails_clean 1 "authentication required|login" pull "$REG/test/bb:v1"
}

test_fail_missing_tag() {
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    _fails_clean 1 "not found|unknown" pull "$REG/test/bb:nope"
    _fails_clean 1 "not found|unknown" pull "$REG/test/absent:v1"
    # a bad reference never reaches the network
    _fails_clean any "invalid|reference" pull "$REG/Test/UPPER:v1"
}

# timeout: 400
test_fail_tampered_blob() {
    require_cmd "$PY"
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    # a bit of the gzip header's MTIME flipped: the layer still decompresses,
    # only its digest is wrong
    _proxy_start tamper-head tamper --match "$SEED_LAYER" --offset 5
    _login "$PX"
    _fails_clean 1 "digest|corrupt" pull "$PX/test/bb:v1"
    grep -q "tampered" "$PX_LOG" || fail "the proxy tampered with nothing: $(cat "$PX_LOG")"
    # a bit in the middle of the deflate stream
    _proxy_start tamper-mid tamper --match "$SEED_LAYER" --offset $((SEED_SIZE / 2))
    _login "$PX"
    _fails_clean 1 "digest|corrupt" pull "$PX/test/bb:v1"
    grep -q "tampered" "$PX_LOG" || fail "the proxy tampered with nothing: $(cat "$PX_LOG")"
    # nothing poisoned remains: straight from the registry, it pulls
    md_ok pull "$REG/test/bb:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$SEED_ID"
    _pulls_empty
    md_ok system check >/dev/null
}

# timeout: 400
test_pull_resume_after_cut() {
    require_cmd "$PY"
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    half=$((SEED_SIZE / 2))
    _proxy_start cut cut --match "$SEED_LAYER" --after "$half"
    _login "$PX"
    md_fail 1 pull "$PX/test/bb:v1"
    assert_one_line_error
    grep -q " cut$" "$PX_LOG" || fail "the proxy cut nothing: $(cat "$PX_LOG")"
    # no image, but the partial blob is kept for the resume
    assert_eq "$(md_ok images -a -q)" "" "images after the cut"
    part=$(ls -A "$MINIDOCK_ROOT/pulls" 2>/dev/null || true)
    assert_eq "$(wc -w <<<"$part")" 1 "partial blobs after the cut ($part)"
    have=$(stat -c %s "$MINIDOCK_ROOT/pulls/$part")
    if [ "$have" -lt 1 ] || [ "$have" -gt "$half" ]; then
        fail "partial blob has $have bytes, expected 1..$half"
    fi
    out=$(md_ok pull "$PX/test/bb:v1")
    assert_contains "$out" "Resuming"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$PX/test/bb:v1")" "$SEED_ID"
    # the second GET of the blob asked for the rest only
    grep -E "^GET /v2/test/bb/blobs/$SEED_LAYER range=bytes=$have- status=206 sent=$((SEED_SIZE - have)) " \
        "$PX_LOG" >/dev/null || fail "no resumed GET from byte $have: $(grep blobs "$PX_LOG")"
    _pulls_empty
    md_ok system check >/dev/null
}

# timeout: 400
test_pull_sigkill_resume() {
    require_cmd "$PY"
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    # served slowly (about 4 s for the busybox layer), so the kill lands mid-blob
    _proxy_start slow slow --match "$SEED_LAYER" --rate $((SEED_SIZE / 4))
    _login "$PX"
    part=$MINIDOCK_ROOT/pulls/${SEED_LAYER#sha256:}
    _bg "$MINIDOCK" pull "$PX/test/bb:v1" >"$T/pull1.out" 2>&1
    pid=$BG_PID
    wait_until 30 "a partial blob" test -s "$part"
    sleep 0.5
    assert_eq "$(md_ok images -a -q)" "" "images during the pull"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    have=$(stat -c %s "$part")
    if [ "$have" -lt 1 ] || [ "$have" -ge "$SEED_SIZE" ]; then
        fail "partial blob has $have of $SEED_SIZE bytes"
    fi
    assert_eq "$(md_ok images -a -q)" "" "images after SIGKILL"
    # what the dead pull left is swept, not damage; its partial blob stays
    md_ok system check >/dev/null
    assert_eq "$(stat -c %s "$part")" "$have" "partial blob after system check"
    out=$(md_ok pull "$PX/test/bb:v1")
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$PX/test/bb:v1")" "$SEED_ID"
    grep -E "^GET /v2/test/bb/blobs/$SEED_LAYER range=bytes=[1-9][0-9]*- status=206" "$PX_LOG" >/dev/null ||
        fail "the blob was downloaded from scratch: $(grep blobs "$PX_LOG")"
    _pulls_empty
    [ ! -d "$MINIDOCK_ROOT/tmp" ] || [ -z "$(ls -A "$MINIDOCK_ROOT/tmp")" ] ||
        fail "staging left in tmp/: $(ls -A "$MINIDOCK_ROOT/tmp")"
    md_ok system check >/dev/null
}

# A pull cut in its last layer keeps the layers it stored before for the
# resume: system check passes as it is and leaves them, and the resumed
# pull does not download them again.
# timeout: 400
test_pull_cut_keeps_stored_layers() {
    require_cmd "$PY"
    _reg_start
    _login "$REG"
    fixtures
    local m last size d
    _sk_push "oci:$FIX/oci:multi" test/multi:latest
    m=$(_oci_manifest "$FIX/oci" multi)
    last=$(jq -r '.layers[2].digest' "$m")
    size=$(jq -r '.layers[2].size' "$m")
    _proxy_start cut cut --match "$last" --after $((size / 2))
    _login "$PX"
    md_fail 1 pull "$PX/test/multi"
    assert_one_line_error
    assert_eq "$(md_ok images -a -q)" "" "images after the cut"
    assert_eq "$(find "$MINIDOCK_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 2 "layer dirs after the cut"
    out=$(md_ok system check)
    assert_contains "$out" "kept for an interrupted pull"
    assert_eq "$(find "$MINIDOCK_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 2 "layer dirs after system check"
    md_ok pull "$PX/test/multi" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$PX/test/multi")" "$MULTI_ID"
    for d in $(jq -r '.layers[0:2][].digest' "$m"); do
        assert_eq "$(grep -cE "^GET /v2/test/multi/blobs/$d .* status=20[06] " "$PX_LOG")" 1 "downloads of $d"
    done
    _pulls_empty
    md_ok system check >/dev/null
}

# timeout: 400
test_pull_progress_on_a_terminal() {
    require_cmd script
    _reg_start
    _login "$REG"
    _seed test/bb:v1 one
    # a terminal: per-layer lines redrawn in place, with bars
    script -qefc "'$MINIDOCK' pull '$REG/test/bb:v1'" "$T/tty.out" >/dev/null </dev/null ||
        fail "pull on a terminal failed: $(tail -n 3 "$T/tty.out")"
    grep -q $'\033\\[' "$T/tty.out" || fail "no cursor movement on a terminal: $(cat -v "$T/tty.out")"
    grep -q "Pull complete" "$T/tty.out" || fail "no 'Pull complete' on a terminal: $(cat -v "$T/tty.out")"
    # not a terminal: plain lines, no escape sequences, one per layer and phase
    md_ok rmi "$REG/test/bb:v1" >/dev/null
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_not_contains "$out" $'\033'
    assert_eq "$(grep -c ': Pull complete$' <<<"$out")" 2 "'Pull complete' lines"
}

# ---- redirects and proxies

# timeout: 400
test_pull_redirect_to_blob_storage() {
    require_cmd "$PY"
    _reg_start
    _login "$REG"
    _seed test/bb:v1 one
    # "storage": another host (port) that serves blobs without the
    # registry's credentials; the front sends every blob GET there
    _proxy_start storage pass --inject-auth "$_REG_USER:$_REG_PASS"
    storage=$PX
    _proxy_start front pass --match /blobs/ --redirect-to "https://$storage"
    _login "$PX"
    md_ok pull "$PX/test/bb:v1" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$PX/test/bb:v1")" "$SEED_ID"
    grep -q "^GET /v2/test/bb/blobs/$SEED_LAYER .*status=307" "$T/front.log" ||
        fail "no redirect of the layer: $(cat "$T/front.log")"
    grep -q "^GET /v2/test/bb/blobs/$SEED_LAYER .*status=200" "$T/storage.log" ||
        fail "the layer did not come from the storage host: $(cat "$T/storage.log")"
    # the registry's Authorization never went to the other host
    if grep -q "auth=yes" "$T/storage.log"; then
        fail "credentials sent to the blob storage host: $(cat "$T/storage.log")"
    fi
    _pulls_empty
}


test_https_proxy_connect() {
    require_cmd "$PY"
    _reg_start
    _login "$REG"
    _seed test/bb:v1
    _proxy_start connect connect
    HTTPS_PROXY=http://127.0.0.1:$PX_PORT md_ok pull -q "$REG/test/bb:v1" >/dev/null
    grep -qx "CONNECT $REG" "$PX_LOG" || fail "no CONNECT $REG through the proxy: $(cat "$PX_LOG")"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$SEED_ID"
    md_ok rmi "$REG/test/bb:v1" >/dev/null
    # NO_PROXY covers localhost: straight to the registry
    n=$(wc -l <"$PX_LOG")
    HTTPS_PROXY=http://127.0.0.1:$PX_PORT NO_PROXY=example.invalid,localhost \
        md_ok pull -q "$REG/test/bb:v1" >/dev/null
    assert_eq "$(wc -l <"$PX_LOG")" "$n" "proxy log lines with NO_PROXY=localhost"
    md_ok rmi "$REG/test/bb:v1" >/dev/null
    # a proxy that is not there: one line, nothing left
    HTTPS_PROXY=http://127.0.0.1:$(_free_port) _fails_clean 1 "proxy|connect" pull "$REG/test/bb:v1"
}

# A pull checks for room first: the new layers' compressed sizes (from the
# manifest), times 3 for unpacking, against what the store's filesystem has
# free; a pull that cannot fit is refused before any blob is fetched. A
# compose update that needs it touches nothing (issue 15).
test_pull_no_room() {
    ctr_setup
    _reg_start
    _login "$REG"
    _seed test/app:1
    # a second tag with 3 MiB that gzip cannot shrink
    local big=$T/big m
    mkdir -p "$big/opt"
    head -c 3145728 /dev/urandom >"$big/opt/blob"
    tar -C "$big" --numeric-owner --owner=0 --group=0 --mtime=2020-01-01 -cf "$big.tar" ./opt ./opt/blob
    _oci_bb "$T/oci" big
    umoci --log error raw add-layer --image "$T/oci:big" --history.created 2020-01-03T00:00:00Z "$big.tar"
    _sk_push "oci:$T/oci:big" test/app:2
    # the store on a 8 MiB filesystem
    mkdir -p "$T/small"
    mount -t tmpfs -o size=8m mdsmall "$T/small"
    export MINIDOCK_ROOT=$T/small/root
    md_ok pull -q "$REG/test/app:1" >/dev/null
    md_fail 1 pull -q "$REG/test/app:2"
    assert_one_line_error
    assert_match "$(md_stderr)" "no room for $REG/test/app:2: its new layers are 3\.[0-9]+MB, about [0-9.]+MB unpacked, and $T/small/root has [0-9.]+[kM]B free"
    _pulls_empty
    grep -q "GET /v2/test/app/blobs/$(jq -r '.layers[1].digest' "$(_oci_manifest "$T/oci" big)")" "$T"/reg-*/log &&
        fail "a blob was fetched for a pull that could not fit"
    # a compose update that would need it: refused before anything stops
    mkdir -p "$T/app"
    printf 'x-minidock: {commit-after: 0s}\nservices:\n  web:\n    image: %s/test/app:1\n    command: sleep 300\n    network_mode: none\n' "$REG" >"$T/app/compose.yaml"
    md_ok compose --project-directory "$T/app" up -d >/dev/null 2>&1
    local web
    web=$(md_ok inspect -f '{{.Id}}' app-web-1)
    sed -i 's|test/app:1|test/app:2|' "$T/app/compose.yaml"
    md_fail 1 compose --project-directory "$T/app" up -d
    assert_contains "$(md_stderr)" "no room for $REG/test/app:2"
    assert_eq "$(md_ok inspect -f '{{.Id}} {{.State.Status}}' app-web-1)" "$web running" "web after a refused update"
    assert_eq "$(md_ok compose --project-directory "$T/app" history -q | tr '\n' ' ')" "1 "
    md_ok system check >/dev/null
    md_ok compose --project-directory "$T/app" down -t 0 >/dev/null 2>&1
    md_ok rmi "$REG/test/app:1" >/dev/null
    umount "$T/small"
    _reg_stop
    assert_clean
}
