# shellcheck shell=bash
# Containers, part 4: the life of a container without a daemon.  create,
# start (-a, -i), stop (-t, stop signals and timeouts), kill (-s), restart,
# rm (-f), ps (-a -q -s -n -l --no-trunc --filter --format), logs (-f
# --tail --since --until -t), exec (-i -t -d -e -u -w), wait, inspect,
# rename, container prune; restart policies and `boot` after a simulated
# reboot; the monitor or the foreground CLI killed with SIGKILL;
# healthchecks (--health-*, --no-healthcheck, an image's, ps's health).

# _monitor_pid ID: the PID of the container's monitor (its command line
# names the full ID), or nothing.
_monitor_pid() { pgrep -f "__monitor $1" || true; }

# _restart_count NAME
_restart_count() { md_ok inspect -f '{{.RestartCount}}' "$1"; }

_count_is() { [ "$("$MINIDOCK" inspect -f '{{.RestartCount}}' "$1" 2>/dev/null)" = "$2" ]; }

_rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'

test_create_start_attach() {
    ctr_setup
    bb_image
    id=$(md_ok create --network none --name made bb sh -c 'echo out; echo err >&2; exit 4')
    assert_match "$id" '^[0-9a-f]{64}$'
    assert_eq "$(ctr_state made)" created
    assert_eq "$(md_ok inspect -f '{{.State.Pid}} {{.State.StartedAt}}' made)" "0 0001-01-01T00:00:00Z"
    assert_match "$(md_ok ps -a --format '{{.Names}} {{.Status}}')" '^made Created$'
    assert_eq "$(md_ok ps -q)" "" "a created container is not running"
    # nothing runs and nothing is mounted before start
    assert_eq "$(grep -c "$id" /proc/self/mountinfo || true)" 0 "mounts of a created container"
    # start -a: the output, on the right streams, and the exit code
    rc=0
    md start -a made >"$T/out" 2>"$T/err" || rc=$?
    assert_eq "$rc" 4 "exit code of start -a"
    assert_eq "$(cat "$T/out")" out
    assert_eq "$(grep -v '^minidock' "$T/err")" err
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.State.ExitCode}}' made)" "exited 4"
    # start without -a prints the name and returns at once
    assert_eq "$(md_ok start made)" made
    md_ok wait made >/dev/null
    # start -ai feeds stdin to a container created with -i
    md_ok create --network none -i --name cat bb sh -c 'tr a-z A-Z' >/dev/null
    assert_eq "$(echo hello | md_ok start -ai cat)" HELLO
    # start of a running container is fine, of a missing one not
    md_ok create --network none --name long bb sleep 30 >/dev/null
    md_ok start long >/dev/null
    md_ok start long >/dev/null
    md_fail any start no-such-container
    assert_one_line_error
    md_ok rm -f made cat long >/dev/null
    assert_clean
}

test_stop_timeout_and_signals() {
    ctr_setup
    bb_image
    # sleep as PID 1 ignores SIGTERM: stop -t 1 kills it after a second
    md_ok run -d --network none --name deaf bb sleep 60 >/dev/null
    start=$(date +%s%N)
    md_ok stop -t 1 deaf >/dev/null
    ms=$((($(date +%s%N) - start) / 1000000))
    [ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "stop -t 1 took $ms ms"
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.State.ExitCode}}' deaf)" "exited 137"
    assert_match "$(md_ok inspect -f '{{.State.FinishedAt}}' deaf)" "$_rfc3339"
    # a process that handles SIGTERM exits with its own code, at once
    md_ok run -d --network none --name polite bb sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null
    start=$SECONDS
    md_ok stop polite >/dev/null
    [ $((SECONDS - start)) -lt 5 ] || fail "stop of a TERM-handling container took $((SECONDS - start)) s"
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' polite)" 7
    # --stop-signal, and --stop-timeout as the default of stop -t
    md_ok run -d --network none --name usr1 --stop-signal SIGUSR1 --stop-timeout 1 bb \
        sh -c 'trap "exit 8" USR1; trap "" TERM; while :; do sleep 0.1; done' >/dev/null
    md_ok stop usr1 >/dev/null
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}} {{.Config.StopSignal}}' usr1)" "8 SIGUSR1"
    md_ok run -d --network none --name quick --stop-timeout 1 bb sleep 60 >/dev/null
    start=$SECONDS
    md_ok stop quick >/dev/null
    [ $((SECONDS - start)) -lt 5 ] || fail "--stop-timeout 1 not used: stop took $((SECONDS - start)) s"
    assert_eq "$(md_ok inspect -f '{{.Config.StopTimeout}}' quick)" 1
    # the image's STOPSIGNAL
    fixtures
    md_ok import -c 'STOPSIGNAL SIGUSR2' "$FIX/busybox-rootfs.tar" sigimg >/dev/null
    md_ok run -d --network none --name imgsig sigimg sh -c 'trap "exit 9" USR2; while :; do sleep 0.1; done' >/dev/null
    md_ok stop -t 5 imgsig >/dev/null
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' imgsig)" 9
    # stopping a stopped container is fine
    md_ok stop imgsig >/dev/null
    md_ok rm deaf polite usr1 quick imgsig >/dev/null
    assert_clean
}

test_kill_signals() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name kl bb sh -c \
        'trap "echo got-hup" HUP; trap "echo got-usr2" USR2; echo ready; while :; do sleep 0.1; done' >/dev/null
    wait_until 5 ready sh -c "'$MINIDOCK' logs kl | grep -q ready"
    # one at a time: standard signals sent together may merge
    md_ok kill -s HUP kl >/dev/null
    wait_until 5 "SIGHUP" sh -c "'$MINIDOCK' logs kl | grep -q got-hup"
    md_ok kill --signal SIGUSR2 kl >/dev/null
    wait_until 5 "SIGUSR2" sh -c "'$MINIDOCK' logs kl | grep -q got-usr2"
    md_ok kill -s 1 kl >/dev/null
    wait_until 5 "a second SIGHUP, by number" sh -c "[ \"\$('$MINIDOCK' logs kl | grep -c got-hup)\" = 2 ]"
    assert_eq "$(ctr_state kl)" running
    # default: SIGKILL
    md_ok kill kl >/dev/null
    assert_eq "$(md_ok wait kl)" 137
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' kl)" 137
    md_fail any kill kl
    assert_one_line_error
    md_ok start kl >/dev/null
    md_fail any kill -s NOSUCHSIG kl
    assert_one_line_error
    md_ok rm -f kl >/dev/null
    assert_clean
}

test_restart_command() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name rs bb sh -c 'echo start; exec sleep 60' >/dev/null
    pid1=$(ctr_pid rs)
    started1=$(md_ok inspect -f '{{.State.StartedAt}}' rs)
    md_ok restart -t 1 rs >/dev/null
    assert_eq "$(ctr_state rs)" running
    pid2=$(ctr_pid rs)
    [ "$pid1" != "$pid2" ] || fail "same process after restart"
    [ ! -d "/proc/$pid1" ] || [ "$(awk '{ print $3 }' "/proc/$pid1/stat")" = Z ] || fail "old process still alive"
    [ "$(md_ok inspect -f '{{.State.StartedAt}}' rs)" != "$started1" ] || fail "StartedAt unchanged"
    assert_eq "$(md_ok logs rs | grep -c start)" 2 "log lines after restart"
    # restart of a stopped container starts it
    md_ok stop -t 1 rs >/dev/null
    md_ok restart rs >/dev/null
    assert_eq "$(ctr_state rs)" running
    md_ok rm -f rs >/dev/null
    assert_clean
}

test_rm_variants() {
    ctr_setup
    bb_image
    id=$(md_ok run -d --network none --name busy bb sleep 60)
    md_fail any rm busy
    assert_one_line_error
    assert_contains "$(md_stderr)" running
    assert_eq "$(ctr_state busy)" running
    md_ok rm -f busy >/dev/null
    assert_ctr_gone "$id"
    md_fail any rm busy
    assert_one_line_error
    # several at once, by name and by ID prefix; one missing does not stop
    # the others
    a=$(md_ok create --network none bb true)
    b=$(md_ok create --network none --name bee bb true)
    md_fail any rm "${a:0:12}" no-such-one bee
    assert_eq "$(md_ok ps -aq)" ""
    assert_ctr_gone "$a"
    assert_ctr_gone "$b"
    assert_clean
}

test_ps_options() {
    ctr_setup
    bb_image
    up=$(md_ok run -d --network none --name up1 -l tier=web bb sleep 60)
    ex=$(md_ok run -d --network none --name ex3 -l tier=db bb sh -c 'exit 3')
    md_ok wait ex3 >/dev/null
    cr=$(md_ok create --network none --name cr1 bb true)
    # default: running only; -a: all (the order: test_ps_order)
    assert_eq "$(md_ok ps -q)" "${up:0:12}"
    assert_eq "$(md_ok ps -aq | sort | tr '\n' ' ')" "$(printf '%s\n' "${cr:0:12}" "${ex:0:12}" "${up:0:12}" | sort | tr '\n' ' ')"
    assert_eq "$(md_ok ps -aq --no-trunc | sort | tr '\n' ' ')" "$(printf '%s\n' "$cr" "$ex" "$up" | sort | tr '\n' ' ')"
    out=$(md_ok ps -a)
    assert_match "$(head -n 1 <<<"$out")" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
    assert_match "$out" "${up:0:12} +bb +\"sleep 60\" +.* Up .* up1"
    assert_match "$out" "${ex:0:12} +bb .* Exited \\(3\\) .* ex3"
    assert_match "$out" "${cr:0:12} +bb .* Created +cr1"
    # -s: the size of the writable layer
    md_ok exec up1 sh -c 'head -c 1048576 /dev/zero >/big'
    out=$(md_ok ps -s --filter name=up1)
    assert_match "$(head -n 1 <<<"$out")" 'SIZE$'
    assert_match "$(tail -n 1 <<<"$out")" ' 1\.[0-9]+MB \(virtual [0-9.]+MB\)$'
    # filters
    assert_eq "$(md_ok ps -aq --filter status=exited)" "${ex:0:12}"
    assert_eq "$(md_ok ps -aq --filter status=created)" "${cr:0:12}"
    assert_eq "$(md_ok ps -aq --filter status=running)" "${up:0:12}"
    assert_eq "$(md_ok ps -aq --filter name=ex)" "${ex:0:12}"
    assert_eq "$(md_ok ps -aq --filter label=tier=db)" "${ex:0:12}"
    assert_eq "$(md_ok ps -aq --filter label=tier | wc -l)" 2
    assert_eq "$(md_ok ps -aq --filter exited=3)" "${ex:0:12}"
    assert_eq "$(md_ok ps -aq --filter id="${up:0:6}")" "${up:0:12}"
    assert_eq "$(md_ok ps -aq --filter ancestor=bb | wc -l)" 3
    assert_eq "$(md_ok ps -aq --filter status=exited --filter status=created | wc -l)" 2
    md_fail 1 ps --filter bogus=1    # as docker ps (the daemon refuses the filter)
    assert_one_line_error
    md_fail 125 ps --filter bogus      # no "=": the CLI refuses the flag, as docker's
    assert_contains "$(md_stderr)" "bad format of filter (expected name=value)"
    assert_one_line_error
    # --format
    assert_eq "$(md_ok ps -a --format '{{.Names}}:{{.State}}' | sort | tr '\n' ' ')" "cr1:created ex3:exited up1:running "
    assert_eq "$(md_ok ps --format '{{.ID}} {{.Image}} {{.Command}} {{.Labels}}')" "${up:0:12} bb \"sleep 60\" tier=web"
    assert_eq "$(md_ok ps --format '{{json .Names}}')" '"up1"'
    md_ok rm -f up1 ex3 cr1 >/dev/null
    assert_clean
}

# ps lists the newest container first, also when they were made within the
# same second (Docker sorts on the full creation time); -n and -l follow.
test_ps_order() {
    ctr_setup
    bb_image
    a=$(md_ok create --network none bb true)
    b=$(md_ok create --network none bb true)
    c=$(md_ok create --network none bb true)
    assert_eq "$(md_ok ps -aq | tr '\n' ' ')" "${c:0:12} ${b:0:12} ${a:0:12} " "ps -a order"
    assert_eq "$(md_ok ps -q -n 2 | tr '\n' ' ')" "${c:0:12} ${b:0:12} " "ps -n 2"
    assert_eq "$(md_ok ps -q -l)" "${c:0:12}" "ps -l"
    sleep 1.1
    d=$(md_ok create --network none bb true)
    assert_eq "$(md_ok ps -q -l)" "${d:0:12}" "ps -l a second later"
    md_ok rm "$a" "$b" "$c" "$d" >/dev/null
    assert_clean
}

test_logs_options() {
    ctr_setup
    bb_image
    # start early in a second, so that "one" and "two" (0.3 s apart) are in
    # the same second: --since and --until must honour the fraction
    wait_until 2 "the start of a second" sh -c '[ "$(date +%N)" -lt 200000000 ]'
    md_ok run -d --network none --name lg bb sh -c \
        'echo one; echo err1 >&2; sleep 0.3; echo two; echo three; sleep 60' >/dev/null
    wait_until 5 "third line" sh -c "'$MINIDOCK' logs lg 2>/dev/null | grep -q three"
    # the streams stay apart
    assert_eq "$(md_ok logs lg 2>/dev/null | tr '\n' ' ')" "one two three "
    assert_eq "$(md_ok logs lg 2>&1 >/dev/null | grep -v '^minidock' | tr '\n' ' ')" "err1 "
    # -t: an RFC 3339 timestamp with nanoseconds before each line
    md_ok logs -t lg 2>/dev/null >"$T/ts"
    while read -r ts line; do
        assert_match "$ts" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z$'
    done <"$T/ts"
    assert_eq "$(cut -d' ' -f2 "$T/ts" | tr '\n' ' ')" "one two three "
    ts_one=$(awk '$2 == "one" { print $1 }' "$T/ts")
    ts_two=$(awk '$2 == "two" { print $1 }' "$T/ts")
    # --tail
    assert_eq "$(md_ok logs --tail 2 lg 2>/dev/null | tr '\n' ' ')" "two three "
    assert_eq "$(md_ok logs -n 1 lg 2>/dev/null)" three
    assert_eq "$(md_ok logs --tail 0 lg 2>&1)" ""
    assert_eq "$(md_ok logs --tail all lg 2>/dev/null | wc -l)" 3
    # --since and --until: RFC 3339 with nanoseconds, Unix time with a
    # fraction, relative
    assert_eq "$(md_ok logs --since "$ts_two" lg 2>&1 | tr '\n' ' ')" "two three " "--since $ts_two"
    assert_eq "$(md_ok logs --since "$(date -d "$ts_two" +%s.%N)" lg 2>&1 | tr '\n' ' ')" "two three " \
        "--since as Unix time"
    assert_eq "$(md_ok logs --until "$ts_one" lg 2>/dev/null | tr '\n' ' ')" "one " "--until $ts_one"
    assert_eq "$(md_ok logs --since 1h lg 2>/dev/null | wc -l)" 3
    assert_eq "$(md_ok logs --since 2099-01-01T00:00:00Z lg 2>&1)" ""
    md_fail 125 logs --since yesterday lg
    assert_one_line_error
    md_fail 125 logs --tail -3 lg
    assert_one_line_error
    assert_contains "$(md_stderr)" 'invalid value "-3" for --tail'
    # -f follows new lines and ends when the container does
    md_ok run -d --network none --name fl bb sh -c 'echo a; sleep 1; echo b; sleep 0.5' >/dev/null
    out=$(timeout 10 "$MINIDOCK" logs -f fl) || fail "logs -f did not end with the container"
    assert_eq "$(tr '\n' ' ' <<<"$out")" "a b "
    # a follower keeps the log it opened: a container removed before the
    # follower read its last line (docker-py's run: logs, wait, rm, then
    # read) loses nothing; the follower is held stopped meanwhile
    local fp
    md_ok run -d --network none --name fr bb sh -c 'echo a; sleep 1; echo b' >/dev/null
    "$MINIDOCK" logs -f fr >"$T/fr.out" 2>&1 &
    fp=$!
    wait_until 5 "the follower's first line" grep -q a "$T/fr.out"
    kill -STOP "$fp"
    md_ok wait fr >/dev/null
    md_ok rm fr >/dev/null
    kill -CONT "$fp"
    wait "$fp" || fail "logs -f of a removed container failed: $(cat "$T/fr.out")"
    assert_eq "$(tr '\n' ' ' <"$T/fr.out")" "a b "
    md_ok rm -f lg fl >/dev/null
    assert_clean
}

# Events: what the CLI, the engine and the monitors did, from the journal
# in the run root, in order, with Docker's attributes; filters; --format;
# a follower (no --since) sees only what comes, and ends with its reader.
test_events() {
    ctr_setup
    bb_image
    local since fp out
    since=$(date +%s.%N)
    md_ok run --network none --name ev1 --label app=web bb true >/dev/null
    md_ok run -d --network none --name ev2 bb sleep 60 >/dev/null
    md_fail 3 exec ev2 sh -c 'exit 3'
    md_ok pause ev2 >/dev/null
    md_ok unpause ev2 >/dev/null
    md_ok rename ev2 ev3 >/dev/null
    md_ok kill -s USR1 ev3 >/dev/null
    md_ok stop -t 0 ev3 >/dev/null
    md_ok rm ev1 ev3 >/dev/null
    md_ok tag bb bb:ev >/dev/null
    md_ok rmi bb:ev >/dev/null
    md_ok volume create evv >/dev/null
    md_ok volume rm evv >/dev/null
    out=$(md_ok events --since "$since" --until "$(date +%s.%N)" --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}')
    assert_eq "$out" "container create ev1
container start ev1
container die ev1
container create ev2
container start ev2
container exec_start: sh -c exit 3 ev2
container exec_die ev2
container pause ev2
container unpause ev2
container rename ev3
container kill ev3
container kill ev3
container die ev3
container stop ev3
container destroy ev1
container destroy ev3
image tag bb:ev
image untag bb:ev
volume create <no value>
volume destroy <no value>" "events, in order"
    # attributes: the image, labels, exit codes, signals, the old name
    out=$(md_ok events --since "$since" --until "$(date +%s.%N)" --filter event=die --filter event=kill --filter event=rename \
        --format '{{.Action}} {{json .Actor.Attributes}}')
    assert_eq "$out" 'die {"image":"bb","name":"ev1","app":"web","exitCode":"0"}
rename {"image":"bb","name":"ev3","oldName":"ev2"}
kill {"image":"bb","name":"ev3","signal":"10"}
kill {"image":"bb","name":"ev3","signal":"9"}
die {"image":"bb","name":"ev3","exitCode":"137"}'
    assert_eq "$(md_ok events --since "$since" --until "$(date +%s.%N)" --filter label=app=web --format '{{.Action}}' | wc -l)" 4
    assert_eq "$(md_ok events --since "$since" --until "$(date +%s.%N)" --filter type=volume --format '{{.Actor.ID}}' | sort -u)" evv
    # Docker's default line
    assert_match "$(md_ok events --since "$since" --until "$(date +%s.%N)" --filter event=exec_die)" \
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z container exec_die [0-9a-f]{64} \(exitCode=3, image=bb, name=ev2\)$'
    # {{json .}}: the records as the API streams them
    md_ok events --since "$since" --until "$(date +%s.%N)" --filter type=image --format '{{json .}}' | jq -e -s \
        'length == 2 and .[0].Type == "image" and .[0].Action == "tag" and (.[0].timeNano | type) == "number"' >/dev/null ||
        fail "events --format '{{json .}}' is not Docker's records"
    # refused: an unknown filter, a bad time
    md_fail 125 events --filter colour=red --until 0s
    assert_one_line_error
    md_fail 125 events --since yesterday --until 0s
    assert_one_line_error
    # following: only what comes, until the reader goes
    "$MINIDOCK" events --filter container=evf --format '{{.Action}}' >"$T/evf" 2>&1 &
    fp=$!
    sleep 0.5
    md_ok run --network none --name evf bb true >/dev/null
    wait_until 10 "the follower's die" grep -qx die "$T/evf"
    kill "$fp"
    wait "$fp" 2>/dev/null || true
    assert_eq "$(tr '\n' ' ' <"$T/evf")" "create start die "
    md_ok rm evf >/dev/null
    # the journal is in the run root (RAM), never in the store
    [ -f "$MINIDOCK_RUNROOT/events.log" ] || fail "no journal in the run root"
    ! find "$MINIDOCK_ROOT" -name 'events*' | grep -q . || fail "events written to the store"
    assert_clean
}

test_exec_options() {
    ctr_setup
    bb_user_image
    md_ok run -d --network none --name ex -e FROM_RUN=1 bbu sleep 60 >/dev/null
    assert_eq "$(md_ok exec ex echo hi)" hi
    # the container's environment, plus -e and --env-file
    printf 'FROM_FILE=f\n' >"$T/env"
    out=$(md_ok exec -e EXTRA=x --env-file "$T/env" ex env)
    for l in FROM_RUN=1 EXTRA=x FROM_FILE=f PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; do
        grep -qxF "$l" <<<"$out" || fail "no $l in exec's environment: $out"
    done
    # -e NAME takes NAME's value here (unset: left out); a name-less one is refused, as run's
    out=$(FROM_HERE=h md_ok exec -e FROM_HERE -e NOT_SET_HERE ex env)
    grep -qxF FROM_HERE=h <<<"$out" || fail "no FROM_HERE=h in exec's environment: $out"
    ! grep -q '^NOT_SET_HERE' <<<"$out" || fail "NOT_SET_HERE in exec's environment: $out"
    md_fail 125 exec -e =x ex true
    assert_one_line_error
    assert_contains "$(md_stderr)" "invalid environment variable: =x"
    # -u (with supplementary groups) and -w
    assert_eq "$(md_ok exec -u alice ex id -G | tr ' ' '\n' | sort -n | tr '\n' ' ')" "29 50 1000 "
    assert_eq "$(md_ok exec -u 1001:50 ex sh -c 'id -u; id -g' | tr '\n' ' ')" "1001 50 "
    assert_eq "$(md_ok exec -w /home/alice ex pwd)" /home/alice
    st=$(md_ok exec -u alice ex cat /proc/self/status)
    assert_eq "$(awk '$1 == "CapEff:" { print $2 }' <<<"$st")" 0000000000000000 "CapEff of exec -u alice"
    assert_eq "$(awk '$1 == "Seccomp:" { print $2 }' <<<"$st")" 2 "Seccomp of exec"
    # the same namespaces and cgroup as the container
    pid=$(ctr_pid ex)
    for ns in mnt pid uts ipc net cgroup; do
        assert_eq "$(md_ok exec ex readlink /proc/self/ns/$ns)" "$(readlink "/proc/$pid/ns/$ns")" "$ns namespace of exec"
    done
    # a config big enough to live in its own mapping (an environment of
    # 320 KB): the user and working directory taken from it stay valid
    # after the container's record is freed (they were read after the free)
    local x
    x=$(head -c 8000 /dev/zero | tr '\0' x)
    for i in $(seq 40); do echo "BIG$i=$x"; done >"$T/big.env"
    md_ok run -d --network none --name big -u alice -w /home/alice --env-file "$T/big.env" bbu sleep 60 >/dev/null
    assert_eq "$(md_ok exec big sh -c 'id -un; pwd' | tr '\n' ' ')" "alice /home/alice "
    md_fail 127 exec big no-such-command
    md_ok rm -f big >/dev/null
    # -i
    assert_eq "$(echo piped | md_ok exec -i ex cat)" piped
    assert_eq "$(echo piped | md_ok exec ex cat)" ""
    # -t
    if command -v script >/dev/null; then
        out=$(script -qec "'$MINIDOCK' exec -t ex sh -c 'tty; [ -t 0 ] && echo stdin-tty'" /dev/null </dev/null | tr -d '\r')
        assert_match "$out" '/dev/pts/[0-9]+'
        assert_contains "$out" stdin-tty
    fi
    # -d: runs on after exec returns
    md_ok exec -d ex sh -c 'sleep 1; echo done >/tmp/detached'
    assert_eq "$(md_ok exec ex cat /tmp/detached 2>/dev/null || true)" ""
    wait_until 5 "the detached exec" md exec ex test -e /tmp/detached
    # exit codes
    md_fail 9 exec ex sh -c 'exit 9'
    md_fail 127 exec ex no-such-command
    assert_one_line_error
    md_fail 126 exec ex /noexec
    assert_one_line_error
    md_fail 126 exec -u nosuch ex true
    assert_one_line_error
    # the exec'd process joins the container's cgroup; the exec CLI, which
    # stays on the host, does not (it would count against the limits, freeze
    # with pause and show in top)
    "$MINIDOCK" exec ex sleep 5 &
    bg=$!
    d=$(cgroup_dir pids "$(md_ok inspect -f '{{.Id}}' ex)")
    wait_until 5 "the exec'd sleep in the cgroup" sh -c "for p in \$(cat $d/cgroup.procs); do
        tr '\\0' ' ' </proc/\$p/cmdline; echo; done | grep -qx 'sleep 5 '"
    procs=$(cat "$d/cgroup.procs")
    kill "$bg" 2>/dev/null || true
    wait "$bg" || true
    ! grep -qx "$bg" <<<"$procs" || fail "the exec CLI itself (PID $bg) is in the container's cgroup"
    assert_eq "$(wc -l <<<"$procs")" 2 "processes in the container's cgroup during exec"
    # not into a stopped container
    md_ok stop -t 0 ex >/dev/null
    md_fail any exec ex true
    assert_one_line_error
    md_ok rm ex >/dev/null
    assert_clean
}

test_wait() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name w1 bb sh -c 'sleep 1; exit 7' >/dev/null
    md_ok run -d --network none --name w2 bb sh -c 'sleep 0.5; exit 3' >/dev/null
    start=$SECONDS
    assert_eq "$(md_ok wait w1 w2 | tr '\n' ' ')" "7 3 "
    [ $((SECONDS - start)) -lt 10 ] || fail "wait took too long"
    # an exited container: at once
    assert_eq "$(md_ok wait w1)" 7
    md_fail any wait no-such-container
    assert_one_line_error
    md_ok rm w1 w2 >/dev/null
    assert_clean
}

# A waiter whose container's monitor is alive but not listening (its
# socket gone, as for a moment while a monitor starts or ends) looks
# again every 50 ms, not in a busy loop, and still gets the exit code.
test_wait_monitor_not_listening() {
    ctr_setup
    bb_image
    local id cpu
    id=$(md_ok run -d --network none bb sh -c 'sleep 3; exit 4')
    rm "$MINIDOCK_RUNROOT/containers/$id/attach.sock"
    /usr/bin/time -f '%U %S' -o "$T/time" "$MINIDOCK" wait "$id" >"$T/wait.out" 2>"$T/wait.err" ||
        fail "wait failed: $(cat "$T/wait.err")"
    assert_eq "$(cat "$T/wait.out")" 4
    cpu=$(awk '{ print $1 + $2 }' "$T/time")
    awk -v c="$cpu" 'BEGIN { exit !(c < 1.0) }' || fail "wait used ${cpu} s of CPU over 3 s"
    md_ok rm "$id" >/dev/null
    assert_clean
}

test_inspect_container() {
    ctr_setup
    bb_image
    mkdir "$T/bind"
    id=$(md_ok run -d --network none --name insp -e E=1 -l k=v -m 64m --restart unless-stopped \
        --cap-add SYS_TIME --cap-drop NET_RAW -v "$T/bind:/b:ro" --tmpfs /t -w /b bb sleep 60)
    md_ok inspect insp >"$T/i.json"
    jq -e 'type == "array" and length == 1' "$T/i.json" >/dev/null || fail "not a one-element array"
    jq -e --arg id "$id" --arg src "$T/bind" '.[0] |
        .Id == $id and .Name == "/insp" and .Path == "sleep" and .Args == ["60"] and
        .State.Status == "running" and .State.Running == true and .State.Paused == false and
        .State.OOMKilled == false and .State.Dead == false and .State.ExitCode == 0 and
        (.State.Pid | type) == "number" and .State.Pid > 1 and
        (.Image | startswith("sha256:")) and .Config.Image == "bb" and
        (.Config.Env | index("E=1")) != null and .Config.Labels.k == "v" and
        .Config.Cmd == ["sleep", "60"] and .Config.WorkingDir == "/b" and
        .HostConfig.Memory == 67108864 and
        .HostConfig.RestartPolicy == {"Name": "unless-stopped", "MaximumRetryCount": 0} and
        .HostConfig.CapAdd == ["SYS_TIME"] and .HostConfig.CapDrop == ["NET_RAW"] and
        (.HostConfig.Binds | index($src + ":/b:ro")) != null and
        .HostConfig.Tmpfs["/t"] == "" and
        ([.Mounts[] | select(.Type == "bind" and .Source == $src and .Destination == "/b" and .RW == false)] | length) == 1
        ' "$T/i.json" >/dev/null || fail "inspect fields: $(cat "$T/i.json")"
    assert_match "$(md_ok inspect -f '{{.State.StartedAt}}' insp)" "$_rfc3339"
    assert_eq "$(md_ok inspect -f '{{.State.FinishedAt}}' insp)" 0001-01-01T00:00:00Z
    assert_eq "$(md_ok inspect -f '{{.State.Pid}}' insp)" "$(ctr_pid insp)"
    # the PID is the container's process
    assert_eq "$(tr '\0' ' ' <"/proc/$(ctr_pid insp)/cmdline")" "sleep 60 "
    md_ok create --network none --name pol --restart on-failure:3 bb true >/dev/null
    assert_eq "$(md_ok inspect -f '{{json .HostConfig.RestartPolicy}}' pol)" '{"Name":"on-failure","MaximumRetryCount":3}'
    md_ok stop -t 0 insp >/dev/null
    jq_out=$(md_ok inspect insp | jq -r '.[0].State | "\(.Status) \(.Running) \(.Pid) \(.ExitCode)"')
    assert_eq "$jq_out" "exited false 0 137"
    assert_match "$(md_ok inspect -f '{{.State.FinishedAt}}' insp)" "$_rfc3339"
    # --type container, and container inspect
    assert_eq "$(md_ok inspect --type container -f '{{.Name}}' insp)" /insp
    assert_eq "$(md_ok container inspect -f '{{.Name}}' insp)" /insp
    # (bb:latest, not bb: a container ID may start with "bb", and an ID
    # prefix names a container, as with Docker)
    md_fail any inspect --type container bb:latest
    md_ok rm insp pol >/dev/null
    assert_clean
}

test_rename_and_prune() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name old bb sleep 60 >/dev/null
    md_ok create --network none --name other bb true >/dev/null
    md_ok rename old new
    assert_eq "$(md_ok inspect -f '{{.Name}}' new)" /new
    md_fail any inspect old
    assert_eq "$(md_ok exec new echo ok)" ok
    md_fail any rename new other
    assert_one_line_error
    md_fail any rename new 'bad name!'
    assert_one_line_error
    # killed (a power cut) between the index and config.json: the sweep of
    # the next command that locks the store (a change, boot, system check)
    # gives config.json the index's name
    local rc=0
    MINIDOCK_CRASH_AT=renamed-index "$MINIDOCK" rename new newer 2>/dev/null || rc=$?
    assert_eq "$rc" 137 "rename killed between its writes"
    md_ok tag bb:latest bb:swept >/dev/null
    md_ok rmi bb:swept >/dev/null
    assert_eq "$(md_ok ps -a --filter name=newer --format '{{.Names}}')" newer
    assert_eq "$(md_ok inspect -f '{{.Name}}' newer)" /newer
    md_fail any inspect new
    md_ok rename newer new
    # the old name is free again
    md_ok create --network none --name old bb true >/dev/null
    # prune: stopped and created containers go, running ones stay
    e=$(md_ok run -d --network none bb true)
    md_ok wait "$e" >/dev/null
    out=$(md_ok container prune -f)
    assert_contains "$out" "Deleted Containers:"
    assert_contains "$out" "$e"
    assert_match "$out" 'Total reclaimed space: '
    assert_eq "$(md_ok ps -a --format '{{.Names}}')" new
    assert_ctr_gone "$e"
    md_ok rm -f new >/dev/null
    assert_clean
}

# timeout: 60
test_restart_policy_on_failure() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name of --restart on-failure:2 bb sh -c 'echo run; exit 1' >/dev/null
    wait_until 20 "two restarts, then exited" sh -c \
        "[ \"\$('$MINIDOCK' inspect -f '{{.RestartCount}} {{.State.Status}}' of)\" = '2 exited' ]"
    sleep 1.5
    assert_eq "$(md_ok inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' of)" "2 exited 1"
    assert_eq "$(md_ok logs of | grep -c run)" 3 "runs with on-failure:2"
    # exit 0 is no failure
    md_ok run -d --network none --name ok0 --restart on-failure bb true >/dev/null
    md_ok wait ok0 >/dev/null
    sleep 1
    assert_eq "$(md_ok inspect -f '{{.RestartCount}} {{.State.Status}}' ok0)" "0 exited"
    # --restart and --rm do not go together
    md_fail 125 run -d --network none --rm --restart always bb true
    assert_one_line_error
    md_ok rm -f of ok0 >/dev/null
    assert_clean
}

# timeout: 60
test_restart_policy_always() {
    ctr_setup
    bb_image
    # restarts after the process exits by itself, whatever its code
    md_ok run -d --network none --name al --restart always bb sh -c 'sleep 0.2; exit 0' >/dev/null
    wait_until 20 "two restarts" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.RestartCount}}' al)\" -ge 2 ]"
    md_ok rm -f al >/dev/null
    # and after its process is killed from outside
    md_ok run -d --network none --name al2 --restart always bb sleep 60 >/dev/null
    pid=$(ctr_pid al2)
    kill -KILL "$pid"
    wait_until 10 "a restart after SIGKILL" _count_is al2 1
    wait_until 10 "running again" state_is al2 running
    pid2=$(ctr_pid al2)
    [ "$pid2" != "$pid" ] || fail "same PID after the restart"
    # stop prevents the restart
    md_ok stop -t 1 al2 >/dev/null
    sleep 1.5
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.RestartCount}}' al2)" "exited 1"
    assert_eq "$(md_ok ps -q)" ""
    # and start brings it back, still with its policy
    md_ok start al2 >/dev/null
    pid3=$(ctr_pid al2)
    kill -KILL "$pid3"
    wait_until 10 "a restart after start and SIGKILL" _count_is al2 2
    md_ok rm -f al2 >/dev/null
    # unless-stopped: the same while nobody stops it
    md_ok run -d --network none --name us --restart unless-stopped bb sh -c 'sleep 0.2; exit 5' >/dev/null
    wait_until 20 "unless-stopped restarts" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.RestartCount}}' us)\" -ge 2 ]"
    md_ok stop -t 1 us >/dev/null
    count=$(_restart_count us)
    sleep 1
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.RestartCount}}' us)" "exited $count" "unless-stopped after stop"
    md_ok rm -f us >/dev/null
    assert_clean
}

# `docker kill` counts as stopping by hand (moby's killWithSignal sets
# HasBeenManuallyStopped): an always container is not restarted after it.
test_restart_policy_not_after_cli_kill() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name ak --restart always bb sleep 60 >/dev/null
    md_ok kill ak >/dev/null
    sleep 1.5
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.RestartCount}}' ak)" "exited 0"
    md_ok rm -f ak >/dev/null
    assert_clean
}

# _simulate_reboot ID...: what a power cut does to running containers:
# their monitors and processes die at once (SIGKILL), their mounts, their
# cgroups and the volatile run root vanish.
_simulate_reboot() {
    local id d pids i
    for id in "$@"; do
        pids=$(_monitor_pid "$id")
        for d in $(cgroup_parent_dirs); do
            [ -d "$d/$id" ] && pids="$pids $(cat "$d/$id/cgroup.procs")"
        done
        # shellcheck disable=SC2086
        [ -z "${pids// /}" ] || kill -KILL $pids 2>/dev/null || true
    done
    for i in $(seq 1 50); do
        pids=
        for id in "$@"; do
            pids="$pids$(_monitor_pid "$id")"
            for d in $(cgroup_parent_dirs); do
                [ ! -d "$d/$id" ] || pids="$pids$(cat "$d/$id/cgroup.procs")"
            done
        done
        [ -z "$pids" ] && break
        sleep 0.1
    done
    [ -z "$pids" ] || fail "processes survived the simulated reboot: $pids"
    awk -v r="$MINIDOCK_RUNROOT" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do umount -l "$m"; done
    for id in "$@"; do
        for d in $(cgroup_parent_dirs); do
            [ ! -d "$d/$id" ] || rmdir "$d/$id"
        done
    done
    rm -rf "${MINIDOCK_RUNROOT:?}"/*
}

# timeout: 60
test_boot_after_reboot() {
    ctr_setup
    bb_image
    al=$(md_ok run -d --network none --name al --restart always bb sleep 60)
    us=$(md_ok run -d --network none --name us --restart unless-stopped bb sleep 60)
    uss=$(md_ok run -d --network none --name uss --restart unless-stopped bb sleep 60)
    md_ok stop -t 0 uss >/dev/null
    no=$(md_ok run -d --network none --name no bb sleep 60)
    of=$(md_ok run -d --network none --name of --restart on-failure bb sleep 60)
    old_pid=$(ctr_pid al)
    _simulate_reboot "$al" "$us" "$no" "$of"
    # before boot: nothing runs, and ps says so
    assert_eq "$(md_ok ps -q)" "" "running containers after the reboot"
    assert_match "$(md_ok ps -a --filter name=al --format '{{.Status}}')" '^Exited '
    md_ok boot >/dev/null
    assert_eq "$(ctr_state al)" running "always after boot"
    assert_eq "$(ctr_state us)" running "unless-stopped after boot"
    assert_eq "$(ctr_state uss)" exited "stopped unless-stopped after boot"
    assert_eq "$(ctr_state no)" exited "restart=no after boot"
    # on-failure: it was running when the machine went down (exit 255, as
    # Docker counts it), so it starts
    assert_eq "$(ctr_state of)" running "on-failure after boot"
    new_pid=$(ctr_pid al)
    [ "$new_pid" != "$old_pid" ] || fail "same PID after boot"
    assert_eq "$(tr '\0' ' ' <"/proc/$new_pid/cmdline")" "sleep 60 "
    # they work: exec, stop
    assert_eq "$(md_ok exec al echo alive)" alive
    # a second boot does not start them twice
    md_ok boot >/dev/null
    assert_eq "$(md_ok ps -q | wc -l)" 3 "running containers after a second boot"
    md_ok rm -f al us uss no of >/dev/null
    assert_clean
}

test_monitor_sigkill() {
    ctr_setup
    bb_image
    id=$(md_ok run -d --network none --name mk -v mkvol:/v bb sh -c 'sleep 60 & exec sleep 61')
    mon=$(_monitor_pid "$id")
    [ -n "$mon" ] || fail "no monitor process for $id"
    pid=$(ctr_pid mk)
    d=$(cgroup_dir pids "$id")
    kill -KILL "$mon"
    # the container's processes die with their monitor
    wait_until 10 "the container's processes to die" sh -c "[ -z \"\$(cat $d/cgroup.procs)\" ]"
    [ ! -d "/proc/$pid" ] || [ "$(awk '{ print $3 }' "/proc/$pid/stat")" = Z ] || fail "PID $pid survived its monitor"
    # ps and inspect say so
    assert_match "$(md_ok ps -a --filter name=mk --format '{{.Status}}')" '^Exited \(137\) '
    assert_eq "$(md_ok ps -q)" ""
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}' mk)" "exited 137 false"
    # and rm -f cleans mounts, cgroups and state
    md_ok rm -f mk >/dev/null
    assert_ctr_gone "$id"
    # the named volume stays (it is not anonymous)
    assert_eq "$(md_ok volume ls -q)" mkvol
    md_ok volume rm mkvol >/dev/null
    assert_clean
}

# The monitor dies while the container is being removed by rm -f: a second
# rm -f still cleans up.  And a container whose monitor died can start again.
test_monitor_sigkill_then_start() {
    ctr_setup
    bb_image
    id=$(md_ok run -d --network none --name again bb sleep 60)
    kill -KILL "$(_monitor_pid "$id")"
    wait_until 10 "exited" state_is again exited
    md_ok start again >/dev/null
    assert_eq "$(ctr_state again)" running
    assert_eq "$(md_ok exec again echo back)" back
    md_ok rm -f again >/dev/null
    assert_ctr_gone "$id"
    assert_clean
}

test_cli_sigkill() {
    ctr_setup
    bb_image
    # the foreground CLI is killed; the container lives on under its monitor
    "$MINIDOCK" run --network none --name fg bb sh -c 'echo started; exec sleep 60' >"$T/fg.out" 2>&1 &
    cli=$!
    wait_until 10 "the container to run" grep -q started "$T/fg.out"
    kill -KILL "$cli"
    wait "$cli" 2>/dev/null || true
    sleep 0.5
    assert_eq "$(ctr_state fg)" running
    assert_match "$(md_ok ps --filter name=fg --format '{{.Status}}')" '^Up '
    assert_eq "$(md_ok exec fg echo still-here)" still-here
    # the same with -i and -t, and for start -a
    sleep 30 | "$MINIDOCK" run -i --network none --name fgi bb sh -c 'echo started; exec sleep 60' >"$T/fgi.out" 2>&1 &
    cli=$!
    wait_until 10 "the -i container to run" grep -q started "$T/fgi.out"
    kill -KILL "$cli"
    wait "$cli" 2>/dev/null || true
    sleep 0.5
    assert_eq "$(ctr_state fgi)" running
    md_ok create --network none --name sa bb sh -c 'echo started; exec sleep 60' >/dev/null
    "$MINIDOCK" start -a sa >"$T/sa.out" 2>&1 &
    cli=$!
    wait_until 10 "start -a container to run" grep -q started "$T/sa.out"
    kill -KILL "$cli"
    wait "$cli" 2>/dev/null || true
    sleep 0.5
    assert_eq "$(ctr_state sa)" running
    md_ok rm -f fg fgi sa >/dev/null
    assert_clean
}

# commit (issue 13): the writable layer becomes a layer of a new image on
# top of the container's: new files, hard links, deletions (whiteouts), an
# opaque directory, the container's config with -c changes, the author and
# message in the history; a running container is frozen meanwhile and goes
# on running; diff lists what commit takes.
test_commit() {
    ctr_setup
    bb_image
    md_ok run --name c1 --network none bb sh -c 'echo hello >/greeting; ln /greeting /hl; rm /bin/ls; mkdir -p /d/e; echo x >/d/e/f' >/dev/null
    assert_eq "$(md_ok diff c1 | tr '\n' ' ')" "C /bin D /bin/ls A /d A /d/e A /d/e/f A /greeting A /hl " "diff before the commit"
    id=$(md_ok commit -m "first change" -a tester -c 'CMD ["cat","/greeting"]' -c 'ENV A=1' c1 com:1)
    assert_match "$id" '^sha256:[0-9a-f]{64}$'
    assert_eq "$(md_ok run --rm --network none com:1)" hello "the committed CMD"
    out=$(md_ok run --rm --network none com:1 sh -c 'test -e /bin/ls && echo ls-there; cat /d/e/f; stat -c %h /hl; echo $A')
    assert_eq "$(tr '\n' ' ' <<<"$out")" "x 2 1 " "files, deletion, hard link and ENV in the new image"
    assert_eq "$(md_ok image inspect -f '{{.Author}} {{len .RootFS.Layers}}' com:1)" "tester 2"
    assert_eq "$(md_ok image inspect -f '{{.Parent}}' com:1)" "$(md_ok image inspect -f '{{.Id}}' bb)" "Parent"
    assert_contains "$(md_ok history com:1)" "first change"
    # an opaque directory: the image's /d is gone, the new one alone stays
    md_ok run --name c2 --network none com:1 sh -c 'rm -rf /d; mkdir /d; echo n >/d/new' >/dev/null
    md_ok commit c2 com:2 >/dev/null
    assert_eq "$(md_ok run --rm --network none com:2 find /d | sort | tr '\n' ' ')" "/d /d/new " "an opaque directory"
    # a running container: frozen for the commit, running after it
    md_ok run -d --name c3 --network none bb sh -c 'echo live >/live; sleep 300' >/dev/null
    wait_until 10 "the file written" md_ok exec c3 test -e /live
    md_ok commit c3 com:3 >/dev/null
    assert_eq "$(ctr_state c3)" running "state after the commit"
    assert_eq "$(md_ok run --rm --network none com:3 cat /live)" live
    # a container never started: its image, unchanged, with its config
    md_ok create --name c4 --network none bb echo created >/dev/null
    md_ok commit c4 com:6 >/dev/null
    assert_eq "$(md_ok run --rm --network none com:6)" created "a commit of a created container"
    md_ok rm c4 >/dev/null
    md_ok rmi com:6 >/dev/null
    md_fail 1 commit -c 'FROM x' c1 com:4
    assert_one_line_error
    md_fail 1 commit nosuch com:5
    assert_one_line_error
    md_ok rm -f c1 c2 c3 >/dev/null
    md_ok rmi com:1 com:2 com:3 >/dev/null
    assert_clean
}

# A container in a restart loop (between two runs, "restarting"): kill and
# stop end the loop at once, as Docker's do (the monitor ignored them while
# no process ran, and the loop went on).
test_restart_loop_kill_stop() {
    ctr_setup
    bb_image
    local cmd n
    for cmd in kill stop; do
        md_ok run -d --name rl --restart always --network none bb sh -c 'exit 1' >/dev/null
        wait_until 20 "a restart" _restarted_twice rl
        md_ok "$cmd" rl >/dev/null
        wait_until 10 "rl exited after $cmd" state_is rl exited
        n=$(md_ok inspect -f '{{.RestartCount}}' rl)
        sleep 2
        assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.RestartCount}}' rl)" "exited $n" "no restart after $cmd"
        md_ok rm rl >/dev/null
    done
    assert_clean
}
_restarted_twice() { [ "$("$MINIDOCK" inspect -f '{{.RestartCount}}' "$1")" -ge 2 ]; }

# ---- healthchecks ----

# _hc NAME TEMPLATE: inspect's .State.Health, through jq (TEMPLATE a jq filter).
_hc() { "$MINIDOCK" inspect "$1" | jq -r ".[0].State.Health | $2"; }
_health_is() { [ "$(_hc "$1" .Status 2>/dev/null)" = "$2" ]; }
_health_log_ge() { [ "$(_hc "$1" '.Log | length' 2>/dev/null)" -ge "$2" ]; }
_health_streak_ge() { [ "$(_hc "$1" .FailingStreak 2>/dev/null)" -ge "$2" ]; }
# _probes_left: the store's healthcheck probes still running (their __exec)
_probes_left() { pgrep -f -- "--root $MINIDOCK_ROOT .*__exec" || true; }

# podman's --health-on-failure: what the monitor does once the container
# turns unhealthy. The command ends on SIGTERM (a stop's signal).
_TRAPPER=(sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
_status() { "$MINIDOCK" inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
_restarts_ge() { [ "$("$MINIDOCK" inspect -f '{{.RestartCount}}' "$1" 2>/dev/null)" -ge "$2" ]; }
test_healthcheck_on_failure() {
    ctr_setup
    bb_image
    local hf=(--network none --health-cmd false --health-interval 0.2s --health-retries 1)
    md_ok run -d --name hstop "${hf[@]}" --health-on-failure stop bb "${_TRAPPER[@]}" >/dev/null
    md_ok run -d --name hkill "${hf[@]}" --health-on-failure kill bb "${_TRAPPER[@]}" >/dev/null
    md_ok run -d --name hre "${hf[@]}" --health-on-failure restart bb "${_TRAPPER[@]}" >/dev/null
    md_ok run -d --name hnone "${hf[@]}" --health-on-failure none bb "${_TRAPPER[@]}" >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Config.HealthcheckOnFailureAction}}' hre)" restart
    wait_until 10 "hstop stopped" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.State.Status}}' hstop)\" = exited ]"
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' hstop)" 0 "a stop's signal ended hstop"
    wait_until 10 "hkill killed" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.State.Status}}' hkill)\" = exited ]"
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' hkill)" 137
    wait_until 15 "hre restarted twice" _restarts_ge hre 2
    assert_eq "$(_status hre)" running
    assert_eq "$(_status hnone)" running
    _health_is hnone unhealthy || fail "hnone is not unhealthy: $(_hc hnone .Status)"
    # the events say what happened
    assert_eq "$(md_ok events --since 1h --until 0s --filter container=hkill --format '{{.Action}}' | tail -n 3 | tr '\n' ',')" \
        "health_status: unhealthy,kill,die,"
    # a stopped container is not started again by its policy
    md_ok rm -f hre >/dev/null
    md_ok run -d --name hpol --restart always "${hf[@]}" --health-on-failure stop bb "${_TRAPPER[@]}" >/dev/null
    wait_until 10 "hpol stopped" sh -c "[ \"\$('$MINIDOCK' inspect -f '{{.State.Status}}' hpol)\" = exited ]"
    sleep 1
    assert_eq "$(_status hpol)" exited "hpol after a second"
    md_fail 125 run --rm --network none --health-on-failure reboot bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" 'invalid health-on-failure action "reboot"'
    md_ok rm -f hstop hkill hnone hpol >/dev/null
    assert_clean
}

test_healthcheck_healthy() {
    ctr_setup
    bb_image
    local id
    # the flags become Config.Healthcheck, durations in nanoseconds
    id=$(md_ok run -d --name hok --network none --health-cmd 'echo ok' --health-interval 0.2s --health-timeout 3s \
        --health-retries 2 --health-start-period 1m --health-start-interval 0.3s bb sleep 600)
    assert_eq "$(md_ok inspect hok | jq -cS '.[0].Config.Healthcheck')" \
        '{"Interval":200000000,"Retries":2,"StartInterval":300000000,"StartPeriod":60000000000,"Test":["CMD-SHELL","echo ok"],"Timeout":3000000000}'
    wait_until 10 "hok healthy" _health_is hok healthy
    assert_eq "$(_hc hok '"\(.FailingStreak) \(.Log[-1].ExitCode) \(.Log[-1].Output | @json)"')" '0 0 "ok\n"'
    assert_match "$(_hc hok '.Log[-1].Start')" "$_rfc3339"
    assert_match "$(_hc hok '.Log[-1].End')" "$_rfc3339"
    assert_match "$(md_ok ps --filter name=hok --format '{{.Status}}')" '^Up .* \(healthy\)$'
    # the change is an event (once, not each probe)
    assert_eq "$(md_ok events --since 1h --until 0s --filter container=hok --filter event=health_status --format '{{.Action}}')" \
        "health_status: healthy"
    # a first probe an hour away: starting
    md_ok run -d --name hstart --network none --health-cmd true --health-interval 1h bb sleep 600 >/dev/null
    assert_eq "$(_hc hstart '"\(.Status) \(.FailingStreak) \(.Log | length)"')" "starting 0 0"
    assert_match "$(md_ok ps --filter name=hstart --format '{{.Status}}')" '^Up .* \(health: starting\)$'
    md_ok run -d --name hnone --network none bb sleep 600 >/dev/null
    assert_match "$(md_ok ps --filter name=hnone --format '{{.Status}}')" '^Up [^(]*$'
    assert_eq "$(md_ok inspect -f '{{json .State.Health}}' hnone)" null
    # ps --filter health=
    assert_eq "$(md_ok ps --filter health=healthy --format '{{.Names}}')" hok
    assert_eq "$(md_ok ps --filter health=starting --format '{{.Names}}')" hstart
    assert_eq "$(md_ok ps --filter health=none --format '{{.Names}}')" hnone
    assert_eq "$(md_ok ps --filter health=unhealthy --format '{{.Names}}')" ""
    md_fail 1 ps --filter health=fine
    assert_one_line_error
    # the probes never touch the store's state: health.json is in the run root
    [ -f "$MINIDOCK_RUNROOT/containers/$id/health.json" ] || fail "no health.json in the run root"
    # a stop ends the probes; the health stays, "unhealthy" as Docker shows it
    md_ok stop -t 0 hok >/dev/null
    assert_eq "$(_hc hok .Status)" unhealthy
    [ ! -e "$MINIDOCK_RUNROOT/containers/$id/health.json" ] || fail "health.json left after the stop"
    sleep 0.5
    assert_eq "$(_probes_left)" "" "probes left after the stop"
    # started again: starting, the log of the last run kept
    md_ok start hok >/dev/null
    assert_eq "$(_hc hok .Status)" starting
    _health_log_ge hok 1 || fail "the log of the last run is gone"
    wait_until 10 "hok healthy again" _health_is hok healthy
    md_ok rm -f hok hstart hnone >/dev/null
    assert_eq "$(_probes_left)" "" "probes left after rm -f"
    assert_clean
}

test_healthcheck_unhealthy() {
    ctr_setup
    bb_image
    md_ok run -d --name hbad --network none --health-cmd 'echo bad; exit 3' --health-interval 0.2s \
        --health-retries 3 bb sleep 600 >/dev/null
    wait_until 10 "hbad unhealthy" _health_is hbad unhealthy
    # unhealthy only after Retries failures in a row
    [ "$(_hc hbad .FailingStreak)" -ge 3 ] || fail "unhealthy after $(_hc hbad .FailingStreak) failures"
    assert_eq "$(_hc hbad '"\(.Log[-1].ExitCode) \(.Log[-1].Output | @json)"')" '3 "bad\n"'
    assert_match "$(md_ok ps --filter name=hbad --format '{{.Status}}')" '^Up .* \(unhealthy\)$'
    assert_eq "$(md_ok ps --filter health=unhealthy --format '{{.Names}}')" hbad
    # the last 5 results are kept
    wait_until 10 "7 failures" _health_streak_ge hbad 7
    assert_eq "$(_hc hbad '.Log | length')" 5
    # output is cut at 4 KiB, as Docker's ("..." after it)
    md_ok run -d --name hbig --network none --health-cmd 'head -c 5000 /dev/zero | tr "\0" x' \
        --health-interval 1h --health-start-period 1h --health-start-interval 0.2s bb sleep 600 >/dev/null
    wait_until 10 "hbig healthy" _health_is hbig healthy
    assert_eq "$(_hc hbig '.Log[0].Output | length')" 4099
    assert_match "$(_hc hbig '.Log[0].Output')" '^x+\.\.\.$'
    md_ok rm -f hbad hbig >/dev/null
    assert_clean
}

test_healthcheck_start_period() {
    ctr_setup
    bb_image
    # failures in the start period do not count; StartInterval until it ends
    md_ok run -d --name hsp --network none --health-cmd false --health-start-period 1m \
        --health-start-interval 0.2s --health-interval 1h --health-retries 1 bb sleep 600 >/dev/null
    wait_until 5 "three probes in the start period" _health_log_ge hsp 3
    assert_eq "$(_hc hsp '"\(.Status) \(.FailingStreak) \(.Log[0].ExitCode)"')" "starting 0 1"
    # after it, they do
    md_ok run -d --name hsp2 --network none --health-cmd false --health-start-period 1s \
        --health-start-interval 0.2s --health-interval 0.3s --health-retries 1 bb sleep 600 >/dev/null
    wait_until 10 "hsp2 unhealthy after its start period" _health_is hsp2 unhealthy
    assert_eq "$(_hc hsp2 .FailingStreak)" 1
    _health_log_ge hsp2 2 || fail "no probe in hsp2's start period"
    # a pass ends the start period: the next failure counts
    md_ok run -d --name hpass --network none --health-cmd 'echo x >>/c; [ $(wc -l </c) -eq 2 ]' \
        --health-start-period 1m --health-start-interval 0.2s --health-interval 0.2s --health-retries 1 bb sleep 600 >/dev/null
    wait_until 10 "hpass healthy" _health_is hpass healthy
    wait_until 10 "hpass unhealthy in its start period" _health_is hpass unhealthy
    md_ok rm -f hsp hsp2 hpass >/dev/null
    assert_clean
}

test_healthcheck_timeout() {
    ctr_setup
    bb_image
    md_ok run -d --name hhang --network none --health-cmd 'sleep 100' --health-timeout 0.3s \
        --health-interval 0.2s --health-retries 2 bb sleep 600 >/dev/null
    wait_until 15 "hhang unhealthy" _health_is hhang unhealthy
    assert_eq "$(_hc hhang '"\(.Log[-1].ExitCode) \(.Log[-1].Output)"')" "-1 Health check exceeded timeout (300ms)"
    wait_until 10 "3 timeouts" _health_log_ge hhang 3
    # each probe was killed at its timeout, with what it ran in the
    # container (reaped: no zombie left)
    local ps
    ps=$(md_ok exec hhang ps -o pid,stat,args)
    [ "$(grep -c 'sleep 100' <<<"$ps")" -le 1 ] || fail "hanging probes left: $ps"
    md_ok stop -t 0 hhang >/dev/null
    sleep 0.5
    assert_eq "$(_probes_left)" "" "probes left after the stop"
    md_ok rm hhang >/dev/null
    assert_clean
}

test_healthcheck_image_none() {
    ctr_setup
    bb_image
    # an image's healthcheck (commit keeps the container's)
    md_ok create --name hsrc --network none --health-cmd 'exit 0' --health-interval 0.2s bb sleep 600 >/dev/null
    md_ok commit hsrc hc:1 >/dev/null
    md_ok run -d --name himg --network none hc:1 >/dev/null
    wait_until 10 "himg healthy" _health_is himg healthy
    # the request's fields over the image's, its test kept
    md_ok create --name hmerge --network none --health-retries 7 hc:1 >/dev/null
    assert_eq "$(md_ok inspect hmerge | jq -cS '.[0].Config.Healthcheck')" '{"Interval":200000000,"Retries":7,"Test":["CMD-SHELL","exit 0"]}'
    # --no-healthcheck: NONE, no probe, no health
    md_ok run -d --name hoff --network none --no-healthcheck hc:1 >/dev/null
    assert_eq "$(md_ok inspect -f '{{json .Config.Healthcheck.Test}}' hoff)" '["NONE"]'
    sleep 0.6
    assert_eq "$(md_ok inspect -f '{{json .State.Health}}' hoff)" null
    assert_match "$(md_ok ps --filter name=hoff --format '{{.Status}}')" '^Up [^(]*$'
    assert_eq "$(md_ok ps --filter health=none --filter status=running --format '{{.Names}}')" hoff
    # flags that cannot be
    md_fail 125 create --no-healthcheck --health-cmd true bb true
    assert_one_line_error
    assert_match "$(md_stderr)" 'conflicts with --health-\* options'
    md_fail 125 create --health-interval 10 bb true
    assert_match "$(md_stderr)" 'invalid duration "10" for --health-interval'
    md_fail 125 create --health-timeout 10us bb true
    assert_match "$(md_stderr)" 'Timeout in Healthcheck cannot be less than 1ms'
    md_fail 125 create --health-retries -1 bb true
    assert_match "$(md_stderr)" 'health-retries cannot be negative'
    md_ok rm -f hsrc himg hmerge hoff >/dev/null
    md_ok rmi hc:1 >/dev/null
    assert_clean
}
