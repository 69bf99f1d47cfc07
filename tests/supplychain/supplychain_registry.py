"""A throwaway OCI registry: Debian's docker-registry (distribution 2.8) with htpasswd auth."""

from __future__ import annotations

import base64
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import yaml
from supplychain_tools import find_tool, run


@dataclass(frozen=True)
class Registry:
    host: str  # "127.0.0.1:PORT": docker talks plain HTTP to 127.0.0.0/8 registries
    username: str
    password: str
    process: subprocess.Popen

    def request(
        self,
        path: str,
        auth: tuple[str, str] | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, bytes, Message]:
        """One HTTP call to the registry API -> (status, body, headers)."""
        req = urllib.request.Request(
            f"http://{self.host}{path}", method=method, data=data, headers=dict(headers or {})
        )
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.headers

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_htpasswd(path: Path, username: str, password: str) -> None:
    """bcrypt entry (the only scheme distribution accepts); the password goes through stdin."""
    proc = run([find_tool("htpasswd"), "-niB", username], input=password, timeout=30)
    entry = proc.stdout.strip()
    assert entry.startswith(f"{username}:$2y$"), "htpasswd did not produce a bcrypt entry"
    path.write_text(entry + "\n")
    path.chmod(0o600)


def start_registry(workdir: Path) -> Registry:
    binary = find_tool("docker-registry")
    username, password = "ci-publisher", secrets.token_urlsafe(24)
    htpasswd = workdir / "htpasswd"
    write_htpasswd(htpasswd, username, password)
    host = f"127.0.0.1:{_free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": host, "secret": secrets.token_hex(16)},
        "auth": {"htpasswd": {"realm": "blog-creator-supplychain", "path": str(htpasswd)}},
    }
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = (workdir / "registry.log").open("wb")
    process = subprocess.Popen(
        [binary, "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT
    )
    registry = Registry(host, username, password, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"docker-registry exited {process.returncode}: "
                f"{(workdir / 'registry.log').read_text()[-2000:]}"
            )
        try:
            if registry.request("/v2/")[0] == 401:
                return registry
        except OSError:
            pass
        time.sleep(0.2)
    stop_registry(registry)
    raise AssertionError(f"docker-registry did not answer on {host} within 30s")


def stop_registry(registry: Registry) -> None:
    registry.process.terminate()
    try:
        registry.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        registry.process.kill()
        registry.process.wait(timeout=10)
