# shellcheck shell=bash
# Containers, part 3: cgroups.  Limits written where the kernel reads them
# (checked from the host in the container's cgroup dirs, and from inside
# through the cgroup namespace), and enforced: an OOM kill reported like
# Docker's (exit 137, State.OOMKilled), a fork loop stopped at
# --pids-limit, the cpuset honoured, pause/unpause through the freezer,
# stats and top read from these files, every cgroup removed with the
# container.  Written for this hybrid v1 host; a pure v2 host skips the
# v1 file checks.

_need_v1() {
    [ -d "/sys/fs/cgroup/$1" ] && [ -e "/sys/fs/cgroup/$1/cgroup.procs" ] ||
        skip "no cgroup v1 $1 controller here"
}

test_cgroup_memory_limits() {
    ctr_setup
    _need_v1 memory
    bb_image
    id=$(md_ok run -d --network none -m 32m --memory-swap 48m bb sleep 30)
    d=$(cgroup_dir memory "$id")
    assert_eq "$(cat "$d/memory.limit_in_bytes")" 33554432 memory.limit_in_bytes
    if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
        assert_eq "$(cat "$d/memory.memsw.limit_in_bytes")" 50331648 memory.memsw.limit_in_bytes
    fi
    # the container sees its own limit (cgroup namespace)
    assert_eq "$(md_ok exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 33554432 \
        "memory.limit_in_bytes seen from inside"
    assert_eq "$(md_ok exec "$id" cat /proc/self/cgroup | awk -F: '$2 == "memory" { print $3 }')" / \
        "the container's memory cgroup as it sees it"
    assert_eq "$(md_ok inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' "$id")" "33554432 50331648"
    md_ok rm -f "$id" >/dev/null
    # -m alone: swap as much again as memory (Docker's default)
    id=$(md_ok run -d --network none -m 32m bb sleep 30)
    d=$(cgroup_dir memory "$id")
    if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
        assert_eq "$(cat "$d/memory.memsw.limit_in_bytes")" 67108864 "memsw with -m 32m alone"
    fi
    md_ok rm -f "$id" >/dev/null
    # --memory-swap -1: unlimited swap
    id=$(md_ok run -d --network none -m 32m --memory-swap -1 bb sleep 30)
    d=$(cgroup_dir memory "$id")
    if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
        [ "$(cat "$d/memory.memsw.limit_in_bytes")" -gt 1099511627776 ] || fail "memsw not unlimited with --memory-swap -1"
    fi
    md_ok rm -f "$id" >/dev/null
    # swap below memory, and below Docker's 6MB minimum
    md_fail 125 run --rm --network none -m 32m --memory-swap 16m bb true
    assert_one_line_error
    md_fail 125 run --rm --network none -m 4096 bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" 6MB
    assert_clean
}

# timeout: 60
test_cgroup_oom_kill() {
    ctr_setup
    bb_image
    # awk doubles a string until the 16 MiB limit stops it
    md_fail 137 run --network none --name hog -m 16m --memory-swap 16m bb \
        awk 'BEGIN { s = "xxxxxxxxxxxxxxxx"; while (1) s = s s }'
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}' hog)" \
        "exited 137 true"
    assert_match "$(md_ok ps -a --filter name=hog --format '{{.Status}}')" '^Exited \(137\) '
    # detached, through wait
    id=$(md_ok run -d --network none -m 16m --memory-swap 16m bb \
        awk 'BEGIN { s = "xxxxxxxxxxxxxxxx"; while (1) s = s s }')
    assert_eq "$(md_ok wait "$id")" 137
    assert_eq "$(md_ok inspect -f '{{.State.OOMKilled}}' "$id")" true
    # a container that exits normally was not OOM-killed
    md_ok run --network none --name fine -m 16m bb true
    assert_eq "$(md_ok inspect -f '{{.State.OOMKilled}}' fine)" false
    md_ok rm -f hog fine "$id" >/dev/null
    assert_clean
}

# timeout: 60
test_cgroup_pids_limit() {
    ctr_setup
    _need_v1 pids
    bb_image
    # -1: unlimited
    id=$(md_ok run -d --network none --pids-limit -1 bb sleep 30)
    assert_eq "$(cat "$(cgroup_dir pids "$id")/pids.max")" max
    md_ok rm -f "$id" >/dev/null
    # a fork loop of 100 stops at 20 processes
    id=$(md_ok run -d --network none --pids-limit 20 bb sh -c \
        '(for i in $(seq 1 100); do sleep 30 & done) 2>/dev/null; echo forked; exec sleep 30')
    d=$(cgroup_dir pids "$id")
    assert_eq "$(cat "$d/pids.max")" 20 pids.max
    wait_until 10 "the fork loop to end" sh -c "'$MINIDOCK' logs $id | grep -q forked"
    n=$(wc -l <"$d/cgroup.procs")
    [ "$n" -le 20 ] || fail "$n processes with --pids-limit 20"
    [ "$n" -ge 15 ] || fail "only $n processes: did the loop fork at all?"
    assert_match "$(cat "$d/pids.events")" '^max [1-9]'
    assert_eq "$(md_ok inspect -f '{{.HostConfig.PidsLimit}}' "$id")" 20
    # exec at the limit fails with a message that says why
    md_fail 126 exec "$id" true
    assert_one_line_error
    assert_match "$(md_stderr)" '^minidock: exec: .*[a-zA-Z]{4}'
    md_ok rm -f "$id" >/dev/null
    assert_clean
}

test_cgroup_cpu() {
    ctr_setup
    _need_v1 cpu
    bb_image
    ncpu=$(nproc)
    last=$((ncpu - 1))
    id=$(md_ok run -d --network none --cpus 0.5 --cpu-shares 512 --cpuset-cpus "$last" bb sleep 30)
    assert_eq "$(cat "$(cgroup_dir cpu "$id")/cpu.cfs_quota_us")" 50000 cpu.cfs_quota_us
    assert_eq "$(cat "$(cgroup_dir cpu "$id")/cpu.cfs_period_us")" 100000 cpu.cfs_period_us
    assert_eq "$(cat "$(cgroup_dir cpu "$id")/cpu.shares")" 512 cpu.shares
    assert_eq "$(cat "$(cgroup_dir cpuset "$id")/cpuset.cpus")" "$last" cpuset.cpus
    # the process really is confined to that CPU
    pid=$(ctr_pid "$id")
    assert_eq "$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$pid/status")" "$last" \
        "Cpus_allowed_list of the container's process"
    assert_eq "$(md_ok exec "$id" grep Cpus_allowed_list /proc/self/status | cut -f2)" "$last" \
        "Cpus_allowed_list of exec"
    assert_eq "$(md_ok exec "$id" cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" 50000 "quota seen from inside"
    assert_eq "$(md_ok inspect -f '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}}' "$id")" \
        "500000000 512 $last"
    md_ok rm -f "$id" >/dev/null
    # --cpu-period and --cpu-quota
    id=$(md_ok run -d --network none --cpu-period 50000 --cpu-quota 25000 bb sleep 30)
    assert_eq "$(cat "$(cgroup_dir cpu "$id")/cpu.cfs_period_us")" 50000
    assert_eq "$(cat "$(cgroup_dir cpu "$id")/cpu.cfs_quota_us")" 25000
    md_ok rm -f "$id" >/dev/null
    # more CPUs than the machine has, a CPU it does not have
    md_fail 125 run --rm --network none --cpus "$((ncpu + 1))" bb true
    assert_one_line_error
    md_fail 125 run --rm --network none --cpuset-cpus "$ncpu" bb true
    assert_one_line_error
    md_fail 125 run --rm --network none --cpus 0.5 --cpu-quota 1000 bb true
    assert_one_line_error
    assert_clean
}

# update (issue 13): the limits of a running container change in its
# cgroup at once and in its configuration; a restart policy set on a running
# container is applied by its monitor; a stopped one gets the new limits at
# its next start; what update cannot change is refused.
test_cgroup_update() {
    ctr_setup
    _need_v1 cpu
    _need_v1 memory
    _need_v1 pids
    bb_image
    id=$(md_ok run -d --network none -m 64m --pids-limit 20 --memory-swappiness 40 bb sleep 300)
    assert_eq "$(cat "$(cgroup_dir memory "$id")/memory.swappiness")" 40 "memory.swappiness (--memory-swappiness)"
    md_fail 125 run --rm --network none --memory-swappiness 101 bb true
    assert_contains "$(md_stderr)" "valid memory swappiness range is 0-100"
    assert_eq "$(md_ok update -m 128m --memory-swap 256m --cpus 0.5 --pids-limit 50 "$id")" "$id"
    assert_eq "$(cat "$(cgroup_dir memory "$id")/memory.limit_in_bytes")" 134217728 memory.limit_in_bytes
    assert_eq "$(cat "$(cgroup_dir cpu "$id")/cpu.cfs_quota_us")" 50000 cpu.cfs_quota_us
    assert_eq "$(cat "$(cgroup_dir pids "$id")/pids.max")" 50 pids.max
    assert_eq "$(md_ok inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}' "$id")" \
        "134217728 268435456 500000000 50"
    # what run would refuse, update refuses, and nothing changes
    md_fail 1 update --cpus "$(($(nproc) + 1))" "$id"
    assert_one_line_error
    md_fail 1 update -m 4k "$id"
    assert_one_line_error
    assert_eq "$(md_ok inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' "$id")" "134217728 500000000" "after the refusals"
    md_fail 1 update "$id"
    assert_contains "$(md_stderr)" "you must provide one or more flags"
    md_fail 1 update --restart sometimes "$id"
    assert_one_line_error
    md_ok rm -f "$id" >/dev/null
    # a restart policy given to a running container, and limits its next
    # runs keep
    id=$(md_ok run -d --network none -m 64m bb sh -c 'sleep 1; exit 3')
    md_ok update --restart always -m 96m "$id" >/dev/null
    _restarted() { [ "$("$MINIDOCK" inspect -f '{{.RestartCount}}' "$1")" -ge 1 ]; }
    wait_until 20 "a restart by the updated policy" _restarted "$id"
    wait_until 10 "running again" state_is "$id" running
    assert_eq "$(cat "$(cgroup_dir memory "$id")/memory.limit_in_bytes")" 100663296 "the memory limit after a restart"
    # a limit alone: the monitor's next run of it takes it too
    local n0
    n0=$(md_ok inspect -f '{{.RestartCount}}' "$id")
    md_ok update -m 112m "$id" >/dev/null
    _restarted_after() { [ "$("$MINIDOCK" inspect -f '{{.RestartCount}}' "$1")" -gt "$2" ]; }
    wait_until 20 "another restart" _restarted_after "$id" "$n0"
    wait_until 10 "running again" state_is "$id" running
    assert_eq "$(cat "$(cgroup_dir memory "$id")/memory.limit_in_bytes")" 117440512 "a limit updated alone, after a restart"
    md_ok rm -f "$id" >/dev/null
    # a stopped one: at its next start
    id=$(md_ok create --network none bb sleep 300)
    md_ok update --pids-limit 30 "$id" >/dev/null
    md_ok start "$id" >/dev/null
    assert_eq "$(cat "$(cgroup_dir pids "$id")/pids.max")" 30 "pids.max after the start"
    md_ok rm -f "$id" >/dev/null
    # --rm containers keep no restart policy
    id=$(md_ok run -d --rm --network none bb sleep 300)
    md_fail 1 update --restart always "$id"
    assert_contains "$(md_stderr)" "AutoRemove is enabled"
    md_ok rm -f "$id" >/dev/null
    assert_clean
}

# _count NAME: the counter the pause test's container writes.
_count() { cat "$T/vol/count" 2>/dev/null || echo 0; }

test_cgroup_pause_unpause() {
    ctr_setup
    bb_image
    mkdir "$T/vol"
    md_ok run -d --network none --name pz -v "$T/vol:/vol" bb \
        sh -c 'i=0; while :; do i=$((i+1)); echo $i >/vol/count.new; mv /vol/count.new /vol/count; sleep 0.02; done' >/dev/null
    id=$(md_ok inspect -f '{{.Id}}' pz)
    wait_until 10 "the counter to start" sh -c "[ \"\$(cat $T/vol/count 2>/dev/null || echo 0)\" -gt 5 ]"
    md_ok pause pz >/dev/null
    assert_eq "$(ctr_state pz)" paused
    assert_eq "$(md_ok inspect -f '{{.State.Paused}} {{.State.Running}}' pz)" "true true"
    assert_match "$(md_ok ps --filter name=pz --format '{{.Status}}')" '\(Paused\)$'
    assert_eq "$(md_ok ps -q --filter status=paused)" "${id:0:12}"
    if [ -e "/sys/fs/cgroup/freezer/$MINIDOCK_CGROUP_PARENT/$id/freezer.state" ]; then
        assert_eq "$(cat "$(cgroup_dir freezer "$id")/freezer.state")" FROZEN freezer.state
    fi
    # the process really stops
    c1=$(_count)
    sleep 0.5
    c2=$(_count)
    assert_eq "$c2" "$c1" "counter while paused"
    assert_match "$(awk '{ print $3 }' "/proc/$(ctr_pid pz)/stat")" '^[DS]$'
    # no exec into a paused container, no second pause
    md_fail any exec pz true
    md_fail any pause pz
    md_ok unpause pz >/dev/null
    assert_eq "$(ctr_state pz)" running
    wait_until 5 "the counter to move again" sh -c "[ \"\$(cat $T/vol/count)\" -gt $c2 ]"
    md_fail any unpause pz
    # a paused container can be stopped and removed
    md_ok pause pz >/dev/null
    md_ok rm -f pz >/dev/null
    assert_ctr_gone "$id"
    assert_clean
}

test_cgroup_stats_and_top() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name st -m 64m bb sh -c 'sleep 101 & sleep 102 & exec sleep 103' >/dev/null
    wait_until 5 "three processes" sh -c "'$MINIDOCK' top st | grep -c 'sleep 10' | grep -qx 3"
    out=$(md_ok stats --no-stream)
    assert_match "$(head -n 1 <<<"$out")" '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$'
    assert_match "$(sed -n 2p <<<"$out")" ' st +[0-9.]+% +[0-9.]+[KMG]?i?B / 64MiB +[0-9.]+% .* 3$'
    assert_eq "$(md_ok stats --no-stream --format '{{.Name}} {{.PIDs}}' st)" "st 3"
    # memory usage: what the cgroup says, in the same unit
    assert_match "$(md_ok stats --no-stream --format '{{.MemUsage}}' st)" '^[0-9.]+[KMG]?i?B / 64MiB$'
    # top: the container's processes as the host sees them
    out=$(md_ok top st)
    assert_match "$(head -n 1 <<<"$out")" 'PID'
    assert_match "$(head -n 1 <<<"$out")" 'CMD'
    for n in 101 102 103; do
        assert_contains "$out" "sleep $n"
    done
    pid=$(ctr_pid st)
    assert_match "$out" "(^|[^0-9])$pid([^0-9]|$)"
    # neither for a stopped container
    md_ok kill st >/dev/null
    md_ok wait st >/dev/null
    md_fail any top st
    assert_one_line_error
    md_ok rm st >/dev/null
    assert_clean
}

# Every cgroup dir goes with the container, in every hierarchy, whatever
# way the container ended.
test_cgroup_removed_with_container() {
    ctr_setup
    bb_image
    a=$(md_ok run -d --network none -m 32m --pids-limit 50 --cpus 0.5 bb sleep 30)
    b=$(md_ok run -d --network none bb true)
    c=$(md_ok create --network none bb true)
    md_ok wait "$b" >/dev/null
    n=0
    for d in $(cgroup_parent_dirs); do
        [ -d "$d/$a" ] && n=$((n + 1))
        [ ! -d "$d/$c" ] || fail "a created container has a cgroup: $d/$c"
    done
    [ "$n" -ge 1 ] || fail "no cgroup dir for a running container"
    md_ok rm -f "$a" "$b" "$c" >/dev/null
    for x in "$a" "$b" "$c"; do assert_ctr_gone "$x"; done
    # --rm, and an OOM kill
    md_ok run --rm --network none bb true
    md_fail 137 run --rm --network none -m 8m --memory-swap 8m bb awk 'BEGIN { s = "x"; while (1) s = s s }'
    assert_clean
}

# --device-cgroup-rule (HostConfig.DeviceCgroupRules): a rule joins the
# device allowlist (v1 devices.allow, or the v2 BPF program). A node of a
# major no driver has (240, "local/experimental use") is refused by the
# cgroup (EPERM) without the rule; with it the open gets as far as the
# missing driver (ENXIO). Bad rules are refused at create.
test_cgroup_device_rules() {
    ctr_setup
    bb_image
    local probe='mknod /dev/x c 240 0 && (: </dev/x) 2>&1; echo done'
    out=$(md_ok run --rm --network none bb sh -c "$probe")
    assert_contains "$out" "Operation not permitted"
    out=$(md_ok run --rm --network none --device-cgroup-rule 'c 240:* rwm' bb sh -c "$probe")
    assert_not_contains "$out" "Operation not permitted"
    assert_contains "$out" "No such device"
    # r only: reading gets through, writing is refused
    out=$(md_ok run --rm --network none --device-cgroup-rule 'c 240:0 r' bb sh -c \
        'mknod /dev/x c 240 0; (: </dev/x) 2>&1; (: >/dev/x) 2>&1; echo done')
    assert_contains "$out" "No such device"
    assert_contains "$out" "Operation not permitted"
    id=$(md_ok run -d --network none --device-cgroup-rule 'c 240:7 rw' --device-cgroup-rule 'b *:* m' bb sleep 30)
    assert_eq "$(md_ok inspect -f '{{json .HostConfig.DeviceCgroupRules}}' "$id")" '["c 240:7 rw","b *:* m"]'
    if [ -d /sys/fs/cgroup/devices ] && [ -e "/sys/fs/cgroup/devices/$MINIDOCK_CGROUP_PARENT/$id" ]; then
        assert_contains "$(cat "$(cgroup_dir devices "$id")/devices.list")" "c 240:7 rw"
    fi
    md_ok rm -f "$id" >/dev/null
    local bad
    for bad in 'c 1:3' 'x 1:3 rwm' 'c 1:3 rwmx' 'c 99999:1 r' 'c -1:3 r' 'c 1:3 rwm extra'; do
        md_fail 125 create --network none --device-cgroup-rule "$bad" bb true
        assert_one_line_error
        assert_contains "$(md_stderr)" "invalid device cgroup rule"
    done
    [ -z "$(md_ok ps -aq)" ] || fail "a refused create left a container"
    assert_clean
}
