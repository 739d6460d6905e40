# shellcheck shell=bash
# Boards (board-configs/, tests/boards/): for every board, the cross build
# (full, "-pull -tls" and "none" feature sets: static, stripped, the board's
# architecture, within the size budget), its unit and image tests under
# qemu-user, and a VM booting the architecture's Debian kernel that runs
# containers (overlay root, namespaces, cgroup limits, bridge networking and
# a published port, an overlay root's fallback, a preloaded store, a
# read-only root). `make check-boards` runs the same scripts on their own.
#
# Cold (nothing cached) a board costs about 4 minutes, most of it building
# its dependencies once (mk/deps.sh, cached in $MD_DEPS_CACHE) and fetching
# its kernel; warm about 2. Logs: build/boards/ and each test's log.

_board() {   # STEP BOARD [ARGS]
    local step=$1 b=$2
    shift 2
    bash "$MD_REPO/mk/setup.sh" boards >&2 || fail "mk/setup.sh boards failed"
    bash "$MD_REPO/tests/boards/$step.sh" "$b" "$@"
}
_build() {   # BOARD: the three feature sets
    _board build "$1"
    _board build "$1" nopull "-pull -tls"
    _board build "$1" none none
}

# timeout: 1200
test_build_generic_x86_64() { _build generic-x86_64; }
# timeout: 1200
test_build_generic_arm64() { _build generic-arm64; }
# timeout: 1200
test_build_rpi_armhf() { _build rpi-armhf; }
# timeout: 1200
test_build_openwrt_mipsel() { _build openwrt-mipsel; }
# timeout: 1200
test_build_openwrt_aarch64() { _build openwrt-aarch64; }

# timeout: 900
test_user_generic_arm64() { require_root; _board user generic-arm64; }
# timeout: 900
test_user_rpi_armhf() { require_root; _board user rpi-armhf; }
# timeout: 900
test_user_openwrt_mipsel() { require_root; _board user openwrt-mipsel; }
# timeout: 900
test_user_openwrt_aarch64() { require_root; _board user openwrt-aarch64; }

# timeout: 900
test_vm_generic_x86_64() { _board vm generic-x86_64; }
# timeout: 900
test_vm_generic_arm64() { _board vm generic-arm64; }
# timeout: 900
test_vm_rpi_armhf() { _board vm rpi-armhf; }
# timeout: 900
test_vm_openwrt_mipsel() { _board vm openwrt-mipsel; }

# Buildroot's way (examples/buildroot): DEPS=system against a staging
# sysroot found through pkg-config (PKG_CONFIG_LIBDIR, PKG_CONFIG_SYSROOT_DIR),
# the cross compiler given as CC, static; with and without TLS; without
# BearSSL's .pc (Buildroot's bearssl installs none).
# timeout: 900
test_deps_system_cross_sysroot() {
    bash "$MD_REPO/mk/setup.sh" boards >&2
    make -s -C "$MD_REPO" BOARD=generic-arm64 deps >&2
    local entry cc S pc
    entry=$(readlink -f "$MD_REPO/build/deps-board-generic-arm64")
    cc=$(bash "$MD_REPO/mk/cross.sh" toolchain arm64 aarch64-linux-gnu)
    S=$T/staging
    mkdir -p "$S/usr/include" "$S/usr/lib/pkgconfig"
    cp -a "$entry/include/." "$S/usr/include/"
    cp "$entry"/lib/*.a "$S/usr/lib/"
    for pc in libarchive:archive zlib:z libzstd:zstd yaml-0.1:yaml; do
        printf 'prefix=/usr\nlibdir=${prefix}/lib\nincludedir=${prefix}/include\nName: %s\nDescription: staged\nVersion: 1\nLibs: -L${libdir} -l%s\nCflags: -I${includedir}\n' \
            "${pc%%:*}" "${pc#*:}" >"$S/usr/lib/pkgconfig/${pc%%:*}.pc"
    done
    _sysroot_build() {   # OUT [make args]
        local out=$1
        shift
        PKG_CONFIG_LIBDIR=$S/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$S \
            make -s -C "$MD_REPO" DEPS=system WERROR=0 CC="$cc" AR=aarch64-linux-gnu-ar \
            RANLIB=aarch64-linux-gnu-ranlib CPPFLAGS="-I$S/usr/include" LDFLAGS="-L$S/usr/lib -static" \
            OUT="$out" FLAGS_STAMP="$T/$(basename "$out").flags" "$@" >&2
        assert_contains "$(file -b "$out")" "ARM aarch64"
        assert_contains "$(file -b "$out")" "statically linked"
        qemu-aarch64-static "$out" version
    }
    assert_contains "$(_sysroot_build "$T/minidock")" "+tls"
    # BearSSL stays a dependency without TLS: its SHA-256 is minidock's
    # portable one
    assert_contains "$(_sysroot_build "$T/minidock-notls" FEATURES="-pull -tls")" "-tls"
}
