#!/usr/bin/env python3
"""Write a one-layer OCI image archive (for `ctr images import`) from files on this machine, without a daemon.

The lab's real node uses it for its sandbox (pause) image: a static binary alone in an image.

    oci_image.py --name bigdata.local/pause:1 --file /tmp/pause:/pause --entrypoint /pause \
        --user 65535:65535 --out pause.tar
"""
import argparse
import hashlib
import io
import json
import sys
import tarfile


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)


def layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for spec in files:
            source, _, target = spec.partition(":")
            if not target.startswith("/"):
                sys.exit(f"oci_image: --file {spec}: the target must be an absolute path (SOURCE:/TARGET)")
            info = tar.gettarinfo(source, arcname=target.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with open(source, "rb") as f:
                tar.addfile(info, f)
    return buf.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="image reference, e.g. bigdata.local/pause:1")
    parser.add_argument("--file", action="append", required=True, help="SOURCE:/TARGET, repeatable")
    parser.add_argument("--entrypoint", required=True)
    parser.add_argument("--user", default="65535:65535")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    layer_bytes = layer(args.file)
    layer_digest, layer_size = blob(layer_bytes)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": [args.entrypoint], "User": args.user},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest, config_size = blob(config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest, manifest_size = blob(manifest_bytes)
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
            "annotations": {
                "io.containerd.image.name": args.name,
                "org.opencontainers.image.ref.name": args.name.rpartition(":")[2],
            },
        }],
    }
    with tarfile.open(args.out, "w") as out:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(index).encode())
        for digest, data in ((layer_digest, layer_bytes), (config_digest, config_bytes), (manifest_digest, manifest_bytes)):
            add("blobs/sha256/" + digest.split(":")[1], data)


if __name__ == "__main__":
    main()
