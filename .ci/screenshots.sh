#!/bin/sh
# make screenshots: what a blocked visitor sees, taken with headless
# Chromium from a real nginx with the built module, into
# docs/screenshots/: desktop, phone (390 px wide), dark mode, a long host on
# a phone, and an IDN host.  Names resolve to the local nginx through
# Chromium's host resolver rules, so each request carries its own Host.
set -eu
cd "$(dirname "$0")/.."

BEIAN_EXTRA_PKGS="chromium fonts-noto-cjk" sh .ci/deps.sh

out=${SHOTS_DIR:-docs/screenshots}
dir=$(mktemp -d /tmp/beian-shots.XXXXXX)
port=$(perl -MIO::Socket::INET -e \
    'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
nginx=${NGINX_BIN:-/usr/sbin/nginx}

cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir -p "$out" "$dir/tmp" "$dir/profile"
chmod 755 "$dir"

./build/beian-sync build --quiet --records conf/sample-records.json \
    --instance-id lhins-demo0001 --out "$dir/snapshot.mdb"

cat > "$dir/nginx.conf" <<EOF
load_module $PWD/build/ngx_http_beian_module.so;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    beian_snapshot $dir/snapshot.mdb;
    server {
        listen 127.0.0.1:$port;
        beian on;
        location / { return 200 "site\n"; }
    }
}
EOF
"$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"

# NAME WIDTH HEIGHT HOST [extra chromium flags]
shot() {
    name=$1 w=$2 h=$3 host=$4
    shift 4
    chromium --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars \
        --user-data-dir="$dir/profile" \
        --host-resolver-rules="MAP * 127.0.0.1:$port" \
        --window-size="$w,$h" "$@" \
        --screenshot="$PWD/$out/$name.png" "http://$host/" \
        >"$dir/chromium.log" 2>&1 \
        || { cat "$dir/chromium.log"; exit 1; }
    echo "screenshots: $out/$name.png ($host, ${w}x$h)"
}

long=$(printf 'a%.0s' $(seq 1 60)).$(printf 'b%.0s' $(seq 1 60)).example.net

shot desktop 1280 900 unfiled.example.net
shot phone 390 1400 unfiled.example.net
shot dark 1280 900 unfiled.example.net --force-dark-mode \
    --blink-settings=preferredColorScheme=0
shot phone-long-host 390 1500 "$long"
shot idn 1280 900 "例子.公司"
