# A hostile host corpus (HTTP/1.1): label-boundary tricks, case, ports,
# IPv6 zone ids, percent-encoding, non-ASCII bytes, overlong names, request
# line vs Host.  Each has an expected verdict; only filed hosts, IP literals
# and nothing else get a 200, and nginx's own 400s never reach the site
# (from nginx 1.29.4 on, nginx itself answers 400 for more of them:
# BeianTest::host_400).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

add_block_preprocessor(\&BeianTest::preprocess);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the corpus, one request per host
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- request eval
[("GET /t") x 37]
--- more_headers eval
["Host: xexample.com",
 "Host: example.com.evil.net",
 "Host: notexample.com",
 "Host: example.com.",
 "Host: .example.com",
 "Host: example..com",
 "Host: example.com..",
 "Host: EXAMPLE.COM",
 "Host: ExAmPlE.CoM.",
 "Host: www.example.com:8080",
 "Host: example.com:abc",
 "Host: example.com.evil.net:80",
 "Host: [::1]",
 "Host: [::ffff:127.0.0.1]",
 "Host: [fe80::1%eth0]",
 "Host: [fe80::1%25eth0]",
 "Host: example%2ecom",
 "Host: %65xample.com",
 "Host: example.com%00",
 "Host: www%2eexample.com",
 "Host: ex\xc3\xa4mple.com",
 "Host: example.com\xff",
 "Host: \xe4\xbe\x8b\xe5\xad\x90.\xe4\xb8\xad\xe5\x9b\xbd",
 "Host: user\@example.com",
 "Host: example.com\@evil.net",
 "Host: example.com\\evil",
 "Host: example.com/evil",
 "Host: 127.1",
 "Host: 0x7f.0.0.1",
 "Host: localhost",
 "Host: com",
 "Host: example.com-",
 "Host: -example.com",
 "Host: " . "a" x 64 . ".example.com",
 "Host: " . ("a" x 63 . ".") x 4 . "example.com",
 "Host: " . "x" x 5000 . ".example.com",
 "Host: " . "x" x 10000]
--- error_code eval
[403, 403, 403, 200, 403, 400, 400, 200, 200, 200, BeianTest::host_400(403), 403, 200, 200, BeianTest::host_400(403), BeianTest::host_400(403), 403, 403, 403, 403, BeianTest::host_400(403), BeianTest::host_400(403), BeianTest::host_400(403), BeianTest::host_400(403), BeianTest::host_400(403), BeianTest::host_400(403), 400, 403, 403, 403, 403, 403, 403, 403, 403, 403, 400]
--- response_body_like eval
[qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/^served (filed|ip)\n\z/, qr/Site not available/, qr/400 Bad Request/, qr/400 Bad Request/, qr/^served (filed|ip)\n\z/, qr/^served (filed|ip)\n\z/, qr/^served (filed|ip)\n\z/, BeianTest::host_400(qr/Site not available/), qr/Site not available/, qr/^served (filed|ip)\n\z/, qr/^served (filed|ip)\n\z/, BeianTest::host_400(qr/Site not available/), BeianTest::host_400(qr/Site not available/), qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, BeianTest::host_400(qr/Site not available/), BeianTest::host_400(qr/Site not available/), BeianTest::host_400(qr/Site not available/), BeianTest::host_400(qr/Site not available/), BeianTest::host_400(qr/Site not available/), BeianTest::host_400(qr/Site not available/), qr/400 Bad Request/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/Site not available/, qr/400 Bad Request/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 2: duplicate Host headers are refused by nginx
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: example.com\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like: 400 Bad Request



=== TEST 3: absolute URI with a look-alike host wins over a filed Host
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- raw_request eval
"GET http://example.com.evil.net/t HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like: Site not available



=== TEST 4: absolute URI with userinfo is refused by nginx
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- raw_request eval
"GET http://evil.net\@example.com/t HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like: 400 Bad Request



=== TEST 5: absolute URI with an IPv6 literal over an unfiled Host: the
Host header is judged too
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- raw_request eval
"GET http://[::1]/t HTTP/1.1\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like: Site not available



=== TEST 6: absolute URI in upper case with a port over an unfiled Host
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- raw_request eval
"GET http://WWW.EXAMPLE.COM:8080/t HTTP/1.1\r\nHost: evil.example.net\r\nConnection: close\r\n\r\n"
--- error_code: 403
--- response_body_like: Site not available



=== TEST 7: HTTP/1.0 absolute URI to an unfiled host
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- raw_request eval
"GET http://evil.example.net/t HTTP/1.0\r\n\r\n"
--- error_code: 403
--- response_body_like: Site not available



=== TEST 8: names under a filed domain that are not domain names, each
after a filed one on one connection (the worker remembers filed hosts,
never these)
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t",
 "GET /t"]
--- more_headers eval
["Host: a.example.com", "Host: a_.example.com",
 "Host: ab.example.com", "Host: a-.example.com",
 "Host: ab.example.com", "Host: -a.example.com",
 "Host: www.example.com", "Host: www.example.com"]
--- error_code eval
[200, 403, 200, 403, 200, 403, 200, 200]
--- no_error_log
[alert]
[crit]



=== TEST 9: the same with bytes nginx 1.29.4 and later refuses itself (a
connection each: a 400 closes it)
--- config
    beian on;
    location = /t {
        return 200 "served $beian_status\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: www.example.com", "Host: w\xc3\xa4.example.com",
 "Host: www.example.com", "Host: w!w.example.com"]
--- error_code eval
[200, BeianTest::host_400(403), 200, 403]
--- no_error_log
[alert]
[crit]
