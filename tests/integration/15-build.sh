# shellcheck shell=bash
# Images, part 6: `minidock build`.  Every Dockerfile instruction and what
# it leaves in the image (files, owners, modes, whiteouts, the config),
# multi-stage builds and --target, .dockerignore with exceptions, build
# arguments, the cache (a rebuild makes no image; a changed file
# invalidates from its COPY on), intermediate images hidden from `images`
# and removed with the image they led to, the context as a tar on stdin and
# a Dockerfile outside it; hostile contexts and Dockerfiles (paths and
# links out of the context, here-documents, a failing RUN).  The same
# Dockerfiles against podman's builder are in 16-build-podman.sh; through
# the Engine API, docker-py's build tests (51) and `docker build` (50).

# _build_ctx: a context in $T/ctx with files, a directory, an archive, a
# .dockerignore with an exception.
_build_ctx() {
    mkdir -p "$T/ctx/sub/deep" "$T/ctx/logs" "$T/arch/top"
    echo hello >"$T/ctx/a.txt"
    printf '#!/bin/sh\necho script\n' >"$T/ctx/run.sh"
    chmod 0750 "$T/ctx/run.sh"
    echo x >"$T/ctx/sub/x"
    echo deep >"$T/ctx/sub/deep/d"
    ln -s x "$T/ctx/sub/link"
    echo noise >"$T/ctx/logs/1.log"
    echo keep >"$T/ctx/logs/keep.log"
    echo secret >"$T/ctx/secret.key"
    echo inarch >"$T/arch/top/f"
    tar -czf "$T/ctx/arch.tar.gz" -C "$T/arch" top
    printf 'logs\n!logs/keep.log\n*.key\n' >"$T/ctx/.dockerignore"
}

test_build_instructions() {
    ctr_setup
    bb_user_image
    _build_ctx
    cat >"$T/ctx/Dockerfile" <<'EOF'
# escape=\
ARG BASE=bbu
FROM ${BASE} AS first
ARG WHO=nobody
ARG BASE
RUN echo "built by $WHO from $BASE" >/made && rm /seed/hello.txt
FROM $BASE
LABEL org.example.name="two words" other=x
ENV APP=/app \
    MODE=prod
WORKDIR $APP/work
COPY --from=first /made ./
COPY --chown=alice:staff --chmod=0640 a.txt sub/ /data/
COPY . /ctx/
ADD arch.tar.gz /opt/
ADD run.sh /usr/local/bin/
USER alice
EXPOSE 8080 53/udp
VOLUME ["/var/data"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=30s --retries=2 CMD ["true"]
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered >/tmp/onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat made"]
EOF
    md_ok build --network none --build-arg WHO=test -t built:1 "$T/ctx" >"$T/out"
    assert_contains "$(cat "$T/out")" "Step 1/22 : FROM \${BASE} AS first"
    assert_contains "$(cat "$T/out")" "Step 22/22 : CMD [\"cat made\"]"
    assert_contains "$(cat "$T/out")" "Successfully tagged built:1"
    assert_match "$(tail -n 2 "$T/out" | head -n 1)" '^Successfully built [0-9a-f]{12}$'
    # the config
    f='{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.Env}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}'
    assert_eq "$(md_ok image inspect -f "$f" built:1)" \
        'alice|/app/work|["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP=/app","MODE=prod"]|["/bin/sh","-c"]|["cat made"]'
    f='{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{json .Config.Labels}}|{{json .Config.OnBuild}}'
    assert_eq "$(md_ok image inspect -f "$f" built:1)" \
        '{"8080/tcp":{},"53/udp":{}}|{"/var/data":{}}|SIGUSR1|{"org.example.name":"two words","other":"x"}|["RUN echo triggered \u003e/tmp/onbuild"]'
    assert_eq "$(md_ok image inspect -f '{{json .Config.Healthcheck}}' built:1)" '{"Test":["CMD","true"],"Interval":30000000000,"Retries":2}'
    assert_eq "$(md_ok image inspect -f '{{json .Config.Shell}}' built:1)" '["/bin/sh","-ec"]'
    # the files, their owners and modes
    out=$(md_ok run --rm --network none -u 0 --entrypoint sh built:1 -c '
        cat /app/work/made; stat -c "%n %U %G %a" /data/a.txt /data/x /data/deep /data/deep/d /data/link
        readlink /data/link; cat /opt/top/f; stat -c "%a" /usr/local/bin/run.sh
        cd /ctx && find . | sort | tr "\n" " "; echo; ls /seed')
    assert_eq "$out" "built by test from bbu
/data/a.txt alice staff 640
/data/x alice staff 640
/data/deep alice staff 640
/data/deep/d alice staff 640
/data/link alice staff 777
x
inarch
750
. ./.dockerignore ./Dockerfile ./a.txt ./arch.tar.gz ./logs ./logs/keep.log ./run.sh ./sub ./sub/deep ./sub/deep/d ./sub/link ./sub/x 
hello.txt"
    # the default command, as the user
    assert_eq "$(md_ok run --rm --network none built:1)" "built by test from bbu"
    # the history: one line a step, empty layers marked
    assert_eq "$(md_ok history -q built:1 | wc -l)" "$(( $(md_ok history -q bbu | wc -l) + 17 ))"
    # ONBUILD: run by a build FROM it, then gone
    printf 'FROM built:1\n' >"$T/ctx/Dockerfile.child"
    md_ok build --network none -f "$T/ctx/Dockerfile.child" -t child:1 "$T/ctx" >"$T/out2"
    assert_contains "$(cat "$T/out2")" "# Executing 1 build trigger"
    assert_eq "$(md_ok run --rm --network none -u 0 child:1 'cat /tmp/onbuild')" triggered
    assert_eq "$(md_ok image inspect -f '{{json .Config.OnBuild}}' child:1)" null
    # --target: the first stage only
    md_ok build --network none --target first -q -t first:1 "$T/ctx" >"$T/q"
    assert_match "$(cat "$T/q")" '^sha256:[0-9a-f]{64}$'
    assert_eq "$(md_ok run --rm --network none first:1 cat /made)" "built by nobody from bbu"
    md_fail 1 build --network none --target nosuch "$T/ctx"
    assert_contains "$(md_stderr)" "failed to reach build target nosuch in Dockerfile"
    md_ok rmi child:1 built:1 first:1 >/dev/null
}

test_build_cache_and_intermediates() {
    ctr_setup
    bb_image
    _build_ctx
    printf 'FROM bb\nCOPY a.txt /a\nRUN cat /a >/b\nENV X=1\nCMD ["cat", "/b"]\n' >"$T/ctx/Dockerfile"
    md_ok build --network none -t c:1 "$T/ctx" >/dev/null
    id1=$(md_ok image inspect -f '{{.Id}}' c:1)
    n=$(md_ok images -aq | wc -l)
    md_ok build --network none -t c:1 "$T/ctx" >"$T/out"
    assert_eq "$(grep -c '^ ---> Using cache$' "$T/out")" 4 "a rebuild: every step from the cache"
    assert_eq "$(md_ok image inspect -f '{{.Id}}' c:1)" "$id1" "the same image"
    assert_eq "$(md_ok images -aq | wc -l)" "$n" "no new image"
    # a changed file: its COPY and what follows are done again
    echo changed >"$T/ctx/a.txt"
    md_ok build --network none -t c:1 "$T/ctx" >"$T/out"
    assert_eq "$(grep -c 'Using cache' "$T/out")" 0
    assert_eq "$(md_ok run --rm --network none c:1)" changed
    # an ignored file changing does not matter
    echo other >"$T/ctx/secret.key"
    md_ok build --network none -t c:1 "$T/ctx" >"$T/out"
    assert_eq "$(grep -c 'Using cache' "$T/out")" 4
    md_ok build --network none --no-cache -t c:2 "$T/ctx" >"$T/out"
    assert_eq "$(grep -c 'Using cache' "$T/out")" 0 "--no-cache"
    # a build argument RUN sees is part of its cache key
    printf 'FROM bb\nARG V=1\nRUN echo $V >/v\n' >"$T/ctx/Dockerfile.arg"
    md_ok build --network none -f "$T/ctx/Dockerfile.arg" -t v:1 "$T/ctx" >/dev/null
    md_ok build --network none -f "$T/ctx/Dockerfile.arg" --build-arg V=2 -t v:2 "$T/ctx" >"$T/out"
    assert_contains "$(cat "$T/out")" "Running in"
    assert_eq "$(md_ok run --rm --network none v:2 cat /v)" 2
    md_ok build --network none -f "$T/ctx/Dockerfile.arg" --build-arg UNUSED=1 -t v:1 "$T/ctx" >"$T/out"
    assert_contains "$(cat "$T/out")" "[Warning] One or more build-args [UNUSED] were not consumed"
    # --cache-from: only those images' chains are the cache (none here)
    md_ok build --network none --cache-from nosuch:1 --iidfile "$T/iid" -t c:3 "$T/ctx" >"$T/out"
    assert_eq "$(grep -c 'Using cache' "$T/out")" 0 "--cache-from an image that is not there"
    assert_eq "$(cat "$T/iid")" "$(md_ok image inspect -f '{{.Id}}' c:3)" "--iidfile"
    md_ok build --network none --cache-from c:3 -t c:3 "$T/ctx" >"$T/out"
    assert_eq "$(grep -c 'Using cache' "$T/out")" 4 "--cache-from the image itself"
    md_ok rmi c:3 >/dev/null
    # a source that is a link: its target's contents, under the link's name
    ln -s a.txt "$T/ctx/alink"
    printf 'FROM bb\nCOPY alink /d/\n' >"$T/ctx/Dockerfile.l"
    md_ok build --network none -f "$T/ctx/Dockerfile.l" -t l:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok run --rm --network none l:1 sh -c 'test -L /d/alink || cat /d/alink')" changed
    md_ok rmi l:1 >/dev/null
    rm "$T/ctx/alink"
    # RUN's hosts and limits
    printf 'FROM bb\nRUN grep x.test /etc/hosts >/h\n' >"$T/ctx/Dockerfile.h"
    md_ok build --network none -f "$T/ctx/Dockerfile.h" --add-host x.test:10.1.2.3 -m 64m --cpu-shares 512 -t h:1 "$T/ctx" >/dev/null
    assert_match "$(md_ok run --rm --network none h:1 cat /h)" '^10\.1\.2\.3[[:space:]]+x\.test$'
    md_fail 125 build --network none -m lots "$T/ctx"
    md_ok rmi h:1 >/dev/null
    # intermediate images: only with -a; removed with the image they led to
    assert_eq "$(md_ok images --format '{{.Repository}}' | sort | tr '\n' ' ')" "<none> bb c c v v " "images"
    md_ok rmi c:1 c:2 v:1 v:2 >/dev/null
    md_ok image prune -f >/dev/null
    assert_eq "$(md_ok images -aq | wc -l)" 1 "only bb once the built images are gone"
    assert_eq "$(md_ok ps -aq)" "" "no build container left"
}

test_build_context_on_stdin_and_dockerfile_outside() {
    ctr_setup
    bb_image
    _build_ctx
    mkdir -p "$T/elsewhere"
    printf 'FROM bb\nCOPY . /c/\nCMD ["ls", "-A", "/c"]\n' >"$T/elsewhere/Dockerfile"
    md_ok build --network none -f "$T/elsewhere/Dockerfile" -t o:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok run --rm --network none o:1 | tr '\n' ' ')" ".dockerignore a.txt arch.tar.gz logs run.sh sub "
    # a tar on stdin, with its Dockerfile inside; -f names one in the tar
    cp "$T/elsewhere/Dockerfile" "$T/ctx/Other.df"
    tar -C "$T/ctx" -cf - . | md_ok build --network none -f Other.df -t s:1 - >/dev/null
    assert_eq "$(md_ok run --rm --network none s:1 | tr '\n' ' ')" ".dockerignore Other.df a.txt arch.tar.gz logs run.sh sub "
    # the Dockerfile on stdin, the context a directory
    printf 'FROM bb\nCMD ["echo", "from stdin"]\n' | md_ok build --network none -f - -t i:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok run --rm --network none i:1)" "from stdin"
    md_fail 1 build --network none -f Nope "$T/ctx"
    md_ok rmi o:1 s:1 i:1 >/dev/null
}

test_build_whiteouts_and_scratch() {
    ctr_setup
    bb_image
    mkdir -p "$T/ctx"
    printf 'FROM bb\nRUN rm -r /bin/ls /usr/sbin && mkdir /usr/sbin && echo new >/usr/sbin/only\n' >"$T/ctx/Dockerfile"
    md_ok build --network none -t w:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok run --rm --network none w:1 sh -c 'ls /usr/sbin; test -e /bin/ls || echo gone')" "only
gone"
    # the layer holds the deletions as whiteouts, the new /etc as opaque
    md_ok save -o "$T/w.tar" w:1
    mkdir "$T/w" && tar -C "$T/w" -xf "$T/w.tar"
    top=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][-1])' "$T/w/manifest.json")
    assert_eq "$(tar -tf "$T/w/$top" | sort | tr '\n' ' ')" "bin/ bin/.wh.ls usr/ usr/sbin/ usr/sbin/.wh..wh..opq usr/sbin/only "
    # FROM scratch: files copied, nothing else
    cp "$(command -v busybox)" "$T/ctx/busybox" 2>/dev/null || skip "no static busybox on the host"
    file -L "$T/ctx/busybox" | grep -q 'statically linked' || skip "the host's busybox is not static"
    printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "mkdir", "/made"]\nCMD ["/bin/busybox", "ls", "/"]\n' >"$T/ctx/Dockerfile"
    md_ok build --network none -t sc:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok run --rm --network none sc:1 | tr '\n' ' ')" "bin dev etc made proc sys "
    assert_eq "$(md_ok image inspect -f '{{len .RootFS.Layers}}' sc:1)" 2
    md_ok rmi w:1 sc:1 >/dev/null
}

test_build_hostile() {
    ctr_setup
    bb_image
    mkdir -p "$T/ctx/d" "$T/outside"
    echo secret >"$T/outside/secret"
    ln -s ../../outside/secret "$T/ctx/d/up"
    ln -s /etc/passwd "$T/ctx/abs"
    echo ok >"$T/ctx/ok"
    # paths and links out of the context
    for src in ../outside/secret d/../../outside/secret d/up; do
        printf 'FROM bb\nCOPY %s /x\n' "$src" >"$T/ctx/Dockerfile"
        md_fail 1 build --network none "$T/ctx"
        assert_contains "$(md_stderr)" "forbidden path outside the build context"
        assert_one_line_error
    done
    # an absolute link is the context's own path (as Docker: scoped)
    printf 'FROM bb\nCOPY abs /x\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none "$T/ctx"
    assert_contains "$(md_stderr)" "file not found in build context"
    # a bad tag, before any work
    printf 'FROM bb\nRUN touch /x\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none -t Bad:Name "$T/ctx"
    assert_contains "$(md_stderr)" 'invalid argument "Bad:Name" for "-t, --tag" flag'
    assert_eq "$(md_ok ps -aq)" "" "no RUN before the tag was checked"
    # Dockerfiles refused with the line
    printf 'FROM bb\nRUN <<EOF\necho hi\nEOF\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none "$T/ctx"
    assert_contains "$(md_stderr)" "line 2: here-documents"
    printf 'FROM bb\nFROBNICATE x\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none "$T/ctx"
    assert_contains "$(md_stderr)" "line 2: unknown instruction: FROBNICATE"
    printf 'FROM bb\nADD http://example.invalid/x /x\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none "$T/ctx"
    assert_contains "$(md_stderr)" "fetches nothing from the network"
    printf 'FROM bb\nCOPY a b c\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none "$T/ctx"
    printf 'FROM bb\nRUN --mount=type=cache,target=/x true\n' >"$T/ctx/Dockerfile"
    md_fail 1 build --network none "$T/ctx"
    assert_contains "$(md_stderr)" "unknown flag for RUN: --mount"
    # a failing RUN: Docker's message and exit code, no image, its
    # container kept
    printf 'FROM bb\nRUN echo out; exit 7\n' >"$T/ctx/Dockerfile"
    md_fail 7 build --network none -t bad:1 "$T/ctx"
    assert_contains "$(md_stderr)" "The command '/bin/sh -c echo out; exit 7' returned a non-zero code: 7"
    md_fail 1 image inspect bad:1
    assert_eq "$(md_ok ps -aq | wc -l)" 1 "the failed RUN's container"
    md_ok rm "$(md_ok ps -aq)" >/dev/null
    md_fail 7 build --network none --force-rm -t bad:1 "$T/ctx"
    assert_eq "$(md_ok ps -aq)" "" "--force-rm"
    # hostile context tars on stdin: refused as a layer would be, nothing
    # written outside the build's own directory
    "$PY" - "$T" <<'PYEOF2'
import io, sys, tarfile
def mk(name, entries):
    with tarfile.open(f"{sys.argv[1]}/{name}.tar", "w") as t:
        df = b"FROM bb\nCOPY . /c\n"
        i = tarfile.TarInfo("Dockerfile"); i.size = len(df); t.addfile(i, io.BytesIO(df))
        for n, kind, arg in entries:
            i = tarfile.TarInfo(n)
            if kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, arg
                t.addfile(i)
            elif kind == "hard":
                i.type, i.linkname = tarfile.LNKTYPE, arg
                t.addfile(i)
            else:
                i.size = len(arg); t.addfile(i, io.BytesIO(arg))
mk("dotdot", [("../escaped", "file", b"x")])
mk("abs", [("/tmp/escaped-abs", "file", b"x")])
mk("via-symlink", [("l", "sym", "/tmp"), ("l/escaped-sym", "file", b"x")])
mk("hardlink-out", [("h", "hard", "../../etc/passwd")])
PYEOF2
    for f in dotdot abs via-symlink hardlink-out; do
        md_fail 1 build --network none - <"$T/$f.tar"
        assert_one_line_error
    done
    assert_no_file "$T/escaped"
    assert_no_file /tmp/escaped-abs
    assert_no_file /tmp/escaped-sym
    assert_eq "$(md_ok images -aq | wc -l)" 1 "only bb"
}

# A RUN in an image for another architecture: the kernel runs its binaries
# through qemu-user (a binfmt_misc entry this test makes and removes).
# qemu-user-static comes with the boards' packages (as for 90-boards.sh).
# timeout: 900
test_build_cross_platform_run() {
    ctr_setup
    command -v qemu-aarch64-static >/dev/null || bash "$MD_REPO/mk/setup.sh" boards >&2
    require_cmd qemu-aarch64-static
    # shellcheck disable=SC1091
    . "$MD_REPO/tests/boards/lib.sh"
    bash "$MD_REPO/mk/cross.sh" fetch arm64 "$T/bb" busybox-static >"$T/fetch.log" 2>&1 ||
        skip "no arm64 busybox-static from apt: $(tail -n 1 "$T/fetch.log")"
    mkdir -p "$T/ctx"
    cp "$T/bb/bin/busybox" "$T/ctx/busybox"
    entry=$(board_binfmt openwrt-aarch64) || skip "binfmt_misc is not usable here"
    trap 'board_binfmt_off "$entry"; ctr_teardown' EXIT
    printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m >/arch"]\nCMD ["/bin/busybox", "cat", "/arch"]\n' >"$T/ctx/Dockerfile"
    md_ok build --network none --platform linux/arm64 -t arm:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok image inspect -f '{{.Os}}/{{.Architecture}}' arm:1)" linux/arm64
    assert_eq "$(md_ok run --rm --network none arm:1)" aarch64 "what RUN saw"
    md_ok rmi arm:1 >/dev/null
}

# A build killed (SIGKILL) at moments spread over its steps: the store
# passes `system check` as it is, nothing stays mounted, and the build run
# again completes (from the cache for what was committed).
# timeout: 600
test_build_killed() {
    ctr_setup
    bb_image
    mkdir -p "$T/ctx/tree"
    for i in $(seq 1 200); do head -c 4096 /dev/urandom >"$T/ctx/tree/f$i"; done
    printf 'FROM bb\nCOPY tree /tree\nRUN cp -r /tree /tree2 && sleep 0.3\nWORKDIR /new/dir\nCOPY tree /tree3\nENV X=1\n' >"$T/ctx/Dockerfile"
    for delay in 0.05 0.15 0.3 0.5 0.8 1.2; do
        "$MINIDOCK" build --network none -t k:1 "$T/ctx" >/dev/null 2>&1 &
        sleep "$delay"
        kill -KILL $! 2>/dev/null || true
        wait $! 2>/dev/null || true
        # what it started (a RUN's container) finishes on its own; its
        # monitor's last steps (the exit's record and events) may still run
        # when ps no longer lists it: the check is clean within seconds
        wait_until 30 "no build process left" _no_build_children
        local ok=0 i
        for i in $(seq 1 50); do
            if "$MINIDOCK" system check >"$T/check.out" 2>&1; then ok=1; break; fi
            sleep 0.2
        done
        [ "$ok" = 1 ] || fail "system check after a build killed at ${delay}s: $(grep -v '^note' "$T/check.out" | head -n 3)"
        ! grep -q "$MINIDOCK_ROOT" /proc/self/mountinfo || fail "mounts left after a kill at ${delay}s"
    done
    md_ok build --network none -t k:1 "$T/ctx" >/dev/null
    assert_eq "$(md_ok run --rm --network none k:1 sh -c 'ls /tree2 | wc -l; ls /tree3 | wc -l; pwd')" "200
200
/new/dir"
    # the killed RUNs' containers are kept, as after a failed RUN
    for c in $(md_ok ps -aq); do md_ok rm -f "$c" >/dev/null; done
    md_ok rmi k:1 >/dev/null
    md_ok image prune -f >/dev/null
    assert_eq "$(md_ok images -aq | wc -l)" 1 "only bb after the cleanup"
}

# _no_build_children: no process of this test's build runs (the overlay
# child of a COPY, a RUN's monitor).
_no_build_children() {
    [ -z "$("$MINIDOCK" ps -q)" ] && ! pgrep -f "build --network none -t k:1 $T/ctx" >/dev/null
}

# The store on overlayfs (OpenWrt's root is one): the steps' upper
# directories, RUN's too, go to a tmpfs of the build's own mount namespace;
# the image is whole and nothing stays mounted.
test_build_store_on_overlayfs() {
    ctr_setup
    fixtures
    mkdir -p "$T/ovl/lower" "$T/ovl/upper" "$T/ovl/work" "$T/ovl/merged" "$T/ctx"
    mount -t overlay overlay -o "lowerdir=$T/ovl/lower,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$T/ovl/merged" ||
        skip "cannot mount an overlayfs here"
    CLEAN_MOUNTS_OK="$T/ovl/merged"
    export MINIDOCK_ROOT=$T/ovl/merged/root
    md_ok import "$FIX/busybox-rootfs.tar" bb >/dev/null
    echo hi >"$T/ctx/a"
    # (no deletion: a layer's whiteouts cannot be stored on overlayfs, for
    # pulled and loaded images alike; see the README)
    printf 'FROM bb\nCOPY a /a\nWORKDIR /w\nRUN echo run >r && echo more >>/a\nCMD ["sh", "-c", "cat /a /w/r"]\n' >"$T/ctx/Dockerfile"
    md_ok build --network none -t o:1 "$T/ctx" >"$T/out"
    assert_contains "$(cat "$T/out")" "the steps' changes are made in a tmpfs"
    assert_eq "$(md_ok run --rm --network none o:1 2>/dev/null)" "hi
more
run"
    md_ok system check >/dev/null
    assert_eq "$(grep -c "$T/ovl/merged/root" /proc/self/mountinfo)" 0 "mounts left"
    md_ok rmi o:1 >/dev/null
}
