# shellcheck shell=bash
# Containers, part 2: isolation with Docker's defaults, observed from inside
# the container: namespaces, PID 1, /proc masked and read-only paths, a
# read-only /sys, /dev, capabilities, seccomp, no_new_privs, the devices
# allowlist, /etc/hosts, /etc/hostname, /etc/resolv.conf, no host file
# descriptor leaked, and the CVE-2019-5736 guard (no minidock binary that
# the container can open through /proc/PID/exe).

# Docker's 14 default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
# SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
# AUDIT_WRITE SETFCAP.
DOCKER_CAPS=00000000a80425fb

_status_field() {   # NAME <status text> -> value
    awk -v f="$1:" '$1 == f { print $2 }'
}

test_isolation_namespaces() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none bb sh -c 'echo $$; ls /proc | grep -c "^[0-9]*$"; for n in mnt pid uts ipc net cgroup user; do echo "$n $(readlink /proc/self/ns/$n)"; done; cat /proc/net/dev')
    assert_eq "$(sed -n 1p <<<"$out")" 1 "PID of the command"
    # only the container's own processes: sh, and ls and grep of the pipe
    n=$(sed -n 2p <<<"$out")
    [ "$n" -le 3 ] || fail "$n processes visible in the container"
    for ns in mnt pid uts ipc net cgroup; do
        inside=$(awk -v n="$ns" '$1 == n { print $2 }' <<<"$out")
        [ -n "$inside" ] || fail "no $ns namespace link inside"
        [ "$inside" != "$(readlink /proc/self/ns/"$ns")" ] || fail "the container shares the host's $ns namespace"
    done
    # no user namespace by default
    assert_eq "$(awk '$1 == "user" { print $2 }' <<<"$out")" "$(readlink /proc/self/ns/user)" "user namespace"
    # --network none: loopback only
    assert_eq "$(sed -n '/Inter-/,$p' <<<"$out" | tail -n +3 | awk -F: '{ gsub(/ /, "", $1); print $1 }' | tr '\n' ' ')" "lo " \
        "network interfaces"
    # the host name is the container's own (UTS)
    assert_eq "$(md_ok run --rm --network none --hostname inside bb hostname)" inside
    [ "$(hostname)" != inside ] || fail "the host's name changed"
    assert_clean
}

# --uts host (HostConfig.UTSMode, issue 13): the host's UTS namespace and
# name, the other namespaces still the container's own; with --hostname,
# or any other mode, refused as Docker refuses it.
test_isolation_uts_host() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none --uts host bb sh -c 'hostname; cat /etc/hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/mnt')
    assert_eq "$(sed -n 1p <<<"$out")" "$(hostname)" "hostname with --uts host"
    assert_eq "$(sed -n 2p <<<"$out")" "$(hostname)" "/etc/hostname with --uts host"
    assert_eq "$(sed -n 3p <<<"$out")" "$(readlink /proc/self/ns/uts)" "the UTS namespace"
    [ "$(sed -n 4p <<<"$out")" != "$(readlink /proc/self/ns/mnt)" ] || fail "--uts host shares the mount namespace too"
    assert_eq "$(md_ok inspect -f '{{.HostConfig.UTSMode}}' "$(md_ok create --network none --uts host bb true)")" host
    md_fail 125 run --rm --network none --uts host --hostname x bb true
    assert_contains "$(md_stderr)" "Conflicting options: hostname and the UTS mode"
    md_fail 125 run --rm --network none --uts container:x bb true
    assert_contains "$(md_stderr)" 'invalid UTS mode: container:x'
    md_ok container prune -f >/dev/null
    assert_clean
}

# --pid host (HostConfig.PidMode, issue 13): the host's PID namespace (its
# processes in /proc), stop still works; other modes refused.
test_isolation_pid_host() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none --pid host bb sh -c 'echo $$; readlink /proc/self/ns/pid; test -d /proc/1 && echo has-init')
    [ "$(sed -n 1p <<<"$out")" != 1 ] || fail "PID 1 with --pid host"
    assert_eq "$(sed -n 2p <<<"$out")" "$(readlink /proc/self/ns/pid)" "the PID namespace"
    assert_eq "$(sed -n 3p <<<"$out")" has-init
    id=$(md_ok run -d --network none --pid host bb sleep 300)
    assert_eq "$(md_ok inspect -f '{{.HostConfig.PidMode}}' "$id")" host
    md_ok stop -t 2 "$id" >/dev/null
    assert_eq "$(ctr_state "$id")" exited "state after stop"
    md_ok rm "$id" >/dev/null
    md_fail 125 run --rm --network none --pid bogus bb true
    assert_contains "$(md_stderr)" 'invalid PID mode: bogus'
    assert_clean
}

# --pid container:NAME: the other container's PID namespace (its processes
# seen, signals reach them); refused when that container does not run.
test_isolation_pid_container() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name pidtarget bb sleep 300 >/dev/null
    out=$(md_ok run --rm --network none --pid container:pidtarget bb sh -c 'readlink /proc/self/ns/pid; ps -o comm | grep -c sleep')
    tpid=$(ctr_pid pidtarget)
    assert_eq "$(sed -n 1p <<<"$out")" "$(readlink "/proc/$tpid/ns/pid")" "the PID namespace"
    assert_eq "$(sed -n 2p <<<"$out")" 1 "the other container's sleep, seen"
    id=$(md_ok run -d --network none --pid container:pidtarget bb sleep 301)
    assert_eq "$(md_ok inspect -f '{{.HostConfig.PidMode}}' "$id")" container:pidtarget
    md_ok stop -t 2 "$id" >/dev/null
    md_ok rm "$id" >/dev/null
    md_ok stop -t 1 pidtarget >/dev/null
    md_fail 125 run --rm --network none --pid container:pidtarget bb true
    assert_contains "$(md_stderr)" "cannot join PID namespace of a non running container: pidtarget"
    md_ok rm pidtarget >/dev/null
    assert_clean
}

test_isolation_proc_masked_paths() {
    ctr_setup
    bb_image
    local p masked=0 script=
    for p in /proc/acpi /proc/asound /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats \
        /proc/sched_debug /proc/scsi /proc/timer_list /proc/timer_stats /sys/firmware \
        /sys/devices/virtual/powercap; do
        [ -e "$p" ] || continue
        masked=$((masked + 1))
        if [ -d "$p" ]; then
            script="$script echo \"$p \$(ls -A $p | wc -l) \$(touch $p/x 2>/dev/null && echo writable)\";"
        else
            script="$script echo \"$p \$(cat $p 2>/dev/null | wc -c)\";"
        fi
    done
    [ "$masked" -gt 0 ] || skip "none of Docker's masked paths exists on this kernel"
    out=$(md_ok run --rm --network none bb sh -c "$script")
    while read -r p n w; do
        assert_eq "$n" 0 "size or entries of masked $p"
        assert_eq "${w:-}" "" "masked dir $p"
    done <<<"$out"
    assert_eq "$(wc -l <<<"$out")" "$masked" "masked paths checked"
    # the real ones are not empty on the host, so the check means something
    [ "$(cat /proc/interrupts | wc -c)" -gt 0 ] || [ ! -e /proc/interrupts ] || fail "host /proc/interrupts empty"
    # --privileged masks nothing
    if [ -e /proc/interrupts ]; then
        n=$(md_ok run --rm --network none --privileged bb sh -c 'cat /proc/interrupts | wc -c')
        [ "$n" -gt 0 ] || fail "/proc/interrupts masked with --privileged"
    fi
    assert_clean
}

test_isolation_proc_readonly_paths() {
    ctr_setup
    bb_image
    local p script=
    for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
        [ -e "$p" ] || continue
        script="$script awk -v p=$p '\$5 == p { split(\$6, o, \",\"); print p, o[1] }' /proc/self/mountinfo;"
    done
    out=$(md_ok run --rm --network none bb sh -c "$script")
    for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
        [ -e "$p" ] || continue
        grep -qx "$p ro" <<<"$out" || fail "$p is not mounted read-only in the container: $out"
    done
    # writes really fail (domainname would be allowed: the UTS namespace is
    # the container's, so only the read-only mount stops it)
    out=$(md_ok run --rm --network none bb sh -c '(echo x >/proc/sys/kernel/domainname) 2>&1; cat /proc/sys/kernel/domainname')
    assert_contains "$out" "Read-only file system"
    # /proc itself is still writable where Docker lets it be
    md_ok run --rm --network none bb sh -c 'echo 500 >/proc/self/oom_score_adj && grep -qx 500 /proc/self/oom_score_adj'
    # /sys is read-only, cgroups included.  (Only writes that would be
    # harmless if they went through: a child cgroup of the container's own,
    # the container's loopback queue length set to what it is.)
    out=$(md_ok run --rm --network none bb sh -c '
        awk "\$5 == \"/sys\" { split(\$6, o, \",\"); print o[1] }" /proc/self/mountinfo
        mkdir /sys/fs/cgroup/memory/x 2>&1; mkdir /sys/fs/cgroup/pids/x 2>&1
        q=$(cat /sys/class/net/lo/tx_queue_len); (echo $q >/sys/class/net/lo/tx_queue_len) 2>&1; true')
    assert_eq "$(head -n 1 <<<"$out")" ro "/sys mount option"
    [ "$(grep -c "Read-only file system" <<<"$out")" -ge 3 ] || fail "writes to /sys did not all fail read-only: $out"
    assert_clean
}

test_isolation_dev() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none bb sh -c 'ls -A /dev; echo ---; for d in null zero full random urandom tty ptmx; do
        echo "$d $(stat -c "%F %t:%T" /dev/$d)"; done; echo ---; grep -E " /dev(/pts|/shm|/mqueue)? " /proc/mounts')
    for d in null zero full random urandom tty ptmx pts shm mqueue; do
        grep -qx "$d" <<<"$out" || fail "/dev/$d missing: $out"
    done
    # no host device: /dev holds only what Docker puts there
    for d in $(sed -n '1,/^---$/p' <<<"$out" | grep -v -- ---); do
        case $d in
        null | zero | full | random | urandom | tty | ptmx | pts | shm | mqueue | fd | stdin | stdout | stderr | core) ;;
        *) fail "unexpected /dev/$d in the container" ;;
        esac
    done
    assert_contains "$out" "null character special file 1:3"
    assert_contains "$out" "zero character special file 1:5"
    assert_contains "$out" "full character special file 1:7"
    assert_contains "$out" "random character special file 1:8"
    assert_contains "$out" "urandom character special file 1:9"
    assert_contains "$out" "tty character special file 5:0"
    assert_match "$out" 'tmpfs /dev tmpfs [^ ]*nosuid'
    assert_match "$out" 'devpts /dev/pts devpts [^ ]*newinstance|devpts /dev/pts devpts [^ ]*ptmxmode=666'
    assert_match "$out" 'shm /dev/shm tmpfs [^ ]*nosuid,nodev,noexec'
    assert_match "$out" 'mqueue /dev/mqueue mqueue '
    # they work
    out=$(md_ok run --rm --network none bb sh -c 'head -c 16 /dev/zero | wc -c; head -c 16 /dev/urandom | wc -c
        echo x >/dev/null && echo null-ok; (echo x >/dev/full) 2>&1; echo shm >/dev/shm/f && cat /dev/shm/f')
    assert_eq "$(sed -n 1,3p <<<"$out" | tr '\n' ' ')" "16 16 null-ok "
    assert_contains "$out" "No space left on device"
    assert_contains "$out" $'\nshm'
    assert_clean
}

# The devices controller: a node made with mknod (CAP_MKNOD is a default
# capability) cannot be opened unless allowed; --device adds a device.
test_isolation_devices_allowlist() {
    ctr_setup
    bb_image
    local dev='' cand
    for cand in /dev/loop-control /dev/fuse; do
        [ -c "$cand" ] && dev=$cand && break
    done
    [ -n "$dev" ] || skip "no /dev/loop-control or /dev/fuse to test --device with"
    maj=$((16#$(stat -c %t "$dev"))) min=$((16#$(stat -c %T "$dev")))
    root_dev=$(stat -c '%d' /)
    rmaj=$((root_dev >> 8)) rmin=$((root_dev & 255))
    # opening read-only, reading nothing: harmless even if it were allowed
    out=$(md_ok run --rm --network none bb sh -c "
        mknod /dev/x c $maj $min && (: </dev/x) 2>&1 && echo opened-char
        mknod /dev/b b $rmaj $rmin && (: </dev/b) 2>&1 && echo opened-block
        mknod /dev/n c 1 3 && (: </dev/n) && echo opened-null")
    assert_not_contains "$out" opened-char
    assert_not_contains "$out" opened-block
    assert_contains "$out" "Operation not permitted"
    assert_contains "$out" opened-null
    # --device HOST:CONTAINER
    out=$(md_ok run --rm --network none --device "$dev:/dev/added" bb sh -c \
        "stat -c '%F %t:%T' /dev/added; (: </dev/added) && echo opened")
    assert_eq "$out" "$(printf 'character special file %x:%x\nopened' "$maj" "$min")"
    # read-only device permissions: r only
    out=$(md_ok run --rm --network none --device "$dev:/dev/added:r" bb sh -c \
        "(: </dev/added) && echo read-ok; (: >/dev/added) 2>&1 || echo write-refused")
    assert_contains "$out" read-ok
    assert_contains "$out" write-refused
    # the cgroup says so too (v1 devices controller)
    if [ -d /sys/fs/cgroup/devices ]; then
        id=$(md_ok run -d --network none bb sleep 30)
        list=$(cat "$(cgroup_dir devices "$id")/devices.list")
        assert_not_contains "$list" "a *:* rwm"
        assert_contains "$list" "c 1:3 rwm"
        md_ok rm -f "$id" >/dev/null
    fi
    assert_clean
}

test_isolation_capabilities() {
    ctr_setup
    bb_user_image
    st=$(md_ok run --rm --network none bbu cat /proc/self/status)
    assert_eq "$(_status_field CapBnd <<<"$st")" $DOCKER_CAPS CapBnd
    assert_eq "$(_status_field CapPrm <<<"$st")" $DOCKER_CAPS CapPrm
    assert_eq "$(_status_field CapEff <<<"$st")" $DOCKER_CAPS CapEff
    assert_eq "$(_status_field CapInh <<<"$st")" 0000000000000000 CapInh
    assert_eq "$(_status_field CapAmb <<<"$st")" 0000000000000000 CapAmb
    # a non-root user has no permitted or effective capability
    st=$(md_ok run --rm --network none -u alice bbu cat /proc/self/status)
    assert_eq "$(_status_field CapBnd <<<"$st")" $DOCKER_CAPS "CapBnd as alice"
    assert_eq "$(_status_field CapPrm <<<"$st")" 0000000000000000 "CapPrm as alice"
    assert_eq "$(_status_field CapEff <<<"$st")" 0000000000000000 "CapEff as alice"
    # --cap-add / --cap-drop, with and without CAP_ and in any case
    st=$(md_ok run --rm --network none --cap-add SYS_ADMIN --cap-drop cap_net_raw bbu cat /proc/self/status)
    assert_eq "$(_status_field CapEff <<<"$st")" 00000000a82405fb "CapEff +SYS_ADMIN -NET_RAW"
    assert_eq "$(_status_field CapBnd <<<"$st")" 00000000a82405fb "CapBnd +SYS_ADMIN -NET_RAW"
    st=$(md_ok run --rm --network none --cap-drop ALL --cap-add CHOWN bbu cat /proc/self/status)
    assert_eq "$(_status_field CapEff <<<"$st")" 0000000000000001 "CapEff with only CHOWN"
    # the effect, not only the mask: chown needs CAP_CHOWN
    out=$(md_ok run --rm --network none --cap-drop CHOWN bbu sh -c 'touch /f; chown 1000 /f 2>&1 || echo refused')
    assert_contains "$out" refused
    md_ok run --rm --network none bbu sh -c 'touch /f; chown 1000 /f'
    # --privileged: every capability the host has
    st=$(md_ok run --rm --network none --privileged bbu cat /proc/self/status)
    assert_eq "$(_status_field CapEff <<<"$st")" "$(_status_field CapBnd </proc/self/status)" "CapEff with --privileged"
    md_fail 125 run --rm --network none --cap-add NOT_A_CAP bbu true
    assert_one_line_error
    assert_clean
}

# --privileged: all capabilities (test_isolation_capabilities), no seccomp
# (test_isolation_seccomp_and_nnp), nothing masked, /sys writable, the
# host's devices in /dev and allowed by the devices controller.
test_isolation_privileged() {
    ctr_setup
    bb_image
    local dev='' cand
    for cand in /dev/loop-control /dev/fuse /dev/kmsg; do
        [ -c "$cand" ] && dev=$cand && break
    done
    out=$(md_ok run --rm --network none --privileged bb sh -c '
        awk "\$5 == \"/sys\" { split(\$6, o, \",\"); print \"sys\", o[1] }" /proc/self/mountinfo
        awk "\$5 == \"/proc/sys\" { print \"procsys mounted\" }" /proc/self/mountinfo
        ls /dev')
    assert_contains "$out" "sys rw"
    assert_not_contains "$out" "procsys mounted"
    if [ -n "$dev" ]; then
        grep -qx "${dev#/dev/}" <<<"$out" || fail "$dev not in the privileged container's /dev"
    fi
    if [ -d /sys/fs/cgroup/devices ]; then
        id=$(md_ok run -d --network none --privileged bb sleep 30)
        assert_eq "$(cat "$(cgroup_dir devices "$id")/devices.list")" "a *:* rwm"
        md_ok rm -f "$id" >/dev/null
    fi
    assert_clean
}

test_isolation_seccomp_and_nnp() {
    ctr_setup
    bb_image
    st=$(md_ok run --rm --network none bb cat /proc/self/status)
    assert_eq "$(_status_field Seccomp <<<"$st")" 2 "Seccomp by default"
    assert_eq "$(_status_field NoNewPrivs <<<"$st")" 0 "NoNewPrivs by default"
    # unshare(CLONE_NEWUSER) needs no capability: only the filter stops it
    out=$(md_ok run --rm --network none bb sh -c 'unshare -U true 2>&1 && echo allowed; true')
    assert_not_contains "$out" allowed
    assert_contains "$out" "Operation not permitted"
    # mount namespaces need CAP_SYS_ADMIN, and the filter allows it with it
    out=$(md_ok run --rm --network none bb sh -c 'unshare -m true 2>&1 && echo allowed; true')
    assert_not_contains "$out" allowed
    md_ok run --rm --network none --cap-add SYS_ADMIN bb unshare -m true
    # seccomp=unconfined and --privileged: no filter
    for opt in "--security-opt seccomp=unconfined" --privileged; do
        # shellcheck disable=SC2086
        st=$(md_ok run --rm --network none $opt bb sh -c 'cat /proc/self/status; unshare -U true && echo allowed')
        assert_eq "$(_status_field Seccomp <<<"$st")" 0 "Seccomp with $opt"
        assert_contains "$st" allowed
    done
    # no-new-privileges
    for opt in no-new-privileges no-new-privileges:true no-new-privileges=true; do
        st=$(md_ok run --rm --network none --security-opt "$opt" bb cat /proc/self/status)
        assert_eq "$(_status_field NoNewPrivs <<<"$st")" 1 "NoNewPrivs with $opt"
        assert_eq "$(_status_field Seccomp <<<"$st")" 2 "Seccomp with $opt"
    done
    assert_clean
}

# _userns_setup: give this test a remap user of its own (mdtest-PID, through
# MINIDOCK_USERNS_USER) with a subordinate range above every range already
# in /etc/subuid and /etc/subgid, and remove its lines when the test ends;
# the machine's own entries are left as they were. Sets USERNS_BASE.
_userns_setup() {
    ctr_setup
    bb_image
    export MINIDOCK_USERNS_USER=mdtest-$$
    USERNS_BASE=$({ cat /etc/subuid /etc/subgid 2>/dev/null || true; } |
        awk -F: 'NF >= 3 && $2 + $3 > top { top = $2 + $3 } END { top = top < 100000 ? 100000 : top
            printf "%d\n", int((top + 65535) / 65536) * 65536 }')
    trap '_userns_teardown; ctr_teardown' EXIT
    local f
    for f in /etc/subuid /etc/subgid; do
        echo "$MINIDOCK_USERNS_USER:$USERNS_BASE:65536" >>"$f"
    done
    # the remapped root must be able to reach the data root, as with Docker
    # (which refuses a data root under a directory without o+x)
    chmod 711 "$T"
}

_userns_teardown() {
    local f
    for f in /etc/subuid /etc/subgid; do
        if [ -f "$f" ]; then sed -i "/^$MINIDOCK_USERNS_USER:/d" "$f" || true; fi
    done
}

test_isolation_userns_remap() {
    _userns_setup
    base=$USERNS_BASE
    out=$(md_ok run --rm --network none --userns=remap bb sh -c \
        'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; stat -c %u:%g /bin/busybox; touch /made && echo wrote')
    assert_eq "$(sed -n 1p <<<"$out")" 0 "uid inside"
    assert_match "$(sed -n 2p <<<"$out")" "^ +0 +$base +[0-9]+$"
    assert_match "$(sed -n 3p <<<"$out")" "^ +0 +$base +[0-9]+$"
    assert_eq "$(sed -n 4p <<<"$out")" 0:0 "owner of the image's files inside"
    assert_eq "$(sed -n 5p <<<"$out")" wrote
    # the host sees the shifted uid
    id=$(md_ok run -d --network none --userns=remap bb sleep 30)
    pid=$(ctr_pid "$id")
    assert_eq "$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")" "$base" "uid on the host"
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "no user namespace"
    md_ok rm -f "$id" >/dev/null
    assert_ctr_gone "$id"
    assert_clean
}

# exec joins the container's user namespace too (else it runs as the
# host's root in the container's other namespaces).
test_isolation_userns_exec() {
    _userns_setup
    id=$(md_ok run -d --network none --userns=remap bb sleep 30)
    pid=$(ctr_pid "$id")
    out=$(md_ok exec "$id" sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map')
    assert_eq "$(sed -n 1p <<<"$out")" "$(readlink "/proc/$pid/ns/user")" "user namespace of exec"
    assert_match "$(sed -n 2p <<<"$out")" "^ +0 +$USERNS_BASE +[0-9]+$"
    md_ok rm -f "$id" >/dev/null
    assert_clean
}

# An image at the layer limit (200, MD_IMAGE_MAX_LAYERS) runs: its layers
# fit the one page of the overlay mount's options, also with --userns=remap
# (whose shifted copies are listed as briefly), and cp reaches a stopped
# remapped container's overlay.
# timeout: 300
test_isolation_userns_many_layers() {
    _userns_setup
    fixtures
    "$PY" "$MD_TOOLS/mklayers.py" docker "$T/many.tar" 200 --base "$FIX/busybox-rootfs.tar" --tag many:200
    md_ok load -i "$T/many.tar" >/dev/null
    assert_eq "$(md_ok run --rm --network none many:200 cat /l1 /l199)" $'1\n199' "files of the first and last layers"
    out=$(md_ok run --rm --network none --userns=remap many:200 sh -c 'cat /l199; stat -c %u /l199')
    assert_eq "$out" $'199\n0' "the last layer's file and its owner, remapped"
    id=$(md_ok create --network none --userns=remap many:200 true)
    md_ok cp "$id:/l198" "$T/l198" >/dev/null
    assert_eq "$(cat "$T/l198")" 198 "copied from a stopped remapped container"
    md_ok rm "$id" >/dev/null
    assert_clean
}

test_isolation_etc_files() {
    ctr_setup
    bb_image
    out=$(md_ok run --rm --network none --hostname box bb sh -c 'cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; grep -E " /etc/(hosts|hostname|resolv.conf) " /proc/mounts | wc -l')
    assert_eq "$(head -n 1 <<<"$out")" box
    assert_match "$out" $'\n127.0.0.1[ \t]+localhost'
    assert_eq "$(tail -n 1 <<<"$out")" 3 "bind mounts of the /etc files"
    # --add-host, --dns, --dns-search, --dns-option
    out=$(md_ok run --rm --network none --add-host db.example:10.1.2.3 --dns 192.0.2.53 \
        --dns-search example.org --dns-option ndots:2 bb sh -c 'cat /etc/hosts /etc/resolv.conf')
    assert_match "$out" $'10.1.2.3[ \t]+db.example'
    assert_match "$out" 'nameserver 192.0.2.53'
    assert_match "$out" 'search example.org'
    assert_match "$out" 'options ndots:2'
    # writes by the container stay in the container (the host's files are
    # the container's own copies under the data root)
    id=$(md_ok run -d --network none bb sleep 30)
    md_ok exec "$id" sh -c 'echo "10.9.9.9 added" >>/etc/hosts'
    assert_contains "$(cat "$(md_ok inspect -f '{{.HostsPath}}' "$id")")" added
    assert_not_contains "$(cat /etc/hosts)" "10.9.9.9 added"
    md_ok rm -f "$id" >/dev/null
    assert_clean
}

# No file descriptor of the caller or of minidock reaches the container.
test_isolation_no_fd_leak() {
    ctr_setup
    bb_image
    echo secret >"$T/secret"
    exec 7<"$T/secret" 8>"$T/other"
    # ls's own directory fd is the only one beyond 0 1 2
    for flags in "" "-i" "-d"; do
        if [ "$flags" = -d ]; then
            id=$(md_ok run -d --network none bb sh -c 'ls /proc/self/fd >/fds; sleep 30')
            sleep 0.5
            out=$(md_ok exec "$id" cat /fds)
        else
            # shellcheck disable=SC2086
            out=$(md_ok run --rm --network none $flags bb ls /proc/self/fd </dev/null)
        fi
        assert_eq "$(tr '\n' ' ' <<<"$out")" "0 1 2 3 " "fds of run $flags"
    done
    # exec, exec -i, and the monitor's own fds do not leak either
    assert_eq "$(md_ok exec "$id" ls /proc/self/fd | tr '\n' ' ')" "0 1 2 3 " "fds of exec"
    assert_eq "$(md_ok exec -i "$id" ls /proc/self/fd </dev/null | tr '\n' ' ')" "0 1 2 3 " "fds of exec -i"
    # PID 1 holds nothing but its stdio
    assert_eq "$(md_ok exec "$id" ls /proc/1/fd | tr '\n' ' ')" "0 1 2 " "fds of PID 1"
    if command -v script >/dev/null; then
        out=$(script -qec "'$MINIDOCK' run --rm --network none -t bb ls /proc/self/fd" /dev/null </dev/null | tr -d '\r')
        assert_eq "$(tr -s ' \n' ' ' <<<"$out" | sed 's/ $//')" "0 1 2 3" "fds of run -t"
    fi
    md_ok rm -f "$id" >/dev/null
    exec 7<&- 8>&-
    assert_clean
}

# _exe_probe_script SHA SIZE: a shell script for inside the container that
# prints "OPEN pid" for every /proc/PID/exe it can read whose content is the
# minidock binary, and "WRITE pid" for every one it can open for writing.
_exe_probe_script() {
    cat <<EOF
for e in /proc/[0-9]*/exe; do
    p=\${e#/proc/}; p=\${p%/exe}
    [ "\$p" = "\$\$" ] && continue
    if [ "\$(stat -L -c %s "\$e" 2>/dev/null)" = "$2" ] && s=\$(sha256sum "\$e" 2>/dev/null) &&
        [ "\${s%% *}" = "$1" ]; then echo "OPEN \$p"; fi
    if (exec 3<>"\$e") 2>/dev/null; then echo "WRITE \$p"; fi
done
EOF
}

# CVE-2019-5736: the container must not reach the minidock binary through
# /proc/PID/exe: not through PID 1 with --init, not during `exec`.
# timeout: 120
test_isolation_proc_exe_guard() {
    ctr_setup
    bb_image
    sha=$(sha256sum "$MINIDOCK" | cut -d' ' -f1)
    probe=$(_exe_probe_script "$sha" "$(stat -c %s "$MINIDOCK")")
    # --init: PID 1 is minidock's init
    out=$(md_ok run --rm --network none --init bb sh -c "$probe; cat /proc/1/exe >/dev/null 2>&1 && echo READ-1; true")
    assert_eq "$out" "" "what the container could open with --init"
    # the monitor and init of a running --init container
    id=$(md_ok run -d --network none --init bb sleep 60)
    assert_eq "$(md_ok exec "$id" sh -c "$probe")" "" "what exec could open"
    # during exec: probe in a loop while execs come and go (the loop ends
    # when told to, or after 3000 rounds)
    md_ok exec -d "$id" sh -c "i=0; while [ \$i -lt 3000 ] && [ ! -e /probe.stop ]; do $probe; i=\$((i+1)); done >/probe.out 2>&1; echo \$i >/probe.done"
    for i in $(seq 1 40); do
        md_ok exec "$id" true
    done
    md_ok exec "$id" touch /probe.stop
    wait_until 30 "the probe loop to end" md exec "$id" test -e /probe.done
    echo "probe rounds: $(md_ok exec "$id" cat /probe.done)" >&2
    assert_eq "$(md_ok exec "$id" cat /probe.out)" "" "what the container could open during exec"
    md_ok rm -f "$id" >/dev/null
    # the binary is unchanged
    assert_eq "$(sha256sum "$MINIDOCK" | cut -d' ' -f1)" "$sha" "minidock binary"
    assert_clean
}
