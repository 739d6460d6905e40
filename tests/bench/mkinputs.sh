#!/usr/bin/env bash
# mkinputs.sh OUTDIR: build the benchmark images of tests/bench/run.sh with
# umoci (not with minidock), from Debian's own files.  Needs root.
#
#   large/oci/, large-oci.tar   OCI layout (tag "large") and its archive: a
#                               Debian minbase root filesystem made by
#                               debootstrap from the mirror in apt's sources,
#                               apt lists, caches and /dev nodes removed, in
#                               3 gzip layers:
#                                 1: usr/lib*, usr/libexec and the /lib* links
#                                 2: the rest of usr/
#                                 3: etc, var and the other top directories,
#                                    and deletes 20 files of layers 1-2
#                                    (20 whiteouts)
#                               When debootstrap cannot fetch, the same split
#                               is made of this machine's /usr/lib/x86_64-linux-gnu,
#                               /usr/bin, /usr/share/perl and /etc.
#   small/oci/, small-oci.tar   1 gzip layer: /bin/busybox (busybox-static)
#                               and its applet symlinks
#   info.env                    SOURCE, per image: layer blob paths, sizes,
#                               file counts, image ID
#
# The result is cached: OUTDIR/.done holds this script's sha256; a run with an
# unchanged script does nothing.  A build goes to OUTDIR.new and is renamed
# into place.  With MKINPUTS_TRASH=DIR (on the same filesystem) the work
# trees are moved there instead of removed, so that the caller can remove
# them after its measurements (see "settle" in tests/bench/run.sh).
set -eu -o pipefail

OUT=${1:?usage: mkinputs.sh OUTDIR}
OUT=$(realpath -m "$OUT")
SELF=$(realpath "$0")
HASH=$(sha256sum "$SELF" | cut -d' ' -f1)
[ -f "$OUT/.done" ] && [ "$(cat "$OUT/.done")" = "$HASH" ] && exit 0

log() { echo "mkinputs: $*" >&2; }
TRASH=${MKINPUTS_TRASH:-}
ntrash=0
discard() {   # remove a work tree now, or move it to $TRASH
    local p
    for p; do
        [ -e "$p" ] || continue
        if [ -n "$TRASH" ]; then
            ntrash=$((ntrash + 1))
            mkdir -p "$TRASH"
            mv "$p" "$TRASH/mkinputs-$$-$ntrash"
        else
            rm -rf "$p"
        fi
    done
}
for t in umoci jq; do
    command -v "$t" >/dev/null || { log "missing $t"; exit 77; }
done
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 77; }

S=$OUT.new
discard "$S"
mkdir -p "$S"
cd "$S"

T=2024-01-01T00:00:00Z
umoci_() { umoci --log error "$@"; }
newimg() {   # LAYOUT TAG
    [ -d "$1" ] || umoci_ init --layout "$1"
    umoci_ new --image "$1:$2"
    umoci_ config --image "$1:$2" --created "$T" --history.created "$T" \
        --history.created_by "mkinputs: umoci new" --architecture amd64 --os linux
}
# addlayer LAYOUT TAG WHAT CMD...: unpack, run CMD with the rootfs as $1, repack
addlayer() {
    local img=$1:$2 what=$3; shift 3
    umoci_ unpack --image "$img" b >/dev/null
    "$@" b/rootfs
    umoci_ repack --history.created "$T" --history.created_by "mkinputs: $what" \
        --image "$img" b
    discard b
}

# ---- the root filesystem of the large image
mirror_and_suite() {
    local suite uri
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    # the first "deb" URI of a deb822 or one-line source naming that suite
    uri=$(awk -v s="$suite" '
        /^Types:/ { deb = ($0 ~ /(^|[ \t])deb([ \t]|$)/) }
        /^URIs:/ { u = $2 }
        /^Suites:/ { if (deb && index($0, " " s)) { print u; exit } }
        /^deb[ \t]/ && $0 !~ /^deb-src/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { if ($(i+1) == s) { print $i; exit } } }
        ' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | sed -n 1p)
    [ -n "$suite" ] && [ -n "$uri" ] && echo "$suite $uri"
}
SOURCE=
if command -v debootstrap >/dev/null && ms=$(mirror_and_suite); then
    log "debootstrap --variant=minbase ${ms% *} (about 30 s)"
    if debootstrap --variant=minbase "${ms% *}" "$S/fs" "${ms#* }" >debootstrap.log 2>&1; then
        SOURCE="debootstrap --variant=minbase ${ms% *}"
        rm -rf fs/var/lib/apt/lists/* fs/var/cache/apt/*.bin fs/var/cache/apt/archives/*.deb \
            fs/var/log/* fs/dev/* fs/proc/* fs/sys/*
    else
        tail -n 5 debootstrap.log >&2
        log "debootstrap failed; using this machine's files instead"
        discard fs
    fi
fi
if [ -z "$SOURCE" ]; then
    SOURCE="copy of this machine's /usr/lib/x86_64-linux-gnu /usr/bin /usr/share/perl /etc"
    mkdir -p fs/usr/lib fs/usr/share fs/var/tmp fs/tmp fs/root
    cp -a /usr/lib/x86_64-linux-gnu fs/usr/lib/
    cp -a /usr/bin fs/usr/
    cp -a /usr/share/perl fs/usr/share/
    cp -a /etc fs/
    ln -s usr/lib fs/lib; ln -s usr/bin fs/bin
fi
rm -f debootstrap.log

# ---- large: 3 layers
FS=$S/fs
newimg large/oci large
layer1() {
    local r=$1 p
    mkdir -p "$r/usr"
    for p in "$FS"/usr/lib* "$FS"/usr/libexec "$FS"/lib*; do
        [ -e "$p" ] || [ -L "$p" ] || continue
        case $p in "$FS"/usr/*) cp -a "$p" "$r/usr/" ;; *) cp -a "$p" "$r/" ;; esac
    done
}
layer2() {
    local r=$1 p
    for p in "$FS"/usr/*; do
        case ${p##*/} in lib*) continue ;; esac
        cp -a "$p" "$r/usr/"
    done
}
layer3() {
    local r=$1 p
    for p in "$FS"/* "$FS"/.[!.]*; do
        [ -e "$p" ] || [ -L "$p" ] || continue
        case ${p##*/} in usr|lib*) continue ;; esac
        cp -a "$p" "$r/"
    done
    # 20 deletions of lower-layer files: whiteouts in this layer
    (cd "$r" && find usr -type f | LC_ALL=C sort | awk 'NR % 97 == 0 && ++n <= 20' |
        xargs -r rm -f)
}
addlayer large/oci large "layer 1 libraries" layer1
addlayer large/oci large "layer 2 programs and data" layer2
addlayer large/oci large "layer 3 etc var, 20 deletions" layer3
umoci_ config --image large/oci:large --history.created "$T" \
    --history.created_by "mkinputs: config" --config.cmd /bin/sh \
    --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin
umoci_ gc --layout large/oci
tar -C large/oci -cf large-oci.tar .
nfiles_large=$(find "$FS" | wc -l)
bytes_large=$(du -sb "$FS" | cut -f1)
discard "$FS"

# ---- small: busybox-static, 1 layer
BB=/bin/busybox
if [ ! -x "$BB" ] || ldd "$BB" >/dev/null 2>&1; then
    log "needs a static /bin/busybox (busybox-static)"; exit 77
fi
newimg small/oci small
bbfs() {
    local r=$1 a
    mkdir -p "$r/bin"
    cp "$BB" "$r/bin/busybox"
    for a in $("$BB" --list-full); do
        [ "$a" = bin/busybox ] && continue
        mkdir -p "$r/$(dirname "$a")"
        ln -sf /bin/busybox "$r/$a"
    done
}
addlayer small/oci small "busybox-static rootfs" bbfs
umoci_ config --image small/oci:small --history.created "$T" \
    --history.created_by "mkinputs: config" --config.cmd /bin/sh
umoci_ gc --layout small/oci
tar -C small/oci -cf small-oci.tar .
umoci_ unpack --image small/oci:small b >/dev/null
nfiles_small=$(find b/rootfs | wc -l)
bytes_small=$(du -sb b/rootfs | cut -f1)
discard b

# ---- facts for run.sh
facts() {   # NAME: LAYERS (blob paths, relative to OUT) and more
    local n=$1 m cfg d layers="" sz=0
    d=$(jq -r '.manifests[0].digest' "$n/oci/index.json")
    m=$n/oci/blobs/sha256/${d#sha256:}
    cfg=$(jq -r .config.digest "$m")
    for d in $(jq -r '.layers[].digest' "$m"); do
        layers="$layers $n/oci/blobs/sha256/${d#sha256:}"
        sz=$((sz + $(stat -c %s "$n/oci/blobs/sha256/${d#sha256:}")))
    done
    echo "${n^^}_ID=$cfg"
    echo "${n^^}_LAYERS='${layers# }'"
    echo "${n^^}_NLAYERS=$(jq '.layers | length' "$m")"
    echo "${n^^}_GZ_BYTES=$sz"
}
{
    printf 'SOURCE=%q\n' "$SOURCE"
    facts large
    echo "LARGE_FILES=$nfiles_large"
    echo "LARGE_BYTES=$bytes_large"
    facts small
    echo "SMALL_FILES=$nfiles_small"
    echo "SMALL_BYTES=$bytes_small"
} >info.env

echo "$HASH" >.done
cd /
discard "$OUT"
mv "$S" "$OUT"
log "inputs in $OUT ($SOURCE)"
