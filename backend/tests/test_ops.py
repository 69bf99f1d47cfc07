"""Health, readiness, metrics, request ids, security headers, CORS, logs."""

from __future__ import annotations

import json
import logging

from app.logs import JsonFormatter, request_id_var
from tests.conftest import free_port


async def test_healthz(api):
    response = await api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_names_checked_dependencies(api):
    response = await api.client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    expected = {"sqlite"} if api.state.settings.redis_url is None else {"redis", api.state.backends.index.name}
    assert set(body["checks"]) == expected and set(body["checks"].values()) == {"ok"}


async def test_readyz_is_503_while_shutting_down(api):
    api.state.shutting_down = True
    response = await api.client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "shutting down"
    assert (await api.client.get("/healthz")).status_code == 200


async def test_redis_down_gives_503_naming_redis(make_api, redis_url, tmp_path):
    # A port nobody listens on: the Redis client cannot connect.
    api = await make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = await api.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable: redis" and body["checks"]["redis"].startswith("unavailable")
    register = await api.client.post(
        "/api/v1/auth/register", json={"email": "a@example.com", "password": "longenough", "full_name": "A"}
    )
    assert register.status_code == 503 and register.json() == {"detail": "redis is unavailable, retry later"}
    metrics = (await api.client.get("/metrics")).text
    assert 'dependency_errors_total{dependency="redis"}' in metrics


async def test_metrics_use_route_templates(api):
    headers = await api.signup()
    await api.client.get("/api/v1/documents/abc123", headers=headers)
    await api.client.get("/nope")
    response = await api.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{method="GET",route="/api/v1/documents/{document_id}",status="404"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text and "http_requests_in_progress" in text
    assert "abc123" not in text


async def test_request_id_is_echoed_or_generated(api):
    echoed = await api.client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"
    generated = await api.client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


async def test_security_headers_on_every_response(api):
    for path in ("/healthz", "/api/v1/auth/me", "/does-not-exist"):
        headers = (await api.client.get(path)).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "strict-transport-security" not in headers
    docs = await api.client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


async def test_hsts_when_enabled(make_api):
    api = await make_api(hsts_enabled=True)
    assert "max-age=" in (await api.client.get("/healthz")).headers["strict-transport-security"]


async def test_cors_allows_only_configured_origins(make_api):
    api = await make_api(cors_origins="https://app.example.com, https://admin.example.com")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Authorization"}
    allowed = await api.client.options("/api/v1/documents", headers={"Origin": "https://app.example.com", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    denied = await api.client.options("/api/v1/documents", headers={"Origin": "https://evil.example.com", **preflight})
    assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers


async def test_openapi_lists_the_api(api):
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/auth/register", "/api/v1/documents/search", "/api/v1/drafts/{draft_id}/export"):
        assert path in paths


async def test_audit_log_for_sign_ins_without_secrets(api, caplog):
    caplog.set_level(logging.INFO, logger="app.audit")
    await api.signup("audit@example.com", password="super-secret-pw")
    await api.client.post("/api/v1/auth/login", json={"email": "audit@example.com", "password": "wrong-password"})
    events = [record.event for record in caplog.records if getattr(record, "audit", False)]
    assert events == ["user.registered", "auth.login", "auth.login_failed"]
    assert "super-secret-pw" not in caplog.text and "wrong-password" not in caplog.text


def test_json_formatter_includes_request_id_and_extras():
    token = request_id_var.set("req-1")
    try:
        record = logging.LogRecord("app.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        record.user_id = "u1"
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello world" and line["request_id"] == "req-1" and line["user_id"] == "u1"
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")


def test_json_formatter_includes_exceptions():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("app.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "RuntimeError: boom" in line["exc_info"] and "request_id" not in line


async def test_every_route_has_a_metrics_template(api):
    # app/api/main.py's MOUNTS is the one router list: what the app serves and what metrics label.
    from app.api.main import route_templates

    served = set(api.app.openapi()["paths"])
    templates = set(route_templates().values())
    assert served and served <= templates, sorted(served - templates)
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/auth/me", "/api/v1/drafts/{draft_id}/export"} <= templates
