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

=== TEST 1: default block page: 403, headers, Chinese first, then English;
host, MIIT's system named and linked, time and request id in each part
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
\A<!DOCTYPE html>\n<html lang="zh-CN">.*<meta name="viewport" content="width=device-width, initial-scale=1">.*<meta name="color-scheme" content="light dark">.*<section lang="zh-CN">\n<h1>网站暂时无法访问</h1>\n<p>域名 <span class="host">unfiled\.example\.net</span> .*如果您是访问者.*联系该网站的管理员.*如果您是网站负责人.*域名还没有 ICP 备案.*已在其他服务商备案.*接入备案.*工业和信息化部 ICP/IP地址/域名信息备案管理系统.*<a href="https://beian\.miit\.gov\.cn/">https://beian\.miit\.gov\.cn/</a>.*下一次同步.*时间 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d · 请求编号 [0-9a-f]{32}</p>\n</section>\n<section lang="en">\n<h1>Site not available</h1>\n<p>The domain <span class="host">unfiled\.example\.net</span> has no ICP filing with access registration.*contact the site's administrator.*Never filed.*Filed with another provider.*ICP/IP Address/Domain Name Filing Management System: <a href="https://beian\.miit\.gov\.cn/">https://beian\.miit\.gov\.cn/</a>.*next sync.*Time \d{4}-\d\d-\d\dT[\d:]+[+-][\d:]+ · Request ID [0-9a-f]{32}</p>\n</section>\n</main>\n</body>\n</html>\n\z
--- error_log
beian: blocked unfiled host "unfiled.example.net"
--- no_error_log
[error]
[crit]
[alert]
--- log_level: info



=== TEST 2: the built-in page is small, self-contained and script-free
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_body_unlike eval
qr/<script|<link|<img|<iframe|\bsrc=|url\(|\@import|href="(?!https:\/\/beian\.miit\.gov\.cn\/")|.{6000}/s



=== TEST 3: one request id, the same in both parts
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_body_like chomp
请求编号 ([0-9a-f]{32})</p>.*Request ID \1</p>



=== TEST 4: an IDN host is shown in its Unicode form, its A-label beside it
--- config
    beian on;
--- request
GET /
--- more_headers
Host: xn--fsqu00a.xn--55qx5d
--- error_code: 403
--- response_body_like chomp
<span class="host">例子\.公司 \(xn--fsqu00a\.xn--55qx5d\)</span>.*<span class="host">例子\.公司 \(xn--fsqu00a\.xn--55qx5d\)</span>



=== TEST 5: a name that looks like an A-label but does not decode is shown
as sent, escaped
--- request
GET /
--- more_headers
Host: xn--zz-z.example
--- error_code: 403
--- response_body_like chomp
<span class="host">xn--zz-z\.example</span>



=== TEST 18: an A-label that decodes to code points no IDN has (U+202E,
which turns the text after it around) is shown as sent
--- config
    beian on;
--- request
GET /
--- more_headers
Host: xn--zvg.evil.example
--- error_code: 403
--- response_body_like chomp
<span class="host">xn--zvg\.evil\.example</span>
--- response_body_unlike eval
"\x{202e}|\xe2\x80\xae"



=== TEST 6: hostile hosts are reflected HTML-escaped, never raw
--- config
    beian on;
--- raw_request eval
"GET / HTTP/1.1\r\nHost: a<script>alert('x')<&b\"c.example\r\nConnection: close\r\n\r\n"
--- error_code eval
BeianTest::host_400(403)
--- response_body_like eval
BeianTest::host_400(qr{<span class="host">a&lt;script&gt;alert\(&#39;x&#39;\)&lt;&amp;b&quot;c\.example</span>})
--- response_body_unlike: <script>



=== TEST 7: beian_block_status 451
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



=== TEST 8: beian_block_status 444 closes the connection without a response
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



=== TEST 9: 444 sends not one byte
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



=== TEST 10: HEAD gets the headers only
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



=== TEST 11: POST with a body is blocked and the keepalive connection goes on
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



=== TEST 12: pipelined requests on one keepalive connection
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



=== TEST 13: custom block page, read at configuration time
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



=== TEST 14: a missing custom page is a configuration error
--- config
    beian on;
    beian_block_page /nonexistent/blocked.html;
--- must_die
--- error_log eval
qr{\[emerg\] .*open\(\) "/nonexistent/blocked\.html" failed}



=== TEST 15: error_page for 403 never serves site content to unfiled hosts
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



=== TEST 16: filed hosts still get the site's own error_page
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
<span class="host">a&#39;b&amp;c\.example</span>
--- response_body_unlike: a'b&c



=== TEST 17: a blocked request that waits for "100 Continue" is never told
to send its body: the block is the answer, then the connection closes
--- config
    beian on;
    location / {
        return 200 "site content\n";
    }
--- raw_request eval
"POST / HTTP/1.1\r\nHost: unfiled.example.net\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
--- error_code: 403
--- raw_response_headers_unlike: 100 Continue
--- response_headers
Connection: close
--- response_body_unlike: site content
