"""Inspect every layer of an image (`docker save`) for leaked secrets and leftover build tools."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass, field

from images_docker import DOCKER

# Paths that must not exist in a runtime image: compilers, package-manager caches, build secrets.
FORBIDDEN_PATHS = [
    (re.compile(r"^(usr/)?(local/)?bin/(gcc|g\+\+|cc|c\+\+|clang|x86_64-linux-gnu-gcc)(-[0-9.]+)?$"), "compiler"),
    (re.compile(r"^usr/lib/gcc/"), "compiler"),
    (re.compile(r"^(root|app|home/[^/]+)/\.cache/(pip|uv)/."), "pip/uv cache"),
    (re.compile(r"^(root|app|home/[^/]+)/\.npm/_cacache/"), "npm cache"),
    (re.compile(r"^var/cache/apt/archives/.+\.deb$"), "apt package cache"),
    (re.compile(r"^opt/uv/"), "build-only uv"),
    (re.compile(r"(^|/)run/secrets/."), "BuildKit secret file"),
    (re.compile(r"(^|/)\.next/cache/."), "Next.js build cache"),
]


@dataclass
class ImageScan:
    paths: set[str] = field(default_factory=set)
    files_with_marker: list[str] = field(default_factory=list)
    metadata_with_marker: list[str] = field(default_factory=list)

    def forbidden(self) -> list[tuple[str, str]]:
        return sorted((p, why) for p in self.paths for rx, why in FORBIDDEN_PATHS if rx.search(p))


_SCANS: dict[tuple[str, str, tuple[bytes, ...]], ImageScan] = {}


def scan_image(ref: str, markers: list[bytes]) -> ImageScan:
    """Stream `docker save` and look at every file of every layer plus the config/history.
    Results are memoised per image id (several tests inspect the same image)."""
    image_id = subprocess.run([DOCKER, "image", "inspect", "--format", "{{.Id}}", ref],
                              capture_output=True, text=True, check=True).stdout.strip()
    key = (ref, image_id, tuple(markers))
    if key not in _SCANS:
        _SCANS[key] = _scan(ref, markers)
    return _SCANS[key]


def _scan(ref: str, markers: list[bytes]) -> ImageScan:
    scan = ImageScan()
    proc = subprocess.Popen([DOCKER, "save", ref], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as outer:
        for member in outer:
            if not member.isfile():
                continue
            data = outer.extractfile(member)
            assert data is not None
            if member.name.endswith(".tar"):
                _scan_layer(io.BytesIO(data.read()), member.name, markers, scan)
            elif member.name.endswith(".json"):
                content = data.read()
                for m in markers:
                    if m in content:
                        scan.metadata_with_marker.append(member.name)
    assert proc.wait() == 0, f"docker save {ref} failed"
    history = subprocess.run([DOCKER, "history", "--no-trunc", "--format", "{{json .}}", ref],
                             capture_output=True, check=True).stdout
    for m in markers:
        if m in history:
            scan.metadata_with_marker.append("docker history")
    return scan


def _scan_layer(blob: io.BytesIO, layer: str, markers: list[bytes], scan: ImageScan) -> None:
    with tarfile.open(fileobj=blob, mode="r:") as inner:
        for f in inner:
            name = f.name.lstrip("./")
            if f.name.rsplit("/", 1)[-1].startswith(".wh."):
                continue  # whiteout entries record deletions
            scan.paths.add(name)
            if f.isfile() and f.size < 64 * 1024 * 1024:
                content = inner.extractfile(f)
                if content is not None:
                    body = content.read()
                    if any(m in body for m in markers):
                        scan.files_with_marker.append(f"{layer}:{name}")


def image_config(ref: str) -> dict:
    out = subprocess.run([DOCKER, "image", "inspect", ref], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]["Config"]
