"""Security headers on both apps: the backend API (success and error answers) and the
frontend's production standalone server (pages, redirects, 404s, its API routes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from hostile_support import API, REPO, Backend, User, clean_env, free_port, stop, wait_for_http

FRONTEND = REPO / "frontend"
STANDALONE = FRONTEND / ".next/standalone/server.js"
NODE = os.environ.get("NODE_BIN") or shutil.which("node")

BACKEND_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
FRONTEND_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
}


def assert_headers(response: httpx.Response, expected: dict[str, str], *, request_id: bool = True) -> None:
    for name, value in expected.items():
        assert response.headers.get(name) == value, f"{response.request.url}: {name}={response.headers.get(name)!r}"
    assert "x-powered-by" not in response.headers
    if request_id:
        assert response.headers.get("x-request-id")


def backend_requests(backend: Backend, user: User) -> Iterator[httpx.Response]:
    with backend.client() as anonymous, backend.client(**user.headers) as client:
        yield anonymous.get("/healthz")
        yield anonymous.get("/readyz")
        yield anonymous.get("/metrics")
        yield anonymous.get(f"{API}/documents")  # 401
        yield client.get(f"{API}/auth/me")
        yield client.get(f"{API}/documents/does-not-exist")  # 404
        yield client.get(f"{API}/documents", params={"limit": 0})  # 422
        yield client.post(f"{API}/documents", files={"file": ("x.exe", b"MZ")})  # 415
        yield anonymous.get("/no/such/route")  # 404 outside the API


def test_backend_sends_security_headers_on_every_kind_of_answer(backend: Backend, user: User) -> None:
    statuses = set()
    for response in backend_requests(backend, user):
        statuses.add(response.status_code)
        assert_headers(response, BACKEND_HEADERS)
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp, f"{response.request.url}: CSP {csp!r}"
        assert "strict-transport-security" not in response.headers  # plain http: HSTS only over https
    assert {200, 401, 404, 415, 422} <= statuses


def test_backend_sends_hsts_when_the_proxy_says_https(backend: Backend) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 by default (--forwarded-allow-ips).
    with backend.client() as client:
        response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in response.headers.get("strict-transport-security", "")


def test_backend_docs_page_gets_its_own_csp(backend: Backend) -> None:
    with backend.client() as client:
        response = client.get("/docs")
    assert response.status_code == 200
    assert_headers(response, BACKEND_HEADERS)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"] or "default-src" in response.headers["content-security-policy"]


@pytest.fixture(scope="module")
def frontend(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if NODE is None:
        pytest.fail("node not found: install Node.js 20+ (or set NODE_BIN)", pytrace=False)
    if not STANDALONE.exists():
        pytest.fail(f"{STANDALONE} missing: run `cd frontend && npm ci && npm run build` first", pytrace=False)
    port = free_port()
    log = tmp_path_factory.mktemp("frontend") / "frontend.log"
    env = clean_env() | {
        "NODE_ENV": "production", "PORT": str(port), "HOSTNAME": "127.0.0.1",
        "API_URL": backend.url, "NEXT_TELEMETRY_DISABLED": "1",
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [NODE, str(STANDALONE)], cwd=STANDALONE.parent, env=env,
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/api/health", process, log, 60)
        yield url
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/register", 200), ("/dashboard", 307), ("/api/health", 200)],
)
def test_frontend_sends_security_headers(frontend: str, path: str, status: int) -> None:
    with httpx.Client(base_url=frontend, timeout=30, follow_redirects=False) as client:
        response = client.get(path)
    assert response.status_code == status, response.text[:500]
    # Pages carry the request id the proxy forwards to the backend; /api/health is static.
    assert_headers(response, FRONTEND_HEADERS, request_id=not path.startswith("/api/"))
    assert "camera=()" in response.headers.get("permissions-policy", "")
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp
    if path.startswith("/api/"):
        assert csp.startswith("default-src 'none'")
    else:
        assert "'nonce-" in csp and "'unsafe-inline'" not in csp and "object-src 'none'" in csp
    if status == 200 and not path.startswith("/api/"):
        nonce = csp.split("'nonce-")[1].split("'")[0]
        assert f'nonce="{nonce}"' in response.text  # the page's scripts carry this response's nonce


def test_frontend_sends_hsts_behind_https(frontend: str) -> None:
    with httpx.Client(base_url=frontend, timeout=30) as client:
        response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in response.headers.get("strict-transport-security", "")
