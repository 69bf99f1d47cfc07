"""OpenTelemetry: off by default; with OTEL_EXPORTER_OTLP_ENDPOINT spans reach the collector.

A local HTTP server stands in for an OTLP/HTTP collector (OpenTelemetry Collector, Tempo, ...).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from asgi_lifespan import LifespanManager

from app.main import create_app
from app.settings import Settings
from app.telemetry import setup_tracing


def test_tracing_is_off_without_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert setup_tracing(object()) is None  # type: ignore[arg-type]


async def test_spans_are_exported_to_the_otlp_endpoint(monkeypatch, tmp_path):
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "blog-test")
        app = create_app(
            Settings(
                _env_file=None, app_env="test", database_path=str(tmp_path / "db.sqlite3"), redis_url=None, elasticsearch_url=None
            )
        )
        async with LifespanManager(app) as manager:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as client:
                response = await client.post(
                    "/api/v1/auth/register", json={"email": "o@example.com", "password": "longenough", "full_name": "O"}
                )
                assert response.status_code == 201
        # Lifespan shutdown flushed the batch processor.
        assert received, "no spans exported"
        path, payload = received[0]
        assert path == "/v1/traces"
        assert b"blog-test" in payload and b"/api/v1/auth/register" in payload
    finally:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        HTTPXClientInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
        server.shutdown()
        server.server_close()
