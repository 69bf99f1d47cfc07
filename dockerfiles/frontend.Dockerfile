# Frontend image (Next.js, standalone output). Build context: the repository root.
#
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/frontend.Dockerfile --target runtime -t blog-frontend .
#   optional: --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt   (TLS-intercepting proxy CA)
#
# Targets: deps (npm ci), build (next build), test (type check, lint, unit tests; reports to
# /reports), runtime (standalone server + static + public only). The backend URL is read at run
# time (see frontend/README.md), so one image serves every environment.

# Official base image pinned by digest (multi-arch index). To bump: pick the new tag, then
#   docker buildx imagetools inspect node:22-slim --format '{{json .Manifest.Digest}}'
# and replace tag and digest together. Override with --build-arg NODE_IMAGE=... (e.g. a mirror).
ARG NODE_IMAGE=node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5

FROM ${NODE_IMAGE} AS node-base
ENV NEXT_TELEMETRY_DISABLED=1 \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /app

# Locked dependencies; this layer changes only when package.json/package-lock.json change.
FROM node-base AS deps
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=secret,id=ca \
    --mount=type=cache,target=/root/.npm,sharing=locked \
    if [ -s /run/secrets/ca ]; then \
      export NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca; \
    fi; \
    npm ci --no-audit --no-fund --prefer-offline

FROM deps AS sources
COPY frontend/ ./
RUN mkdir -p public

# Production build; .next/cache is a cache mount so an edited page rebuilds incrementally.
# sharp (next/image optimisation, ~28 MB of libvips + wasm) is pruned: the app uses no next/image.
# Build with --build-arg KEEP_SHARP=1 if it ever does.
FROM sources AS build
ARG KEEP_SHARP=
RUN --mount=type=cache,target=/app/.next/cache,sharing=locked \
    npm run build \
 && if [ -z "$KEEP_SHARP" ]; then rm -rf .next/standalone/node_modules/sharp .next/standalone/node_modules/@img; fi

# Type check, lint, unit tests. `docker run -v $PWD/reports:/reports <image>`.
FROM sources AS test
ENV REPORTS_DIR=/reports CI=true
RUN mkdir -p /reports
CMD ["sh", "-c", "npm run -s typecheck && npm run -s lint && npm test -s -- --reporter=default --reporter=junit --outputFile.junit=\"$REPORTS_DIR/junit.xml\""]

# Production image: standalone server + static assets + public, non-root, read-only-root friendly.
FROM node-base AS runtime
ENV NODE_ENV=production \
    HOSTNAME=0.0.0.0 \
    PORT=3000
COPY --from=build /app/.next/standalone ./
COPY --from=build /app/.next/static ./.next/static
COPY --from=build /app/public ./public
USER 10001:10001
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "server.js"]

# Labels last: a new revision/date changes only image metadata, never a cached layer.
ARG VCS_REF=unknown
ARG VERSION=0.0.0-dev
ARG BUILD_DATE=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="blog-creator-frontend" \
      org.opencontainers.image.description="Blog Creator Agent web UI (Next.js)" \
      org.opencontainers.image.source="https://github.com/blog-creator/blog-creator-agent" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${BUILD_DATE}"
