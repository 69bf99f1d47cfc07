"""Shared fixtures: the app on each storage backend, a real redis-server, helpers."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis import Redis

from app import security
from app.main import create_app
from app.settings import Settings

REDIS_SERVER = os.environ.get("REDIS_SERVER_BIN", "/usr/bin/redis-server")
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL")
BACKENDS = ["sqlite", "redis"] + (["redis+elasticsearch"] if ELASTICSEARCH_URL else [])
_emails = itertools.count()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """REPORTS_DIR=/reports moves junit.xml and coverage.xml (the Docker test target uses it).
    ELASTICSEARCH_REQUIRED=1 (CI) refuses to run without ELASTICSEARCH_URL instead of skipping."""
    if os.environ.get("ELASTICSEARCH_REQUIRED") == "1" and not ELASTICSEARCH_URL:
        raise pytest.UsageError(
            "ELASTICSEARCH_REQUIRED=1 but ELASTICSEARCH_URL is not set: start a server first, e.g. "
            "'scripts/elasticsearch-local.sh start --dir \"$(mktemp -d)\"' from the repository root, "
            "and export the ELASTICSEARCH_URL it prints"
        )
    reports = os.environ.get("REPORTS_DIR")
    if not reports:
        return
    Path(reports).mkdir(parents=True, exist_ok=True)
    if getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(Path(reports) / "junit.xml")
    for namespace in (config.option, config.known_args_namespace):
        cov_report = getattr(namespace, "cov_report", None)
        if isinstance(cov_report, dict) and "xml" in cov_report:
            cov_report["xml"] = str(Path(reports) / "coverage.xml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Still argon2id, with minimal cost parameters so hundreds of sign-ups stay fast.
    ARGON2_PRODUCTION=1 keeps the production parameters for the whole run (CI runs the auth
    suite so); tests/test_password_hashing.py uses them in every run."""
    if os.environ.get("ARGON2_PRODUCTION") == "1":
        yield
        return
    original = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    security._hasher = original


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free port for the whole session (or TEST_REDIS_URL's server,
    e.g. a Redis service bound by the CI pipeline; its database is flushed by the tests)."""
    if os.environ.get("SKIP_REDIS_TESTS") == "1":
        pytest.skip("SKIP_REDIS_TESTS=1: Redis-backed tests explicitly disabled")
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    binary = shutil.which(REDIS_SERVER) or shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            f"redis-server not found (looked for {REDIS_SERVER} and on PATH): install it with "
            "'apt-get install -y redis-server' or set SKIP_REDIS_TESTS=1 to skip these tests"
        )
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    client.close()
    yield url
    process.terminate()
    process.wait(timeout=10)


def _settings_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path, **overrides: Any) -> Settings:
    # Explicit values for everything backend-related, and no .env file: the developer's or the
    # CI container's environment must not silently move the "sqlite" run onto another store.
    values: dict[str, Any] = {
        "_env_file": None,
        "redis_url": None,
        "elasticsearch_url": None,
        "app_env": "test",
        "jwt_secret": "test-secret-" + "x" * 32,
        "database_path": str(tmp_path / "blog.sqlite3"),
        "rate_limit_auth_requests": 10_000,
        "rate_limit_generate_requests": 10_000,
        "log_level": "WARNING",
    }
    if kind.startswith("redis"):
        url = request.getfixturevalue("redis_url")
        Redis.from_url(url).flushdb()
        values["redis_url"] = url
    if kind == "redis+elasticsearch":
        values["elasticsearch_url"] = ELASTICSEARCH_URL
        values["elasticsearch_index"] = f"test-{os.getpid()}-{next(_emails)}"
        # Uploads wait for a refresh (refresh=wait_for): a short interval keeps the suite fast.
        values["elasticsearch_refresh_interval"] = "100ms"
    values.update(overrides)
    return Settings(**values)


class Api:
    """The app under test plus a client; `signup()` makes a user and returns auth headers."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def state(self) -> Any:
        return self.app.state.app_state

    async def signup(self, email: str | None = None, password: str = "correct-horse-1") -> dict[str, str]:
        email = email or f"user{next(_emails)}@example.com"
        response = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, "full_name": "Test User"}
        )
        assert response.status_code == 201, response.text
        response = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def upload(self, headers: dict[str, str], name: str, content: bytes) -> dict[str, Any]:
        response = await self.client.post("/api/v1/documents", files={"file": (name, content)}, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()


ApiFactory = Callable[..., Any]


@pytest.fixture(params=BACKENDS)
async def make_api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiFactory]:
    """Factory: `await make_api(**settings_overrides)` → Api on this test's backend."""
    managers: list[tuple[LifespanManager, httpx.AsyncClient, FastAPI]] = []

    async def factory(**overrides: Any) -> Api:
        app = create_app(_settings_for(request.param, request, tmp_path, **overrides))
        manager = LifespanManager(app, startup_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver")
        managers.append((manager, client, app))
        return Api(app, client)

    yield factory
    for manager, client, app in reversed(managers):
        await client.aclose()
        index = app.state.app_state.backends.index
        if index.name == "elasticsearch":  # per-test index: remove it from the real server
            await index.client.indices.delete(index=index.index, ignore_unavailable=True)
        await manager.__aexit__(None, None, None)


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api()


class StubLLM:
    """Stand-in for a SaaS OpenAI-compatible Chat Completions endpoint (which tests cannot
    call): a real local HTTP server answering from a script of (status, body, delay)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, object, float]] = []  # (status, body, delay) per call; last repeats
        self.requests: list[dict[str, object]] = []

    def reply(self, status: int = 200, body: object = None, delay: float = 0.0) -> None:
        self.script.append((status, body, delay))


def completion(text: str) -> dict[str, object]:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
    }


@pytest.fixture
def stub() -> Iterator[tuple[StubLLM, str]]:
    llm = StubLLM()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            length = int(self.headers["Content-Length"])
            llm.requests.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "body": json.loads(self.rfile.read(length))}
            )
            status, body, delay = llm.script[min(len(llm.requests), len(llm.script)) - 1]
            time.sleep(delay)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
                pass

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield llm, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def make_pdf(text_lines: list[str]) -> bytes:
    """A minimal valid PDF whose page shows the given lines in Helvetica."""
    content = (
        "BT /F1 12 Tf 72 720 Td 14 TL "
        + " ".join("(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in text_lines)
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
