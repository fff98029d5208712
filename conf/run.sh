#!/bin/sh
# `make run`: the gate end to end on 127.0.0.1 with the sample records in
# conf/sample-records.json.  Runs nginx in the foreground; Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."

dir=$PWD/build/run
port=${PORT:-$(perl -MIO::Socket::INET -e \
    'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')}

mkdir -p "$dir/tmp"
chmod 755 "$dir"

./build/beian-sync build --records conf/sample-records.json \
    --instance-id lhins-demo0001 --out "$dir/snapshot.mdb"
./build/beian-sync info --snapshot "$dir/snapshot.mdb"

sed -e "s|@MODULE@|$PWD/build/ngx_http_beian_module.so|" -e "s|@DIR@|$dir|g" \
    -e "s|@PORT@|$port|" conf/demo.conf.in > "$dir/nginx.conf"

nginx=${NGINX_BIN:-/usr/sbin/nginx}
"$nginx" -t -q -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"

cat <<MSG

beian gate listening on http://127.0.0.1:$port  (Ctrl-C stops it)

  filed host, served:     curl -i -H 'Host: www.example.com' http://127.0.0.1:$port/
  unfiled host, blocked:  curl -i -H 'Host: notexample.com' http://127.0.0.1:$port/

  metrics:   curl -H 'Host: localhost' http://127.0.0.1:$port/beian-metrics
  verdicts:  ./build/beian-sync check --snapshot $dir/snapshot.mdb www.example.com notexample.com
  logs:      $dir/error.log

MSG

# nginx stays in the foreground; Ctrl-C (SIGINT) is its fast shutdown
exec "$nginx" -g 'daemon off;' -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
