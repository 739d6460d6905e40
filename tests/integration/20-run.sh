# shellcheck shell=bash
# Containers, part 1: `run` and its flags as seen from inside the container,
# exit codes (Docker's: 125 minidock's own errors, 126 cannot execute, 127
# not found, else the container's, 128+N for signal N), image config
# (ENV, WORKDIR, USER, ENTRYPOINT, CMD, STOPSIGNAL, VOLUME), users and
# groups from the image's /etc/passwd and /etc/group, the terminal, stdin,
# ulimits, logs and their rotation, and bad input.
#
# Every test calls ctr_setup (own cgroup parent, teardown on exit) and ends
# with assert_clean.  Containers use --network none: nothing leaves loopback.

test_run_output_and_exit_codes() {
    ctr_setup
    bb_user_image
    assert_eq "$(md_ok run --rm --network none bbu echo hello)" hello
    md_fail 3 run --rm --network none bbu sh -c 'exit 3'
    # not found: 127, a one-line error
    md_fail 127 run --rm --network none bbu no-such-command
    assert_one_line_error
    md_fail 127 run --rm --network none bbu /no/such/path
    assert_one_line_error
    # found but not executable: 126
    md_fail 126 run --rm --network none bbu /noexec
    assert_one_line_error
    md_fail 126 run --rm --network none bbu /bin
    assert_one_line_error
    # killed by a signal: 128+N (the container's process is not PID 1 with
    # --init, so SIGKILL from inside reaches it)
    md_fail 137 run --rm --network none --init bbu sh -c 'kill -KILL $$'
    md_fail 143 run --rm --network none --init bbu sh -c 'kill -TERM $$'
    assert_clean
}

test_run_detach_name_and_id() {
    ctr_setup
    bb_image
    id=$(md_ok run -d --network none --name web bb sleep 30)
    assert_match "$id" '^[0-9a-f]{64}$'
    assert_eq "$(md_ok ps -q --no-trunc)" "$id"
    assert_eq "$(md_ok inspect -f '{{.Name}}' web)" /web
    assert_eq "$(md_ok inspect -f '{{.Id}}' "${id:0:12}")" "$id" "lookup by short ID"
    assert_eq "$(ctr_state web)" running
    # the process the host sees is the container's command
    pid=$(ctr_pid web)
    assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 30 "
    # a name in use: 125, and no second container
    md_fail 125 run -d --network none --name web bb true
    assert_one_line_error
    assert_eq "$(md_ok ps -aq | wc -l)" 1
    md_ok rm -f web >/dev/null
    assert_ctr_gone "$id"
    assert_clean
}

test_run_rm_removes_everything() {
    ctr_setup
    bb_image
    md_ok run --rm --network none --name gone bb sh -c 'echo x >/file' >/dev/null
    assert_eq "$(md_ok ps -aq)" "" "ps -a after --rm"
    # detached --rm: removed when it exits by itself
    id=$(md_ok run -d --rm --network none bb sleep 0.3)
    wait_until 10 "--rm container $id removed" sh -c "! '$MINIDOCK' inspect $id"
    assert_ctr_gone "$id"
    assert_clean
}

test_run_env() {
    ctr_setup
    bb_image
    printf '%s\n' '# a comment' 'FROM_FILE=file value' '' 'HOSTVAR_FILE' >"$T/env.list"
    out=$(HOSTVAR=from-host HOSTVAR_FILE=hf md_ok run --rm --network none -e A=1 -e 'B=two words' \
        -e HOSTVAR -e UNSET_ON_HOST --env-file "$T/env.list" bb env)
    for l in A=1 'B=two words' HOSTVAR=from-host 'FROM_FILE=file value' HOSTVAR_FILE=hf \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/; do
        grep -qxF "$l" <<<"$out" || fail "no '$l' in the container's environment: $out"
    done
    assert_not_contains "$out" UNSET_ON_HOST
    # Docker sets HOSTNAME to the container's host name
    grep -qxE 'HOSTNAME=[0-9a-f]{12}' <<<"$out" || fail "no HOSTNAME=<short ID> in: $out"
    # -e wins over the image's Env
    md_ok import -c 'ENV COLOR=red SIZE=big' "$FIX/busybox-rootfs.tar" envimg >/dev/null
    out=$(md_ok run --rm --network none -e COLOR=blue envimg env)
    assert_contains "$out" COLOR=blue
    assert_contains "$out" SIZE=big
    assert_not_contains "$out" COLOR=red
    md_fail 125 run --rm --network none --env-file "$T/no-such-file" bb true
    assert_one_line_error
    assert_clean
}

test_run_workdir_and_hostname() {
    ctr_setup
    bb_image
    assert_eq "$(md_ok run --rm --network none -w /new/dir bb pwd)" /new/dir
    assert_eq "$(md_ok run --rm --network none bb pwd)" /
    out=$(md_ok run --rm --network none --hostname myhost bb sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME')
    assert_eq "$out" $'myhost\nmyhost\nmyhost'
    # -h is --hostname for run and create, as in Docker (not --help)
    assert_eq "$(md_ok run -h short --rm --network none bb hostname | sed -n 1p)" short "run -h short"
    id=$(md_ok create -h made --network none bb hostname)
    assert_eq "$(md_ok inspect -f '{{.Config.Hostname}}' "$id")" made
    md_ok rm "$id" >/dev/null
    # by default the host name is the short ID
    id=$(md_ok run -d --network none bb sleep 30)
    assert_eq "$(md_ok exec "$id" hostname)" "${id:0:12}"
    assert_eq "$(md_ok inspect -f '{{.Config.Hostname}}' "$id")" "${id:0:12}"
    md_ok rm -f "$id" >/dev/null
    assert_clean
}

test_run_user_and_groups() {
    ctr_setup
    bb_user_image
    out=$(md_ok run --rm --network none -u alice bbu sh -c 'id -u; id -g; id -G; echo $HOME')
    assert_eq "$(sed -n 1,2p <<<"$out" | tr '\n' ' ')" "1000 1000 " "alice's uid and gid"
    assert_eq "$(sed -n 3p <<<"$out" | tr ' ' '\n' | sort -n | tr '\n' ' ')" "29 50 1000 " \
        "alice's groups (primary and supplementary from /etc/group)"
    assert_eq "$(sed -n 4p <<<"$out")" /home/alice
    # also as they are in /proc (id might just read /etc/group)
    out=$(md_ok run --rm --network none -u alice bbu grep -E '^(Uid|Gid|Groups):' /proc/self/status)
    assert_match "$out" $'Uid:\t1000\t1000\t1000\t1000'
    assert_match "$out" $'Gid:\t1000\t1000\t1000\t1000'
    assert_eq "$(grep Groups <<<"$out" | cut -f2 | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" "29 50 1000 "
    # user:group by name and by number; a group given replaces the primary
    # one and supplementary groups still come from /etc/group
    out=$(md_ok run --rm --network none -u bob:audio bbu id)
    assert_match "$out" '^uid=1001\(bob\) gid=29\(audio\)'
    assert_contains "$out" '50(staff)'
    assert_eq "$(md_ok run --rm --network none -u 1000:50 bbu sh -c 'id -u; id -g' | tr '\n' ' ')" "1000 50 "
    # a uid not in /etc/passwd is fine, with gid 0
    assert_eq "$(md_ok run --rm --network none -u 4242 bbu sh -c 'id -u; id -g' | tr '\n' ' ')" "4242 0 "
    # --group-add
    assert_contains "$(md_ok run --rm --network none -u alice --group-add 777 bbu id -G)" 777
    # root keeps no group of its own beyond /etc/group's
    assert_eq "$(md_ok run --rm --network none bbu id -u)" 0
    # an unknown user name is minidock's error
    md_fail 125 run --rm --network none -u nosuch bbu id
    assert_one_line_error
    assert_contains "$(md_stderr)" nosuch
    md_fail 125 run --rm --network none -u alice:nosuchgroup bbu id
    assert_one_line_error
    assert_eq "$(md_ok ps -aq)" ""
    assert_clean
}

# An image whose config sets everything `import -c` can set.
_config_image() {
    fixtures
    md_ok import -c 'ENV GREETING=hi' -c 'WORKDIR /w' -c 'USER 1000:1000' \
        -c 'STOPSIGNAL SIGUSR1' -c 'VOLUME /data' -c 'LABEL from=image' \
        -c 'ENTRYPOINT ["/bin/sh", "-c", "echo \"ep:$0:$*:$GREETING:$(pwd):$(id -u)\""]' \
        -c 'CMD ["c1", "c2"]' "$FIX/busybox-rootfs.tar" cfgimg >/dev/null
}

test_run_image_config() {
    ctr_setup
    _config_image
    assert_eq "$(md_ok image inspect -f '{{.Config.StopSignal}}' cfgimg)" SIGUSR1
    # ENTRYPOINT + CMD, ENV, WORKDIR, USER
    assert_eq "$(md_ok run --rm --network none cfgimg)" "ep:c1:c2:hi:/w:1000"
    # arguments replace CMD, not ENTRYPOINT
    assert_eq "$(md_ok run --rm --network none cfgimg a1 a2 a3)" "ep:a1:a2 a3:hi:/w:1000"
    # -u, -w and -e override the image
    assert_eq "$(md_ok run --rm --network none -u 0 -w /tmp -e GREETING=yo cfgimg x)" "ep:x::yo:/tmp:0"
    # --entrypoint replaces ENTRYPOINT and drops the image's CMD
    assert_eq "$(md_ok run --rm --network none --entrypoint /bin/echo cfgimg)" ""
    assert_eq "$(md_ok run --rm --network none --entrypoint /bin/echo cfgimg one)" one
    # the container's config and StopSignal; VOLUME made an anonymous volume
    id=$(md_ok create --network none cfgimg)
    assert_eq "$(md_ok inspect -f '{{.Config.StopSignal}}' "$id")" SIGUSR1
    assert_eq "$(md_ok inspect -f '{{json .Config.Entrypoint}}' "$id")" \
        '["/bin/sh","-c","echo \"ep:$0:$*:$GREETING:$(pwd):$(id -u)\""]'
    assert_eq "$(md_ok inspect -f '{{json .Config.Cmd}}' "$id")" '["c1","c2"]'
    assert_eq "$(md_ok inspect -f '{{.Config.User}}' "$id")" 1000:1000
    assert_eq "$(md_ok inspect -f '{{.Config.WorkingDir}}' "$id")" /w
    assert_eq "$(md_ok inspect -f '{{index .Config.Labels "from"}}' "$id")" image
    assert_eq "$(md_ok inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}}{{end}}' "$id")" "volume /data"
    vol=$(md_ok inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
    assert_match "$vol" '^[0-9a-f]{64}$'
    assert_contains "$(md_ok volume ls -q)" "$vol"
    # rm -v removes the anonymous volume
    md_ok rm -v "$id" >/dev/null
    assert_not_contains "$(md_ok volume ls -q)" "$vol"
    assert_clean
}

test_run_tty() {
    ctr_setup
    require_cmd script
    bb_image
    # a pty inside; /dev/console exists only with -t
    out=$(script -qec "'$MINIDOCK' run --rm --network none -t bb sh -c 'tty; ls /dev/console; [ -t 0 ] && [ -t 1 ] && echo both-tty'" \
        /dev/null </dev/null | tr -d '\r')
    assert_contains "$out" /dev/pts/0
    assert_contains "$out" /dev/console
    assert_contains "$out" both-tty
    out=$(md_ok run --rm --network none bb sh -c 'ls /dev/console 2>&1; [ -t 1 ] || echo not-a-tty')
    assert_contains "$out" "No such file"
    assert_contains "$out" not-a-tty
    # and the exit code comes through with -t
    rc=0
    script -qec "'$MINIDOCK' run --rm --network none -t bb sh -c 'exit 5'" /dev/null </dev/null >/dev/null || rc=$?
    # script(1) from util-linux >= 2.35 returns the child's code
    assert_eq "$rc" 5 "exit code through the pty"
    # a later resize reaches the container
    out=$(script -qec "stty rows 33 cols 101; '$MINIDOCK' run --rm --network none -t bb sh -c 'sleep 1; stty size'" \
        /dev/null </dev/null | tr -d '\r')
    assert_eq "$(tail -n 1 <<<"$out")" "33 101" "window size after a second"
    # the window size of the caller's terminal, from the very start
    out=$(script -qec "stty rows 33 cols 101; '$MINIDOCK' run --rm --network none -t bb stty size" \
        /dev/null </dev/null | tr -d '\r')
    assert_eq "$(tail -n 1 <<<"$out")" "33 101" "window size seen by the container's first command"
    assert_clean
}

test_run_stdin() {
    ctr_setup
    bb_image
    assert_eq "$(printf 'line1\nline2\n' | md_ok run --rm --network none -i bb cat)" $'line1\nline2'
    # without -i the container's stdin is empty
    assert_eq "$(echo nope | md_ok run --rm --network none bb cat)" ""
    # binary data through unchanged
    head -c 300000 /dev/urandom >"$T/blob"
    sum=$(md_ok run --rm --network none -i bb sha256sum <"$T/blob" | cut -d' ' -f1)
    assert_eq "$sum" "$(sha256sum <"$T/blob" | cut -d' ' -f1)"
    assert_clean
}

# Stdin still coming when the container exits: the CLI returns the
# container's exit code (Docker's does), it does not die of SIGPIPE.  A race
# in a broken minidock: five tries.
test_run_stdin_endless_exit_code() {
    ctr_setup
    bb_image
    for i in 1 2 3 4 5; do
        rc=$( (set +o pipefail; yes 2>/dev/null | "$MINIDOCK" run --rm -i --network none bb sh -c 'exit 3' \
            >/dev/null 2>&1; echo "${PIPESTATUS[1]}") )
        assert_eq "$rc" 3 "exit code of run -i with endless stdin, try $i"
    done
    assert_clean
}

# A stdin that never waits (/dev/zero) must not hold up the output.  A race
# in a broken minidock: five tries.
test_run_stdin_flood_output() {
    ctr_setup
    bb_image
    for i in 1 2 3 4 5; do
        "$MINIDOCK" run --rm -i --network none bb sh -c 'echo started; sleep 1.5' </dev/zero >"$T/zero.out" 2>&1 &
        cli=$!
        wait_until 1 "output while stdin floods, try $i (the container runs 1.5 s)" grep -q started "$T/zero.out"
        wait "$cli" || true
    done
    assert_clean
}

test_run_readonly_and_tmpfs() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none --read-only --tmpfs /tmp:size=1m bb sh -c '
        touch /x 2>&1; mkdir /tmp/d && echo tmp-ok; grep " /tmp " /proc/mounts; echo hi >/dev/null && echo dev-ok')
    assert_contains "$out" "Read-only file system"
    assert_contains "$out" tmp-ok
    assert_match "$out" 'tmpfs /tmp tmpfs rw,[^ ]*size=1024k'
    assert_contains "$out" dev-ok
    # /etc/hosts and friends are still there with --read-only
    md_ok run --rm --network none --read-only bb sh -c 'test -s /etc/hosts && test -s /etc/hostname && test -e /etc/resolv.conf'
    # --mount type=tmpfs with size and mode
    out=$(md_ok run --rm --network none --mount type=tmpfs,destination=/scratch,tmpfs-size=2m,tmpfs-mode=1770 bb \
        sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch')
    assert_match "$out" 'tmpfs /scratch tmpfs [^ ]*size=2048k'
    assert_contains "$out" 1770
    # a writable root without --read-only
    md_ok run --rm --network none bb sh -c 'touch /x'
    assert_clean
}

test_run_ulimit() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none --ulimit nofile=100:200 --ulimit nproc=50 bb \
        sh -c 'grep -E "^Max (open files|processes)" /proc/self/limits')
    assert_match "$out" 'Max open files +100 +200 '
    assert_match "$out" 'Max processes +50 +50 '
    md_fail 125 run --rm --network none --ulimit nofile=200:100 bb true
    assert_one_line_error
    md_fail 125 run --rm --network none --ulimit nosuch=1 bb true
    assert_one_line_error
    assert_clean
}

test_run_init() {
    ctr_setup
    bb_image
    # with --init the command is not PID 1, and PID 1 reaps orphans
    out=$(md_ok run --rm --network none --init bb sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "')
    assert_match "$(head -n 1 <<<"$out")" '^[0-9]+$'
    [ "$(head -n 1 <<<"$out")" != 1 ] || fail "--init: the command is PID 1"
    assert_eq "$(md_ok run --rm --network none bb sh -c 'echo $$')" 1
    md_ok run -d --network none --init --name in bb sh -c '(sleep 0.2 &) ; sleep 30' >/dev/null
    sleep 1
    zombies=$(md_ok exec in ps -o stat,comm | awk '$1 ~ /^Z/' | wc -l)
    assert_eq "$zombies" 0 "zombies under --init"
    # stop is quick: the init forwards SIGTERM to sleep (which dies of it)
    start=$SECONDS
    md_ok stop in >/dev/null
    [ $((SECONDS - start)) -lt 5 ] || fail "stop of an --init container took $((SECONDS - start)) s"
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' in)" 143
    md_ok rm in >/dev/null
    assert_clean
}

test_run_foreground_signals() {
    ctr_setup
    bb_image
    # the foreground CLI forwards SIGTERM and SIGUSR1 to the container
    "$MINIDOCK" run --network none --name fg bb sh -c \
        'trap "echo got-usr1" USR1; trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done' \
        >"$T/fg.out" 2>&1 &
    cli=$!
    wait_until 10 "container output 'ready'" grep -q ready "$T/fg.out"
    kill -USR1 "$cli"
    wait_until 10 "USR1 forwarded" grep -q got-usr1 "$T/fg.out"
    kill -TERM "$cli"
    rc=0
    wait "$cli" || rc=$?
    assert_eq "$rc" 42 "exit code of the CLI after forwarding SIGTERM"
    assert_eq "$(md_ok inspect -f '{{.State.ExitCode}}' fg)" 42
    md_ok rm fg >/dev/null
    assert_clean
}

test_run_labels() {
    ctr_setup
    bb_image
    id=$(md_ok run -d --network none -l a=1 --label b=two --label 'c=x=y' bb sleep 30)
    assert_eq "$(md_ok inspect -f '{{index .Config.Labels "a"}}' "$id")" 1
    assert_eq "$(md_ok inspect -f '{{index .Config.Labels "b"}}' "$id")" two
    assert_eq "$(md_ok inspect -f '{{index .Config.Labels "c"}}' "$id")" x=y
    assert_eq "$(md_ok ps -q --filter label=a=1)" "${id:0:12}"
    assert_eq "$(md_ok ps -q --filter label=b)" "${id:0:12}"
    assert_eq "$(md_ok ps -q --filter label=a=2)" ""
    md_ok rm -f "$id" >/dev/null
    assert_clean
}

# Log rotation: --log-opt max-size and max-file, observed on disk.
test_run_log_rotation() {
    ctr_setup
    bb_image
    id=$(md_ok run -d --network none --log-opt max-size=2k --log-opt max-file=3 bb \
        sh -c 'i=0; while [ $i -lt 400 ]; do echo "line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done')
    assert_eq "$(md_ok wait "$id")" 0
    log=$(md_ok inspect -f '{{.LogPath}}' "$id")
    assert_file "$log"
    assert_file "$log.1"
    assert_file "$log.2"
    assert_no_file "$log.3"
    for f in "$log" "$log.1" "$log.2"; do
        sz=$(stat -c %s "$f")
        # a file is rotated once it reaches max-size: one record may pass it
        [ "$sz" -le $((2048 + 512)) ] || fail "$f is $sz bytes with max-size=2k"
    done
    # the last line is in the logs, the first rotated away
    out=$(md_ok logs "$id")
    assert_contains "$(tail -n 1 <<<"$out")" "line 399 "
    assert_not_contains "$out" "line 0 "
    assert_eq "$(md_ok inspect -f '{{index .HostConfig.LogConfig.Config "max-size"}}' "$id")" 2k
    md_ok rm "$id" >/dev/null
    assert_no_file "$log"
    assert_no_file "$log.1"
    md_fail 125 run --rm --network none --log-opt max-size=bogus bb true
    assert_one_line_error
    assert_clean
}

# --log-driver none (issue 13): the output still reaches an attached
# client, nothing is kept, and `logs` says so as Docker does.
test_run_log_driver_none() {
    ctr_setup
    bb_image
    assert_eq "$(md_ok run --name ln --log-driver none --network none bb echo shown)" shown "attached output"
    assert_eq "$(md_ok inspect -f '{{.HostConfig.LogConfig.Type}}|{{.LogPath}}' ln)" "none|"
    assert_eq "$(find "$MINIDOCK_ROOT" -name 'container.log*' | wc -l)" 0 "log files kept"
    md_fail 1 logs ln
    assert_contains "$(md_stderr)" "configured logging driver does not support reading"
    md_fail 125 run --rm --network none --log-driver syslog bb true
    assert_one_line_error
    md_ok rm ln >/dev/null
    assert_clean
}

# _cgroup_count: container cgroup dirs below the test's parent, in all
# hierarchies.
_cgroup_count() {
    local d n=0
    for d in $(cgroup_parent_dirs); do
        n=$((n + $(find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l)))
    done
    echo "$n"
}

# Bad input: a one-line error, exit 125, and nothing left behind.  (A
# missing image with --pull never: without it run tries a pull, which prints
# Docker's "Unable to find image" line first, and tests stay off the
# network.)
test_run_bad_input() {
    ctr_setup
    bb_image
    mkdir -p "$T/src"
    md_ok run -d --network none --name taken bb sleep 30 >/dev/null
    local -a cases=(
        "--pull never no/such-image:latest true"
        "-m abc bb true"
        "-m 4096 bb true"
        "--memory-swap xyz bb true"
        "--cpus x bb true"
        "--cpu-shares abc bb true"
        "--pids-limit many bb true"
        "--restart bogus bb true"
        "--restart on-failure:x bb true"
        "--ulimit bad bb true"
        "--name taken bb true"
        "--mount type=bind,source=$T/no-such-dir,target=/x bb true"
        "--mount type=nosuch,target=/x bb true"
        "--cap-add NO_SUCH_CAP bb true"
        "--cap-drop NO_SUCH_CAP bb true"
        "--device /dev/no-such-device bb true"
        "--stop-signal NOSIG bb true"
        "--security-opt seccomp=$T/no-such-profile.json bb true"
        "--security-opt bogus bb true"
        "--userns bogus bb true"
        "--cpuset-cpus 999 bb true"
        "-v relative/path:/x bb true"
        "--log-opt max-file=0 bb true"
        "-v newvol:/x -m abc bb true"
        "-v newvol2:/x --device /dev/no-such-device bb true"
        "-v newvol3:/x --mount type=bind,source=$T/no-such-dir,target=/y bb true"
        "-v /anon bb no-such-command"
    )
    local c before vols mounts want
    mounts=$(grep -c "$T" /proc/self/mountinfo || true)
    before=$(_cgroup_count)
    for c in "${cases[@]}"; do
        # a command that is not found fails at start: 127 (create succeeds)
        want=125
        case $c in *no-such-command) want=127 ;; esac
        # shellcheck disable=SC2086
        md_fail $want run --rm --network none $c
        assert_one_line_error
        if [ $want = 125 ]; then
            # shellcheck disable=SC2086
            md_fail 125 create --network none $c
            assert_one_line_error
        fi
        assert_eq "$(md_ok ps -aq | wc -l)" 1 "containers after 'run $c'"
        assert_eq "$(_cgroup_count)" "$before" "cgroup dirs after 'run $c'"
        vols=$(md_ok volume ls -q)
        [ -z "$vols" ] || fail "volumes after 'run $c': $vols"
        assert_eq "$(grep -c "$T" /proc/self/mountinfo || true)" "$mounts" "mounts after 'run $c'"
    done
    assert_eq "$(ls "$MINIDOCK_ROOT/containers" | wc -l)" 1 "container dirs"
    md_ok rm -f taken >/dev/null
    assert_clean
}

# A monitor that cannot start (the binary is run again through
# /proc/self/exe; here /proc is hidden, as in an initramfs that has not
# mounted it yet) is one line naming the exec and its reason, exit 125, and
# run --rm leaves nothing.  The build before issue 12 said "the monitor
# went away", or died of SIGPIPE with no word at all.
test_run_monitor_exec_fails() {
    ctr_setup
    bb_image
    local rc=0 out
    out=$(unshare -m sh -c 'mount -t tmpfs none /proc && exec "$0" run --rm --network none bb true' "$MINIDOCK" 2>&1) || rc=$?
    assert_eq "$rc" 125 "exit status: $out"
    assert_eq "$(wc -l <<<"$out")" 1 "lines: $out"
    assert_contains "$out" "minidock: run: cannot start the container's monitor: exec /proc/self/exe: No such file or directory"
    md_ok system check >/dev/null
    assert_clean
}

# A run root whose attach socket path would not fit in sun_path (108 bytes)
# must still work (Docker's own paths are as long).
test_run_long_run_root() {
    ctr_setup
    export MINIDOCK_RUNROOT=$T/run/a-rather-long-run-root-directory-name/and-some-more
    bb_image
    assert_eq "$(md_ok run --rm --network none bb echo ok)" ok
    id=$(md_ok run -d --network none bb sleep 30)
    assert_eq "$(md_ok exec "$id" echo in)" in
    md_ok rm -f "$id" >/dev/null
    assert_clean
}
