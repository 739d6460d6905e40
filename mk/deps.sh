#!/bin/bash
# mk/deps.sh -- build minidock's static dependencies from Debian source packages.
#
#   mk/deps.sh [--cc CC] [--ar AR] [--ranlib RANLIB] [--host TRIPLET]
#              [--arch ARCH] [--cflags "EXTRA"] [--out LINK] [--print-dir]
#
# Builds zlib, libzstd (decompression only), BearSSL, libarchive (tar,
# pax, gzip and zstd; nothing else) and libyaml (for compose files) with CC
# into a cache entry
#
#   $MD_DEPS_CACHE/<target, e.g. x86_64-linux-musl>-<16 hex of sha256(key)>/
#       include/  lib/  kinclude/  key.txt  build.log
#
# The key (key.txt, in readable form) is made of the Debian source package
# versions, the compiler's identity (-dumpmachine with the libc it really
# uses, --version, a hash of the libc.a it links), AR/RANLIB, host/arch, the
# flags and a hash of this script and its probe. A run whose entry exists
# does nothing but (re)make the --out link. An entry is built in a temp dir
# under a lock and renamed into place when complete, so an interrupted build
# never looks finished; the next build clears such leftovers.
#
# kinclude/ holds symlinks to the kernel UAPI headers (linux/, asm/,
# asm-generic/) for compilers that, like Debian's musl-gcc, do not see them;
# it is empty when CC finds them itself. Compile minidock.c with
# "-isystem ENTRY/kinclude -I ENTRY/include" and link "-LENTRY/lib".
#
# --out LINK makes LINK a symlink to the entry (the Makefile uses build/deps-ARCH).
# --print-dir prints the entry's path on stdout.
#
# Environment (options win): CC, AR, RANLIB, CROSS_COMPILE (CC defaults to
# ${CROSS_COMPILE}gcc when it is set, else musl-gcc), MD_DEPS_HOST,
# MD_DEPS_ARCH, MD_DEPS_CFLAGS (extra flags), MD_DEPS_CACHE (cache root,
# default /var/cache/minidock-deps), MD_KERNEL_ASM (the arch's asm/ headers
# dir), MD_DEPS_KEEP=1 (keep the build tree of a finished build).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "deps: $*" >&2; exit 1; }

cc=${CC:-} ar=${AR:-} ranlib=${RANLIB:-}
host=${MD_DEPS_HOST:-} arch=${MD_DEPS_ARCH:-} extra_cflags=${MD_DEPS_CFLAGS:-}
out="" print_dir=no
cross=${CROSS_COMPILE:-}
while [ $# -gt 0 ]; do
	case $1 in
	--cc) cc=$2; shift 2 ;;
	--ar) ar=$2; shift 2 ;;
	--ranlib) ranlib=$2; shift 2 ;;
	--host) host=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	--cflags) extra_cflags=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--print-dir) print_dir=yes; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	*) die "unknown argument '$1' (see mk/deps.sh --help)" ;;
	esac
done
[ -n "$cc" ] || if [ -n "$cross" ]; then cc=${cross}gcc; else cc=musl-gcc; fi
[ -n "$ar" ] || ar=${cross}ar
[ -n "$ranlib" ] || ranlib=${cross}ranlib
cache_root=${MD_DEPS_CACHE:-/var/cache/minidock-deps}
# No unwind tables: C never unwinds, and they were 20-46 KiB of the binary.
base_cflags="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables"
cflags="$base_cflags${extra_cflags:+ $extra_cflags}"
src_pkgs="zlib libzstd bearssl libarchive libyaml"

# ---- tools ---------------------------------------------------------------
need_tools() {
	local missing=""
	for t in apt-get dpkg-source cmake make; do
		command -v "$t" >/dev/null || missing="$missing $t"
	done
	# shellcheck disable=SC2086 # CC may carry words (e.g. "ccache musl-gcc")
	command -v ${cc%% *} >/dev/null || missing="$missing ${cc%% *}"
	[ -z "$missing" ] && return 0
	echo "deps: missing$missing; installing the build group" >&2
	sh "$here/setup.sh" build >&2
	# shellcheck disable=SC2086
	command -v ${cc%% *} >/dev/null || die "compiler '$cc' not found"
}
need_tools

# ---- deb-src -------------------------------------------------------------
# Source packages are downloaded once into $cache_root/sources/ (the .dsc is
# moved in last, so its presence means the files it names are there) and
# unpacked from there with dpkg-source. The version used is the newest one in
# the package lists that can really be fetched: a mirror may list a security
# update in its index and still answer 404 for its files, and the build then
# falls back to the next older version instead of failing.
store=$cache_root/sources

# candidates PKG: the versions of source package PKG in the lists, newest first.
candidates() {
	local v c sorted=()
	for v in $(apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p'); do
		c=0
		while [ $c -lt ${#sorted[@]} ]; do
			[ "${sorted[c]}" = "$v" ] && continue 2
			dpkg --compare-versions "$v" gt "${sorted[c]}" && break
			c=$((c + 1))
		done
		sorted=("${sorted[@]:0:c}" "$v" "${sorted[@]:c}")
	done
	[ ${#sorted[@]} -eq 0 ] || printf '%s\n' "${sorted[@]}"
}

# dsc_name PKG VERSION: zlib 1:1.2.13.dfsg-1 -> zlib_1.2.13.dfsg-1.dsc
dsc_name() { printf '%s_%s.dsc' "$1" "${2#*:}"; }

# fetch_source PKG VERSION: make sure the store holds that source package.
fetch_source() {
	local dsc t f
	dsc=$(dsc_name "$1" "$2")
	[ -f "$store/$dsc" ] && return 0
	mkdir -p "$store" 2>/dev/null && [ -w "$store" ] ||
		die "cannot write $store (set MD_DEPS_CACHE, or run as root)"
	t=$(mktemp -d "$store/.tmp.XXXXXX")
	if (cd "$t" && apt-get source -q --download-only --only-source "$1=$2") >"$t/.log" 2>&1 &&
		[ -f "$t/$dsc" ]; then
		for f in "$t"/*; do [ "$f" = "$t/$dsc" ] || mv -f "$f" "$store/"; done
		mv -f "$t/$dsc" "$store/$dsc"
		rm -rf "$t"
		return 0
	fi
	echo "deps: cannot fetch source $1 $2: $(grep -m 1 -E '^(E|Err):' "$t/.log" || tail -n 1 "$t/.log")" >&2
	rm -rf "$t"
	return 1
}

# Prints "zlib=1:1.2.13.dfsg-1 libzstd=... ..." : for each source package the
# newest version that is in the store or can be fetched into it.
source_versions() {
	local p v
	for p in $src_pkgs; do
		for v in $(candidates "$p"); do
			if fetch_source "$p" "$v"; then printf '%s=%s ' "$p" "$v"; break; fi
		done
	done
}

# The same without fetching: the newest version of each in the lists.
newest_versions() {
	local p v
	for p in $src_pkgs; do
		v=$(candidates "$p")
		v=${v%%$'\n'*}
		[ -z "$v" ] || printf '%s=%s ' "$p" "$v"
	done
}

# Derive deb-src entries from the machine's own deb entries: no host name is
# written here, each stanza is copied with only its Types changed.
enable_deb_src() {
	local f=/etc/apt/sources.list.d/minidock-src.sources
	local l=/etc/apt/sources.list.d/minidock-src.list
	local s
	[ "$(id -u)" = 0 ] || die "no deb-src entries in the apt sources and not root to add them"
	if [ ! -e "$f" ]; then
		s=""
		for src in /etc/apt/sources.list.d/*.sources; do
			if [ ! -e "$src" ] || [ "$src" = "$f" ]; then continue; fi
			s+=$(awk 'BEGIN { RS = ""; ORS = "\n\n" }
				{
					n = split($0, line, "\n"); types = ""; off = 0
					for (i = 1; i <= n; i++) {
						if (line[i] ~ /^Types:/) types = line[i]
						if (line[i] ~ /^Enabled:[ \t]*(no|false)/) off = 1
					}
					if (off || types !~ /[ \t]deb([ \t]|$)/ || types ~ /deb-src/) next
					out = ""
					for (i = 1; i <= n; i++)
						out = out (line[i] ~ /^Types:/ ? "Types: deb-src" : line[i]) "\n"
					printf "%s", out; printf "\n"
				}' "$src")
			s+=$'\n\n'
		done
		s=$(printf '%s' "$s" | cat -s)
		if [ -n "${s//[$'\n' ]/}" ]; then
			printf '# Made by minidock mk/deps.sh from the deb entries of this machine.\n%s\n' "$s" >"$f"
		fi
	fi
	if [ ! -e "$l" ] && [ -f /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
		{ echo "# Made by minidock mk/deps.sh from /etc/apt/sources.list."
		  sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list; } >"$l"
	fi
	[ -e "$f" ] || [ -e "$l" ] || die "found no deb entries in /etc/apt to derive deb-src entries from"
	echo "deps: enabled deb-src entries derived from the apt sources; apt-get update" >&2
	apt-get update -q >/dev/null 2>&1 || echo "deps: apt-get update reported errors; trying on" >&2
}

# ---- compiler, arch, kernel headers ---------------------------------------
# shellcheck disable=SC2086
machine=$($cc -dumpmachine) || die "'$cc -dumpmachine' failed"
# Debian's musl-gcc is gcc with a specs file and says x86_64-linux-gnu: name
# the libc it really uses (x86_64-linux-musl, arm-linux-musleabihf, ...).
# shellcheck disable=SC2086
libc=$(printf '#include <limits.h>\n#if defined __GLIBC__\nlibc=gnu\n#elif defined __UCLIBC__\nlibc=uclibc\n#else\nlibc=other\n#endif\n' |
	$cc -E -P -x c - 2>/dev/null | sed -n 's/^libc=//p')
[ "$libc" != other ] || machine=${machine/-gnu/-musl}
[ -n "$host" ] || host=$machine
[ -n "$arch" ] || arch=${host%%-*}
# shellcheck disable=SC2086
cc_version=$($cc --version 2>/dev/null | head -n 1)
# The libc the compiler really links (-print-file-name is fooled by musl-gcc).
# shellcheck disable=SC2086
libc_a=$(printf 'int main(void) { return 0; }\n' |
	$cc -static -x c - -o /dev/null -Wl,-t 2>/dev/null | grep -m 1 '/libc\.a$' || true)
libc_id=none
[ -f "$libc_a" ] && libc_id=$(sha256sum "$libc_a" | cut -c1-16)

# Where are the kernel UAPI headers for this arch? None needed if CC sees them.
kasm=""
# shellcheck disable=SC2086
if ! printf '#include <linux/rtnetlink.h>\n#include <asm/types.h>\n' |
	$cc $cflags -E -x c - >/dev/null 2>&1; then
	[ -d /usr/include/linux ] || die "no /usr/include/linux: install linux-libc-dev"
	gnu=${host/-musl/-gnu}
	for d in ${MD_KERNEL_ASM:-} "/usr/include/$gnu/asm" "/usr/include/$arch-linux-gnu/asm" \
		"/usr/include/$arch-linux-gnueabihf/asm" "/usr/include/$arch-linux-gnueabi/asm"; do
		[ -d "$d" ] && { kasm=$d; break; }
	done
	[ -n "$kasm" ] || die "no asm/ UAPI headers for $host: install linux-libc-dev for that arch or set MD_KERNEL_ASM"
fi

# Comment lines do not change what gets built.
recipe=$(cat "$0" "$here/deps-probe.c" | grep -v '^[[:space:]]*#[^!a-z]' | sha256sum | cut -c1-16)
set_key() {   # from $versions: key, hash, entry
	key="sources=${versions% }
cc=$cc
cc_machine=$machine
cc_version=$cc_version
cc_libc=$libc_id
ar=$ar
ranlib=$ranlib
host=$host
arch=$arch
kasm=${kasm:-none}
cflags=$cflags
recipe=$recipe"
	hash=$(printf '%s\n' "$key" | sha256sum | cut -c1-16)
	entry=$cache_root/$machine-$hash
}

finish() {
	if [ -n "$out" ]; then
		mkdir -p "$(dirname "$out")"
		ln -sfn "$entry" "$out"
	fi
	[ $print_dir = no ] || echo "$entry"
	return 0
}

# An entry with its key.txt is complete: use it and stop.
finish_if_cached() {
	[ -f "$entry/key.txt" ] || return 0
	echo "deps: cached in $entry" >&2
	finish; exit 0
}

# A cache entry for the newest versions in the lists needs no network. Else
# the sources are fetched (or found in the store), falling back to older
# versions the mirror serves, and the key is made from what was fetched.
versions=$(newest_versions)
if [ "$(wc -w <<<"$versions")" -eq 5 ]; then
	set_key
	finish_if_cached
fi
# Leftover downloads of killed runs (a day old) go.
find "$store" -maxdepth 1 -name '.tmp.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
versions=$(source_versions)
if [ "$(wc -w <<<"$versions")" -ne 5 ]; then
	# No deb-src entries yet, or lists older than the mirror: (re)make them.
	if [ -z "$(candidates zlib)" ]; then
		enable_deb_src
	elif [ "$(id -u)" = 0 ]; then
		apt-get update -q >/dev/null 2>&1 || true
	fi
	versions=$(source_versions)
	[ "$(wc -w <<<"$versions")" -eq 5 ] ||
		die "apt-get source cannot fetch all of: $src_pkgs (found: ${versions:-none})"
fi
set_key
finish_if_cached

# ---- build ---------------------------------------------------------------
if ! { mkdir -p "$cache_root" 2>/dev/null && [ -w "$cache_root" ]; }; then
	die "cannot write the cache root $cache_root (set MD_DEPS_CACHE, or run as root)"
fi
exec 9>"$cache_root/.lock-$machine-$hash"
flock 9
finish_if_cached    # someone else finished it while we waited
# Leftovers of killed or failed builds: any temp dir whose lock nobody holds.
for t in "$cache_root"/.tmp-*; do
	[ -d "$t" ] || continue
	k=${t#"$cache_root"/.tmp-}; k=${k%.*}
	if [ "$k" = "$machine-$hash" ]; then rm -rf "$t"; continue; fi
	# shellcheck disable=SC2094 # the lock file is only locked, never read
	( flock -n 8 && rm -rf "$t" "$cache_root/.lock-$k" ) 8>>"$cache_root/.lock-$k" || true
done
tmp=$(mktemp -d "$cache_root/.tmp-$machine-$hash.XXXXXX")
prefix=$tmp/out
src=$tmp/src
log=$tmp/build.log
mkdir -p "$prefix/include" "$prefix/lib" "$prefix/kinclude" "$src"
started=$(date +%s)
echo "deps: building ${versions% } with $cc ($machine) into $entry" >&2

step="start"
fail() {
	echo "deps: FAILED at: $step; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	echo "deps: FAILED at: $step (full log: $log)" >&2
}
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; [ $rc = 0 ] || fail; exit $rc' EXIT
run() { echo "+ $*" >>"$log"; "$@" >>"$log" 2>&1; }

if [ -n "$kasm" ]; then
	ln -s /usr/include/linux "$prefix/kinclude/linux"
	ln -s /usr/include/asm-generic "$prefix/kinclude/asm-generic"
	ln -s "$kasm" "$prefix/kinclude/asm"
fi
all_cflags="$cflags -isystem $prefix/kinclude"
jobs=$(nproc 2>/dev/null || echo 2)

step="dpkg-source"
for v in $versions; do
	dsc=$(dsc_name "${v%%=*}" "${v#*=}")
	(cd "$src" && run dpkg-source -x "$store/$dsc")
done
srcdir() { find "$src" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | head -n 1; }

step="zlib"
d=$(srcdir zlib)
# DYNAMIC_CRC_TABLE: the CRC tables are computed once at first use (bss)
# instead of 10 KB of rodata in the binary.
(cd "$d" && CC="$cc" AR="$ar" RANLIB="$ranlib" CFLAGS="$all_cflags -DDYNAMIC_CRC_TABLE" CHOST="$host" \
	run ./configure --static --prefix="$prefix" &&
	run make -j"$jobs" libz.a && run make install)

step="libzstd"
d=$(srcdir libzstd)
# Decompression only, no legacy formats, no dictionary builder, one Huffman
# and one sequence decoder, no BMI2 twins, no x86 assembly: about 30 KB.
# The size switches go into CFLAGS itself: libzstd.mk's "CFLAGS += -D..."
# for HUF_FORCE_DECOMPRESS_X1=1 and friends is ignored once CFLAGS is
# given on the command line.
zstd_vars=(CC="$cc" AR="$ar" RANLIB="$ranlib" PREFIX="$prefix"
	CFLAGS="$all_cflags -DHUF_FORCE_DECOMPRESS_X1 -DZSTD_FORCE_DECOMPRESS_SEQUENCES_SHORT -DZSTD_NO_INLINE -DDYNAMIC_BMI2=0 -DZSTD_DISABLE_ASM"
	ZSTD_LIB_COMPRESSION=0 ZSTD_LIB_DICTBUILDER=0 ZSTD_LIB_DEPRECATED=0
	ZSTD_LEGACY_SUPPORT=0 ZSTD_NO_ASM=1)
run make -C "$d/lib" -j"$jobs" "${zstd_vars[@]}" libzstd.a
run make -C "$d/lib" "${zstd_vars[@]}" install-static install-includes

step="bearssl"
d=$(srcdir bearssl)
run make -C "$d" -j"$jobs" CC="$cc" AR="$ar" CFLAGS="$all_cflags" lib
cp "$d"/build/libbearssl.a "$prefix/lib/"
cp "$d"/inc/*.h "$prefix/include/"

step="libarchive"
d=$(srcdir libarchive)
# Unicode normalisation out: libarchive's archive_string.c NFC/NFD-normalises
# names it converts from UTF-8 (an Apple-filesystem concern), which links
# 22 KB of composition tables and 6 KB of code. minidock reads names as
# bytes in the C locale (a layer's NFD name stays NFD, as Docker keeps it),
# so the flags that ask for it are never set and the calls go, letting
# --gc-sections drop the tables. Checked: the edit must hit every site.
f=$d/libarchive/archive_string.c
sed -i -e 's/^\([[:space:]]*\)\(sc->\)\{0,1\}flag |= SCONV_NORMALIZATION_[CD];/\1(void)0;/' \
	-e 's/add_converter(sc, *archive_string_normalize_[CD]);/(void)0;/' \
	-e 's/ret = archive_string_normalize_[CD](&u16, s, count, sc);/ret = -1;/' "$f"
if grep -n 'flag |= SCONV_NORMALIZATION_\|add_converter(sc, *archive_string_normalize\|= archive_string_normalize_' "$f" >>"$log"; then
	echo "libarchive: the Unicode normalisation edit missed the lines above" >>"$log"; false
fi
# CMake wants one program as the compiler; CC may be "ccache musl-gcc".
printf '#!/bin/sh\nexec %s "$@"\n' "$cc" >"$tmp/cc"
chmod +x "$tmp/cc"
cmake_cross=()
if [ "$arch" != "$(uname -m)" ]; then
	cmake_cross=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="$arch")
fi
# Everything but zlib and zstd is off. Find only what is in $prefix, so no
# library of the build machine (glibc's) leaks in. xattr support stays on but
# through the libc's *xattr() calls, never libattr: it lets archive_write_disk
# restore security.capability and friends (pax SCHILY.xattr parsing needs
# nothing either way).
run cmake -S "$d" -B "$tmp/build-libarchive" "${cmake_cross[@]}" \
	-DCMAKE_BUILD_TYPE=MinSizeRel \
	-DCMAKE_C_COMPILER="$tmp/cc" \
	-DCMAKE_AR="$(command -v "$ar")" -DCMAKE_RANLIB="$(command -v "$ranlib")" \
	-DCMAKE_C_FLAGS="$all_cflags" \
	-DCMAKE_INSTALL_PREFIX="$prefix" \
	-DCMAKE_FIND_ROOT_PATH="$prefix" \
	-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
	-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
	-DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
	-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
	-DBUILD_SHARED_LIBS=OFF \
	-DBUILD_TESTING=OFF -DENABLE_TEST=OFF \
	-DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_UNZIP=OFF \
	-DENABLE_ZLIB=ON -DZLIB_INCLUDE_DIR="$prefix/include" -DZLIB_LIBRARY="$prefix/lib/libz.a" \
	-DENABLE_ZSTD=ON -DZSTD_INCLUDE_DIR="$prefix/include" -DZSTD_LIBRARY="$prefix/lib/libzstd.a" \
	-DENABLE_BZip2=OFF -DENABLE_LZMA=OFF -DENABLE_LZ4=OFF -DENABLE_LZO=OFF \
	-DENABLE_LIBB2=OFF -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF \
	-DENABLE_OPENSSL=OFF -DENABLE_MBEDTLS=OFF -DENABLE_NETTLE=OFF -DENABLE_CNG=OFF \
	-DENABLE_PCREPOSIX=OFF -DENABLE_PCRE2POSIX=OFF -DENABLE_LibGCC=OFF \
	-DENABLE_ICONV=OFF -DENABLE_ACL=OFF \
	-DENABLE_XATTR=ON -DHAVE_LIBATTR=OFF -DHAVE_LIBATTR_GNU=OFF \
	-DENABLE_WERROR=OFF -DENABLE_COVERAGE=OFF -DENABLE_INSTALL=OFF
run cmake --build "$tmp/build-libarchive" --target archive_static -j"$jobs"
grep -q '^#define ARCHIVE_XATTR_LINUX 1' "$tmp/build-libarchive/config.h" ||
	echo "note: libarchive built without Linux xattr support" >>"$log"
cp "$tmp/build-libarchive/libarchive/libarchive.a" "$prefix/lib/libarchive.a" 2>/dev/null ||
	cp "$tmp/build-libarchive/libarchive/libarchive_static.a" "$prefix/lib/libarchive.a"
cp "$d/libarchive/archive.h" "$d/libarchive/archive_entry.h" "$prefix/include/"

step="libyaml"
d=$(srcdir libyaml)
# Its sources compiled as they are (no autotools: one flag set for every
# target); the parser is what minidock links, --gc-sections drops the rest.
yv=${d##*-}   # the source dir is libyaml-MAJOR.MINOR.PATCH
mkdir -p "$tmp/build-libyaml"
for f in "$d"/src/*.c; do
	# shellcheck disable=SC2086
	run $cc $all_cflags -Os -ffunction-sections -fdata-sections -I"$d/include" -DYAML_DECLARE_STATIC \
		-DYAML_VERSION_MAJOR="${yv%%.*}" -DYAML_VERSION_MINOR="$(echo "$yv" | cut -d. -f2)" \
		-DYAML_VERSION_PATCH="${yv##*.}" -DYAML_VERSION_STRING="\"$yv\"" \
		-c "$f" -o "$tmp/build-libyaml/$(basename "$f" .c).o"
done
run "$ar" rcs "$prefix/lib/libyaml.a" "$tmp"/build-libyaml/*.o
run "$ranlib" "$prefix/lib/libyaml.a"
cp "$d/include/yaml.h" "$prefix/include/"

# ---- probe ---------------------------------------------------------------
step="probe (compile and link $here/deps-probe.c)"
# shellcheck disable=SC2086
run $cc -static -std=gnu11 $all_cflags -Wl,--gc-sections -I"$prefix/include" \
	-o "$tmp/probe" "$here/deps-probe.c" -L"$prefix/lib" -larchive -lzstd -lz -lbearssl -lyaml
if [ "$arch" = "$(uname -m)" ]; then
	step="probe (run)"
	run "$tmp/probe"
else
	echo "(cross build for $arch: probe linked, not run)" >>"$log"
fi

# ---- commit --------------------------------------------------------------
trap - EXIT
printf '%s\n' "$key" >"$prefix/key.txt"
echo "built in $(( $(date +%s) - started )) s" >>"$log"
mv "$log" "$prefix/build.log"
if [ "${MD_DEPS_KEEP:-0}" = 1 ]; then mv "$src" "$prefix/src"; fi
mv -T "$prefix" "$entry" 2>/dev/null || [ -f "$entry/key.txt" ] || mv -T "$prefix" "$entry"
rm -rf "$tmp"
rm -f "$cache_root/.lock-$machine-$hash"
echo "deps: built in $(( $(date +%s) - started )) s, cached in $entry" >&2
finish
