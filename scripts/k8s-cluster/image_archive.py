#!/usr/bin/env python3
"""Pack static binaries into a one-layer image archive (`docker save` format) for `ctr import`.

The real node's own images (pause, CoreDNS, metrics-server, ...) are single static Go
binaries FROM scratch; packing them here needs no Docker engine, so `k8s-cluster.sh build`
can run before Docker is up. The archive is deterministic (fixed mtimes and owners).

    image_archive.py OUT.tar IMAGE:TAG --entrypoint /pause [--user 65535:65535] SRC:/DEST ...
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path


def layer_tar(files: list[tuple[Path, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for _, dest in files:
            parts = dest.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for src, dest in files:
            data = src.read_bytes()
            info = tarfile.TarInfo(dest.strip("/"))
            info.size, info.mode, info.mtime = len(data), 0o755, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("image", help="name:tag, e.g. docker.io/blog-creator/pause:local")
    parser.add_argument("--entrypoint", required=True, help="absolute path inside the image")
    parser.add_argument("--user", default="65535:65535")
    parser.add_argument("files", nargs="+", help="SRC:/DEST pairs")
    args = parser.parse_args()
    files = []
    for pair in args.files:
        src, sep, dest = pair.partition(":")
        if not sep or not dest.startswith("/") or not Path(src).is_file():
            parser.error(f"file argument '{pair}' must be SRC:/DEST with an existing SRC")
        files.append((Path(src), dest))
    layer = layer_tar(files)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": [args.entrypoint], "User": args.user, "Env": ["PATH=/"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [args.image], "Layers": ["layer/layer.tar"]}]
    with tarfile.open(args.out, mode="w") as out:
        for name, data in (
            ("layer/layer.tar", layer),
            (config_name, config),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            out.addfile(info, io.BytesIO(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
