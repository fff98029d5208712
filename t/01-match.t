# The match rule as nginx applies it (docs/matching.md): filed main domains
# cover their subdomains on label boundaries only; hosts are compared after
# lowercasing and dropping the port and one trailing dot.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

add_block_preprocessor(\&BeianTest::preprocess);
# every block twice on a fresh connection: nothing may carry over
repeat_each(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: filed main domain is allowed, variables are set
--- config
    beian on;
    location = /t {
        return 200 "$beian_status $beian_domain $beian_icp\n";
    }
--- request
GET /t
--- more_headers
Host: example.com
--- response_body
filed example.com 京ICP备12345678号-1
--- no_error_log
[error]
[crit]
[alert]



=== TEST 2: subdomains of a filed domain are allowed
--- config
    beian on;
    location = /t {
        return 200 "$beian_status $beian_domain\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: www.example.com", "Host: a.b.c.example.com", "Host: x-1.filed.cn"]
--- response_body eval
["filed example.com\n", "filed example.com\n", "filed filed.cn\n"]
--- no_error_log
[error]



=== TEST 3: look-alike hosts are blocked: no label boundary, suffix tricks
--- config
    beian on;
    location = /t {
        return 200 "should not be served\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: notexample.com", "Host: example.com.evil.net", "Host: xexample.com",
 "Host: example.co", "Host: com"]
--- error_code eval
[403, 403, 403, 403, 403]
--- response_body_like eval
[qr/notexample\.com/, qr/example\.com\.evil\.net/, qr/xexample\.com/,
 qr/example\.co\b/, qr/<span class="host">com<\/span>/]
--- no_error_log
[error]



=== TEST 4: case, port and one trailing dot are normalized
--- config
    beian on;
    location = /t {
        return 200 "$beian_status $beian_domain\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: EXAMPLE.Com", "Host: www.example.com:8080", "Host: example.com.",
 "Host: WWW.Example.COM.:1984"]
--- response_body eval
["filed example.com\n", "filed example.com\n", "filed example.com\n",
 "filed example.com\n"]



=== TEST 5: records that are not filed, accessed and bound here are blocked
--- config
    beian on;
    location = /t {
        return 200 "should not be served\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: pending.cn", "Host: elsewhere.cn"]
--- error_code eval
[403, 403]



=== TEST 6: IDN domains match by their A-label form
--- config
    beian on;
    location = /t {
        return 200 "$beian_status $beian_domain $beian_icp\n";
    }
--- request
GET /t
--- more_headers
Host: www.xn--fsqu00a.xn--fiqs8s
--- response_body
filed xn--fsqu00a.xn--fiqs8s 沪ICP备2021000001号-3



=== TEST 7: raw UTF-8 bytes in Host never match
--- config
    beian on;
    location = /t {
        return 200 "should not be served\n";
    }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: \xe4\xbe\x8b\xe5\xad\x90.\xe4\xb8\xad\xe5\x9b\xbd\r\nConnection: close\r\n\r\n"
--- error_code eval
BeianTest::host_400(403)



=== TEST 8: beian_subdomains off: only exact names
--- config
    beian on;
    beian_subdomains off;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: example.com", "Host: www.example.com"]
--- error_code eval
[200, 403]



=== TEST 9: IP literal hosts are allowed by default
--- config
    beian on;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: 127.0.0.1", "Host: [::1]", "Host: [2001:db8::1]:1984"]
--- response_body eval
["ip\n", "ip\n", "ip\n"]



=== TEST 10: beian_ip_host block blocks IP literals
--- config
    beian on;
    beian_ip_host block;
    location = /t {
        return 200 "should not be served\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: 127.0.0.1", "Host: [::1]"]
--- error_code eval
[403, 403]



=== TEST 11: malformed IP-ish hosts are not IP literals
--- config
    beian on;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: 127.1", "Host: 999.0.0.1", "Host: [fe80::1%25eth0]"]
--- error_code eval
[403, 403, BeianTest::host_400(403)]



=== TEST 12: HTTP/1.0 without Host is "nohost", allowed by default
--- config
    beian on;
    location = /t {
        return 200 "$beian_status\n";
    }
--- raw_request eval
"GET /t HTTP/1.0\r\n\r\n"
--- response_body
nohost



=== TEST 13: HTTP/1.0 without Host under beian_ip_host block
--- config
    beian on;
    beian_ip_host block;
    location = /t {
        return 200 "should not be served\n";
    }
--- raw_request eval
"GET /t HTTP/1.0\r\n\r\n"
--- error_code: 403
--- no_error_log
[alert]
[crit]



=== TEST 14: an absolute-URI request line wins over Host (unfiled URI host)
--- config
    beian on;
    location = /t {
        return 200 "should not be served\n";
    }
--- raw_request eval
"GET http://evil.example.net/t HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like: evil\.example\.net



=== TEST 15: a filed absolute-URI host does not carry an unfiled Host header
through: nginx serves the URI's host, but $http_host would pass the other on
--- config
    beian on;
    location = /t {
        return 200 "$beian_status $beian_domain\n";
    }
--- raw_request eval
"GET http://www.example.com/t HTTP/1.1\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like: <span class="host">evil\.example\.net</span>
--- error_log
beian: blocked unfiled host "evil.example.net"



=== TEST 16: variables in add_header for allowed hosts
--- config
    beian on;
    location = /t {
        add_header X-Beian-Status $beian_status;
        add_header X-Beian-ICP $beian_icp;
        return 200 "ok\n";
    }
--- request
GET /t
--- more_headers
Host: shop.filed.cn
--- response_headers
X-Beian-Status: filed
X-Beian-ICP: 粤B2-20090059-5
--- response_body
ok



=== TEST 17: with the gate off the variables say so
--- config
    location = /t {
        return 200 "[$beian_status] [$beian_icp] [$beian_domain]\n";
    }
--- request
GET /t
--- more_headers
Host: notexample.com
--- response_body
[off] [] []



=== TEST 18: a name one server allows is judged again by a server without
subdomains: the worker remembers filed hosts per subdomain rule
--- http_config eval
"beian_snapshot \$TEST_NGINX_LIVE;
server {
    listen 127.0.0.1:" . ($ENV{TEST_NGINX_SERVER_PORT} + 1) . ";
    beian on;
    beian_subdomains off;
    location / { return 200 \"second server served \$beian_status\\n\"; }
}"
--- config eval
"beian on;
location = /t {
    return 200 \"first \$beian_status\\n\";
}
location = /second {
    proxy_pass http://127.0.0.1:" . ($ENV{TEST_NGINX_SERVER_PORT} + 1) . "/;
    proxy_set_header Host \$host;
}"
--- pipelined_requests eval
["GET /t", "GET /second", "GET /t", "GET /second"]
--- more_headers
Host: www.example.com
--- error_code eval
[200, 403, 200, 403]
--- response_body_like eval
[qr/^first filed\n\z/, qr/Site not available/, qr/^first filed\n\z/,
 qr/Site not available/]



=== TEST 19: a regex that matches the empty string is refused: unanchored,
it exempts every host (a stray "|"), anchored, none
--- config
    beian on;
    beian_exempt_host localhost "~^health\.internal$|";
--- must_die
--- error_log
regex "~^health\.internal$|" in "beian_exempt_host" directive matches the empty string, so every host or none



=== TEST 20: an IDN exempt name is kept in A-labels, the form browsers send
--- config
    beian on;
    beian_exempt_host "例子.internal" "Bücher.internal";
    location = /t { return 200 "$beian_status\n"; }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: xn--fsqu00a.internal", "Host: xn--bcher-kva.internal", "Host: xn--fsqu01a.internal"]
--- error_code eval
[200, 200, 403]
--- response_body_like eval
["^exempt\n\$", "^exempt\n\$", "Site not available"]



=== TEST 21: ... and the raw UTF-8 name is no longer exempt
--- config
    beian on;
    beian_exempt_host "例子.internal";
    location = /t { return 200 "$beian_status\n"; }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: \xe4\xbe\x8b\xe5\xad\x90.internal\r\nConnection: close\r\n\r\n"
--- error_code eval
BeianTest::host_400(403)



=== TEST 22: an exempt name that is no IDN is refused (bytes that are not
UTF-8)
--- config eval
"beian on; beian_exempt_host \"a\xff.internal\";"
--- must_die
--- error_log
IDNA2008



=== TEST 23: ... "~^$" as well
--- config
    beian on;
    beian_exempt_host ~^$;
--- must_die
--- error_log
matches the empty string
