# `beian on` at http level also gates servers that are backends of the same
# nginx: proxy_pass http://backend sends "Host: backend", which is no filed
# domain.  What the README's Operations section says, shown: the backend
# is blocked, and beian off or an exemption keeps it out of the gate.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

add_block_preprocessor(\&BeianTest::preprocess);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the front passes a filed host; the backend then blocks "backend"
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian on;
    upstream backend { server unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock; }
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock;
        server_name backend;
        location /b { return 200 "backend content\n"; }
    }
--- config
    location = /t { proxy_pass http://backend/b; }
--- request
GET /t
--- more_headers
Host: www.example.com
--- error_code: 403
--- response_body_like: Site not available
--- response_body_unlike: backend content
--- error_log
beian: blocked unfiled host "backend"



=== TEST 2: beian off in the backend server keeps it out of the gate
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian on;
    upstream backend { server unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock; }
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock;
        server_name backend;
        beian off;
        location /b { return 200 "backend content\n"; }
    }
--- config
    location = /t { proxy_pass http://backend/b; }
--- request
GET /t
--- more_headers
Host: www.example.com
--- error_code: 200
--- response_body
backend content



=== TEST 3: ... or an exempt name sent as the backend's Host; the front still blocks an unfiled host before any proxying
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian on;
    beian_exempt_host backend.internal;
    upstream backend { server unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock; }
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock;
        server_name backend.internal;
        location /b { return 200 "backend content $beian_status\n"; }
    }
--- config
    location = /t {
        proxy_set_header Host backend.internal;
        proxy_pass http://backend/b;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: www.example.com", "Host: notexample.com"]
--- error_code eval
[200, 403]
--- response_body_like eval
[qr/^backend content exempt\n\z/, qr/Site not available/]
