# The block response (README.md): status, headers, the bilingual page
# with the host escaped, every method, keepalive, custom pages.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

add_block_preprocessor(\&BeianTest::preprocess);
no_root_location();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: default block page: 403, headers, Chinese first, link
--- config
    beian on;
    location / {
        return 200 "site content\n";
    }
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_headers
Content-Type: text/html; charset=utf-8
Cache-Control: no-store
--- response_body_like chomp
\A<!DOCTYPE html>.*<h1>网站暂时无法访问</h1>.*<strong>unfiled\.example\.net</strong>.*<a href="https://beian\.miit\.gov\.cn/">.*<h1 lang="en">Site not available</h1>.*<strong>unfiled\.example\.net</strong>.*</html>\n\z
--- error_log
beian: blocked unfiled host "unfiled.example.net"
--- no_error_log
[error]
[crit]
[alert]
--- log_level: info



=== TEST 2: hostile hosts are reflected HTML-escaped, never raw
--- config
    beian on;
--- raw_request eval
"GET / HTTP/1.1\r\nHost: a<script>alert('x')<&b\"c.example\r\nConnection: close\r\n\r\n"
--- error_code eval
BeianTest::host_400(403)
--- response_body_like eval
BeianTest::host_400(qr{<strong>a&lt;script&gt;alert\(&#39;x&#39;\)&lt;&amp;b&quot;c\.example</strong>})
--- response_body_unlike: <script>



=== TEST 3: beian_block_status 451
--- config
    beian on;
    beian_block_status 451;
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 451
--- raw_response_headers_like: ^HTTP/1\.1 451 Unavailable For Legal Reasons\r\n
--- response_body_like: Site not available



=== TEST 4: beian_block_status 444 closes the connection without a response
--- config
    beian on;
    beian_block_status 444;
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- ignore_response
--- error_log
beian: blocked unfiled host "unfiled.example.net"
--- log_level: info



=== TEST 5: 444 sends not one byte
--- config
    beian on;
    beian_block_status 444;
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- raw_response_headers_like: ^$
--- error_code:
--- response_body:



=== TEST 6: HEAD gets the headers only
--- config
    beian on;
--- request
HEAD /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_headers
Content-Type: text/html; charset=utf-8
Cache-Control: no-store
--- response_body:



=== TEST 7: POST with a body is blocked and the keepalive connection goes on
--- config
    beian on;
--- pipelined_requests eval
["POST /form\nname=value&other=value2", "GET /next", "POST /upload\n" . ("x" x 70000)]
--- more_headers
Host: unfiled.example.net
--- error_code eval
[403, 403, 403]
--- response_body_like eval
["Site not available", "Site not available", "Site not available"]
--- no_error_log
[error]
[crit]



=== TEST 8: pipelined requests on one keepalive connection
--- config
    beian on;
    location = /ok {
        return 200 "ok\n";
    }
--- pipelined_requests eval
["GET /x", "GET /ok"]
--- more_headers
Host: unfiled.example.net
--- error_code eval
[403, 403]
--- no_error_log
[error]



=== TEST 9: custom block page, read at configuration time
--- config
    beian on;
    beian_block_page ../html/blocked.html;
--- user_files
>>> blocked.html
<html><body>custom: not filed</body></html>
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_headers
Content-Type: text/html; charset=utf-8
Cache-Control: no-store
--- response_body
<html><body>custom: not filed</body></html>



=== TEST 10: a missing custom page is a configuration error
--- config
    beian on;
    beian_block_page /nonexistent/blocked.html;
--- must_die
--- error_log eval
qr{\[emerg\] .*open\(\) "/nonexistent/blocked\.html" failed}



=== TEST 11: error_page for 403 never serves site content to unfiled hosts
--- config
    beian on;
    error_page 403 /site-403.html;
    location = /site-403.html {
        return 200 "site content\n";
    }
    location / {
        return 403;
    }
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_body_like: Site not available
--- response_body_unlike: site content



=== TEST 12: filed hosts still get the site's own error_page
--- config
    beian on;
    error_page 403 /site-403.html;
    location = /site-403.html {
        return 200 "site content\n";
    }
    location / {
        return 403;
    }
--- request
GET /
--- more_headers
Host: example.com
--- error_code: 403
--- response_body
site content



=== TEST 13: escaping, with a host every nginx version passes on
--- config
    beian on;
--- raw_request eval
"GET / HTTP/1.1\r\nHost: a'b&c.example\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like chomp
<strong>a&#39;b&amp;c\.example</strong>
--- response_body_unlike: a'b&c
