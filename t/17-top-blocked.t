# Who is pointing names at this server (beian_top_blocked): 10,000 distinct
# unfiled hosts and two heavy hitters, over several keepalive connections
# to a master and 2 workers, then a HUP and more of the same.  The heavy
# hitters are reported with counts no lower than their true counts, the
# table never holds more than N hosts, labels and JSON are escaped, and
# report mode feeds it too.  Plain Test::More; runs its own nginx.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep);
use lib 't/lib';
use BeianTest ();

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $snap  = $ENV{TEST_NGINX_SNAP} or plan skip_all => 'run through t/run.sh';
my @mods  = grep { length } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');

my $dir = tempdir('beian-top.XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw(logs conf html);

my $port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        or die "no free port: $!";
    $s->sockport;
};

my $N = 32;

sub write_conf {
    my ($extra) = @_;
    my $load = join '', map { "load_module $_;\n" } @mods;
    open my $f, '>', "$dir/conf/nginx.conf" or die $!;
    print $f <<"EOF";
${load}worker_processes 2;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log notice;
events { worker_connections 128; accept_mutex off; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    beian_snapshot $snap/main.mdb;
    beian_top_blocked $N;
    keepalive_requests 100000;
    $extra
    server {
        listen 127.0.0.1:$port;
        beian on;
        beian_exempt_host localhost;
        beian_block_page $dir/html/small.html;
        location = /m { beian_metrics; }
        location / { return 200 "site\\n"; }
    }
    server {
        listen 127.0.0.1:$port;
        server_name report.test;
        beian on;
        beian_mode report;
        location / { return 200 "site\\n"; }
    }
}
EOF
    close $f;
}

sub nginx_cmd { "$nginx -p $dir/ -c $dir/conf/nginx.conf -e $dir/logs/error.log" }

sub get {
    my ($path, $host) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die $!;
    print $s "GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
    local $/;
    my $r = <$s>;
    return $r =~ /\r\n\r\n(.*)\z/s ? $1 : '';
}

sub top {
    my $j = decode_json(get('/m?format=json', 'localhost'));
    return ($j, { map { $_->{host} => $_ } @{ $j->{top_blocked}{hosts} } });
}

# Sends every request, pipelined over $conns keepalive connections at once,
# and reads every response; returns the number of responses.
sub blast {
    my ($conns, @hosts) = @_;
    my (@socks, %out, %in, %n);
    for my $c (0 .. $conns - 1) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Blocking => 0) or die $!;
        push @socks, $s;
        $out{$s} = '';
        $in{$s} = '';
    }
    for my $i (0 .. $#hosts) {
        my $s = $socks[$i % $conns];
        $out{$s} .= "GET / HTTP/1.1\r\nHost: $hosts[$i]\r\n\r\n";
    }
    $out{$_} .= "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        for @socks;

    my $r = IO::Select->new(@socks);
    my $w = IO::Select->new(@socks);
    my $deadline = time + 60;
    while ($r->count && time < $deadline) {
        my ($rr, $ww) = IO::Select->select($r, $w->count ? $w : undef,
                                           undef, 1);
        for my $s (@{ $ww || [] }) {
            my $k = syswrite($s, $out{$s}, 65536);
            substr($out{$s}, 0, $k, '') if $k;
            $w->remove($s) if $out{$s} eq '';
        }
        for my $s (@{ $rr || [] }) {
            my $k = sysread($s, my $buf, 65536);
            if ($k) { $in{$s} .= $buf } else { $r->remove($s); close $s }
        }
    }
    my $total = 0;
    $total += () = $in{$_} =~ /^HTTP\/1\.1 \d{3} /mg for keys %in;
    return $total;
}

# the traffic: 10,000 names once each and two heavy hitters, interleaved
sub traffic {
    my ($round) = @_;
    my @hosts;
    for my $i (1 .. 10000) {
        push @hosts, "s$i.r$round.scan.example";
        push @hosts, 'hot1.evil.example' if $i % 4 == 0;     # 2,500
        push @hosts, 'HOT2.Evil.Example.:8080' if $i % 10 == 0;  # 1,000
    }
    return @hosts;
}

open my $page, '>', "$dir/html/small.html" or die $!;
print $page "blocked\n";
close $page;

write_conf('');
system(nginx_cmd()) == 0 or die "nginx failed to start";
for (1 .. 50) {
    last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
    sleep 0.1;
}

my @hosts = traffic(1);
is(blast(4, @hosts), @hosts + 4, 'every request answered');

my ($j, $by) = top();
is($j->{top_blocked}{capacity}, $N, "capacity $N");
is($j->{top_blocked}{observed}, scalar @hosts, 'every blocked request counted');
cmp_ok(scalar @{ $j->{top_blocked}{hosts} }, '<=', $N, "at most $N hosts");
ok($by->{'hot1.evil.example'}, 'heavy hitter 1 reported');
ok($by->{'hot2.evil.example'}, 'heavy hitter 2 reported, normalized');
cmp_ok($by->{'hot1.evil.example'}{count}, '>=', 2500, 'count >= true count (1)');
cmp_ok($by->{'hot2.evil.example'}{count}, '>=', 1000, 'count >= true count (2)');
cmp_ok($by->{'hot1.evil.example'}{count} - $by->{'hot1.evil.example'}{error},
       '<=', 2500, 'count - error <= true count');
is($j->{top_blocked}{hosts}[0]{host}, 'hot1.evil.example', 'most frequent first');
like($by->{'hot1.evil.example'}{first_seen}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/,
     'first_seen in ISO 8601');
is($by->{'hot1.evil.example'}{last_client}, '127.0.0.1', 'last client');

# both workers took part (accept_mutex off, 4 connections)
my @pids = BeianTest::children(do {
    open my $p, '<', "$dir/logs/nginx.pid" or die $!; <$p> =~ /(\d+)/; $1 });
is(scalar @pids, 2, 'two workers');

# a HUP keeps the table and goes on counting
my ($master) = do { open my $p, '<', "$dir/logs/nginx.pid" or die $!; <$p> =~ /(\d+)/ };
write_conf('# reloaded');
kill 'HUP', $master;
for (1 .. 50) {
    sleep 0.1;
    my @now = BeianTest::children($master);
    last if @now == 2 && !grep { my $p = $_; grep { $_ == $p } @pids } @now;
}
@hosts = traffic(2);
is(blast(3, @hosts), @hosts + 3, 'after the HUP: every request answered');
($j, $by) = top();
is($j->{top_blocked}{observed}, 2 * @hosts, 'kept across the reload');
cmp_ok($by->{'hot1.evil.example'}{count}, '>=', 5000, 'after HUP: count >= 5000');
cmp_ok($by->{'hot2.evil.example'}{count}, '>=', 2000, 'after HUP: count >= 2000');
cmp_ok(scalar @{ $j->{top_blocked}{hosts} }, '<=', $N, "still at most $N hosts");

# report mode feeds it as would-block
is(get('/', 'report.test'), "site\n", 'report mode serves');
blast(1, ('report.test') x 3000);
($j, $by) = top();
cmp_ok($by->{'report.test'}{count} // 0, '>=', 3001,
       'would-block hosts are counted too');

# hostile bytes: escaped in the Prometheus label and valid JSON (nginx
# 1.29.4 and later refuse such hosts with their own 400: never counted)
SKIP: {
    skip 'nginx refuses quotes, backslashes and non-ASCII in a host', 4
        if ($ENV{TEST_NGINX_VERSION_NUM} // 0) >= 1029004;

    blast(1, ('a"b\\c.evil.example') x 3000, ("x\x{ff}y.evil.example") x 3000);
    my $prom = get('/m', 'localhost');
    like($prom, qr/^beian_blocked_host_requests_total\{host="a\\"b\\\\c\.evil\.example"\} \d+$/m,
         'quote and backslash escaped in the label');
    like($prom, qr/^beian_blocked_host_requests_total\{host="x%FFy\.evil\.example"\} \d+$/m,
         'a byte outside ASCII percent-encoded');
    my @series = $prom =~ /^beian_blocked_host_requests_total\{/mg;
    cmp_ok(scalar @series, '<=', $N, "at most $N series");
    ($j, $by) = top();
    ok($by->{'a"b\\c.evil.example'}, 'the hostile name survives JSON intact');
}

my $log = do { local $/; open my $f, '<', "$dir/logs/error.log"; <$f> };
unlike($log, qr/\[(alert|crit|emerg)\]|exited on signal/, 'no alerts, no crashes');

kill 'QUIT', $master;
for (1 .. 50) { last unless kill 0, $master; sleep 0.1 }

BeianTest::log_on_failure("$dir/logs/error.log");
done_testing();
