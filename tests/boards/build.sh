#!/bin/bash
# tests/boards/build.sh BOARD [NAME FEATURES]: build BOARD (make BOARD=BOARD,
# or with FEATURES into build/boards/BOARD/minidock-NAME), check with file(1)
# that the binary is static, stripped and of the board's architecture, that
# it runs (under qemu-user) and says so, and print "BOARD NAME BYTES KIB
# FEATURES". Exits 1 when a check fails or the full-feature binary is over
# the size budget: 1 MiB (1.5 MiB on MIPS, whose code is larger).
set -euo pipefail
# shellcheck source=tests/boards/lib.sh
. "$(dirname "$0")/lib.sh"
BOARD=${1:?usage: build.sh BOARD [NAME FEATURES]}
NAME=${2:-full}
FEATURES=${3:-}
dir=build/boards/$BOARD
cd "$REPO" || exit 1
if [ "$NAME" = full ]; then
	out=$dir/minidock
	make -s BOARD="$BOARD" >"/tmp/md-build-$BOARD.log" 2>&1 || { cat "/tmp/md-build-$BOARD.log" >&2; exit 1; }
else
	out=$dir/minidock-$NAME
	make -s BOARD="$BOARD" FEATURES="$FEATURES" OUT="$out" FLAGS_STAMP="$dir/minidock-$NAME.flags" \
		>"/tmp/md-build-$BOARD.log" 2>&1 || { cat "/tmp/md-build-$BOARD.log" >&2; exit 1; }
fi
desc=$(file -b "$out")
fail=""
case $desc in *"statically linked"*) ;; *) fail="$fail not-static" ;; esac
case $desc in *", stripped"*) ;; *) fail="$fail not-stripped" ;; esac
case $desc in *"$(board_file_arch "$BOARD")"*) ;; *) fail="$fail wrong-arch" ;; esac
run=$(board_run "$BOARD")
ver=$($run "$out" version 2>&1) || fail="$fail does-not-run"
feats=$(sed -n 's/^features: //p' <<<"$ver")
bytes=$(stat -c %s "$out")
echo "$BOARD $NAME $bytes $(( (bytes + 1023) / 1024 )) $feats"
echo "    $out: $desc" >&2
if [ "$NAME" = full ]; then
	limit=1048576
	[ "$(board_var "$BOARD" ARCH)" = mipsel ] && limit=1572864
	[ "$bytes" -le "$limit" ] || fail="$fail over-$((limit / 1024))KiB"
fi
[ -z "$fail" ] || { echo "build: $BOARD $NAME:$fail" >&2; exit 1; }
