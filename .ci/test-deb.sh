#!/bin/bash
# `make test-deb DIR`: installs the packages `make deb` built (DIR/*.deb) with
# apt-get, as root on this machine, and checks what Debian's packaging
# promises: the module enabled through /etc/nginx/modules-enabled, `nginx -t`,
# a filed and an unfiled host served by nginx with the packaged module and a
# snapshot from the packaged beian-sync, the files and modes of beian-sync,
# then remove (conffiles and state kept) and purge (nothing left).
#
# It leaves the machine as it found it, also when a check fails: our
# packages purged, no nginx of ours running, /etc/nginx byte for byte as
# before, the nginx service as it was.  It refuses to run where the packages
# or their directories already exist, since it would remove them.
set -euo pipefail

dir=$(cd "${1:?usage: test-deb.sh DIR}" && pwd)
cd "$(dirname "$0")/.."
ls "$dir"/*.deb >/dev/null 2>&1 || { echo "test-deb: no packages in $dir (make deb)" >&2; exit 1; }

# every package built: libnginx-mod-http-beian, beian-sync, and
# libnginx-mod-stream-beian once the stream module exists
debs=("$dir"/*.deb)
pkgs=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Package; done)
modpkgs=$(printf '%s\n' $pkgs | grep '^libnginx-mod-' || true)
mod=/usr/lib/nginx/modules/ngx_http_beian_module.so
version=$(sed -n 's/^#define BEIAN_VERSION *"\(.*\)"$/\1/p' core/version.h)
apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
export DEBIAN_FRONTEND=noninteractive

checks=0
failed=0
ok()   { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1));
         echo "not ok $checks - $*"; }
check() {   # check "what" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

[ "$(id -u)" = 0 ] || { echo "test-deb: needs root (it installs packages)" >&2; exit 1; }

installed() {   # installed PKG: any dpkg state but "not installed"
    local s
    s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
    [ -n "$s" ] && [ "${s:1:1}" != n ]
}
for p in $pkgs; do
    if installed "$p"; then
        echo "test-deb: $p is installed here; the test would purge it" >&2
        exit 1
    fi
done
for d in /etc/beian /var/lib/beian; do
    if [ -e "$d" ]; then
        echo "test-deb: $d exists; the packages' purge would remove it" >&2
        exit 1
    fi
done

# what must be the same afterwards
etc_state() {
    find /etc/nginx -printf '%p %y %m %u %g %l\n' | sort
    find /etc/nginx -type f -print0 | sort -z | xargs -0 md5sum
}
service_running() {
    [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null
}
tmp=$(mktemp -d /tmp/beian-test-deb.XXXXXX)
chmod 755 "$tmp"
etc_state >"$tmp/etc.before"
was_running=no
service_running && was_running=yes

cleanup() {
    local rc=$?
    set +e
    if [ -s "$tmp/nginx.pid" ]; then
        local pid
        pid=$(cat "$tmp/nginx.pid")
        kill -QUIT "$pid" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    for p in $pkgs; do
        if installed "$p"; then
            echo "test-deb: cleaning up: purging $p" >&2
            apt-get purge "${apt_opts[@]}" "$p" >>"$tmp/apt.log" 2>&1 \
                || dpkg --purge "$p" >>"$tmp/apt.log" 2>&1
        fi
    done
    if [ "$was_running" = no ] && service_running; then
        echo "test-deb: cleaning up: stopping an nginx service it started" >&2
        /usr/sbin/nginx -s quit 2>/dev/null
    fi
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# installing: ${debs[*]##*/}"
if ! apt-get install "${apt_opts[@]}" --no-install-recommends "${debs[@]}" \
        >"$tmp/apt.log" 2>&1; then
    cat "$tmp/apt.log"
    fail "apt-get install ./build/deb/*.deb"
    exit 1
fi
ok "apt-get install ./build/deb/*.deb"
# a running nginx service reloads through this trigger (nginx's postinst)
check "install triggered nginx-reload" \
    grep -q '^Processing triggers for nginx ' "$tmp/apt.log"

# ---- libnginx-mod-http-beian -------------------------------------------
abi=$(dpkg-query -W -f='${Provides}' nginx | grep -o 'nginx-abi-[^ ,]*')
for p in $modpkgs; do
    check "$p depends on $abi, which the installed nginx provides" \
        grep -qw -- "$abi" <(dpkg-query -W -f='${Depends}' "$p")
done
# as dh_nginx names them: libnginx-mod-NAME ships ngx_NAME_module.so and
# mod-NAME.conf, enabled at priority 50 (http) or 70 (after Debian's own
# 50-mod-stream.conf)
for p in $modpkgs; do
    name=${p#libnginx-mod-}
    so=ngx_${name//-/_}_module.so
    avail=/usr/share/nginx/modules-available/mod-$name.conf
    prio=70
    case $name in http-*) prio=50 ;; esac
    check "$p: $so in /usr/lib/nginx/modules" test -f "/usr/lib/nginx/modules/$so"
    check "$p: $avail loads it" \
        grep -qx "load_module modules/$so;" "$avail"
    check "$p: postinst enabled it as $prio-mod-$name.conf" \
        test "$(readlink "/etc/nginx/modules-enabled/$prio-mod-$name.conf")" = "$avail"
done
check "nginx -t with Debian's nginx.conf and the module enabled" \
    /usr/sbin/nginx -t -q

# ---- beian-sync ---------------------------------------------------------
check "beian-sync -V says $version" \
    test "$(beian-sync -V)" = "beian-sync $version"
check "/etc/beian/beian-sync.conf is a conffile" \
    grep -q '^ /etc/beian/beian-sync.conf ' \
    <(dpkg-query -W -f='${Conffiles}\n' beian-sync)
check "/etc/beian/beian-sync.conf is 600 root:root" \
    test "$(stat -c '%a %U:%G' /etc/beian/beian-sync.conf)" = "600 root:root"
check "/var/lib/beian is 755 root:root" \
    test "$(stat -c '%a %U:%G %F' /var/lib/beian)" = "755 root:root directory"
check "man page renders without warnings" \
    test -z "$(MANWIDTH=80 man --warnings -l /usr/share/man/man1/beian-sync.1.gz 2>&1 >/dev/null)"
check "man -l shows the exit codes" \
    grep -q 'EXIT STATUS' <(MANWIDTH=80 man -l /usr/share/man/man1/beian-sync.1.gz 2>/dev/null)
check "systemd units run /usr/bin/beian-sync" \
    grep -qx 'ExecStart=/usr/bin/beian-sync pull --config /etc/beian/beian-sync.conf' \
    /lib/systemd/system/beian-sync.service
# The unit's fence lets `nginx -T` (domains-from = nginx) do what nginx
# does in a test: open its logs and pid file, chown its temp directories,
# bind its ports.  Without systemd here, the fence is rebuilt from the
# unit's own lines: the file system read-only but ReadWritePaths, the
# capabilities those of CapabilityBoundingSet.
unit_sandbox() {
    local unit=/lib/systemd/system/beian-sync.service caps rw
    caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' \
           | sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | paste -sd, -)
    rw=$(sed -n 's/^ReadWritePaths=//p' "$unit" | sed 's/\(^\| \)-/\1/g')
    unshare -m sh -c "mount --make-rprivate / &&
        for d in $rw; do [ ! -e \$d ] || mount --bind \$d \$d || exit 1; done &&
        mount -o remount,ro,bind / &&
        ! touch /etc/beian-sandbox-test 2>/dev/null &&
        setpriv --bounding-set=-all,$caps nginx -T -q >/dev/null"
}
if unshare -m true 2>/dev/null; then
    # as while nginx runs: its pid file is there
    pidfile_made=
    [ -e /run/nginx.pid ] || { : > /run/nginx.pid; pidfile_made=1; }
    check "the unit's fence lets nginx -T run (domains-from = nginx)" unit_sandbox
    [ -z "$pidfile_made" ] || rm -f /run/nginx.pid
else
    echo "skip: no mount namespaces here, the unit's fence is not rebuilt"
fi
check "timer installed" test -f /lib/systemd/system/beian-sync.timer
check "timer not enabled" \
    test ! -e /etc/systemd/system/timers.target.wants/beian-sync.timer
check "cron line only as an example" \
    test -f /usr/share/doc/beian-sync/examples/beian-sync.cron -a ! -e /etc/cron.d/beian-sync

# The packaged config passes beian-sync's own checks (mode, owner, keys):
# a pull against a closed loopback port fails as a network failure (2),
# not as a configuration error (1), and writes nothing.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rc=0
TENCENTCLOUD_SECRET_ID=AKIDtestdeb TENCENTCLOUD_SECRET_KEY=testdeb \
    beian-sync pull --config /etc/beian/beian-sync.conf --quiet \
    --instance-id lhins-demo0001 --endpoint "http://127.0.0.1:$port" \
    --retries 0 >"$tmp/pull.out" 2>&1 || rc=$?
check "pull with the packaged config: exit 2 (network), not 1 (config)" \
    test "$rc" = 2
check "failed pull wrote no snapshot" test ! -e /var/lib/beian/snapshot.mdb

check "packaged beian-sync builds /var/lib/beian/snapshot.mdb from the sample" \
    beian-sync build --quiet --records conf/sample-records.json \
    --instance-id lhins-demo0001 --out /var/lib/beian/snapshot.mdb

# ---- nginx serves with the packaged module -----------------------------
# The module comes from modules-enabled, exactly as Debian's nginx.conf
# includes it; nothing here loads it by path.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;
user www-data;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    beian_snapshot /var/lib/beian/snapshot.mdb;
    server {
        listen 127.0.0.1:$port;
        beian on;
        location / { return 200 "site: \$beian_status \$beian_domain\n"; }
    }
}
EOF
check "nginx -t with the test config" \
    /usr/sbin/nginx -t -q -e "$tmp/logs/error.log" -c "$tmp/nginx.conf"
check "nginx starts with the packaged module" \
    /usr/sbin/nginx -e "$tmp/logs/error.log" -c "$tmp/nginx.conf"
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done

out=$(curl -s -w '%{http_code}' -H 'Host: www.example.com' "http://127.0.0.1:$port/" || true)
check "filed host www.example.com served (200, filed)" \
    test "$out" = "site: filed example.com
200"
out=$(curl -s -w '\n%{http_code}' -H 'Host: notexample.com' "http://127.0.0.1:$port/" || true)
check "unfiled host notexample.com blocked (403, block page)" \
    test "${out##*$'\n'}" = 403 -a -n "$(grep -F 'https://beian.miit.gov.cn/' <<<"$out")"
check "the module's log line names version $version" \
    grep -qF "(beian gate $version)" "$tmp/logs/error.log"
check "no [alert]/[crit]/[emerg] in the error log" \
    test -z "$(grep -E '\[(alert|crit|emerg)\]' "$tmp/logs/error.log")"

master=$(cat "$tmp/nginx.pid" 2>/dev/null || echo 0)
[ "$master" = 0 ] || kill -QUIT "$master"
for _ in $(seq 50); do
    kill -0 "$master" 2>/dev/null || break
    sleep 0.1
done
check "test nginx stopped" eval '! kill -0 "$master" 2>/dev/null'

# everything the packages put on disk, for the purge check
dpkg -L $pkgs | grep -vx '/\.' | sort -u >"$tmp/files"

# ---- remove: conffiles and state stay, the module is disabled ----------
apt-get remove "${apt_opts[@]}" $pkgs >"$tmp/apt.log" 2>&1
check "remove triggered nginx-reload" \
    grep -q '^Processing triggers for nginx ' "$tmp/apt.log"
for p in $modpkgs; do
    l=$(echo /etc/nginx/modules-enabled/*-mod-"${p#libnginx-mod-}".conf*)
    check "remove: $p's link parked as .removed ($l)" \
        test "${l%.removed}.removed" = "$l" -a -L "$l"
done
check "remove: nginx -t still passes without the module" /usr/sbin/nginx -t -q
check "remove: conffile kept" test -f /etc/beian/beian-sync.conf
check "remove: snapshot kept" test -f /var/lib/beian/snapshot.mdb
check "remove: module and tool gone" test ! -e "$mod" -a ! -e /usr/bin/beian-sync

# ---- purge: nothing left -----------------------------------------------
apt-get purge "${apt_opts[@]}" $pkgs >>"$tmp/apt.log" 2>&1
for p in $pkgs; do
    check "purge: $p unknown to dpkg" eval '! installed "$p"'
done
left=
while read -r f; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    # directories other packages own (/usr/lib/nginx/modules, ...) stay
    if [ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1; then
        continue
    fi
    left="$left $f"
done <"$tmp/files"
check "purge: no file of the packages left${left:+:$left}" test -z "$left"
for p in $modpkgs; do
    l=$(echo /etc/nginx/modules-enabled/*-mod-"${p#libnginx-mod-}".conf*)
    check "purge: no modules-enabled link of $p left" \
        test "$l" = "/etc/nginx/modules-enabled/*-mod-${p#libnginx-mod-}.conf*"
done
check "purge: /etc/beian and /var/lib/beian gone" \
    test ! -e /etc/beian -a ! -e /var/lib/beian
etc_state >"$tmp/etc.after"
check "purge: /etc/nginx as before" diff -u "$tmp/etc.before" "$tmp/etc.after"
now_running=no
service_running && now_running=yes
check "nginx service as before (running: $was_running)" \
    test "$now_running" = "$was_running"

echo "$((checks - failed)) passed, $failed failed"
[ "$failed" = 0 ]
