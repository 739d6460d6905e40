#!/usr/bin/python3
"""mkimage.py [--file PATH=TEXT]... OUT.tar REF PLATFORM=BUSYBOX [PLATFORM=BUSYBOX...]

Write an OCI image layout archive holding one multi-platform image REF
(e.g. test/bb:latest): index.json names a nested image index, which lists
one manifest per PLATFORM (linux/arm64, linux/arm/v7, linux/mipsel, ...),
each a single gzip layer with BUSYBOX (a static busybox of that platform)
as /bin/busybox, a symlink per applet, /etc/passwd, /etc/group, /tmp, /root,
and for each --file a file PATH (relative, in one of the layer's directories:
etc/app-version) holding TEXT and a newline, so that two images can differ
(tests/boards/powercut.sh).
The applet list is the build machine's `busybox --list-full` (Debian builds
busybox-static with one configuration for every architecture).

Everything is deterministic (fixed mtimes, sorted entries, gzip mtime 0), so
the same inputs give the same digests. Written without skopeo or umoci,
which make single-platform images only from a rootfs.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MTIME = 1700000000


def applets():
    out = subprocess.run(["busybox", "--list-full"], check=True, capture_output=True, text=True).stdout
    return sorted(set(a for a in out.split() if a and not a.endswith("/busybox")))


def layer(busybox, files=()):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, typ=tarfile.DIRTYPE, mode=0o755, data=b"", link=""):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime, ti.linkname = typ, mode, MTIME, link
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            if typ == tarfile.REGTYPE:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
        dirs = set(["bin", "etc", "root", "tmp", "usr", "usr/bin", "usr/sbin", "sbin", "var", "www"])
        for d in sorted(dirs):
            add(d, mode=0o1777 if d == "tmp" else 0o700 if d == "root" else 0o755)
        with open(busybox, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, f.read())
        for a in applets():
            a = a.lstrip("/")
            if a in ("bin/busybox",) or os.path.dirname(a) not in dirs:
                continue
            link = "busybox" if a.startswith("bin/") else "../" * a.count("/") + "bin/busybox"
            add(a, tarfile.SYMTYPE, 0o777, link=link)
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
        add("www/index.html", tarfile.REGTYPE, 0o644, b"hello from the container\n")
        for name, text in files:
            add(name, tarfile.REGTYPE, 0o644, text.encode() + b"\n")
    raw = buf.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(raw)
    return raw, gz.getvalue()


def main():
    args, files = sys.argv[1:], []
    while len(args) >= 2 and args[0] == "--file" and "=" in args[1]:
        files.append(tuple(args[1].split("=", 1)))
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    out, ref = args[0], args[1]
    blobs = {}

    def blob(data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return d, len(data)

    manifests = []
    for spec in args[2:]:
        plat, bb = spec.split("=", 1)
        parts = plat.split("/")
        p = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            p["variant"] = parts[2]
        raw, gz = layer(bb, files)
        ld, ls = blob(gz)
        cfg = dict(p, created="2023-11-14T22:13:20Z",
                   config={"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
                   rootfs={"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
                   history=[{"created": "2023-11-14T22:13:20Z", "created_by": "tests/boards/mkimage.py " + plat}])
        cd, cs = blob(json.dumps(cfg, sort_keys=True).encode())
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls}]}
        md, ms = blob(json.dumps(man, sort_keys=True).encode())
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                          "platform": p})
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    xd, xs = blob(json.dumps(idx, sort_keys=True).encode())
    top = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": xd, "size": xs,
                          "annotations": {"org.opencontainers.image.ref.name": ref}}]}
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps(top, sort_keys=True).encode()}
    for d, data in blobs.items():
        files["blobs/sha256/" + d.split(":", 1)[1]] = data
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
            t.addfile(ti)
        for name in sorted(files):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(files[name]), 0o644, MTIME
            t.addfile(ti, io.BytesIO(files[name]))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
