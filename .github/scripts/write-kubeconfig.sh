#!/usr/bin/env bash
# Write a self-contained kubeconfig (server, CA, bearer token) for a deploy from CI.
# Cloud kubeconfigs usually call an exec plugin (aws, gke-gcloud-auth-plugin, kubelogin)
# that does not exist inside the deploy container; a short-lived token needs nothing.
# Usage: write-kubeconfig.sh OUT_FILE SERVER_URL CA_FILE TOKEN
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: write-kubeconfig.sh OUT_FILE SERVER_URL CA_FILE TOKEN" >&2
  exit 2
fi
out="$1" server="$2" ca_file="$3" token="$4"
if [[ "$server" != https://* ]]; then
  echo "write-kubeconfig: server '$server' must be an https:// URL" >&2
  exit 2
fi
if [[ ! -s "$ca_file" ]]; then
  echo "write-kubeconfig: CA file '$ca_file' is missing or empty" >&2
  exit 2
fi
if [[ -z "$token" ]]; then
  echo "write-kubeconfig: the token is empty (did the cloud login step succeed?)" >&2
  exit 2
fi

umask 077
ca_data="$(base64 -w0 < "$ca_file")"
cat > "$out" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: target
    cluster:
      server: ${server}
      certificate-authority-data: ${ca_data}
users:
  - name: ci
    user:
      token: ${token}
contexts:
  - name: target
    context: {cluster: target, user: ci}
current-context: target
KUBECONFIG
