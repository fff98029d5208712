#!/bin/sh
# Installs the Debian packages the build and the tests need.  Idempotent and
# quiet when everything is present, so `make run` and `make test` call it.
set -e

pkgs="gcc make perl curl nginx nginx-dev liblmdb-dev lmdb-utils libpcre2-dev
      libcurl4-openssl-dev libcmocka-dev libidn2-dev libjansson-dev libssl-dev
      zlib1g-dev pkg-config python3 nghttp2-client openssl libpsl-dev publicsuffix
      libnginx-mod-stream
      ${BEIAN_EXTRA_PKGS:-}"

missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi

echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# the nginx package starts a service on port 80 by default; we only need the
# binary, so keep policy-rc.d from starting it where we can
apt-get install -y -qq --no-install-recommends $missing >/dev/null
