"""TEST-ONLY fault layer of the rehearsal's drills (never in the product image).

The product's FastAPI app with one innermost ASGI middleware that misbehaves as REHEARSAL_FAULT
(fixed when the variant image is built, backend-fault.Dockerfile) says:

- `error-share`: every 40th request outside the probe and scrape routes answers 500
  (drill a): 2.5 %, five times prod's `analysis.maxErrorRate` (0.5 %), a subtle bug that the
  canary analysis must still catch, and few enough failed requests that the rehearsal's
  availability goal (>= 99.9 % overall) holds while the analysis catches it. Innermost, so the product's own request metrics count these 500s, exactly as
  they would count a real bug's: the canary analysis sees them in Prometheus.
- `never-ready`: `/readyz` always answers 503; startup and liveness (`/healthz`) pass (drill b).
- `unscraped`: `/metrics` answers 404, so Prometheus has no series of these pods (drill e).
"""

from __future__ import annotations

import itertools
import os

from app.main import app as product
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

FAULTS = ("error-share", "never-ready", "unscraped")
FAULT = os.environ.get("REHEARSAL_FAULT", "")
if FAULT not in FAULTS:
    raise SystemExit(f"REHEARSAL_FAULT={FAULT!r}: expected one of {', '.join(FAULTS)}")
NOT_TRAFFIC = ("/healthz", "/readyz", "/metrics")
ERROR_EVERY = 40


class Fault:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            status = 0
            if FAULT == "error-share" and path not in NOT_TRAFFIC and next(self.requests) % ERROR_EVERY == 0:
                status = 500
            elif FAULT == "never-ready" and path == "/readyz":
                status = 503
            elif FAULT == "unscraped" and path == "/metrics":
                status = 404
            if status:
                body = {"detail": f"rehearsal fault {FAULT}"}
                await JSONResponse(body, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Appended = innermost (Starlette builds the stack on the first request): inside the product's
# RequestContextMiddleware, which records every answer in http_requests_total.
product.user_middleware.append(Middleware(Fault))
app = product
