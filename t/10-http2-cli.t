# What Test::Nginx::Socket does not reach: HTTP/2 (:authority vs Host, with
# curl and nghttp), `nginx -t` on every broken snapshot, and the worker user:
# workers run as an unprivileged user on the master's sealed copy, and a
# new file they cannot read is refused.  Plain Test::More; runs its own
# nginx.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BeianTest ();

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $snap  = $ENV{TEST_NGINX_SNAP} or plan skip_all => 'run through t/run.sh';
my @mods  = grep { length } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
my $root  = $> == 0;
# t/run.sh: "listen ... http2" before nginx 1.25.1, "http2 on;" from then
my $h2_listen = $ENV{TEST_NGINX_HTTP2_LISTEN} // 'http2';
my $h2_on     = $ENV{TEST_NGINX_HTTP2_ON} // '';
my $strict_hosts = ($ENV{TEST_NGINX_VERSION_NUM} // 0) >= 1029004;

my $dir = tempdir('beian-h2.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/logs";
mkdir "$dir/conf";

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        or die "no free port: $!";
    return $s->sockport;
}

my ($h1, $h2) = (free_port(), free_port());

sub write_conf {
    my ($snapshot, $extra) = @_;
    my $load = join '', map { "load_module $_;\n" } @mods;
    my $user = $root ? "user nobody nogroup;\n" : '';
    open my $f, '>', "$dir/conf/nginx.conf" or die $!;
    print $f <<"EOF";
$load$user
worker_processes 2;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    beian_snapshot $snapshot;
    $extra
    server {
        listen 127.0.0.1:$h1;
        listen 127.0.0.1:$h2 $h2_listen;
        $h2_on
        beian on;
        location / { return 200 "\$beian_status \$beian_domain\\n"; }
    }
}
EOF
    close $f;
}

sub nginx_cmd { "$nginx -p $dir/ -c $dir/conf/nginx.conf -e $dir/logs/error.log" }

sub start_nginx {
    system(nginx_cmd() . " 2>>$dir/logs/stderr") == 0 or die "nginx failed";
    for (1 .. 50) {
        return if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$h1");
        sleep 0.1;
    }
    die "nginx did not listen";
}

sub stop_nginx {
    open my $p, '<', "$dir/logs/nginx.pid" or return;
    chomp(my $pid = <$p>);
    kill 'QUIT', $pid;
    for (1 .. 50) { last unless kill 0, $pid; sleep 0.1 }
}

sub slurp { local $/; open my $f, '<', $_[0] or return ''; <$f> }

my $have_curl_h2 = `curl -V 2>/dev/null` =~ /\bHTTP2\b/;
my $have_nghttp  = system('nghttp --version >/dev/null 2>&1') == 0;


# 1. HTTP/2: :authority is the host, exactly like Host in HTTP/1.1
write_conf("$snap/main.mdb", '');
start_nginx();

SKIP: {
    skip 'curl without HTTP/2', 10 unless $have_curl_h2;

    for my $case (['example.com', 200, "filed example.com\n"],
                  ['www.Example.com.', 200, "filed example.com\n"],
                  ['[::1]', 200, "ip \n"],
                  ['notexample.com', 403, undef],
                  ['example.com.evil.net', 403, undef],
                  # nginx 1.29.4 and later refuse it themselves
                  ['a<b>"c.example', $strict_hosts ? 400 : 403, undef],
                  ['a&b.example', 403, undef])
    {
        my ($host, $code, $body) = @$case;
        my $out = `curl -s --http2-prior-knowledge -H 'Host: $host' -w '\\n%{http_version} %{http_code}' http://127.0.0.1:$h2/`;
        my ($resp, $status) = $out =~ /\A(.*)\n(\S+ \d+)\z/s;
        is($status, "2 $code", "h2 :authority $host -> $code");
        is($resp, $body, "h2 $host body") if defined $body;
    }
}

SKIP: {
    skip 'nghttp (nghttp2-client) not installed', 4 unless $have_nghttp;

    my $r = `nghttp -H ':authority: evil.example.net' http://127.0.0.1:$h2/ 2>&1`;
    like($r, qr/Site not available/, 'nghttp: unfiled :authority is blocked');

    $r = `nghttp -H ':authority: www.example.com' http://127.0.0.1:$h2/ 2>&1`;
    is($r, "filed example.com\n", 'nghttp: filed :authority is served');

    # :authority and a host header that disagree: nginx 1.22 refuses both
    # ways round, so a filed name in one never carries the other through
    $r = `nghttp -v -H ':authority: example.com' -H 'host: evil.example.net' http://127.0.0.1:$h2/ 2>&1`;
    like($r, qr/:status: 400/, 'nghttp: filed :authority + unfiled host -> 400');
    $r = `nghttp -v -H ':authority: evil.example.net' -H 'host: example.com' http://127.0.0.1:$h2/ 2>&1`;
    like($r, qr/:status: 400/, 'nghttp: unfiled :authority + filed host -> 400');
}

# 2. the workers run unprivileged and still read the snapshot
SKIP: {
    skip 'not root: workers run as the current user', 2 unless $root;

    my @workers = BeianTest::children(slurp("$dir/logs/nginx.pid") =~ /(\d+)/);
    ok(@workers >= 2, 'two workers');
    my @uids = map { slurp("/proc/$_/status") =~ /^Uid:\s+(\d+)/m ? $1 : 0 }
               @workers;
    ok(!grep({ $_ == 0 } @uids), "workers are not root (uids @uids)");
}

stop_nginx();

# 3. a snapshot only root can read: the master copies it into sealed memory
#    and the workers use that copy; a new file they cannot read themselves
#    (beian_snapshot_check) is refused and the copy stays
SKIP: {
    skip 'not root', 5 unless $root;

    system("cp $snap/main.mdb $dir/private.mdb");
    chmod 0600, "$dir/private.mdb";
    write_conf("$dir/private.mdb", 'beian_snapshot_check 100ms;');
    start_nginx();

    my $out = `curl -s -o /dev/null -w '%{http_code}' -H 'Host: example.com' http://127.0.0.1:$h1/`;
    is($out, '200', 'root-only snapshot: the master\'s copy serves the workers');
    $out = `curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example.net' http://127.0.0.1:$h1/`;
    is($out, '403', 'root-only snapshot: unfiled host blocked');

    # a different file, still root-only: the workers cannot read it
    system("cp $snap/v2.mdb $dir/private.new && chmod 0600 $dir/private.new"
           . " && mv $dir/private.new $dir/private.mdb");
    my $log = '';
    for (1 .. 50) {
        $log = slurp("$dir/logs/error.log");
        last if $log =~ /private\.mdb": Permission denied; keeping/;
        select undef, undef, undef, 0.1;
    }
    like($log, qr/beian: snapshot "[^"]*private\.mdb": Permission denied; keeping the previous snapshot/,
         'the worker says why it keeps the copy');
    $out = `curl -s -o /dev/null -w '%{http_code}' -H 'Host: example.com' http://127.0.0.1:$h1/`;
    is($out, '200', 'unreadable new file: the old copy still serves');
    unlike($log, qr/exited on signal/, 'no worker died');
    stop_nginx();
}

# 4. nginx -t names the file and the reason for every broken snapshot
my %broken = (
    'zero'      => qr/empty file \(0 bytes\)/,
    'random'    => qr/not an LMDB file/,
    'truncated' => qr/truncated: \d+ bytes, the file needs \d+/,
    'schema99'  => qr/unknown schema version 99 \(this build reads 1\)/,
    'nometa'    => qr/missing "meta" database/,
    'overlong'  => qr/"domains" holds over-long values/,
    'hugecount' => qr/record count mismatch: meta says 4294967296000/,
    'missing'   => qr/No such file or directory/,
);

for my $name (sort keys %broken) {
    write_conf("$snap/$name.mdb", '');
    my $out = `@{[nginx_cmd()]} -t 2>&1`;
    isnt($?, 0, "nginx -t fails on $name");
    like($out, qr/\[emerg\] beian: snapshot "\Q$snap\E\/$name\.mdb": $broken{$name}/,
         "nginx -t names $name.mdb and the reason");
}

# ... at the beian_snapshot directive's line, not at the end of http {}
{
    my @conf = do { open my $f, '<', "$dir/conf/nginx.conf" or die $!; <$f> };
    my ($line) = grep { $conf[$_ - 1] =~ /^\s*beian_snapshot / } 1 .. @conf;
    my $out = `@{[nginx_cmd()]} -t 2>&1`;
    like($out, qr/\[emerg\] beian: snapshot .* in \Q$dir\E\/?conf\/nginx\.conf:$line$/m,
         "nginx -t points at line $line, the directive");
}

write_conf("$snap/main.mdb", '');
my $out = `@{[nginx_cmd()]} -t 2>&1`;
is($?, 0, 'nginx -t passes with a good snapshot') or diag $out;

BeianTest::log_on_failure("$dir/logs/error.log");
done_testing();
