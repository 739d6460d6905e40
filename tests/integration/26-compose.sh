# shellcheck shell=bash
# Compose (issue 14): `minidock compose` on compose files: the model
# (variables, .env, anchors and merge keys, several -f files, profiles,
# refused keys with their file and line), the project's objects as Docker
# Compose v2 names and labels them, depends_on's conditions, recreating
# only what changed, orphans, down; hostile files.  Every test runs
# minidock in a network namespace of its own (compose makes networks),
# entered with `nsenter --net`; the machine's own namespace is untouched.

_cp_setup() {
    ctr_setup
    require_cmd ip nsenter
    CP_NS=mdc-$$
    NET_NS=${NET_NS:-}" $CP_NS"
    ip netns add "$CP_NS"
    ip -n "$CP_NS" link set lo up
    MD_REAL=${MD_REAL:-$MINIDOCK}
    printf '#!/bin/sh\nexec /usr/bin/nsenter --net=/run/netns/%s %s "$@"\n' "$CP_NS" "$MD_REAL" >"$T/md-in-ns"
    chmod 755 "$T/md-in-ns"
    export MINIDOCK=$T/md-in-ns MD_REAL
    trap '_cp_teardown' EXIT
    P=$T/app
    mkdir -p "$P"
}

_cp_teardown() {
    ctr_teardown
    [ -e "/run/netns/$CP_NS" ] && ip netns del "$CP_NS"
    return 0
}

# mc ARGS: minidock compose in the project directory $P (md_ok's rules).
mc() { md_ok compose --project-directory "$P" "$@"; }
mc_fail() { local c=$1; shift; md_fail "$c" compose --project-directory "$P" "$@"; }

_label() { md_ok inspect -f "{{index .Config.Labels \"com.docker.compose.$2\"}}" "$1"; }

test_compose_config() {
    _cp_setup
    cat >"$P/compose.yaml" <<'YAML'
x-base: &base
  restart: unless-stopped
  labels: {tier: demo}
services:
  web:
    <<: *base
    image: ${IMAGE:-bb}
    ports: ["${PORT:?a port is needed}:80"]
    environment:
      GREETING: "hello $$USER"
  job:
    image: bb
    profiles: [batch]
YAML
    printf 'PORT=8080\n# a comment\nexport IMAGE="bb:1"\n' >"$P/.env"
    out=$(mc config --format json)
    assert_eq "$(jq -r .name <<<"$out")" app
    assert_eq "$(jq -r .services.web.image <<<"$out")" "bb:1"
    assert_eq "$(jq -r '.services.web.ports[0]' <<<"$out")" "8080:80"
    assert_eq "$(jq -r .services.web.environment.GREETING <<<"$out")" 'hello $USER'
    assert_eq "$(jq -r .services.web.restart <<<"$out")" unless-stopped
    assert_eq "$(jq -r .services.web.labels.tier <<<"$out")" demo
    # the environment wins over .env; -p names the project
    out=$(PORT=9090 mc -p Other.Name config --format json)
    assert_eq "$(jq -r '.name + " " + .services.web.ports[0]' <<<"$out")" "othername 9090:80"
    # YAML out, read back by python's yaml as the same model
    assert_eq "$(mc config | "$PY" -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True, separators=(",", ":")))')" \
        "$(mc config --format json | jq -cS .)"
    # a service of a profile not active is not in the model (as Compose v2's)
    assert_eq "$(mc config --services | tr '\n' ' ')" "web "
    assert_eq "$(mc config --format json | jq -r '.services | keys | join(" ")')" "web"
    assert_eq "$(mc --profile batch config --services | tr '\n' ' ')" "web job "
    # a second file overrides and adds
    cat >"$P/override.yaml" <<'YAML'
services:
  web:
    ports: ["8443:443"]
    environment: {EXTRA: "1"}
YAML
    out=$(md_ok compose -f "$P/compose.yaml" -f "$P/override.yaml" config --format json)
    assert_eq "$(jq -c '.services.web.ports' <<<"$out")" '["8080:80","8443:443"]'
    assert_eq "$(jq -c '.services.web.environment' <<<"$out")" '{"GREETING":"hello $USER","EXTRA":"1"}'
    # a required variable unset: its message, with the file and line
    mv "$P/.env" "$P/env.off"
    mc_fail 1 config
    assert_one_line_error
    assert_contains "$(md_stderr)" "compose.yaml:8: required variable PORT is missing a value: a port is needed"
    # a key minidock does not take: named, with its line
    printf 'services:\n  web:\n    image: bb\n    build: .\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_one_line_error
    assert_contains "$(md_stderr)" 'compose.yaml:4: service "web": "build" is not supported by minidock compose'
    printf 'services: {}\nsecrets: {s: {file: x}}\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" 'compose.yaml:2: "secrets" is not supported'
    printf 'services:\n  web:\n    image: bb\n    deploy: {replicas: 3}\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" '"replicas" is not supported'
    # inside a service too: nothing is taken and then ignored
    printf 'services:\n  web:\n    image: bb\n    healthcheck: {test: "true", shell: sh}\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" 'compose.yaml:4: healthcheck: "shell" is not supported'
    printf 'services:\n  web:\n    image: bb\n    volumes:\n      - {type: bind, source: /x, target: /y, bind: {propagation: rshared}}\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" 'volumes: "bind" is not supported'
    printf 'services:\n  web:\n    image: bb\n    depends_on: {db: {condition: service_ready}}\n  db: {image: bb}\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" 'depends_on condition "service_ready"'
    printf 'services: {}\nnetworks:\n  n: {enable_ipv6: true}\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" 'compose.yaml:3: networks: "enable_ipv6" is not supported'
    # a value of the wrong type: named, not ignored
    printf 'services:\n  web:\n    image: bb\n    ports: 8080\n' >"$P/compose.yaml"
    mc_fail 1 config
    assert_contains "$(md_stderr)" 'compose.yaml:4: service "web": "ports" must be a list'
    # -f -: the file from standard input, the project directory the current one
    out=$(cd "$P" && printf 'services:\n  web: {image: "bb:${TAG:-2}"}\n' | "$MINIDOCK" compose -f - config --format json) ||
        fail "compose -f - config failed"
    assert_eq "$(jq -r '.name + " " + .services.web.image' <<<"$out")" "app bb:2"
    printf 'services:\n  web:\n    image: bb\n    build: .\n' | md_fail 1 compose --project-directory "$P" -f - config
    assert_contains "$(md_stderr)" 'stdin:4: service "web": "build" is not supported'
    md_fail 1 compose --project-directory "$P" -f - -f - config </dev/null
    assert_contains "$(md_stderr)" "standard input) given twice"
    # no file at all
    rm -f "$P"/*.yaml
    mc_fail 1 config
    assert_contains "$(md_stderr)" "no configuration file provided"
    assert_clean
}

test_compose_hostile_files() {
    _cp_setup
    # a billion laughs, a deep nest, a repeated key, a second document, a tag
    {
        echo 'a: &a [x, x, x, x, x, x, x, x, x, x]'
        for l in b c d e f g h i; do
            p=$(printf '%s' "$l" | tr 'b-i' 'a-h')
            echo "$l: &$l [*$p, *$p, *$p, *$p, *$p, *$p, *$p, *$p, *$p, *$p]"
        done
        echo 'services: {}'
    } >"$P/laughs.yaml"
    md_fail 1 compose -f "$P/laughs.yaml" config
    assert_one_line_error
    assert_contains "$(md_stderr)" "more than 100000 nodes"
    printf 'services: %s\n' "$(printf '[%.0s' $(seq 200))" >"$P/deep.yaml"
    md_fail 1 compose -f "$P/deep.yaml" config
    assert_contains "$(md_stderr)" "nested more than 64 deep"
    printf 'services:\n  web: {image: bb}\n  web: {image: bb}\n' >"$P/dup.yaml"
    md_fail 1 compose -f "$P/dup.yaml" config
    assert_contains "$(md_stderr)" 'dup.yaml:3:3: key "web" already given at line 2'
    printf 'services: {}\n---\nservices: {}\n' >"$P/two.yaml"
    md_fail 1 compose -f "$P/two.yaml" config
    assert_contains "$(md_stderr)" "more than one YAML document"
    printf 'services: !!python/object {}\n' >"$P/tag.yaml"
    md_fail 1 compose -f "$P/tag.yaml" config
    assert_contains "$(md_stderr)" "unsupported YAML tag"
    head -c 2000000 /dev/zero | tr '\0' '#' >"$P/big.yaml"
    md_fail 1 compose -f "$P/big.yaml" config
    assert_one_line_error
    printf 'services:\n  web:\n    image: bb\n    depends_on: [db]\n  db:\n    image: bb\n    depends_on: [web]\n' >"$P/compose.yaml"
    bb_image
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" "dependency cycle"
    assert_clean
}

test_compose_up_down() {
    _cp_setup
    bb_image
    mkdir -p "$P/conf"
    echo conf-ok >"$P/conf/x"
    cat >"$P/compose.yaml" <<'YAML'
x-minidock: {commit-after: 0s}  # an update commits once its services run (27-compose-update.sh tests the wait)
services:
  db:
    image: bb
    command: sh -c 'echo db ready; exec sleep 300'
    healthcheck:
      test: ["CMD-SHELL", "test -e /proc/1"]
      interval: 0.3s
      retries: 2
  web:
    image: bb
    command: ["sh", "-c", "echo web sees $$DB; exec httpd -f -p 80 -h /conf"]
    environment:
      DB: db
    depends_on:
      db: {condition: service_healthy}
    ports: ["8080:80"]
    volumes:
      - data:/data
      - ./conf:/conf:ro
    networks: [front, default]
  once:
    image: bb
    command: sh -c 'echo once done'
    restart: "no"
networks:
  front: {}
volumes:
  data: {}
YAML
    mc up -d >/dev/null
    assert_contains "$(md_stderr)" "Container app-web-1  Started"
    # names and labels as Docker Compose v2's
    assert_eq "$(md_ok ps -a --format '{{.Names}}' | sort | tr '\n' ' ')" "app-db-1 app-once-1 app-web-1 "
    assert_eq "$(_label app-web-1 project) $(_label app-web-1 service) $(_label app-web-1 container-number) $(_label app-web-1 oneoff)" \
        "app web 1 False"
    assert_eq "$(_label app-web-1 project.working_dir)" "$P"
    assert_eq "$(_label app-web-1 project.config_files)" "$P/compose.yaml"
    assert_match "$(_label app-web-1 config-hash)" '^[0-9a-f]{64}$'
    assert_eq "$(_label app-web-1 depends_on)" "db:service_healthy:false"
    assert_eq "$(md_ok network ls --format '{{.Name}}' | grep app_ | sort | tr '\n' ' ')" "app_default app_front "
    assert_eq "$(md_ok volume ls --format '{{.Name}}')" app_data
    assert_eq "$(md_ok inspect -f '{{.State.Health.Status}}' app-db-1)" healthy "db healthy before web started"
    # web reaches db by its service name, through the embedded DNS server
    assert_contains "$(md_ok exec app-web-1 nslookup db)" "Address: "
    assert_eq "$(md_ok exec app-web-1 cat /conf/x)" conf-ok
    # ps and logs as Compose prints them
    out=$(mc ps)
    assert_match "$(sed -n 1p <<<"$out")" '^NAME +IMAGE +COMMAND +SERVICE +CREATED +STATUS +PORTS'
    assert_contains "$out" "0.0.0.0:8080->80/tcp"
    ! grep -q app-once-1 <<<"$out" || fail "ps shows an exited container without -a: $out"
    assert_contains "$(mc ps -a)" app-once-1
    assert_eq "$(mc ps -q | wc -l)" 2
    assert_eq "$(mc ps --services | sort | tr '\n' ' ')" "db web "
    wait_until 10 "web's first line" sh -c "'$MINIDOCK' compose --project-directory '$P' logs web | grep -q 'web sees db'"
    assert_match "$(mc logs once)" '^app-once-1 \| once done$'
    assert_eq "$(mc logs --no-log-prefix once)" "once done"
    assert_eq "$(mc ls --format json | jq -r '.[0].Name + " " + .[0].Status')" "app running(2), exited(1)"
    assert_match "$(mc images web | sed -n 2p)" '^app-web-1 +bb +latest +[0-9a-f]{12} +[0-9.]+[kMG]?B$'
    assert_contains "$(mc top web)" "httpd -f -p 80"
    # pull: a registry that is not there (loopback, nothing listens) fails
    # with the service named; --ignore-pull-failures goes on
    printf 'services:\n  x:\n    image: 127.0.0.1:9/nothing:1\n' >"$T/pull.yaml"
    md_fail 1 compose -f "$T/pull.yaml" pull -q
    assert_one_line_error
    assert_contains "$(md_stderr)" 'service "x"'
    md_ok compose -f "$T/pull.yaml" pull -q --ignore-pull-failures >/dev/null
    # up again: nothing changes; a change recreates that service only
    local dbid webid
    dbid=$(md_ok inspect -f '{{.Id}}' app-db-1) webid=$(md_ok inspect -f '{{.Id}}' app-web-1)
    mc up -d >/dev/null
    assert_contains "$(md_stderr)" "Container app-web-1  Running"
    assert_eq "$(md_ok inspect -f '{{.Id}}' app-web-1)" "$webid" "web recreated without a change"
    sed -i 's/DB: db/DB: db-changed/' "$P/compose.yaml"
    mc up -d >/dev/null
    assert_contains "$(md_stderr)" "Container app-web-1  Recreate"
    assert_eq "$(md_ok inspect -f '{{.Id}}' app-db-1)" "$dbid" "db recreated though it did not change"
    [ "$(md_ok inspect -f '{{.Id}}' app-web-1)" != "$webid" ] || fail "web was not recreated"
    # --force-recreate; stop, start, restart
    mc up -d --force-recreate db >/dev/null
    [ "$(md_ok inspect -f '{{.Id}}' app-db-1)" != "$dbid" ] || fail "--force-recreate kept db"
    mc stop -t 1 web >/dev/null
    assert_eq "$(md_ok inspect -f '{{.State.Status}}' app-web-1)" exited
    mc start web >/dev/null
    assert_eq "$(md_ok inspect -f '{{.State.Status}}' app-web-1)" running
    # an orphan: a service gone from the file is reported, then removed
    sed -i '/^  once:/,/restart: "no"/d' "$P/compose.yaml"
    mc up -d >/dev/null
    assert_contains "$(md_stderr)" "orphan container app-once-1"
    mc up -d --remove-orphans >/dev/null
    md_fail any inspect app-once-1
    # exec into a service
    assert_eq "$(mc exec -T web cat /conf/x)" conf-ok
    # down -v: containers, networks, volumes gone
    mc down -v -t 1 >/dev/null
    assert_contains "$(md_stderr)" "Network app_front  Removed"
    assert_eq "$(md_ok network ls --format '{{.Name}}' | grep -c app_ || true)" 0
    assert_eq "$(md_ok volume ls -q)" ""
    assert_eq "$(_in_ns_links)" "" "links left in the namespace"
    assert_clean
}

_in_ns_links() { nsenter --net="/run/netns/$CP_NS" ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -v -x -e lo -e md0 || true; }

test_compose_depends_on_conditions() {
    _cp_setup
    bb_image
    cat >"$P/compose.yaml" <<'YAML'
services:
  init:
    image: bb
    command: sh -c 'echo migrated > /shared/done'
    volumes: [shared:/shared]
  app:
    image: bb
    command: sh -c 'cat /shared/done; exec sleep 300'
    volumes: [shared:/shared]
    depends_on:
      init: {condition: service_completed_successfully}
volumes:
  shared: {}
YAML
    mc up -d >/dev/null
    assert_eq "$(md_ok exec app-app-1 cat /shared/done)" migrated
    # run: a one-off container of the service, its exit status run's
    assert_eq "$(mc run --rm -T app cat /shared/done)" migrated
    md_fail 3 compose --project-directory "$P" run --rm -T --no-deps app sh -c 'exit 3'
    assert_eq "$(mc run -T -e X=1 app sh -c 'echo $X')" 1
    assert_eq "$(md_ok ps -a --filter label=com.docker.compose.oneoff=True -q | wc -l)" 1 "one-offs left (only the one without --rm)"
    assert_eq "$(mc ps -aq | wc -l)" 2 "ps lists the services' containers only"
    mc down -v -t 1 >/dev/null
    assert_eq "$(md_ok ps -aq | wc -l)" 0 "down left a one-off"
    # a dependency that fails its check: the error names both and the check's output
    cat >"$P/compose.yaml" <<'YAML'
services:
  db:
    image: bb
    command: sleep 300
    healthcheck:
      test: ["CMD-SHELL", "echo not ready yet; exit 1"]
      interval: 0.2s
      retries: 1
  web:
    image: bb
    command: sleep 300
    depends_on:
      db: {condition: service_healthy}
YAML
    mc_fail 1 up -d --wait-timeout 5
    # (progress lines on stderr, as Compose's; then the error, one line)
    assert_eq "$(md_stderr | grep -c '^minidock: ')" 1
    assert_eq "$(md_stderr | tail -n 1)" 'minidock: compose up: service "web" depends on "db", which is unhealthy; its last check said: not ready yet'
    md_fail any inspect app-web-1
    mc down -t 1 >/dev/null
    # a dependency that exits non-zero
    printf 'services:\n  a:\n    image: bb\n    command: "false"\n  b:\n    image: bb\n    command: "true"\n    depends_on:\n      a: {condition: service_completed_successfully}\n' >"$P/compose.yaml"
    mc_fail 1 up -d
    assert_contains "$(md_stderr)" 'service "b" depends on "a", which did not complete successfully'
    mc down >/dev/null
    assert_clean
}

# _power_cut: every container's processes and monitors killed at once
# (SIGKILL), the run root's mounts and files gone, as after a power cut.
_power_cut() {
    local d id
    # (only this test's containers: others may be running on this machine)
    for id in $(md_ok ps -aq); do
        pkill -KILL -f "__monitor $id" || true
    done
    for d in $(cgroup_parent_dirs); do
        find "$d" -mindepth 2 -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    done
    sleep 0.5
    awk -v r="$MINIDOCK_RUNROOT" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do umount -l "$m"; done
    for d in $(cgroup_parent_dirs); do
        find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rm -rf "${MINIDOCK_RUNROOT:?}"/*
}

# A project left up comes back at boot, whole and in its order (db healthy
# before web starts); one taken down does not.
test_compose_boot() {
    _cp_setup
    bb_image
    cat >"$P/compose.yaml" <<'YAML'
services:
  db:
    image: bb
    command: sleep 300
    healthcheck: {test: ["CMD", "true"], interval: 0.3s}
  web:
    image: bb
    command: sleep 300
    depends_on: {db: {condition: service_healthy}}
  debug:
    image: bb
    command: sleep 300
    profiles: [debug]
YAML
    mc up -d >/dev/null
    md_fail any inspect app-debug-1
    mc --profile debug up -d >/dev/null
    assert_eq "$(md_ok inspect -f '{{.State.Status}}' app-debug-1)" running "a service of an active profile"
    md_ok rm -f app-debug-1 >/dev/null
    mc up -d >/dev/null
    [ -f "$MINIDOCK_ROOT/compose/app.json" ] || fail "up left no record for boot"
    _power_cut
    assert_eq "$(md_ok ps -q | wc -l)" 0 "containers running after the power cut"
    out=$(md_ok boot)
    assert_contains "$out" "started compose project app"
    assert_eq "$(md_ok ps --format '{{.Names}}' | sort | tr '\n' ' ')" "app-db-1 app-web-1 "
    # web started once db was healthy
    local dbh webs
    dbh=$(md_ok events --since 1m --until 0s --filter container=app-db-1 --filter event=health_status --format '{{.TimeNano}}' | tail -n 1)
    webs=$(md_ok events --since 1m --until 0s --filter container=app-web-1 --filter event=start --format '{{.TimeNano}}' | tail -n 1)
    [ -n "$dbh" ] && [ -n "$webs" ] && [ "$webs" -gt "$dbh" ] || fail "web started before db was healthy ($webs, $dbh)"
    # a project whose file came from standard input comes back too (up keeps the text)
    printf 'services:\n  tool:\n    image: bb\n    command: sleep 300\n' | md_ok compose -p piped --project-directory "$P" -f - up -d >/dev/null
    [ -f "$MINIDOCK_ROOT/compose/piped.stdin.yaml" ] || fail "up -f - kept no copy of its file for boot"
    _power_cut
    md_ok boot >/dev/null
    assert_eq "$(md_ok ps --format '{{.Names}}' | sort | tr '\n' ' ')" "app-db-1 app-web-1 piped-tool-1 "
    md_ok compose -p piped -f "$MINIDOCK_ROOT/compose/piped.stdin.yaml" down -t 1 >/dev/null
    [ ! -e "$MINIDOCK_ROOT/compose/piped.stdin.yaml" ] || fail "down left -f -'s copy"
    mc down -t 1 >/dev/null
    [ ! -e "$MINIDOCK_ROOT/compose/app.json" ] || fail "down left the boot record"
    _power_cut
    md_ok boot >/dev/null
    assert_eq "$(md_ok ps -aq | wc -l)" 0 "boot brought back a project taken down"
    assert_clean
}

# up without -d prints the containers' output, name first, and ^C stops
# them (exit 130), as Compose does.
test_compose_up_attached() {
    _cp_setup
    bb_image
    cat >"$P/compose.yaml" <<'YAML'
services:
  talk:
    image: bb
    command: sh -c 'trap "echo bye; exit 0" TERM; echo hello; while :; do sleep 0.1; done'
YAML
    "$MINIDOCK" compose --project-directory "$P" up >"$T/up.out" 2>&1 &
    local up=$! rc=0
    wait_until 20 "the container's first line" grep -q "app-talk-1 | hello" "$T/up.out"
    kill -INT "$up"
    wait "$up" || rc=$?
    assert_eq "$rc" 130 "up's exit status after ^C ($(cat "$T/up.out"))"
    assert_eq "$(md_ok inspect -f '{{.State.Status}} {{.State.ExitCode}}' app-talk-1)" "exited 0"
    assert_contains "$(cat "$T/up.out")" "Gracefully stopping"
    mc down >/dev/null
    assert_clean
}

# Debian's docker-compose 1.29 through `minidock serve`, on the same file:
# it finds minidock compose's containers by their labels and takes them
# down, and the other way round.
# timeout: 240
test_compose_docker_compose_interop() {
    _cp_setup
    require_cmd docker-compose curl
    bb_image
    printf 'services:\n  db:\n    image: bb\n    command: sleep 300\n  web:\n    image: bb\n    command: sleep 300\n    depends_on: [db]\n' >"$P/docker-compose.yml"
    "$MINIDOCK" serve -H "unix://$T/dc.sock" >>"$T/serve.log" 2>&1 &
    local sp=$!
    wait_until 10 "serve answering" sh -c "[ \"\$(curl -s --unix-socket '$T/dc.sock' http://d/_ping)\" = OK ]"
    local dc=(env DOCKER_HOST="unix://$T/dc.sock" docker-compose --project-directory "$P" -f "$P/docker-compose.yml")
    mc up -d >/dev/null
    out=$(timeout 60 "${dc[@]}" ps 2>&1) || fail "docker-compose ps failed: $out"
    assert_match "$(grep -c ' Up' <<<"$out")" '^2$'
    timeout 120 "${dc[@]}" down >"$T/dc.out" 2>&1 || fail "docker-compose down failed: $(cat "$T/dc.out")"
    assert_eq "$(md_ok ps -aq | wc -l)" 0 "containers left by docker-compose down"
    assert_eq "$(md_ok network ls --format '{{.Name}}' | grep -c app_ || true)" 0 "networks left by docker-compose down"
    timeout 120 "${dc[@]}" up -d >"$T/dc.out" 2>&1 || fail "docker-compose up failed: $(cat "$T/dc.out")"
    assert_eq "$(mc ps --services | sort | tr '\n' ' ')" "db web "
    mc down -t 1 >/dev/null
    assert_eq "$(md_ok ps -aq | wc -l)" 0 "containers left by minidock compose down"
    kill "$sp"
    wait "$sp" || true
    assert_clean
}

# podman-compose (Debian's 1.0.3, which has no `config` command) as a peer
# for the model and the order: its --dry-run prints the `podman run` it
# would run for each service, in the order it starts them; minidock's
# containers made from the same file (and .env, and environment) must have
# the same command, environment and published ports, made in the same order.
test_compose_podman_compose_peer() {
    _cp_setup
    require_cmd podman-compose
    bb_image
    cat >"$P/compose.yaml" <<'YAML'
x-common: &common
  image: ${IMG:-bb}
  environment:
    - A=${FOO:-deflt}
    - B=$${LIT}
    - C
services:
  zeta:
    <<: *common
    command: sh -c 'echo "a b"; sleep 300'
    depends_on: [mid]
  mid:
    <<: *common
    command: ["sleep", "300"]
    depends_on:
      base: {condition: service_started}
  base:
    image: bb
    command: sleep 300
    environment: {X: "1", Y: "${FOO}-y"}
    ports: ["18080:80", "127.0.0.1:18081:81/udp"]
  alone:
    image: bb
    command: sleep 300
  other:
    <<: *common
    command: sleep 300
    depends_on: [alone, base]
YAML
    printf 'FOO=fromenvfile\n' >"$P/.env"
    (cd "$P" && C=cee timeout 60 podman-compose --dry-run -p app up -d) >"$T/pc.out" 2>&1 || fail "podman-compose --dry-run failed: $(tail -3 "$T/pc.out")"
    # service: command | sorted environment | sorted ports, one line each, in podman-compose's order
    "$PY" - "$T/pc.out" >"$T/pc.model" <<'PYEOF'
import sys
for line in open(sys.argv[1]):
    if not line.startswith("podman run "):
        continue
    w = line.split()
    svc, env, ports, i = None, [], [], 2
    while i < len(w) and w[i].startswith("-"):
        o = w[i]
        if o.startswith("--name="):
            svc = o.split("_")[1]; i += 1; continue
        if o in ("-d",):
            i += 1; continue
        v = w[i + 1]; i += 2
        if o == "-e":
            env.append(v if "=" in v else v + "=cee")   # podman takes a bare name's value from its own environment
        elif o == "-p":
            ports.append(v)
    print("%s|%s|%s|%s" % (svc, " ".join(w[i + 1:]), " ".join(sorted(env)), " ".join(sorted(ports))))
PYEOF
    [ "$(wc -l <"$T/pc.model")" = 5 ] || fail "podman-compose printed $(wc -l <"$T/pc.model") podman runs: $(cat "$T/pc.out")"
    local t0
    t0=$(date +%s)
    C=cee mc up -d >/dev/null 2>&1
    : >"$T/md.model"
    for s in $(md_ok events --since "$t0" --until "$(($(date +%s) + 1))" --filter type=container --filter event=create --format '{{.Actor.Attributes.name}}' | sed 's/^app-//; s/-1$//'); do
        md_ok inspect "app-$s-1" | jq -r --arg s "$s" '.[0] | [$s, (.Config.Cmd | join(" ")),
            ([.Config.Env[] | select(test("^(A|B|C|X|Y)="))] | sort | join(" ")),
            ([.HostConfig.PortBindings // {} | to_entries[] | .key as $k | .value[] |
              ((if .HostIp != "" then .HostIp + ":" else "" end) + .HostPort + ":" + ($k | sub("/tcp$"; "")))] | sort | join(" "))] | join("|")' >>"$T/md.model"
    done
    assert_eq "$(cat "$T/md.model")" "$(cat "$T/pc.model")" "minidock compose's containers (service|command|env|ports, in creation order) against podman-compose's"
    assert_eq "$(cut -d'|' -f1 "$T/md.model" | tr '\n' ' ')" "base alone mid zeta other "
    mc down -t 1 >/dev/null 2>&1
    assert_clean
}

# The example app of examples/compose (the one the OpenWrt and sysvinit
# examples start at boot): the worker healthy, then web serving its page
# from the named volume on the published port.
test_compose_example_app() {
    _cp_setup
    require_cmd curl
    bb_image busybox:latest
    local f=$MD_REPO/examples/compose/compose.yaml
    INTERVAL=1 md_ok compose -f "$f" up -d --wait --wait-timeout 60 >/dev/null
    assert_eq "$(md_ok inspect -f '{{.State.Health.Status}}' hello-worker-1 hello-web-1 | tr '\n' ' ')" "healthy healthy "
    assert_eq "$(md_ok volume ls -q | grep -c '^hello_site$')" 1 "the named volume"
    out=$(nsenter --net="/run/netns/$CP_NS" curl -s --max-time 5 http://127.0.0.1:8080/) || fail "web did not answer on 8080"
    assert_match "$out" '^<p>[^:]*: .*</p>$'
    assert_eq "$(md_ok inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Memory}} {{.HostConfig.ReadonlyRootfs}}' hello-web-1)" "unless-stopped 16777216 true"
    # -p and no file: the project from its containers' labels, as Compose's (not for up)
    assert_eq "$(md_ok compose -p hello ps --services | sort | tr '\n' ' ')" "web worker "
    md_fail 1 compose -p hello up -d
    assert_contains "$(md_stderr)" "no configuration file provided"
    md_ok compose -p hello down -v -t 1 2>"$T/down.err" >/dev/null
    assert_match "$(tr '\n' ' ' <"$T/down.err")" 'hello-web-1 *Removed.*hello-worker-1 *Removed.*hello_default *Removed.*hello_site *Removed'
    assert_eq "$(md_ok ps -aq | wc -l)" 0 "containers left by down"
    assert_eq "$(md_ok volume ls -q | grep -c '^hello_site$' || true)" 0 "down -v left the volume"
    assert_clean
}
