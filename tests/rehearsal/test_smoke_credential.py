"""D4: the smoke credential is an API key of a test account, sent as X-API-Key.

A real backend (uvicorn from backend/.venv, SQLite, loopback) and the deploy runtime's own smoke
phase (`pipeline.deploy.verify.smoke` with the real `SubprocessClusterTools.http_get`): the key
is made through the API (register → login → POST /api/v1/auth/api-keys), then the smoke phase
passes with it on `/api/v1/auth/me`, and fails with a revoked or wrong key. The access JWT used
to create the key expires in 15 minutes; the key does not, which is why it can be a CI secret.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rehearsal_backend import serve_backend

from pipeline.deploy.report import DeployReport
from pipeline.deploy.request import DeployRequest, DeployTarget, ImageRef, SmokeCheck
from pipeline.deploy.tools import SubprocessClusterTools, SystemClock
from pipeline.deploy.verify import Run, smoke

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_backend("app.main:app", tmp_path_factory.mktemp("smoke-backend"), "smoke") as url:
        yield url


def api_key(url: str) -> tuple[str, str, str]:
    """(key, key id, access token) of a fresh test account."""
    email, password = f"smoke-{uuid.uuid4().hex[:10]}@example.com", secrets.token_urlsafe(16)
    with httpx.Client(base_url=url, timeout=30) as client:
        assert (
            client.post(
                f"{API}/auth/register",
                json={"email": email, "password": password, "full_name": "smoke"},
            ).status_code
            == 201
        )
        token = client.post(
            f"{API}/auth/login", json={"email": email, "password": password}
        ).json()["access_token"]
        created = client.post(
            f"{API}/auth/api-keys",
            json={"name": "ci-smoke"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        return created.json()["key"], created.json()["id"], token


def run_smoke(url: str, key: str) -> tuple[list[str], DeployReport]:
    target = DeployTarget(
        env="staging",
        namespace="blog-staging",
        values_file="k8s/environments/staging.yaml",
        strategy="blueGreen",
        url=url,
        timeout_seconds=10,
        smoke_checks=(SmokeCheck("api", f"{API}/auth/me", authenticated=True),),
    )
    images = {
        app: ImageRef.parse(f"registry.local/{app}@sha256:{'a' * 64}", app)
        for app in ("backend", "frontend")
    }
    request = DeployRequest(target=target, images=images, smoke_token=key)
    report = DeployReport("deploy", "staging", "blog-staging", "blog-creator", "blueGreen")
    run = Run(report, SystemClock())
    return smoke(SubprocessClusterTools(), SystemClock(), request, run, ""), report


def test_the_smoke_check_authenticates_with_an_api_key(backend: str) -> None:
    key, key_id, token = api_key(backend)
    failures, report = run_smoke(backend, key)
    assert failures == [], failures
    (check,) = report.verification
    assert check.passed and "200" in check.detail
    assert key not in check.detail  # the credential never reaches the report
    # Revoked (or wrong) keys fail the smoke check: it really authenticates.
    revoked = httpx.delete(
        f"{backend}{API}/auth/api-keys/{key_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert revoked.status_code == 204
    failures, report = run_smoke(backend, key)
    assert failures and "401" in report.verification[0].detail
