"""Liveness, readiness and Prometheus metrics (outside /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from app.api.deps import State
from app.metrics import DEPENDENCY_ERRORS

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    if state.shutting_down:
        return JSONResponse({"status": "shutting down", "checks": {}}, status_code=503)
    checks: dict[str, str] = {}
    for dependency in (state.backends.store, state.backends.index):
        try:
            await dependency.ping()
            checks[dependency.name] = "ok"
        except Exception as error:  # any failure means "not ready"; the name says which
            DEPENDENCY_ERRORS.labels(dependency.name).inc()
            checks[dependency.name] = f"unavailable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    failed = [name for name, value in checks.items() if value != "ok"]
    body = {"status": "ready" if ready else f"unavailable: {', '.join(failed)}", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
