# Backend image (FastAPI). Build context: the repository root.
#
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/backend.Dockerfile --target runtime -t blog-backend .
#   optional: --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt   (TLS-intercepting proxy CA)
#
# Targets: deps (locked runtime dependencies in /opt/venv), test (runs the backend tests, JUnit +
# coverage to /reports), runtime (the production image). No `# syntax=` line on purpose: the
# Dockerfile frontend built into Docker >= 20.10 supports cache and secret mounts, and pulling
# docker/dockerfile needs a registry that some build machines cannot reach.

# Official base image pinned by digest (multi-arch index). To bump: pick the new tag, then
#   docker buildx imagetools inspect python:3.13-slim --format '{{json .Manifest.Digest}}'
# and replace tag and digest together. Override with --build-arg PYTHON_IMAGE=... (e.g. a mirror).
ARG PYTHON_IMAGE=python:3.13-slim@sha256:7c61056e61ac89e852de05f3dc6fa51a6dd2181797bceed46aa725dd7cb2cd3b
ARG UV_VERSION=0.13.9

FROM ${PYTHON_IMAGE} AS python-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    PATH=/opt/venv/bin:$PATH

# uv, installed from PyPI into its own venv (ghcr.io/astral-sh/uv may be unreachable). Build-only.
FROM python-base AS uv
ARG UV_VERSION
RUN --mount=type=secret,id=ca \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    python3 -m venv /opt/uv && /opt/uv/bin/pip install --disable-pip-version-check -q "uv==${UV_VERSION}"

# Locked runtime dependencies only; this layer changes only when pyproject.toml/uv.lock change.
FROM python-base AS deps
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_CACHE_DIR=/root/.cache/uv
WORKDIR /app
COPY backend/pyproject.toml backend/uv.lock ./
RUN --mount=type=secret,id=ca \
    --mount=type=cache,target=/root/.cache/uv,sharing=locked \
    --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi; \
    /opt/uv/bin/uv sync --locked --no-dev --no-install-project --python "$(command -v python3)"

# The runtime copy of the venv: debug symbols stripped from compiled extensions (uvloop alone
# drops from ~16 MB to ~2 MB). binutils lives in this build-only stage, never in the runtime.
FROM deps AS venv
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null \
 && find /opt/venv -name '*.so*' -type f -exec strip --strip-unneeded {} +
# Trim what the server never reads: type stubs, the dependencies' own test suites, and bytecode
# of modules it never imports (~10 MB). Bytecode is then written by importing what the app
# imports (the top-level imports of backend/app, the lazy tracing imports, the uvicorn parts the
# CMD uses): the root filesystem is read-only, so these must be precompiled. A module missing
# from this list still works; it is just compiled in memory at every start. Listed modules must
# exist (a dependency update that renames one fails the build here: update the list).
RUN find /opt/venv -name '*.pyi' -type f -delete \
 && find /opt/venv/lib -type d -name tests -prune -exec rm -rf {} + \
 && find /opt/venv -type d -name __pycache__ -prune -exec rm -rf {} + \
 && env -u PYTHONDONTWRITEBYTECODE python -c 'import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]' \
      aiosqlite anyio.to_thread argon2 argon2.exceptions email_validator jwt multipart prometheus_client \
      pydantic pydantic_settings pypdf pypdf.errors redis.asyncio redis.exceptions httpx \
      elastic_transport elastic_transport._node._http_httpx elasticsearch elasticsearch.helpers \
      httpcore h11 anyio._backends._asyncio anyio.streams.memory anyio.streams.stapled anyio.streams.tls \
      fastapi fastapi.middleware.cors fastapi.openapi.docs fastapi.openapi.utils fastapi.responses fastapi.routing \
      pydantic.v1 \
      starlette.datastructures starlette.exceptions starlette.formparsers starlette.responses \
      uvicorn.main uvicorn.loops.auto uvicorn.loops.uvloop uvicorn.protocols.http.auto \
      uvicorn.protocols.http.httptools_impl uvicorn.protocols.websockets.auto uvicorn.lifespan.on \
      uvicorn.middleware.proxy_headers uvicorn.logging \
      opentelemetry.exporter.otlp.proto.http.trace_exporter opentelemetry.instrumentation.fastapi \
      opentelemetry.instrumentation.httpx opentelemetry.instrumentation.redis \
      opentelemetry.sdk.resources opentelemetry.sdk.trace opentelemetry.sdk.trace.export

# Tests: dev dependency group + sources + redis-server (the tests run a real one), nginx and
# openssl (TLS in front of the test Elasticsearch: tests/test_elasticsearch_tls.py; policy-rc.d
# keeps apt from starting the nginx service during the build).
# Build-only apt packages (binutils above, the test tools here) follow the base image's suite and
# are not version-pinned: hence the DL3008 ignores.
# `docker run --rm -v $PWD/reports:/reports <image>` writes junit.xml and coverage.xml.
FROM deps AS test
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server nginx openssl >/dev/null \
 && rm /usr/sbin/policy-rc.d
RUN --mount=type=secret,id=ca \
    --mount=type=cache,target=/root/.cache/uv,sharing=locked \
    --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi; \
    /opt/uv/bin/uv sync --locked --no-install-project --python "$(command -v python3)"
COPY backend/ ./
ENV APP_ENV=test REPORTS_DIR=/reports
RUN mkdir -p /reports
CMD ["sh", "-c", "exec python -m pytest -p no:cacheprovider --junitxml=\"$REPORTS_DIR/junit.xml\" --cov-report=xml:\"$REPORTS_DIR/coverage.xml\""]

# Production image: the venv and the app only, non-root, read-only-root friendly.
FROM python-base AS runtime
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /var/lib/blog-creator && chown 10001:10001 /var/lib/blog-creator
COPY --from=venv /opt/venv /opt/venv
WORKDIR /app
COPY backend/app ./app
RUN python -m compileall -q app
ENV APP_ENV=production \
    DATABASE_PATH=/var/lib/blog-creator/blog.sqlite3 \
    PYTHONPATH=/app \
    PORT=8000
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# --timeout-graceful-shutdown must stay below the orchestrator's grace period (k8s default 30 s).
CMD ["sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port \"$PORT\" --proxy-headers --forwarded-allow-ips='*' --timeout-graceful-shutdown 20 --no-server-header"]

# Labels last: a new revision/date changes only image metadata, never a cached layer.
ARG VCS_REF=unknown
ARG VERSION=0.0.0-dev
ARG BUILD_DATE=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="blog-creator-backend" \
      org.opencontainers.image.description="Blog Creator Agent API (FastAPI)" \
      org.opencontainers.image.source="https://github.com/blog-creator/blog-creator-agent" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${BUILD_DATE}"
