#!/usr/bin/env python3
"""Image benchmarks: runtime image sizes (total and added over the base image) and warm rebuild
times (no change, one backend source file changed, one frontend page changed).

    .venv/bin/python bench/images.py                 # prints a Markdown table
    PYTHON_IMAGE=python:3.13-slim NODE_IMAGE=node:22-slim .venv/bin/python bench/images.py

Edits happen in a temporary copy of the repository (tracked + untracked, non-ignored files);
the checkout is never modified. Uses Debian's docker CLI (BuildKit) like the image tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKER = os.environ.get("DOCKER") or ("/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker")
CA = os.environ.get("CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
BACKEND_FILE = "backend/app/main.py"
FRONTEND_PAGE = "frontend/src/app/page.tsx"
GOALS = {  # from issue 4
    "backend": {"total": 150, "added": 60},
    "frontend": {"total": 200, "added": 40},
}


def docker(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], check=True, capture_output=True, text=True,
                          env={**os.environ, "DOCKER_BUILDKIT": "1"}, **kw)


def image_exists(ref: str) -> bool:
    return subprocess.run([DOCKER, "image", "inspect", ref], capture_output=True, check=False).returncode == 0


def pick_base(var: str, official: str, standin: str) -> str:
    ref = os.environ.get(var) or (official if image_exists(official) else standin)
    if not image_exists(ref):
        sys.exit(f"{var}: base image {ref} not found; set {var} or run scripts/build-base-images.sh")
    return ref


def size_mb(ref: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", ref).stdout) / 1e6


def copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def build(ctx: Path, app: str, tag: str, base_arg: str, base: str) -> float:
    # A new revision and date on every build, as in CI: they must not invalidate cached layers.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args = ["build", "-q", "-f", f"dockerfiles/{app}.Dockerfile", "--target", "runtime", "-t", tag,
            "--build-arg", f"{base_arg}={base}", "--build-arg", f"VCS_REF=bench-{time.time_ns()}",
            "--build-arg", f"BUILD_DATE={stamp}"]
    if Path(CA).exists():
        args += ["--secret", f"id=ca,src={CA}"]
    started = time.monotonic()
    docker(*args, ".", cwd=ctx)
    return time.monotonic() - started


def touch(path: Path, comment: str) -> None:
    with path.open("a") as f:
        f.write(f"\n{comment} bench edit {time.time_ns()}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag-prefix", default="blog-creator-bench")
    opts = parser.parse_args()
    bases = {
        "backend": ("PYTHON_IMAGE", pick_base("PYTHON_IMAGE", "python:3.13-slim", "local/python:3.13-slim")),
        "frontend": ("NODE_IMAGE", pick_base("NODE_IMAGE", "node:22-slim", "local/node:22-slim")),
    }
    tags = {app: f"{opts.tag_prefix}/{app}:runtime" for app in bases}
    times: dict[str, dict[str, float]] = {app: {} for app in bases}
    with tempfile.TemporaryDirectory(prefix="blog-bench-") as tmp:
        ctx = Path(tmp)
        copy_repo(ctx)
        for app, (arg, base) in bases.items():
            times[app]["first (this session)"] = build(ctx, app, tags[app], arg, base)
            times[app]["no change"] = build(ctx, app, tags[app], arg, base)
        touch(ctx / BACKEND_FILE, "#")
        times["backend"]["one source file changed"] = build(ctx, "backend", tags["backend"], *bases["backend"])
        touch(ctx / FRONTEND_PAGE, "//")
        times["frontend"]["one page changed"] = build(ctx, "frontend", tags["frontend"], *bases["frontend"])

    print("## Image sizes (runtime target)\n")
    print("| image | base | base MB | total MB | added MB | goal total / added |")
    print("|---|---|---:|---:|---:|---|")
    for app, (_, base) in bases.items():
        total, base_mb = size_mb(tags[app]), size_mb(base)
        goal = GOALS[app]
        print(f"| {app} | `{base}` | {base_mb:.1f} | {total:.1f} | {total - base_mb:.1f} | "
              f"<= {goal['total']} / <= {goal['added']} |")
    print("\n## Rebuild times (seconds, BuildKit cache warm)\n")
    print("| image | scenario | seconds |")
    print("|---|---|---:|")
    for app, rows in times.items():
        for scenario, seconds in rows.items():
            print(f"| {app} | {scenario} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
