#!/usr/bin/python3
"""treecmp.py [options] A B: compare two directory trees, entry by entry.

Compared for every path (the roots themselves are the path "."): type (reg,
dir, symlink, fifo, sock, chr MAJ/MIN, blk MAJ/MIN), the 12 mode bits, uid,
gid, size and sha256 of regular files, symlink targets, xattrs (except
trusted.overlay.* and security.selinux, which belong to the filesystem that
holds the tree, not to the image), mtime in nanoseconds, and the hardlink
structure: paths that share an inode in A must share one in B, as the same
groups.  Symlinks are never followed (A and B themselves may be symlinks to
the trees).  Every difference is printed on its own line; the exit status is
1 when there is any, 2 on a usage error.

Options:
  --no-mtime       do not compare mtimes at all
  --no-dir-mtime   do not compare the mtimes of directories (overlayfs merges
                   and unpackers differ on them once a child was removed)
  --exclude PATH   leave PATH (relative to the roots) and everything below it
                   out; may be repeated
  --ignore-xattr PREFIX  ignore xattrs whose name starts with PREFIX; repeatable
"""
import argparse
import hashlib
import os
import stat
import sys

IGNORED_XATTRS = ("trusted.overlay.", "security.selinux")


def kind(st):
    m = st.st_mode
    if stat.S_ISREG(m):
        return "reg"
    if stat.S_ISDIR(m):
        return "dir"
    if stat.S_ISLNK(m):
        return "symlink"
    if stat.S_ISFIFO(m):
        return "fifo"
    if stat.S_ISSOCK(m):
        return "sock"
    dev = "%d/%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    if stat.S_ISCHR(m):
        return "chr " + dev
    if stat.S_ISBLK(m):
        return "blk " + dev
    return "unknown %o" % stat.S_IFMT(m)


def walk(root, excludes):
    """Map relative path -> lstat result, for root and everything below."""
    out = {".": os.lstat(root)}
    stack = [("", root)]
    while stack:
        rel, path = stack.pop()
        with os.scandir(path) as it:
            for e in it:
                r = rel + e.name if rel == "" else rel + "/" + e.name
                if r in excludes:
                    continue
                st = e.stat(follow_symlinks=False)
                out[r] = st
                if stat.S_ISDIR(st.st_mode):
                    stack.append((r, e.path))
    return out


def xattrs(path, ignore):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    res = {}
    for n in names:
        if n.startswith(ignore):
            continue
        try:
            res[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:
            res[n] = "<error %s>" % e.strerror
    return res


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def show(v):
    if isinstance(v, bytes):
        try:
            s = v.decode()
            if s.isprintable():
                return repr(s)
        except UnicodeDecodeError:
            pass
        return "0x" + v.hex()
    return str(v)


def fmt_ns(ns):
    return "%d.%09d" % divmod(ns, 10**9)


def hardlink_groups(entries):
    by_inode = {}
    for rel, st in entries.items():
        if not stat.S_ISDIR(st.st_mode):
            by_inode.setdefault((st.st_dev, st.st_ino), []).append(rel)
    return {frozenset(g) for g in by_inode.values() if len(g) > 1}


def compare(a, b, opts):
    diffs = []
    ea, eb = walk(a, opts.exclude), walk(b, opts.exclude)
    ignore = IGNORED_XATTRS + tuple(opts.ignore_xattr)
    for rel in sorted(ea.keys() - eb.keys()):
        diffs.append("%s: only in A" % rel)
    for rel in sorted(eb.keys() - ea.keys()):
        diffs.append("%s: only in B" % rel)
    for rel in sorted(ea.keys() & eb.keys()):
        sa, sb = ea[rel], eb[rel]
        pa, pb = os.path.join(a, rel), os.path.join(b, rel)

        def d(what, x, y):
            diffs.append("%s: %s %s != %s" % (rel, what, x, y))
        ka, kb = kind(sa), kind(sb)
        if ka != kb:
            d("type", ka, kb)
            continue
        if stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            d("mode", "%04o" % stat.S_IMODE(sa.st_mode),
              "%04o" % stat.S_IMODE(sb.st_mode))
        if sa.st_uid != sb.st_uid:
            d("uid", sa.st_uid, sb.st_uid)
        if sa.st_gid != sb.st_gid:
            d("gid", sa.st_gid, sb.st_gid)
        if ka == "reg":
            if sa.st_size != sb.st_size:
                d("size", sa.st_size, sb.st_size)
            elif (sa.st_dev, sa.st_ino) != (sb.st_dev, sb.st_ino):
                ha, hb = sha256(pa), sha256(pb)
                if ha != hb:
                    d("sha256", ha[:16], hb[:16])
        elif ka == "symlink":
            ta, tb = os.readlink(pa), os.readlink(pb)
            if ta != tb:
                d("target", repr(ta), repr(tb))
        xa, xb = xattrs(pa, ignore), xattrs(pb, ignore)
        for n in sorted(xa.keys() | xb.keys()):
            if xa.get(n) != xb.get(n):
                d("xattr " + n, show(xa.get(n, "<absent>")),
                  show(xb.get(n, "<absent>")))
        if not opts.no_mtime and not (opts.no_dir_mtime and ka == "dir"):
            if sa.st_mtime_ns != sb.st_mtime_ns:
                d("mtime", fmt_ns(sa.st_mtime_ns), fmt_ns(sb.st_mtime_ns))
    ga, gb = hardlink_groups(ea), hardlink_groups(eb)
    for g in sorted(ga - gb, key=sorted):
        diffs.append("%s: hardlinked together only in A" % " = ".join(sorted(g)))
    for g in sorted(gb - ga, key=sorted):
        diffs.append("%s: hardlinked together only in B" % " = ".join(sorted(g)))
    return diffs


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--no-mtime", action="store_true")
    p.add_argument("--no-dir-mtime", action="store_true")
    p.add_argument("--exclude", action="append", default=[])
    p.add_argument("--ignore-xattr", action="append", default=[])
    opts = p.parse_args()
    opts.exclude = {os.path.normpath(x).lstrip("/") for x in opts.exclude}
    for root in (opts.a, opts.b):
        if not os.path.isdir(root):
            print("treecmp: %s: not a directory" % root, file=sys.stderr)
            return 2
    diffs = compare(os.path.realpath(opts.a), os.path.realpath(opts.b), opts)
    out = sys.stdout
    for line in diffs:
        out.write(line.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") + "\n")
    if diffs:
        print("treecmp: %d difference(s) between %s (A) and %s (B)"
              % (len(diffs), opts.a, opts.b), file=sys.stderr)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
