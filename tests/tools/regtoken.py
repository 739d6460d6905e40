#!/usr/bin/env python3
"""regtoken.py: a token service for a test registry's bearer auth (issue 5).

  regtoken.py --port-file F --log L --cert C --key K --sign-key SK
              --sign-cert SC --issuer I --user U --password P

Serves https://localhost:PORT/token over TLS (C, K) on 127.0.0.1, on a
free port that it writes to F once it listens, the way Docker's token
services do: GET /token?service=S&scope=repository:NAME:ACTIONS, Basic
credentials optional.  Wrong credentials get 401.  Anonymous clients get
"pull" on repositories under public/ and nothing else; U gets what it
asks for.  The token is a JWT (RS256, signed with SK by `openssl dgst`,
its certificate SC in the x5c header) as the distribution registry's
"auth: token" checks it against its rootcertbundle (SC).

One log line per request: "GET /token scope=SCOPE auth=yes|no status=N
granted=NAME:ACTIONS;...".
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

A = None
X5C = None
LOCK = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(data):
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", A.sign_key], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return r.stdout


def make_token(sub, aud, access):
    now = int(time.time())
    head = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
    claims = {"iss": A.issuer, "sub": sub, "aud": aud, "exp": now + A.ttl, "nbf": now - 10,
              "iat": now, "jti": uuid.uuid4().hex, "access": access}
    signing_input = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input))


def log(line):
    with LOCK:
        with open(A.log, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        scopes = q.get("scope", [])
        auth = self.headers.get("Authorization", "")
        user = ""
        status = 200
        if u.path != "/token":
            status = 404
        elif auth:
            try:
                kind, val = auth.split(" ", 1)
                name, _, pw = base64.b64decode(val).decode().partition(":")
            except Exception:
                kind, name, pw = "", "", ""
            if kind.lower() != "basic" or name != A.user or pw != A.password:
                status = 401
            else:
                user = name
        access, granted = [], []
        if status == 200:
            for s in scopes:
                for one in s.split(" "):
                    parts = one.split(":")
                    if len(parts) != 3 or parts[0] != "repository":
                        continue
                    want = [a for a in parts[2].split(",") if a]
                    if user:
                        acts = want
                    elif parts[1].startswith("public/"):
                        acts = [a for a in want if a == "pull"]
                    else:
                        acts = []
                    access.append({"type": "repository", "name": parts[1], "actions": acts})
                    granted.append(parts[1] + ":" + ",".join(acts))
        log(f"GET {u.path} scope={' '.join(scopes) or '-'} auth={'yes' if auth else 'no'} "
            f"status={status} granted={';'.join(granted)}")
        if status == 404:
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
        if status == 401:
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
        tok = make_token(user, q.get("service", [""])[0], access)
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": A.ttl,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def main():
    global A, X5C
    p = argparse.ArgumentParser()
    for o in ("port-file", "log", "cert", "key", "sign-key", "sign-cert", "issuer", "user", "password"):
        p.add_argument("--" + o, required=True)
    p.add_argument("--ttl", type=int, default=300)
    A = p.parse_args()
    der = subprocess.run(["openssl", "x509", "-in", A.sign_cert, "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True).stdout
    X5C = base64.b64encode(der).decode()
    open(A.log, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(A.cert, A.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = A.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, A.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
