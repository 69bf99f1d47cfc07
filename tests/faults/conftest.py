"""Fixtures for the fault tests: real redis-server and uvicorn processes on loopback."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_processes import BACKEND_PYTHON, REDIS_SERVER, Backend, RedisServer, backend_env


@pytest.fixture(scope="session", autouse=True)
def _tools_present() -> None:
    # Fail loudly (not skip) when CI lacks a tool: these tests are the evidence.
    if not Path(REDIS_SERVER).exists():
        pytest.fail(
            f"redis-server not found ({REDIS_SERVER}): apt-get install redis-server or set REDIS_SERVER_BIN"
        )
    if not BACKEND_PYTHON.exists():
        pytest.fail(f"{BACKEND_PYTHON} missing: run `cd backend && uv sync --locked`")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def backend_factory(tmp_path: Path) -> Iterator:
    started: list[Backend] = []

    def make(redis_url: str, data_dir: Path | None = None) -> Backend:
        directory = data_dir or tmp_path / "backend"
        directory.mkdir(parents=True, exist_ok=True)
        backend = Backend(
            backend_env(redis_url, directory), tmp_path / f"backend-{len(started)}.log"
        )
        started.append(backend)
        backend.start()
        return backend

    yield make
    for backend in started:
        backend.kill(signal.SIGKILL)
