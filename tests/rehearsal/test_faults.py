"""The drills' TEST-ONLY fault layer (faults/rehearsal_fault.py) on the real backend app.

uvicorn from backend/.venv serves `rehearsal_fault:app` (the product's app with the fault's
middleware innermost), SQLite, loopback — the command of faults/backend-fault.Dockerfile. Each
fault misbehaves as the drill needs, only where it says, and the error share is recorded by the
product's own request metrics (what the canary analysis queries in Prometheus).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
UVICORN = ROOT / "backend/.venv/bin/uvicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(fault: str, work: Path) -> Iterator[str]:
    if not UVICORN.exists():
        pytest.fail(f"{UVICORN} missing: run `cd backend && uv sync --locked`", pytrace=False)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "ELASTICSEARCH_", "OPENAI_", "RATE_LIMIT_", "REHEARSAL_"))
    } | {
        "APP_ENV": "test",
        "JWT_SECRET": secrets.token_hex(32),
        "DATABASE_PATH": str(work / f"{fault}.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT / 'backend'}:{HERE / 'faults'}",
        "REHEARSAL_FAULT": fault,
    }
    log = work / f"{fault}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(UVICORN), "rehearsal_fault:app", "--host", "127.0.0.1", "--port", str(port)],
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


@pytest.fixture(params=["error-share", "never-ready", "unscraped"])
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    for url in serve(request.param, tmp_path):
        yield request.param, url


def test_each_fault_misbehaves_only_where_it_says(faulty: tuple[str, str]) -> None:
    fault, url = faulty
    with httpx.Client(base_url=url, timeout=10) as client:
        me = [client.get("/api/v1/auth/me").status_code for _ in range(10)]
        ready = client.get("/readyz").status_code
        healthz = client.get("/healthz").status_code
        metrics = client.get("/metrics")
    assert healthz == 200  # startup and liveness pass in every variant
    if fault == "error-share":
        assert me.count(500) == 5 and me.count(401) == 5, me  # every second request
        assert ready == 200 and metrics.status_code == 200
        counted = re.findall(r'^http_requests_total\{[^}]*status="500"\} (\S+)$', metrics.text, re.MULTILINE)
        assert [float(v) for v in counted] == [5.0], metrics.text  # the product's metrics see them
    elif fault == "never-ready":
        assert me == [401] * 10 and ready == 503 and metrics.status_code == 200
    else:
        assert me == [401] * 10 and ready == 200 and metrics.status_code == 404


def test_an_unknown_fault_refuses_to_start(tmp_path: Path) -> None:
    env = os.environ | {
        "PYTHONPATH": f"{ROOT / 'backend'}:{HERE / 'faults'}",
        "REHEARSAL_FAULT": "typo",
        "JWT_SECRET": secrets.token_hex(32),
        "APP_ENV": "test",
        "DATABASE_PATH": str(tmp_path / "x.sqlite3"),
    }
    done = subprocess.run(
        [str(ROOT / "backend/.venv/bin/python"), "-c", "import rehearsal_fault"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0 and "REHEARSAL_FAULT='typo'" in done.stderr, done.stderr
