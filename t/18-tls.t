# The TLS gate: servers with ssl refuse a ClientHello whose server name
# (SNI) is not filed, with an unrecognized_name alert, before any
# certificate.  The client is nginx itself (BeianTest::tls_front: /p/?sni=
# proxies to the TLS server under test, which --- tls_server_config
# configures), so a refused handshake is a 502
# with OpenSSL's alert 112 in the log.  What a client sees byte for byte is
# in t/19-tls-cli.t.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

BeianTest::handshake_errors_in_log();
add_block_preprocessor(\&BeianTest::preprocess);
add_block_preprocessor(\&BeianTest::tls_front);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: filed names and their subdomains complete the handshake
--- tls_server_config
    beian on;
    location / { return 200 "$ssl_server_name $beian_status\n"; }
--- request eval
["GET /p/?sni=example.com&host=example.com",
 "GET /p/?sni=www.example.com&host=www.example.com",
 "GET /p/?sni=A.B.Filed.CN&host=a.b.filed.cn",
 "GET /p/?sni=xn--fsqu00a.xn--fiqs8s&host=xn--fsqu00a.xn--fiqs8s"]
--- response_body eval
["example.com filed\n", "www.example.com filed\n", "A.B.Filed.CN filed\n",
 "xn--fsqu00a.xn--fiqs8s filed\n"]
--- no_error_log
beian: rejected
[error]
[crit]
[alert]



=== TEST 2: unfiled names and look-alikes are refused with unrecognized_name
--- tls_server_config
    beian on;
    location / { return 200 "served $ssl_server_name\n"; }
--- request eval
["GET /p/?sni=unfiled.example.net&host=example.com",
 "GET /p/?sni=example.com.evil.net&host=example.com",
 "GET /p/?sni=xexample.com&host=example.com",
 "GET /p/?sni=notexample.com&host=example.com",
 "GET /p/?sni=pending.cn&host=example.com",
 "GET /p/?sni=elsewhere.cn&host=example.com",
 "GET /p/?sni=com&host=example.com"]
--- error_code eval
[502, 502, 502, 502, 502, 502, 502]
--- error_log eval
[qr/beian: rejected TLS handshake for unfiled server name "[a-z.]+" while SSL handshaking/,
 "SSL alert number 112"]
--- no_error_log
served
[alert]



=== TEST 3: a filed name, then an unfiled one on the same server: still refused
--- tls_server_config
    ssl_session_cache shared:tls:1m;
    beian on;
    location / { return 200 "$ssl_server_name $ssl_session_reused\n"; }
--- config
    location /r/ {
        proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT/;
        proxy_ssl_server_name on;
        proxy_ssl_name $arg_sni;
        proxy_set_header Host $arg_host;
    }
--- request eval
["GET /r/?sni=example.com&host=example.com",
 "GET /r/?sni=example.com&host=example.com",
 "GET /r/?sni=xexample.com&host=example.com"]
--- error_code eval
[200, 200, 502]
--- response_body_like eval
["example.com \\.\n", "example.com r\n", ""]



=== TEST 4: no SNI (a client connecting by IP) follows beian_ip_host allow
--- tls_server_config
    beian on;
    location / { return 200 "[$ssl_server_name] $beian_status\n"; }
--- request
GET /p/?sni=&host=example.com
--- response_body
[] filed
--- no_error_log
beian: rejected
[error]



=== TEST 5: ... and beian_ip_host block
--- tls_server_config
    beian on;
    beian_ip_host block;
    location / { return 200 "served\n"; }
--- request
GET /p/?sni=&host=example.com
--- error_code: 502
--- error_log
beian: rejected TLS handshake for nohost server name ""
SSL alert number 112
--- no_error_log
served



=== TEST 6: report mode logs and lets the handshake go on
--- tls_server_config
    beian on;
    beian_mode report;
    location / { return 200 "$ssl_server_name $beian_status\n"; }
--- request
GET /p/?sni=xexample.com&host=xexample.com
--- response_body
xexample.com unfiled
--- error_log
beian: would reject TLS handshake for unfiled server name "xexample.com" (report mode)
beian: would block unfiled host "xexample.com" (report mode)
--- no_error_log
beian: rejected
[error]



=== TEST 7: beian_tls off: the handshake goes on, the Host check still blocks
--- tls_server_config
    beian on;
    beian_tls off;
    location / { return 200 "$ssl_server_name $beian_status\n"; }
--- request eval
["GET /p/?sni=xexample.com&host=example.com",
 "GET /p/?sni=xexample.com&host=xexample.com"]
--- error_code eval
[200, 403]
--- response_body_like eval
["xexample.com filed\n", "Site not available"]
--- no_error_log
beian: rejected TLS
[error]



=== TEST 8: beian_tls off at http level, on again in the server
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_tls off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        beian on;
        beian_tls on;
        location / { return 200 "served\n"; }
    }
--- request
GET /p/?sni=xexample.com&host=example.com
--- error_code: 502
--- error_log
beian: rejected TLS handshake for unfiled server name "xexample.com"



=== TEST 9: a filed SNI with an unfiled Host is still blocked by the Host check
--- tls_server_config
    beian on;
    location / { return 200 "served\n"; }
--- request
GET /p/?sni=example.com&host=unfiled.example.net
--- error_code: 403
--- response_body_like: Site not available
--- error_log
beian: blocked unfiled host "unfiled.example.net"
--- no_error_log
beian: rejected
[error]



=== TEST 10: exemptions, by name and by regex, apply to the server name
--- tls_server_config
    beian on;
    beian_exempt_host internal.test ~^health\.;
    location / { return 200 "$ssl_server_name $beian_status\n"; }
--- request eval
["GET /p/?sni=internal.test&host=internal.test",
 "GET /p/?sni=health.unfiled.net&host=health.unfiled.net",
 "GET /p/?sni=www.internal.test&host=internal.test"]
--- error_code eval
[200, 200, 502]
--- response_body_like eval
["internal.test exempt\n", "health.unfiled.net exempt\n", ""]



=== TEST 11: beian_subdomains off: only the filed name itself
--- tls_server_config
    beian on;
    beian_subdomains off;
    location / { return 200 "$ssl_server_name $beian_status\n"; }
--- request eval
["GET /p/?sni=example.com&host=example.com",
 "GET /p/?sni=www.example.com&host=example.com"]
--- error_code eval
[200, 502]



=== TEST 12: nginx still picks the server by SNI; its beian settings apply
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl default_server;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        beian on;
        location / { return 200 "default $ssl_server_name\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name intranet.test;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        beian off;
        location / { return 200 "intranet $ssl_server_name\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name www.example.com;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        beian on;
        location / { return 200 "www $ssl_server_name\n"; }
    }
--- request eval
["GET /p/?sni=intranet.test&host=intranet.test",
 "GET /p/?sni=www.example.com&host=www.example.com",
 "GET /p/?sni=example.com&host=example.com",
 "GET /p/?sni=unfiled.test&host=example.com"]
--- error_code eval
[200, 200, 200, 502]
--- response_body_like eval
["intranet intranet.test\n", "www www.example.com\n",
 "default example.com\n", ""]
--- no_error_log
beian: rejected TLS handshake for unfiled server name "intranet.test"



=== TEST 13: the default server without beian lets unfiled names through
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl default_server;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        location / { return 200 "default $ssl_server_name\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name example.com;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        beian on;
        location / { return 200 "example $ssl_server_name\n"; }
    }
--- request eval
["GET /p/?sni=unfiled.test&host=unfiled.test",
 "GET /p/?sni=example.com&host=example.com"]
--- response_body eval
["default unfiled.test\n", "example example.com\n"]
--- no_error_log
beian: rejected
[error]



=== TEST 14: nginx's own ssl_reject_handshake still refuses first
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl default_server;
        ssl_reject_handshake on;
        beian on;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name example.com;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        beian on;
        location / { return 200 "example $ssl_server_name\n"; }
    }
--- request eval
["GET /p/?sni=filed.cn&host=filed.cn",
 "GET /p/?sni=example.com&host=example.com"]
--- error_code eval
[502, 200]
--- no_error_log
beian: rejected



=== TEST 15: refusals are counted in the metrics
--- tls_server_config
    beian on;
    location / { return 200 "served\n"; }
--- config
    location = /metrics { beian_metrics; }
--- request eval
["GET /p/?sni=xexample.com&host=example.com",
 "GET /p/?sni=example.com&host=example.com",
 "GET /p/?sni=unfiled.test&host=example.com",
 "GET /metrics"]
--- error_code eval
[502, 200, 502, 200]
--- response_body_like eval
["", "served", "",
qr/^beian_tls_rejected_total 2\n.*^beian_tls_would_reject_total 0\n/sm]
