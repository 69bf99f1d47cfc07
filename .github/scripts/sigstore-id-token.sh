#!/usr/bin/env bash
# Fetch this job's GitHub OIDC identity token (audience "sigstore") for keyless cosign
# signing, and write it to OUT_FILE (mode 600) for the one `dagger call` step that reads it
# as `--oidc-token file://...`; the workflow removes the file right after that step.
#
# Usage: sigstore-id-token.sh OUT_FILE
# Needs the runner's ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (set for
# jobs with `permissions: id-token: write`). The request token goes to curl on stdin
# (`-H @-`), never as an argument; the identity token is masked in the log and never written
# to $GITHUB_OUTPUT or $GITHUB_ENV (which every later step, and the run's outputs, would see).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: sigstore-id-token.sh OUT_FILE" >&2
  exit 2
fi
out="$1"
for var in ACTIONS_ID_TOKEN_REQUEST_URL ACTIONS_ID_TOKEN_REQUEST_TOKEN; do
  if [[ -z "${!var:-}" ]]; then
    echo "sigstore-id-token: $var is unset: give the job \`permissions: id-token: write\`" >&2
    exit 2
  fi
done

# printf is a shell builtin: the request token reaches curl through the pipe only.
response="$(printf 'Authorization: bearer %s\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" |
  curl --silent --show-error --fail --max-time 30 --header @- \
    "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=sigstore")"
if ! token="$(printf '%s' "$response" | jq -er '.value | select(type == "string" and length > 0)')"; then
  echo "sigstore-id-token: the OIDC token endpoint answered without a 'value' string" >&2
  exit 1
fi
echo "::add-mask::${token}"

umask 077
rm -f "$out"
printf '%s' "$token" > "$out"
