# The TLS gate as a client sees it, with the clients people use: openssl
# s_client (the alert, and no certificate), curl over HTTP/2, IP-literal and
# missing SNI, and new snapshots (HUP, beian_snapshot_check) changing the
# verdict of later handshakes.  Plain Test::More; runs its own nginx.

use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

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

my ($allow, $block) = (free_port(), free_port());

sub install {
    my ($name) = @_;
    copy("$snap/$name.mdb", "$live.tmp") or die "copy: $!";
    chmod 0644, "$live.tmp";
    rename "$live.tmp", $live or die "rename: $!";
}

sub write_conf {
    my ($http_extra) = @_;
    my $load = join '', map { "load_module $_;\n" } @mods;
    my $user = $root ? "user nobody nogroup;\n" : '';
    my $tls = "ssl_certificate $snap/tls.crt; "
            . "ssl_certificate_key $snap/tls.key;";
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

like(slurp("$dir/logs/error.log"),
     qr/\[info\] .*beian: rejected TLS handshake for unfiled server name "xexample\.com"/,
     'refusals are logged at info');
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

unlike(slurp("$dir/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert, crit or emerg in the log');

done_testing();
