# Custom block pages with values (compiled at configuration time, every
# value escaped), the redirect action (beian_block_redirect), and
# $beian_blocked for logs.

BEGIN { $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0 }

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

add_block_preprocessor(\&BeianTest::preprocess);
no_root_location();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a custom page shows the values it names, escaped; other "$"
are text
--- config
    beian on;
    beian_block_page ../html/page.html;
    location / { return 200 "site\n"; }
--- user_files
>>> page.html
<p>[$host] [${beian_status}] [$request_id] [$time_iso8601]</p>
<p>$5 $other ${host $hostx ${nope} $$host</p>
--- raw_request eval
# nginx 1.29.4 and later refuse "<", ">" and '"' in a host themselves
my $h = $BeianTest::StrictHosts ? "a&'c.example" : "a<b>&'c\".example";
"GET / HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like eval
my $h = $BeianTest::StrictHosts ? 'a&amp;&#39;c\.example'
                                : 'a&lt;b&gt;&amp;&#39;c&quot;\.example';
qr{\A<p>\[$h\] \[unfiled\] \[[0-9a-f]{32}\] \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\]</p>
<p>\$5 \$other \$\{host \$hostx \$\{nope\} \$$h</p>
\z}
--- no_error_log
[error]
[alert]



=== TEST 2: the page was compiled at start: changing the file does nothing
until a reload
--- init
open my $f, '>', "$Test::Nginx::Util::HtmlDir/page.html" or die $!;
print $f "changed\n";
close $f;
--- request
GET /
--- more_headers
Host: evil.example.net
--- error_code: 403
--- response_body_like: ^<p>\[evil\.example\.net\] \[unfiled\]



=== TEST 3: beian_block_redirect with a variable: 302, Location,
Cache-Control: no-store, nothing else
--- config
    beian on;
    beian_block_redirect https://notice.example.com/webblock.html?d=$host;
    location / { return 200 "site\n"; }
--- request
GET /x?y=1
--- more_headers
Host: unfiled.example.net
--- error_code: 302
--- response_headers
Location: https://notice.example.com/webblock.html?d=unfiled.example.net
Cache-Control: no-store
Content-Length: 0
--- response_body
--- error_log
beian: blocked unfiled host "unfiled.example.net"
--- no_error_log
[error]
[alert]



=== TEST 4: the redirect for HEAD
--- request
HEAD /
--- more_headers
Host: unfiled.example.net
--- error_code: 302
--- response_headers
Location: https://notice.example.com/webblock.html?d=unfiled.example.net
--- response_body



=== TEST 5: redirects on one keepalive connection, then a filed host
--- pipelined_requests eval
["GET /a", "POST /b\r\nContent-Length: 5\r\n\r\nhello", "GET /c"]
--- more_headers
Host: unfiled.example.net
--- error_code eval
[302, 302, 302]
--- no_error_log
[error]



=== TEST 6: filed hosts never see the redirect
--- request
GET /
--- more_headers
Host: www.example.com
--- error_code: 200
--- response_body
site



=== TEST 7: report mode never redirects
--- config
    beian on;
    beian_mode report;
    beian_block_redirect https://notice.example.com/?d=$host;
    location / { return 200 "site [$beian_blocked]\n"; }
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 200
--- response_body
site [1]



=== TEST 8: $beian_blocked is empty for allowed requests
--- request
GET /
--- more_headers
Host: example.com
--- response_body
site []



=== TEST 9: $beian_blocked on a blocked request, for access_log ... if=
--- config
    beian on;
    add_header X-Blocked "[$beian_blocked]" always;
    location / { return 200 "site\n"; }
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_headers
X-Blocked: [1]



=== TEST 10: a page and a redirect at one level is a configuration error
--- config
    beian on;
    beian_block_page ../html/page.html;
    beian_block_redirect https://notice.example.com/;
--- user_files
>>> page.html
x
--- must_die
--- error_log eval
qr/\[emerg\] .*"beian_block_redirect" directive cannot be used with "beian_block_page" at one level/



=== TEST 11: a server's redirect replaces an inherited page
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_block_page ../html/page.html;
--- config
    beian on;
    beian_block_redirect https://notice.example.com/;
    location / { return 200 "site\n"; }
--- user_files
>>> page.html
page
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 302
--- response_headers
Location: https://notice.example.com/



=== TEST 12: a server's page replaces an inherited redirect
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_block_redirect https://notice.example.com/;
--- config
    beian on;
    beian_block_page ../html/page.html;
    location / { return 200 "site\n"; }
--- user_files
>>> page.html
page
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_body
page



=== TEST 13: $beian_host_arg puts the refused name safely into a query
--- config
    beian on;
    beian_block_redirect https://notice.example.com/?d=$beian_host_arg;
    location / { return 200 "site\n"; }
--- raw_request eval
# nginx 1.29.4 and later refuse "?" and "<" in a host themselves
my $h = $BeianTest::StrictHosts ? "a.com&x=1+2" : "a.com?x=1&y=<b>";
"GET / HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n"
--- error_code: 302
--- response_headers eval
"Location: https://notice.example.com/?d="
. ($BeianTest::StrictHosts ? "a.com%26x=1%2B2" : "a.com%3Fx=1%26y=%3Cb%3E")



=== TEST 14: a variable name runs as far as nginx's would: $beian_statusX
is not $beian_status
--- config
    beian on;
    beian_block_page ../html/page.html;
--- user_files
>>> page.html
[$beian_statusX] [${beian_status}X] [$HOST]
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_body
[$beian_statusX] [unfiledX] [$HOST]
