#!/bin/bash
# tests/boards/user.sh BOARD: the board's cross build under qemu-user: its
# unit tests (make BOARD=BOARD unit -> build/boards/BOARD/unit-tests) and the
# image tests of tests/integration (10-images: load, unpack and tree compare
# against umoci's unpack, system check; 11-hostile; 12-crash) with MINIDOCK
# set to a wrapper that runs the cross binary under qemu-ARCH-static.
#
# The fixtures are linux/amd64 images; the wrapper adds `--platform
# linux/amd64` to `load` so that a multi-platform index is read as on the
# machine they were made for (a cross binary would otherwise look for its
# own platform in them, as it should on the board).
#
# Then 13-flash, the fsync budget of each container command (issue 18),
# with containers started by the cross binary: board_binfmt registers a
# binfmt_misc entry for the board's qemu for the time of the run, so the
# binary can exec itself as the container's monitor; strace counts the sync
# calls qemu makes for it (one host call per emulated one; qemu makes none of
# its own). qemu-user refuses seccomp filters, so the wrapper adds
# `--security-opt seccomp=unconfined` to `run` and `create`.
#
# Tests marked `# native:` are not run under qemu (MD_TEST_EMULATED): those
# that need what qemu-user does not emulate (seccomp, ptrace of the emulated
# process, exec into a container), or that count other system calls than
# the sync ones with strace.  The VM test runs containers on each board's
# kernel.
set -euo pipefail
# shellcheck source=tests/boards/lib.sh
. "$(dirname "$0")/lib.sh"
BOARD=${1:?usage: user.sh BOARD}
cd "$REPO" || exit 1
run=$(board_run "$BOARD")
dir=$REPO/build/boards/$BOARD
make -s BOARD="$BOARD" all unit >"$dir.user-make.log" 2>&1 || { cat "$dir.user-make.log" >&2; exit 1; }
rm -f "$dir.user-make.log"
echo "# $BOARD: unit tests${run:+ under $run}"
rc=0
(cd "$REPO" && $run "$dir/unit-tests") >"$dir/unit.log" 2>&1 || rc=$?
grep -E '^(not ok|# )' "$dir/unit.log" || true
if [ "$rc" != 0 ] || grep -q '^not ok' "$dir/unit.log" || ! grep -q '^ok' "$dir/unit.log"; then
	echo "user: $BOARD: unit tests failed (exit $rc; log $dir/unit.log)" >&2
	exit 1
fi
cat >"$dir/minidock-user" <<WRAP
#!/bin/sh
# runs $BOARD's minidock here (tests/boards/user.sh)
case "\${1:-}" in
load) shift; set -- load --platform linux/amd64 "\$@" ;;
run | create) c=\$1; shift; set -- "\$c" --security-opt seccomp=unconfined "\$@" ;;
esac
exec $run "$dir/minidock" "\$@"
WRAP
chmod 755 "$dir/minidock-user"
binfmt=$(board_binfmt "$BOARD") || { echo "user: $BOARD: cannot register a binfmt_misc entry for $run" >&2; exit 1; }
trap 'board_binfmt_off "$binfmt"' EXIT
echo "# $BOARD: tests/run.sh 10-images 11-hostile 12-crash 13-flash with MINIDOCK=$dir/minidock-user${binfmt:+ (binfmt_misc: $binfmt)}"
MINIDOCK=$dir/minidock-user MD_TEST_LOGDIR=$dir/user-logs MD_TEST_EMULATED=$run \
	bash tests/run.sh 10-images 11-hostile 12-crash 13-flash
