# beian_metrics: Prometheus text, counters shared by all workers.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

master_on();
workers(2);
add_block_preprocessor(\&BeianTest::preprocess);
no_root_location();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: counters after a mix of requests, summed over two workers; as
JSON too, with the snapshot's and the TLS gate's
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics {
        beian_metrics;
    }
    location / {
        return 200 "ok\n";
    }
--- request eval
["GET /", "GET /", "GET /", "GET /", "GET /", "GET /metrics",
 "GET /metrics?format=json"]
--- more_headers eval
["Host: example.com", "Host: www.example.com", "Host: unfiled.example.net",
 "Host: example.com.evil.net", "Host: 127.0.0.1", "Host: localhost",
 "Host: localhost"]
--- error_code eval
[200, 200, 403, 403, 200, 200, 200]
--- response_body_like eval
["ok", "ok", "Site not available", "Site not available", "ok",
qr/^# TYPE beian_requests_total counter
beian_requests_total\{status="filed"\} 2
beian_requests_total\{status="unfiled"\} 2
beian_requests_total\{status="exempt"\} 1
beian_requests_total\{status="ip"\} 1
beian_requests_total\{status="nohost"\} 0
beian_requests_total\{status="off"\} 0
.*^beian_blocked_total 2
.*^beian_would_block_total 0
.*^beian_snapshot_records 3
.*^beian_snapshot_generated_timestamp_seconds [1-9][0-9]{9}
.*^beian_snapshot_loaded_timestamp_seconds [1-9][0-9]{9}
.*^beian_snapshot_reload_failures_total 0
/sm,
qr/^\{"requests":\{"filed":2,"unfiled":2,"exempt":2,"ip":1,"nohost":0,"off":0\},"blocked":2,"would_block":0,"snapshot_records":3,"snapshot_generated_at":[1-9][0-9]{9},"snapshot_loaded_at":[1-9][0-9]{9},"snapshot_reload_failures":0,"tls_rejected":0,"tls_would_reject":0,"top_blocked":\{"capacity":64,"observed":2,"hosts":\[\{"host":"/]
--- no_error_log
[error]
[crit]
[alert]



=== TEST 2: report mode counts what it would have blocked
--- config
    beian on;
    beian_mode report;
    beian_exempt_host localhost;
    location = /metrics {
        beian_metrics;
    }
    location / {
        return 200 "ok\n";
    }
--- request eval
["GET /", "GET /", "GET /metrics"]
--- more_headers eval
["Host: unfiled.example.net", "Host: example.com", "Host: localhost"]
--- response_body_like eval
["ok", "ok",
qr/^beian_requests_total\{status="unfiled"\} 1\n.*^beian_blocked_total 0\n.*^beian_would_block_total 1\n/sm]



=== TEST 3: metrics content type, and only GET/HEAD
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics {
        beian_metrics;
    }
--- request eval
["GET /metrics", "POST /metrics\nx=1"]
--- error_code eval
[200, 405]
--- response_headers eval
["Content-Type: text/plain; version=0.0.4; charset=utf-8", ""]



=== TEST 4: requests in a server with the gate off are counted as "off"
--- http_config eval
"beian_snapshot \$TEST_NGINX_LIVE;
server {
    listen 127.0.0.1:" . ($ENV{TEST_NGINX_SERVER_PORT} + 1) . ";
    beian off;
    location / { return 200 \"off site\\n\"; }
}"
--- config eval
"beian on;
location = /metrics {
    beian_metrics;
}
location /off/ {
    proxy_pass http://127.0.0.1:" . ($ENV{TEST_NGINX_SERVER_PORT} + 1) . "/;
}"
--- request eval
["GET /off/a", "GET /off/b", "GET /off/c", "GET /metrics"]
--- more_headers
Host: example.com
--- response_body_like eval
["off site", "off site", "off site",
 qr/^beian_requests_total\{status="off"\} 3$/m]
