#!/usr/bin/env bash
# tests/run.sh [PATTERN...]: run minidock's tests and print one line per test.
#
#  1. The C unit tests: `make -s unit` builds build/unit-tests from
#     tests/unit.c, which prints `ok - NAME` / `not ok - NAME` lines (a
#     `# SKIP reason` after the name marks a skip).  Reported as unit:NAME.
#  2. Every tests/integration/*.sh in sorted order.  Such a file only defines
#     functions; each test_* function runs, in definition order, in its own
#     bash with `set -eu -o pipefail`, tests/lib.sh sourced, cwd and $T a
#     fresh /tmp/mdtest.XXXXXX, MINIDOCK_ROOT=$T/root,
#     MINIDOCK_RUNROOT=$T/run.  Afterwards whatever is mounted under $T is
#     unmounted, processes it left are killed, and $T is removed.
#     Reported as FILE:FUNCTION, FILE without its .sh.
#
# PATTERN: run only tests whose name contains one of the patterns; the unit
# tests are built and run only when no pattern is given or one starts with
# "unit".
#
# Environment:
#   MINIDOCK            binary under test (default: the checkout's ./minidock)
#   MINIDOCK_MINIMAL    the minimal build (default: build/minimal/minidock)
#   MD_TEST_STRICT=1    a skip counts as a failure (CI sets it)
#   MD_TEST_TIMEOUT     default timeout per test in seconds (300); a line
#                       `# timeout: N` in the comment right above a
#                       function overrides it
#   MD_TEST_EMULATED    the binary runs under this emulator (qemu-user, set
#                       by tests/boards/user.sh): tests whose comment has a
#                       line `# native: WHY` are listed as NATIVE, not run
#   MD_TEST_TIMEOUT_SCALE  integer factor for every timeout (slow boards)
#   MD_TEST_LOGDIR      where the logs go (default: build/test-logs)
#   MD_TEST_KEEP=1      keep each test's $T (mounts are still undone)
#   MD_FIXTURES         image fixture cache (default /var/tmp/minidock-fixtures)
#
# Output: PASS/FAIL/SKIP/NATIVE lines (a FAIL is followed by the end of its log),
# then `N skipped` when there were skips, and last `N passed, N failed`.
# Exit status 1 when anything failed.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
LIB=$HERE/lib.sh
export MD_REPO=$REPO MD_TOOLS=$HERE/tools
MINIDOCK=$(realpath -m "${MINIDOCK:-$REPO/minidock}")
MINIDOCK_MINIMAL=$(realpath -m "${MINIDOCK_MINIMAL:-$REPO/build/minimal/minidock}")
export MINIDOCK MINIDOCK_MINIMAL
STRICT=${MD_TEST_STRICT:-0}
DEFAULT_TIMEOUT=${MD_TEST_TIMEOUT:-300}
EMULATED=${MD_TEST_EMULATED:-}
SCALE=${MD_TEST_TIMEOUT_SCALE:-1}
LOGDIR=$(realpath -m "${MD_TEST_LOGDIR:-$REPO/build/test-logs}")
PATTERNS=("$@")

npass=0 nfail=0 nskip=0 nnative=0
CUR_PID='' CUR_T=''

selected() {
    local p
    [ ${#PATTERNS[@]} = 0 ] && return 0
    for p in "${PATTERNS[@]}"; do
        case $1 in *"$p"*) return 0 ;; esac
    done
    return 1
}

show_log() {   # FILE: its last 30 lines, indented
    [ -s "$1" ] && tail -n 30 "$1" | sed 's/^/    /'
    return 0
}

pass() { echo "PASS  $1"; npass=$((npass + 1)); }
failed() { echo "FAIL  $1${2:+ ($2)}"; nfail=$((nfail + 1)); }
skipped() {
    if [ "$STRICT" = 1 ]; then
        failed "$1" "skipped in strict mode: $2"
    else
        echo "SKIP  $1 ($2)"
        nskip=$((nskip + 1))
    fi
}

# Unmount everything under $1, deepest first; lazy, so a busy mount goes.
unmount_under() {
    local dir=$1 mp
    for _ in 1 2 3 4 5; do
        mapfile -t mps < <(
            while read -r _ _ _ _ mp _; do
                mp=$(printf '%b' "$mp")      # mountinfo escapes " " as \040
                case $mp in "$dir" | "$dir"/*) echo "$mp" ;; esac
            done </proc/self/mountinfo | awk '{ print gsub("/", "/") "\t" $0 }' |
                sort -rn | cut -f2-
        )
        [ ${#mps[@]} = 0 ] && return 0
        for mp in "${mps[@]}"; do
            umount -l "$mp" 2>/dev/null
        done
    done
    return 1
}

cleanup_test() {   # PGID T
    [ -n "$1" ] && kill -KILL -- "-$1" 2>/dev/null
    if [ -n "$2" ] && [ -d "$2" ]; then
        if ! unmount_under "$2"; then
            echo "    warning: mounts left under $2" >&2
            return 1
        fi
        [ "${MD_TEST_KEEP:-0}" = 1 ] || rm -rf "$2"
    fi
    return 0
}

on_signal() {
    trap - INT TERM
    [ -n "$CUR_PID" ] && kill -TERM -- "-$CUR_PID" 2>/dev/null
    sleep 1
    cleanup_test "$CUR_PID" "$CUR_T"
    echo "interrupted" >&2
    exit 130
}
trap on_signal INT TERM

# ---- 1. unit tests
run_unit() {
    local log=$LOGDIR/unit.log rc=0 line name reason i
    if [ ! -f "$REPO/Makefile" ] || [ ! -f "$HERE/unit.c" ]; then
        skipped unit "no Makefile or tests/unit.c yet"
        return
    fi
    if ! make -C "$REPO" -s unit >"$LOGDIR/unit-build.log" 2>&1; then
        failed unit:build "make -s unit failed"
        show_log "$LOGDIR/unit-build.log"
        return
    fi
    if [ ! -x "$REPO/build/unit-tests" ]; then
        failed unit:build "make unit made no build/unit-tests"
        return
    fi
    # "; exit" keeps the subshell alive to report a crash into the log
    (cd "$REPO" && timeout -k 10 "$((DEFAULT_TIMEOUT * SCALE))" build/unit-tests; exit) \
        </dev/null >"$log" 2>&1 || rc=$?
    mapfile -t lines <"$log"
    local nlines=${#lines[@]} ran=0 nfailed=0 prev=-1 prev_result=-1
    for ((i = 0; i < nlines; i++)); do
        line=${lines[i]}
        case $line in
        "ok - "* | "not ok - "*)
            ran=$((ran + 1))
            ((prev_result = prev, prev = i)) || true
            name=${line#*ok - }
            reason=
            case $name in *" # SKIP"*)
                reason=${name#*# SKIP}
                reason=${reason# }
                name=${name%% # SKIP*} ;;
            esac
            [ "${line%% *}" = not ] && nfailed=$((nfailed + 1))
            selected "unit:$name" || continue
            if [ "${line%% *}" = not ]; then
                failed "unit:$name"
                # its diagnostics: the other lines since the previous
                # result, and those up to the next one (TAP puts them after)
                local j
                for ((j = prev_result + 1; j < i; j++)); do
                    echo "    ${lines[j]}"
                done
                for ((j = i + 1; j < nlines; j++)); do
                    case ${lines[j]} in
                    "ok - "* | "not ok - "* | "# "[0-9]*" passed"*) break ;;
                    esac
                    echo "    ${lines[j]}"
                done
            elif [ -n "$reason" ] || [[ $line == *" # SKIP"* ]]; then
                skipped "unit:$name" "${reason:-no reason}"
            else
                pass "unit:$name"
            fi
            ;;
        esac
    done
    if [ "$ran" = 0 ]; then
        failed unit "build/unit-tests printed no result (exit $rc)"
        show_log "$log"
    elif [ "$rc" != 0 ] && [ "$nfailed" = 0 ]; then
        failed unit:exit "build/unit-tests exited $rc"
        show_log "$log"
    fi
}

# ---- 2. integration tests
list_tests() {   # FILE -> "LINE NAME" lines, in definition order
    bash -c '
        shopt -s extdebug
        . "$1" || exit 3
        . "$2" || exit 3
        declare -F | while read -r _ _ f; do
            case $f in test_*) declare -F "$f" ;; esac
        done' list "$LIB" "$1" </dev/null 2>"$LOGDIR/list.err" |
        awk -v f="$1" '$3 == f { print $2, $1 }' | sort -n
}

# test_note FILE LINE KEY: the value of a `# KEY: VALUE` line in the
# comment block right above the function at LINE (empty when none).
test_note() {
    local i=$(($2 - 1)) l
    while [ "$i" -ge 1 ]; do
        l=$(sed -n "${i}p" "$1")
        [[ $l =~ ^[[:space:]]*# ]] || break
        if [[ $l =~ ^[[:space:]]*#[[:space:]]*$3:[[:space:]]*(.*)$ ]]; then
            echo "${BASH_REMATCH[1]}"
            return 0
        fi
        i=$((i - 1))
    done
}

test_timeout() {   # FILE LINE -> seconds
    local t
    t=$(test_note "$1" "$2" timeout)
    [[ $t =~ ^([0-9]+) ]] && t=${BASH_REMATCH[1]} || t=$DEFAULT_TIMEOUT
    echo $((t * SCALE))
}

run_test() {   # FILE FUNCTION TIMEOUT NAME
    local file=$1 fn=$2 to=$3 name=$4 log rc=0 start end reason
    log=$LOGDIR/${name%%:*}/$fn.log
    mkdir -p "${log%/*}"
    CUR_T=$(mktemp -d /tmp/mdtest.XXXXXX)
    local skipfile=$CUR_T.skip
    rm -f "$skipfile"
    start=$(date +%s)
    T=$CUR_T MINIDOCK_ROOT=$CUR_T/root MINIDOCK_RUNROOT=$CUR_T/run \
        MD_SKIP_FILE=$skipfile MD_TEST_NAME=$name \
        timeout -k 10 "$to" bash -c '
            set -eEu -o pipefail
            trap '\''echo "FAIL: exit $? from: $BASH_COMMAND (${BASH_SOURCE[0]##*/}:$LINENO)" >&2'\'' ERR
            cd "$T"
            . "$1"
            . "$2"
            "$3"' "$name" "$LIB" "$file" "$fn" </dev/null >"$log" 2>&1 &
    CUR_PID=$!
    wait "$CUR_PID" || rc=$?
    end=$(date +%s)
    local keep=$CUR_T
    cleanup_test "$CUR_PID" "$CUR_T" || { [ "$rc" = 0 ] && rc=leak; }
    CUR_PID='' CUR_T=''
    if [ "$rc" = 0 ]; then
        pass "$name"
    elif [ "$rc" = 77 ] && [ -f "$skipfile" ]; then
        reason=$(head -n 1 "$skipfile")
        skipped "$name" "${reason:-no reason}"
    elif [ "$rc" = leak ]; then
        failed "$name" "left mounts under $keep"
        show_log "$log"
    elif { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ $((end - start)) -ge "$to" ]; then
        failed "$name" "timed out after ${to}s"
        show_log "$log"
    else
        failed "$name"
        show_log "$log"
    fi
    rm -f "$skipfile"
}

mkdir -p "$LOGDIR"

run_unit_tests=0
if [ ${#PATTERNS[@]} = 0 ]; then
    run_unit_tests=1
else
    for p in "${PATTERNS[@]}"; do
        case $p in unit*) run_unit_tests=1 ;; esac
    done
fi
[ "$run_unit_tests" = 1 ] && run_unit

# The machine's own network namespace is not the tests' to change: its
# links before, compared with after (a test that let a container onto a
# bridge outside its own namespaces fails the run)
host_links() {
    {
        ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
        { nft list tables 2>/dev/null || true; } | sed 's/^/nftables /'
    } | sort
}
links_before=$(host_links)

for file in "$HERE"/integration/*.sh; do
    [ -f "$file" ] || continue
    base=$(basename "$file" .sh)
    tests=$(list_tests "$file")
    if [ -s "$LOGDIR/list.err" ]; then
        failed "$base" "sourcing it printed errors"
        show_log "$LOGDIR/list.err"
        continue
    fi
    [ -n "$tests" ] || continue
    while read -r line fn; do
        name=$base:$fn
        selected "$name" || continue
        # the line of "NAME() {" itself: bash's own line number is off for a
        # function that defines another inside it
        def=$(grep -n -m1 "^$fn() *{" "$file" | cut -d: -f1)
        line=${def:-$line}
        if [ -n "$EMULATED" ] && native=$(test_note "$file" "$line" native) && [ -n "$native" ]; then
            echo "NATIVE  $name (not run under $EMULATED: $native)"
            nnative=$((nnative + 1))
            continue
        fi
        run_test "$file" "$fn" "$(test_timeout "$file" "$line")" "$name"
    done <<<"$tests"
done

if [ "${#PATTERNS[@]}" = 0 ] || [ "$npass$nfail" != 00 ]; then
    new_links=$(comm -13 <(echo "$links_before") <(host_links) | tr '\n' ' ')
    if [ -n "${new_links// /}" ]; then
        failed "host-network-untouched" "links or nftables tables appeared in the machine's own network namespace: $new_links"
    else
        pass "host-network-untouched"
    fi
fi
[ "$nskip" -gt 0 ] && echo "$nskip skipped"
[ "$nnative" -gt 0 ] && echo "$nnative not run under $EMULATED (native only)"
echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
