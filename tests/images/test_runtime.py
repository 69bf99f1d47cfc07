"""Both runtime images serve real traffic with a read-only root filesystem (tmpfs at /tmp),
as non-root, report healthy to Docker, and the frontend renders pages with data from the backend."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from images_docker import Container, docker, http_get, wait_until
from images_stack import start_backend, start_frontend


@pytest.fixture(scope="module")
def running_app(backend_runtime: str, frontend_runtime: str) -> Iterator[dict]:
    net = f"blogimg-rt-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--label", "blog-creator-test=1", net)
    started: list[Container] = []
    try:
        backend, backend_url = start_backend(backend_runtime, net)
        started.append(backend)
        frontend, frontend_url = start_frontend(frontend_runtime, net)
        started.append(frontend)
        yield {"backend": backend, "backend_url": backend_url, "frontend": frontend, "frontend_url": frontend_url}
    finally:
        for c in started:
            c.remove()
        docker("network", "rm", net, check=False)


def test_backend_health_and_readiness(running_app: dict) -> None:
    url = running_app["backend_url"]
    status, body, headers = http_get(url + "/healthz", headers={"X-Request-ID": "img-test-1"})
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert headers.get("X-Request-ID") == "img-test-1"
    status, body, _ = http_get(url + "/readyz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"
    status, body, _ = http_get(url + "/metrics")
    assert status == 200 and b"# TYPE" in body


def test_runtime_containers_are_read_only_and_non_root(running_app: dict) -> None:
    for name in ("backend", "frontend"):
        c: Container = running_app[name]
        info = c.inspect()
        assert info["HostConfig"]["ReadonlyRootfs"] is True
        assert docker("exec", c.cid, "id", "-u").stdout.strip() == "10001"
        # The root filesystem really is read-only for the app user.
        probe = docker("exec", c.cid, "sh", "-c", "touch /app/probe", check=False)
        assert probe.returncode != 0 and "Read-only file system" in probe.stderr


def test_docker_healthchecks_report_healthy(running_app: dict) -> None:
    for name in ("backend", "frontend"):
        c: Container = running_app[name]
        wait_until(lambda c=c: c.health() == "healthy", 60, f"{name} HEALTHCHECK healthy")


def test_frontend_health_and_rendered_pages(running_app: dict) -> None:
    url = running_app["frontend_url"]
    status, body, _ = http_get(url + "/api/health")
    assert status == 200, body
    status, body, headers = http_get(url + "/login")
    assert status == 200 and headers.get("Content-Type", "").startswith("text/html")
    assert b"<html" in body and b"</html>" in body


def test_frontend_renders_backend_data(running_app: dict) -> None:
    """Register and sign in through the frontend, then a server-rendered page shows backend data."""
    url = running_app["frontend_url"]
    email = f"img-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=url, headers={"Origin": url}, timeout=30) as client:
        r = client.post("/api/auth/register", json={"email": email, "password": "correct horse 42", "full_name": "Ada Image"})
        assert r.status_code in (200, 201), r.text
        r = client.post("/api/auth/login", json={"email": email, "password": "correct horse 42"})
        assert r.status_code == 200, r.text
        r = client.get("/api/bff/auth/me")
        assert r.status_code == 200 and r.json()["email"] == email, r.text
        page = client.get("/settings")
        assert page.status_code == 200, page.text[:500]
        assert email in page.text, "the server-rendered settings page should show the signed-in user"
