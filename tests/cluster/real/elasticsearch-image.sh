#!/usr/bin/env bash
# Build the Elasticsearch image of the real-node tests (once per content: cached by tag).
#
#   tests/cluster/real/elasticsearch-image.sh     # prints ELASTICSEARCH_IMAGE=<tag> on stdout
#
# The node is what scripts/elasticsearch-local.sh assembles from Maven Central; the Java runtime
# is the JDK that compiled its launcher (Temurin 25 on these machines; its tools for compiling
# left out); the base is local/debian:trixie-minbase (scripts/build-base-images.sh).
# The tag carries a hash of all inputs, so an unchanged input set costs one `docker image inspect`.
# Environment: DOCKER (default /usr/bin/docker), ES_BASE_IMAGE (default local/debian:trixie-minbase).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
BASE=${ES_BASE_IMAGE:-local/debian:trixie-minbase}
log() { echo "elasticsearch-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

"$DOCKER" image inspect "$BASE" >/dev/null 2>&1 || die "base image $BASE missing: run scripts/build-base-images.sh"
paths=$(bash "$repo/scripts/elasticsearch-local.sh" paths)
ES_VERSION=$(sed -n 's/^ES_VERSION=//p' <<<"$paths")
ES_HOME=$(sed -n 's/^ES_HOME=//p' <<<"$paths")
ES_CLASSES=$(sed -n 's/^ES_CLASSES=//p' <<<"$paths")
ES_JAVA_HOME=$(sed -n 's/^ES_JAVA_HOME=//p' <<<"$paths")

java_version=$("$ES_JAVA_HOME/bin/java" -version 2>&1 | tr '\n' ' ')
hash=$( { echo "$java_version $BASE"; cat "$ES_HOME/../.ready"; \
  cat "$here/elasticsearch.Dockerfile" "$here"/elasticsearch/* "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-12)
tag="local/elasticsearch:$ES_VERSION-$hash"
if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
  echo "ELASTICSEARCH_IMAGE=$tag"
  exit 0
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
# The runtime: the JDK without what only compiling needs. jlink cannot make a smaller one here:
# the entitlement module of lib/ requires jdk.jlink, which a JDK without jmods/ (JEP 493, as
# Temurin 25 ships) cannot link into an image.
mkdir "$context/jre"
tar -C "$ES_JAVA_HOME" --exclude=./lib/src.zip --exclude=./lib/ct.sym --exclude=./include \
  --exclude=./man --exclude=./jmods --exclude=./demo -cf - . | tar -C "$context/jre" -xf -
# Hard links where the cache shares the file system with the temporary folder (no copy).
cp -al "$ES_HOME" "$context/home" 2>/dev/null || cp -a "$ES_HOME" "$context/home"
cp -a "$ES_CLASSES" "$context/launcher"
cp -a "$here/elasticsearch" "$context/config"
log "docker build $tag"
DOCKER_BUILDKIT=1 "$DOCKER" build -q --build-arg BASE="$BASE" -t "$tag" \
  -f "$here/elasticsearch.Dockerfile" "$context" >/dev/null
echo "ELASTICSEARCH_IMAGE=$tag"
