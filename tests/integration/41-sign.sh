# shellcheck shell=bash
# Signed images (issue 17): sigstore (cosign) signatures checked on pull
# under a containers-policy.json ($MINIDOCK_POLICY; the tests never touch
# /etc).  Covered:
#  - an image signed by the policy's key: accepted (the pull says so,
#    inspect's .Signature names key, identity, manifest, scope, policy), by
#    tag and by digest; the same signature for another tag of the same
#    manifest refused (default signedIdentity matchRepoDigestOrExact)
#  - refused, with one line naming the check, nothing stored: unsigned;
#    signed by another key; a signature moved from another image of the
#    repository (and one made for another digest); a signature for another
#    repository (matchRepository); a tampered payload and a tampered
#    signature (then a good signature added beside them: accepted)
#  - key rotation with keyPaths (either key accepted, a third refused);
#    two sigstoreSigned requirements in one scope (both must pass)
#  - scopes: reject, insecureAcceptAnything, the most specific scope
#    (tag, repository, namespace, host) winning over the default
#  - a manifest list signed at the list level (the platform manifest is
#    pulled) and one signed per platform manifest
#  - a registry that answers the signature tag with 404, and one that never
#    answers it (minidock's 30 s HTTP timeout): refused, nothing stored
#  - policies minidock cannot honour (signedBy, fulcio, rekorPublicKeyPath)
#    refused when read, "not supported"
#  - load (docker-archive and oci-archive scopes) and import (default)
#    under reject, sigstoreSigned and insecureAcceptAnything
#  - image verify after the policy's key is rotated
#
# The registry, its TLS and htpasswd set-up and the image helpers (_reg_start,
# _login, _sk_push, _sk_inspect, _oci_bb, _oci_multiplatform, _pulls_empty)
# are 40-registry.sh's, sourced from there.  Signatures are made by
# tests/tools/cosign_sign.py (ECDSA P-256 keys, cosign's layout: the
# "sha256-HEX.sig" manifest beside the image).  A small TLS proxy written by
# the test answers the signature tag with 404 or never.  Everything lives in
# $T; all traffic stays on loopback.
#
# Debian packages: docker-registry skopeo umoci apache2-utils openssl jq
# python3 python3-cryptography (and the fixtures' own, see
# tests/tools/mkimages.sh)

# shellcheck disable=SC1091
. "$MD_REPO/tests/integration/40-registry.sh"

_ACCEPT='[{"type":"insecureAcceptAnything"}]'
_REJECT='[{"type":"reject"}]'

# _sign_start: a registry (_reg_start), logged in, and two key pairs
# $T/keys/k1.{key,pub} and $T/keys/k2.{key,pub}.
_sign_start() {
    require_cmd "$PY"
    "$PY" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography not installed"
    _reg_start
    _login "$REG"
    mkdir -p "$T/keys"
    _keygen k1
    _keygen k2
}

_keygen() { [ -f "$T/keys/$1.pub" ] || "$PY" "$MD_TOOLS/cosign_sign.py" keygen "$T/keys/$1.key" "$T/keys/$1.pub"; }

# _cosign sign|copy ARGS: tests/tools/cosign_sign.py against $REG.
_cosign() {
    local cmd=$1
    shift
    "$PY" "$MD_TOOLS/cosign_sign.py" "$cmd" --registry "https://$REG" --ca "$T/pki/ca.crt" \
        --user "$_REG_USER" --password "$_REG_PASS" "$@" >/dev/null || fail "cosign_sign.py $cmd $* failed"
}

# _sign REPO DIGEST IDENTITY KEY [options]: sign with $T/keys/KEY.key.
_sign() {
    local repo=$1 dg=$2 id=$3 key=$4
    shift 4
    _cosign sign --repo "$repo" --digest "$dg" --identity "$id" --key "$T/keys/$key.key" "$@"
}

# _by KEY [SIGNED_IDENTITY_JSON]: a scope of one sigstoreSigned requirement.
_by() {
    jq -cn --arg k "$T/keys/$1.pub" --argjson i "${2:-null}" \
        '[{type: "sigstoreSigned", keyPath: $k} + (if $i then {signedIdentity: $i} else {} end)]'
}

# _policy DEFAULT [SCOPE REQS]...: write $T/policy.json (docker scopes) and
# point MINIDOCK_POLICY at it.
_policy() {
    local def=$1 scopes='{}'
    shift
    while [ $# -ge 2 ]; do
        scopes=$(jq -c --arg s "$1" --argjson r "$2" '. + {($s): $r}' <<<"$scopes")
        shift 2
    done
    jq -n --argjson d "$def" --argjson s "$scopes" '{default: $d, transports: {docker: $s}}' >"$T/policy.json.tmp"
    mv "$T/policy.json.tmp" "$T/policy.json"
    export MINIDOCK_POLICY=$T/policy.json
}

# _push_img TAG MARKER REPO:TAG...: an umoci-made busybox image with
# /etc/marker (MARKER), pushed as each REPO:TAG; DG gets its manifest digest
# (as the registry holds it).
_push_img() {
    local t=$1 m=$2 dst
    shift 2
    _oci_bb "$T/oci" "$t" "$m"
    for dst in "$@"; do _sk_push "oci:$T/oci:$t" "$dst"; done
    DG=$(_mdigest "$1")
}

# _mdigest REPO:TAG: the digest of the manifest the registry serves.
_mdigest() { echo "sha256:$(_sk_inspect "$1" --raw | sha256sum | cut -d' ' -f1)"; }

# _store_state: what the store holds (image IDs, layer dirs).
_store_state() {
    local d
    "$MINIDOCK" images -a -q --no-trunc | sort
    for d in layers tmp; do
        echo "$d:"
        [ ! -d "$MINIDOCK_ROOT/$d" ] || find "$MINIDOCK_ROOT/$d" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort
    done
}

# _refused PATTERN CMD ARGS: minidock CMD ARGS exits 1 with one line on
# stderr, "minidock: CMD: ..." matching PATTERN (extended regex), and the
# store is as it was: no image, layer, staging or partial blob more.
# REFUSED gets the line.
_refused() {
    local pat=$1 before after pre=$2
    shift
    [ "$1" != image ] || pre="(image )?$2"
    before=$(_store_state)
    md_fail 1 "$@"
    assert_one_line_error
    REFUSED=$(md_stderr)
    assert_match "$REFUSED" "^minidock: $pre: "
    grep -qE -- "$pat" <<<"$REFUSED" || fail "error does not match /$pat/: $REFUSED"
    after=$(_store_state)
    assert_eq "$after" "$before" "store after the refused $*"
    _pulls_empty
}

# _accepted REF KEY IDENTITY MANIFEST: pull REF succeeds, says it verified
# with $T/keys/KEY.pub and IDENTITY, and inspect records it ($T/sig.json:
# inspect's .Signature).
_accepted() {
    local out
    out=$(md_ok pull "$1")
    assert_contains "$out" "Signature: verified with $T/keys/$2.pub (identity $3)"
    md_ok image inspect "$1" | jq -c '.[0].Signature' >"$T/sig.json"
    assert_eq "$(jq -r .Key "$T/sig.json")" "$T/keys/$2.pub" "inspect .Signature.Key of $1"
    assert_eq "$(jq -r .Identity "$T/sig.json")" "$3" "inspect .Signature.Identity of $1"
    assert_eq "$(jq -r .Manifest "$T/sig.json")" "$4" "inspect .Signature.Manifest of $1"
    _pulls_empty
}

# ---- accepted and refused signatures

test_sign_accepted() {
    _sign_start
    _push_img a one test/bb:v1 test/bb:v2
    d=$DG
    _sign test/bb "$d" "$REG/test/bb:v1" k1
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1)"
    _accepted "$REG/test/bb:v1" k1 "$REG/test/bb:v1" "$d"
    assert_eq "$(jq -r .Scope "$T/sig.json")" "$REG/test/bb" "inspect .Signature.Scope"
    policy=$(jq -r .Policy "$T/sig.json")
    # {{.Signature.Key}} through the Go-template path too
    assert_eq "$(md_ok image inspect -f '{{.Signature.Key}}' "$REG/test/bb:v1")" "$T/keys/k1.pub"
    md_ok rmi "$REG/test/bb:v1" >/dev/null
    store_clean
    # by digest: the repository must match, the tag in the identity is not
    # looked at (matchRepoDigestOrExact)
    _accepted "$REG/test/bb@$d" k1 "$REG/test/bb:v1" "$d"
    md_ok rmi -f "$REG/test/bb@$d" >/dev/null
    store_clean
    # the same manifest by another tag: the identity names :v1, not :v2
    _refused "identity \"$REG/test/bb:v1\" does not match \"$REG/test/bb:v2\" \(signedIdentity matchRepoDigestOrExact\)" \
        pull "$REG/test/bb:v2"
    store_clean
    md_ok system check >/dev/null
    # last, so the checks above run whatever it says
    assert_eq "$policy" "$MINIDOCK_POLICY" "inspect .Signature.Policy"
}

test_sign_unsigned_refused() {
    _sign_start
    _push_img a one test/bb:v1
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1)"
    _refused "no sigstore signature found, and the signature policy $T/policy.json \(scope $REG/test/bb\) requires one" \
        pull "$REG/test/bb:v1"
    store_clean
    # by digest as well
    _refused "no sigstore signature found" pull "$REG/test/bb@$DG"
    store_clean
    # the same image is pulled where the policy accepts anything
    _policy "$_ACCEPT"
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_not_contains "$out" "Signature:"
    assert_eq "$(md_ok image inspect "$REG/test/bb:v1" | jq -c '.[0].Signature')" null "no .Signature when nothing was checked"
}

test_sign_other_key_refused() {
    _sign_start
    _push_img a one test/bb:v1
    _sign test/bb "$DG" "$REG/test/bb:v1" k2
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1)"
    _refused "no signature is accepted by the signature policy $T/policy.json \(scope $REG/test/bb\): the signature does not verify with the key $T/keys/k1.pub" \
        pull "$REG/test/bb:v1"
    store_clean
    # a policy key that is not a key: refused, saying so
    echo "not a key" >"$T/keys/bad.pub"
    _policy "$_REJECT" "$REG/test/bb" "$(_by bad)"
    _refused "bad\.pub" pull "$REG/test/bb:v1"
    store_clean
}

test_sign_moved_signature_refused() {
    _sign_start
    _push_img a one test/bb:v1
    d1=$DG
    _push_img b two test/bb:v2
    d2=$DG
    [ "$d1" != "$d2" ] || fail "the two images have the same digest"
    _sign test/bb "$d1" "$REG/test/bb:v2" k1
    # v1's signature copied to the tag where v2's would be
    _cosign copy --repo test/bb --digest "$d1" --to-digest "$d2"
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1)"
    _refused "the signature is for the manifest $d1, not $d2" pull "$REG/test/bb:v2"
    _refused "the signature is for the manifest $d1, not $d2" pull "$REG/test/bb@$d2"
    store_clean
    # a signature made (by the right key) for another digest, stored as v2's
    _sign test/bb "$d2" "$REG/test/bb:v2" k1 --payload-digest "$d1"
    _refused "the signature is for the manifest $d1, not $d2" pull "$REG/test/bb:v2"
    store_clean
    # v1 itself still pulls with its own signature (identity :v2 is wrong
    # for :v1, right by digest)
    _accepted "$REG/test/bb@$d1" k1 "$REG/test/bb:v2" "$d1"
}

test_sign_other_repository_refused() {
    _sign_start
    _push_img a one test/bb:v1 test/other:v1
    [ "$(_mdigest test/other:v1)" = "$DG" ] || fail "the copies differ"
    # signed in test/other as cosign names it (no tag), copied to test/bb
    _sign test/other "$DG" "$REG/test/other" k1
    _cosign copy --repo test/other --digest "$DG" --to-repo test/bb
    repo='{"type": "matchRepository"}'
    _policy "$_REJECT" "$REG/test" "$(_by k1 "$repo")"
    _refused "its identity \"$REG/test/other\" does not match \"$REG/test/bb:v1\" \(signedIdentity matchRepository\)" \
        pull "$REG/test/bb:v1"
    _refused "does not match .*signedIdentity matchRepository" pull "$REG/test/bb@$DG"
    store_clean
    # in its own repository the signature is good
    _accepted "$REG/test/other:v1" k1 "$REG/test/other" "$DG"
    md_ok rmi "$REG/test/other:v1" >/dev/null
    # with the default identity a tagless identity matches no tag
    _policy "$_REJECT" "$REG/test" "$(_by k1)"
    _refused "its identity \"$REG/test/other\" does not match \"$REG/test/other:v1\" \(signedIdentity matchRepoDigestOrExact\)" \
        pull "$REG/test/other:v1"
    # exactRepository: the signature may name another repository, if the
    # policy says which
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1 "{\"type\": \"exactRepository\", \"dockerRepository\": \"$REG/test/other\"}")"
    _accepted "$REG/test/bb:v1" k1 "$REG/test/other" "$DG"
}

test_sign_tampered_refused() {
    _sign_start
    _push_img a one test/bb:v1
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1)"
    _sign test/bb "$DG" "$REG/test/bb:v1" k1 --tamper-payload
    _refused "no signature is accepted .*: the signature does not verify with the key $T/keys/k1.pub" pull "$REG/test/bb:v1"
    _sign test/bb "$DG" "$REG/test/bb:v1" k1 --tamper-signature
    _refused "no signature is accepted .*: the signature does not verify with the key $T/keys/k1.pub" pull "$REG/test/bb:v1"
    # both tampered signatures side by side, then a good one beside them:
    # any one that passes is enough
    _sign test/bb "$DG" "$REG/test/bb:v1" k1 --tamper-payload --append
    _refused "does not verify .*\(and the others as well\)" pull "$REG/test/bb:v1"
    store_clean
    _sign test/bb "$DG" "$REG/test/bb:v1" k1 --append
    n=$(_sk_inspect "test/bb:sha256-${DG#sha256:}.sig" --raw | jq '.layers | length')
    assert_eq "$n" 3 "signatures in the .sig manifest"
    _accepted "$REG/test/bb:v1" k1 "$REG/test/bb:v1" "$DG"
}

# ---- several keys, several requirements

test_sign_key_rotation_keypaths() {
    _sign_start
    _keygen k3
    _push_img a one test/bb:v1
    d1=$DG
    _push_img b two test/bb:v2
    d2=$DG
    _push_img c three test/bb:v3
    d3=$DG
    _sign test/bb "$d1" "$REG/test/bb:v1" k1
    _sign test/bb "$d2" "$REG/test/bb:v2" k2
    _sign test/bb "$d3" "$REG/test/bb:v3" k3
    _policy "$_REJECT" "$REG/test/bb" \
        "$(jq -cn --arg a "$T/keys/k1.pub" --arg b "$T/keys/k2.pub" '[{type: "sigstoreSigned", keyPaths: [$a, $b]}]')"
    _accepted "$REG/test/bb:v1" k1 "$REG/test/bb:v1" "$d1"
    _accepted "$REG/test/bb:v2" k2 "$REG/test/bb:v2" "$d2"
    _refused "the signature does not verify with any of the keys" pull "$REG/test/bb:v3"
    # keyDatas: the same keys inline
    md_ok rmi "$REG/test/bb:v1" "$REG/test/bb:v2" >/dev/null
    store_clean
    _policy "$_REJECT" "$REG/test/bb" \
        "$(jq -cn --arg a "$(base64 -w0 "$T/keys/k1.pub")" --arg b "$(base64 -w0 "$T/keys/k2.pub")" \
            '[{type: "sigstoreSigned", keyDatas: [$a, $b]}]')"
    out=$(md_ok pull "$REG/test/bb:v2")
    assert_contains "$out" "Signature: verified with keyDatas"
    _refused "does not verify" pull "$REG/test/bb:v3"
}

test_sign_two_requirements() {
    _sign_start
    _push_img a one test/bb:v1
    _sign test/bb "$DG" "$REG/test/bb:v1" k1
    _policy "$_REJECT" "$REG/test/bb" "$(jq -cn --argjson a "$(_by k1)" --argjson b "$(_by k2)" '$a + $b')"
    # k1 passes, k2 does not: refused, naming k2
    _refused "no signature is accepted by the signature policy .* \(scope $REG/test/bb\): the signature does not verify with the key $T/keys/k2.pub" \
        pull "$REG/test/bb:v1"
    err=$REFUSED
    store_clean
    _sign test/bb "$DG" "$REG/test/bb:v1" k2 --append
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_contains "$out" "Signature: verified with"
    assert_eq "$(md_ok image inspect -f '{{.Id}}' "$REG/test/bb:v1")" "$(_sk_inspect test/bb:v1 --raw | jq -r .config.digest)"
    # reject beside a passing requirement: still refused
    md_ok rmi "$REG/test/bb:v1" >/dev/null
    _policy "$_ACCEPT" "$REG/test/bb" "$(jq -cn --argjson a "$(_by k1)" '$a + [{type: "reject"}]')"
    _refused "is refused by the signature policy .* \(scope $REG/test/bb: reject\)" pull "$REG/test/bb:v1"
    store_clean
    # the policy both refusals name: the file, after a signature's payload
    # was read for the scope's first requirement (checked last)
    assert_contains "$err" "by the signature policy $T/policy.json (scope"
    assert_contains "$REFUSED" "by the signature policy $T/policy.json (scope"
}

# ---- scopes

test_sign_scopes() {
    _sign_start
    _push_img a one test/bb:v1 test/bb:v2 test/locked:v1 other/bb:v1 test/signed:v1
    d=$DG
    _sign test/signed "$d" "$REG/test/signed:v1" k1
    # default reject; the namespace accepts anything; below it, a
    # repository is rejected, a tag and a repository need k1
    _policy "$_REJECT" \
        "$REG/test" "$_ACCEPT" \
        "$REG/test/locked" "$_REJECT" \
        "$REG/test/bb:v2" "$(_by k1)" \
        "$REG/test/signed" "$(_by k1)"
    out=$(md_ok pull "$REG/test/bb:v1")
    assert_not_contains "$out" "Signature:"
    _refused "no sigstore signature found, and the signature policy $T/policy.json \(scope $REG/test/bb:v2\) requires one" \
        pull "$REG/test/bb:v2"
    _refused "$REG/test/locked:v1 is refused by the signature policy $T/policy.json \(scope $REG/test/locked: reject\)" \
        pull "$REG/test/locked:v1"
    _refused "is refused by the signature policy $T/policy.json \(scope default: reject\)" pull "$REG/other/bb:v1"
    _accepted "$REG/test/signed:v1" k1 "$REG/test/signed:v1" "$d"
    assert_eq "$(jq -r .Scope "$T/sig.json")" "$REG/test/signed"
    # the host as a scope, and the default accepting
    md_ok rmi "$REG/test/bb:v1" "$REG/test/signed:v1" >/dev/null
    store_clean
    _policy "$_ACCEPT" "$REG" "$_REJECT"
    _refused "\(scope $REG: reject\)" pull "$REG/test/bb:v1"
    _refused "\(scope $REG: reject\)" pull "$REG/other/bb:v1"
    store_clean
    _policy "$_REJECT" "$REG" "$_ACCEPT" "$REG/test/bb" "$_REJECT"
    md_ok pull -q "$REG/other/bb:v1" >/dev/null
    _refused "\(scope $REG/test/bb: reject\)" pull "$REG/test/bb:v1"
    # an empty docker transport and a "" scope: the transport's default
    jq -n '{default: [{type: "insecureAcceptAnything"}], transports: {docker: {"": [{type: "reject"}]}}}' >"$T/policy.json"
    _refused "is refused by the signature policy" pull "$REG/test/bb:v2"
}

# ---- manifest lists

# timeout: 400
test_sign_manifest_list() {
    _sign_start
    fixtures
    _oci_multiplatform "$T/mp" >"$T/mp.txt"
    _sk_push "oci:$T/mp:multi" test/multi:latest --all
    _sk_push "oci:$T/mp:multi" test/multi2:latest --all
    idx=$(awk '$1 == "index" { print $2 }' "$T/mp.txt")
    assert_eq "$(_mdigest test/multi:latest)" "$idx" "the index's digest"
    man() { awk -v p="$1" '$1 == p { print $3 }' "$T/mp.txt"; }
    cfg() { awk -v p="$1" '$1 == p { print $2 }' "$T/mp.txt"; }
    # signed at the list level: every platform pulls, the list is what was signed
    _sign test/multi "$idx" "$REG/test/multi:latest" k1
    _policy "$_REJECT" "$REG/test" "$(_by k1)"
    md_ok pull --platform linux/arm64 "$REG/test/multi:latest" >"$T/out"
    assert_contains "$(cat "$T/out")" "Signature: verified with $T/keys/k1.pub (identity $REG/test/multi:latest)"
    assert_eq "$(md_ok image inspect -f '{{.Id}}' "$REG/test/multi:latest")" "$(cfg linux/arm64)" "the platform's image"
    assert_eq "$(md_ok image inspect -f '{{.Signature.Manifest}}' "$REG/test/multi:latest")" "$idx" "the list was signed"
    md_ok pull --platform linux/arm/v7 "$REG/test/multi@$idx" >/dev/null
    # (by the list's digest: the arm64 image pulled by tag holds it too)
    assert_eq "$(md_ok image inspect -f '{{.Signature.Manifest}}' "$(cfg linux/arm/v7)")" "$idx" \
        "the list was signed (linux/arm/v7 pulled by the list's digest)"
    # signed per platform manifest: that platform only
    _sign test/multi2 "$(man linux/arm64)" "$REG/test/multi2:latest" k1
    out=$(md_ok pull --platform linux/arm64 "$REG/test/multi2:latest")
    assert_contains "$out" "Signature: verified with $T/keys/k1.pub (identity $REG/test/multi2:latest)"
    assert_eq "$(md_ok image inspect -f '{{.Signature.Manifest}}' "$REG/test/multi2:latest")" "$(man linux/arm64)"
    _refused "no sigstore signature found" pull --platform linux/arm/v6 "$REG/test/multi2:latest"
    [ "$(uname -m)" != x86_64 ] || _refused "no sigstore signature found" pull "$REG/test/multi2:latest"
    # a platform manifest's signature moved to the list: wrong manifest
    _cosign copy --repo test/multi2 --digest "$(man linux/arm64)" --to-digest "$idx"
    _refused "the signature is for the manifest $(man linux/arm64), not " pull --platform linux/arm/v6 "$REG/test/multi2:latest"
    _pulls_empty
    md_ok system check >/dev/null
}

# ---- a registry that misbehaves on the signature tag

# _sigproxy_start MODE: a TLS proxy in front of $REG that forwards
# everything but manifests named "sha256-...": MODE 404 answers them
# 404 MANIFEST_UNKNOWN, MODE hang never answers.  Sets PX=localhost:PORT
# (trusted through certs.d); its log is $T/sigproxy.log.
_sigproxy_start() {
    cat >"$T/sigproxy.py" <<'PYEOF'
import http.client, os, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
mode, upstream, cert, key, ca, portfile, logf = sys.argv[1:8]
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}
def log(s):
    with open(logf, "a") as f:
        f.write(s + "\n")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def fwd(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if "/manifests/sha256-" in self.path:
            log("%s %s %s" % (self.command, self.path, mode))
            if mode == "hang":
                time.sleep(3600)
                return
            msg = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
            self.send_response_only(404, "Not Found")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(msg)
            return
        host, port = upstream.rsplit(":", 1)
        up = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=ca), timeout=60)
        up.request(self.command, self.path, body=body,
                   headers={k: v for k, v in self.headers.items() if k.lower() not in HOP})
        r = up.getresponse()
        data = b"" if self.command == "HEAD" else r.read()
        self.send_response_only(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", r.getheader("Content-Length") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        up.close()
        log("%s %s %d" % (self.command, self.path, r.status))
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = fwd
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PYEOF
    rm -f "$T/sigproxy.port"
    _bg "$PY" "$T/sigproxy.py" "$1" "$REG" "$T/pki/srv.crt" "$T/pki/srv.key" "$T/pki/ca.crt" \
        "$T/sigproxy.port" "$T/sigproxy.log" >"$T/sigproxy.err" 2>&1
    wait_until 10 "sigproxy listening ($(cat "$T/sigproxy.err" 2>/dev/null))" test -s "$T/sigproxy.port"
    PX=localhost:$(cat "$T/sigproxy.port")
    mkdir -p "$MINIDOCK_CONFIG_DIR/certs.d/$PX"
    cp "$T/pki/ca.crt" "$MINIDOCK_CONFIG_DIR/certs.d/$PX/ca.crt"
    _login "$PX"
}

test_sign_registry_404_on_signature() {
    _sign_start
    _push_img a one test/bb:v1
    _sigproxy_start 404
    # signed under the name it is pulled by (the proxy's), but the proxy
    # hides the signature
    _sign test/bb "$DG" "$PX/test/bb:v1" k1
    _policy "$_REJECT" "$PX/test/bb" "$(_by k1)"
    _refused "no sigstore signature found, and the signature policy $T/policy.json \(scope $PX/test/bb\) requires one" \
        pull "$PX/test/bb:v1"
    grep -q "^GET /v2/test/bb/manifests/sha256-${DG#sha256:}.sig 404" "$T/sigproxy.log" ||
        fail "minidock did not ask for the signature: $(cat "$T/sigproxy.log")"
    store_clean
    # the registry itself has it (signed for the proxy's name)
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1 "{\"type\": \"exactReference\", \"dockerReference\": \"$PX/test/bb:v1\"}")"
    _accepted "$REG/test/bb:v1" k1 "$PX/test/bb:v1" "$DG"
}

# timeout: 300
test_sign_registry_hangs_on_signature() {
    _sign_start
    _push_img a one test/bb:v1
    _sigproxy_start hang
    _sign test/bb "$DG" "$PX/test/bb:v1" k1
    _policy "$_REJECT" "$PX/test/bb" "$(_by k1)"
    start=$SECONDS
    _refused "signatures of $DG: .*timed out" pull "$PX/test/bb:v1"
    took=$((SECONDS - start))
    [ "$took" -ge 25 ] || fail "refused after $took s: not the timeout ($REFUSED)"
    [ "$took" -le 150 ] || fail "refused only after $took s"
    grep -q "sha256-${DG#sha256:}.sig hang" "$T/sigproxy.log" ||
        fail "minidock did not ask for the signature: $(cat "$T/sigproxy.log")"
    store_clean
    # nothing of the refused pull is in the way: straight from the registry
    # (which answers), the same image pulls
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1 '{"type": "matchRepository"}')"
    _sign test/bb "$DG" "$REG/test/bb" k1 --append
    _accepted "$REG/test/bb:v1" k1 "$REG/test/bb" "$DG"
}

# ---- policies minidock cannot honour

test_sign_policy_not_supported() {
    _sign_start
    _push_img a one test/bb:v1 other/bb:v1
    _sign test/bb "$DG" "$REG/test/bb:v1" k1
    bb_image bb:local
    md_ok save -o "$T/bb.tar" bb:local >/dev/null
    md_ok rmi bb:local >/dev/null
    store_clean
    for req in \
        '{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/nonexistent.gpg"}' \
        "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$T/keys/k1.pub\", \"rekorPublicKeyPath\": \"$T/keys/k2.pub\"}" \
        '{"type": "sigstoreSigned", "fulcio": {"caPath": "/x", "oidcIssuer": "https://o", "subjectEmail": "a@b"}}' \
        '{"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}}'; do
        _policy "$_ACCEPT" "$REG/test/bb" "[$req]"
        _refused "not supported" pull "$REG/test/bb:v1"
        assert_contains "$REFUSED" "$T/policy.json"
        # the whole file is refused, whatever the scope a command needs
        _refused "not supported" pull "$REG/other/bb:v1"
        _refused "not supported" load -i "$T/bb.tar"
    done
    # a policy file that is not there, or not JSON: refused, not ignored
    export MINIDOCK_POLICY=$T/none.json
    _refused "none\.json" pull "$REG/test/bb:v1"
    echo '{"default": [' >"$T/policy.json"
    export MINIDOCK_POLICY=$T/policy.json
    _refused "policy\.json" pull "$REG/test/bb:v1"
    # an unknown field or requirement type: refused (as containers/image does)
    echo '{"default": [{"type": "insecureAcceptAnything"}], "bogus": 1}' >"$T/policy.json"
    _refused "bogus" pull "$REG/test/bb:v1"
    echo '{"default": [{"type": "acceptIfSunny"}]}' >"$T/policy.json"
    _refused "acceptIfSunny" pull "$REG/test/bb:v1"
    store_clean
}

# ---- load and import

test_sign_load_import() {
    _sign_start
    bb_image bb:local
    id=$(md_ok image inspect -f '{{.Id}}' bb:local)
    md_ok save -o "$T/docker.tar" bb:local >/dev/null
    md_ok save --format oci -o "$T/oci.tar" bb:local >/dev/null
    md_ok rmi bb:local >/dev/null
    store_clean
    pol() {   # DEFAULT DOCKER_ARCHIVE OCI_ARCHIVE
        jq -n --argjson d "$1" --argjson da "$2" --argjson oa "$3" \
            '{default: $d, transports: {"docker-archive": {"": $da}, "oci-archive": {"": $oa}}}' >"$T/policy.json"
        export MINIDOCK_POLICY=$T/policy.json
    }
    # docker-archive rejected, oci-archive accepted
    pol "$_REJECT" "$_REJECT" "$_ACCEPT"
    _refused "the image archive is refused by the signature policy $T/policy.json \(docker-archive, scope .*reject\)" \
        load -i "$T/docker.tar"
    store_clean
    md_ok load -i "$T/oci.tar" >/dev/null
    md_ok rmi -f "$id" >/dev/null
    store_clean
    # and the other way round
    pol "$_REJECT" "$_ACCEPT" "$_REJECT"
    _refused "refused by the signature policy .*oci-archive" load -i "$T/oci.tar"
    store_clean
    md_ok load -i "$T/docker.tar" >/dev/null
    assert_eq "$(md_ok image inspect -f '{{.Id}}' bb:local)" "$id" "the loaded image"
    md_ok rmi bb:local >/dev/null
    store_clean
    # sigstoreSigned: an archive carries no signature
    pol "$_ACCEPT" "$(_by k1)" "$(_by k1)"
    _refused "requires sigstore signatures, which an archive does not carry" load -i "$T/docker.tar"
    _refused "requires sigstore signatures, which an archive does not carry" load -i "$T/oci.tar"
    # from stdin too
    before=$(_store_state)
    md_fail 1 load <"$T/docker.tar"
    assert_one_line_error
    assert_contains "$(md_stderr)" "requires sigstore signatures"
    assert_eq "$(_store_state)" "$before" "store after a refused load from stdin"
    store_clean
    # no transport scope: the default applies
    jq -n '{default: [{type: "reject"}]}' >"$T/policy.json"
    _refused "refused by the signature policy" load -i "$T/docker.tar"
    fixtures
    # import: the default scope
    _refused "the imported image is refused by the signature policy $T/policy.json \( ?scope default: reject\)" \
        import "$FIX/busybox-rootfs.tar" imp:v1
    err=$REFUSED
    store_clean
    jq -n --argjson r "$(_by k1)" '{default: $r, transports: {"docker-archive": {"": [{type: "insecureAcceptAnything"}]}}}' \
        >"$T/policy.json"
    _refused "requires sigstore signatures" import "$FIX/busybox-rootfs.tar" imp:v1
    md_ok load -i "$T/docker.tar" >/dev/null
    md_ok rmi bb:local >/dev/null
    store_clean
    jq -n '{default: [{type: "insecureAcceptAnything"}]}' >"$T/policy.json"
    md_ok import "$FIX/busybox-rootfs.tar" imp:v1 >/dev/null
    md_ok load -i "$T/oci.tar" >/dev/null
    md_ok system check >/dev/null
    # the import's refusal says "(scope default: reject)" (checked last)
    assert_contains "$err" "policy $T/policy.json (scope default: reject)"
}

# ---- image verify

test_sign_image_verify() {
    _sign_start
    "$MINIDOCK" image verify --help >/dev/null 2>&1 || skip "this minidock has no 'image verify' yet"
    # two images: verify checks an image under every name it has, and
    # passes if one does
    _push_img b two test/plain:v1
    _push_img a one test/bb:v1
    _sign test/bb "$DG" "$REG/test/bb:v1" k1
    _policy "$_REJECT" "$REG/test/bb" "$(_by k1)" "$REG/test/plain" "$_ACCEPT"
    _accepted "$REG/test/bb:v1" k1 "$REG/test/bb:v1" "$DG"
    md_ok pull -q "$REG/test/plain:v1" >/dev/null
    out=$(md_ok image verify "$REG/test/bb:v1")
    assert_eq "$out" "$REG/test/bb:v1: verified with $T/keys/k1.pub (identity $REG/test/bb:v1, manifest $DG)"
    # the key rotated to k2, which did not sign: refused, the image stays
    _policy "$_REJECT" "$REG/test/bb" "$(_by k2)" "$REG/test/plain" "$_ACCEPT"
    _refused "no signature is accepted by the signature policy $T/policy.json \(scope $REG/test/bb\): the signature does not verify with the key $T/keys/k2.pub" \
        image verify "$REG/test/bb:v1"
    md_ok image inspect "$REG/test/bb:v1" >/dev/null
    # with keyPaths [k1, k2] during the rotation: accepted
    _policy "$_REJECT" "$REG/test/bb" \
        "$(jq -cn --arg a "$T/keys/k1.pub" --arg b "$T/keys/k2.pub" '[{type: "sigstoreSigned", keyPaths: [$a, $b]}]')"
    assert_contains "$(md_ok image verify "$REG/test/bb:v1")" "verified with $T/keys/k1.pub"
    # signed by k2 as well: verifies under k2 alone, naming k2
    _policy "$_REJECT" "$REG/test/bb" "$(_by k2)" "$REG/test/plain" "$_ACCEPT"
    _sign test/bb "$DG" "$REG/test/bb:v1" k2 --append
    assert_contains "$(md_ok image verify "$REG/test/bb:v1")" "verified with $T/keys/k2.pub"
    # k2's signature taken away again (the .sig holds k1's only): refused
    _sign test/bb "$DG" "$REG/test/bb:v1" k1
    _refused "does not verify with the key $T/keys/k2.pub" image verify "$REG/test/bb:v1"
    # an image pulled when its scope asked for nothing: accepted while it
    # does, refused once the scope asks for a signature
    assert_contains "$(md_ok image verify "$REG/test/plain:v1")" "accepted"
    _policy "$_REJECT" "$REG/test" "$(_by k1)"
    _refused "no sigstore signature found" image verify "$REG/test/plain:v1"
    # an image that is not in the store
    md_fail 1 image verify "$REG/test/none:v1"
    assert_one_line_error
    md_ok image inspect "$REG/test/bb:v1" "$REG/test/plain:v1" >/dev/null
    # one image under two names: a tag given is checked under its own
    # scope; the image's ID under each of its names, the first that passes
    _sk_push "oci:$T/oci:a" test/same:v1
    _policy "$_REJECT" "$REG/test/bb" "$(_by k2)" "$REG/test/same" "$_ACCEPT"
    md_ok pull -q "$REG/test/same:v1" >/dev/null
    _refused "does not verify with the key $T/keys/k2.pub" image verify "$REG/test/bb:v1"
    id=$(md_ok image inspect -f '{{.Id}}' "$REG/test/bb:v1")
    assert_eq "$(md_ok image inspect -f '{{.Id}}' "$REG/test/same:v1")" "$id" "one image under both names"
    assert_contains "$(md_ok image verify "$id")" "accepted (the signature policy's scope $REG/test/same asks for no signature)"
}
