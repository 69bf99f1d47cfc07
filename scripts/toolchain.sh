# shellcheck shell=bash
# Sourced by the install-*.sh scripts: `pin TOOL [FIELD]` reads one value of the tool-version
# table (src/pipeline/toolchain.json; default field: version) with jq, or python3 without it.
TOOLCHAIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src/pipeline/toolchain.json"
pin() {
  local field=${2:-version}
  if command -v jq >/dev/null 2>&1; then
    jq -er --arg t "$1" --arg f "$field" '.tools[$t][$f]' "$TOOLCHAIN"
  else
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tools"][sys.argv[2]][sys.argv[3]])' \
      "$TOOLCHAIN" "$1" "$field"
  fi
}
