"""Pure-ASGI middleware: request id, access log, metrics and security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id_var
from app.metrics import IN_FLIGHT, LATENCY, REQUESTS

access_logger = logging.getLogger("app.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI / ReDoc load their assets from jsdelivr.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class BodyTooLargeError(HTTPException):
    """Raised from `receive` once the streamed body passes the limit; an HTTPException so
    FastAPI's body parsing re-raises it and the exception middleware answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: the limit is {limit} bytes")


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        hsts: bool = False,
        templates: dict[object, str] | None = None,
        max_body_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.max_body_bytes = max_body_bytes
        # endpoint -> full path template; routers included with a prefix report their own path.
        self.templates = templates or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        incoming = request_headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        path = scope["path"]
        secure = self.hsts or scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Resource-Policy"] = "same-site"
                headers["Content-Security-Policy"] = DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP
                if secure:
                    headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
            await send(message)

        IN_FLIGHT.inc()
        try:
            if self._declared_too_large(request_headers):
                await self._refuse(scope, receive, send_wrapper)
            else:
                await self._call_counting_body(scope, receive, send_wrapper)
        finally:
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = self.templates.get(getattr(route, "endpoint", None)) or getattr(route, "path_format", None) or "unmatched"
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            access_logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": path,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)

    def _declared_too_large(self, headers: dict[bytes, bytes]) -> bool:
        declared = headers.get(b"content-length", b"")
        return declared.isdigit() and int(declared) > self.max_body_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLargeError(self.max_body_bytes)
        await JSONResponse({"detail": error.detail}, status_code=error.status_code)(scope, receive, send)

    async def _call_counting_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Chunked bodies (no Content-Length) or ones longer than declared: count bytes as they
        arrive and stop reading once past the limit, instead of spooling the whole upload."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            return message

        await self.app(scope, counting_receive, send)
