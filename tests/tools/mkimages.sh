#!/usr/bin/env bash
# mkimages.sh OUTDIR: build the image fixtures of the integration tests with
# tools that minidock's authors did not write (umoci, skopeo, GNU tar,
# Debian's busybox-static), so that a bug shared by minidock's writer and its
# reader cannot hide.  Needs root (ownership, setuid, security.capability).
#
# Debian packages: umoci skopeo attr libcap2-bin zstd busybox-static jq
#
# The result is cached: OUTDIR/.done holds this script's sha256 and a run
# with an unchanged script does nothing.  A build goes to OUTDIR.new and is
# renamed into place, so a killed build never leaves a half fixture set.
#
# What OUTDIR holds (all images are linux/amd64):
#   oci/                    OCI layout, tag "multi": 3 layers, see below
#   multi-oci.tar           oci/ tarred: an OCI image layout archive (gzip layers)
#   multi-zstd-oci.tar      same image, zstd layers (skopeo --dest-compress-format)
#   multi-uncompressed-oci.tar  same image, plain tar layers (rewritten in Python)
#   multi-docker.tar        skopeo docker-archive of multi, tag test/multi:latest
#   oci-child/ child-oci.tar child-docker.tar  image "child" = multi's layers 1-2
#                           plus its own layer 3 (tag test/child:latest)
#   both-oci.tar            one index.json, both images, ref.name test/multi:latest
#                           and test/child:latest
#   nested-oci.tar          index.json -> image index blob -> manifest, per image
#   bundle/rootfs (= rootfs-umoci)  umoci's own unpack of multi, the reference tree
#   bundle-child/rootfs (= rootfs-child-umoci)  the same for child
#   busybox-rootfs.tar      /bin/busybox and its applet symlinks, for import
#   info.env                shell variables: image IDs, diff_ids, layer counts
#
# Layer 1 of multi: dirs, files of several sizes (empty, 3 MiB), 0600 file
# owned 1000:1000, setuid and setgid, sticky dir, relative/absolute/dangling
# symlinks, two hardlinks, a FIFO, user.* and security.capability xattrs, old
# fixed mtimes, a >100 byte path and symlink target, a UTF-8 name.
# Layer 2 (umoci repack): deletes a file and a directory (whiteouts), modifies
# a file, chmods a file, adds files and a hardlink pair, replaces a file by a
# directory.  (Not a directory by a file: umoci 0.4.7 then writes the file
# "old" followed by the whiteout "old/.wh.dir", which containers/storage
# refuses with "unlinkat /old/dir: not a directory".)
# Layer 3 (Python tarfile + umoci raw add-layer, since umoci repack never
# writes opaque whiteouts): an opaque directory and a single file whiteout.
set -eu -o pipefail

OUT=${1:?usage: mkimages.sh OUTDIR}
OUT=$(realpath -m "$OUT")
SELF=$(realpath "$0")
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
HASH=$(sha256sum "$SELF" | cut -d' ' -f1)

if [ -f "$OUT/.done" ] && [ "$(cat "$OUT/.done")" = "$HASH" ]; then
    exit 0
fi

# Exit 77 (the harness's "skip") when a tool is missing, naming the package.
missing=
for t in umoci:umoci skopeo:skopeo setfattr:attr getfattr:attr setcap:libcap2-bin \
         zstd:zstd jq:jq; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
    missing="$missing busybox-static"
fi
"$PY" -c 'import random; random.randbytes' 2>/dev/null || missing="$missing python3(>=3.9)"
if [ -n "$missing" ]; then
    echo "mkimages: missing tools; apt-get install$missing" >&2
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "mkimages: must run as root (ownership, setuid, capabilities)" >&2
    exit 77
fi

mkdir -p "$(dirname "$OUT")"
exec 9>"$OUT.lock"
flock 9
# Another run may have finished the job while we waited for the lock.
if [ -f "$OUT/.done" ] && [ "$(cat "$OUT/.done")" = "$HASH" ]; then
    exit 0
fi

S=$OUT.new
rm -rf "$S"
mkdir -p "$S"
cd "$S"

log() { echo "mkimages: $*" >&2; }

# Fixed timestamps keep the fixtures the same from one build to the next.
T1=2020-01-01T00:00:00Z
T2=2021-06-01T12:00:00Z
T3=2022-03-03T03:03:03Z
CREATED=2020-01-01T00:00:00Z

# touch_new STAMP DIR TIME: give everything changed after STAMP a fixed mtime.
touch_new() {
    find "$2" -newer "$1" -print0 | xargs -0 -r touch -h -d "$3"
}

# umoci's "unpack, change the rootfs, repack" cycle.
unpack() { umoci --log error unpack --image "$1" "$2" >/dev/null; }
repack() {
    local img=$1 bundle=$2 what=$3 when=$4
    umoci --log error repack --history.created "$when" \
        --history.created_by "mkimages: $what" --image "$img" "$bundle"
    rm -rf "$bundle"
}

log "building OCI layout with umoci"
umoci --log error init --layout work
umoci --log error new --image work:multi
umoci --log error config --image work:multi --created "$CREATED" \
    --history.created "$CREATED" --history.created_by "mkimages: umoci new" \
    --architecture amd64 --os linux

# ---- layer 1: the base tree
unpack work:multi b1
R=b1/rootfs
touch -d "$T1" stamp1
mkdir -p "$R"/etc "$R"/usr/bin "$R"/data/sub "$R"/gone/deep/deeper "$R"/opq/sub \
    "$R"/old/dir "$R"/long "$R"/tmp "$R"/shared
printf 'multi\n' >"$R"/etc/hostname
printf 'NAME=fixture\nID=fixture\n' >"$R"/etc/os-release
printf 'first motd\n' >"$R"/etc/motd
: >"$R"/empty
: >"$R"/etc/empty.conf
"$PY" -c 'import random,sys; random.seed(1); sys.stdout.buffer.write(random.randbytes(3*1024*1024))' >"$R"/data/big
"$PY" -c 'import sys; sys.stdout.buffer.write(bytes(range(256))*256)' >"$R"/data/medium
printf 'private\n' >"$R"/data/priv
chown 1000:1000 "$R"/data/priv
chmod 0600 "$R"/data/priv
printf 'will become a directory\n' >"$R"/data/replaced
ln -s ../etc/hostname "$R"/data/rel
ln -s does-not-exist "$R"/data/dangling
ln -s /etc/hostname "$R"/data/abs
printf 'linked\n' >"$R"/data/hl1
ln "$R"/data/hl1 "$R"/data/sub/hl2
mkfifo "$R"/data/fifo
printf 'has xattr\n' >"$R"/data/xattr
setfattr -n user.test -v hello "$R"/data/xattr
printf '#!/bin/sh\necho suid\n' >"$R"/usr/bin/suid
chmod 4755 "$R"/usr/bin/suid
printf '#!/bin/sh\necho cap\n' >"$R"/usr/bin/ping
chmod 0755 "$R"/usr/bin/ping
setcap cap_net_raw+ep "$R"/usr/bin/ping
chown 0:50 "$R"/shared
chmod 2775 "$R"/shared
printf 'group file\n' >"$R"/shared/file
chmod 1777 "$R"/tmp
printf 'x\n' >"$R"/gone/deep/deeper/f
printf 'g\n' >"$R"/gone/g
printf 'a\n' >"$R"/opq/a
printf 'c\n' >"$R"/opq/sub/c
printf 'old\n' >"$R"/old/dir/file
LONG=$(printf 'x%.0s' $(seq 1 120))
printf 'long name\n' >"$R/long/$LONG"
ln -s "../long/$LONG" "$R"/data/longlink
printf 'utf-8\n' >"$R/data/ünïcödé"
printf 'space\n' >"$R/data/with space"
touch_new stamp1 "$R" "$T1"
touch -d '2001-02-03 04:05:06' "$R"/etc/hostname
touch -d '1999-12-31 23:59:59' "$R"/old/dir/file "$R"/old/dir "$R"/old
touch -h -d '2005-05-05 05:05:05' "$R"/data/rel
repack work:multi b1 "layer 1 base tree" "$T1"

# ---- layer 2: deletions, modifications, replacements
unpack work:multi b2
R=b2/rootfs
touch -d "$T1" stamp2
sleep 0.01
rm "$R"/empty
rm -r "$R"/gone
printf 'second motd, longer than the first\n' >"$R"/etc/motd
chmod 0640 "$R"/etc/os-release
printf 'new\n' >"$R"/etc/new
ln "$R"/etc/new "$R"/etc/new-link
printf '#!/bin/sh\necho tool\n' >"$R"/usr/bin/tool
chmod 0755 "$R"/usr/bin/tool
rm "$R"/data/replaced
mkdir "$R"/data/replaced
printf 'inside\n' >"$R"/data/replaced/inside
touch_new stamp2 "$R" "$T2"
repack work:multi b2 "layer 2 changes" "$T2"

# ---- child: multi's first two layers plus a layer of its own
umoci --log error tag --image work:multi child
unpack work:child bc
R=bc/rootfs
touch -d "$T1" stampc
sleep 0.01
printf 'child\n' >"$R"/etc/hostname
mkdir "$R"/child
printf 'hello from child\n' >"$R"/child/hello
touch_new stampc "$R" "$T3"
repack work:child bc "child layer" "$T3"
umoci --log error config --image work:child --history.created "$T3" \
    --history.created_by "mkimages: child config" \
    --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo child' \
    --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    --config.label org.example.fixture=child

# ---- layer 3 of multi: opaque directory, written by hand
"$PY" - <<'EOF'
import io, tarfile, calendar, time
mt = calendar.timegm(time.strptime("2022-02-02", "%Y-%m-%d"))
t = tarfile.open("layer3.tar", "w", format=tarfile.PAX_FORMAT)
def add(name, typ=tarfile.REGTYPE, data=b"", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uname, ti.gname = typ, mode, mt, "", ""
    if typ == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)
add("opq", tarfile.DIRTYPE, mode=0o750)
add("opq/.wh..wh..opq", mode=0o600)
add("opq/new", data=b"new in opaque dir\n")
add("data", tarfile.DIRTYPE, mode=0o755)
add("data/.wh.medium", mode=0o600)
t.close()
EOF
umoci --log error raw add-layer --history.created "2022-02-02T00:00:00Z" \
    --history.created_by "mkimages: layer 3 opaque dir (python tarfile)" \
    --image work:multi layer3.tar
umoci --log error config --image work:multi --history.created "2022-02-02T00:00:00Z" \
    --history.created_by "mkimages: multi config" \
    --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo hello' \
    --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.env FOO=bar \
    --config.workingdir /data --config.label org.example.fixture=multi \
    --author mkimages
rm -f stamp1 stamp2 stampc layer3.tar

# ---- one layout per image
cp -a work oci
umoci --log error rm --image oci:child
umoci --log error gc --layout oci
cp -a work oci-child
umoci --log error rm --image oci-child:multi
umoci --log error gc --layout oci-child
tar -C oci -cf multi-oci.tar .
tar -C oci-child -cf child-oci.tar .

log "converting with skopeo"
sk() { skopeo --insecure-policy copy -q "$@"; }
sk oci:oci:multi docker-archive:multi-docker.tar:test/multi:latest
sk oci:oci-child:child docker-archive:child-docker.tar:test/child:latest
sk --dest-compress --dest-compress-format zstd oci:oci:multi oci:oci-zstd:multi
tar -C oci-zstd -cf multi-zstd-oci.tar .

# ---- both images in one layout, flat and nested, written with Python
log "writing multi-image and nested-index layouts"
"$PY" - <<'EOF'
import hashlib, json, os, shutil
def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
    with open(f"{layout}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
def ann(name):
    return {"org.opencontainers.image.ref.name": name,
            "io.containerd.image.name": "docker.io/" + name}
work = json.load(open("work/index.json"))
by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in work["manifests"]}
names = {"multi": "test/multi:latest", "child": "test/child:latest"}
for layout in ("oci-both", "oci-nested"):
    shutil.copytree("work/blobs", f"{layout}/blobs")
    shutil.copy("work/oci-layout", layout)
flat = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": []}
nested = dict(flat, manifests=[])
for tag in ("multi", "child"):
    m = dict(by_tag[tag])
    m["annotations"] = ann(names[tag])
    flat["manifests"].append(m)
    inner = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": m["mediaType"], "digest": m["digest"],
                            "size": m["size"],
                            "platform": {"architecture": "amd64", "os": "linux"}}]}
    d = blob("oci-nested", json.dumps(inner, indent=2).encode())
    nested["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
                                **d, "annotations": ann(names[tag])})
json.dump(flat, open("oci-both/index.json", "w"), indent=2)
json.dump(nested, open("oci-nested/index.json", "w"), indent=2)

# Uncompressed layers: skopeo 1.9.3's --dest-decompress leaves an OCI
# destination gzip-compressed, so decompress the blobs here and rewrite the
# manifest (the config, so the image ID, stays the same).
import gzip
src = "oci"
idx = json.load(open(f"{src}/index.json"))
desc = idx["manifests"][0]
man = json.load(open(f"{src}/blobs/sha256/{desc['digest'][7:]}", "rb"))
shutil.copytree(f"{src}/blobs", "oci-uncompressed/blobs")
shutil.copy(f"{src}/oci-layout", "oci-uncompressed")
for l in man["layers"]:
    data = gzip.decompress(open(f"{src}/blobs/sha256/{l['digest'][7:]}", "rb").read())
    os.unlink(f"oci-uncompressed/blobs/sha256/{l['digest'][7:]}")
    l.update(blob("oci-uncompressed", data))
    l["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
os.unlink(f"oci-uncompressed/blobs/sha256/{desc['digest'][7:]}")
desc.update(blob("oci-uncompressed", json.dumps(man, indent=2).encode()))
json.dump(idx, open("oci-uncompressed/index.json", "w"), indent=2)
EOF
tar -C oci-both -cf both-oci.tar .
tar -C oci-uncompressed -cf multi-uncompressed-oci.tar .
tar -C oci-nested -cf nested-oci.tar .
rm -rf work oci-both oci-nested

log "unpacking the reference trees with umoci"
umoci --log error unpack --image oci:multi bundle >/dev/null
umoci --log error unpack --image oci-child:child bundle-child >/dev/null
ln -s bundle/rootfs rootfs-umoci
ln -s bundle-child/rootfs rootfs-child-umoci

log "busybox rootfs tarball"
mkdir -p bb/bin
cp "$BUSYBOX" bb/bin/busybox
for a in $("$BUSYBOX" --list-full); do
    [ "$a" = bin/busybox ] && continue
    mkdir -p "bb/$(dirname "$a")"
    ln -sf /bin/busybox "bb/$a"
done
find bb -print0 | xargs -0 touch -h -d "$T1"
tar -C bb --sort=name --numeric-owner --owner=0 --group=0 -cf busybox-rootfs.tar .
rm -rf bb

# ---- facts the tests compare against
manifest_of() {   # LAYOUT TAG -> manifest blob path
    local d
    d=$(jq -r --arg t "$2" '.manifests[] |
        select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
        "$1/index.json")
    echo "$1/blobs/sha256/${d#sha256:}"
}
{
    for img in multi:oci child:oci-child; do
        tag=${img%%:*} layout=${img#*:}
        m=$(manifest_of "$layout" "$tag")
        cfg=$(jq -r .config.digest "$m")
        c=$layout/blobs/sha256/${cfg#sha256:}
        # the image ID is the sha256 of the config blob's bytes
        echo "${tag^^}_ID=sha256:$(sha256sum "$c" | cut -d' ' -f1)"
        echo "${tag^^}_DIFF_IDS='$(jq -c .rootfs.diff_ids "$c")'"
        echo "${tag^^}_NLAYERS=$(jq '.rootfs.diff_ids | length' "$c")"
        echo "${tag^^}_NHISTORY=$(jq '.history | length' "$c")"
    done
    echo "ZSTD_ID=$(jq -r .config.digest "$(manifest_of oci-zstd multi)")"
    echo "UNCOMPRESSED_ID=$(jq -r .config.digest "$(manifest_of oci-uncompressed multi)")"
    echo "DOCKER_MULTI_ID=sha256:$(tar -xOf multi-docker.tar manifest.json | jq -r '.[0].Config' | sed 's/\.json$//')"
    echo "BUSYBOX_TAR_SHA=sha256:$(sha256sum busybox-rootfs.tar | cut -d' ' -f1)"
} >info.env

echo "$HASH" >.done
cd /
rm -rf "$OUT"
mv "$S" "$OUT"

# shellcheck disable=SC1091
. "$OUT/info.env"
echo "mkimages: fixtures in $OUT"
echo "  multi  $MULTI_ID  $MULTI_NLAYERS layers (gzip/zstd/uncompressed OCI, docker-archive)"
echo "  child  $CHILD_ID  $CHILD_NLAYERS layers, shares 2 with multi"
echo "  docker-archive multi $DOCKER_MULTI_ID"
echo "  busybox-rootfs.tar $(du -h "$OUT/busybox-rootfs.tar" | cut -f1)"
