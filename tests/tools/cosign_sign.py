#!/usr/bin/env python3
"""cosign_sign.py: a small sigstore (cosign) signer for minidock's tests (issue 17).

Test material only: it makes the signatures that tests/integration/41-sign.sh
checks minidock against, in the layout cosign writes them (cosign's
specs/SIGNATURE_SPEC.md), without cosign (not packaged in Debian).  Python's
stdlib and python3-cryptography only.

  cosign_sign.py keygen OUT.key OUT.pub
      an ECDSA P-256 key pair: OUT.key PKCS#8 PEM (unencrypted),
      OUT.pub a PEM SubjectPublicKeyInfo ("PUBLIC KEY"), as cosign's.

  cosign_sign.py sign REGISTRY_OPTS --repo R --digest sha256:HEX
                 --identity REF --key K.key [--append]
                 [--tamper-payload | --tamper-signature]
                 [--payload-digest sha256:OTHER]
      builds the simple-signing payload
        {"critical":{"identity":{"docker-reference":REF},
                     "image":{"docker-manifest-digest":DIGEST},
                     "type":"cosign container image signature"},
         "optional":null}
      signs SHA-256 of its bytes (ASN.1 DER ECDSA, base64 in the layer's
      dev.cosignproject.cosign/signature annotation), uploads the payload
      and a config blob to R and PUTs the OCI manifest tagged
      "sha256-HEX.sig" in R.  --append adds the signature as one more layer
      of the .sig manifest already there (several signatures).
      --payload-digest: the payload names OTHER instead of DIGEST.
      --tamper-payload: the payload stored is not the one signed (its
      identity changed after signing); --tamper-signature: one bit of the
      signature's s value flipped (still valid DER).

  cosign_sign.py copy REGISTRY_OPTS --repo R --digest sha256:A
                 [--to-repo R2] [--to-digest sha256:B]
      copies R's "sha256-A.sig" manifest and its blobs to R2 (default R)
      as "sha256-B.sig" (default A): a signature moved to another image or
      repository, as an attacker with push rights could.

  REGISTRY_OPTS: --registry https://HOST:PORT (or http://) --ca CA.crt
                 --user U --password P
      the registry's address, the CA to trust for HTTPS and the basic-auth
      credentials (the tests' docker-registry uses htpasswd).  Only
      loopback addresses are ever contacted.

Prints the .sig manifest's digest on success; exits 1 with a one-line
error otherwise.
"""
import argparse
import base64
import hashlib
import http.client
import json
import ssl
import sys
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

SIG_MIME = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANN = "dev.cosignproject.cosign/signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIG_TYPE = "cosign container image signature"


def die(msg):
    sys.stderr.write("cosign_sign.py: %s\n" % msg)
    sys.exit(1)


class Registry:
    """A registry reached over HTTP(S) with basic auth, one request a connection."""

    def __init__(self, base, ca, user, password):
        u = urllib.parse.urlsplit(base)
        if u.scheme not in ("http", "https") or u.hostname not in ("localhost", "127.0.0.1", "::1"):
            die("--registry must be http(s)://localhost:PORT (loopback only), not %s" % base)
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca) if u.scheme == "https" else None
        self.auth = None
        if user is not None:
            tok = base64.b64encode(("%s:%s" % (user, password or "")).encode()).decode()
            self.auth = "Basic " + tok

    def req(self, method, path, body=None, headers=None):
        if self.scheme == "https":
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = dict(headers or {})
        if self.auth:
            h["Authorization"] = self.auth
        if body is not None:
            h["Content-Length"] = str(len(body))
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def blob_get(self, repo, digest):
        st, _, data = self.req("GET", "/v2/%s/blobs/%s" % (repo, digest))
        if st != 200:
            die("GET blob %s of %s: HTTP %d: %s" % (digest, repo, st, data[:200]))
        return data

    def blob_put(self, repo, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        st, _, _ = self.req("HEAD", "/v2/%s/blobs/%s" % (repo, digest))
        if st == 200:
            return digest, len(data)
        st, h, body = self.req("POST", "/v2/%s/blobs/uploads/" % repo, body=b"")
        if st != 202 or "location" not in h:
            die("POST upload to %s: HTTP %d: %s" % (repo, st, body[:200]))
        loc = urllib.parse.urlsplit(h["location"])
        q = loc.query + ("&" if loc.query else "") + "digest=" + urllib.parse.quote(digest)
        st, _, body = self.req("PUT", loc.path + "?" + q, body=data,
                               headers={"Content-Type": "application/octet-stream"})
        if st != 201:
            die("PUT blob %s to %s: HTTP %d: %s" % (digest, repo, st, body[:200]))
        return digest, len(data)

    def manifest_get(self, repo, ref):
        st, _, data = self.req("GET", "/v2/%s/manifests/%s" % (repo, ref),
                               headers={"Accept": OCI_MANIFEST})
        if st == 404:
            return None
        if st != 200:
            die("GET manifest %s of %s: HTTP %d: %s" % (ref, repo, st, data[:200]))
        return json.loads(data)

    def manifest_put(self, repo, ref, data):
        st, _, body = self.req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=data,
                               headers={"Content-Type": OCI_MANIFEST})
        if st != 201:
            die("PUT manifest %s of %s: HTTP %d: %s" % (ref, repo, st, body[:200]))
        return "sha256:" + hashlib.sha256(data).hexdigest()


def sig_tag(digest):
    if not digest.startswith("sha256:") or len(digest) != 71:
        die("not a sha256 digest: %s" % digest)
    return "sha256-%s.sig" % digest[7:]


def put_sig_manifest(rg, repo, tag, layers):
    """The .sig manifest with these layers and a config as cosign writes it."""
    diff_ids = [l["digest"] for l in layers]
    cfg = {"architecture": "", "created": "0001-01-01T00:00:00Z",
           "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layers],
           "os": "", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}}
    cd, cs = rg.blob_put(repo, json.dumps(cfg, separators=(",", ":")).encode())
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": OCI_CONFIG, "size": cs, "digest": cd},
         "layers": layers}
    return rg.manifest_put(repo, tag, json.dumps(m, separators=(",", ":")).encode())


def payload_bytes(identity, digest):
    p = {"critical": {"identity": {"docker-reference": identity},
                      "image": {"docker-manifest-digest": digest},
                      "type": SIG_TYPE},
         "optional": None}
    return json.dumps(p, separators=(",", ":")).encode()


def cmd_keygen(a):
    k = ec.generate_private_key(ec.SECP256R1())
    with open(a.key, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    with open(a.pub, "wb") as f:
        f.write(k.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))


def cmd_sign(a, rg):
    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    payload = payload_bytes(a.identity, a.payload_digest or a.digest)
    sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    if a.tamper_signature:
        r, s = decode_dss_signature(sig)
        sig = encode_dss_signature(r, s ^ 1)
    if a.tamper_payload:
        # signed as it was, stored retargeted: the bytes no longer match
        payload = payload_bytes(a.identity + "-evil", a.payload_digest or a.digest)
    pd, ps = rg.blob_put(a.repo, payload)
    layer = {"mediaType": SIG_MIME, "size": ps, "digest": pd,
             "annotations": {SIG_ANN: base64.b64encode(sig).decode()}}
    tag = sig_tag(a.digest)
    layers = []
    if a.append:
        old = rg.manifest_get(a.repo, tag)
        if old:
            # as cosign: the same signature of the same payload only once
            layers = [l for l in old.get("layers", []) if l != layer]
    layers.append(layer)
    print(put_sig_manifest(rg, a.repo, tag, layers))


def cmd_copy(a, rg):
    src = rg.manifest_get(a.repo, sig_tag(a.digest))
    if src is None:
        die("no %s in %s" % (sig_tag(a.digest), a.repo))
    to_repo = a.to_repo or a.repo
    for l in src.get("layers", []):
        data = rg.blob_get(a.repo, l["digest"])
        rg.blob_put(to_repo, data)
    print(put_sig_manifest(rg, to_repo, sig_tag(a.to_digest or a.digest), src.get("layers", [])))


def main():
    p = argparse.ArgumentParser(description="a cosign-style signer (test material)")
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("key")
    k.add_argument("pub")

    def reg_opts(q):
        q.add_argument("--registry", required=True)
        q.add_argument("--ca")
        q.add_argument("--user")
        q.add_argument("--password")
        q.add_argument("--repo", required=True)
        q.add_argument("--digest", required=True)

    s = sub.add_parser("sign")
    reg_opts(s)
    s.add_argument("--identity", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--append", action="store_true")
    t = s.add_mutually_exclusive_group()
    t.add_argument("--tamper-payload", action="store_true")
    t.add_argument("--tamper-signature", action="store_true")
    s.add_argument("--payload-digest")
    c = sub.add_parser("copy")
    reg_opts(c)
    c.add_argument("--to-repo")
    c.add_argument("--to-digest")
    a = p.parse_args()
    if a.cmd == "keygen":
        return cmd_keygen(a)
    rg = Registry(a.registry, a.ca, a.user, a.password)
    if a.cmd == "sign":
        cmd_sign(a, rg)
    else:
        cmd_copy(a, rg)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, http.client.HTTPException) as e:
        die(str(e))
