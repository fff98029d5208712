# Attempts to get an unfiled name served past the gate (master + 2 workers):
# a filed absolute-URI host carrying an unfiled Host header to a backend
# through "proxy_set_header Host $http_host"; requests nginx rejected itself
# before the gate ran, sent by error_page to the site; exemption lists
# inherited from the http level.

use lib 't/lib';
use IO::Socket::INET;
use Test::Nginx::Socket 'no_plan';
use BeianTest;

BEGIN {
    # a backend in the same nginx, on a port of its own
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
        or die "no free port: $!";
    $ENV{TEST_NGINX_BACKEND_PORT} = $s->sockport;
}

master_on();
workers(2);
add_block_preprocessor(\&BeianTest::preprocess);

# --- report_backend: a backend on its own port whose gate is in report
# mode, so that its log names every host it is sent
add_block_preprocessor(sub {
    my ($block) = @_;
    return unless defined $block->report_backend;
    $block->set_value('http_config', <<'EOF' . ($block->http_config // ''));
    beian_snapshot $TEST_NGINX_LIVE;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        beian on;
        beian_mode report;
        location / { return 200 "backend\n"; }
    }
EOF
});
no_shuffle();
run_tests();

__DATA__

=== TEST 1: filed absolute URI, unfiled Host, proxied with $http_host:
blocked, the backend never sees the name
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        beian off;
        location / { return 200 "backend saw host $http_host\n"; }
    }
--- config
    beian on;
    location /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        proxy_set_header Host $http_host;
    }
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: backend saw
--- error_log
beian: blocked unfiled host "evil.example.net"
--- no_error_log
[alert]
[crit]



=== TEST 2: the same with a port on the Host header
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: evil.example.net:80\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: backend saw



=== TEST 3: an unfiled absolute URI over a filed Host
--- raw_request eval
"GET http://evil.example.net/t HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: backend saw



=== TEST 4: the same name in another case, with a port: one name, served
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: WWW.Example.COM.:80\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
backend saw host WWW.Example.COM.:80
--- no_error_log
[error]
[alert]



=== TEST 5: two filed names, one in each place: served
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: www.filed.cn\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
backend saw host www.filed.cn
--- no_error_log
[error]



=== TEST 6: a look-alike in the Host header
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: example.com.evil.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: backend saw



=== TEST 7: report mode judges both names and says which one it would block
--- config
    beian on;
    beian_mode report;
    location = /t { return 200 "$beian_status [$beian_domain]\n"; }
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
unfiled []
--- error_log
beian: would block unfiled host "evil.example.net" (report mode)



=== TEST 8: an exempt name in the Host header is fine
--- config
    beian on;
    beian_exempt_host localhost;
    location = /t { return 200 "$beian_status\n"; }
--- raw_request eval
"GET http://example.com/t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
filed



=== TEST 9: duplicate unfiled Host (nginx: 400) sent by error_page to the
site: blocked before the site's location runs
--- config
    beian on;
    error_page 400 494 414 =200 /site;
    location = /site { return 200 "site content\n"; }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like: <span class="host">evil\.example\.net</span>
--- response_body_unlike: site content
--- error_log
beian: blocked unfiled host "evil.example.net"
--- no_error_log
[alert]
[crit]



=== TEST 10: unfiled Host with a 9 KB cookie (nginx: 494) through error_page
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nCookie: c=" . ("x" x 9000) . "\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: site content



=== TEST 11: a request line too long (nginx: 414, no host read) through
error_page: no name can be shown to be filed, blocked
--- raw_request eval
"GET /" . ("a" x 9000) . " HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: site content



=== TEST 12: duplicate filed Host: nginx's 400 and the error_page still work
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
site content



=== TEST 13: error_page to a named location
--- config
    beian on;
    error_page 400 = @site;
    location @site { return 200 "site content\n"; }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: site content



=== TEST 14: error_page to a URI in a server with a server-level return
--- config
    beian on;
    error_page 400 /x;
    return 200 "server-level return\n";
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: server-level



=== TEST 15: report mode on an early error: logged, the error page served
--- config
    beian on;
    beian_mode report;
    error_page 400 =200 /site;
    location = /site { return 200 "site content $beian_status\n"; }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
site content unfiled
--- error_log
beian: would block unfiled host "evil.example.net" (report mode)



=== TEST 16: a server's own exemption list replaces the http one, names and
regexes together: the inherited regex no longer exempts
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_exempt_host localhost ~^health\.;
--- config
    beian on;
    beian_exempt_host internal.test;
    location = /t { return 200 "$beian_status\n"; }
--- request
GET /t
--- more_headers
Host: health.evil.example.net
--- error_code: 403



=== TEST 17: ... nor the inherited name
--- request
GET /t
--- more_headers
Host: localhost
--- error_code: 403



=== TEST 18: ... its own name is exempt
--- request
GET /t
--- more_headers
Host: internal.test
--- response_body
exempt



=== TEST 19: a server without a list of its own inherits both
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_exempt_host localhost ~^health\.;
--- config
    beian on;
    location = /t { return 200 "$beian_status\n"; }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: health.evil.example.net", "Host: localhost", "Host: internal.test"]
--- error_code eval
[200, 200, 403]



=== TEST 20: a server with only a regex of its own drops the inherited names
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_exempt_host localhost internal.test;
--- config
    beian on;
    beian_exempt_host ~^status\.;
    location = /t { return 200 "$beian_status\n"; }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: status.evil.example.net", "Host: localhost", "Host: internal.test"]
--- error_code eval
[200, 403, 403]



=== TEST 21: error_page to an absolute URL: nginx redirects by itself, the
gate takes the Location and the body away for an unfiled name
--- config
    beian on;
    error_page 400 414 494 https://site.example/from/$host;
    location /t { return 200 "site content\n"; }
--- raw_request eval
"GET / HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_headers
Location:
Cache-Control: no-store
Content-Length: 0
--- response_body
--- error_log
beian: blocked unfiled host "evil.example.net"



=== TEST 22: ... a filed name keeps nginx's redirect
--- raw_request eval
"GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 302
--- response_headers
Location: https://site.example/from/example.com



=== TEST 23: ... and a request without a host read (414) is refused too
--- raw_request eval
"GET /" . ("a" x 9000) . " HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_headers
Location:



=== TEST 24: the verdict lives through internal redirects (try_files,
error_page to a URI and to a named location), judged and counted once; the
variable that keeps it reads as nothing
--- config
    beian on;
    beian_mode report;
    location = /metrics { beian_metrics; }
    location /a { try_files /nonexistent /after; }
    location /b { error_page 404 = /after; return 404; }
    location /c { error_page 404 = @after; return 404; }
    location @after { return 200 "$beian_status $beian_domain [$beian_verdict_slot]\n"; }
    location = /after { return 200 "$beian_status $beian_domain [$beian_verdict_slot]\n"; }
--- request eval
["GET /a", "GET /b", "GET /c", "GET /a", "GET /c", "GET /metrics"]
--- more_headers eval
["Host: www.example.com", "Host: www.example.com", "Host: example.com",
 "Host: unfiled.example.net", "Host: unfiled.example.net", "Host: localhost"]
--- response_body_like eval
["^filed example.com \\[\\]\$", "^filed example.com \\[\\]\$",
 "^filed example.com \\[\\]\$", "^unfiled  \\[\\]\$", "^unfiled  \\[\\]\$",
 qr/^beian_requests_total\{status="filed"\} 3\n^beian_requests_total\{status="unfiled"\} 3\n.*^beian_would_block_total 3$/ms]



=== TEST 25: ... and logged once, however many redirects follow
--- config
    beian on;
    beian_mode report;
    recursive_error_pages on;
    location /a { try_files /nonexistent /b; }
    location /b { error_page 404 = @c; return 404; }
    location @c { error_page 404 = /d; return 404; }
    location = /d { return 200 "$beian_status\n"; }
--- request
GET /a
--- more_headers
Host: unfiled.example.net
--- response_body
unfiled
--- grep_error_log eval: qr/would block unfiled host "[^"]+"/
--- grep_error_log_out
would block unfiled host "unfiled.example.net"



=== TEST 26: a port that is not a number makes the Host invalid: never
served under the name before the colon (nginx 1.29.4 and later answer 400
themselves); a numeric or empty one is only a port
--- config
    beian on;
    location = /t { return 200 "served $beian_status\n"; }
--- request eval
[("GET /t") x 6]
--- more_headers eval
["Host: example.com:evil.com", "Host: example.com:443abc",
 "Host: [::1]:x", "Host: example.com:8080", "Host: example.com:",
 "Host: [::1]:80"]
--- error_code eval
[BeianTest::host_400(403), BeianTest::host_400(403),
 BeianTest::host_400(403), 200, 200, 200]
--- response_body_like eval
[BeianTest::host_400(qr/Site not available/),
 BeianTest::host_400(qr/Site not available/),
 BeianTest::host_400(qr/Site not available/),
 qr/^served filed$/, qr/^served filed$/, qr/^served ip$/]



=== TEST 27: an early error sent to a named location is blocked under the
server's configuration: none of the location's headers on the block page
--- config
    beian on;
    error_page 400 = @site;
    location @site {
        add_header X-Site yes always;
        add_header Refresh "0;url=https://site.example/" always;
        return 200 "site content\n";
    }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_headers
X-Site:
Refresh:
Cache-Control: no-store
--- response_body_like: Site not available



=== TEST 28: ... and the redirect action too
--- config
    beian on;
    beian_block_redirect https://notice.example.com/;
    error_page 400 = @site;
    location @site {
        add_header X-Site yes always;
        add_header Set-Cookie "sess=site" always;
        return 302 https://site.example/;
    }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 302
--- response_headers
Location: https://notice.example.com/
X-Site:
Set-Cookie:
Cache-Control: no-store



=== TEST 29: duplicate Host headers, the first filed, the second not:
nginx keeps the first and answers 400; every one is judged, so error_page
serves no site content for the second
--- config
    beian on;
    error_page 400 =200 /site;
    location = /site { return 200 "site content\n"; }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: example.com\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: site content
--- error_log
beian: blocked unfiled host "evil.example.net"



=== TEST 30: ... the same with an address first
--- config
    beian on;
    error_page 400 = @site;
    location @site { return 200 "site content\n"; }
--- raw_request eval
"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_unlike: site content



=== TEST 31: post_action after the block: the site's backend never hears
of the request (a backend in report mode logs each name it is sent)
--- report_backend
--- config
    beian on;
    post_action /pa;
    location = /pa {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        proxy_set_header Host post-action-$host;
    }
    location /site { return 200 "site\n"; }
--- raw_request eval
"POST /site/transfer?amount=100 HTTP/1.1\r\nHost: evil.example.net\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
--- error_code: 403
--- response_body_like: Site not available
--- error_log
beian: blocked unfiled host "evil.example.net"
--- no_error_log
unfiled host "post-action-



=== TEST 32: ... to a named location, after nginx's own 400 sent on by
error_page
--- report_backend
--- config
    beian on;
    error_page 400 /oops;
    location = /oops { return 200 "oops\n"; }
    post_action @pa;
    location @pa {
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        proxy_set_header Host post-action-$host;
    }
--- raw_request eval
"GET /a HTTP/1.1\r\nHost: evil.example.net\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- no_error_log
unfiled host "post-action-



=== TEST 33: a filed request's post_action still runs
--- report_backend
--- config
    beian on;
    post_action /pa;
    location = /pa {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        proxy_set_header Host post-action-$host;
    }
    location /site { return 200 "site\n"; }
--- raw_request eval
"GET /site/a HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 200
--- response_body
site
--- wait: 0.3
--- error_log
would block unfiled host "post-action-example.com"
