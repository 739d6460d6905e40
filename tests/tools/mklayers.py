#!/usr/bin/python3
"""mklayers.py FORMAT OUT N [--base TAR] [--tag NAME] [--nest K]: an image of N layers.

For the image limits (MD_IMAGE_MAX_LAYERS, MD_OCI_MAX_NEST).  The layers
are tiny uncompressed tars, layer i holding the file /l<i> ("<i>\\n"); with
--base, layer 0 is that tar instead (a rootfs, so the image runs).
FORMAT docker: a docker-archive (manifest.json, RepoTags [NAME]).
FORMAT oci: an OCI archive (an OCI layout in a tar) whose index.json names
the image NAME; with --nest K, the manifest sits under K image indexes, each
holding the next one (and the manifest) with this machine's platform.
"""
import argparse
import hashlib
import io
import json
import platform
import tarfile

ARCH = {'x86_64': ('amd64', ''), 'aarch64': ('arm64', ''), 'armv7l': ('arm', 'v7'), 'armv6l': ('arm', 'v6'),
        'i686': ('386', ''), 'mips': ('mips', ''), 'riscv64': ('riscv64', ''), 'ppc64le': ('ppc64le', '')}


def layer(i):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.USTAR_FORMAT) as t:
        data = b'%d\n' % i
        ti = tarfile.TarInfo('l%d' % i)
        ti.size, ti.mtime, ti.mode = len(data), 1577836800, 0o644
        t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def sha(b):
    return 'sha256:' + hashlib.sha256(b).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('format', choices=['docker', 'oci'])
    ap.add_argument('out')
    ap.add_argument('n', type=int)
    ap.add_argument('--base')
    ap.add_argument('--tag', default='many:latest')
    ap.add_argument('--nest', type=int, default=0)
    a = ap.parse_args()
    layers = [open(a.base, 'rb').read()] if a.base else []
    while len(layers) < a.n:
        layers.append(layer(len(layers)))
    diffs = [sha(l) for l in layers]
    arch, variant = ARCH.get(platform.machine(), (platform.machine(), ''))
    cfg = {'architecture': arch, 'os': 'linux', 'config': {'Cmd': ['/bin/sh']},
           'rootfs': {'type': 'layers', 'diff_ids': diffs},
           'history': [{'created': '2020-01-01T00:00:00Z', 'created_by': 'layer %d' % i} for i in range(a.n)]}
    if variant:
        cfg['variant'] = variant
    cfgb = json.dumps(cfg).encode()
    with tarfile.open(a.out, 'w', format=tarfile.USTAR_FORMAT) as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 1577836800, 0o644
            t.addfile(ti, io.BytesIO(data))

        if a.format == 'docker':
            add(sha(cfgb)[7:] + '.json', cfgb)
            names = []
            for d, l in zip(diffs, layers):
                names.append(d[7:] + '/layer.tar')
                add(names[-1], l)
            add('manifest.json', json.dumps([{'Config': sha(cfgb)[7:] + '.json', 'RepoTags': [a.tag],
                                              'Layers': names}]).encode())
            return
        blobs = {sha(cfgb): cfgb}
        for l in layers:
            blobs[sha(l)] = l
        man = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                          'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                                     'digest': sha(cfgb), 'size': len(cfgb)},
                          'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': sha(l),
                                      'size': len(l)} for l in layers]}).encode()
        blobs[sha(man)] = man
        plat = {'architecture': arch, 'os': 'linux'}
        if variant:
            plat['variant'] = variant
        top = {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': sha(man), 'size': len(man),
               'platform': plat}
        for _ in range(a.nest):
            ix = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                             'manifests': [top]}).encode()
            blobs[sha(ix)] = ix
            top = {'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': sha(ix), 'size': len(ix),
                   'platform': plat}
        top = dict(top, annotations={'org.opencontainers.image.ref.name': a.tag})
        del top['platform']
        add('oci-layout', b'{"imageLayoutVersion":"1.0.0"}')
        add('index.json', json.dumps({'schemaVersion': 2, 'manifests': [top]}).encode())
        for d, b in blobs.items():
            add('blobs/sha256/' + d[7:], b)


main()
