"""A real backend (uvicorn from backend/.venv) for the hostile-input suite, started once per session."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
UVICORN = BACKEND / ".venv/bin/uvicorn"
API = "/api/v1"
MAX_UPLOAD_BYTES = 1024 * 1024  # small, so the oversized upload stays cheap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError as error:
            last = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s ({last}):\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass(frozen=True)
class Backend:
    url: str
    jwt_secret: str

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@dataclass(frozen=True)
class User:
    email: str
    id: str
    token: str
    headers: dict[str, str]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "ELASTICSEARCH_", "OPENAI_", "RATE_LIMIT_"))}
    env.pop("API_URL", None)
    return env


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if not UVICORN.exists():
        pytest.fail(f"{UVICORN} missing: run `cd backend && uv sync --locked` first", pytrace=False)
    work = tmp_path_factory.mktemp("backend")
    port = free_port()
    secret = secrets.token_hex(32)
    # Kept after the run (pytest prunes its temp dirs): the first place to look on a 500.
    reports = Path(os.environ.get("REPORTS_DIR", REPO / "reports")) / "hostile"
    reports.mkdir(parents=True, exist_ok=True)
    log = reports / "backend.log"
    env = clean_env() | {
        "APP_ENV": "test",
        "JWT_SECRET": secret,
        "DATABASE_PATH": str(work / "hostile.sqlite3"),
        "GENERATION_PROVIDER": "extractive",
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "RATE_LIMIT_AUTH_REQUESTS": "1000000",
        "RATE_LIMIT_GENERATE_REQUESTS": "1000000",
        "LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(UVICORN), "app.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=BACKEND, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz", process, log, 60)
        yield Backend(url=url, jwt_secret=secret)
    finally:
        stop(process)


def register(backend: Backend, name: str = "user") -> User:
    email = f"{name}-{uuid.uuid4().hex[:12]}@example.com"
    password = secrets.token_urlsafe(16)
    with backend.client() as client:
        created = client.post(f"{API}/auth/register", json={"email": email, "password": password, "full_name": name})
        assert created.status_code == 201, created.text
        login = client.post(f"{API}/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    return User(email=email, id=created.json()["id"], token=token, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="session")
def user(backend: Backend) -> User:
    return register(backend, "alice")
