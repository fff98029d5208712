#!/bin/sh
# Runs the t/ suites against Debian's nginx with the freshly built module.
# Uses the real Test::Nginx when perl can load it (e.g. PERL5LIB pointing at
# a test-nginx checkout), the bundled subset in t/harness otherwise.
set -eu
cd "$(dirname "$0")/.."

snap=$(mktemp -d /tmp/beian-t.XXXXXX)
trap 'rm -rf "$snap"' EXIT
sh t/fixtures.sh "$snap"

export TEST_NGINX_SNAP="$snap"
export TEST_NGINX_BINARY="${TEST_NGINX_BINARY:-/usr/sbin/nginx}"
export TEST_NGINX_LOAD_MODULES="${TEST_NGINX_LOAD_MODULES-$PWD/build/ngx_http_beian_module.so}"

# What the suites adapt to: the nginx version as one number (1.29.4 is
# 1029004), and how to turn on HTTP/2 (1.25.1 deprecated "listen ... http2"
# for "http2 on;").
ver=$("$TEST_NGINX_BINARY" -v 2>&1 | sed -n 's|^nginx version: [a-z]*/\([0-9.]*\).*|\1|p')
export TEST_NGINX_VERSION_NUM=$(echo "$ver" | awk -F. '{ print $1 * 1000000 + $2 * 1000 + $3 }')
if [ "$TEST_NGINX_VERSION_NUM" -ge 1025001 ]; then
    export TEST_NGINX_HTTP2_LISTEN= TEST_NGINX_HTTP2_ON='http2 on;'
else
    export TEST_NGINX_HTTP2_LISTEN=http2 TEST_NGINX_HTTP2_ON=
fi
echo "test-nginx: $TEST_NGINX_BINARY, nginx $ver"

if perl -MTest::Nginx::Socket -e1 >/dev/null 2>&1; then
    echo "test-nginx: real Test::Nginx ($(perl -MTest::Nginx::Socket -e 'print $INC{"Test/Nginx/Socket.pm"}'))"
else
    echo "test-nginx: bundled Test::Nginx::Socket subset (t/harness)"
    PERL5LIB="$PWD/t/harness/lib${PERL5LIB:+:$PERL5LIB}"
    export PERL5LIB
fi

prove -r ${PROVE_FLAGS:-} ${TESTS:-t}
