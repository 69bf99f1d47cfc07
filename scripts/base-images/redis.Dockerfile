# Stand-in for redis:7-alpine built from a local debootstrap (see ../build-base-images.sh):
# Debian's redis-server, data in /data, running as the unprivileged redis user.
ARG BASE=local/debian:trixie-minbase
FROM ${BASE}
# Stand-ins track Debian trixie's current packages on purpose (no version pins).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
# Debian's redis user gets a fixed uid so volumes stay readable after a rebuild.
RUN usermod -u 999 redis && groupmod -g 999 redis && mkdir -p /data && chown 999:999 /data /var/lib/redis /var/log/redis
WORKDIR /data
USER 999:999
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]
