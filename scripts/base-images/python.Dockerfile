# Stand-in for python:3.13-slim built from a local debootstrap (see ../build-base-images.sh).
ARG BASE=local/debian:trixie-minbase
FROM ${BASE}
# Stand-ins track Debian trixie's current packages on purpose (no version pins).
ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python-is-python3 ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/*
CMD ["python3"]
