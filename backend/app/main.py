"""The FastAPI application: `app.main:app` for uvicorn, `create_app()` for tests."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from elastic_transport import TransportError
from elasticsearch import ApiError as ElasticsearchApiError
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis.exceptions import RedisError

from app.api.deps import AppState
from app.api.main import api_router, route_templates
from app.generation.factory import make_provider
from app.logs import configure_logging
from app.metrics import DEPENDENCY_ERRORS
from app.middleware import RequestContextMiddleware
from app.settings import Settings, describe_error
from app.shutdown import install_sigterm_hook
from app.storage.factory import open_backends
from app.telemetry import setup_tracing

logger = logging.getLogger("app")


def create_app(settings: Settings) -> FastAPI:
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backends = await open_backends(settings)
        state = AppState(settings=settings, backends=backends, provider=make_provider(settings))
        app.state.app_state = state
        restore = None
        if threading.current_thread() is threading.main_thread():
            restore = install_sigterm_hook(lambda: setattr(state, "shutting_down", True), settings.shutdown_delay_seconds)
        logger.info(
            "started",
            extra={
                "env": settings.app_env,
                "store": backends.store.name,
                "index": backends.index.name,
                "provider": state.provider.name,
            },
        )
        try:
            yield
        finally:
            state.shutting_down = True
            if restore:
                restore()
            await state.provider.close()
            await backends.close()
            if app.state.tracer_provider is not None:
                app.state.tracer_provider.shutdown()  # flushes buffered spans
            logger.info("stopped")

    app = FastAPI(
        title="Blog Creator API",
        version="0.1.0",
        summary="Turn your documents into blog drafts.",
        lifespan=lifespan,
    )
    app.include_router(api_router)

    async def dependency_down(request: Request, error: Exception) -> JSONResponse:
        name = "redis" if isinstance(error, RedisError) else "elasticsearch"
        DEPENDENCY_ERRORS.labels(name).inc()
        logger.error("dependency failure", extra={"dependency": name, "error": type(error).__name__})
        return JSONResponse({"detail": f"{name} is unavailable, retry later"}, status_code=503)

    async def elasticsearch_refused(request: Request, error: Exception) -> JSONResponse:
        # 429 (overloaded) and 5xx (e.g. no copy of a shard available) are outages worth a
        # retry; any other status is a bug in our request and stays a 500.
        status = getattr(error, "status_code", 500)
        if status == 429 or status >= 500:
            return await dependency_down(request, error)
        raise error

    app.add_exception_handler(RedisError, dependency_down)
    app.add_exception_handler(TransportError, dependency_down)
    app.add_exception_handler(ElasticsearchApiError, elasticsearch_refused)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Content-Disposition", "Retry-After"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        hsts=settings.hsts_enabled,
        templates=route_templates(),
        # Bodies declared larger than this are refused before multipart parsing spools them;
        # the slack covers multipart framing so the exact per-file check decides near the limit.
        max_body_bytes=settings.max_upload_bytes + 64 * 1024,
    )
    app.state.tracer_provider = setup_tracing(app)
    return app


def _load_settings() -> Settings:
    try:
        return Settings()  # pyright: ignore[reportCallIssue]  # fields come from the environment
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        raise SystemExit(2) from None


app = create_app(_load_settings())
