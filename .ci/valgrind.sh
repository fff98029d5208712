#!/bin/sh
# make test-valgrind: the t/ suites with nginx under valgrind memcheck.
#
# Suites on Test::Nginx::Socket run with TEST_NGINX_USE_VALGRIND=1 (the
# real harness and t/harness both support it); suites that start nginx
# themselves get a valgrind wrapper as TEST_NGINX_BINARY.  Then every error
# valgrind printed is counted, and the run fails if any of them involves
# our code (the module, the core, or LMDB, which only we call), or if a
# suite failed.  Errors in nginx alone are listed and counted, not fatal:
# t/valgrind.suppress documents the known ones.
set -eu
cd "$(dirname "$0")/.."

B=build/valgrind
log=$PWD/$B/t.log
vglogs=$PWD/$B/logs

BEIAN_EXTRA_PKGS="valgrind" sh .ci/deps.sh

echo "test-valgrind: building into $B"
make -s B=$B module tool

rm -rf "$vglogs"
mkdir -p "$vglogs"
chmod 1777 "$vglogs"            # workers may run as another user

# no leak checks: nginx frees by exiting
vgopts="--tool=memcheck --leak-check=no --num-callers=50 --error-exitcode=42"
vgopts="$vgopts --suppressions=$PWD/t/valgrind.suppress"

# for suites that run nginx themselves (it daemonises: valgrind follows)
cat > $B/nginx-valgrind <<EOF
#!/bin/sh
exec valgrind -q $vgopts --log-file=$vglogs/valgrind.%p.log \\
    ${NGINX_BIN:-/usr/sbin/nginx} "\$@"
EOF
chmod 755 $B/nginx-valgrind

export BEIAN_SYNC=$PWD/$B/beian-sync
export TEST_NGINX_LOAD_MODULES="${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so} $PWD/$B/ngx_http_beian_module.so $PWD/$B/ngx_stream_beian_module.so"

harness=$(grep -l '^use Test::Nginx::Socket' t/*.t | tr '\n' ' ')
own=$(grep -L '^use Test::Nginx::Socket' t/*.t | tr '\n' ' ')

status=0
rm -f $B/status
{
    # options rather than 1: the real Test::Nginx would add leak checks
    TEST_NGINX_USE_VALGRIND="$vgopts" TESTS="$harness" sh t/run.sh \
        || echo 1 > $B/status
    if [ -n "$own" ]; then
        TEST_NGINX_BINARY=$PWD/$B/nginx-valgrind TESTS="$own" sh t/run.sh \
            || echo 1 > $B/status
    fi
} 2>&1 | tee "$log"
[ -f $B/status ] && status=1 && rm -f $B/status

# Error records: "==PID== Headline" up to the blank "==PID== " line, from
# the suites' output (the harnesses echo valgrind's logs) and the
# wrapper's log files.
perl -e '
    my $ours = qr{ngx_http_beian|\bbeian_|core/|liblmdb|\bmdb_};
    my (%rec, @done);
    while (<>) {
        next unless /^==(\d+)== ?(.*)$/;
        my ($pid, $text) = ($1, $2);
        if ($text eq "") {
            push @done, delete $rec{$pid} if $rec{$pid};
        } elsif (!$rec{$pid} && $text !~ /^\s/ && $text !~ /^Warning:/) {
            $rec{$pid} = "$_";
        } elsif ($rec{$pid}) {
            $rec{$pid} .= $_;
        }
    }
    push @done, values %rec;
    my @ours = grep { /$ours/ } @done;
    print "---- valgrind error involving our code:\n$_" for @ours;
    printf "test-valgrind: %d valgrind errors, %d involving our code, %d in "
         . "nginx or system libraries only\n", scalar @done, scalar @ours,
         @done - @ours;
    print "---- in nginx or system libraries:\n$_" for grep { !/$ours/ } @done;
    exit(@ours ? 1 : 0);
' $(find "$vglogs" -name "*.log" -size +0 | sort) "$log" || { echo "test-valgrind: FAILED (log: $log)" >&2; exit 1; }

if [ "$status" != 0 ]; then
    echo "test-valgrind: FAILED: suites failed under valgrind (log: $log)" >&2
    exit 1
fi

echo "test-valgrind: ok (log: $log)"
