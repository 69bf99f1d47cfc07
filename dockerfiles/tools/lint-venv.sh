#!/bin/sh
# Install one lint tool from PyPI wheels into its own virtualenv and put its commands on PATH.
#
#   lint-venv.sh TOOL ARG_HINT REQUIREMENT...
#
# Creates /opt/lint/TOOL (a venv without pip), pip-installs the pinned REQUIREMENTs there (wheels only:
# PIP_ONLY_BINARY=:all: from the base stage) and links every command of its bin/ (not python,
# pip or activate) into /opt/lint/bin, which the lint stages put on PATH. A failed install names
# the tool and the build argument(s) that pin it (ARG_HINT). Used only at build time, from a
# bind mount: it never lands in an image. PIP_CERT trusts a proxy CA when the build mounts one.
set -eu

tool=$1 hint=$2
shift 2
venv=/opt/lint/$tool

if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi
# no pip of its own (seconds and 13 MB per venv): the base venv's pip installs into it
python3 -m venv --without-pip "$venv"
if ! pip --python "$venv/bin/python" install -q "$@"; then
  echo "lint-venv: $tool: pip install $* failed (see pip's error above); fix the pin with --build-arg $hint or make the package index reachable" >&2
  exit 1
fi
install -d /opt/lint/bin
for cmd in "$venv"/bin/*; do
  case ${cmd##*/} in
    python* | pip* | activate* | Activate.ps1 | deactivate) ;;
    *) ln -sf "$cmd" "/opt/lint/bin/${cmd##*/}" ;;
  esac
done
