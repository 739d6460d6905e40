# shellcheck shell=bash
# docker-py's own integration suite (issue 13) against `minidock serve`:
# the files of ../shared/third_party/docker-py/tests/integration (docker-py
# 7.1.0, its LICENSE inside; run from there, never copied; MD_DOCKERPY names
# another copy) for containers, images, networks, volumes, exec, the models,
# the client, errors, build and healthcheck. Swarm, services, secrets,
# configs, plugins and contexts are left out (minidock has no swarm).
#
# The server, the suite and every container run in a network namespace of
# the test's own (50-api.sh's _api_netns). Debian's docker-registry there on
# localhost:5000 (TLS, no auth) is the default registry endpoint
# (registries.json) and holds the images the suite pulls, made from the
# busybox fixture: alpine:3.10 (its TEST_IMG), alpine:latest and
# busybox:latest with what the suite expects of alpine (/etc/passwd and
# /etc/group with root and postgres, /var/opt), and hello-world:latest,
# a layer of its own (the prune test wants space back).
#
# The table of passed, failed and skipped per file goes to the test's log.
# tests/dockerpy-known.txt lists the tests that fail today, each with its
# reason; the test fails when any other test fails. A failure is run once
# more alone before it counts (the suite has timing-dependent tests), and a
# listed test that passes is named in the log, to be taken off the list.
#
# Debian packages: python3-pytest python3-pytest-timeout python3-requests
# (and 50-api.sh's: docker-registry skopeo openssl apache2-utils curl)

# shellcheck disable=SC1091
. "$MD_REPO/tests/integration/50-api.sh"

# (MD_DPY_FILES: some of them, while working on one)
_DPY_FILES=${MD_DPY_FILES:-"api_build_test api_client_test api_container_test api_exec_test api_healthcheck_test
api_image_test api_network_test api_volume_test client_test errors_test models_containers_test
models_images_test models_networks_test models_resources_test models_volumes_test"}

# _dpy_pytest JUNIT ARGS...: the suite's pytest in the namespace, against
# the server, with a home of its own (no ~/.docker).
_dpy_pytest() {
    local junit=$1
    shift
    (cd "$DPY" && _in_ns env HOME="$T/home" DOCKER_HOST="unix://$T/docker.sock" PYTHONPATH=. \
        timeout 1500 "$PY" -m pytest -p no:cacheprovider -o addopts= -q --timeout 90 \
        --junitxml="$junit" "$@") >>"$T/pytest.log" 2>&1 || true
}

# timeout: 1800
test_dockerpy_suite() {
    _api_setup
    DPY=${MD_DOCKERPY:-$MD_REPO/../shared/third_party/docker-py}
    [ -d "$DPY/tests/integration" ] || skip "docker-py's suite is not in $DPY (set MD_DOCKERPY)"
    "$PY" -c 'import pytest, pytest_timeout, requests' 2>/dev/null ||
        skip "pytest, pytest-timeout or requests missing for $PY"
    _api_netns
    fixtures
    "$PY" - "$FIX/busybox-rootfs.tar" "$T/alpine-rootfs.tar" "$T/hello-rootfs.tar" <<'PYEOF'
import io, shutil, sys, tarfile
def add(t, name, data=None, mode=0o644, kind=tarfile.REGTYPE):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.mtime = kind, mode, 1700000000
    if data is not None:
        i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data is not None else None)
shutil.copyfile(sys.argv[1], sys.argv[2])
with tarfile.open(sys.argv[2], "a") as t:
    add(t, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\npostgres:x:70:70::/var/lib/postgresql:/bin/sh\n")
    add(t, "etc/group", b"root:x:0:root\npostgres:x:70:\n")
    add(t, "var/opt", mode=0o755, kind=tarfile.DIRTYPE)
shutil.copyfile(sys.argv[1], sys.argv[3])
with tarfile.open(sys.argv[3], "a") as t:
    add(t, "hello", b"Hello from minidock's stand-in for hello-world\n")
PYEOF
    md_ok import "$T/alpine-rootfs.tar" dpy/alpine:1 >/dev/null
    md_ok import "$T/hello-rootfs.tar" dpy/hello:1 >/dev/null
    md_ok save -o "$T/alpine.tar" dpy/alpine:1 >/dev/null
    md_ok save -o "$T/hello.tar" dpy/hello:1 >/dev/null
    md_ok rmi dpy/alpine:1 dpy/hello:1 >/dev/null
    _api_registry open
    local t f src files=()
    for t in alpine:3.10 alpine:latest busybox:latest hello-world:latest; do
        src=$T/alpine.tar
        [ "$t" != hello-world:latest ] || src=$T/hello.tar
        _in_ns skopeo --insecure-policy copy -q --dest-cert-dir "$T/pki/skopeo" \
            "docker-archive:$src" "docker://$REG/library/$t" >/dev/null ||
            fail "skopeo could not push $t to $REG"
    done
    printf '{"default-registry-endpoint": "https://%s"}\n' "$REG" >"$MINIDOCK_CONFIG_DIR/registries.json"
    mkdir -p "$T/home"
    _serve
    for f in $_DPY_FILES; do
        files+=("tests/integration/$f.py")
    done
    _dpy_pytest "$T/junit.xml" "${files[@]}"
    # the session's setup (the pull of TEST_IMG) and the summary
    sed -n '1,/^[.FEsx]/p' "$T/pytest.log" | head -n 20 | sed 's/^/# pytest: /'
    tail -n 1 "$T/pytest.log" | sed 's/^/# pytest: /'
    [ -s "$T/junit.xml" ] || fail "pytest wrote no results: $(tail -n 5 "$T/pytest.log")"
    # what failed and is not listed: once more, alone
    local again
    again=$("$PY" "$MD_TOOLS/pytest-report.py" --ids "$MD_REPO/tests/dockerpy-known.txt" "$T/junit.xml")
    if [ -n "$again" ]; then
        echo "# run again: $(wc -l <<<"$again") unexpected failures"
        # shellcheck disable=SC2046
        _dpy_pytest "$T/junit-again.xml" $(sed 's|^|tests/integration/|' <<<"$again")
    fi
    local rc=0
    "$PY" "$MD_TOOLS/pytest-report.py" "$MD_REPO/tests/dockerpy-known.txt" "$T/junit.xml" \
        ${again:+"$T/junit-again.xml"} >"$T/report" || rc=$?
    sed 's/^/# /' "$T/report"
    [ "$rc" = 0 ] || fail "docker-py: $(grep -c '^unexpected' "$T/report") unexpected failures: $(grep -m 3 '^unexpected' "$T/report" | cut -c1-160 | tr '\n' ' ')"
}
