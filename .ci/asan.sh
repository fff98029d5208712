#!/bin/sh
# make test-asan: beian-sync, the unit tests, the nginx module, the t/
# suites and tests/integration, all against builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc) in build/asan.  Fails on any test failure
# and on any sanitizer report from any process.
#
# Debian's /usr/sbin/nginx is not instrumented, so it runs with gcc's
# libasan preloaded (the ASan runtime must be the first library loaded); its
# workers are forked, not exec'd, and keep it.  Reports go to files
# (log_path), not to stderr: nginx points its stderr at error logs the
# harness deletes between tests.
set -eu
cd "$(dirname "$0")/.."

B=build/asan
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
# gcc's sanitizers make some -Wstringop-* / -Wformat-truncation warnings
# spurious (the instrumentation confuses its range analysis): keep them as
# warnings here, the plain build stays -Werror
CFLAGS="-O2 -g -Wno-error"
reports=$PWD/$B/reports
log=$PWD/$B/test-asan.log

sh .ci/deps.sh

libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "test-asan: no libasan.so from gcc" >&2; exit 1; }

echo "test-asan: building into $B"
make -s B=$B SAN="$SAN" CFLAGS="$CFLAGS" tool
EXTRA_CC_OPT="$SAN" EXTRA_LD_OPT="-fsanitize=address,undefined" \
    make -s B=$B module

rm -rf "$reports"
mkdir -p "$reports"
chmod 1777 "$reports"           # nginx workers may run as another user

# nginx, preloaded; no leak check: nginx leaves freeing to exit();
# t/asan.suppress: nginx's own per-module symbols
cat > $B/nginx-asan <<EOF
#!/bin/sh
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$reports/asan-nginx:suppressions=$PWD/t/asan.suppress \\
LD_PRELOAD=$libasan exec ${NGINX_BIN:-/usr/sbin/nginx} "\$@"
EOF
chmod 755 $B/nginx-asan

# everything else: ours, instrumented, leaks included
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

export BEIAN_SYNC=$PWD/$B/beian-sync
export BEIAN_MODULE=$PWD/$B/ngx_http_beian_module.so
export NGINX_BIN=$PWD/$B/nginx-asan
export TEST_NGINX_BINARY=$NGINX_BIN
export TEST_NGINX_LOAD_MODULES="${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so} $BEIAN_MODULE $PWD/$B/ngx_stream_beian_module.so"

status=0
{
    echo "== unit tests"
    make -s B=$B SAN="$SAN" CFLAGS="$CFLAGS" unit || status=1

    echo "== t/ suites"
    sh t/run.sh || status=1

    if [ -d tests/integration ]; then
        echo "== tests/integration"
        python3 -m unittest discover -s tests/integration || status=1
    fi
    echo "$status" > "$B/status"
} 2>&1 | tee "$log"
status=$(cat "$B/status")

# Any report fails the run.  ASan writes to $reports; gcc's UBSan, combined
# with ASan, ignores log_path and writes to stderr: the tool's is in $log,
# nginx's lands in its error log, where both harnesses surface the
# "worker process ... exited on signal 6" alert it causes (halt_on_error).
# Signal 9 is left out: t/14 kills workers on purpose.
pattern='ERROR: (Address|Leak)Sanitizer|runtime error:|exited on signal ([0-8]|[1-9][0-9])\b'
found=$(find "$reports" -type f -size +0 | sort)
hits=$(grep -Eh "$pattern" "$log" t/servroot/logs/* 2>/dev/null | head -20 || :)
if [ -n "$found" ] || [ -n "$hits" ]; then
    for f in $found; do
        echo "---- $f"
        head -60 "$f"
    done
    [ -n "$hits" ] && printf '%s\n' "---- in $log or t/servroot/logs:" "$hits"
    echo "test-asan: FAILED: sanitizer reports (files in $reports, log $log)" >&2
    exit 1
fi

if [ "$status" != 0 ]; then
    echo "test-asan: FAILED: tests failed (no sanitizer reports); log: $log" >&2
    exit 1
fi

echo "test-asan: ok, no sanitizer reports (log: $log)"
