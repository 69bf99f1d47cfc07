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
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rehearsal_backend import serve_backend

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def serve(fault: str, work: Path) -> Iterator[str]:
    extra = {"PYTHONPATH": f"{ROOT / 'backend'}:{HERE / 'faults'}", "REHEARSAL_FAULT": fault}
    with serve_backend("rehearsal_fault:app", work, fault, extra) as url:
        yield url


@pytest.fixture(params=["error-share", "never-ready", "unscraped"])
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    for url in serve(request.param, tmp_path):
        yield request.param, url


def test_each_fault_misbehaves_only_where_it_says(faulty: tuple[str, str]) -> None:
    fault, url = faulty
    with httpx.Client(base_url=url, timeout=10) as client:
        me = [client.get("/api/v1/auth/me").status_code for _ in range(80)]
        ready = client.get("/readyz").status_code
        healthz = client.get("/healthz").status_code
        metrics = client.get("/metrics")
    assert healthz == 200  # startup and liveness pass in every variant
    if fault == "error-share":
        assert me.count(500) == 2 and me.count(401) == 78, me  # every 40th request
        assert me[0] == 500 and me[40] == 500, me
        assert ready == 200 and metrics.status_code == 200
        counted = re.findall(r'^http_requests_total\{[^}]*status="500"\} (\S+)$', metrics.text, re.MULTILINE)
        assert [float(v) for v in counted] == [2.0], metrics.text  # the product's metrics see them
    elif fault == "never-ready":
        assert me == [401] * 80 and ready == 503 and metrics.status_code == 200
    else:
        assert me == [401] * 80 and ready == 200 and metrics.status_code == 404


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
