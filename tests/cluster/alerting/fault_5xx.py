"""The backend of the alert drill's faulty release: the real app, with every second request
answered 500 — except the kubelet's probes and Prometheus' scrapes, so the pods stay Ready and
keep being scraped while their users get errors (the outage the error-ratio alert is for).

Test-only (tests/cluster/alerting/fault-5xx.Dockerfile): the product has no fault switch. The
middleware is appended as the innermost user middleware, inside the app's own
RequestContextMiddleware, so the 500s are counted in http_requests_total like real ones
(with the route that handled the request).
"""

from __future__ import annotations

import json
from typing import Any

from app.main import app
from starlette.middleware import Middleware

EVERY = 2  # one request in EVERY fails: a 50 % 5xx ratio
SPARED_PATHS = {"/metrics"}


class FailEverySecondRequest:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in SPARED_PATHS or _is_probe(scope):
            await self.app(scope, receive, send)
            return
        self.seen += 1
        if self.seen % EVERY:
            await self.app(scope, receive, send)
            return

        async def swallow(message: dict[str, Any]) -> None:
            pass

        # The request is routed and handled (so http_requests_total names its route), then
        # its answer is replaced by a 500.
        await self.app(scope, receive, swallow)
        body = json.dumps({"detail": "injected failure (alert drill)"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _is_probe(scope: dict[str, Any]) -> bool:
    agent = dict(scope.get("headers") or []).get(b"user-agent", b"")
    return agent.startswith(b"kube-probe/")


app.user_middleware.append(Middleware(FailEverySecondRequest))
