# The TLS gates as a client sees them, with the clients people use: openssl
# s_client (the alert, and no certificate), curl over HTTP/2, IP-literal and
# missing SNI, and new snapshots (HUP, beian_snapshot_check) changing the
# verdict of later handshakes; the same for a stream server passing TLS
# through to a backend, with its access log, a slow ClientHello and broken
# snapshots.  Plain Test::More; runs its own nginx.

use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep);
use lib 't/lib';
use BeianTest ();

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $snap  = $ENV{TEST_NGINX_SNAP} or plan skip_all => 'run through t/run.sh';
my @mods  = grep { length } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
my $root  = $> == 0;

system('openssl version >/dev/null 2>&1') == 0
    or plan skip_all => 'openssl (the command) is not installed';

my $dir = tempdir('beian-tls.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/logs";
mkdir "$dir/conf";
my $live = "$dir/live.mdb";

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        or die "no free port: $!";
    return $s->sockport;
}

my ($allow, $block, $backend, $pass, $term, $rpass) =
    (free_port(), free_port(), free_port(), free_port(), free_port(),
     free_port());

sub install {
    my ($name) = @_;
    copy("$snap/$name.mdb", "$live.tmp") or die "copy: $!";
    chmod 0644, "$live.tmp";
    rename "$live.tmp", $live or die "rename: $!";
}

sub write_conf {
    my ($http_extra, $stream_snapshot) = @_;
    $stream_snapshot //= $live;
    my $load = join '', map { "load_module $_;\n" } @mods;
    my $user = $root ? "user nobody nogroup;\n" : '';
    my $tls = "ssl_protocols TLSv1.2 TLSv1.3; ssl_certificate $snap/tls.crt; "
            . "ssl_certificate_key $snap/tls.key;";
    open my $f, '>', "$dir/conf/nginx.conf" or die $!;
    print $f <<"EOF";
$load$user
worker_processes 2;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 64; }
stream {
    beian_snapshot $stream_snapshot;
    $http_extra
    log_format gate "\$beian_status \$ssl_preread_server_name \$status \$beian_server_name";
    access_log $dir/logs/stream.log gate;
    preread_timeout 1s;
    server {
        listen 127.0.0.1:$pass;
        ssl_preread on;
        beian on;
        proxy_pass 127.0.0.1:$backend;
    }
    server {
        listen 127.0.0.1:$rpass;
        ssl_preread on;
        beian on;
        beian_mode report;
        proxy_pass 127.0.0.1:$backend;
    }
    server {
        listen 127.0.0.1:$term ssl;
        $tls
        beian on;
        return "stream \$ssl_server_name\n";
    }
}
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    beian_snapshot $live;
    $http_extra
    server {
        listen 127.0.0.1:$allow ssl http2;
        $tls
        beian on;
        location / { return 200 "\$beian_status \$ssl_server_name\\n"; }
    }
    server {
        listen 127.0.0.1:$block ssl;
        $tls
        beian on;
        beian_ip_host block;
        location / { return 200 "\$beian_status \$ssl_server_name\\n"; }
    }
    server {
        listen 127.0.0.1:$backend ssl;
        $tls
        location / { return 200 "backend \$ssl_server_name\\n"; }
        location = /m { beian_metrics; }
    }
}
EOF
    close $f;
}

sub nginx_cmd { "$nginx -p $dir/ -c $dir/conf/nginx.conf -e $dir/logs/error.log" }

sub pid { open my $p, '<', "$dir/logs/nginx.pid" or return; chomp(my $v = <$p>); $v }

sub start_nginx {
    system(nginx_cmd() . " 2>>$dir/logs/stderr") == 0 or die "nginx failed";
    for (1 .. 50) {
        return if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$allow");
        sleep 0.1;
    }
    die "nginx did not listen";
}

sub stop_nginx {
    my $pid = pid() or return;
    kill 'QUIT', $pid;
    for (1 .. 50) { last unless kill 0, $pid; sleep 0.1 }
}

sub slurp { local $/; open my $f, '<', $_[0] or return ''; <$f> }

# s_client's view of one handshake: (refused with unrecognized_name,
# certificate received, the output)
sub handshake {
    my ($port, @args) = @_;
    my $out = `openssl s_client -connect 127.0.0.1:$port @args </dev/null 2>&1`;
    my $alert = $out =~ /unrecognized name|alert number 112/ ? 1 : 0;
    my $cert = $out =~ /no peer certificate available/ ? 0
             : $out =~ /^subject=.*beian-test/m ? 1 : 0;
    return ($alert, $cert, $out);
}

sub refused {
    my ($port, $args, $what) = @_;
    my ($alert, $cert, $out) = handshake($port, @$args);
    ok($alert && !$cert, "$what: unrecognized_name, no certificate")
        or diag $out;
}

# a stream server closes the connection: no alert of its own, no certificate
sub refused_stream {
    my ($port, $args, $what) = @_;
    my ($alert, $cert, $out) = handshake($port, @$args);
    ok(!$cert && $out =~ /unexpected eof|errno=|write:|Connection reset/i,
       "$what: closed, no certificate") or diag $out;
}

# A ClientHello by hand: TLS 1.3 only, x25519, with a key share or not
# (and with early_data offered, or not); or ($share 'tls12') TLS 1.2
# only, ECDHE with AES-GCM.
sub client_hello {
    my ($name, $share, $early) = @_;
    my $tls12 = ($share // '') eq 'tls12';
    my $ext = sub { pack('n n/a*', $_[0], $_[1]) };
    my $e = $ext->(0, pack('n/a*', pack('C n/a*', 0, $name)))      # SNI
          . $ext->(10, pack('n/a*', pack('n*', 0x001d, 0x0017)))    # groups
          . $ext->(13, pack('n/a*', pack('n*', 0x0804, 0x0403,     # sigalgs
                                             0x0401, 0x0805)));
    $e .= $ext->(43, pack('C/a*', pack('n', 0x0304)))              # TLS 1.3
        . $ext->(51, pack('n/a*', $share                            # key share
                 ? pack('n n/a*', 0x001d, join '', map { chr 9 } 1 .. 32)
                 : ''))
        . ($early ? $ext->(42, '') : '')                            # early data
        unless $tls12;
    my $suites = $tls12 ? pack('n*', 0xc02f, 0xc02b) : pack('n', 0x1301);
    my $body = pack('n', 0x0303) . ("\x11" x 32) . pack('C/a*', "\x22" x 32)
             . pack('n/a*', $suites) . "\x01\x00"
             . pack('n/a*', $e);
    my $hs = "\x01" . substr(pack('N', length $body), 1) . $body;
    return pack('C n n/a*', 0x16, 0x0301, $hs);
}

# A connection to port and a reader of what it says: until 3 s of quiet,
# the end, or (one_record) one whole record
sub conn {
    my ($port, $one_record) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or return;
    my $read = sub {
        my $buf = '';
        my $sel = IO::Select->new($s);
        while ($sel->can_read(3)) {
            sysread($s, $buf, 65536, length $buf) or last;
            last if $one_record && length $buf >= 5
                    && length $buf >= 5 + unpack('n', substr($buf, 3, 2));
        }
        return $buf;
    };
    return ($s, $read);
}

# A one-record ClientHello cut into handshake records of n bytes (none: as
# it is)
sub fragment {
    my ($rec, $n) = @_;
    return $rec unless $n;
    my $msg = substr($rec, 5);
    my $out = '';
    $out .= pack('C n n/a*', 0x16, 0x0301, substr($msg, 0, $n, ''))
        while length $msg;
    return $out;
}

# Both ClientHellos of a HelloRetryRequest exchange: what the client gets
# for the second, 'serverhello', 'closed', or what else came
# Options: appdata => early data offered in the first ClientHello and
# records of type 23 (what it looks like) sent before the second; frag => N, each ClientHello cut into
# handshake records of N bytes; split => the second ClientHello's bytes in
# two writes, 50 ms apart.
sub hrr {
    my ($port, $first, $second, %o) = @_;
    my ($s, $read) = conn($port, 1) or return "connect: $!";
    $s->autoflush(1);
    print $s fragment(client_hello($first, 0, $o{appdata}), $o{frag});
    my $r = $read->();
    # the HelloRetryRequest's "random" is a constant of RFC 8446
    my $magic = pack('H*', 'cf21ad74e59a6111be1d8c021e65b891'
                         . 'c2a211167abb8c5e079e09e2c8a8339c');
    return 'no HelloRetryRequest: ' . unpack('H*', substr($r, 0, 12))
        unless index($r, $magic) >= 0;
    my $out = "\x14\x03\x03\x00\x01\x01"
            . ($o{appdata} ? pack('C n n/a*', 23, 0x0303, "\x5a" x 64) x 2
                           : '')
            . fragment(client_hello($second, 1), $o{frag});
    if ($o{split}) {
        my $half = int(length($out) / 2);
        print $s substr($out, 0, $half);
        sleep 0.05;
        print $s substr($out, $half);
    } else {
        print $s $out;
    }
    $r = $read->();
    $r = substr($r, 6) if substr($r, 0, 1) eq "\x14";       # a CCS first
    return 'closed' if $r eq '';
    return 'serverhello' if substr($r, 0, 1) eq "\x16";
    return 'other: ' . unpack('H*', substr($r, 0, 8));
}

# A TLS 1.2 ClientHello the backend answers with its ServerHello, then a
# handshake record whose first byte reads as a ClientHello's type and the
# rest as nothing: what a TLS 1.2 client's encrypted Finished looks like,
# one time in 256 (its first byte is ciphertext).  'answered' when the
# backend got it and said something, 'closed' when the connection ended
# without a byte.
sub after_serverhello {
    my ($port, $name) = @_;
    my ($s, $read) = conn($port) or return "connect: $!";
    print $s client_hello($name, 'tls12');
    my $r = $read->();
    return 'no ServerHello: ' . unpack('H*', substr($r, 0, 6))
        unless substr($r, 0, 1) eq "\x16" && substr($r, 5, 1) eq "\x02";
    print $s "\x16\x03\x03\x00\x28\x01" . ("\x5a" x 39);
    return $read->() eq '' ? 'closed' : 'answered';
}

# What a server says first to one ClientHello record: 'serverhello',
# 'alert N', 'closed', or what else came
sub first_reply {
    my ($port, $hello) = @_;
    my ($s, $read) = conn($port, 1) or return "connect: $!";
    print $s $hello;
    my $r = $read->();
    return 'closed' if $r eq '';
    return 'serverhello' if substr($r, 0, 1) eq "\x16"
                            && substr($r, 5, 1) eq "\x02";
    return 'alert ' . ord(substr($r, 6, 1)) if substr($r, 0, 1) eq "\x15";
    return 'other: ' . unpack('H*', substr($r, 0, 8));
}

# The stream gate's connection counters, from the metrics: "status action"
sub stream_counts {
    my $m = `curl -sk https://127.0.0.1:$backend/m`;
    my %c;
    $c{"$1 $2"} = $3 while $m =~
        /^beian_stream_connections_total\{status="(\w+)",action="(\w+)"\} (\d+)$/mg;
    $c{would_close} = $m =~ /^beian_stream_would_close_total (\d+)$/m ? $1 : 0;
    return %c;
}

sub accepted {
    my ($port, $args, $what) = @_;
    my ($alert, $cert, $out) = handshake($port, @$args);
    ok(!$alert && $cert, "$what: handshake with the certificate")
        or diag $out;
}


# 1. what s_client sees
install('main');
write_conf('');
start_nginx();

accepted($allow, ['-servername', 'example.com'], 'filed name');
accepted($allow, ['-servername', 'a.b.filed.cn'], 'subdomain of a filed name');
refused($allow, ['-servername', 'unfiled.example.net'], 'unfiled name');
refused($allow, ['-servername', 'example.com.evil.net'], 'suffix look-alike');
refused($allow, ['-servername', 'xexample.com'], 'prefix look-alike');
accepted($allow, ['-servername', 'example.com', '-tls1_2'], 'filed name, TLS 1.2');
refused($allow, ['-servername', 'xexample.com', '-tls1_2'], 'unfiled name, TLS 1.2');
accepted($allow, ['-servername', '127.0.0.1'], 'IP-literal SNI, beian_ip_host allow');
refused($block, ['-servername', '127.0.0.1'], 'IP-literal SNI, beian_ip_host block');
accepted($allow, ['-noservername'], 'no SNI, beian_ip_host allow');
refused($block, ['-noservername'], 'no SNI, beian_ip_host block');
accepted($block, ['-servername', 'example.com'], 'filed name, beian_ip_host block');
# a server name never has a port: what follows ':' is not cut off
refused($allow, ['-servername', 'example.com:www.evil.com'],
        'a filed name, a colon and an unfiled one');
refused($allow, ['-servername', 'example.com:443'], 'a name with a port');
refused($allow, ['-servername', '127.0.0.1:evil.com'],
        'an address, a colon and a name');

# an empty host_name (OpenSSL lets it by): it names nothing, unlike no
# server_name extension at all
is(first_reply($allow, client_hello('', 1)), 'alert 112',
   'an empty server name: unrecognized_name');
is(first_reply($allow, client_hello('example.com', 1)), 'serverhello',
   '... where a filed one gets its ServerHello');

like(slurp("$dir/logs/error.log"),
     qr/\[info\] .*beian: rejected TLS handshake for unfiled server name "xexample\.com"/,
     'refusals are logged at info');
like(slurp("$dir/logs/error.log"),
     qr/beian: rejected TLS handshake for unfiled server name ""/,
     'an empty server name is unfiled');
like(slurp("$dir/logs/error.log"),
     qr/beian: rejected TLS handshake for ip server name "127\.0\.0\.1"/,
     'an IP-literal SNI is class ip');

# 2. HTTP/2 over TLS: a filed name is served over h2, an unfiled one never
#    gets to HTTP
SKIP: {
    skip 'curl without HTTP/2', 4 unless `curl -V 2>/dev/null` =~ /\bHTTP2\b/;

    my $out = `curl -sk --http2 --resolve www.example.com:$allow:127.0.0.1 -w ' %{http_version}' https://www.example.com:$allow/`;
    is($?, 0, 'h2: filed name');
    is($out, "filed www.example.com\n 2", 'h2: served over HTTP/2');

    $out = `curl -sk --http2 --resolve evil.example.net:$allow:127.0.0.1 -w '%{http_code}' https://evil.example.net:$allow/`;
    is($? >> 8, 35, 'h2: unfiled name fails in the TLS handshake (curl 35)');
    is($out, '000', 'h2: no HTTP response at all');
}

# 3. a new snapshot through HUP changes later handshakes
refused($allow, ['-servername', 'newsite.cn'], 'before HUP: newsite.cn');
accepted($allow, ['-servername', 'filed.cn'], 'before HUP: filed.cn');
install('v2');
kill 'HUP', pid();
my $ok = 0;
for (1 .. 50) {
    sleep 0.2;
    my ($alert, $cert) = handshake($allow, '-servername', 'newsite.cn');
    last if $ok = !$alert && $cert;
}
ok($ok, 'after HUP: newsite.cn is accepted');
refused($allow, ['-servername', 'filed.cn'], 'after HUP: filed.cn (cancelled)');
stop_nginx();

# 4. ... and through beian_snapshot_check, without a reload
install('main');
write_conf('beian_snapshot_check 1s;');
start_nginx();
refused($allow, ['-servername', 'newsite.cn'], 'before the check: newsite.cn');
install('v2');
sleep 2.5;
accepted($allow, ['-servername', 'newsite.cn'], 'after the check: newsite.cn')
    for 1 .. 2;
refused($allow, ['-servername', 'filed.cn'], 'after the check: filed.cn')
    for 1 .. 2;
stop_nginx();

# 5. stream: TLS passes through to the backend for filed names; for
#    unfiled ones the connection closes before the backend sees a byte
install('main');
write_conf('');
start_nginx();
accepted($pass, ['-servername', 'www.example.com'], 'stream: filed name');
refused_stream($pass, ['-servername', 'xexample.com'], 'stream: unfiled name');
refused_stream($pass, ['-servername', 'example.com.evil.net'],
               'stream: look-alike');
refused_stream($pass, ['-servername', 'example.com:www.evil.com'],
               'stream: a filed name, a colon and an unfiled one');
refused_stream($pass, ['-servername', '127.0.0.1:evil.com'],
               'stream: an address, a colon and a name');
accepted($pass, ['-noservername'], 'stream: no SNI, beian_ip_host allow');
accepted($pass, ['-servername', '127.0.0.1'], 'stream: IP-literal SNI, allow');

# TLS 1.3 HelloRetryRequest: a first ClientHello with a filed name and no
# key share makes the backend ask again; the second ClientHello must not
# carry another name through
is(hrr($pass, 'example.com', 'example.com'), 'serverhello',
   'stream: HelloRetryRequest, the same filed name again: served');
is(hrr($pass, 'example.com', 'evil.example.net'), 'closed',
   'stream: HelloRetryRequest, an unfiled name the second time: closed');
# ... and it is the connection's verdict: counted closed as unfiled, not
# accepted as filed, and so logged
my %before = stream_counts();
hrr($pass, 'example.com', 'evil.example.net');
my %after = stream_counts();
is(($after{'unfiled closed'} // 0) - ($before{'unfiled closed'} // 0), 1,
   'stream: a second ClientHello refused counts as unfiled, closed');
is(($after{'filed accepted'} // 0) - ($before{'filed accepted'} // 0), 0,
   'stream: ... and not as filed, accepted');
# in report mode it goes on, counted as what enforce mode would close
%before = stream_counts();
is(hrr($rpass, 'example.com', 'evil.example.net'), 'serverhello',
   'stream, report mode: an unfiled second ClientHello goes on');
%after = stream_counts();
is($after{would_close} - $before{would_close}, 1,
   'stream, report mode: ... counted as would-close');
is(($after{'unfiled accepted'} // 0) - ($before{'unfiled accepted'} // 0), 1,
   'stream, report mode: ... as unfiled');
is(($after{'filed accepted'} // 0) - ($before{'filed accepted'} // 0), 0,
   'stream, report mode: ... not as filed');
# records of application data (early data) before the second ClientHello
# do not end the watch
is(hrr($pass, 'example.com', 'evil.example.net', appdata => 1), 'closed',
   'stream: HelloRetryRequest, early data, then an unfiled name: closed');
is(hrr($pass, 'example.com', 'example.com', appdata => 1), 'serverhello',
   'stream: HelloRetryRequest, early data, then the filed name: served');
# ClientHellos cut into small records, or over two reads, are judged whole
for my $n (1, 5, 7, 13, 100) {
    is(hrr($pass, 'example.com', 'example.com', frag => $n), 'serverhello',
       "stream: both ClientHellos in records of $n bytes, filed: served");
    is(hrr($pass, 'example.com', 'evil.example.net', frag => $n), 'closed',
       "stream: ... the second unfiled: closed");
}
is(hrr($pass, 'example.com', 'example.com', split => 1), 'serverhello',
   'stream: the second ClientHello over two reads, filed: served');
is(hrr($pass, 'example.com', 'evil.example.net', split => 1), 'closed',
   'stream: ... unfiled: closed');
like(slurp("$dir/logs/error.log"),
     qr/beian: closed connection for unfiled server name "evil\.example\.net" in a second ClientHello/,
     'stream: the second ClientHello is named in the log');

# a ClientHello that a lenient TLS server (Go's crypto/tls) still takes,
# but that is no clean one: a warning alert record first, or a record
# version that is not 3.x.  Malformed, so unfiled and closed, whatever the
# name; never "not TLS" (no name, allowed by default)
my $zero_version = client_hello('evil.example.net');
substr($zero_version, 1, 2) = "\x00\x00";
for my $case (['a warning alert first, an unfiled name',
               "\x15\x03\x01\x00\x02\x01\x5a" . client_hello('evil.example.net')],
              ['a warning alert first, a filed name',
               "\x15\x03\x01\x00\x02\x01\x5a" . client_hello('example.com')],
              ['record version 0.0', $zero_version],
              ['a PROXY protocol header of the client\'s own first',
               "PROXY TCP4 1.2.3.4 5.6.7.8 1 443\r\n"
               . client_hello('evil.example.net')],
              ['an application data record first',
               pack('C n n/a*', 23, 0x0303, "\x5a" x 16)
               . client_hello('evil.example.net')]) {
    %before = stream_counts();
    is(first_reply($pass, $case->[1]), 'closed', "stream: $case->[0]: closed");
    %after = stream_counts();
    is(($after{'unfiled closed'} // 0) - ($before{'unfiled closed'} // 0), 1,
       "stream: ... counted as unfiled, closed");
}

# after a ServerHello that is not a HelloRetryRequest no ClientHello can
# follow: the client's next handshake records (a TLS 1.2 Finished) are
# encrypted and pass, even one whose first byte is 0x01
is(after_serverhello($pass, 'example.com'), 'answered',
   'stream: a record after the ServerHello that looks like a ClientHello passes');
unlike(slurp("$dir/logs/error.log"), qr/cannot be judged/,
       'stream: and is not taken for a second ClientHello');

# bytes that are no TLS record after an allowed ClientHello: closed in
# enforce mode; report mode closes nothing
is(first_reply($pass, client_hello('example.com') . ("\xff" x 20)), 'closed',
   'stream: a filed ClientHello, then bytes that are no TLS record: closed');
%before = stream_counts();
isnt(first_reply($rpass, client_hello('example.com') . ("\xff" x 20)),
     'closed', 'stream, report mode: ... the connection goes on');
%after = stream_counts();
is($after{would_close} - $before{would_close}, 1,
   'stream, report mode: ... counted as would-close');

# a stream server that ends TLS itself: the name is judged after the
# handshake (the certificate is out), and the connection closed unserved
# (-ign_eof: s_client waits for the server to close, not for stdin)
my ($a, $c, $o) = handshake($term, '-ign_eof', '-servername', 'www.example.com');
like($o, qr/^stream www\.example\.com$/m, 'stream ssl: a filed name is served');
($a, $c, $o) = handshake($term, '-ign_eof', '-servername', 'xexample.com');
unlike($o, qr/^stream /m, 'stream ssl: an unfiled name is closed unserved');
my $out = `curl -sk --resolve www.example.com:$pass:127.0.0.1 https://www.example.com:$pass/`;
is($out, "backend www.example.com\n", 'stream: curl through the gate');

# a client that is not TLS at all has no name: it passes (ip_host allow)
my $plain = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$pass") or die;
print $plain "GET / HTTP/1.0\r\n\r\n";
like(join('', <$plain>), qr/400 The plain HTTP request was sent to HTTPS port/,
     'stream: a plain HTTP client reaches the backend');

# half a ClientHello, then silence past preread_timeout: the connection is
# closed, and the gate says why
my $slow = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$pass") or die;
print $slow "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
sleep 1.6;
print $slow "x" x 600;
my $got = '';
$slow->recv($got, 100);
is($got, '', 'stream: a ClientHello unfinished at preread_timeout is closed');
like(slurp("$dir/logs/error.log"),
     qr/beian: closed connection: no complete ClientHello within preread_timeout/,
     'stream: ... and logged');

# new snapshots change later connections (HUP)
refused_stream($pass, ['-servername', 'newsite.cn'], 'stream before HUP');
install('v2');
kill 'HUP', pid();
$ok = 0;
for (1 .. 50) {
    sleep 0.2;
    my ($alert, $cert) = handshake($pass, '-servername', 'newsite.cn');
    last if $ok = $cert;
}
ok($ok, 'stream after HUP: newsite.cn passes');
refused_stream($pass, ['-servername', 'filed.cn'], 'stream after HUP: filed.cn');
stop_nginx();

my $log = slurp("$dir/logs/stream.log");
like($log, qr/^filed www\.example\.com 200 www\.example\.com$/m,
     'stream log: $beian_status filed');
like($log, qr/^unfiled - 403 xexample\.com$/m,
     'stream log: $beian_status unfiled, closed; $beian_server_name names '
     . 'it where $ssl_preread_server_name is empty');
like($log, qr/^nohost - 200 -$/m, 'stream log: $beian_status nohost');
like($log, qr/^unfiled example\.com \d+ evil\.example\.net$/m,
     'stream log: a second ClientHello refused makes $beian_status unfiled, '
     . 'and $beian_server_name its name');

# ... and through beian_snapshot_check (v2 live at the start)
write_conf('beian_snapshot_check 1s;');
start_nginx();
refused_stream($pass, ['-servername', 'filed.cn'], 'stream before the check');
install('main');
sleep 2.5;
accepted($pass, ['-servername', 'filed.cn'], 'stream after the check')
    for 1 .. 2;
stop_nginx();

unlike(slurp("$dir/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert, crit or emerg in the log');

# 6. nginx -t refuses a broken stream snapshot as it does an http one
for my $name (qw(zero random truncated schema99 nometa)) {
    write_conf('', "$snap/$name.mdb");
    my $t = `@{[nginx_cmd()]} -t 2>&1`;
    isnt($?, 0, "nginx -t fails on $name.mdb in stream {}");
    like($t, qr/\[emerg\] beian: snapshot "\Q$snap\E\/$name\.mdb": /,
         "nginx -t names $name.mdb in stream {}");
}

# 7. nginx -s with a broken snapshot: stop, quit and reopen reach the
#    master (it serves the snapshot it checked); reload still says no
install('main');
write_conf('');
start_nginx();
my $master = pid();
copy("$snap/random.mdb", $live) or die "copy: $!";
isnt(system(nginx_cmd() . ' -s reload 2>/dev/null'), 0,
     'nginx -s reload with a broken snapshot fails');
isnt(system(nginx_cmd() . ' -s quit -sreload 2>/dev/null'), 0,
     '... and so does the last of two -s, reload, as nginx sends that one');
isnt(system(nginx_cmd() . ' -t -s quit 2>/dev/null'), 0,
     'nginx -t -s quit tests the configuration, the snapshot too');
is(system(nginx_cmd() . ' -s reload -s reopen 2>/dev/null'), 0,
   'nginx -s reload -s reopen (nginx sends reopen) signals the master');
is(system(nginx_cmd() . ' -s reopen 2>/dev/null'), 0,
   'nginx -s reopen with a broken snapshot signals the master');
is(system(nginx_cmd() . ' -qs quit 2>/dev/null'), 0,
   'nginx -qs quit with a broken snapshot signals the master');
my $gone = 0;
for (1 .. 50) { if (!kill 0, $master) { $gone = 1; last } sleep 0.1 }
ok($gone, '... which stops');

BeianTest::log_on_failure("$dir/logs/error.log");
done_testing();
