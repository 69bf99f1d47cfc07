#!/usr/bin/env bash
# Write a self-contained kubeconfig (server, CA, bearer token) for a deploy from CI.
# Cloud kubeconfigs usually call an exec plugin (aws, gke-gcloud-auth-plugin, kubelogin)
# that does not exist inside the deploy container; a short-lived token needs nothing.
#
# Usage: TOKEN_SOURCE | write-kubeconfig.sh OUT_FILE SERVER_URL CA_FILE
# The token is read from stdin, never from an argument: arguments are visible to every
# process on the runner (/proc/PID/cmdline) and in process listings. It is masked in the
# job log (whatever its length) before anything else happens, and OUT_FILE is created with
# mode 600; the workflow removes it after the one step that reads it.
set -euo pipefail

if [[ $# -eq 4 ]]; then
  echo "write-kubeconfig: the token is read from stdin, never from an argument (arguments are visible to other processes); usage: ... | write-kubeconfig.sh OUT_FILE SERVER_URL CA_FILE" >&2
  exit 2
fi
if [[ $# -ne 3 ]]; then
  echo "usage: TOKEN_SOURCE | write-kubeconfig.sh OUT_FILE SERVER_URL CA_FILE" >&2
  exit 2
fi
out="$1" server="$2" ca_file="$3"
if [[ -t 0 ]]; then
  echo "write-kubeconfig: pipe the token into stdin (e.g. aws eks get-token ... | write-kubeconfig.sh ...)" >&2
  exit 2
fi
# One line: the token; trailing newline and carriage return removed, nothing else accepted.
token="$(cat)"
token="${token%$'\r'}"
if [[ -z "$token" ]]; then
  echo "write-kubeconfig: the token on stdin is empty (did the cloud login step succeed?)" >&2
  exit 2
fi
if [[ "$token" =~ [[:space:]] ]]; then
  echo "write-kubeconfig: the token on stdin must be one line without spaces (got several lines or whitespace)" >&2
  exit 2
fi
echo "::add-mask::${token}"
if [[ "$server" != https://* ]]; then
  echo "write-kubeconfig: server '$server' must be an https:// URL" >&2
  exit 2
fi
if [[ ! -s "$ca_file" ]]; then
  echo "write-kubeconfig: CA file '$ca_file' is missing or empty" >&2
  exit 2
fi

umask 077
rm -f "$out" # a file left by an earlier run could have wider permissions
ca_data="$(base64 -w0 < "$ca_file")"
# printf is a shell builtin: the token reaches the file without any process argument.
printf '%s\n' \
  "apiVersion: v1" \
  "kind: Config" \
  "clusters:" \
  "  - name: target" \
  "    cluster:" \
  "      server: ${server}" \
  "      certificate-authority-data: ${ca_data}" \
  "users:" \
  "  - name: ci" \
  "    user:" \
  "      token: ${token}" \
  "contexts:" \
  "  - name: target" \
  "    context: {cluster: target, user: ci}" \
  "current-context: target" > "$out"
