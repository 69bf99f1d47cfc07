"""The one list of routers and where each is mounted (cf. fastapi/full-stack-fastapi-template's
app/api/main.py): `api_router` is what the app includes, `route_templates()` what metrics use."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from app.api import auth, documents, drafts, ops

API_PREFIX = "/api/v1"

# (router, prefix): the API under /api/v1; operations (/healthz, /readyz, /metrics) at the root.
MOUNTS: tuple[tuple[APIRouter, str], ...] = (
    (auth.router, API_PREFIX),
    (documents.router, API_PREFIX),
    (drafts.router, API_PREFIX),
    (ops.router, ""),
)

api_router = APIRouter()
for _router, _prefix in MOUNTS:
    api_router.include_router(_router, prefix=_prefix)


def route_templates() -> dict[object, str]:
    """Endpoint -> full path template, e.g. `/api/v1/documents/{document_id}`, for metric labels.

    FastAPI includes routers by reference: the route a request matches carries its router's own
    path, without the prefix it was mounted under, so the prefix is added back here."""
    return {
        route.endpoint: prefix + route.path_format
        for router, prefix in MOUNTS
        for route in router.routes
        if isinstance(route, APIRoute)
    }
