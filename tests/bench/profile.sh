#!/usr/bin/env bash
# profile.sh SRC INPUTS WORK [BINARY]: where the time of `minidock load` of
# the large bench image goes, next to GNU tar on the same layers; prints a
# markdown subsection on stdout.  Called by tests/bench/run.sh
# (BENCH_PROFILE) with a copy of the source tree; runs alone too, as root:
# SRC a minidock source tree, INPUTS made by tests/bench/mkinputs.sh, WORK a
# scratch directory (removed at the end), BINARY the minidock to explain
# (default SRC/minidock).
#
# The profile needs symbols: it builds SRC with `make OUT=build/bench-prof/
# minidock STRIP_LDFLAGS= CFLAGS=-g` and uses that build only when, stripped,
# it is byte for byte BINARY (-g changes no code); otherwise it profiles
# BINARY itself, without names for minidock's own functions.
#
#   1 wall, user and sys time: median of BENCH_PROFILE_N (3) alternated runs
#   2 a CPU profile (perf record, cpu-clock) of one load, by symbol and area
#   3 how many bytes go through sha256, by calling function (a uprobe on
#     br_sha224_update, x86_64 only, needs the symbols)
#   4 syscall counts (strace -c -f) of minidock load and of the tar loop
#
# Debian packages: linux-perf strace binutils time
set -eu -o pipefail
export LC_ALL=C

usage="usage: profile.sh SRC INPUTS WORK [BINARY]"
SRC=${1:?$usage}
IN=${2:?$usage}
W=${3:?$usage}
TIMED=$(realpath "${4:-$SRC/minidock}")
PN=${BENCH_PROFILE_N:-3}
# shellcheck disable=SC1091
. "$IN/info.env"
mkdir -p "$W"
W=$(cd "$W" && pwd)
trap 'perf probe -q -d "probe_minidock:*" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT

log() { echo "profile: $*" >&2; }
B=$SRC/build/bench-prof/minidock
log "building $B (symbols kept)"
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u FEATURES make -s -C "$SRC" \
        OUT=build/bench-prof/minidock FLAGS_STAMP=build/bench-prof/minidock.flags \
        STRIP_LDFLAGS= CFLAGS=-g build/bench-prof/minidock >&2 &&
        strip --strip-all -o "$W/stripped" "$B" && cmp -s "$W/stripped" "$TIMED"; then
    SYMS="a build of the same source that keeps its symbols (stripped, it is byte for byte the timed binary)"
else
    log "no matching build with symbols: profiling $TIMED as it is"
    B=$TIMED
    SYMS="the timed binary itself: no build of this source matched it, so minidock's own functions have no names (hex addresses count as other user space)"
fi

LAYER_PATHS=$(for l in $LARGE_LAYERS; do echo "$IN/$l"; done)
n=0
fresh() { n=$((n + 1)); d=$W/o$n; mkdir -p "$d"; sync -f "$W"; }   # sets d
tar_x() {
    local d=$1 l; shift
    mkdir "$d/rootfs"
    for l; do tar -xzf "$l" -C "$d/rootfs" || return 1; done
}

# ---- 1 wall/user/sys
log "wall, user and sys: $PN alternated runs each"
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$W/t-md"; : >"$W/t-tar"
for ((i = 0; i < PN; i++)); do
    fresh
    /usr/bin/time -f '%e %U %S' -a -o "$W/t-md" "$B" --root "$d/root" --run-root "$d/run" \
        load -q -i "$IN/large-oci.tar" >/dev/null 2>&1
    fresh
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S' -a -o "$W/t-tar" bash -c "$(declare -f tar_x); tar_x \"\$@\"" _ "$d" $LAYER_PATHS
done
row_t() {   # LABEL FILE
    local e u s
    e=$(awk '{ print $1 }' "$2" | med); u=$(awk '{ print $2 }' "$2" | med); s=$(awk '{ print $3 }' "$2" | med)
    echo "| $1 | $e s | $u s | $s s |"
}

# ---- 2 perf record
log "perf record of one load"
fresh
perf record -q -o "$W/perf.data" -- "$B" --root "$d/root" --run-root "$d/run" load -q -i "$IN/large-oci.tar" >/dev/null 2>&1
perf report -i "$W/perf.data" --no-children --sort dso,sym --stdio -g none --percent-limit 0 -q 2>/dev/null |
    awk 'NF >= 4 && $1 ~ /%$/ { p = $1; sub(/%/, "", p); dso = $2; sym = $4; for (i = 5; i <= NF; i++) sym = sym " " $i; print p "\t" dso "\t" $3 "\t" sym }' >"$W/syms.tsv"
total_ns=$(perf report -i "$W/perf.data" --stdio 2>/dev/null | awk '/Event count/ && !n++ { print $NF }')
area() {   # classify symbol lines into areas
    awk -F'\t' '{
        s = $4; k = ($3 == "[k]")
        if (!k && s ~ /^br_(sha|range_(dec|enc)32be)/) a = "sha256 (BearSSL, portable C)"
        else if (!k && s ~ /^(inflate|crc32|adler32|updatewindow|zmemcpy)/) a = "gzip inflate (zlib)"
        else if (!k && s ~ /^md_/) a = "minidock.c"
        else if (!k && s ~ /^(_+)?archive_|^archive|^tar_|^read_(header|body)|^header_|^pax_|^gnu_/) a = "libarchive"
        else if (!k) a = "other user space (musl: memcpy, malloc ...)"
        else if (s ~ /^(recently_deleted|find_inode_bit|find_get_block_common|ext4_get_group_desc|_find_next_zero_bit)$/) a = "kernel: ext4 inode allocation (recently_deleted scan)"
        else if (s ~ /^(copy_folio_from_iter_atomic|_copy_to_iter|copy_page|__pi_memset|memset|clear_page)/) a = "kernel: copying file data"
        else a = "kernel: other (path lookup, inode creation, page cache ...)"
        sum[a] += $1
    } END { for (a in sum) printf "%.1f\t%s\n", sum[a], a }' "$1" | sort -t'	' -k1,1 -rn
}
sha_pct=$(awk -F'\t' '$3 == "[.]" && $4 ~ /^br_(sha|range_(dec|enc)32be)/ { s += $1 } END { printf "%.1f", s }' "$W/syms.tsv")

# ---- 3 sha256 bytes by caller
SHA_ROWS=""
sha_total=0
if [ "$B" != "$TIMED" ] && [ "$(uname -m)" = x86_64 ] && perf probe -q -x "$B" 'br_sha224_update len=%dx:u64 ret=+0(%sp):x64' >/dev/null 2>&1; then
    log "uprobe on br_sha224_update"
    fresh
    perf record -q -e 'probe_minidock:br_sha224_update' -o "$W/probe.data" -- \
        "$B" --root "$d/root" --run-root "$d/run" load -q -i "$IN/large-oci.tar" >/dev/null 2>&1
    perf probe -q -d 'probe_minidock:*' >/dev/null 2>&1 || true
    perf script -i "$W/probe.data" 2>/dev/null | awk '{
        for (i = 1; i <= NF; i++) { if ($i ~ /^len=/) l = substr($i, 5); if ($i ~ /^ret=/) r = substr($i, 5) }
        s[r] += l; c[r]++ } END { for (r in s) print r, c[r], s[r] }' >"$W/sha.txt"
    declare -A by_fn=() calls_fn=()
    while read -r addr calls bytes; do
        fn=$(addr2line -f -e "$B" "$addr" | sed -n 1p)
        by_fn[$fn]=$(( ${by_fn[$fn]:-0} + bytes ))
        calls_fn[$fn]=$(( ${calls_fn[$fn]:-0} + calls ))
        sha_total=$((sha_total + bytes))
    done <"$W/sha.txt"
    what() {
        case $1 in
        md_msrc_read) echo "each blob as read from the outer archive (blob digest check)" ;;
        md_zr_fill) echo "raw input of every decompressor: each gzip layer (the same bytes again) and the whole outer archive, which is read through a decompressor too" ;;
        md_zr_read) echo "decompressed output: each layer tar (DiffID) and the whole outer archive once more (uncompressed, so its raw and output digests hash the same bytes)" ;;
        md_sha256_buf|md_load_member|md_zr_open) echo "small buffers (config, manifest, first bytes)" ;;
        *) echo "" ;;
        esac
    }
    for fn in "${!by_fn[@]}"; do
        SHA_ROWS="$SHA_ROWS${by_fn[$fn]}	| \`$fn\` | ${calls_fn[$fn]} | $(awk -v b="${by_fn[$fn]}" 'BEGIN { printf "%.1f MB", b / 1e6 }') | $(what "$fn") |
"
    done
    SHA_ROWS=$(printf '%s' "$SHA_ROWS" | sort -t'	' -k1,1 -rn | cut -f2-)
else
    log "no uprobe (no symbols, perf probe failed or not x86_64): no sha256 byte count"
fi

# ---- 4 syscalls
log "strace -c of minidock load and of tar"
fresh
strace -f -c -o "$W/strace-md.txt" "$B" --root "$d/root" --run-root "$d/run" load -q -i "$IN/large-oci.tar" >/dev/null 2>&1
fresh
# shellcheck disable=SC2086
strace -f -c -o "$W/strace-tar.txt" bash -c "$(declare -f tar_x); tar_x \"\$@\"" _ "$d" $LAYER_PATHS >/dev/null 2>&1
calls() { awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$1"; }
calls "$W/strace-md.txt" | sort >"$W/c-md"
calls "$W/strace-tar.txt" | sort >"$W/c-tar"
total_md=$(awk '$NF == "total" { print $4 }' "$W/strace-md.txt")
total_tar=$(awk '$NF == "total" { print $4 }' "$W/strace-tar.txt")

# ---- report
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
outer=$(stat -c %s "$IN/large-oci.tar")
raw=0; for l in $LAYER_PATHS; do raw=$((raw + $(gzip -dc "$l" | wc -c))); done
echo "### Where minidock's unpack time goes (large image)"
echo
echo "From tests/bench/profile.sh: $PN alternated runs each (medians), then single profiled loads of $SYMS. The inputs: a $(mb "$outer") OCI archive holding $(mb "$LARGE_GZ_BYTES") of gzip layers that decompress to $(mb "$raw") of tar."
echo
echo "| | wall | user | sys |"
echo "|---|--:|--:|--:|"
row_t '`minidock load -i`' "$W/t-md"
row_t '`tar -xzf` per layer (gzip in a 2nd process)' "$W/t-tar"
echo
echo "CPU profile of \`minidock load\` (perf, cpu-clock; share of the samples), by area:"
echo
echo "| area | share |"
echo "|---|--:|"
area "$W/syms.tsv" | awk -F'\t' '$1 > 0 { printf "| %s | %s%% |\n", $2, $1 }'
rd=$(area "$W/syms.tsv" | awk -F'\t' '$2 ~ /recently_deleted/ { print $1 }')
if awk -v p="${rd:-0}" 'BEGIN { exit !(p >= 5) }'; then
    echo
    echo "(Warning: ${rd}% of the samples are ext4's scan of recently freed inodes: many files were removed on this filesystem in the minutes before; the numbers above include that.)"
fi
echo
echo "Top symbols: $(sort -t'	' -k1,1 -rn "$W/syms.tsv" | awk -F'\t' 'NR <= 8 { printf "%s%s %s%%", (NR > 1 ? ", " : ""), $4, $1 }')."
if [ -n "$SHA_ROWS" ]; then
    echo
    echo "Bytes through sha256 in one load, by caller (uprobe on \`br_sha224_update\`): $(mb "$sha_total") in all, where the blob digests and DiffIDs need $(mb $((LARGE_GZ_BYTES + raw))) ($(awk -v a="$sha_total" -v b=$((LARGE_GZ_BYTES + raw)) 'BEGIN { printf "%.2f", a / b }')×)."
    echo
    echo "| caller | calls | bytes | what |"
    echo "|---|--:|--:|---|"
    printf '%s\n' "$SHA_ROWS"
    if [ -n "${total_ns:-}" ] && [ "$sha_pct" != 0.0 ]; then
        echo
        echo "At $sha_pct% of the profiled run's samples that is about $(awk -v b="$sha_total" -v p="$sha_pct" -v n="$total_ns" 'BEGIN { printf "%.0f", b / (p / 100 * n / 1e9) / 1e6 }') MB/s of sha256 (BearSSL's portable C; \`openssl speed -evp sha256\` with SHA-NI reaches $(openssl speed -evp sha256 -bytes 65536 -seconds 1 2>/dev/null | awk '/^sha256/ { v = $NF; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }') MB/s on this CPU)."
    fi
fi
echo
echo "System calls (strace -c -f; counts only, strace distorts their times): $total_md for minidock load, $total_tar for tar."
echo
echo "| syscall | \`minidock load\` | \`tar -xzf\` ×$LARGE_NLAYERS (tar and gzip) |"
echo "|---|--:|--:|"
join -a1 -a2 -e 0 -o 0,1.2,2.2 "$W/c-md" "$W/c-tar" | sort -k2,2 -rn | sed -n 1,14p |
    awk '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
