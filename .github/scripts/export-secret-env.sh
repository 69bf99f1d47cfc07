#!/usr/bin/env bash
# Export a file's content as an environment variable of the following steps of the job
# (for `dagger call ... --flag env://NAME`), masking its lines in the log first (lines
# shorter than 16 characters are YAML structure such as "kind: Config", not credentials).
# Usage: export-secret-env.sh NAME FILE
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: export-secret-env.sh NAME FILE" >&2
  exit 2
fi
name="$1" file="$2"
if [[ ! "$name" =~ ^[A-Z_][A-Z0-9_]*$ ]]; then
  echo "export-secret-env: '$name' is not an environment variable name (A-Z, 0-9, _)" >&2
  exit 2
fi
if [[ ! -s "$file" ]]; then
  echo "export-secret-env: '$file' is missing or empty" >&2
  exit 2
fi
: "${GITHUB_ENV:?export-secret-env runs inside a GitHub Actions step (GITHUB_ENV unset)}"

while IFS= read -r line; do
  if ((${#line} >= 16)); then echo "::add-mask::${line}"; fi
done < "$file"
delimiter="EOF_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
{
  echo "${name}<<${delimiter}"
  cat "$file"
  echo
  echo "${delimiter}"
} >> "$GITHUB_ENV"
