#!/usr/bin/env bash
# Make a Docker engine with BuildKit and a Compose CLI available (idempotent).
#
#   scripts/docker-setup.sh        # install docker.io/docker-compose if missing, start dockerd
#
# - Installs Debian's docker.io (engine + CLI with built-in BuildKit) and docker-compose (1.29)
#   when they are missing (needs root and apt).
# - Starts dockerd in the background when no daemon answers; its log goes to
#   ${DOCKERD_LOG:-/var/log/dockerd.log}. A daemon that already answers is left alone.
# - Prints the docker CLI to use: Debian's /usr/bin/docker. A newer CLI without the buildx plugin
#   (e.g. one in /usr/local/bin) cannot use BuildKit, so tests and scripts call ${DOCKER:-/usr/bin/docker}.
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}

need_apt=()
[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || need_apt+=(docker.io)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
if ((${#need_apt[@]})); then
  echo "docker-setup: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if "$DOCKER" info >/dev/null 2>&1; then
  echo "docker-setup: daemon already running" >&2
else
  echo "docker-setup: starting dockerd (log: $DOCKERD_LOG)" >&2
  # setsid + nohup: the daemon outlives this script and the CI step's process group.
  setsid nohup /usr/sbin/dockerd >>"$DOCKERD_LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    echo "docker-setup: dockerd did not come up within 60 s; last log lines:" >&2
    tail -n 30 "$DOCKERD_LOG" >&2
    exit 1
  fi
fi

# BuildKit must be usable (cache and secret mounts): Debian's CLI has it built in.
DOCKER_BUILDKIT=1 "$DOCKER" version --format 'docker-setup: engine {{.Server.Version}}, storage ok' >&2
"$DOCKER" info --format 'docker-setup: storage driver {{.Driver}}' >&2
docker-compose version --short | sed 's/^/docker-setup: docker-compose /' >&2
