#!/usr/bin/python3
"""hostile.py OUTDIR: write the hostile-layer corpus for tests/integration/11-hostile.sh.

One docker-archive per case, OUTDIR/NAME.tar: manifest.json, a config whose
rootfs.diff_ids match the layers (so only the named flaw is wrong), and the
layer tars, tagged hostile/NAME:latest.  Each hostile layer first holds a few
harmless files, so a half-unpacked layer that was not cleaned up shows.
Path and link cases come twice: NAME.tar with a plain tar layer and
NAME-gz.tar with a gzip one.

OUTDIR/cases.tsv has one line per archive:
    NAME <TAB> EXPECTED <TAB> DESCRIPTION
EXPECTED is what the load must do:
    OK          load succeeds
    ANY         success or a clean failure are both fine (semantics differ
                between engines), but nothing outside the store may change
    *           fail, with any one-line message
    A|B|...     fail, and stderr contains A or B or ... (the offending
                entry's path; for a hardlink, its name or its target)
Case names start with their rule group: path-, symlink-, hardlink-,
whiteout-, device-, control-, corrupt-.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MTIME = 1577836800  # 2020-01-01


def entry(name, typ=tarfile.REGTYPE, data=b"", mode=None, link="", dev=(0, 0),
          size=None):
    ti = tarfile.TarInfo(name)
    ti.type = typ
    ti.mtime = MTIME
    ti.uname = ti.gname = ""
    ti.mode = mode if mode is not None else (0o755 if typ == tarfile.DIRTYPE else 0o644)
    ti.linkname = link
    ti.devmajor, ti.devminor = dev
    ti.size = len(data) if size is None else size
    return ti, data


def reg(name, data=b"x\n", mode=0o644):
    return entry(name, data=data, mode=mode)


def dir_(name, mode=0o755):
    return entry(name, tarfile.DIRTYPE, mode=mode)


def sym(name, target):
    return entry(name, tarfile.SYMTYPE, link=target, mode=0o777)


def hard(name, target):
    return entry(name, tarfile.LNKTYPE, link=target)


def chr_(name, major, minor):
    return entry(name, tarfile.CHRTYPE, dev=(major, minor), mode=0o600)


def blk(name, major, minor):
    return entry(name, tarfile.BLKTYPE, dev=(major, minor), mode=0o600)


HARMLESS = [dir_("harmless"), reg("harmless/a", b"a\n"),
            reg("harmless/b", bytes(range(256)) * 40)]


def layer_tar(entries, harmless=True):
    """The bytes of an uncompressed tar holding entries, verbatim."""
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    for ti, data in (HARMLESS if harmless else []) + entries:
        t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    t.close()
    return buf.getvalue()


def raw_entry(ti, data):
    """One tar member: header blocks and data padded to 512 bytes."""
    pad = (512 - len(data) % 512) % 512
    return ti.tobuf(tarfile.PAX_FORMAT) + data + b"\0" * pad


def sha(b):
    return hashlib.sha256(b).hexdigest()


def docker_archive(path, name, layers, gz=False, diff_ids=None, manifest=None,
                   drop=(), truncate_at=None):
    """Write a docker-archive.  layers: uncompressed layer tars.  diff_ids
    overrides the config's; manifest overrides manifest.json's bytes; drop
    leaves those members out; truncate_at cuts the whole archive."""
    files = []
    layer_paths = []
    for l in layers:
        blob = gzip.compress(l, mtime=0) if gz else l
        p = "%s/layer.tar" % sha(blob)
        layer_paths.append(p)
        files.append((p, blob))
    config = {
        "architecture": "amd64", "os": "linux", "created": "2020-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers",
                   "diff_ids": diff_ids or ["sha256:" + sha(l) for l in layers]},
        "history": [{"created": "2020-01-01T00:00:00Z",
                     "created_by": "hostile.py " + name}] * len(layers),
    }
    cfg = json.dumps(config).encode()
    cfg_name = sha(cfg) + ".json"
    files.append((cfg_name, cfg))
    if manifest is None:
        manifest = json.dumps([{"Config": cfg_name,
                                "RepoTags": ["hostile/%s:latest" % name],
                                "Layers": layer_paths}]).encode()
    files.append(("manifest.json", manifest))
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    for p, data in files:
        if p in drop:
            continue
        ti = tarfile.TarInfo(p)
        ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
        t.addfile(ti, io.BytesIO(data))
    t.close()
    out = buf.getvalue()
    if truncate_at is not None:
        out = out[:truncate_at(out)]
    with open(path, "wb") as f:
        f.write(out)
    return layer_paths


# (name, expected, description, layer entries)
PATH_CASES = [
    ("path-absolute", "/etc/evil", "absolute entry path",
     [reg("/etc/evil")]),
    ("path-dotdot", "../evil", "entry path starting with ..",
     [reg("../evil")]),
    ("path-dotdot-inner", "a/../../evil", ".. in the middle climbing out",
     [dir_("a"), reg("a/../../evil")]),
    ("symlink-abs-then-file", "link/evil",
     "file through a symlink to an absolute dir made earlier in the layer",
     [sym("link", "/tmp"), reg("link/evil")]),
    ("symlink-up-then-file", "up/evil",
     "file through a symlink to .. made earlier in the layer",
     [sym("up", ".."), reg("up/evil")]),
    ("symlink-abs-then-hardlink", "sl/evil",
     "hardlink created through a symlink to an absolute dir",
     [sym("sl", "/tmp"), hard("sl/evil", "harmless/a")]),
    ("symlink-up-then-dir", "up/evildir",
     "directory through a symlink to ..",
     [sym("up", ".."), dir_("up/evildir")]),
    ("hardlink-target-dotdot", "evil-hl|../../etc/passwd",
     "hardlink whose target climbs out",
     [hard("evil-hl", "../../etc/passwd")]),
    ("hardlink-target-abs", "evil-hl|/etc/passwd",
     "hardlink to an absolute target",
     [hard("evil-hl", "/etc/passwd")]),
    ("hardlink-target-via-symlink", "evil-hl|sl/passwd",
     "hardlink whose target goes through a symlink",
     [sym("sl", "/etc"), hard("evil-hl", "sl/passwd")]),
    ("hardlink-target-missing", "evil-hl|no-such-file",
     "hardlink to a target that is not in the layer",
     [hard("evil-hl", "no-such-file")]),
    ("whiteout-dotdot", ".wh...", "whiteout of .. at the top",
     [reg(".wh...", b"")]),
    ("whiteout-dotdot-inner", "a/.wh...", "whiteout of .. in a dir",
     [dir_("a"), reg("a/.wh...", b"")]),
    ("whiteout-outside", "../.wh.x", "whiteout entry outside the layer",
     [reg("../.wh.x", b"")]),
    ("whiteout-dot", ".wh..", "whiteout of . (the root itself)",
     [reg(".wh..", b"")]),
    ("device-block", "dev/sda", "block device node",
     [dir_("dev"), blk("dev/sda", 8, 0)]),
    ("device-char", "dev/mem", "character device that is not 0/0",
     [dir_("dev"), chr_("dev/mem", 1, 1)]),
    ("control-dangling-abs-symlink", "OK",
     "symlink to /etc/passwd: symlinks are data, only following them is refused",
     [dir_("etc"), sym("etc/passwd-link", "/etc/passwd")]),
    ("control-dotdot-prefix-name", "OK", "a file named ..foo",
     [reg("..foo"), reg("harmless/..bar")]),
    ("control-dot-components", "OK", "path ./a/./b",
     [dir_("./a"), reg("./a/./b")]),
    ("control-whiteout-device", "OK", "char device 0/0 (an overlay whiteout)",
     [chr_("gone", 0, 0)]),
    ("control-file-replaces-symlink", "OK",
     "regular file replacing a symlink to /tmp/evil: must not write through it",
     [sym("link", "/tmp/evil"), reg("link", b"replaced\n")]),
    ("control-symlink-up", "OK", "symlink to .. that nothing goes through",
     [sym("up", "..")]),
]


def main():
    out = sys.argv[1] if len(sys.argv) == 2 else sys.exit(__doc__)
    os.makedirs(out, exist_ok=True)
    rows = []

    def case(name, expected, desc, **kw):
        docker_archive(os.path.join(out, name + ".tar"), name, **kw)
        rows.append((name, expected, desc))

    for name, expected, desc, entries in PATH_CASES:
        layer = layer_tar(entries)
        case(name, expected, desc, layers=[layer])
        case(name + "-gz", expected, desc + " (gzip layer)", layers=[layer], gz=True)

    # Across layers: the symlink in layer 1, the entry through it in layer
    # 2.  Engines that unpack each layer into its own directory never follow
    # it (the entry then makes a directory "link" that hides the symlink), so
    # both outcomes are fine as long as nothing outside changes.
    case("symlink-lower-layer", "ANY",
         "symlink to /tmp in layer 1, link/evil in layer 2",
         layers=[layer_tar([sym("link", "/tmp")]),
                 layer_tar([reg("link/evil")], harmless=False)])

    # ---- corrupt archives: any clean one-line failure will do
    big = bytes(range(256)) * 400
    good = layer_tar([reg("big", big)])
    case("corrupt-truncated-layer", "*", "layer tar cut in the middle of a file",
         layers=[good[:len(good) - 4096 - len(big) // 2]],
         diff_ids=["sha256:" + sha(good)])
    case("corrupt-truncated-archive", "*", "archive cut in the middle of the layer",
         layers=[good], truncate_at=lambda b: b.find(b"harmless/b") + 20000)
    case("corrupt-diffid-mismatch", "*", "config diff_ids do not match the layer",
         layers=[good], diff_ids=["sha256:" + sha(b"something else")])
    # a gzip member header, then bytes that are no deflate stream
    garbage = gzip.compress(b"", mtime=0)[:10] + hashlib.sha256(b"g").digest() * 64
    case("corrupt-gzip-garbage", "*", "gzip header followed by garbage",
         layers=[garbage])
    case("corrupt-missing-layer", "*", "manifest.json names a layer file that is absent",
         layers=[good], drop=("%s/layer.tar" % sha(good),))
    case("corrupt-manifest-not-json", "*", "manifest.json is not JSON",
         layers=[good], manifest=b"this is { not json\n")
    case("corrupt-deep-json", "*", "manifest.json is 100000 nested arrays",
         layers=[good], manifest=b"[" * 100000)
    case("corrupt-manifest-empty-list", "*", "manifest.json is []",
         layers=[good], manifest=b"[]")
    # the harmless entries, then the header of "huge" and the end of the file
    huge = b"".join(raw_entry(ti, data) for ti, data in HARMLESS)
    huge += entry("huge", size=2 * 1024 ** 3)[0].tobuf(tarfile.PAX_FORMAT)
    case("corrupt-huge-size", "*", "tar header declaring 2 GiB with no data after it",
         layers=[huge])
    with open(os.path.join(out, "corrupt-empty.tar"), "wb"):
        pass
    rows.append(("corrupt-empty", "*", "empty file"))
    with open(os.path.join(out, "corrupt-not-tar.tar"), "wb") as f:
        f.write(hashlib.sha256(b"n").digest() * 300)
    rows.append(("corrupt-not-tar", "*", "random bytes"))

    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")
    print("hostile.py: %d cases in %s" % (len(rows), out))


if __name__ == "__main__":
    main()
