#!/usr/bin/env bash
# Load benchmark (not a test): makes an isolated venv with locust + psutil under
# ${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}, then runs run.py (arguments passed through).
set -euo pipefail
tools="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}"
venv="$tools/locust-venv"
if [ ! -x "$venv/bin/locust" ]; then
  mkdir -p "$tools"
  uv venv -q -p 3.11 "$venv"
  uv pip install -q -p "$venv/bin/python" "locust==2.47.0" psutil
fi
exec "$venv/bin/python" "$(dirname "$0")/run.py" "$@"
