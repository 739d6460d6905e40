#!/bin/bash
# mk/cross.sh -- Debian packages of other architectures, without multiarch.
#
#   mk/cross.sh fetch DEBARCH DIR PKG...   download PKG (of DEBARCH) and unpack
#                                          each into DIR (dpkg-deb -x); prints DIR
#   mk/cross.sh debs DEBARCH PKG...        download only; prints the .deb paths
#   mk/cross.sh toolchain DEBARCH GNU      make a musl-gcc-like static compiler for
#                                          DEBARCH from Debian's GNU-gcc cross
#                                          compiler (gcc-GNU), musl-dev:DEBARCH and
#                                          linux-libc-dev:DEBARCH; prints its path
#   mk/cross.sh version DEBARCH PKG        the candidate version of PKG
#   mk/cross.sh depends DEBARCH PKG        the packages PKG depends on, one a
#                                          line (linux-image-arm64 -> the real one)
#   mk/cross.sh closure DEBARCH PKG...     PKG and everything it depends on
#
# Foreign packages are looked up with apt-get under a private state of their
# own ($MD_DEPS_CACHE/apt-DEBARCH: lists, cache, an empty dpkg status) made
# from this machine's deb entries, so nothing is added to dpkg's list of
# architectures and no foreign package is installed: `apt-get update` of the
# machine keeps working whatever a foreign index does (bookworm-security's
# armhf index fails its size check on some mirrors; main is enough).
#
# The toolchain is
#   $MD_DEPS_CACHE/toolchains/MUSL/bin/MUSL-gcc   (MUSL: aarch64-linux-musl, ...)
#   .../sysroot/usr/{include,lib}/MUSL            musl-dev:DEBARCH
#   .../sysroot/kinclude/{linux,asm,asm-generic}  linux-libc-dev:DEBARCH's UAPI
#   .../MUSL.specs  .../stamp (the package versions it was made from)
# Its path stays the same from one musl version to the next, so it can be
# named in a Makefile; mk/deps.sh keys its cache entries on the libc.a that
# the compiler links, so a new musl still gets new dependencies.
set -euo pipefail

cache_root=${MD_DEPS_CACHE:-/var/cache/minidock-deps}
die() { echo "cross: $*" >&2; exit 1; }

# ---- a private apt for one foreign architecture -------------------------
apt_dir() { echo "$cache_root/apt-$1"; }

apt_opts() {   # DEBARCH -> the -o options, one per line
	local a
	a=$(apt_dir "$1")
	printf '%s\n' -o "Dir::State=$a/state" -o "Dir::State::Lists=$a/lists" \
		-o "Dir::State::status=$a/status" -o "Dir::Cache=$a/cache" \
		-o "Dir::Cache::archives=$a/archives" -o "Dir::Etc::sourcelist=$a/sources.list" \
		-o "Dir::Etc::sourceparts=$a/sources.list.d" -o "APT::Architecture=$1" \
		-o "APT::Architectures::=$1" -o "Debug::NoLocking=1" -o "Acquire::Languages=none" \
		-o "APT::Get::List-Cleanup=0" -q
}

# Copy the machine's binary package entries (deb lines, Types: deb stanzas);
# the deb-src ones stay out, this apt needs no source indexes.
apt_sources() {
	local a=$1 f
	mkdir -p "$a/sources.list.d"
	: >"$a/sources.list"
	if [ -f /etc/apt/sources.list ]; then
		grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list >"$a/sources.list" || true
	fi
	rm -f "$a"/sources.list.d/*
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		case $f in */minidock-src.*) continue ;; esac
		cp "$f" "$a/sources.list.d/"
	done
}

apt_update() {   # DEBARCH
	local a
	a=$(apt_dir "$1")
	mkdir -p "$a/state" "$a/lists/partial" "$a/cache" "$a/archives/partial"
	[ -f "$a/status" ] || : >"$a/status"
	apt_sources "$a"
	mapfile -t o < <(apt_opts "$1")
	# A foreign index that fails (security's armhf, mid-sync) is ignored.
	apt-get "${o[@]}" update >"$a/update.log" 2>&1 ||
		echo "cross: apt-get update for $1 reported errors (see $a/update.log); trying on" >&2
	date +%s >"$a/updated"
}

# Update the private lists when they are missing or older than a day.
apt_ready() {   # DEBARCH
	local a now last
	a=$(apt_dir "$1")
	now=$(date +%s)
	last=$(cat "$a/updated" 2>/dev/null || echo 0)
	if [ $((now - last)) -gt 86400 ] || ! ls "$a"/lists/*_Packages* >/dev/null 2>&1; then
		apt_update "$1"
	fi
}

pkg_version() {   # DEBARCH PKG
	mapfile -t o < <(apt_opts "$1")
	apt-cache "${o[@]}" policy "$2" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' || true
}

pkg_versions() {   # DEBARCH PKG: every version in the lists, newest first
	mapfile -t o < <(apt_opts "$1")
	apt-cache "${o[@]}" madison "$2" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); if (!seen[$2]++) print $2 }'
}

download() {   # DIR PKG VERSION (o: the apt options)
	(cd "$1" && apt-get "${o[@]}" download "$2=$3" >/dev/null 2>"$1/.download.err")
}

depends() {   # DEBARCH PKG: direct Depends and Pre-Depends (first alternative)
	mapfile -t o < <(apt_opts "$1")
	apt-cache "${o[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "$2" 2>/dev/null |
		awk '/^ *\|?(Pre)?Depends:/ { alt = ($1 ~ /^\|/); if (!skip) print $2; skip = alt; next }
		     { skip = 0 }' | sed 's/:.*//' | grep -v '^<' || true
}

closure() {   # DEBARCH PKG...: breadth first, each package once
	local arch=$1 p d seen=" "
	shift
	local queue=("$@")
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		case $seen in *" $p "*) continue ;; esac
		seen="$seen$p "
		echo "$p"
		for d in $(depends "$arch" "$p"); do queue+=("$d"); done
	done
}

# Download PKG... of DEBARCH into $cache_root/debs-DEBARCH; print the paths.
debs() {
	local arch=$1 p v f dir
	shift
	apt_ready "$arch"
	dir=$cache_root/debs-$arch
	mkdir -p "$dir"
	mapfile -t o < <(apt_opts "$arch")
	for p in "$@"; do
		v=$(pkg_version "$arch" "$p")
		if [ -z "$v" ]; then
			apt_update "$arch"
			v=$(pkg_version "$arch" "$p")
		fi
		[ -n "$v" ] || die "no package $p for $arch"
		# a real package name behind a virtual or meta one is fine: apt names the file
		f=$(find "$dir" -maxdepth 1 -name "${p}_${v/:/%3a}_*.deb" -print -quit)
		if [ -z "$f" ]; then
			# A mirror may list a version (a security update) whose file it
			# does not have: update once, then take the newest one it serves.
			if ! download "$dir" "$p" "$v"; then
				apt_update "$arch"
				for v in $(pkg_versions "$arch" "$p") ""; do
					[ -z "$v" ] || ! download "$dir" "$p" "$v" || break
				done
				[ -n "$v" ] || die "apt-get download $p ($arch) failed: $(tail -n 2 "$dir/.download.err")"
			fi
			f=$(find "$dir" -maxdepth 1 -name "${p}_${v/:/%3a}_*.deb" -print -quit)
			[ -n "$f" ] || die "apt-get download $p ($arch) made no ${p}_${v/:/%3a}_*.deb"
		fi
		echo "$f"
	done
}

# fetch DEBARCH DIR PKG...: unpack into DIR; a stamp file per .deb makes a
# repeated call free.
fetch() {
	local arch=$1 out=$2 f
	shift 2
	mkdir -p "$out"
	while read -r f; do
		[ -f "$out/.unpacked-$(basename "$f")" ] && continue
		dpkg-deb -x "$f" "$out"
		: >"$out/.unpacked-$(basename "$f")"
	done < <(debs "$arch" "$@")
	echo "$out"
}

# ---- toolchain ------------------------------------------------------------
toolchain() {
	local arch=$1 gnu=$2 musl gcc tc sysroot want specs ld
	gcc=$gnu-gcc
	command -v "$gcc" >/dev/null || die "no $gcc: install gcc-$gnu (mk/setup.sh cross)"
	case $gnu in
	*-gnueabihf) musl=${gnu%-gnueabihf}-musleabihf ;;
	*-gnueabi) musl=${gnu%-gnueabi}-musleabi ;;
	*) musl=${gnu%-gnu}-musl ;;
	esac
	tc=$cache_root/toolchains/$musl
	sysroot=$tc/sysroot
	apt_ready "$arch"
	want="musl-dev=$(pkg_version "$arch" musl-dev) linux-libc-dev=$(pkg_version "$arch" linux-libc-dev) gcc=$("$gcc" -dumpversion) script=2"
	if [ "$(cat "$tc/stamp" 2>/dev/null)" = "$want" ] && [ -x "$tc/bin/$musl-gcc" ]; then
		echo "$tc/bin/$musl-gcc"
		return 0
	fi
	mkdir -p "$cache_root/toolchains"
	exec 9>"$cache_root/toolchains/.lock-$musl"
	flock 9
	rm -rf "$tc.new"
	mkdir -p "$tc.new/bin"
	local s=$tc.new/sysroot
	while read -r f; do dpkg-deb -x "$f" "$s"; done < <(debs "$arch" musl-dev linux-libc-dev)
	[ -f "$s/usr/lib/$musl/libc.a" ] || die "musl-dev:$arch has no usr/lib/$musl/libc.a"
	[ -d "$s/usr/include/$gnu/asm" ] || die "linux-libc-dev:$arch has no usr/include/$gnu/asm"
	mkdir -p "$s/kinclude"
	ln -s ../usr/include/linux "$s/kinclude/linux"
	ln -s ../usr/include/asm-generic "$s/kinclude/asm-generic"
	ln -s "../usr/include/$gnu/asm" "$s/kinclude/asm"
	ld=$(sed -n 's/.*-dynamic-linker \([^ ]*\).*/\1/p' "$s/usr/lib/$musl/musl-gcc.specs" 2>/dev/null || true)
	[ -n "$ld" ] || ld=/lib/ld-musl-${musl%%-*}.so.1
	# As Debian's musl-gcc.specs, with this sysroot: musl's headers, then
	# the kernel's UAPI headers, then gcc's own; musl's crt files and libc.
	specs=$tc.new/$musl.specs
	cat >"$specs" <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $sysroot/usr/include/$musl -isystem $sysroot/kinclude -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $sysroot/usr/include/$musl -isystem $sysroot/kinclude -isystem include%s

*link_libgcc:
-L$sysroot/usr/lib/$musl -L .%s

*libgcc:
libgcc.a%s %:if-exists(libgcc_eh.a%s)

*startfile:
%{!shared: $sysroot/usr/lib/$musl/Scrt1.o} $sysroot/usr/lib/$musl/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s $sysroot/usr/lib/$musl/crtn.o

*link:
-dynamic-linker $ld -nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}

EOF
	printf '#!/bin/sh\nexec "${REALGCC:-%s}" "$@" -specs "%s"\n' "$gcc" "$tc/$musl.specs" >"$tc.new/bin/$musl-gcc"
	chmod 755 "$tc.new/bin/$musl-gcc"
	for t in ar ranlib strip nm objcopy readelf size; do
		ln -s "$(command -v "$gnu-$t")" "$tc.new/bin/$musl-$t"
	done
	echo "$want" >"$tc.new/stamp"
	rm -rf "$tc"
	mv "$tc.new" "$tc"
	echo "cross: made $tc/bin/$musl-gcc ($want)" >&2
	# a smoke test: a static hello links
	printf '#include <stdio.h>\n#include <linux/rtnetlink.h>\nint main(void){puts("hi");return 0;}\n' |
		"$tc/bin/$musl-gcc" -static -x c - -o "$tc/hello" || die "the $musl toolchain cannot link a static program"
	echo "$tc/bin/$musl-gcc"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
fetch) [ $# -ge 3 ] || die "usage: fetch DEBARCH DIR PKG..."; fetch "$@" ;;
debs) [ $# -ge 2 ] || die "usage: debs DEBARCH PKG..."; debs "$@" ;;
toolchain) [ $# = 2 ] || die "usage: toolchain DEBARCH GNU-TRIPLET"; toolchain "$@" ;;
depends) [ $# = 2 ] || die "usage: depends DEBARCH PKG"; apt_ready "$1"; depends "$@" ;;
closure) [ $# -ge 2 ] || die "usage: closure DEBARCH PKG..."; apt_ready "$1"; closure "$@" ;;
version) [ $# = 2 ] || die "usage: version DEBARCH PKG"; apt_ready "$1"; pkg_version "$1" "$2" ;;
*) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 2 ;;
esac
