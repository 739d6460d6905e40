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
# Tests marked `# native:` are not run under qemu (MD_TEST_EMULATED): those
# that start containers (the monitor is the binary exec'd again, and this
# machine has no binfmt_misc entry for a foreign one) and those that count
# system calls with strace (it would trace qemu).  The VM test runs
# containers on each board's kernel.
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
if [ "\${1:-}" = load ]; then
	shift
	set -- load --platform linux/amd64 "\$@"
fi
exec $run "$dir/minidock" "\$@"
WRAP
chmod 755 "$dir/minidock-user"
echo "# $BOARD: tests/run.sh 10-images 11-hostile 12-crash with MINIDOCK=$dir/minidock-user"
MINIDOCK=$dir/minidock-user MD_TEST_LOGDIR=$dir/user-logs MD_TEST_EMULATED=$run \
	bash tests/run.sh 10-images 11-hostile 12-crash
