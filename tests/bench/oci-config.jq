# tests/bench/oci-config.jq -- an OCI runtime config (`crun spec`'s, or
# umoci's) made to match minidock's container, for crun and runc in the
# start benchmarks (tests/bench/run.sh, tests/bench/flash-bench.sh):
# /bin/true, no terminal, Docker's default capabilities, new pid, network,
# ipc, uts, mount and cgroup namespaces, cgroupsPath $cg, the root $root,
# and seccomp $sc (a profile, or null for none).
#   jq --arg root DIR --arg cg PATH --argjson sc PROFILE|null -f oci-config.jq config.json
.root = {path: $root, readonly: false}
| .process.args = ["/bin/true"] | .process.terminal = false
| .process.noNewPrivileges = false
| .process.capabilities = (["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
    "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"] as $c
    | {bounding: $c, effective: $c, permitted: $c})
| .linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"},
    {type: "mount"}, {type: "cgroup"}]
| .linux.cgroupsPath = $cg
| if $sc == null then del(.linux.seccomp) else .linux.seccomp = $sc end
