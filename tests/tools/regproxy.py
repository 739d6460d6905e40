#!/usr/bin/env python3
"""regproxy.py: a misbehaving proxy in front of a test registry (issue 5).

  regproxy.py --port-file F --log L --mode MODE [options]

Listens on 127.0.0.1, on a free port that it writes to F once it listens,
and appends one line per request to L:

  METHOD PATH range=RANGE status=STATUS sent=BYTES auth=yes|no [cut|tampered|slow]

Modes:
  pass     TLS in front of the registry (--cert/--key for minidock's side,
           --ca to check the registry's), requests forwarded one by one
  tamper   as pass, but flips one bit (--offset, from the blob's start) of
           GET bodies whose path contains --match
  cut      as pass, but the first GET whose path contains --match gets its
           full head and only --after bytes of body, then the TCP
           connection is torn down (no TLS close_notify); later requests
           are served in full
  slow     as pass, but bodies of GETs whose path contains --match are sent
           at about --rate bytes per second
  connect  a plain HTTP CONNECT proxy (HTTPS_PROXY); logs "CONNECT HOST:PORT"

In the TLS modes, --redirect-to BASE answers GETs whose path contains
--match with "307 Location: BASE+PATH" (blob storage on another host;
only requests with credentials, the others go to the registry), and
--inject-auth USER:PASS sends the registry these credentials whatever the
client sent (as a pre-signed URL would be accepted).  The log's auth=yes|no
tells whether the client sent an Authorization header.

Only loopback is ever contacted: --upstream must be localhost:PORT or
127.0.0.1:PORT.
"""
import argparse
import base64
import http.client
import os
import select
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = None
LOG_LOCK = threading.Lock()
CUT_DONE = threading.Event()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


def log(line):
    with LOG_LOCK:
        with open(A.log, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        auth = "auth=yes" if self.headers.get("Authorization") else "auth=no"
        rng = self.headers.get("Range", "-")
        if (A.redirect_to and self.command == "GET" and A.match and A.match in self.path and
                self.headers.get("Authorization")):
            self.send_response_only(307, "Temporary Redirect")
            self.send_header("Location", A.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.wfile.flush()
            log(f"{self.command} {self.path} range={rng} status=307 sent=0 {auth}")
            return
        if A.inject_auth:
            hdrs = {k: v for k, v in hdrs.items() if k.lower() != "authorization"}
            hdrs["Authorization"] = "Basic " + base64.b64encode(A.inject_auth.encode()).decode()
        host, port = A.upstream.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=A.ca)
        up = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=60)
        # the client's Host header goes through (http.client then adds none)
        up.request(self.command, self.path, body=body, headers=hdrs)
        r = up.getresponse()
        data = b"" if self.command == "HEAD" else r.read()
        clen = r.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        match = self.command == "GET" and A.match and A.match in self.path and r.status in (200, 206)
        note = ""
        start = 0
        cr = r.getheader("Content-Range")  # "bytes START-END/TOTAL"
        if cr and cr.startswith("bytes ") and "-" in cr:
            start = int(cr[6:].split("-", 1)[0])
        if match and A.mode == "tamper" and start <= A.offset < start + len(data):
            i = A.offset - start
            data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
            note = " tampered"
        cut = match and A.mode == "cut" and r.status == 200 and not CUT_DONE.is_set()
        self.send_response_only(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if clen is not None:
            self.send_header("Content-Length", clen)
        self.end_headers()
        up.close()
        if cut:
            CUT_DONE.set()
            self.wfile.write(data[:A.after])
            self.wfile.flush()
            log(f"{self.command} {self.path} range={rng} status={r.status} sent={min(A.after, len(data))} {auth} cut")
            # tear the TCP connection down under TLS: no close_notify
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
            self.close_connection = True
            return
        if match and A.mode == "slow":
            step = 8192
            for i in range(0, len(data), step):
                self.wfile.write(data[i:i + step])
                self.wfile.flush()
                time.sleep(step / A.rate)
            note = " slow"
        else:
            self.wfile.write(data)
        self.wfile.flush()
        log(f"{self.command} {self.path} range={rng} status={r.status} sent={len(data)} {auth}{note}")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


def serve_connect(lsock):
    def pump(c):
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            head, rest = buf.split(b"\r\n\r\n", 1)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            log(line.rsplit(" ", 1)[0])
            meth, target = line.split(" ")[:2]
            host, port = target.rsplit(":", 1)
            if meth != "CONNECT" or host not in ("localhost", "127.0.0.1"):
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            u = socket.create_connection((host, int(port)))
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                u.sendall(rest)
            socks = [c, u]
            while True:
                rd, _, _ = select.select(socks, [], [], 60)
                if not rd:
                    return
                for s in rd:
                    d = s.recv(65536)
                    if not d:
                        return
                    (u if s is c else c).sendall(d)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = lsock.accept()
        threading.Thread(target=pump, args=(c,), daemon=True).start()


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--mode", default="pass", choices=["pass", "tamper", "cut", "slow", "connect"])
    p.add_argument("--upstream")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--match", default="")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--after", type=int, default=65536)
    p.add_argument("--rate", type=int, default=256 * 1024)
    p.add_argument("--redirect-to", default="")
    p.add_argument("--inject-auth", default="")
    A = p.parse_args()
    open(A.log, "a").close()
    if A.mode == "connect":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        port = ls.getsockname()[1]
    else:
        if not A.upstream or A.upstream.rsplit(":", 1)[0] not in ("localhost", "127.0.0.1"):
            sys.exit("regproxy: --upstream must be localhost:PORT")
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(A.cert, A.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        port = srv.server_address[1]
    tmp = A.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, A.port_file)
    if A.mode == "connect":
        serve_connect(ls)
    else:
        srv.serve_forever()


if __name__ == "__main__":
    main()
