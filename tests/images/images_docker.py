"""Small helpers around the docker CLI for the image tests (no SDK: the CLI is what CI has)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Appended to the CA bundle given to builds as a BuildKit secret: no image layer may hold it.
CA_CANARY = b"# blog-creator-build-secret-canary-7f3c9a1e"
# Debian's CLI has BuildKit built in; a newer CLI without the buildx plugin cannot build with it.
DOCKER = os.environ.get("DOCKER") or ("/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker")
STANDIN_IMAGES = {"PYTHON_IMAGE": "local/python:3.13-slim", "NODE_IMAGE": "local/node:22-slim"}


def docker(*args: str, check: bool = True, timeout: float = 600, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1", **kw.pop("env", {})}
    proc = subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False, **kw
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout (tail)\n{proc.stdout[-4000:]}\n--- stderr (tail)\n{proc.stderr[-4000:]}"
        )
    return proc


def image_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, check=False).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5, headers: dict[str, str] | None = None) -> tuple[int, bytes, Message]:
    """GET -> (status, body, headers); headers are looked up case-insensitively."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def http_json(method: str, url: str, body: object | None = None, token: str | None = None,
              timeout: float = 15) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def wait_until(predicate, timeout: float, what: str | Callable[[], str], interval: float = 0.5):
    """Poll `predicate` until truthy; on timeout fail naming `what` (a callable: built only then)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
            last = result
        except Exception as exc:  # noqa: BLE001 - any error means "not up yet"; reported on timeout
            last = exc
        time.sleep(interval)
    what = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@dataclass
class Container:
    cid: str

    def logs(self) -> str:
        p = docker("logs", self.cid, check=False)
        return p.stdout + p.stderr

    def inspect(self) -> dict:
        return json.loads(docker("inspect", self.cid).stdout)[0]

    def health(self) -> str:
        return self.inspect()["State"].get("Health", {}).get("Status", "none")

    def remove(self) -> None:
        docker("rm", "-f", "-v", self.cid, check=False)


def run_detached(image: str, *args: str, name_hint: str = "blogimg") -> Container:
    cid = docker("run", "-d", "--label", "blog-creator-test=1", *args, image).stdout.strip()
    return Container(cid)


def which_or_fail(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise AssertionError(f"{tool} is not installed (see scripts/docker-setup.sh / .ci/run)")
    return path
