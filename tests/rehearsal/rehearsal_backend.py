"""The real backend app under uvicorn from backend/.venv, on loopback with SQLite, for the
rehearsal's unit tests (the smoke credential, the drills' fault layer)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
UVICORN = ROOT / "backend/.venv/bin/uvicorn"
# Settings of the developer's shell that would point the app at real services.
_FOREIGN = ("REDIS_", "ELASTICSEARCH_", "OPENAI_", "RATE_LIMIT_", "REHEARSAL_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_backend(
    app: str, work: Path, name: str, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """Serve `app` (e.g. `app.main:app`) until the block ends; yields its base URL once
    /healthz answers. Its log is work/<name>.log (its tail is in every failure)."""
    if not UVICORN.exists():
        pytest.fail(f"{UVICORN} missing: run `cd backend && uv sync --locked`", pytrace=False)
    port = free_port()
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
        | {
            "APP_ENV": "test",
            "JWT_SECRET": secrets.token_hex(32),
            "DATABASE_PATH": str(work / f"{name}.sqlite3"),
            "LOG_LEVEL": "WARNING",
        }
        | (extra_env or {})
    )
    log = work / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(UVICORN), app, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT / "backend",
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).json().get("status"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
