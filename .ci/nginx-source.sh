#!/bin/sh
# Unpacks the full upstream nginx source of the installed Debian nginx into
# $1, for the static build check.  nginx-dev ships headers only; the
# upstream tarball comes from Debian's source archive (deb-src of the same
# mirrors), through a private apt state so the system's lists are untouched.
set -eu
out=$1
[ -f "$out/src/core/nginx.c" ] && exit 0

work=$(mktemp -d /tmp/beian-nginx-src.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/parts"

for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
done
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$work/parts/main.list"
fi

apt_opts="-qq -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$work/parts \
          -o Dir::State::Lists=$work/lists -o APT::Sandbox::User=root"
apt-get $apt_opts update >/dev/null
(cd "$work" && apt-get $apt_opts source --download-only nginx >/dev/null 2>&1 || true)

tarball=$(ls "$work"/nginx_*.orig.tar.gz 2>/dev/null | head -1)
if [ -z "$tarball" ]; then
    echo "could not fetch the nginx source from the Debian archive" >&2
    exit 1
fi

mkdir -p "$out"
tar -xzf "$tarball" -C "$out" --strip-components=1
