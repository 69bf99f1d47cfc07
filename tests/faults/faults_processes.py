"""Real processes for the fault tests: redis-server (AOF on), uvicorn, and a user client.

Nothing is mocked: the backend is the app from backend/ run by backend/.venv, Redis is the
Debian redis-server. Every process is started on a free port and killed at teardown.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"
BACKEND_PYTHON = BACKEND / ".venv" / "bin" / "python"
REDIS_SERVER = (
    os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server") or "/usr/bin/redis-server"
)
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """redis-server with AOF (appendfsync always: an acknowledged write is on disk)."""

    def __init__(
        self, data_dir: Path, port: int | None = None, dbfilename: str = "dump.rdb"
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.dbfilename = dbfilename
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, appendonly: bool = True) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--dbfilename",
            self.dbfilename,
            "--appendonly",
            "yes" if appendonly else "no",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ping, 10, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            return self.cli("PING") == "PONG"
        except (OSError, subprocess.SubprocessError):
            return False

    def cli(self, *args: str) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
            sock.sendall(payload.encode())
            reply = sock.recv(65536).decode()
        return reply[1:].split("\r\n", 1)[0] if reply[:1] in "+-:" else reply

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Backend:
    """uvicorn app.main:app from backend/.venv on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "ELASTICSEARCH_"))
        }
        env.update(self.env)
        self.port = free_port()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(BACKEND_PYTHON),
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=BACKEND,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, 30, f"backend readiness on {self.url} (log: {self.log_path})")

    def _ready(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise AssertionError(
                f"backend exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}"
            )
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(15)


def backend_env(redis_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "REDIS_URL": redis_url,
        "DATABASE_PATH": str(data_dir / "blog.sqlite3"),
        "JWT_SECRET": "fault-tests-" + "x" * 40,
        "RATE_LIMIT_ENABLED": "false",
        "MAX_UPLOAD_BYTES": str(20 * 1024 * 1024),
        "LOG_LEVEL": "WARNING",
    }


class Client:
    """One user's session against a backend: register, login, upload, drafts."""

    def __init__(self, base_url: str, email: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30)
        self.email = email
        self.token = ""

    def register(self) -> None:
        response = self.http.post(
            "/auth/register",
            json={"email": self.email, "password": PASSWORD, "full_name": "Fault Test"},
        )
        assert response.status_code == 201, response.text

    def login(self) -> None:
        response = self.http.post("/auth/login", json={"email": self.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def upload(self, name: str, text: str) -> httpx.Response:
        return self.http.post("/documents", files={"file": (name, text.encode(), "text/markdown")})

    def generate(self, document_id: str) -> httpx.Response:
        return self.http.post(
            "/drafts/generate", json={"document_ids": [document_id], "topic": "faults"}
        )

    def documents(self) -> dict[str, dict]:
        response = self.http.get("/documents", params={"limit": 100})
        assert response.status_code == 200, response.text
        return {item["id"]: item for item in response.json()["items"]}

    def drafts(self) -> dict[str, dict]:
        response = self.http.get("/drafts", params={"limit": 100})
        assert response.status_code == 200, response.text
        return {item["id"]: item for item in response.json()["items"]}

    def search(self, query: str) -> list[dict]:
        response = self.http.post("/documents/search", json={"query": query, "k": 50})
        assert response.status_code == 200, response.text
        return response.json()["results"]
