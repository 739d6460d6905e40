#!/bin/sh
# mk/setup.sh GROUP... -- install the Debian packages a minidock task needs.
#
# Groups:
#   build   what `make` needs to build the static deps and ./minidock
#   system  build + the distribution's -dev libraries (for `make DEPS=system`)
#   test    build + runtimes, tools and libraries that tests/run.sh uses
#   demo    build + busybox-static (for `make demo`)
#   fuzz    clang, libFuzzer's runtime and the -dev libraries (for `make fuzz`)
#   boards  build + Debian's cross compilers (the musl side comes from
#           mk/cross.sh), qemu-user-static and qemu-system for
#           `make BOARD=...` and `make check-boards`
#
# Packages that are already installed are skipped, so a repeated run only
# costs a dpkg-query. `apt-get update` runs at most once, and only when
# something has to be installed. Needs root when it installs anything.
set -eu

usage() { echo "usage: mk/setup.sh build|system|test|demo|fuzz|boards..." >&2; exit 2; }
[ $# -gt 0 ] || usage

build_pkgs="musl-tools musl-dev cmake make gcc dpkg-dev ca-certificates pkg-config file"
devlib_pkgs="libarchive-dev libbearssl-dev libzstd-dev zlib1g-dev libyaml-dev"

want=""
for group in "$@"; do
	case $group in
	build)	want="$want $build_pkgs" ;;
	system)	want="$want $build_pkgs $devlib_pkgs" ;;
	test)	want="$want $build_pkgs umoci skopeo podman crun runc python3 attr
		      busybox-static jq e2fsprogs util-linux iproute2 nftables iptables
		      clang $devlib_pkgs bats zstd libcap2-bin docker-registry
		      apache2-utils openssl curl iperf3 bsdutils dnsmasq-base python3-docker
		      python3-cryptography python3-pytest python3-pytest-timeout
		      python3-requests python3-paramiko python3-websocket python3-yaml
		      docker-compose podman-compose"
		# the docker CLI for the API tests: this machine kind ships one;
		# else Debian's docker.io has it
		command -v docker >/dev/null 2>&1 || want="$want docker.io" ;;
	demo)	want="$want $build_pkgs busybox-static" ;;
	fuzz)	want="$want clang $devlib_pkgs libclang-rt-14-dev?" ;;
	boards)	want="$want $build_pkgs gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
		      gcc-mipsel-linux-gnu qemu-user-static qemu-system-x86 qemu-system-arm
		      qemu-system-mips cpio python3 xz-utils" ;;
	*)	usage ;;
	esac
done

export DEBIAN_FRONTEND=noninteractive
updated=no
apt_update() {
	[ $updated = yes ] && return 0
	apt-get update -q
	updated=yes
}

# One dpkg-query for all packages: "name status" lines for those dpkg knows.
# shellcheck disable=SC2046 # one word per package
have=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $(echo "$want" | tr -d '?') 2>/dev/null |
	awk '$2 == "installed" { printf " %s", $1 }')
installed() {
	case "$have " in *" $1 "*) return 0 ;; esac
	return 1
}

# A trailing "?" marks a package that is installed only if this release has it.
missing=""
for p in $want; do
	optional=no
	case $p in *\?) p=${p%\?}; optional=yes ;; esac
	case " $missing " in *" $p "*) continue ;; esac
	installed "$p" && continue
	if [ $optional = yes ]; then
		apt-cache show "$p" >/dev/null 2>&1 || { apt_update >/dev/null 2>&1; apt-cache show "$p" >/dev/null 2>&1; } || continue
	fi
	missing="$missing $p"
done

[ -n "$missing" ] || exit 0
echo "setup: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "setup: need root to install:$missing" >&2
	exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086 # one word per package
if ! { apt_update && apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "setup: apt-get failed installing:$missing" >&2
	exit 1
fi
