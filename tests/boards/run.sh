#!/bin/bash
# tests/boards/run.sh [STEP...] [BOARD...]: `make check-boards`.
#
# For every board (default: all of tests/boards/lib.sh's BOARDS_ALL), the
# steps (default: all, in this order):
#   build   build.sh: the full build and two smaller ones (FEATURES
#           "-pull -tls" and "none"); static, stripped, right arch, runs,
#           within the size budget. The sizes go to build/boards/sizes.txt.
#   user    user.sh: unit tests and image tests under qemu-user
#   vm      vm.sh: containers in a VM booting the arch's Debian kernel
#   firmware  (once, not per board) tests/integration/91-firmware.sh: the
#           OpenWrt init script and UCI, sysvinit/systemd, preloading for
#           other platforms, read-only root, overlay root
# Prints PASS/FAIL lines, a FAIL followed by the end of its log (all logs in
# build/boards/logs/), then `boards: N passed, N failed`. Exit 1 on a failure.
#
# tests/integration/90-boards.sh runs the same steps as tests of the main
# suite, so .ci/run's single summary line counts them.
set -uo pipefail
# shellcheck source=tests/boards/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO" || exit 1

steps="" boards=""
for a in "$@"; do
	case $a in
	build | user | vm | firmware) steps="$steps $a" ;;
	*) [ -f "board-configs/$a.mk" ] || { echo "boards: unknown step or board '$a'" >&2; exit 2; }
	   boards="$boards $a" ;;
	esac
done
steps=${steps:-build user vm firmware}
boards=${boards:-$BOARDS_ALL}
logs=build/boards/logs
mkdir -p "$logs"
bash mk/setup.sh boards || exit 1

npass=0 nfail=0
step() {   # NAME CMD...: run CMD with its output in the log, report
	local name=$1 log=$logs/${1//[:\/]/_}.log start rc=0
	shift
	start=$(date +%s)
	"$@" >"$log" 2>&1 </dev/null || rc=$?
	if [ "$rc" = 0 ]; then
		echo "PASS  $name ($(($(date +%s) - start)) s)"
		npass=$((npass + 1))
	else
		echo "FAIL  $name (exit $rc after $(($(date +%s) - start)) s; log $log)"
		tail -n 30 "$log" | sed 's/^/    /'
		nfail=$((nfail + 1))
	fi
}

sizes_tmp=$(mktemp)
for b in $boards; do
	for s in $steps; do
		case $s in
		build)
			step "build:$b" bash tests/boards/build.sh "$b" &&
				grep -E "^$b " "$logs/build_$b.log" >>"$sizes_tmp"
			step "build:$b:nopull" bash tests/boards/build.sh "$b" nopull "-pull -tls" &&
				grep -E "^$b " "$logs/build_${b}_nopull.log" >>"$sizes_tmp"
			step "build:$b:none" bash tests/boards/build.sh "$b" none "none" &&
				grep -E "^$b " "$logs/build_${b}_none.log" >>"$sizes_tmp"
			;;
		user) step "user:$b" bash tests/boards/user.sh "$b" ;;
		vm) step "vm:$b" bash tests/boards/vm.sh "$b" ;;
		esac
	done
done
case " $steps " in *" firmware "*) step "firmware" bash tests/run.sh 91-firmware ;; esac
if [ -s "$sizes_tmp" ]; then
	{ echo "# stripped, static (tests/boards/run.sh build)"
	  { echo "board build bytes KiB features"; cat "$sizes_tmp"; } | column -t; } >build/boards/sizes.txt
	echo "sizes (build/boards/sizes.txt):"
	sed 's/^/    /' build/boards/sizes.txt
fi
rm -f "$sizes_tmp"
echo "boards: $npass passed, $nfail failed"
[ "$nfail" = 0 ]
