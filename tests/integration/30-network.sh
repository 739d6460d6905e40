# shellcheck shell=bash
# Networking (issue 4): the default bridge and user networks, NAT out and
# published ports in (nftables and iptables), hairpin and localhost, names
# and aliases, --internal, --ip/--mac-address/--dns/--add-host, the
# none/host/container: modes, connect/disconnect, IPAM under concurrent
# runs, and that nothing leaks: veths, leases, rules, namespaces, cgroups,
# also after the monitor is killed.
#
# No test touches the machine's own network namespace.  _net_setup gives
# each test two namespaces of its own: "host" ($NH, where minidock runs:
# every md call goes through a wrapper that does `nsenter --net`, not
# `ip netns exec`, which remounts /sys and hides the cgroup hierarchies) and
# "uplink" ($NU, another machine on the LAN), joined by a veth pair with
# TEST-NET-1 addresses: host 192.0.2.1, uplink 192.0.2.2, the host's
# default route via the uplink.  Bridges, rules, routes and ip_forward live
# in $NH only; deleting the two namespaces afterwards removes all of it.
# Traffic goes only to loopback and these namespaces' addresses.

_HOST_IP=192.0.2.1
_UP_IP=192.0.2.2

# _net_setup: ctr_setup (own cgroup parent, teardown), then the
# namespaces mdh-$$ and mdu-$$, and MINIDOCK pointed at a wrapper that
# runs the binary under test inside the host namespace (so ctr_teardown's
# rm -f runs there too).
_net_setup() {
    ctr_setup
    require_cmd ip nsenter nft unshare busybox jq
    NH=mdh-$$ NU=mdu-$$
    NET_NS=${NET_NS:-}" $NH $NU"
    NET_BG=${NET_BG:-}
    trap '_net_teardown' EXIT
    ip netns add "$NH"
    ip netns add "$NU"
    ip -n "$NH" link set lo up
    ip -n "$NU" link set lo up
    # created inside the namespaces: no link ever appears in the machine's own
    ip -n "$NH" link add up0 type veth peer name up1 netns "$NU"
    ip -n "$NH" addr add "$_HOST_IP/24" dev up0
    ip -n "$NU" addr add "$_UP_IP/24" dev up1
    ip -n "$NH" link set up0 up
    ip -n "$NU" link set up1 up
    ip -n "$NH" route add default via "$_UP_IP"
    # a fresh namespace's forwarding setting depends on the kernel: start from 0
    # so that it is minidock that turns it on
    inh sysctl -q -w net.ipv4.ip_forward=0
    MD_REAL=${MD_REAL:-$MINIDOCK}
    printf '#!/bin/sh\nexec /usr/bin/nsenter --net=/run/netns/%s %s "$@"\n' "$NH" "$MD_REAL" >"$T/md-in-ns"
    chmod 755 "$T/md-in-ns"
    export MINIDOCK=$T/md-in-ns MD_REAL
}

_net_teardown() {
    local p ns
    ctr_teardown
    for p in $NET_BG; do kill -KILL "$p" 2>/dev/null; done
    for ns in $NET_NS; do
        [ -e "/run/netns/$ns" ] && ip netns del "$ns"
    done
    return 0
}

# inh/inu CMD...: run CMD in the test's host or uplink namespace.
inh() { nsenter --net="/run/netns/$NH" "$@"; }
inu() { nsenter --net="/run/netns/$NU" "$@"; }

# _bg NS CMD...: start CMD in the background in namespace NS (inh or inu);
# it is killed at teardown or by _bg_stop.
_bg() {
    local ns
    ns=$(_nsx "$1")
    shift
    nsenter "$ns" "$@" &
    NET_BG="$NET_BG $!"
}
_bg_stop() {
    local p
    for p in $NET_BG; do kill -KILL "$p" 2>/dev/null || true; done
    for p in $NET_BG; do wait "$p" 2>/dev/null || true; done
    NET_BG=
}

# _nsx inh|inu: nsenter's option for that namespace (for timeout, which
# cannot run a shell function).
_nsx() { case $1 in inh) echo "--net=/run/netns/$NH" ;; inu) echo "--net=/run/netns/$NU" ;; esac; }

# _get NS URL: the body, fetched with busybox wget from NS (inh or inu).
_get() { timeout 5 nsenter "$(_nsx "$1")" busybox wget -q -O - "$2"; }

# _no_get NS URL: the fetch fails (bounded: a dropped SYN times out in 3 s).
# (Debian's busybox wget crashes with -T, hence timeout around it.)
_no_get() {
    if timeout 3 nsenter "$(_nsx "$1")" busybox wget -q -O - "$2" >"$T/no_get.out" 2>&1; then
        fail "$2 is reachable from ${1#in}: $(cat "$T/no_get.out")"
    fi
}

# _hosts_has CTR NAME: NAME is a name (a whole field) in CTR's /etc/hosts.
_hosts_has() {
    local h
    h=$(md_ok exec "$1" cat /etc/hosts)
    awk -v n="$2" '{ for (i = 2; i <= NF; i++) if ($i == n) f = 1 } END { exit !f }' <<<"$h"
}

# _md_no ARGS: minidock ARGS fails (any non-zero exit: a command inside
# killed by timeout exits 143, which md_fail would call a crash).
_md_no() {
    local rc=0
    md "$@" >/dev/null || rc=$?
    [ "$rc" != 0 ] || fail "minidock $* succeeded, expected a failure"
}

# _uplink_httpd: a web server on the uplink (192.0.2.2:8000) whose log
# ($T/up-httpd.log) names each client's address and port.
_uplink_httpd() {
    mkdir -p "$T/upwww"
    echo uplink >"$T/upwww/index.html"
    _bg inu busybox httpd -f -vv -p "$_UP_IP:8000" -h "$T/upwww" 2>>"$T/up-httpd.log"
    wait_until 10 "uplink httpd" _get inu "http://$_UP_IP:8000/"
    : >"$T/up-httpd.log"
}

# The command of a web container: serves its hostname on port 80 and logs
# each client's address (httpd -vv, in its logs).
_WEB=(sh -c 'mkdir -p /www && hostname >/www/index.html && exec httpd -f -vv -p 80 -h /www')

# _web NAME RUN-OPTIONS...: start a web container and wait until it serves.
_web() {
    local name=$1
    shift
    md_ok run -d --name "$name" "$@" bb "${_WEB[@]}" >/dev/null
    local ip
    ip=$(_ip "$name")
    if [ -n "$ip" ]; then
        wait_until 10 "$name serving on $ip:80" _get inh "http://$ip:80/"
    fi
}

# _ip NAME [NETWORK]: the container's address (on NETWORK).
_ip() {
    if [ $# = 2 ]; then
        md_ok inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"
    else
        md_ok inspect -f '{{.NetworkSettings.IPAddress}}' "$1"
    fi
}

# _hostname NAME: what the container's httpd serves (its hostname).
_hostname() { md_ok inspect -f '{{.Config.Hostname}}' "$1"; }

# _leases: every address lease ("NETWORK IP ID" lines): run-time state,
# in the run root's index.
_leases() {
    local f=$MINIDOCK_RUNROOT/index.json
    [ -f "$f" ] || return 0
    jq -r '(.ipam // {}) | to_entries[] | .key as $n | .value | to_entries[] |
        "\($n) \(.key) \(.value)"' "$f"
}

# _veths: the host-side veths of containers in the host namespace.
_veths() { inh ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^md[0-9a-f]{11}$' || true; }

# _veths_settled: _veths, once the kernel has finished tearing down the
# namespaces of containers that just exited.  minidock leaves a stopped
# container's veth pair to go with its network namespace, which the kernel
# destroys asynchronously (some 20 ms here), so give it up to 5 s.
_veths_settled() {
    local i
    for ((i = 0; i < 50; i++)); do
        [ -z "$(_veths)" ] && return 0
        sleep 0.1
    done
    _veths
}

# _nat_rules: minidock's DNAT rules in the host namespace, either backend.
_nat_rules() {
    { inh nft list table ip minidock 2>/dev/null || true; } | grep 'dnat to' || true
    { inh iptables-save -t nat 2>/dev/null || true; } | grep -- '-j DNAT' || true
}

# _iperf_mounts: run options that make the machine's iperf3 work inside the
# busybox image (its libraries and loader, read-only).
_iperf_mounts() {
    local m=(--tmpfs /tmp -v /usr/bin/iperf3:/usr/bin/iperf3:ro)
    if [ -L /lib ]; then m+=(-v "$(readlink -f /lib):/lib:ro"); else m+=(-v /lib:/lib:ro); fi
    [ -d /lib64 ] && m+=(-v "$(readlink -f /lib64):/lib64:ro")
    [ -d /usr/lib ] && m+=(-v /usr/lib:/usr/lib:ro)
    printf '%s\n' "${m[@]}"
}

# _net_clean: nothing of any container is left in the host namespace or the
# store: no veth, no lease, no DNAT rule, no namespace bind mount; and
# assert_clean.
_net_clean() {
    local left
    left=$(_veths_settled)
    [ -z "$left" ] || fail "veths left in the host namespace: $left"
    left=$(_leases)
    [ -z "$left" ] || fail "leases left in the store: $left"
    left=$(_nat_rules)
    [ -z "$left" ] || fail "DNAT rules left: $left"
    left=$(grep nsfs /proc/self/mountinfo | grep -e "$T" -e "$MINIDOCK_RUNROOT" || true)
    [ -z "$left" ] || fail "namespace bind mounts left: $left"
    assert_clean
}

# _netns_of PID: the inode of the network namespace of PID.
_netns_of() { stat -L -c %i "/proc/$1/ns/net"; }

# _netns_alive INODE: some process, or a bind mount, still holds it.
_netns_alive() {
    local f
    for f in /proc/[0-9]*/ns/net; do
        [ "$(stat -L -c %i "$f" 2>/dev/null)" = "$1" ] && return 0
    done
    grep -q "net:\[$1\]" /proc/self/mountinfo
}

# ---- NAT out and published ports in, per backend

# _masquerade BACKEND: a container's connection to the uplink arrives from
# the host's uplink address, from the default bridge and a user network;
# ip_forward was turned on in the host namespace only by minidock.
_masquerade() {
    export MINIDOCK_FIREWALL=$1
    _net_setup
    bb_image
    _uplink_httpd
    assert_eq "$(inh cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward before"
    assert_eq "$(md_ok run --rm --init bb timeout 3 wget -q -O - "http://$_UP_IP:8000/")" uplink
    assert_eq "$(inh cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward after a bridge run"
    md_ok network create lan >/dev/null
    assert_eq "$(md_ok run --rm --init --network lan bb timeout 3 wget -q -O - "http://$_UP_IP:8000/")" uplink
    # the uplink saw both connections come from the host, none from 10.x
    local peers
    peers=$(sed -n 's/^\[*\(::ffff:\)*\([0-9.]*\)\]*:[0-9]*: url:.*/\2/p' "$T/up-httpd.log")
    assert_eq "$(sort -u <<<"$peers")" "$_HOST_IP" "clients seen by the uplink (log: $(cat "$T/up-httpd.log"))"
    assert_eq "$(wc -l <<<"$peers")" 2 "connections seen by the uplink"
    # the rules are the backend's
    case $1 in
    nftables)
        assert_contains "$(inh nft list table ip minidock)" masquerade
        ;;
    iptables)
        assert_contains "$(inh iptables-save -t nat)" "-A MINIDOCK-POSTROUTING -s 10.87.0.0/16 ! -o md0 -j MASQUERADE"
        ! inh nft list table ip minidock >/dev/null 2>&1 ||
            fail "MINIDOCK_FIREWALL=iptables made nftables table ip minidock"
        ;;
    esac
    _bg_stop
    md_ok network rm lan >/dev/null
    _net_clean
}

# _publish BACKEND: -p HOST:CTR from the uplink, from the host via its
# uplink address and via 127.0.0.1, hairpin from another container and from
# the container itself; -p IP:HOST:CTR only on that address; udp; rules
# gone when the container stops; last, from a container on another network.
_publish() {
    export MINIDOCK_FIREWALL=$1
    _net_setup
    bb_image
    # a second host address, to tell "every address" from "this one"
    ip -n "$NH" addr add 192.0.2.3/24 dev up0
    _web web -p 8080:80 -p 127.0.0.1:8081:80 -p "$_HOST_IP:8082:80"
    local me
    me=$(_hostname web)
    assert_eq "$(_get inu "http://$_HOST_IP:8080/")" "$me" "uplink -> $_HOST_IP:8080"
    assert_eq "$(_get inu "http://192.0.2.3:8080/")" "$me" "uplink -> 192.0.2.3:8080"
    # the container sees the uplink's own address (no source NAT from outside)
    assert_match "$(md_ok logs web 2>&1)" "192\\.0\\.2\\.2\\]?:[0-9]+: url:/"
    assert_eq "$(_get inh "http://$_HOST_IP:8080/")" "$me" "host -> its own $_HOST_IP:8080"
    assert_eq "$(_get inh "http://127.0.0.1:8080/")" "$me" "host -> 127.0.0.1:8080"
    # hairpin: another container, and the container itself, via the host's address
    assert_eq "$(md_ok run --rm --init bb timeout 3 wget -q -O - "http://$_HOST_IP:8080/")" "$me" "hairpin from another container"
    assert_eq "$(md_ok exec web timeout 3 wget -q -O - "http://$_HOST_IP:8080/")" "$me" "hairpin to itself"
    # -p 127.0.0.1:8081:80: on loopback only
    assert_eq "$(_get inh "http://127.0.0.1:8081/")" "$me" "host -> 127.0.0.1:8081"
    _no_get inu "http://$_HOST_IP:8081/"
    # -p 192.0.2.1:8082:80: on that address only
    assert_eq "$(_get inu "http://$_HOST_IP:8082/")" "$me" "uplink -> $_HOST_IP:8082"
    _no_get inu "http://192.0.2.3:8082/"
    # port and ps
    assert_eq "$(md_ok port web 80/tcp | sort)" "$(printf '%s\n' 0.0.0.0:8080 127.0.0.1:8081 "$_HOST_IP:8082" | sort)" "port web 80/tcp"
    assert_contains "$(md_ok ps --format '{{.Ports}}')" "0.0.0.0:8080->80/tcp"
    assert_contains "$(md_ok ps --format '{{.Ports}}')" "127.0.0.1:8081->80/tcp"
    assert_eq "$(md_ok inspect -f '{{json .NetworkSettings.Ports}}' web | jq -c '."80/tcp" | map(.HostPort) | sort')" \
        '["8080","8081","8082"]' "NetworkSettings.Ports"
    # a container on another network reaches it through the host too: a
    # published port is a service of the host, open to every client (with
    # Docker it is, through docker-proxy; moby#38784 calls it a bug where not)
    md_ok network create other >/dev/null
    assert_eq "$(md_ok run --rm --init --network other bb timeout 3 wget -q -O - "http://$_HOST_IP:8080/")" "$me" \
        "published port from a user network"
    # the rules follow the container
    case $1 in
    nftables) assert_contains "$(inh nft list table ip minidock)" "dport 8080 dnat to" ;;
    iptables) assert_contains "$(inh iptables-save -t nat)" "--dport 8080 -j DNAT" ;;
    esac
    md_ok stop -t 1 web >/dev/null
    assert_eq "$(_nat_rules)" "" "DNAT rules after stop"
    _no_get inu "http://$_HOST_IP:8080/"
    md_ok rm web >/dev/null
    md_ok network rm other >/dev/null
    _net_clean
}

# _publish_udp BACKEND: -p HOST:CTR/udp, datagrams both ways (iperf3 -u from
# the uplink to an iperf3 server in the container; its control connection
# goes through the published tcp port of the same number).
_publish_udp() {
    export MINIDOCK_FIREWALL=$1
    _net_setup
    require_cmd iperf3
    bb_image
    local mounts
    mapfile -t mounts < <(_iperf_mounts)
    md_ok run -d --name udp -p 5301:5201/tcp -p 5301:5201/udp "${mounts[@]}" bb iperf3 -s -1 -p 5201 >/dev/null
    wait_until 10 "iperf3 in the container" md exec udp sh -c 'netstat -ltn | grep -q :5201'
    assert_contains "$(md_ok port udp 5201/udp)" "0.0.0.0:5301"
    case $1 in
    nftables) assert_contains "$(inh nft list table ip minidock)" "udp dport 5301 dnat to" ;;
    iptables) assert_contains "$(inh iptables-save -t nat)" "-p udp -m udp --dport 5301 -j DNAT" ;;
    esac
    timeout 30 nsenter "$(_nsx inu)" iperf3 -c "$_HOST_IP" -p 5301 -u -b 2M -t 1 -J >"$T/udp.json" ||
        fail "iperf3 -u to the published udp port failed: $(jq -r '.error // empty' "$T/udp.json" 2>/dev/null)"
    [ "$(jq '.end.sum.packets' "$T/udp.json")" -gt 0 ] || fail "no udp packet counted: $(jq -c .end.sum "$T/udp.json")"
    [ "$(jq '.end.sum.lost_packets < .end.sum.packets' "$T/udp.json")" = true ] ||
        fail "udp datagrams did not arrive: $(jq -c .end.sum "$T/udp.json")"
    # iperf3 -s -1 exits after one test
    md_ok rm -f udp >/dev/null
    _net_clean
}

test_masquerade_nftables() { require_cmd nft; _masquerade nftables; }
test_masquerade_iptables() { require_cmd iptables iptables-restore iptables-save; _masquerade iptables; }
test_publish_nftables() { require_cmd nft; _publish nftables; }
test_publish_iptables() { require_cmd iptables iptables-restore iptables-save; _publish iptables; }
test_publish_udp_nftables() { require_cmd nft; _publish_udp nftables; }
test_publish_udp_iptables() { require_cmd iptables iptables-restore iptables-save; _publish_udp iptables; }

# -p CTR: a free port picked by minidock, shown by port, ps and inspect;
# -P publishes the image's EXPOSE ports.
test_publish_random_and_all() {
    _net_setup
    fixtures
    md_ok import -c 'EXPOSE 80' -c 'EXPOSE 9000/udp' "$FIX/busybox-rootfs.tar" bb >/dev/null
    _web rnd -p 80
    local hp
    hp=$(md_ok port rnd 80)
    assert_match "$hp" '^0\.0\.0\.0:[0-9]+$'
    hp=${hp##*:}
    [ "$hp" -ge 1024 ] || fail "random host port $hp is privileged"
    assert_eq "$(_get inu "http://$_HOST_IP:$hp/")" "$(_hostname rnd)" "uplink -> random port $hp"
    assert_contains "$(md_ok ps --format '{{.Names}} {{.Ports}}')" "rnd 0.0.0.0:$hp->80/tcp"
    assert_eq "$(md_ok inspect -f '{{json .NetworkSettings.Ports}}' rnd | jq -r '."80/tcp"[0].HostPort')" "$hp"
    # -P: both exposed ports, each on its own random port
    _web all -P
    local p80 p9000
    p80=$(md_ok port all 80/tcp)
    p9000=$(md_ok port all 9000/udp)
    assert_match "$p80" '^0\.0\.0\.0:[0-9]+$'
    assert_match "$p9000" '^0\.0\.0\.0:[0-9]+$'
    [ "${p80##*:}" != "$hp" ] || fail "-P reused the port of another container: $hp"
    assert_eq "$(_get inu "http://$_HOST_IP:${p80##*:}/")" "$(_hostname all)" "uplink -> -P port ${p80##*:}"
    assert_eq "$(md_ok port all | wc -l)" 2 "mappings of -P"
    # without -P, EXPOSE publishes nothing
    _web quiet
    assert_eq "$(md_ok port quiet)" "" "port of a container without -p/-P"
    md_ok rm -f rnd all quiet >/dev/null
    _net_clean
}

# ---- names, isolation

test_user_network_names_and_aliases() {
    _net_setup
    bb_image
    md_ok network create front >/dev/null
    md_ok run -d --name first --network front --network-alias alpha bb sleep 120 >/dev/null
    # a container started later is visible to the earlier one, by name and alias
    md_ok run -d --name second --network front --network-alias beta --network-alias gamma bb sleep 120 >/dev/null
    local ip1 ip2
    ip1=$(_ip first front)
    ip2=$(_ip second front)
    assert_match "$ip1" '^10\.89\.[0-9]+\.[0-9]+$'
    assert_contains "$(md_ok exec first ping -c 1 -W 2 second)" "PING second ($ip2)"
    assert_contains "$(md_ok exec first ping -c 1 -W 2 beta)" "PING beta ($ip2)"
    assert_contains "$(md_ok exec first ping -c 1 -W 2 gamma)" "1 packets received"
    assert_contains "$(md_ok exec second ping -c 1 -W 2 first)" "PING first ($ip1)"
    assert_contains "$(md_ok exec second ping -c 1 -W 2 alpha)" "PING alpha ($ip1)"
    # and over TCP, by name
    md_ok exec -d second "${_WEB[@]}" >/dev/null
    wait_until 10 "second serving" md exec first timeout 2 wget -q -O /dev/null http://second/
    assert_eq "$(md_ok exec first timeout 3 wget -q -O - http://beta/)" "$(_hostname second)"
    # a stopped container disappears from the others' /etc/hosts
    md_ok stop -t 1 second >/dev/null
    ! _hosts_has first second || fail "a stopped container is still in /etc/hosts: $(md_ok exec first cat /etc/hosts)"
    ! _hosts_has first beta || fail "a stopped container's alias is still in /etc/hosts"
    md_fail any exec first ping -c 1 -W 1 second
    # and comes back when it starts again
    md_ok start second >/dev/null
    assert_contains "$(md_ok exec first ping -c 1 -W 2 second)" "1 packets received"
    md_ok rm -f first second >/dev/null
    md_ok network rm front >/dev/null
    _net_clean
}

# The default bridge resolves no container names (as Docker), but addresses work.
test_default_bridge_no_names() {
    _net_setup
    bb_image
    md_ok run -d --name one bb sleep 120 >/dev/null
    md_ok run -d --name two bb sleep 120 >/dev/null
    local ip2
    ip2=$(_ip two)
    assert_match "$ip2" '^10\.87\.'
    assert_contains "$(md_ok exec one ping -c 1 -W 2 "$ip2")" "1 packets received"
    md_fail any exec one ping -c 1 -W 1 two
    ! _hosts_has one two || fail "the default bridge put a peer's name in /etc/hosts"
    md_ok rm -f one two >/dev/null
    _net_clean
}

# Containers on different networks cannot reach each other, either way.
test_networks_isolated() {
    _net_setup
    bb_image
    md_ok network create red >/dev/null
    md_ok network create blue >/dev/null
    md_ok run -d --name rr --network red bb sleep 120 >/dev/null
    md_ok run -d --name bl --network blue bb sleep 120 >/dev/null
    md_ok run -d --name df bb sleep 120 >/dev/null
    local r b d
    r=$(_ip rr red) b=$(_ip bl blue) d=$(_ip df)
    md_fail any exec rr ping -c 1 -W 1 "$b"
    md_fail any exec bl ping -c 1 -W 1 "$r"
    md_fail any exec df ping -c 1 -W 1 "$r"
    md_fail any exec rr ping -c 1 -W 1 "$d"
    # not by name either
    md_fail any exec rr ping -c 1 -W 1 bl
    # yet each reaches the uplink
    for c in rr bl df; do
        assert_contains "$(md_ok exec "$c" ping -c 1 -W 2 "$_UP_IP")" "1 packets received"
    done
    md_ok rm -f rr bl df >/dev/null
    md_ok network rm red blue >/dev/null
    _net_clean
}

# --internal: no egress (not to the uplink, not to the host), but peers on
# the network reach each other.
test_internal_network() {
    _net_setup
    bb_image
    _uplink_httpd
    md_ok network create --internal inner >/dev/null
    assert_eq "$(md_ok network inspect -f '{{.Internal}}' inner)" true
    md_ok run -d --name in1 --network inner bb sleep 120 >/dev/null
    md_ok run -d --name in2 --network inner bb sleep 120 >/dev/null
    assert_contains "$(md_ok exec in1 ping -c 1 -W 2 in2)" "1 packets received"
    _md_no exec in1 timeout 2 wget -q -O - "http://$_UP_IP:8000/"
    md_fail any exec in1 ping -c 1 -W 1 "$_UP_IP"
    md_fail any exec in1 ping -c 1 -W 1 "$_HOST_IP"
    assert_eq "$(md_ok exec in1 ip route | grep -c default || true)" 0 "default routes"
    # even with a route of its own (a container with NET_ADMIN), nothing leaves
    md_ok run -d --name in3 --network inner --cap-add NET_ADMIN bb sleep 120 >/dev/null
    local gw
    gw=$(md_ok network inspect -f '{{(index .IPAM.Config 0).Gateway}}' inner)
    md_ok exec in3 ip route add default via "$gw" >/dev/null
    _md_no exec in3 timeout 2 wget -q -O - "http://$_UP_IP:8000/"
    [ ! -s "$T/up-httpd.log" ] || fail "the uplink saw a client of an internal network: $(cat "$T/up-httpd.log")"
    _bg_stop
    md_ok rm -f in1 in2 in3 >/dev/null
    md_ok network rm inner >/dev/null
    _net_clean
}

# ---- per-container settings

test_ip_mac_dns_add_host() {
    _net_setup
    bb_image
    md_ok network create --subnet 10.123.45.0/24 --gateway 10.123.45.254 fixed >/dev/null
    md_ok run -d --name st --network fixed --ip 10.123.45.77 --mac-address 02:11:22:33:44:55 \
        --dns 192.0.2.53 --dns-search example.test --dns-option ndots:2 \
        --add-host db.test:192.0.2.99 --hostname box bb sleep 120 >/dev/null
    local addr
    addr=$(md_ok exec st ip -o -4 addr show dev eth0)
    assert_contains "$addr" "inet 10.123.45.77/24"
    assert_contains "$(md_ok exec st ip link show dev eth0)" "link/ether 02:11:22:33:44:55"
    assert_eq "$(md_ok exec st ip route | awk '/^default/ { print $3 }')" 10.123.45.254 "default gateway"
    assert_eq "$(_ip st fixed)" 10.123.45.77
    assert_eq "$(md_ok inspect -f '{{(index .NetworkSettings.Networks "fixed").MacAddress}}' st)" 02:11:22:33:44:55
    local rc
    rc=$(md_ok exec st cat /etc/resolv.conf)
    # on a user network the container asks the embedded server, which
    # forwards to --dns (test_embedded_dns); its own ndots stays
    assert_eq "$(grep '^nameserver' <<<"$rc")" "nameserver 127.0.0.11" "resolv.conf nameservers"
    assert_contains "$rc" "search example.test"
    assert_contains "$rc" "options ndots:2"
    assert_match "$(md_ok exec st cat /etc/hosts)" $'192\\.0\\.2\\.99[ \t]+db\\.test'
    assert_match "$(md_ok exec st cat /etc/hosts)" $'10\\.123\\.45\\.77[ \t]+box'
    assert_contains "$(md_ok exec st ping -c 1 -W 1 db.test 2>&1 || true)" "PING db.test (192.0.2.99)"
    # the address is taken; one outside the subnet, or the gateway, is refused
    md_fail any run --rm --network fixed --ip 10.123.45.77 bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" 10.123.45.77
    md_fail any run --rm --network fixed --ip 10.9.9.9 bb true
    assert_one_line_error
    md_fail any run --rm --network fixed --ip 10.123.45.254 bb true
    # a failed run leaked no lease
    assert_eq "$(_leases | wc -l)" 1 "leases after refused runs: $(_leases)"
    md_ok rm -f st >/dev/null
    md_ok network rm fixed >/dev/null
    _net_clean
}

# /etc/resolv.conf comes from the host, with loopback nameservers dropped
# (only loopback ones: Docker's defaults 8.8.8.8 and 8.8.4.4).  The host's
# file is replaced in a private mount namespace of this test.
test_resolv_conf_from_host() {
    _net_setup
    bb_image
    printf 'nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp.test\noptions edns0\n' >"$T/resolv.mixed"
    printf 'nameserver 127.0.0.53\nnameserver ::1\n' >"$T/resolv.loop"
    local out
    out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" run --rm bb cat /etc/resolv.conf' \
        _ "$T/resolv.mixed" "$MINIDOCK")
    assert_eq "$(grep '^nameserver' <<<"$out")" "nameserver 192.0.2.53" "nameservers from a mixed host file ($out)"
    assert_contains "$out" "search corp.test"
    out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" run --rm bb cat /etc/resolv.conf' \
        _ "$T/resolv.loop" "$MINIDOCK")
    assert_eq "$(grep '^nameserver' <<<"$out" | tr '\n' ' ')" "nameserver 8.8.8.8 nameserver 8.8.4.4 " \
        "nameservers from a loopback-only host file ($out)"
    # --network host keeps the host's file as it is
    out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" run --rm --network host bb cat /etc/resolv.conf' \
        _ "$T/resolv.loop" "$MINIDOCK")
    assert_contains "$out" "nameserver 127.0.0.53"
    _net_clean
}

test_network_none_host_container() {
    _net_setup
    bb_image
    # none: loopback only
    local links
    links=$(md_ok run --rm --network none bb ip -o link show)
    assert_eq "$(wc -l <<<"$links")" 1 "links with --network none: $links"
    assert_contains "$links" "lo:"
    # host: the host namespace's interfaces (this test's, with its uplink address)
    assert_contains "$(md_ok run --rm --network host bb ip -o -4 addr show)" "inet $_HOST_IP/24"
    # container:NAME: the same interfaces and address as NAME
    md_ok run -d --name base bb sleep 120 >/dev/null
    local ip want got
    ip=$(_ip base)
    want=$(md_ok exec base ip -o -4 addr show | awk '{ print $2, $4 }')
    got=$(md_ok run --rm --network container:base bb ip -o -4 addr show | awk '{ print $2, $4 }')
    assert_eq "$got" "$want" "addresses with --network container:base"
    assert_contains "$got" "eth0 $ip/16"
    # a process in the joined container is reached on its loopback
    md_ok exec -d base "${_WEB[@]}" >/dev/null
    wait_until 10 "base serving" md exec base timeout 2 wget -q -O /dev/null http://127.0.0.1/
    assert_eq "$(md_ok run --rm --init --network container:base bb timeout 3 wget -q -O - http://127.0.0.1/)" "$(_hostname base)"
    # no second lease, no veth of its own
    assert_eq "$(_leases | wc -l)" 1 "leases"
    assert_eq "$(_veths | wc -l)" 1 "veths"
    md_fail any run --rm --network container:no-such bb true
    # a container without a network of its own cannot join one: a one-line
    # refusal (the message used the freed record and the command crashed)
    md_ok run -d --name alone --network none bb sleep 120 >/dev/null
    md_ok network create joinme >/dev/null
    md_fail 1 network connect joinme alone
    assert_one_line_error
    assert_contains "$(md_stderr)" "container alone uses network mode none and cannot join a network"
    md_ok rm -f base alone >/dev/null
    md_ok network rm joinme >/dev/null
    _net_clean
}

# ---- connect, disconnect

test_connect_disconnect() {
    _net_setup
    bb_image
    local since
    since=$(date +%s.%N)
    md_ok network create aa >/dev/null
    md_ok network create bbnet >/dev/null
    md_ok run -d --name c1 --network aa bb sleep 120 >/dev/null
    md_ok run -d --name c2 --network bbnet bb sleep 120 >/dev/null
    md_fail any exec c2 ping -c 1 -W 1 c1
    assert_eq "$(md_ok exec c1 ip -o link show | grep -c 'eth[0-9]')" 1 "interfaces before connect"
    md_ok network connect --alias extra bbnet c1 >/dev/null
    local ip
    ip=$(_ip c1 bbnet)
    assert_match "$ip" '^10\.89\.'
    assert_contains "$(md_ok exec c1 ip -o -4 addr show)" "inet $ip/24"
    assert_eq "$(md_ok exec c1 ip -o link show | grep -c 'eth[0-9]')" 2 "interfaces after connect"
    assert_eq "$(_veths | wc -l)" 3 "veths after connect"
    assert_contains "$(md_ok exec c2 ping -c 1 -W 2 c1)" "PING c1 ($ip)"
    assert_contains "$(md_ok exec c2 ping -c 1 -W 2 extra)" "1 packets received"
    assert_contains "$(md_ok exec c1 ping -c 1 -W 2 c2)" "1 packets received"
    assert_contains "$(md_ok network inspect -f '{{json .Containers}}' bbnet)" "$ip"
    # a second connect to the same network is refused
    md_fail any network connect bbnet c1
    md_ok network disconnect bbnet c1 >/dev/null
    assert_not_contains "$(md_ok exec c1 ip -o -4 addr show)" "$ip"
    assert_eq "$(md_ok exec c1 ip -o link show | grep -c 'eth[0-9]')" 1 "interfaces after disconnect"
    assert_eq "$(_veths | wc -l)" 2 "veths after disconnect"
    ! _hosts_has c2 c1 || fail "c1 still in c2's /etc/hosts after disconnect: $(md_ok exec c2 cat /etc/hosts)"
    md_fail any exec c2 ping -c 1 -W 1 "$ip"
    assert_eq "$(_leases | grep -c "^bbnet " || true)" 1 "leases on bbnet after disconnect"
    # connect with --ip, then the first network goes: still reachable on the second
    md_ok network connect --ip "$(_net_prefix bbnet).99" bbnet c1 >/dev/null
    assert_eq "$(_ip c1 bbnet)" "$(_net_prefix bbnet).99" "address of connect --ip"
    md_ok network disconnect aa c1 >/dev/null
    assert_contains "$(md_ok exec c2 ping -c 1 -W 2 c1)" "1 packets received"
    assert_eq "$(_leases | grep -c "^aa " || true)" 0 "leases on aa after disconnect"
    md_ok rm -f c1 c2 >/dev/null
    md_ok network rm aa bbnet >/dev/null
    # the network events: ID, name, type and the container
    # (a start connects, a stop disconnects, as Docker's)
    local c1id c2id
    c1id=$(md_ok events --since "$since" --until 0s --filter container=c1 --filter event=create --format '{{.Actor.ID}}')
    c2id=$(md_ok events --since "$since" --until 0s --filter container=c2 --filter event=create --format '{{.Actor.ID}}')
    assert_eq "$(md_ok events --since "$since" --until 0s --filter type=network --filter network=bbnet \
        --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{.Actor.Attributes.container}}')" \
        "create bbnet bridge <no value>
connect bbnet bridge $c2id
connect bbnet bridge $c1id
disconnect bbnet bridge $c1id
connect bbnet bridge $c1id
disconnect bbnet bridge $c1id
disconnect bbnet bridge $c2id
destroy bbnet bridge <no value>"
    assert_match "$(md_ok events --since "$since" --until 0s --filter network=aa --filter event=create --format '{{.Actor.ID}}')" '^[0-9a-f]{64}$'
    _net_clean
}

# Endpoint settings at connect (and run): a MAC, link-local addresses,
# links (their alias a name of the linked container in /etc/hosts), driver
# options, all shown by inspect; what Docker refuses is refused.
test_connect_endpoint_settings() {
    _net_setup
    bb_image
    md_ok network create ep1 >/dev/null
    md_ok network create ep2 >/dev/null
    md_ok run -d --name c1 --network ep1 --link-local-ip 169.254.7.7 bb sleep 120 >/dev/null
    assert_contains "$(md_ok exec c1 ip -o -4 addr show dev eth0)" "inet 169.254.7.7/16"
    assert_eq "$(md_ok inspect -f '{{json (index .NetworkSettings.Networks "ep1").IPAMConfig.LinkLocalIPs}}' c1)" '["169.254.7.7"]'
    md_ok network connect --mac-address 02:42:0a:0b:0c:0d --link-local-ip 169.254.8.8 --link up:bar \
        --driver-opt com.example.k=v --alias extra ep2 c1 >/dev/null
    local n='(index .NetworkSettings.Networks "ep2")'
    assert_contains "$(md_ok exec c1 ip link show dev eth1)" "link/ether 02:42:0a:0b:0c:0d"
    assert_contains "$(md_ok exec c1 ip -o -4 addr show dev eth1)" "inet 169.254.8.8/16"
    assert_eq "$(md_ok inspect -f "{{$n.MacAddress}}" c1)" 02:42:0a:0b:0c:0d
    assert_eq "$(md_ok inspect -f "{{json $n.Links}}" c1)" '["up:bar"]'
    assert_eq "$(md_ok inspect -f "{{json $n.DriverOpts}}" c1)" '{"com.example.k":"v"}'
    assert_eq "$(md_ok inspect -f "{{json $n.IPAMConfig.LinkLocalIPs}}" c1)" '["169.254.8.8"]'
    assert_eq "$(md_ok inspect -f '{{json (index .NetworkSettings.Networks "ep1").Links}}' c1)" null
    # the linked container, started later, is "bar" to c1 on ep2 (and only to c1)
    md_ok run -d --name up --network ep2 bb sleep 120 >/dev/null
    assert_contains "$(md_ok exec c1 ping -c 1 -W 2 bar)" "PING bar ($(_ip up ep2))"
    ! _hosts_has up bar || fail "the link's alias is in the linked container's own /etc/hosts"
    # a container not running: the MAC asked for is shown, then used
    md_ok create --name c2 --network ep1 bb sleep 120 >/dev/null
    md_ok network connect --mac-address 02:42:0a:0b:0c:0e ep2 c2 >/dev/null
    assert_eq "$(md_ok inspect -f "{{$n.MacAddress}}" c2)" 02:42:0a:0b:0c:0e
    md_ok start c2 >/dev/null
    assert_contains "$(md_ok exec c2 ip link show dev eth1)" "link/ether 02:42:0a:0b:0c:0e"
    # refused, and nothing connected by a refused connect
    md_ok create --name c3 --network ep1 bb true >/dev/null
    local bad
    for bad in "--link=a b:x" "--link=up:b;x" "--link-local-ip=10.1.2.3" "--mac-address=03:42:0a:0b:0c:0d" "--alias=a/b" \
        "--alias=x"; do
        md_fail any network connect "$bad" "$([ "$bad" = --alias=x ] && echo bridge || echo ep2)" c3
        assert_one_line_error
    done
    md_fail any network connect --link up:bar bridge c3
    assert_contains "$(md_stderr)" "user-defined networks"
    md_fail any run --rm --link-local-ip 169.254.1.1 --link-local-ip nope --network ep1 bb true
    assert_one_line_error
    assert_eq "$(md_ok inspect -f '{{len .NetworkSettings.Networks}}' c3)" 1 "networks of c3 after refused connects"
    md_ok rm -f c1 c2 c3 up >/dev/null
    md_ok network rm ep1 ep2 >/dev/null
    _net_clean
}

# IPAM's IPRange and AuxiliaryAddresses (network create --ip-range
# --aux-address), honoured; a network's name may have spaces.
test_network_ip_range_aux_addresses() {
    _net_setup
    bb_image
    md_ok network create --subnet 10.124.0.0/24 --ip-range 10.124.0.64/30 --aux-address r1=10.124.0.65 \
        --aux-address r2=10.124.0.200 "my net" >/dev/null
    local cfg
    cfg=$(md_ok network inspect -f '{{json (index .IPAM.Config 0)}}' "my net")
    assert_eq "$(jq -c . <<<"$cfg")" \
        '{"Subnet":"10.124.0.0/24","IPRange":"10.124.0.64/30","Gateway":"10.124.0.64","AuxiliaryAddresses":{"r1":"10.124.0.65","r2":"10.124.0.200"}}'
    assert_contains "$(md_ok network ls --format '{{.Name}}')" "my net"
    # 64 is the gateway, 65 reserved: 66 and 67 are all the range has
    md_ok run -d --name a1 --network "my net" bb sleep 120 >/dev/null
    md_ok run -d --name a2 --network "my net" bb sleep 120 >/dev/null
    assert_eq "$(_ip a1 "my net") $(_ip a2 "my net")" "10.124.0.66 10.124.0.67"
    md_fail any run --rm --network "my net" bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" "10.124.0.64/30"
    # an auxiliary address asked for is in use; one outside the range is not
    md_fail any run --rm --network "my net" --ip 10.124.0.200 bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" "r2"
    md_ok run -d --name a3 --network "my net" --ip 10.124.0.150 bb sleep 120 >/dev/null
    assert_contains "$(md_ok exec a1 ping -c 1 -W 2 a3)" "1 packets received"
    # the bridge's name comes from the ID, never from the name (and, as
    # Docker's, a user network's Options do not show it)
    local myid
    myid=$(md_ok network inspect -f '{{.Id}}' "my net")
    inh ip link show "md-${myid:0:12}" >/dev/null || fail "no bridge md-${myid:0:12} for network \"my net\""
    assert_eq "$(md_ok network inspect -f '{{json .Options}}' "my net")" '{}'
    md_ok rm -f a1 a2 a3 >/dev/null
    md_ok network rm "my net" >/dev/null
    # refused: a range or an address outside the subnet, a range without one, bad names
    md_fail any network create --subnet 10.125.0.0/24 --ip-range 10.126.0.0/28 r1
    assert_one_line_error
    md_fail any network create --subnet 10.125.0.0/24 --aux-address x=10.126.0.1 r2
    assert_one_line_error
    md_fail any network create --ip-range 10.125.0.0/28 r3
    assert_one_line_error
    local bad
    for bad in "a/b" " lead" $'new\nline' "container:x"; do
        md_fail any network create "$bad"
        assert_one_line_error
    done
    assert_eq "$(md_ok network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "bridge host none " "networks"
    _net_clean
}

# _net_prefix NET: the first three octets of a /24 network.
_net_prefix() {
    local s
    s=$(md_ok network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$1")
    echo "${s%.*}"
}

# ---- network objects

test_network_create_rm_prune() {
    _net_setup
    bb_image
    # a subnet that collides with an address of the host is refused, naming it
    md_fail any network create --subnet 192.0.2.128/25 clash
    assert_one_line_error
    assert_contains "$(md_stderr)" 192.0.2.
    md_fail any network create --subnet 192.0.0.0/16 clash
    assert_contains "$(md_stderr)" 192.0.2.1
    # ... and so is one that collides with another network's, or the default's
    md_ok network create --subnet 10.50.0.0/24 first >/dev/null
    md_fail any network create --subnet 10.50.0.128/25 second
    assert_one_line_error
    md_fail any network create --subnet 10.87.3.0/24 third
    assert_one_line_error
    md_fail any network create --subnet 10.60.0.0/24 --gateway 10.61.0.1 badgw
    md_fail any network create first
    assert_eq "$(md_ok network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "bridge first host none " "networks"
    # in use: rm refused; unused: rm works, its bridge goes
    md_ok run -d --name user --network first bb sleep 120 >/dev/null
    local br
    br=md-$(md_ok network inspect -f '{{.Id}}' first | cut -c1-12)
    inh ip link show "$br" >/dev/null || fail "no bridge $br for network first"
    md_fail any network rm first
    assert_one_line_error
    md_fail any network rm bridge
    md_fail any network rm host
    md_fail any network rm no-such-net
    # prune keeps the one in use and the predefined ones
    md_ok network create spare1 >/dev/null
    md_ok network create spare2 >/dev/null
    md_ok run --rm --network spare2 bb true >/dev/null
    out=$(md_ok network prune -f)
    assert_contains "$out" spare1
    assert_contains "$out" spare2
    assert_not_contains "$out" first
    assert_eq "$(md_ok network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "bridge first host none " "networks after prune"
    assert_eq "$(inh ip -o link show | awk -F': ' '{ print $2 }' | grep -c '^md-' || true)" 1 "user bridges after prune"
    md_ok rm -f user >/dev/null
    md_ok network rm first >/dev/null
    ! inh ip link show "$br" >/dev/null 2>&1 || fail "bridge $br left after network rm"
    # nothing about the network left in the rules
    ! inh nft list table ip minidock 2>/dev/null | grep 10.50.0. >/dev/null || fail "rules of network first left"
    _net_clean
}

# ---- IPAM under concurrency

test_concurrent_runs_distinct_ips() {
    _net_setup
    bb_image
    md_ok network create busy >/dev/null
    local i pids=() net
    for net in bridge busy; do
        pids=()
        for i in 1 2 3 4 5 6 7 8 9 10; do
            timeout 120 "$MINIDOCK" run -d --name "$net-$i" --network "$net" bb sleep 300 \
                >"$T/run-$net-$i.out" 2>&1 &
            pids+=($!)
        done
        for i in "${!pids[@]}"; do
            wait "${pids[i]}" || fail "parallel run $net-$((i + 1)) failed: $(cat "$T/run-$net-$((i + 1)).out")"
        done
        local ips
        ips=$(for i in 1 2 3 4 5 6 7 8 9 10; do _ip "$net-$i" "$net"; done)
        assert_eq "$(sort -u <<<"$ips" | grep -c .)" 10 "distinct addresses on $net: $(tr '\n' ' ' <<<"$ips")"
        # the addresses really are distinct on the wire: each answers its own
        for i in 1 2 3 4 5 6 7 8 9 10; do
            [ "$(md_ok exec "$net-$i" ip -o -4 addr show dev eth0 | awk '{ print $4 }')" = \
                "$(_ip "$net-$i" "$net")/$([ $net = bridge ] && echo 16 || echo 24)" ] ||
                fail "$net-$i has not the address inspect shows"
        done
        assert_eq "$(_leases | grep -c "^$net ")" 10 "leases on $net"
    done
    assert_eq "$(_veths | wc -l)" 20 "veths"
    # shellcheck disable=SC2046
    md_ok rm -f $(md_ok ps -aq) >/dev/null
    md_ok network rm busy >/dev/null
    _net_clean
}

# ---- leaks

test_no_leaks_after_rm() {
    _net_setup
    bb_image
    md_ok network create lk >/dev/null
    _web leaky --network lk -p 8090:80
    local id pid ns ip veth
    id=$(md_ok inspect -f '{{.Id}}' leaky)
    pid=$(ctr_pid leaky)
    ns=$(_netns_of "$pid")
    ip=$(_ip leaky lk)
    veth=$(_veths)
    assert_match "$veth" "^md${id:0:10}[0-9]$"
    assert_eq "$(_leases)" "lk $ip $id"
    assert_contains "$(_nat_rules)" "$ip:80"
    assert_eq "$(_get inu "http://$_HOST_IP:8090/")" "$(_hostname leaky)"
    md_ok rm -f leaky >/dev/null
    assert_eq "$(_veths_settled)" "" "veths after rm"
    assert_eq "$(_leases)" "" "leases after rm"
    assert_eq "$(_nat_rules)" "" "DNAT rules after rm"
    ! _netns_alive "$ns" || fail "the container's network namespace ($ns) outlived it"
    assert_ctr_gone "$id"
    # the freed address is handed out again
    md_ok run -d --name next --network lk bb sleep 60 >/dev/null
    assert_eq "$(_ip next lk)" "$ip" "address of the next container"
    md_ok rm -f next >/dev/null
    # a container that exits by itself releases everything too
    md_ok run --network lk --name quick -p 8091:80 bb true >/dev/null
    assert_eq "$(_leases)" "" "leases after the container exited"
    assert_eq "$(_nat_rules)" "" "DNAT rules after the container exited"
    assert_eq "$(_veths_settled)" "" "veths after the container exited"
    md_ok rm quick >/dev/null
    # network rm: its bridge and rules go
    local br
    br=md-$(md_ok network inspect -f '{{.Id}}' lk | cut -c1-12)
    md_ok network rm lk >/dev/null
    ! inh ip link show "$br" >/dev/null 2>&1 || fail "bridge $br left after network rm"
    ! inh nft list table ip minidock 2>/dev/null | grep "\"$br\"" >/dev/null || fail "rules naming $br left"
    _net_clean
}

# _crash NAME: SIGKILL the container's monitor; wait until its process is gone.
_crash() {
    local id pid mon
    id=$(md_ok inspect -f '{{.Id}}' "$1")
    pid=$(ctr_pid "$1")
    mon=$(pgrep -f "__monitor $id" || true)
    [ -n "$mon" ] || fail "no monitor process for $1"
    kill -KILL "$mon"
    wait_until 10 "process $pid of $1 gone" sh -c "[ ! -d /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
}

# The monitor dies (SIGKILL): what it leaves (a lease and a DNAT rule; its
# veth goes with the namespace) is reported by system check, and removed by
# the next ps, the next run, boot and system check --repair.
test_monitor_sigkill_reclaimed() {
    _net_setup
    bb_image
    local id ip out
    # 1. system check reports it; ps removes it
    _web victim -p 8095:80
    id=$(md_ok inspect -f '{{.Id}}' victim)
    ip=$(_ip victim)
    _crash victim
    assert_eq "$(_leases)" "bridge $ip $id" "leases right after the crash"
    assert_contains "$(_nat_rules)" "dport 8095"
    rc=0
    out=$(md system check 2>&1) || rc=$?
    assert_contains "$out" "$ip"
    [ "$rc" != 0 ] || fail "system check found nothing wrong after the crash: $out"
    md_ok ps -a >/dev/null
    assert_eq "$(_leases)" "" "leases after ps"
    assert_eq "$(_nat_rules)" "" "DNAT rules after ps"
    assert_eq "$(_veths_settled)" "" "veths after ps"
    md_ok system check >/dev/null
    md_ok rm victim >/dev/null
    # 2. boot removes it too
    _web victim3 -p 8097:80
    id=$(md_ok inspect -f '{{.Id}}' victim3)
    _crash victim3
    md_ok boot >/dev/null
    assert_eq "$(_leases | grep -c "$id" || true)" 0 "leases of the dead container after boot"
    assert_not_contains "$(_nat_rules)" "dport 8097"
    # 3. a link a crash left behind: a veth with a container veth's name whose
    # peer's namespace lives on (here the uplink): check names it, boot and
    # check --repair remove it
    inh ip link add mdfeedbeef000 type veth peer name stale0 netns "$NU"
    out=$(md system check 2>&1 || true)
    assert_contains "$out" mdfeedbeef000
    md_ok boot >/dev/null
    ! inh ip link show mdfeedbeef000 >/dev/null 2>&1 || fail "boot left the stale link mdfeedbeef000"
    inh ip link add mdfeedbeef001 type veth peer name stale1 netns "$NU"
    md_ok system check --repair >/dev/null
    ! inh ip link show mdfeedbeef001 >/dev/null 2>&1 || fail "system check --repair left the stale link mdfeedbeef001"
    md_ok system check >/dev/null
    # 4. the next run removes it, before it hands out addresses
    _web victim2 -p 8095:80
    id=$(md_ok inspect -f '{{.Id}}' victim2)
    _crash victim2
    _web other -p 8096:80
    assert_not_contains "$(_nat_rules)" "dport 8095"
    _no_get inu "http://$_HOST_IP:8095/"
    assert_eq "$(_get inu "http://$_HOST_IP:8096/")" "$(_hostname other)"
    assert_eq "$(_leases | grep -c "$id" || true)" 0 "leases of the dead container after the next run"
    md_ok rm -f victim2 victim3 other >/dev/null
    _net_clean
}

# ---- a host missing a piece

test_firewall_tool_missing() {
    _net_setup
    bb_image
    mkdir -p "$T/emptybin"
    local be tool
    for be in iptables nftables; do
        case $be in iptables) tool=iptables ;; nftables) tool=nft ;; esac
        rc=0
        MINIDOCK_FIREWALL=$be PATH=$T/emptybin /usr/bin/nsenter --net="/run/netns/$NH" "$MD_REAL" \
            run --rm -p 8080:80 bb true >"$T/out" 2>"$T/err" || rc=$?
        [ "$rc" != 0 ] && [ "$rc" -lt 126 ] || fail "MINIDOCK_FIREWALL=$be without $tool: exit $rc ($(cat "$T/err"))"
        assert_match "$(cat "$T/err")" "^minidock: .*$tool"
        assert_eq "$(wc -l <"$T/err")" 1 "lines of error without $tool"
        _nothing_made "the refused run ($be)"
    done
    # no firewall at all: published ports are refused with a clear error
    MINIDOCK_FIREWALL=none md_fail any run --rm -p 8080:80 bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" "firewall"
    md_ok ps -a >/dev/null
    assert_eq "$(md_ok ps -aq)" "" "containers left by the refused runs"
    _net_clean
}

# _no_fw_tools: from here on, every minidock call of the test (and the
# monitors it starts) runs with nft and iptables hidden, as on a board built
# without a firewall tool: an empty tmpfs over /usr/sbin (and /sbin unless it
# is a link to it) in a private mount namespace of each call.  The host
# namespace keeps them, so the test itself can still look with nft.
_no_fw_tools() {
    cat >"$T/md-nofw" <<EOF
#!/bin/sh
# $MINIDOCK with nft and iptables hidden
if [ "\${MD_NOFW:-}" != 1 ]; then
    export MD_NOFW=1
    exec unshare -m --propagation private "\$0" "\$@"
fi
unset MD_NOFW
mount -t tmpfs -o size=1m,mode=755 mdtest /usr/sbin || exit 125
[ -L /sbin ] || mount -t tmpfs -o size=1m,mode=755 mdtest /sbin || exit 125
for t in nft iptables; do
    for d in /usr/sbin /sbin /usr/bin /bin /usr/local/sbin; do
        [ ! -e "\$d/\$t" ] || { echo "\$d/\$t is still there" >&2; exit 125; }
    done
done
exec "$MINIDOCK" "\$@"
EOF
    chmod 755 "$T/md-nofw"
    export MINIDOCK=$T/md-nofw
}

# _nothing_made WHAT: after a refused run on a fresh host namespace: no
# bridge, veth, lease, nftables table or ip_forward change is left.
_nothing_made() {
    ! inh ip link show md0 >/dev/null 2>&1 || fail "bridge md0 left after $1"
    assert_eq "$(_veths_settled)" "" "veths after $1"
    assert_eq "$(_leases)" "" "leases after $1"
    ! inh nft list table ip minidock >/dev/null 2>&1 || fail "nftables table ip minidock left after $1"
    assert_eq "$(inh cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward after $1"
}

# MINIDOCK_FIREWALL=auto on a board with neither nft nor iptables: a bridge
# network still works between the host and its containers (an address on
# md0, the host reaches it, it reaches the host), as Docker's with
# --iptables=false; it has no outbound NAT, and ip_forward is left alone,
# so the uplink is not reached.  run says so in one warning line; with
# MINIDOCK_FIREWALL=none (chosen on purpose) it says nothing.
test_firewall_auto_without_tools() {
    _net_setup
    bb_image
    _uplink_httpd
    _no_fw_tools
    md_ok run -d --name web bb "${_WEB[@]}" >/dev/null
    local err ip
    err=$(md_stderr)
    assert_match "$err" "^minidock: run: warning: no firewall tool \(nft or iptables\) found: .*NAT.*install nftables"
    assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "lines on stderr ($err)"
    ip=$(_ip web)
    assert_match "$ip" "^10\.87\."
    wait_until 10 "web serving on $ip:80" _get inh "http://$ip:80/"
    assert_eq "$(_get inh "http://$ip:80/")" "$(_hostname web)" "host -> container"
    # the container reaches the host (its address on the uplink is local)
    mkdir -p "$T/hostwww"
    echo host >"$T/hostwww/index.html"
    _bg inh busybox httpd -f -p "$_HOST_IP:8001" -h "$T/hostwww"
    wait_until 10 "host httpd" _get inh "http://$_HOST_IP:8001/"
    assert_eq "$(md_ok run --rm --init bb timeout 3 wget -q -O - "http://$_HOST_IP:8001/" 2>/dev/null)" host "container -> host"
    # not beyond it: no NAT, no forwarding
    _md_no run --rm --init bb timeout 3 wget -q -O - "http://$_UP_IP:8000/"
    [ ! -s "$T/up-httpd.log" ] || fail "the uplink saw a client without NAT or forwarding: $(cat "$T/up-httpd.log")"
    assert_eq "$(inh cat /proc/sys/net/ipv4/ip_forward)" 0 "ip_forward"
    ! inh nft list table ip minidock >/dev/null 2>&1 || fail "nftables table ip minidock made without nft?"
    assert_eq "$(MINIDOCK_FIREWALL=none md_ok run --rm bb echo quiet)" quiet
    assert_eq "$(md_stderr)" "" "stderr with MINIDOCK_FIREWALL=none"
    _bg_stop
    md_ok rm -f web >/dev/null
    _net_clean
}

# The same board: -p is refused in one line that names the tools and what
# to install, before anything is made (the first run on a fresh host: no
# md0 bridge, veth, lease, rules or ip_forward change stays behind); so is
# -p with MINIDOCK_FIREWALL=none.
test_firewall_auto_without_tools_publish() {
    _net_setup
    bb_image
    _no_fw_tools
    md_fail 125 run --rm -p 8080:80 bb true
    _nothing_made "a refused -p"
    assert_one_line_error
    assert_match "$(md_stderr)" "^minidock: run: no firewall tool \(nft or iptables\) found: published ports need one \(install nftables or iptables\)$"
    MINIDOCK_FIREWALL=none md_fail 125 run --rm -P --expose 80 bb true
    _nothing_made "a refused -P with MINIDOCK_FIREWALL=none"
    assert_one_line_error
    assert_contains "$(md_stderr)" "(MINIDOCK_FIREWALL=none): published ports need nftables or iptables"
    assert_eq "$(md_ok ps -aq)" "" "containers left by the refused runs"
    _net_clean
}

# A container that published a port while the firewall was on keeps
# running when the firewall is then turned off; others still start (its
# ports were refused only to it, at its own start, not to every change of
# the networks).
test_firewall_off_with_a_publisher_running() {
    _net_setup
    bb_image
    md_ok run -d --name pub -p 8080:80 bb sleep 60 >/dev/null
    assert_eq "$(MINIDOCK_FIREWALL=none md_ok run --rm bb echo other)" other
    # its own next start is where its ports are refused
    md_ok stop -t 0 pub >/dev/null
    MINIDOCK_FIREWALL=none md_fail any start pub
    assert_one_line_error
    assert_contains "$(md_stderr)" "(MINIDOCK_FIREWALL=none): published ports need nftables or iptables"
    md_ok rm -f pub >/dev/null
    _net_clean
}

# ip_forward cannot be set (/proc/sys read-only, as in a container or on a
# locked-down board): a clear error naming it.  The read-only /proc/sys is
# a bind mount in a private mount namespace of this test.
test_ip_forward_locked() {
    _net_setup
    bb_image
    assert_eq "$(inh cat /proc/sys/net/ipv4/ip_forward)" 0
    rc=0
    unshare -m --propagation private sh -c \
        'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$1" run --rm bb true' \
        _ "$MINIDOCK" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" != 0 ] && [ "$rc" -lt 126 ] || fail "run with ip_forward locked: exit $rc ($(cat "$T/err"))"
    assert_match "$(cat "$T/err")" "^minidock: .*ip_forward"
    assert_eq "$(wc -l <"$T/err")" 1 "lines of error ($(cat "$T/err"))"
    _nothing_made "the refused run"
    md_ok ps -a >/dev/null
    assert_eq "$(md_ok ps -aq)" "" "containers left by the refused run"
    # --network none needs no forwarding
    assert_eq "$(unshare -m --propagation private sh -c \
        'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$1" run --rm --network none bb echo ok' \
        _ "$MINIDOCK")" ok
    _net_clean
}

# Legacy links (--link NAME[:ALIAS], HostConfig.Links) on the default
# bridge, as Docker's: the linked container's address under the alias and
# its name in /etc/hosts (kept current when it restarts), its variables
# (ALIAS_NAME, ALIAS_PORT*, ALIAS_ENV_*; the container's own -e wins);
# inspect's form; a start refused while the linked container is not
# running; rm --link removes one. Refused where Docker refuses them.
test_legacy_links() {
    _net_setup
    bb_image
    md_ok run -d --name db -e FOO=1 -e PATH=/bin:/usr/bin --expose 5432 --expose 53/udp bb sleep 120 >/dev/null
    local ip
    ip=$(_ip db)
    out=$(md_ok run --rm --link db:my-db --link db -e DB_ENV_FOO=mine bb sh -c 'env | sort; cat /etc/hosts')
    assert_contains "$out" "MY_DB_NAME=/"
    assert_contains "$out" "MY_DB_ENV_FOO=1"
    assert_not_contains "$out" "MY_DB_ENV_PATH"
    assert_contains "$out" "MY_DB_PORT=udp://$ip:53"
    assert_contains "$out" "MY_DB_PORT_5432_TCP=tcp://$ip:5432"
    assert_contains "$out" "MY_DB_PORT_5432_TCP_ADDR=$ip"
    assert_contains "$out" "MY_DB_PORT_53_UDP_PROTO=udp"
    assert_contains "$out" "DB_ENV_FOO=mine"
    assert_contains "$out" "$(printf '%s\tmy-db db' "$ip")"
    assert_contains "$out" "$(printf '%s\tdb' "$ip")"
    md_ok run -d --name web --link db:webdb bb sleep 120 >/dev/null
    assert_eq "$(md_ok inspect -f '{{json .HostConfig.Links}}' web)" '["/db:/web/webdb"]'
    assert_contains "$(md_ok exec web ping -c 1 -W 2 webdb)" "PING webdb ($ip)"
    # db comes back with another address: web's /etc/hosts follows
    md_ok stop -t 0 db >/dev/null
    md_ok run -d --name other bb sleep 120 >/dev/null
    md_ok start db >/dev/null
    local ip2
    ip2=$(_ip db)
    [ "$ip2" != "$ip" ] || fail "db got its old address back ($ip)"
    assert_contains "$(md_ok exec web ping -c 1 -W 2 webdb)" "PING webdb ($ip2)"
    # the link follows a rename
    md_ok rename db db2
    assert_eq "$(md_ok inspect -f '{{json .HostConfig.Links}}' web)" '["/db2:/web/webdb"]'
    md_ok rename db2 db
    # rm --link: gone from the config and /etc/hosts, both containers stay
    assert_eq "$(md_ok rm --link web/webdb)" web/webdb
    assert_eq "$(md_ok inspect -f '{{json .HostConfig.Links}}' web)" '[]'
    ! _hosts_has web webdb || fail "a removed link is still in /etc/hosts"
    md_fail 1 rm --link web/webdb
    md_fail 1 rm --link web
    assert_eq "$(md_ok ps -q | wc -l)" 3
    # the linked container must run when the container starts
    md_ok create --name late --link other:o bb true >/dev/null
    md_ok stop -t 0 other >/dev/null
    md_fail 1 start late
    assert_contains "$(md_stderr)" "Cannot link to a non running container: /other AS /late/o"
    # refused: no such container, a bad alias, host and container networks, none
    local bad
    for bad in "--link nosuch:x" "--link db:a/b" "--link db:x --link db:x" "--network host --link db" \
        "--network container:db --link db" "--network none --link db"; do
        # shellcheck disable=SC2086
        md_fail 125 create $bad bb true
        assert_one_line_error
    done
    md_ok rm -f db web other late >/dev/null
    _net_clean
}

# Links on a user-defined network (--link there, or NetworkingConfig's
# Links): the alias names the container so named on that network, which
# may come later; inspect shows them on the network.
test_user_network_links() {
    _net_setup
    bb_image
    md_ok network create front >/dev/null
    md_ok run -d --name c1 --network front --link upstream:bar bb sleep 120 >/dev/null
    assert_eq "$(md_ok inspect -f '{{json (index .NetworkSettings.Networks "front").Links}}' c1)" '["upstream:bar"]'
    md_fail any exec c1 ping -c 1 -W 1 bar
    md_ok run -d --name upstream --network front bb sleep 120 >/dev/null
    assert_contains "$(md_ok exec c1 ping -c 1 -W 2 bar)" "PING bar ($(_ip upstream front))"
    md_ok rm -f c1 upstream >/dev/null
    md_ok network rm front >/dev/null
    _net_clean
}

# The embedded DNS server: a container on a user network asks 127.0.0.11
# (resolv.conf says so, with ndots:0), which answers its peers' names,
# aliases and links (A, an empty AAAA, PTR, NAME.NETWORK) and forwards other names to
# the --dns server (dnsmasq on the uplink), from the host's namespace, or
# to the host's loopback resolver; a default-bridge container keeps the
# nameservers; hostile datagrams leave
# the server answering; a restart gets a new server in the new namespace.
test_embedded_dns() {
    _net_setup
    bb_image
    require_cmd dnsmasq
    _bg inu dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address="$_UP_IP" \
        --user=root --pid-file= --address=/up.test/192.0.2.77 --address=/up.test/2001:db8::77 --log-queries --log-facility="$T/dnsmasq.log"
    wait_until 10 "dnsmasq on the uplink" grep -q started "$T/dnsmasq.log"
    md_ok network create front >/dev/null
    md_ok run -d --name d1 --network front --network-alias alpha --dns "$_UP_IP" --link up2:bar bb sleep 120 >/dev/null
    md_ok run -d --name d2 --network front bb sleep 120 >/dev/null
    md_ok run -d --name d3 bb sleep 120 >/dev/null
    local rc ip1 ip2 out
    ip1=$(_ip d1 front) ip2=$(_ip d2 front)
    rc=$(md_ok exec d1 cat /etc/resolv.conf)
    assert_eq "$(grep '^nameserver' <<<"$rc")" "nameserver 127.0.0.11" "resolv.conf on a user network"
    assert_contains "$rc" "options ndots:0"
    ! grep -q 127.0.0.11 <<<"$(md_ok exec d3 cat /etc/resolv.conf)" || fail "the default bridge got the embedded server"
    # names, aliases, upper case, an empty AAAA, PTR
    assert_contains "$(md_ok exec d1 nslookup d2)" "Address: $ip2"
    assert_contains "$(md_ok exec d2 nslookup alpha)" "Address: $ip1"
    assert_contains "$(md_ok exec d2 nslookup D1)" "Address: $ip1"
    assert_contains "$(md_ok exec d1 nslookup d2.front)" "Address: $ip2"
    out=$(md_ok exec d2 nslookup -type=aaaa d1)
    [[ "$out" != *"Address: "*:* ]] || fail "an AAAA answer for a container without IPv6: $out"
    assert_contains "$(md_ok exec d1 nslookup "$ip2")" "name = d2"
    # a link's alias once its target runs
    md_fail any exec d1 nslookup bar
    md_ok run -d --name up2 --network front bb sleep 120 >/dev/null
    assert_contains "$(md_ok exec d1 nslookup bar)" "Address: $(_ip up2 front)"
    # other names: forwarded to --dns from the host's namespace
    assert_contains "$(md_ok exec d1 nslookup up.test)" "Address: 192.0.2.77"
    grep -q "query\[A\] up.test from $_HOST_IP" "$T/dnsmasq.log" || fail "dnsmasq was not asked from the host: $(cat "$T/dnsmasq.log")"
    md_fail any exec d1 nslookup nosuch.test
    # hostile datagrams (a response, a truncated header, a pointer loop,
    # garbage) change nothing
    # (sent by the host's bash in the container's network namespace: the
    # image's nc has no -u)
    local pid
    pid=$(md_ok inspect -f '{{.State.Pid}}' d1)
    nsenter --net="/proc/$pid/ns/net" bash -c 'for m in "\x12\x34\x81\x80" "\x12" "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01" "garbage garbage"; do printf "$m" >/dev/udp/127.0.0.11/53; done'
    md_ok inspect -f '{{.State.Running}}' d1 >/dev/null
    assert_contains "$(md_ok exec d1 nslookup d2)" "Address: $ip2"
    # a stopped peer is no longer answered; a restarted container has a server again
    md_ok stop -t 1 d2 >/dev/null
    md_fail any exec d1 nslookup d2
    md_ok restart -t 1 d1 >/dev/null
    md_ok start d2 >/dev/null
    assert_contains "$(md_ok exec d1 nslookup d2)" "Address: $(_ip d2 front)"
    # without --dns: the host's nameservers, a loopback one included (the
    # server asks from the host's namespace; the host's file is replaced in
    # a private mount namespace)
    _bg inh dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.53 \
        --user=root --pid-file= --address=/local.test/192.0.2.78 --address=/local.test/2001:db8::78 --log-facility="$T/dnsmasq-lo.log"
    wait_until 10 "dnsmasq on the host's loopback" grep -q started "$T/dnsmasq-lo.log"
    printf 'nameserver 127.0.0.53\n' >"$T/resolv.loop"
    out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" run --rm --network front bb nslookup local.test' \
        _ "$T/resolv.loop" "$MINIDOCK")
    assert_contains "$out" "Address: 192.0.2.78"
    _bg_stop
    md_ok rm -f d1 d2 d3 up2 >/dev/null
    md_ok network rm front >/dev/null
    _net_clean
}

# IPv6 on a user network (--ipv6, EnableIPv6): the bridge has the IPv6
# gateway, containers an address from the range (or the one asked for) and
# a default route through it, both families in inspect; connect --ip6;
# refused: an address outside the subnet, the gateway, one in use, an IPv6
# subnet without --ipv6, --ipv6 without one, an overlap.
test_network_ipv6() {
    _net_setup
    bb_image
    md_ok network create --ipv6 --subnet 10.127.0.0/24 --subnet fd00:db8:1::/64 --ip-range fd00:db8:1::/96 \
        --gateway fd00:db8:1::ffff n6 >/dev/null
    assert_eq "$(md_ok network inspect -f '{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}},{{.Gateway}} {{end}}' n6)" \
        "true 10.127.0.0/24,10.127.0.1 fd00:db8:1::/64,fd00:db8:1::ffff "
    md_ok run -d --name v1 --network n6 bb sleep 120 >/dev/null
    md_ok run -d --name v2 --network n6 --ip6 fd00:db8:1::f00d bb sleep 120 >/dev/null
    f='{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}'
    assert_eq "$(md_ok inspect -f "$f" v1)" "fd00:db8:1::1/64 fd00:db8:1::ffff"
    assert_eq "$(md_ok inspect -f '{{json .NetworkSettings.Networks.n6.IPAMConfig}}' v2)" '{"IPv6Address":"fd00:db8:1::f00d"}'
    assert_contains "$(md_ok exec v2 ip -6 addr show dev eth0)" "inet6 fd00:db8:1::f00d/64 scope global"
    assert_contains "$(md_ok exec v2 ip -6 route)" "default via fd00:db8:1::ffff dev eth0"
    assert_contains "$(md_ok exec v1 ping6 -c 1 -W 2 fd00:db8:1::f00d)" "1 packets received"
    assert_contains "$(md_ok exec v1 ping6 -c 1 -W 2 fd00:db8:1::ffff)" "1 packets received"
    assert_eq "$(md_ok network inspect -f '{{range .Containers}}{{.IPv6Address}} {{end}}' n6 | tr ' ' '\n' | sort | tr '\n' ' ')" \
        " fd00:db8:1::1/64 fd00:db8:1::f00d/64 "
    # a restart keeps its lease (an address asked for in another spelling too)
    md_ok run -d --name v3 --network n6 --ip6 FD00:DB8:1::00AB bb sleep 120 >/dev/null
    md_ok restart -t 1 v3 >/dev/null
    assert_eq "$(md_ok inspect -f '{{.NetworkSettings.Networks.n6.GlobalIPv6Address}}' v3)" fd00:db8:1::ab
    assert_eq "$(md_ok network inspect -f '{{range .Containers}}{{.IPv6Address}} {{end}}' n6 | wc -w)" 3 "one IPv6 lease a container"
    md_ok rm -f v3 >/dev/null
    # connect with an IPv6 address of its choice
    md_ok network disconnect n6 v1 >/dev/null
    md_ok network connect --ip6 fd00:db8:1::beef n6 v1 >/dev/null
    assert_contains "$(md_ok exec v1 ip -6 addr show)" "inet6 fd00:db8:1::beef/64 scope global"
    # refused, one line each
    for bad in fd00:db8:2::1 fd00:db8:1::ffff fd00:db8:1::f00d not-an-address; do
        md_fail any run --rm --network n6 --ip6 "$bad" bb true
        assert_one_line_error
    done
    md_fail any network create --subnet fd00:db8:3::/64 nov6
    assert_one_line_error
    md_fail any network create --ipv6 nosub6
    assert_one_line_error
    md_fail any network create --ipv6 --subnet fd00:db8:1:0:1::/80 overlap6
    assert_one_line_error
    md_fail any run --rm --network bridge --ip6 fd00:db8:1::5 bb true
    assert_one_line_error
    md_ok rm -f v1 v2 >/dev/null
    md_ok network rm n6 >/dev/null
    _net_clean
}
