#!/bin/sh
# Download one release file, refuse it unless its SHA-256 matches, install the binary.
#
#   fetch-verified.sh NAME STEM DEST
#
# Reads the build arguments <STEM>_URL_<ARCH>, <STEM>_SHA256_<ARCH> and optional
# <STEM>_MEMBER_<ARCH> (the binary's path inside a .tar.gz) for ARCH = $TARGETARCH in upper
# case, as dockerfiles/tools.Dockerfile declares them (defaults: src/pipeline/toolchain.json).
# Used only at build time, from a bind mount: it never lands in an image. python3 downloads
# (the base image has no curl); SSL_CERT_FILE trusts a proxy CA when the build mounts one.
set -eu

name=$1 stem=$2 dest=$3
arch=$(printf '%s' "${TARGETARCH:-amd64}" | tr '[:lower:]' '[:upper:]')
eval "url=\${${stem}_URL_${arch}:-}"
eval "sum=\${${stem}_SHA256_${arch}:-}"
eval "member=\${${stem}_MEMBER_${arch}:-}"

fail() { echo "fetch-verified: $name: $*" >&2; exit 1; }
[ -n "$url" ] || fail "no download URL for linux/${TARGETARCH:-amd64}: set --build-arg ${stem}_URL_${arch}"
case $sum in
  *[!0-9a-f]* | "") fail "no pinned SHA-256 for $url: set --build-arg ${stem}_SHA256_${arch} to the published 64-hex digest" ;;
esac
[ "${#sum}" -eq 64 ] || fail "${stem}_SHA256_${arch} must be 64 hex digits, got '${sum}'"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file="$work/${url##*/}"
python3 - "$url" "$file" <<'PY' || fail "download of $url failed"
import shutil, ssl, sys, urllib.request
ctx = ssl.create_default_context()
with urllib.request.urlopen(sys.argv[1], context=ctx, timeout=600) as response, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(response, out)
PY
if ! printf '%s  %s\n' "$sum" "$file" | sha256sum -c - >/dev/null 2>&1; then
  fail "SHA-256 mismatch for ${file##*/} from $url: expected $sum, got $(sha256sum "$file" | cut -d' ' -f1); refusing to install it"
fi
if [ -n "$member" ]; then
  tar -xzf "$file" -C "$work" "$member" || fail "${file##*/} has no member $member"
  install -m 0755 "$work/$member" "$dest"
else
  install -m 0755 "$file" "$dest"
fi
echo "fetch-verified: $name: ${file##*/} sha256 $sum OK -> $dest"
