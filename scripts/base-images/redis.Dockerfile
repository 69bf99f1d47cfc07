# Stand-in for redis:7-alpine built from a local debootstrap (see ../build-base-images.sh):
# Debian's redis-server, data in /data, running as the unprivileged redis user.
ARG BASE=local/debian:trixie-minbase
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]
