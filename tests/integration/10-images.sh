# shellcheck shell=bash
# Images: load, import, save, images, inspect, history, tag, rmi, prune,
# system df and system check, against images made by umoci and skopeo
# (tests/tools/mkimages.sh) and trees unpacked by umoci.
#
# Tree comparisons include directory mtimes: a directory that a layer only
# implies (umoci's layer 2 lists usr/bin/ but not usr/; layer 3 has no "."
# entry) must look in the merged view as it does in the layers below, as it
# does in umoci's unpack.  Only podman's vfs unpack (compared below) gives
# the root directory a new mtime, so that one comparison skips dir mtimes.

_id12() {
    local id=${1#sha256:}
    echo "${id:0:12}"
}

# _check_tree IMAGE REFERENCE [treecmp options]: the overlay of IMAGE's
# layers equals the reference tree.
_check_tree() {
    local img=$1 ref=$2
    shift 2
    mount_image "$img" "$T/mnt"
    treecmp "$@" "$T/mnt" "$ref" || fail "tree of $img differs from $ref"
    umount "$T/mnt"
}

# _load_variant FILE: load an archive of the multi image, check its ID and
# layers, and compare its tree with umoci's.
_load_variant() {
    fixtures
    local out
    out=$(md_ok load -i "$FIX/$1")
    assert_match "$out" "^Loaded image( ID)?: "
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$MULTI_ID")" "$MULTI_ID"
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' "$MULTI_ID" | jq -c .)" \
        "$MULTI_DIFF_IDS" "RootFS.Layers"
    _check_tree "$MULTI_ID" "$FIX/rootfs-umoci"
    md_ok system check >/dev/null
}

# _layer_listing: the store's layer and blob files without their mtimes, so
# that rewriting a file with the same content does not count as a change.
_layer_listing() {
    (
        cd "$MINIDOCK_ROOT" || exit 1
        find layers blobs -printf '%p %y %#m %s\n' | LC_ALL=C sort
        find blobs layers -name diff -prune -o -type f -print0 | LC_ALL=C sort -z |
            xargs -0 -r sha256sum
    )
}

test_usage_errors() {
    local cmd
    for cmd in "no-such-command" "images --no-such-flag" "--no-such-global images" \
        "load --bogus"; do
        # shellcheck disable=SC2086
        md_fail 125 $cmd
        assert_match "$(md_stderr)" "^minidock: "
        assert_eq "$(md_stderr | wc -l)" 1 "lines of stderr for '$cmd'"
    done
}

test_version() {
    out=$(md_ok version)
    [ -n "$out" ] || fail "version printed nothing"
}

test_load_oci_archive() {
    require_root
    _load_variant multi-oci.tar
    assert_contains "$(md_ok images -q)" "$(_id12 "$MULTI_ID")"
    assert_eq "$(md_ok inspect -f '{{.Id}}' "$(_id12 "$MULTI_ID")")" "$MULTI_ID" \
        "lookup by short ID"
}

test_load_docker_archive() {
    fixtures
    out=$(md_ok load -i "$FIX/multi-docker.tar")
    assert_eq "$out" "Loaded image: test/multi:latest"
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/multi)" "$MULTI_ID"
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' test/multi:latest | jq -c .)" \
        "$MULTI_DIFF_IDS"
    assert_eq "$(md_ok images -q)" "$(_id12 "$MULTI_ID")"
    assert_eq "$(md_ok images -q --no-trunc)" "$MULTI_ID"
}

test_load_from_stdin() {
    fixtures
    out=$(md_ok load <"$FIX/multi-docker.tar")
    assert_eq "$out" "Loaded image: test/multi:latest"
    # -q silences progress, not the result (as docker load -q)
    out=$(md_ok load -q <"$FIX/child-docker.tar")
    assert_eq "$out" "Loaded image: test/child:latest"
    assert_eq "$(md_ok images -q | wc -l)" 2
    export MINIDOCK_ROOT=$T/root-oci
    out=$(md_ok load <"$FIX/multi-oci.tar")
    assert_match "$out" "^Loaded image( ID)?: "
    assert_eq "$(md_ok images -q --no-trunc)" "$MULTI_ID"
}

test_load_compressed_archive() {
    fixtures
    gzip -c "$FIX/multi-docker.tar" >"$T/multi.tar.gz"
    out=$(md_ok load -i "$T/multi.tar.gz")
    assert_eq "$out" "Loaded image: test/multi:latest"
    require_cmd zstd
    zstd -q -c "$FIX/child-docker.tar" | md_ok load >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/child)" "$CHILD_ID"
    md_ok system check >/dev/null
}

test_inspect_fields() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok inspect test/multi >"$T/inspect.json"
    jq -e 'type == "array" and length == 1' "$T/inspect.json" >/dev/null ||
        fail "inspect is not a one-element JSON array"
    jq -e --arg id "$MULTI_ID" '.[0] | .Id == $id and
        .RepoTags == ["test/multi:latest"] and (.RepoDigests | type) == "array" and
        .Architecture == "amd64" and .Os == "linux" and
        .Created == "2020-01-01T00:00:00Z" and
        .Config.Cmd == ["/bin/sh", "-c", "echo hello"] and
        .Config.WorkingDir == "/data" and (.Config.Env | index("FOO=bar")) != null and
        .RootFS.Type == "layers" and .GraphDriver.Name == "overlay2" and
        (.Size | type) == "number" and .Size > 3145728' "$T/inspect.json" >/dev/null ||
        fail "inspect fields: $(cat "$T/inspect.json")"
    # the same through templates, and `image inspect`, `--type image`
    assert_eq "$(md_ok inspect -f '{{.Config.WorkingDir}}' test/multi)" /data
    assert_eq "$(md_ok inspect -f '{{json .Config.Cmd}}' test/multi)" \
        '["/bin/sh","-c","echo hello"]'
    assert_eq "$(md_ok inspect -f '{{index .Config.Labels "org.example.fixture"}}' test/multi)" \
        multi
    assert_eq "$(md_ok image inspect -f '{{.RootFS.Type}}' test/multi)" layers
    assert_eq "$(md_ok inspect --type image -f '{{.GraphDriver.Name}}' test/multi)" overlay2
    # two names, two lines
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/multi "$MULTI_ID" | wc -l)" 2
    md_fail any inspect no/such-image
}

test_images_output() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok import "$FIX/busybox-rootfs.tar" >/dev/null
    out=$(md_ok images)
    assert_match "$(head -n 1 <<<"$out")" "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE"
    assert_match "$out" $'\n'"test/multi +latest +$(_id12 "$MULTI_ID") "
    assert_match "$out" $'\n'"<none> +<none> +[0-9a-f]{12} "
    # the same table (CREATED aside: a second may tick between the two)
    assert_eq "$(md_ok image ls --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}')" \
        "$(md_ok images --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}')" "image ls = images"
    # (the whole output first: head would cut the writer off with SIGPIPE;
    # the columns' widths follow CREATED's text, which may change between
    # the two commands under emulation)
    local ls
    ls=$(md_ok image ls)
    assert_eq "$(head -n 1 <<<"$ls" | tr -s ' ')" "$(head -n 1 <<<"$out" | tr -s ' ')" "image ls header"
    assert_eq "$(md_ok images -q | wc -l)" 2
    assert_eq "$(md_ok images -a -q | wc -l)" 2
    assert_contains "$(md_ok images --no-trunc)" "$MULTI_ID"
    assert_match "$(md_ok images --digests | sed -n 1p)" "DIGEST"
    out=$(md_ok images --format '{{.Repository}}:{{.Tag}}' | LC_ALL=C sort)
    assert_eq "$out" "<none>:<none>"$'\n'"test/multi:latest"
}

test_tree_gzip_layers() {
    require_root
    _load_variant multi-oci.tar
}

test_tree_zstd_layers() {
    require_root
    _load_variant multi-zstd-oci.tar
}

test_tree_uncompressed_layers() {
    require_root
    _load_variant multi-uncompressed-oci.tar
}

test_tree_docker_archive() {
    require_root
    _load_variant multi-docker.tar
}

test_tree_child() {
    require_root
    fixtures
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    _check_tree test/child "$FIX/rootfs-child-umoci"
}

# Directory mtimes, layer by layer: every directory a layer's tar lists
# must carry the tar's mtime in that layer's diff dir, after its children
# were unpacked and its whiteouts made.  Parents a layer does not list (and
# so the merged view's usr/ and /) are held to nothing: engines differ there.
test_layer_dir_mtimes() {
    fixtures
    md_ok load -i "$FIX/multi-uncompressed-oci.tar" >/dev/null
    image_lowerdirs "$MULTI_ID" | tac >"$T/diffs"
    "$PY" - "$FIX/oci-uncompressed" "$T/diffs" <<'EOF_PY' || fail "directory mtimes differ"
import json, os, sys, tarfile
layout, diffs = sys.argv[1], open(sys.argv[2]).read().split()
blob = lambda d: os.path.join(layout, "blobs/sha256", d.split(":")[1])
idx = json.load(open(os.path.join(layout, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
bad = 0
for n, (layer, diff) in enumerate(zip(man["layers"], diffs), 1):
    for m in tarfile.open(blob(layer["digest"])):
        if not m.isdir():
            continue
        path = os.path.normpath(os.path.join(diff, m.name))
        got = os.lstat(path).st_mtime_ns
        if got != m.mtime * 10**9:
            print("layer %d: %s: mtime %d.%09d != %d" % (n, m.name, got // 10**9,
                  got % 10**9, m.mtime))
            bad += 1
sys.exit(1 if bad else 0)
EOF_PY
}

test_layer_sharing() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    # LowerDir is the layers' diff dirs, top first, named by ChainID
    local want_multi want_child
    # shellcheck disable=SC2046
    want_multi=$(chain_ids $(jq -r '.[]' <<<"$MULTI_DIFF_IDS") | tac |
        sed "s|^sha256:|$MINIDOCK_ROOT/layers/|; s|\$|/diff|")
    # shellcheck disable=SC2046
    want_child=$(chain_ids $(jq -r '.[]' <<<"$CHILD_DIFF_IDS") | tac |
        sed "s|^sha256:|$MINIDOCK_ROOT/layers/|; s|\$|/diff|")
    assert_eq "$(image_lowerdirs test/multi)" "$want_multi" "multi's LowerDir"
    assert_eq "$(image_lowerdirs test/child)" "$want_child" "child's LowerDir"
    assert_eq "$(image_lowerdirs test/multi | tail -n 2)" \
        "$(image_lowerdirs test/child | tail -n 2)" "shared layers"
    for d in $want_multi $want_child; do
        [ -d "$d" ] || fail "no layer dir $d"
    done
    assert_eq "$(find "$MINIDOCK_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 4 \
        "layer dirs for 2 images sharing 2 layers"
    # the tree shows each shared layer once, with both images below it
    out=$(md_ok images --tree)
    assert_contains "$out" test/multi
    assert_contains "$out" test/child
    local c
    # shellcheck disable=SC2046
    for c in $(chain_ids $(jq -r '.[]' <<<"$MULTI_DIFF_IDS") | head -n 2); do
        c=${c#sha256:}
        assert_eq "$(grep -c "${c:0:12}" <<<"$out")" 1 "lines naming shared layer ${c:0:12}"
    done
}

test_tag() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok tag test/multi:latest other/name:v1
    md_ok tag test/multi other/name2
    md_ok tag "$MULTI_ID" byid:1
    md_ok tag test/multi docker.io/library/busybox:x
    assert_eq "$(md_ok inspect -f '{{json .RepoTags}}' test/multi | jq -c 'sort')" \
        '["busybox:x","byid:1","other/name2:latest","other/name:v1","test/multi:latest"]'
    out=$(md_ok images)
    assert_match "$out" $'\n'"other/name +v1 +$(_id12 "$MULTI_ID") "
    # Docker's familiar form: no docker.io/library/ prefix
    assert_match "$out" $'\n'"busybox +x +$(_id12 "$MULTI_ID") "
    assert_eq "$(md_ok images -q | sort -u | wc -l)" 1
    md_fail any tag no/such:image other/x:1
    md_fail any tag test/multi 'Bad/Upper:case'
    md_fail any tag test/multi 'bad:tag:twice'
}

test_rmi_untag_then_delete() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok tag test/multi other/name:v1
    out=$(md_ok rmi other/name:v1)
    assert_eq "$out" "Untagged: other/name:v1"
    assert_eq "$(md_ok images -q)" "$(_id12 "$MULTI_ID")"
    local dirs
    dirs=$(image_lowerdirs test/multi)
    out=$(md_ok rmi test/multi:latest)
    assert_contains "$out" "Untagged: test/multi:latest"
    assert_contains "$out" "Deleted: $MULTI_ID"
    assert_eq "$(md_ok images -a -q)" ""
    for d in $dirs; do
        assert_no_file "$d"
    done
    assert_no_file "$MINIDOCK_ROOT/blobs/sha256/${MULTI_ID#sha256:}"
    store_clean
    md_fail any rmi test/multi:latest
}

test_rmi_keeps_shared_layers() {
    require_root
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    local child_top
    child_top=$(image_lowerdirs test/child | head -n 1)
    out=$(md_ok image rm test/child)
    assert_contains "$out" "Deleted: $CHILD_ID"
    assert_no_file "$child_top"
    for d in $(image_lowerdirs test/multi); do
        [ -d "$d" ] || fail "shared layer dir $d was removed"
    done
    assert_eq "$(find "$MINIDOCK_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 3
    _check_tree test/multi "$FIX/rootfs-umoci"
    md_ok system check >/dev/null
}

test_rmi_several_tags_needs_force() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok tag test/multi other/name:v1
    # by ID, an image with two names is a conflict unless forced (as Docker)
    md_fail any rmi "$MULTI_ID"
    assert_eq "$(md_ok images -q)" "$(_id12 "$MULTI_ID")"
    out=$(md_ok rmi -f "$(_id12 "$MULTI_ID")")
    assert_contains "$out" "Deleted: $MULTI_ID"
    store_clean
    md_fail any rmi no/such:image
}

test_images_reference_filter() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok tag test/multi other/name:v1
    md_ok tag test/multi other/name:v20
    local id
    id=$(_id12 "$MULTI_ID")
    # Docker's reference filter is Go's path.Match on the familiar name:tag
    # or the name alone; '*' does not cross '/'
    assert_eq "$(md_ok images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=other/*:v?' | tr '\n' ' ')" "other/name:v1 "
    assert_eq "$(md_ok images --format '{{.Tag}}' --filter 'reference=other/name:v[0-9]*' | sort | tr '\n' ' ')" "v1 v20 "
    assert_eq "$(md_ok images --format '{{.Repository}}' --filter 'reference=test/multi' | tr '\n' ' ')" "test/multi "
    assert_eq "$(md_ok images -q --filter 'reference=*')" "" "'*' matches no name with a '/'"
    assert_eq "$(md_ok images -q --filter 'reference=*/*' | sort -u)" "$id"
    assert_eq "$(md_ok images -q --filter 'reference=other/[^n]*')" ""
    md_fail 125 images --filter 'reference=other/[x-'
    assert_one_line_error
    assert_contains "$(md_stderr)" "syntax error in pattern"
}

test_layer_names_kept_as_bytes() {
    # pax path records in UTF-8, NFD and NFC forms of the same name, and a
    # name that is not UTF-8 (GNU tar's binary hdrcharset): each lands on
    # disk byte for byte (no Unicode normalisation, no conversion)
    python3 - "$T/names.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name in ["e\u0301-nfd", "\u00e9-nfc", "ascii"]:
        ti = tarfile.TarInfo(name); ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
    ti = tarfile.TarInfo("latin1-\udce9"); ti.size = 1
    ti.pax_headers = {"hdrcharset": "BINARY"}
    t.addfile(ti, io.BytesIO(b"x"))
PY
    md_ok import "$T/names.tar" names:1 >/dev/null
    local d
    d=$(image_lowerdirs names:1)
    assert_eq "$(LC_ALL=C ls "$d" | od -An -tx1 | tr -d ' \n')" \
        "$(printf 'ascii\ne\xcc\x81-nfd\nlatin1-\xe9\n\xc3\xa9-nfc\n' | od -An -tx1 | tr -d ' \n')"
}

test_image_prune() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    out=$(md_ok import "$FIX/busybox-rootfs.tar")
    local dangling=$out
    assert_eq "$(md_ok images -q | wc -l)" 2
    md_ok image prune -f >/dev/null
    assert_eq "$(md_ok images -a -q --no-trunc)" "$MULTI_ID" "prune keeps tagged images"
    md_fail any inspect "$dangling"
    md_ok image prune -a -f >/dev/null
    store_clean
}

test_history() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    out=$(md_ok history test/multi)
    assert_match "$(head -n 1 <<<"$out")" "^IMAGE +CREATED +CREATED BY +SIZE +COMMENT"
    assert_eq "$(($(wc -l <<<"$out") - 1))" "$MULTI_NHISTORY" "history rows"
    assert_eq "$(md_ok history -q test/multi | wc -l)" "$MULTI_NHISTORY"
    out=$(md_ok history --no-trunc test/multi)
    assert_contains "$out" "mkimages: layer 1 base tree"
    assert_contains "$out" "mkimages: layer 3 opaque dir (python tarfile)"
    md_fail any history no/such:image
}

test_system_df() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    out=$(md_ok system df)
    assert_match "$(head -n 1 <<<"$out")" "^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE"
    assert_eq "$(awk '$1 == "Images" { print $2 }' <<<"$out")" 1 "Images total"
}

test_save_load_roundtrip() {
    require_root
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok save -o "$T/saved.tar" test/multi
    md_ok save test/multi >"$T/saved-stdout.tar"
    # a docker-archive's layers are the exact layer tars: sha256 = diff_id
    mkdir "$T/x"
    tar -xf "$T/saved.tar" -C "$T/x"
    assert_eq "$(jq -c '.[0].RepoTags' "$T/x/manifest.json")" '["test/multi:latest"]'
    got=$(jq -r '.[0].Layers[]' "$T/x/manifest.json" | while read -r l; do
        echo "sha256:$(sha256sum "$T/x/$l" | cut -d' ' -f1)"
    done | jq -R . | jq -sc .)
    assert_eq "$got" "$MULTI_DIFF_IDS" "sha256 of the saved layer tars"
    for f in saved.tar saved-stdout.tar; do
        export MINIDOCK_ROOT=$T/root-$f
        out=$(md_ok load -i "$T/$f")
        assert_eq "$out" "Loaded image: test/multi:latest"
        assert_eq "$(md_ok inspect -f '{{.Id}}' test/multi)" "$MULTI_ID"
        assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' test/multi | jq -c .)" \
            "$MULTI_DIFF_IDS"
        _check_tree test/multi "$FIX/rootfs-umoci"
    done
}

test_save_several_images() {
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok load -i "$FIX/child-docker.tar" >/dev/null
    md_ok save -o "$T/both.tar" test/multi test/child
    export MINIDOCK_ROOT=$T/root2
    out=$(md_ok load -i "$T/both.tar")
    assert_contains "$out" "Loaded image: test/multi:latest"
    assert_contains "$out" "Loaded image: test/child:latest"
    assert_eq "$(md_ok images -q --no-trunc | LC_ALL=C sort)" \
        "$(printf '%s\n' "$MULTI_ID" "$CHILD_ID" | LC_ALL=C sort)"
}

test_save_read_by_skopeo_and_podman() {
    require_root
    require_cmd skopeo podman
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok save -o "$T/saved.tar" test/multi
    skopeo inspect "docker-archive:$T/saved.tar" >"$T/skopeo.json" ||
        fail "skopeo cannot read the saved archive"
    assert_eq "$(jq -r .Architecture "$T/skopeo.json")" amd64
    assert_eq "$(skopeo inspect --config "docker-archive:$T/saved.tar" | jq -c .rootfs.diff_ids)" \
        "$MULTI_DIFF_IDS"
    # podman, in a store of its own under $T; its vfs unpack must match umoci's
    pm() {
        podman --root "$T/podman/root" --runroot "$T/podman/run" \
            --storage-driver vfs "$@"
    }
    pm load -q -i "$T/saved.tar" || fail "podman load refused the saved archive"
    assert_eq "$(pm image inspect --format '{{.ID}}' test/multi:latest)" "${MULTI_ID#sha256:}"
    dir=$(pm image mount test/multi:latest)
    treecmp --no-dir-mtime "$dir" "$FIX/rootfs-umoci" || fail "podman's unpack differs"
    pm image unmount test/multi:latest >/dev/null
}

test_save_oci_format() {
    require_root
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    md_ok save --format oci -o "$T/saved-oci.tar" test/multi
    if command -v skopeo >/dev/null; then
        skopeo inspect --config "oci-archive:$T/saved-oci.tar" >"$T/cfg.json" ||
            fail "skopeo cannot read the OCI archive"
        assert_eq "$(jq -c .rootfs.diff_ids "$T/cfg.json")" "$MULTI_DIFF_IDS"
    fi
    export MINIDOCK_ROOT=$T/root2
    md_ok load -i "$T/saved-oci.tar" >/dev/null
    assert_eq "$(md_ok images -q --no-trunc)" "$MULTI_ID"
    _check_tree "$MULTI_ID" "$FIX/rootfs-umoci"
}

test_import_busybox() {
    require_root
    fixtures
    out=$(md_ok import "$FIX/busybox-rootfs.tar")
    assert_match "$out" "^sha256:[0-9a-f]{64}$"
    local id=$out
    # an uncompressed tar is stored as it is: its sha256 is the diff_id
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' "$id" | jq -c .)" \
        "[\"$BUSYBOX_TAR_SHA\"]"
    assert_eq "$(md_ok inspect -f '{{json .RepoTags}}' "$id")" "[]"
    out=$(md_ok import - busybox:imported <"$FIX/busybox-rootfs.tar")
    assert_match "$out" "^sha256:[0-9a-f]{64}$"
    assert_match "$(md_ok images)" $'\n'"busybox +imported +$(_id12 "$out") "
    mkdir "$T/ref"
    tar -xpf "$FIX/busybox-rootfs.tar" --numeric-owner -C "$T/ref"
    _check_tree busybox:imported "$T/ref"
    mount_image busybox:imported "$T/mnt"
    assert_eq "$(chroot "$T/mnt" /bin/sh -c 'echo hi from busybox')" "hi from busybox"
}

test_load_is_idempotent() {
    fixtures
    out1=$(md_ok load -i "$FIX/multi-docker.tar")
    _layer_listing >"$T/before"
    out2=$(md_ok load -i "$FIX/multi-docker.tar")
    assert_eq "$out2" "$out1"
    _layer_listing >"$T/after"
    diff "$T/before" "$T/after" >&2 || fail "second load changed the store"
    # the same image from an OCI archive: same ID, no new layer
    ls "$MINIDOCK_ROOT/layers" >"$T/layers-before"
    md_ok load -i "$FIX/multi-oci.tar" >/dev/null
    assert_eq "$(md_ok images -a -q --no-trunc | sort -u)" "$MULTI_ID"
    ls "$MINIDOCK_ROOT/layers" | diff "$T/layers-before" - >&2 ||
        fail "loading the same layers from an OCI archive changed layers/"
    md_ok system check >/dev/null
}

test_load_multi_image_archive() {
    fixtures
    out=$(md_ok load -i "$FIX/both-oci.tar")
    assert_contains "$out" "test/multi:latest"
    assert_contains "$out" "test/child:latest"
    assert_eq "$(md_ok images -q --no-trunc | LC_ALL=C sort)" \
        "$(printf '%s\n' "$MULTI_ID" "$CHILD_ID" | LC_ALL=C sort)"
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/child:latest)" "$CHILD_ID"
}

test_load_nested_index() {
    fixtures
    out=$(md_ok load -i "$FIX/nested-oci.tar")
    assert_contains "$out" "test/multi:latest"
    assert_contains "$out" "test/child:latest"
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/multi:latest)" "$MULTI_ID"
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/child:latest)" "$CHILD_ID"
}

# The image limits, at load: more layers than a container's one overlay
# mount holds (200) are refused with the image's name and the limit,
# leaving nothing behind, from a docker-archive and from an OCI archive;
# 200 layers load.
test_load_layer_limit() {
    "$PY" "$MD_TOOLS/mklayers.py" docker "$T/d201.tar" 201 --tag many:201
    "$PY" "$MD_TOOLS/mklayers.py" oci "$T/o201.tar" 201 --tag many:o201
    "$PY" "$MD_TOOLS/mklayers.py" oci "$T/o200.tar" 200 --tag many:o200
    md_fail 1 load -i "$T/d201.tar"
    assert_one_line_error
    assert_contains "$(md_stderr)" "image many:201 has 201 layers; minidock supports at most 200"
    store_clean
    md_fail 1 load -i "$T/o201.tar"
    assert_one_line_error
    assert_contains "$(md_stderr)" "image many:o201 has 201 layers; minidock supports at most 200"
    store_clean
    assert_eq "$(md_ok load -i "$T/o200.tar")" "Loaded image: many:o200"
    assert_eq "$(md_ok inspect -f '{{json .RootFS.Layers}}' many:o200 | jq length)" 200 "layers of many:o200"
    md_ok system check >/dev/null
}

# Image indexes nested 8 deep load; 9 deep are refused as such.
test_load_nested_index_limit() {
    "$PY" "$MD_TOOLS/mklayers.py" oci "$T/n8.tar" 2 --tag nest:8 --nest 8
    "$PY" "$MD_TOOLS/mklayers.py" oci "$T/n9.tar" 2 --tag nest:9 --nest 9
    md_fail 1 load -i "$T/n9.tar"
    assert_one_line_error
    assert_contains "$(md_stderr)" "image index of nest:9 nested more than 8 deep"
    store_clean
    assert_eq "$(md_ok load -i "$T/n8.tar")" "Loaded image: nest:8"
}

test_system_check() {
    require_root
    fixtures
    md_ok load -i "$FIX/multi-docker.tar" >/dev/null
    id=$(md_ok import "$FIX/busybox-rootfs.tar")
    md_ok system check >/dev/null
    # a layer of the imported image goes missing: check must say so, repair
    # must fix the store without touching the intact image
    top=$(image_lowerdirs "$id" | head -n 1)
    rm -rf "$top"
    msg=$(md_fail any system check 2>&1)
    [ -n "$msg" ] || fail "system check failed without naming the problem"
    md_ok system check --repair >/dev/null
    md_ok system check >/dev/null
    assert_eq "$(md_ok inspect -f '{{.Id}}' test/multi)" "$MULTI_ID"
    _check_tree test/multi "$FIX/rootfs-umoci"
    # staging leftovers are gone after a repair
    mkdir -p "$MINIDOCK_ROOT/tmp/leftover/diff"
    echo x >"$MINIDOCK_ROOT/tmp/leftover/diff/f"
    md_ok system check --repair >/dev/null
    [ -z "$(ls -A "$MINIDOCK_ROOT/tmp" 2>/dev/null)" ] || fail "tmp/ not empty after repair"
    md_ok system check >/dev/null
}

# Two tags in a row that name a missing image: check names both, one
# --repair removes both and keeps the sound tag.
test_system_check_repairs_broken_tags() {
    fixtures
    local id out
    id=$(md_ok import "$FIX/busybox-rootfs.tar" bb:1)
    "$PY" - "$MINIDOCK_ROOT/index.json" <<'PYEOF'
import json, sys
p = sys.argv[1]
idx = json.load(open(p))
idx["tags"] = {"gone:1": "sha256:" + "1" * 64, "gone:2": "sha256:" + "2" * 64, **idx["tags"]}
json.dump(idx, open(p, "w"))
PYEOF
    out=$(md_fail 1 system check 2>&1)
    assert_contains "$out" "tag gone:1: names a missing image"
    assert_contains "$out" "tag gone:2: names a missing image"
    md_ok system check --repair >/dev/null
    md_ok system check >/dev/null
    assert_eq "$(md_ok images --format '{{.Repository}}:{{.Tag}}')" "bb:1"
    assert_eq "$(md_ok inspect -f '{{.Id}}' bb:1)" "$id"
}

# A temporary file whose writer is alive but another user's (kill(PID, 0)
# says EPERM) is a write in progress: system check --repair of a store owned
# by uid 65534 keeps it.
test_system_check_keeps_other_users_tmpfile() {
    require_root
    require_cmd setpriv
    local pid out
    md_ok volume create vol >/dev/null
    sleep 60 &
    pid=$!
    echo x >"$MINIDOCK_ROOT/index.json.tmp-$pid"
    chmod 755 "$T"
    mkdir -p "$MINIDOCK_RUNROOT"
    chown -R 65534:65534 "$MINIDOCK_ROOT" "$MINIDOCK_RUNROOT"
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MINIDOCK" system check --repair 2>&1) ||
        fail "system check --repair as uid 65534 failed: $out"
    assert_contains "$out" "index.json.tmp-$pid: a command is writing it right now"
    assert_file "$MINIDOCK_ROOT/index.json.tmp-$pid"
    kill "$pid"
}
