#!/usr/bin/env bash
# Run the whole backend suite against a real local Elasticsearch node (what CI runs).
# Starts one node with ../scripts/elasticsearch-local.sh in a throw-away directory, exports
# ELASTICSEARCH_URL, runs pytest with ELASTICSEARCH_REQUIRED=1 and always stops the node.
# Extra arguments go to pytest. Needs what that script needs (JDK >= 21, maven, curl) plus
# redis-server and uv; see backend/README.md "Tests".
set -euo pipefail

backend_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
es_script="$backend_dir/../scripts/elasticsearch-local.sh"
es_dir="$(mktemp -d "${TMPDIR:-/tmp}/backend-es.XXXXXX")"

stop_node() {
    "$es_script" stop --dir "$es_dir" >&2 || true
    rm -rf "$es_dir"
}
trap stop_node EXIT

url_line="$("$es_script" start --dir "$es_dir")"
case "$url_line" in
    ELASTICSEARCH_URL=http://*) export "${url_line?}" ;;
    *) echo "test-with-elasticsearch: unexpected output from elasticsearch-local.sh: $url_line" >&2; exit 1 ;;
esac
echo "test-with-elasticsearch: $url_line" >&2

cd "$backend_dir"
uv sync --locked
ELASTICSEARCH_REQUIRED=1 uv run pytest "$@"
