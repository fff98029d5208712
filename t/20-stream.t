# ngx_stream_beian_module: a stream server (TLS passthrough with ssl_preread)
# closes the connection for unfiled server names before the upstream sees a
# byte.  The client is nginx (BeianTest::tls_front: /s/?sni= over TLS,
# /plain/ without TLS, both to the stream server); the upstream is a TLS
# server that says which name it was asked for.  A closed connection is a
# 502 at the front.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

BeianTest::handshake_errors_in_log();
add_block_preprocessor(\&BeianTest::preprocess);
add_block_preprocessor(\&BeianTest::tls_front);
add_block_preprocessor(sub {
    my ($block) = @_;
    # the TLS upstream behind the stream server
    $block->set_value('http_config', <<'EOF_HTTP' . ($block->http_config // ''))
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_SNAP/tls.crt;
        ssl_certificate_key $TEST_NGINX_SNAP/tls.key;
        location / { return 200 "upstream [$ssl_server_name]\n"; }
    }
EOF_HTTP
        unless defined $block->must_die;
});
no_shuffle();
run_tests();

__DATA__

=== TEST 1: filed names and subdomains pass through to the upstream
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request eval
["GET /s/?sni=example.com&host=example.com",
 "GET /s/?sni=www.example.com&host=www.example.com",
 "GET /s/?sni=x.y.filed.cn&host=x.y.filed.cn"]
--- response_body eval
["upstream [example.com]\n", "upstream [www.example.com]\n",
 "upstream [x.y.filed.cn]\n"]
--- no_error_log
beian: closed
[error]
[crit]
[alert]



=== TEST 2: unfiled names and look-alikes: the connection is closed
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request eval
["GET /s/?sni=unfiled.example.net&host=example.com",
 "GET /s/?sni=example.com.evil.net&host=example.com",
 "GET /s/?sni=xexample.com&host=example.com",
 "GET /s/?sni=pending.cn&host=example.com",
 "GET /s/?sni=elsewhere.cn&host=example.com"]
--- error_code eval
[502, 502, 502, 502, 502]
--- error_log eval
qr/\[info\] .*beian: closed connection for unfiled server name "[a-z.]+" while prereading client data/
--- no_error_log
upstream [
proxy upstream



=== TEST 3: no SNI follows beian_ip_host allow
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request
GET /s/?sni=&host=example.com
--- response_body
upstream []
--- no_error_log
beian: closed
[error]



=== TEST 4: ... and beian_ip_host block
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    beian_ip_host block;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request
GET /s/?sni=&host=example.com
--- error_code: 502
--- error_log
beian: closed connection for nohost server name ""



=== TEST 5: a client that does not speak TLS on an ssl_preread port has no name
(it passes, and the TLS upstream answers its plain HTTP request itself)
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request
GET /plain/?host=example.com
--- error_code: 400
--- response_body_like: The plain HTTP request was sent to HTTPS port
--- no_error_log
beian: closed
[error]



=== TEST 6: ... closed with beian_ip_host block
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    beian_ip_host block;
    return "HTTP/1.0 200 OK\r\n\r\nnot closed\n";
--- request
GET /plain/?host=example.com
--- error_code: 502
--- error_log
beian: closed connection for nohost server name ""



=== TEST 7: report mode logs and passes
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    beian_mode report;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request
GET /s/?sni=xexample.com&host=xexample.com
--- response_body
upstream [xexample.com]
--- error_log
beian: would close connection for unfiled server name "xexample.com" (report mode)
--- no_error_log
beian: closed
[error]



=== TEST 8: exemptions, by name and regex, set at stream level
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_exempt_host internal.test ~^health\.;
--- stream_server_config
    ssl_preread on;
    beian on;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request eval
["GET /s/?sni=internal.test&host=internal.test",
 "GET /s/?sni=health.unfiled.net&host=internal.test"]
--- response_body eval
["upstream [internal.test]\n", "upstream [health.unfiled.net]\n"]
--- no_error_log
beian: closed
[error]



=== TEST 9: beian_subdomains off
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    beian_subdomains off;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request eval
["GET /s/?sni=example.com&host=example.com",
 "GET /s/?sni=www.example.com&host=example.com"]
--- error_code eval
[200, 502]



=== TEST 10: a server with beian off is not checked
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian on;
--- stream_server_config
    ssl_preread on;
    beian off;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- request
GET /s/?sni=xexample.com&host=xexample.com
--- response_body
upstream [xexample.com]
--- no_error_log
beian: closed
[error]



=== TEST 11: counters, in the http beian_metrics output, text and JSON
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    ssl_preread on;
    beian on;
    proxy_pass 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- config
    location = /metrics { beian_metrics; }
--- request eval
["GET /s/?sni=example.com&host=example.com",
 "GET /s/?sni=xexample.com&host=example.com",
 "GET /s/?sni=unfiled.test&host=example.com",
 "GET /s/?sni=&host=example.com",
 "GET /metrics",
 "GET /metrics?format=json"]
--- error_code eval
[200, 502, 502, 200, 200, 200]
--- response_body_like eval
["upstream", "", "", "upstream",
qr/^beian_stream_connections_total\{status="filed",action="accepted"\} 1
beian_stream_connections_total\{status="filed",action="closed"\} 0
beian_stream_connections_total\{status="unfiled",action="accepted"\} 0
beian_stream_connections_total\{status="unfiled",action="closed"\} 2
.*^beian_stream_connections_total\{status="nohost",action="accepted"\} 1
.*^beian_stream_would_close_total 0
.*^beian_stream_snapshot_records 3
/sm,
qr/,"stream":\{"connections":\{"filed":\{"accepted":1,"closed":0\},"unfiled":\{"accepted":0,"closed":2\},.*"nohost":\{"accepted":1,"closed":0\},.*\},"would_close":0,"snapshot_records":3,"snapshot_loaded_at":[1-9][0-9]{9},"snapshot_reload_failures":0\},"top_blocked":/]



=== TEST 12: "beian on" in stream without a stream beian_snapshot
--- stream_server_config
    beian on;
    return "x";
--- must_die
--- error_log
"beian" is on but "beian_snapshot" is not set in "stream"



=== TEST 13: a corrupt snapshot in stream {} stops start-up, naming the file
--- stream_config
    beian_snapshot $TEST_NGINX_SNAP/truncated.mdb;
--- stream_server_config
    beian on;
    return "x";
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/truncated\.mdb": truncated: \d+ bytes}



=== TEST 14: a missing snapshot in stream {} too
--- stream_config
    beian_snapshot $TEST_NGINX_SNAP/does-not-exist.mdb;
--- stream_server_config
    beian on;
    return "x";
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/does-not-exist\.mdb": No such file or directory}



=== TEST 15: beian_snapshot is stream-level only
--- stream_config
    beian_snapshot $TEST_NGINX_LIVE;
--- stream_server_config
    beian_snapshot $TEST_NGINX_LIVE;
    return "x";
--- must_die
--- error_log
"beian_snapshot" directive is not allowed here



=== TEST 16: a stream exempt name that is no host name is refused
--- stream_server_config
    beian on;
    beian_exempt_host *.internal;
    return "x";
--- must_die
--- error_log
invalid host name "*.internal" in "beian_exempt_host" directive
