# shellcheck shell=bash
# Containers, part 5: what containers keep and share.  Bind mounts (-v and
# --mount, ro and rw), named and anonymous volumes and the volume commands,
# cp in both directions, export (and import of the export), the root
# filesystem when the data root is on overlayfs (the fallbacks), and an
# image of 150 layers (and of 200 under a long store path).

test_bind_mounts() {
    ctr_setup
    bb_image
    mkdir "$T/rw" "$T/ro"
    echo from-host >"$T/rw/h"
    echo file >"$T/single"
    out=$(md_ok run --rm --network none -v "$T/rw:/rw" -v "$T/ro:/ro:ro" -v "$T/single:/etc/single:ro" bb sh -c '
        cat /rw/h; echo from-ctr >/rw/c; (touch /ro/x) 2>&1; cat /etc/single; (echo x >/etc/single) 2>&1; true')
    assert_contains "$out" from-host
    assert_eq "$(cat "$T/rw/c")" from-ctr
    assert_eq "$(grep -c 'Read-only file system' <<<"$out")" 2 "refused writes: $out"
    assert_no_file "$T/ro/x"
    assert_contains "$out" file
    # --mount type=bind, with readonly and with bind-propagation accepted
    out=$(md_ok run --rm --network none --mount "type=bind,source=$T/rw,target=/m,readonly" \
        --mount "type=bind,src=$T/ro,dst=/m2" bb sh -c '(touch /m/x) 2>&1; touch /m2/y && echo wrote; true')
    assert_contains "$out" "Read-only file system"
    assert_contains "$out" wrote
    assert_file "$T/ro/y"
    # -v with a missing host path creates it (as Docker does); --mount does not
    md_ok run --rm --network none -v "$T/made/by/v:/x" bb true
    [ -d "$T/made/by/v" ] || fail "-v did not create the missing host directory"
    md_fail 125 run --rm --network none --mount "type=bind,source=$T/missing,target=/x" bb true
    assert_one_line_error
    assert_no_file "$T/missing"
    # binds go with the container, the host's data stays
    id=$(md_ok run -d --network none -v "$T/rw:/rw" bb sleep 30)
    assert_eq "$(md_ok inspect -f '{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}}{{end}}' "$id")" \
        "bind $T/rw /rw true"
    md_ok rm -f "$id" >/dev/null
    assert_eq "$(cat "$T/rw/h")" from-host
    assert_clean
}

test_named_volumes() {
    ctr_setup
    bb_user_image
    assert_eq "$(md_ok volume create --label team=a v1)" v1
    mp=$(md_ok volume inspect -f '{{.Mountpoint}}' v1)
    assert_eq "$mp" "$MINIDOCK_ROOT/volumes/v1/_data"
    [ -d "$mp" ] || fail "no volume dir $mp"
    md_ok volume inspect v1 >"$T/v.json"
    jq -e '.[0] | .Name == "v1" and .Driver == "local" and .Labels.team == "a" and .Scope == "local"' \
        "$T/v.json" >/dev/null || fail "volume inspect: $(cat "$T/v.json")"
    # data written by one container is read by the next
    md_ok run --rm --network none -v v1:/data bbu sh -c 'echo kept >/data/f'
    assert_eq "$(md_ok run --rm --network none -v v1:/other bbu cat /other/f)" kept
    assert_eq "$(cat "$mp/f")" kept
    # -v NAME:PATH creates the volume; --mount type=volume too
    md_ok run --rm --network none -v auto1:/a --mount type=volume,source=auto2,target=/b bbu sh -c 'touch /a/x /b/y'
    assert_eq "$(md_ok volume ls -q | sort | tr '\n' ' ')" "auto1 auto2 v1 "
    out=$(md_ok volume ls)
    assert_match "$(head -n 1 <<<"$out")" '^DRIVER +VOLUME NAME$'
    assert_match "$out" $'\nlocal +v1'
    assert_eq "$(md_ok volume ls --format '{{.Name}}:{{.Driver}}' | sort | tr '\n' ' ')" "auto1:local auto2:local v1:local "
    # an empty volume mounted over image content gets a copy of it, owners
    # included; a bind mount does not
    out=$(md_ok run --rm --network none -v seeded:/seed bbu sh -c 'cat /seed/hello.txt; stat -c %u:%g /seed /seed/hello.txt')
    assert_eq "$out" $'seed\n1000:1000\n1000:1000'
    mkdir "$T/empty"
    assert_eq "$(md_ok run --rm --network none -v "$T/empty:/seed" bbu ls -A /seed)" ""
    # read-only volume
    out=$(md_ok run --rm --network none -v v1:/data:ro bbu sh -c '(touch /data/x) 2>&1; true')
    assert_contains "$out" "Read-only file system"
    # in use: no rm; not in use: rm removes the data
    id=$(md_ok run -d --network none -v v1:/data bbu sleep 30)
    md_fail any volume rm v1
    assert_one_line_error
    assert_eq "$(md_ok inspect -f '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}' "$id")" "volume v1 /data"
    md_ok rm -f "$id" >/dev/null
    md_ok volume rm v1 >/dev/null
    assert_no_file "$MINIDOCK_ROOT/volumes/v1"
    md_fail any volume rm v1
    assert_one_line_error
    md_fail any volume create 'bad/name'
    assert_one_line_error
    md_ok volume rm auto1 auto2 seeded >/dev/null
    assert_eq "$(md_ok volume ls -q)" ""
    assert_clean
}

# volume ls filters as Docker's: dangling, name (substring), label, driver.
test_volume_ls_filters() {
    ctr_setup
    bb_image
    md_ok volume create --label env=prod alpha >/dev/null
    md_ok volume create --label env=dev beta >/dev/null
    md_ok volume create alphabet >/dev/null
    id=$(md_ok run -d --network none -v beta:/b bb sleep 30)
    assert_eq "$(md_ok volume ls -q --filter dangling=true | sort | tr '\n' ' ')" "alpha alphabet "
    assert_eq "$(md_ok volume ls -q --filter dangling=false)" beta
    assert_eq "$(md_ok volume ls -q --filter name=alpha | sort | tr '\n' ' ')" "alpha alphabet "
    assert_eq "$(md_ok volume ls -q --filter label=env=prod)" alpha
    assert_eq "$(md_ok volume ls -q --filter label=env | sort | tr '\n' ' ')" "alpha beta "
    assert_eq "$(md_ok volume ls -q --filter driver=local | wc -l)" 3
    md_fail 125 volume ls --filter bogus=1
    assert_one_line_error
    md_ok rm -f "$id" >/dev/null
    md_ok volume rm alpha beta alphabet >/dev/null
    assert_clean
}

test_anonymous_volumes_and_prune() {
    ctr_setup
    bb_image
    # -v /path: an anonymous volume, removed by rm -v and by --rm
    id=$(md_ok run -d --network none -v /anon bb sh -c 'echo x >/anon/f; sleep 30')
    anon=$(md_ok inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
    assert_match "$anon" '^[0-9a-f]{64}$'
    md_ok rm -f -v "$id" >/dev/null
    assert_no_file "$MINIDOCK_ROOT/volumes/$anon"
    md_ok run --rm --network none -v /anon2 bb touch /anon2/f
    assert_eq "$(md_ok volume ls -q)" "" "anonymous volume of a --rm container"
    # rm without -v keeps it (dangling)
    id=$(md_ok run -d --network none -v /anon3 bb true)
    anon3=$(md_ok inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
    md_ok wait "$id" >/dev/null
    md_ok rm "$id" >/dev/null
    assert_eq "$(md_ok volume ls -q)" "$anon3"
    assert_eq "$(md_ok volume ls -q --filter dangling=true)" "$anon3"
    # prune: unused anonymous volumes; with -a unused named ones too; never
    # one in use
    md_ok volume create named-unused >/dev/null
    md_ok volume create named-used >/dev/null
    user=$(md_ok run -d --network none -v named-used:/u bb sleep 30)
    out=$(md_ok volume prune -f)
    assert_contains "$out" "$anon3"
    assert_match "$out" 'Total reclaimed space: '
    assert_eq "$(md_ok volume ls -q | sort | tr '\n' ' ')" "named-unused named-used "
    md_ok volume prune -a -f >/dev/null
    assert_eq "$(md_ok volume ls -q)" named-used
    md_ok rm -f "$user" >/dev/null
    md_ok volume rm named-used >/dev/null
    assert_eq "$(find "$MINIDOCK_ROOT/volumes" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)" "" "volume dirs left"
    assert_clean
}

test_cp_both_directions() {
    ctr_setup
    bb_user_image
    id=$(md_ok run -d --network none --name cpc -v cpvol:/vol bbu sleep 60)
    mkdir -p "$T/src/sub"
    echo one >"$T/src/one"
    echo two >"$T/src/sub/two"
    ln -s one "$T/src/link"
    chown 1234:5678 "$T/src/one"
    # host -> container: a file, a directory (new name and into a dir)
    md_ok cp "$T/src/one" cpc:/tmp/one-copy
    assert_eq "$(md_ok exec cpc cat /tmp/one-copy)" one
    md_ok cp "$T/src" cpc:/newdir
    assert_eq "$(md_ok exec cpc cat /newdir/sub/two)" two
    assert_eq "$(md_ok exec cpc readlink /newdir/link)" one
    md_ok cp "$T/src" cpc:/tmp
    assert_eq "$(md_ok exec cpc cat /tmp/src/sub/two)" two
    # ownership: the container's root without -a, kept with -a
    assert_eq "$(md_ok exec cpc stat -c %u:%g /tmp/one-copy)" 0:0
    md_ok cp -a "$T/src/one" cpc:/tmp/one-a
    assert_eq "$(md_ok exec cpc stat -c %u:%g /tmp/one-a)" 1234:5678
    # into a volume mounted in the container
    md_ok cp "$T/src/one" cpc:/vol/in-volume
    assert_eq "$(cat "$(md_ok volume inspect -f '{{.Mountpoint}}' cpvol)/in-volume")" one
    # container -> host
    md_ok exec cpc sh -c 'mkdir -p /out/d && echo made >/out/d/f && chown 1000:1000 /out/d/f'
    md_ok cp cpc:/out/d/f "$T/f-copy"
    assert_eq "$(cat "$T/f-copy")" made
    md_ok cp cpc:/out "$T/out-copy"
    assert_eq "$(cat "$T/out-copy/d/f")" made
    md_ok cp cpc:/seed/hello.txt "$T/"
    assert_eq "$(cat "$T/hello.txt")" seed
    # tar streams both ways
    md_ok cp cpc:/out - >"$T/out.tar"
    assert_eq "$(tar -tf "$T/out.tar" | sort | tr '\n' ' ')" "out/ out/d/ out/d/f "
    tar -C "$T/src" -cf - sub | md_ok cp - cpc:/tmp
    assert_eq "$(md_ok exec cpc cat /tmp/sub/two)" two
    # a stopped container too
    md_ok stop -t 0 cpc >/dev/null
    md_ok cp "$T/src/one" cpc:/stopped-copy
    md_ok cp cpc:/stopped-copy "$T/back"
    assert_eq "$(cat "$T/back")" one
    md_ok start cpc >/dev/null
    assert_eq "$(md_ok exec cpc cat /stopped-copy)" one
    # errors
    md_fail any cp cpc:/no/such/file "$T/x"
    assert_one_line_error
    md_fail any cp "$T/no-such-file" cpc:/x
    assert_one_line_error
    md_fail any cp "$T/src/one" no-such-container:/x
    assert_one_line_error
    # a path that leaves the container through a symlink stays inside
    md_ok exec cpc ln -s /../../../../.. /escape
    md_ok cp "$T/src/one" cpc:/escape/tmp/escaped
    assert_no_file /tmp/escaped
    assert_eq "$(md_ok exec cpc cat /tmp/escaped)" one
    md_ok rm -f -v cpc >/dev/null
    md_ok volume rm cpvol >/dev/null
    assert_clean
}

# cp to or from a directory that does not exist: one error line and exit
# 1, in both directions and with tar on stdin or stdout.  The side that
# still writes (more than a pipe holds) used to die of SIGPIPE (exit 141)
# after the other side had printed its error.
test_cp_missing_directory() {
    ctr_setup
    bb_image
    md_ok run -d --network none --name cpm bb sleep 60 >/dev/null
    mkdir -p "$T/src/sub"
    head -c 1048576 /dev/urandom >"$T/src/big"
    echo small >"$T/src/sub/small"
    local src
    for src in "$T/src/big" "$T/src" "$T/src/sub/small"; do
        md_fail 1 cp "$src" cpm:/no/such/dir/x
        assert_one_line_error
        assert_contains "$(md_stderr)" /no/such/dir
    done
    tar -C "$T/src" -cf "$T/src.tar" .
    md_fail 1 cp - cpm:/no/such/dir <"$T/src.tar"
    assert_one_line_error
    # the other direction
    md_fail 1 cp cpm:/bin/busybox "$T/no/such/dir/x"
    assert_one_line_error
    assert_contains "$(md_stderr)" "$T/no/such/dir"
    md_fail 1 cp cpm:/no/such/file - >"$T/out.tar"
    assert_one_line_error
    assert_eq "$(stat -c %s "$T/out.tar")" 0
    # and the working case still copies all of it
    md_ok cp "$T/src/big" cpm:/big
    md_ok cp cpm:/big "$T/big-back"
    cmp "$T/src/big" "$T/big-back" || fail "big file changed in the round trip"
    md_ok rm -f cpm >/dev/null
    assert_clean
}

# export a container's filesystem, import it as an image, and run it: the
# users the first container added work in the second.
test_export_import() {
    ctr_setup
    bb_image
    md_ok run --network none --name base bb sh -c '
        mkdir -p /etc /home/carol /tmp && chmod 1777 /tmp
        echo "root:x:0:0:root:/root:/bin/sh" >/etc/passwd
        echo "carol:x:2000:2000::/home/carol:/bin/sh" >>/etc/passwd
        printf "root:x:0:\ncarol:x:2000:\nops:x:3000:carol\n" >/etc/group
        chown 2000:2000 /home/carol; echo exported >/marker'
    md_ok export -o "$T/base.tar" base
    list=$(tar -tvf "$T/base.tar")
    for f in etc/passwd etc/group marker bin/busybox home/carol/; do
        grep -qE " \.?/?$f\$" <<<"$list" || fail "export has no $f"
    done
    assert_match "$(grep -E ' \.?/?home/carol/$' <<<"$list")" ' 2000/2000 '
    # stdout gives the same content
    md_ok export base >"$T/base2.tar"
    assert_eq "$(tar -tf "$T/base2.tar" | sort | sha256sum)" "$(tar -tf "$T/base.tar" | sort | sha256sum)"
    # nothing of /proc, /sys or /dev's mounts in it
    n=$(tar -tf "$T/base.tar" | grep -cE '^\.?/?(proc|sys|dev)/.' || true)
    assert_eq "$n" 0 "entries below /proc, /sys, /dev"
    md_ok import "$T/base.tar" derived >/dev/null
    assert_eq "$(md_ok run --rm --network none -u carol derived sh -c 'id -u; id -G; cat /marker; pwd' | tr '\n' ' ')" \
        "2000 2000 3000 exported / "
    # a running container can be exported too
    id=$(md_ok run -d --network none bb sh -c 'echo live >/live; sleep 30')
    wait_until 10 "the container wrote /live" md exec "$id" test -e /live
    md_ok export "$id" >"$T/live.tar"
    tar -tf "$T/live.tar" | grep -E '^\.?/?live$' >/dev/null || fail "export of a running container lacks /live"
    md_fail any export no-such-container
    assert_one_line_error
    md_ok rm -f base "$id" >/dev/null
    assert_clean
}

# The data root on overlayfs (OpenWrt's root is one): an overlay upper dir
# cannot live there.  run must say which fallback it takes and work.
test_overlay_fallback() {
    ctr_setup
    fixtures
    mkdir -p "$T/ovl/lower" "$T/ovl/upper" "$T/ovl/work" "$T/ovl/merged"
    mount -t overlay overlay -o "lowerdir=$T/ovl/lower,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$T/ovl/merged" ||
        skip "cannot mount an overlayfs here"
    CLEAN_MOUNTS_OK="$T/ovl/merged"
    export MINIDOCK_ROOT=$T/ovl/merged/root
    md_ok import "$FIX/busybox-rootfs.tar" bb >/dev/null
    # default: a tmpfs upper layer, said on stderr
    out=$(md_ok run --rm --network none bb sh -c 'echo hi >/x && cat /x')
    assert_eq "$out" hi
    assert_contains "$(md_stderr)" tmpfs
    assert_not_contains "$(md_stderr)" "nvalid argument"
    # copy: a copied root filesystem, said on stderr
    out=$(MINIDOCK_OVERLAY_FALLBACK=copy md_ok run --network none --name cp1 bb \
        sh -c 'if [ -e /x ]; then cat /x; else echo kept >/x && echo first; fi')
    assert_eq "$out" first
    assert_contains "$(md_stderr)" cop
    assert_not_contains "$(md_stderr)" "nvalid argument"
    # the copy is the container's: its changes survive a restart, also when
    # the later start has another MINIDOCK_OVERLAY_FALLBACK (or none)
    assert_eq "$(MINIDOCK_OVERLAY_FALLBACK=copy md_ok start -a cp1)" kept "second start, copy"
    assert_eq "$(md_ok start -a cp1)" kept "third start, default fallback"
    md_ok rm cp1 >/dev/null
    # no fallback wanted: a one-line error that says what to do, and exit 125
    MINIDOCK_OVERLAY_FALLBACK=none md_fail 125 run --rm --network none bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" MINIDOCK_OVERLAY_FALLBACK
    # with -d, exec, stop and rm as usual
    id=$(md_ok run -d --network none bb sleep 30)
    assert_eq "$(md_ok exec "$id" echo in)" in
    md_ok rm -f "$id" >/dev/null
    assert_ctr_gone "$id"
    assert_clean
    umount "$T/ovl/merged"
}

# An image of 150 layers (beyond what fits in one page of overlay mount
# options with full paths) still runs, and sees its bottom and top layers.
# timeout: 120
test_many_layers() {
    ctr_setup
    fixtures
    "$PY" - "$FIX/busybox-rootfs.tar" "$T/layout" 150 <<'PYEOF'
import hashlib, io, json, os, shutil, sys, tarfile
base, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out + "/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(f"{out}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
def add(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1577836800
    t.addfile(ti, io.BytesIO(data))
layers = []
for i in range(1, n + 1):
    buf = io.BytesIO()
    if i == 1:
        buf.write(open(base, "rb").read())
        buf.seek(0)
        with tarfile.open(fileobj=buf, mode="a") as t:
            add(t, "bottom.txt", b"bottom\n")
    else:
        with tarfile.open(fileobj=buf, mode="w") as t:
            add(t, f"layers/{i}", b"%d\n" % i)
            add(t, "counter", b"%d\n" % i)
            if i == n:
                add(t, "top.txt", b"top\n")
    layers.append(blob(buf.getvalue()))
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]},
          "history": [{"created_by": f"layer {i}"} for i in range(n)]}
cd, cs = blob(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s}
                       for d, s in layers]}
md, ms = blob(json.dumps(manifest).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "many:150"}}]},
          open(out + "/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
PYEOF
    tar -C "$T/layout" -cf "$T/many.tar" .
    md_ok load -i "$T/many.tar" >/dev/null
    assert_eq "$(md_ok image inspect -f '{{len .RootFS.Layers}}' many:150)" 150
    out=$(md_ok run --rm --network none many:150 sh -c 'cat /bottom.txt /layers/2 /layers/75 /top.txt /counter; ls /layers | wc -l')
    assert_eq "$(tr '\n' ' ' <<<"$out")" "bottom 2 75 top 150 149 "
    # and writes work on top of them
    assert_eq "$(md_ok run --rm --network none many:150 sh -c 'echo w >/layers/3 && cat /layers/3')" w
    assert_clean
}

# The same page limit met through a long store path: 200 layers (the most
# an image may have) with a store path of over 450 bytes do not fit one
# overlay mount's options; run says so (and how much it needed), rather
# than losing the container's report in a broken pipe.
test_many_layers_long_store_path() {
    ctr_setup
    fixtures
    d=$(printf '%0120d' 0)
    export MINIDOCK_ROOT=$T/$d/$d/$d/$d/root
    mkdir -p "$MINIDOCK_ROOT"
    "$PY" "$MD_TOOLS/mklayers.py" docker "$T/many.tar" 200 --base "$FIX/busybox-rootfs.tar" --tag many:200
    md_ok load -i "$T/many.tar" >/dev/null
    md_fail 125 run --rm --network none many:200 true
    assert_one_line_error
    assert_match "$(md_stderr)" "needs 4[0-9]{3} bytes of options, more than a page \(4096\): a shorter store path"
    assert_clean
}

# Bind propagation (-v SRC:DST:rshared, --mount bind-propagation=, the
# API's BindOptions.Propagation): on a shared host mount, rshared carries
# mounts both ways, rslave from the host in only, the default (rprivate)
# neither; inspect shows it. Propagation on a volume, or an unknown one,
# is refused.
test_bind_propagation() {
    ctr_setup
    bb_image
    mkdir -p "$T/shared/in" "$T/shared/out"
    mount --bind "$T/shared" "$T/shared"
    mount --make-shared "$T/shared"
    # rshared: the container's mount shows on the host
    md_ok run --rm --privileged --network none -v "$T/shared:/s:rshared" bb sh -c \
        'mount -t tmpfs ctr /s/out && echo from-ctr >/s/out/f'
    assert_eq "$(cat "$T/shared/out/f")" from-ctr "a mount made in an rshared bind, seen from the host"
    umount "$T/shared/out"
    # rslave (--mount): the host's mount shows in the container, not the other way
    id=$(md_ok run -d --privileged --network none --mount "type=bind,src=$T/shared,dst=/s,bind-propagation=rslave" bb sleep 30)
    mount -t tmpfs host "$T/shared/in"
    echo from-host >"$T/shared/in/f"
    assert_eq "$(md_ok exec "$id" cat /s/in/f)" from-host "a host mount, seen in an rslave bind"
    md_ok exec "$id" sh -c 'mount -t tmpfs ctr /s/out && touch /s/out/g'
    assert_no_file "$T/shared/out/g"
    assert_eq "$(md_ok inspect -f '{{range .Mounts}}{{.Propagation}}{{end}}' "$id")" rslave
    md_ok rm -f "$id" >/dev/null
    umount "$T/shared/in"
    # the default: nothing goes either way
    md_ok run --rm --privileged --network none -v "$T/shared:/s" bb sh -c 'mount -t tmpfs ctr /s/out && touch /s/out/h'
    assert_no_file "$T/shared/out/h"
    id=$(md_ok create --network none -v "$T/shared:/s:ro,rshared" -v "$T/shared/in:/p" bb true)
    assert_eq "$(md_ok inspect -f '{{range .Mounts}}{{.Destination}}={{.Propagation}},{{.RW}} {{end}}' "$id")" \
        "/s=rshared,false /p=rprivate,true "
    md_ok rm "$id" >/dev/null
    local bad
    for bad in "-v $T/shared:/s:rshare" "-v $T/shared:/s:rshared,rslave" "-v vol:/s:rshared" \
        "--mount type=bind,src=$T/shared,dst=/s,bind-propagation=up" "--mount type=volume,src=vol,dst=/s,bind-propagation=shared"; do
        # shellcheck disable=SC2086
        md_fail 125 create --network none $bad bb true
        assert_one_line_error
    done
    [ -z "$(md_ok ps -aq)" ] || fail "a refused create left a container"
    [ -z "$(md_ok volume ls -q)" ] || fail "a refused create left a volume"
    umount "$T/shared"
    assert_clean
}

# --mount volume-subpath= (the API's VolumeOptions.Subpath): a directory
# (or file) of a volume mounted alone. One that would leave the volume
# (.., an absolute path, a symlink anywhere on the way) or is missing is
# refused: at create for what the words say, at start for what the
# volume holds.
test_volume_subpath() {
    ctr_setup
    bb_image
    md_ok volume create sv >/dev/null
    md_ok run --rm --network none -v sv:/v bb sh -c \
        'mkdir -p /v/sub/deep && echo content >/v/sub/f && ln -s /etc /v/esc && ln -s sub /v/inlink && mkdir /v/d && ln -s /etc /v/d/l'
    out=$(md_ok run --rm --network none --mount type=volume,src=sv,dst=/m,volume-subpath=sub,ro bb sh -c \
        'ls /m; cat /m/f; (touch /m/x) 2>&1; true')
    assert_eq "$out" "$(printf 'deep\nf\ncontent\ntouch: /m/x: Read-only file system')"
    assert_eq "$(md_ok run --rm --network none --mount type=volume,src=sv,dst=/f,volume-subpath=sub/f bb cat /f)" content
    assert_eq "$(md_ok run --rm --network none --mount type=volume,src=sv,dst=/m,volume-subpath=./sub/deep/ bb ls -a /m | wc -l)" 2
    # at create: the words
    local bad
    for bad in ../x sub/../../x /etc .. "sub/.."; do
        md_fail 125 create --network none --mount "type=volume,src=sv,dst=/m,volume-subpath=$bad" bb true
        assert_one_line_error
        assert_contains "$(md_stderr)" "invalid volume subpath"
    done
    md_fail 125 create --network none --mount "type=volume,dst=/m,volume-subpath=sub" bb true
    md_fail 125 create --network none --mount "type=bind,src=$T,dst=/m,volume-subpath=sub" bb true
    # at start: symlinks (out of the volume or not), a missing path; nothing is mounted
    for bad in esc inlink d/l d/l/passwd nosuch; do
        md_fail 125 run --rm --network none --mount "type=volume,src=sv,dst=/m,volume-subpath=$bad" bb cat /m/passwd
        assert_one_line_error
        assert_contains "$(md_stderr)" "volume subpath \"$bad\""
    done
    assert_contains "$(md_stderr)" "No such file or directory"
    [ -z "$(md_ok ps -aq)" ] || fail "a refused run left a container"
    md_ok volume rm sv >/dev/null
    assert_clean
}

# --volumes-from CTR[:ro|rw] (HostConfig.VolumesFrom): CTR's binds and
# volumes (not its tmpfs) at the same places, read-only or read-write as
# the suffix says, else as CTR has them; a -v of the new container at the
# same place wins; a volume so shared is in use. --volume-driver: "local"
# (or nothing) is all minidock has; another is refused when a volume of
# the container's own needs it, and means nothing otherwise, as in Docker.
test_volumes_from_and_driver() {
    ctr_setup
    bb_image
    mkdir "$T/h"
    echo host >"$T/h/f"
    md_ok create --name src1 --network none -v named1:/data -v "$T/h:/hostdir:ro" -v /anon --tmpfs /t bb true >/dev/null
    md_ok run --rm --network none -v named1:/d bb sh -c 'echo vol >/d/f'
    out=$(md_ok run --rm --network none --volumes-from src1 bb sh -c \
        'cat /data/f /hostdir/f; echo anon >/anon/a; (touch /hostdir/x) 2>&1; grep -c " /t " /proc/self/mountinfo; true')
    assert_eq "$out" "$(printf 'vol\nhost\ntouch: /hostdir/x: Read-only file system\n0')"
    out=$(md_ok run --rm --network none --volumes-from src1:ro bb sh -c '(touch /data/x) 2>&1; cat /anon/a; true')
    assert_eq "$out" "$(printf 'touch: /data/x: Read-only file system\nanon')"
    md_ok run --rm --network none --volumes-from src1:rw bb touch /hostdir/rw
    assert_file "$T/h/rw"
    id=$(md_ok create --network none --volumes-from src1 -v "$T/h:/data" bb true)
    assert_eq "$(md_ok inspect -f '{{json .HostConfig.VolumesFrom}}' "$id")" '["src1"]'
    assert_eq "$(md_ok inspect -f '{{range .Mounts}}{{.Destination}}:{{.Type}} {{end}}' "$id")" \
        "/hostdir:bind /anon:volume /data:bind "
    # src1's anonymous volume is still used by $id: rm -v of src1 keeps it
    anon=$(md_ok inspect -f '{{range .Mounts}}{{.Destination}} {{.Name}}{{println}}{{end}}' src1 | awk '$1 == "/anon" { print $2 }')
    [ -n "$anon" ] || fail "no anonymous volume at /anon"
    md_ok rm -v src1 >/dev/null
    md_ok volume inspect "$anon" >/dev/null
    md_ok rm -v "$id" >/dev/null
    md_fail 1 volume inspect "$anon"
    for bad in nosuch src1 "src1:xx" ":ro"; do
        md_fail 125 create --network none --volumes-from "$bad" bb true
        assert_one_line_error
    done
    # --volume-driver
    assert_eq "$(md_ok run --rm --network none --volume-driver local -v named1:/x bb cat /x/f)" vol
    id=$(md_ok create --network none --volume-driver foo bb true)
    assert_eq "$(md_ok inspect -f '{{.HostConfig.VolumeDriver}}' "$id")" foo
    md_ok rm "$id" >/dev/null
    md_fail 125 create --network none --volume-driver foo -v /anon2 bb true
    assert_one_line_error
    assert_contains "$(md_stderr)" 'only the "local" volume driver'
    md_fail 125 create --network none --volume-driver foo -v named1:/x bb true
    assert_eq "$(md_ok volume ls -q)" named1
    [ -z "$(md_ok ps -aq)" ] || fail "a refused create left a container"
    md_ok volume rm named1 >/dev/null
    assert_clean
}

# --mount's volume-nocopy (a new volume not filled from the image),
# volume-label (a new volume's labels) and tmpfs-mode, and keys given to
# the wrong type refused.
test_mount_volume_options() {
    ctr_setup
    bb_image
    assert_eq "$(md_ok run --rm --network none --mount type=volume,src=nc,dst=/usr,volume-nocopy bb ls -A /usr)" ""
    assert_eq "$(md_ok run --rm --network none --mount type=volume,src=cp,dst=/usr bb ls /usr | tr '\n' ' ')" "bin sbin "
    md_ok run --rm --network none --mount type=volume,src=lv,dst=/x,volume-label=color=red,volume-label=k bb true
    assert_eq "$(md_ok volume inspect -f '{{json .Labels}}' lv)" '{"color":"red","k":""}'
    assert_eq "$(md_ok run --rm --network none --mount type=tmpfs,dst=/t,tmpfs-mode=1770 bb stat -c %a /t)" 1770
    local bad
    for bad in "type=bind,src=$T,dst=/m,volume-nocopy" "type=tmpfs,dst=/m,volume-label=a=b" \
        "type=volume,dst=/m,tmpfs-size=1m" "type=tmpfs,dst=/m,tmpfs-mode=rwx"; do
        md_fail 125 create --network none --mount "$bad" bb true
        assert_one_line_error
    done
    md_ok volume rm nc cp lv >/dev/null
    [ -z "$(md_ok volume ls -q)" ] || fail "a refused create left a volume"
    assert_clean
}
