#!/bin/sh
# make test-pristine: `make test` and `make run` on a pristine Debian 12
# (debootstrap --variant=minbase, plus git and make), from a clean clone of
# this repository's HEAD, as root in a chroot.  Shows that the two README
# commands install everything they call, whatever this machine has.
#
#   sh .ci/pristine.sh            build a new root in a temporary directory
#   PRISTINE_ROOT=DIR ...         use DIR (kept afterwards, reused if built)
#   PRISTINE_TARGETS="test"       what to run (default: "test run")
#
# Needs root, debootstrap and iproute2 (installed if missing) and Debian's
# mirror.  Only `make deps` (the first step of `make test` and `make run`:
# the packages) uses the network; the rest runs in a network namespace of
# its own with nothing but loopback, so that whatever else this machine
# runs meanwhile (a CI run's nginx on port 1984, a service on 18080) can
# neither answer the suites' requests nor take their ports.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD

[ "$(id -u)" = 0 ] || { echo "test-pristine: needs root (chroot)" >&2; exit 1; }
BEIAN_EXTRA_PKGS="debootstrap iproute2" sh .ci/deps.sh

# the mirror this machine's apt uses (deb822 or one-line sources)
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' \
             /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(http[^ ]*debian\) .*/\1/p' \
             /etc/apt/sources.list 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

keep=${PRISTINE_ROOT:+yes}
root=${PRISTINE_ROOT:-$(mktemp -d /var/tmp/beian-pristine.XXXXXX)}
targets=${PRISTINE_TARGETS:-test run}

cleanup() {
    for m in dev/pts dev proc sys tmp; do
        umount -l "$root/$m" 2>/dev/null || :
    done
    [ -n "$keep" ] || rm -rf "$root"
}
trap cleanup EXIT INT TERM

if [ ! -x "$root/usr/bin/make" ]; then
    echo "test-pristine: debootstrap --variant=minbase bookworm into $root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" \
        > "$root.debootstrap.log" 2>&1 \
        || { tail -20 "$root.debootstrap.log"; exit 1; }
    rm -f "$root.debootstrap.log"
    # the same package sources as this machine (security updates included)
    rm -f "$root/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" \
        2>/dev/null || cp /etc/apt/sources.list "$root/etc/apt/"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmp "$root/tmp"

in_root() { chroot "$root" /usr/bin/env -i HOME=/root \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# the same, in a new network namespace with loopback up
isolated() { unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh \
    chroot "$root" /usr/bin/env -i HOME=/root \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

in_root sh -c 'command -v git >/dev/null && command -v make >/dev/null' || {
    echo "test-pristine: adding git and make"
    in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends git make \
        ca-certificates >/dev/null'
}

# a clean clone of HEAD, as CI gets it
rm -rf "$root/src"
git clone -q "$repo" "$root/src"
git -C "$root/src" checkout -q "$(git rev-parse HEAD)"

# `make run` in the background, then the README's two curls, all in one
# namespace; prints the two status codes
cat > "$root/tmp/run-check.sh" <<'EOF'
cd /src
PORT=18080 make run > /tmp/run.log 2>&1 &
for _ in $(seq 1 600); do
    grep -q 'listening on' /tmp/run.log 2>/dev/null \
        && curl -s -o /dev/null http://127.0.0.1:18080/ && break
    sleep 1
done
filed=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: www.example.com' \
        http://127.0.0.1:18080/)
unfiled=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: notexample.com' \
          http://127.0.0.1:18080/)
pid=$(cat build/run/nginx.pid 2>/dev/null || :)
[ -n "$pid" ] && kill "$pid" 2>/dev/null
wait
echo "$filed $unfiled"
EOF

status=0
# what `make test` and `make run` install first, over the network
echo "test-pristine: make deps"
in_root sh -c 'cd /src && make deps' || status=1

for t in $targets; do
    case $t in
    test)
        echo "test-pristine: make test"
        isolated sh -c 'cd /src && make test' || status=1
        ;;
    run)
        echo "test-pristine: make run, then the README's two curls"
        codes=$(isolated sh /tmp/run-check.sh) || :
        set -- $codes
        echo "test-pristine: www.example.com -> ${1:-none}," \
             "notexample.com -> ${2:-none}"
        if [ "${1:-}" != 200 ] || [ "${2:-}" != 403 ]; then
            cat "$root/tmp/run.log" >&2
            status=1
        fi
        ;;
    *)  echo "test-pristine: unknown target $t" >&2; status=1 ;;
    esac
done

if [ "$status" = 0 ]; then
    echo "test-pristine: ok ($targets) on a minbase Debian 12 root"
else
    echo "test-pristine: FAILED" >&2
fi
exit $status
