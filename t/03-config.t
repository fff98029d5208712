# Configuration: report mode, exemptions, per-server switches, where the
# check runs (POST_READ), and the errors nginx -t and start-up must give.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

add_block_preprocessor(\&BeianTest::preprocess);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: report mode lets unfiled hosts through, sets the variable, logs
--- config
    beian on;
    beian_mode report;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request
GET /t
--- more_headers
Host: unfiled.example.net
--- response_body
unfiled
--- error_log
beian: would block unfiled host "unfiled.example.net" (report mode)
--- no_error_log
beian: blocked
[error]
--- log_level: info



=== TEST 2: exemptions by name and by regex
--- config
    beian on;
    beian_exempt_host localhost Internal.LAN. ~^health\.;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: localhost", "Host: localhost:1984", "Host: internal.lan",
 "Host: HEALTH.probe.example.net", "Host: xhealth.example.net",
 "Host: example.com"]
--- error_code eval
[200, 200, 200, 200, 403, 200]
--- response_body_like eval
["exempt", "exempt", "exempt", "exempt", "Site not available", "filed"]



=== TEST 3: exemptions set at http level are inherited
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_exempt_host ~^status\.;
--- config
    beian on;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: status.internal.example", "Host: localhost"]
--- error_code eval
[200, 403]



=== TEST 4: beian off in one server of several
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian on;
    server {
        listen $TEST_NGINX_SERVER_PORT default_server;
        server_name _;
        location / { return 200 "default $beian_status\n"; }
    }
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name open.example.net;
        beian off;
        location / { return 200 "open $beian_status\n"; }
    }
--- config
    location = /t {
        return 200 "main $beian_status\n";
    }
--- request eval
["GET /", "GET /", "GET /", "GET /t"]
--- more_headers eval
["Host: open.example.net", "Host: unfiled.example.net", "Host: example.com",
 "Host: localhost"]
--- error_code eval
[200, 403, 200, 403]
--- response_body_like eval
["^open off\$", "Site not available", "^default filed\$", "Site not available"]



=== TEST 5: a redirect-only server still blocks unfiled hosts (POST_READ)
--- config
    beian on;
    return 301 https://$host$request_uri;
--- request
GET /path?q=1
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_headers
!Location
--- response_body_like: Site not available



=== TEST 6: a redirect-only server redirects filed hosts
--- config
    beian on;
    return 301 https://$host$request_uri;
--- request
GET /path?q=1
--- more_headers
Host: www.example.com
--- error_code: 301
--- response_headers
Location: https://www.example.com/path?q=1



=== TEST 7: server-level rewrite never runs for unfiled hosts
--- config
    beian on;
    rewrite ^ /landing redirect;
--- request
GET /
--- more_headers
Host: unfiled.example.net
--- error_code: 403
--- response_headers
!Location



=== TEST 8: satisfy any with an allow rule does not bypass the gate
--- config
    beian on;
    satisfy any;
    allow all;
    location = /t {
        return 200 "served\n";
    }
--- request
GET /t
--- more_headers
Host: unfiled.example.net
--- error_code: 403



=== TEST 9: "beian on" without beian_snapshot is a configuration error
--- http_config
--- config
    beian on;
--- must_die
--- error_log
"beian" is on but "beian_snapshot" is not set



=== TEST 10: invalid beian_block_status
--- config
    beian on;
    beian_block_status 200;
--- must_die
--- error_log
invalid value "200" in "beian_block_status" directive



=== TEST 11: invalid beian_mode
--- config
    beian on;
    beian_mode audit;
--- must_die
--- error_log
invalid value "audit"



=== TEST 12: unknown beian_snapshot parameter
--- http_config
    beian_snapshot $TEST_NGINX_LIVE if_missing=allow;
--- config
    beian on;
--- must_die
--- error_log
invalid parameter "if_missing=allow"



=== TEST 13: a missing snapshot stops start-up, naming the file
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/does-not-exist.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/does-not-exist\.mdb": No such file or directory}



=== TEST 14: if_missing=block starts without a snapshot and blocks every domain
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/does-not-exist.mdb if_missing=block;
--- config
    beian on;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request
GET /t
--- more_headers
Host: example.com
--- error_code: 403
--- error_log
beian: blocked unfiled host "example.com"



=== TEST 15: if_missing=block still follows beian_ip_host for IP literals
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/does-not-exist.mdb if_missing=block;
--- config
    beian on;
    location = /t {
        return 200 "$beian_status\n";
    }
--- request
GET /t
--- more_headers
Host: 127.0.0.1
--- response_body
ip



=== TEST 16: empty snapshot file is refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/zero.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/zero\.mdb": empty file \(0 bytes\)}



=== TEST 17: random bytes are refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/random.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/random\.mdb": not an LMDB file}



=== TEST 18: a truncated snapshot is refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/truncated.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/truncated\.mdb": (truncated|not an LMDB file)}



=== TEST 19: an unknown schema version is refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/schema99.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/schema99\.mdb": unknown schema version 99 \(this build reads 1\)}



=== TEST 20: an LMDB file without meta is refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/nometa.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/nometa\.mdb": missing "meta" database}



=== TEST 21: overlong snapshot is refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/overlong.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/overlong\.mdb": "domains" holds over-long values}



=== TEST 22: hugecount snapshot is refused at start-up
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/hugecount.mdb;
--- config
    beian on;
--- must_die
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/hugecount\.mdb": record count mismatch: meta says 4294967296000, "domains" holds 3}



=== TEST 23: without "beian on" anywhere a broken snapshot is not even opened
--- http_config
    beian_snapshot $TEST_NGINX_SNAP/random.mdb;
--- config
    location = /t {
        return 200 "$beian_status\n";
    }
--- request
GET /t
--- response_body
off
--- no_error_log
[emerg]
[error]



=== TEST 24: the variable that keeps the verdict cannot be set from the
configuration
--- config
    beian on;
    set $beian_verdict_slot "filed";
--- must_die
--- error_log
the duplicate "beian_verdict_slot" variable



=== TEST 25: nginx's own codes (494 to 499) are no block status
--- config
    beian on;
    beian_block_status 499;
--- must_die
--- error_log
invalid value "499" in "beian_block_status" directive



=== TEST 26: an exempt name that is no host name is refused, not kept to
exempt whoever names it literally: a wildcard
--- config
    beian on;
    beian_exempt_host localhost *.internal;
--- must_die
--- error_log
invalid host name "*.internal" in "beian_exempt_host" directive (a name, or an address: 127.0.0.1, [::1]; a regex starts with "~")



=== TEST 27: an empty label
--- config
    beian on;
    beian_exempt_host a..b;
--- must_die
--- error_log
invalid host name "a..b" in "beian_exempt_host" directive



=== TEST 28: a lone "~", an empty regex
--- config
    beian on;
    beian_exempt_host "~";
--- must_die
--- error_log
invalid host name "~" in "beian_exempt_host" directive



=== TEST 29: an exempt name with a port is refused: the exemption would
hold on every port
--- config
    beian on;
    beian_exempt_host localhost4:8080;
--- must_die
--- error_log
invalid host name "localhost4:8080" in "beian_exempt_host" directive (no port: an exemption holds on every port)



=== TEST 30: ... an IPv6 address with a port too
--- config
    beian on;
    beian_exempt_host [::1]:8080;
--- must_die
--- error_log
(no port: an exemption holds on every port)



=== TEST 31: an address block is no host
--- config
    beian on;
    beian_exempt_host 10.0.0.0/8;
--- must_die
--- error_log
invalid host name "10.0.0.0/8" in "beian_exempt_host" directive (a name, or an address



=== TEST 32: an IPv6 address without brackets
--- config
    beian on;
    beian_exempt_host ::1;
--- must_die
--- error_log
(an IPv6 address is written in brackets: [::1])



=== TEST 33: "~*": hosts are matched in lower case
--- config
    beian on;
    beian_exempt_host ~*\.internal$;
--- must_die
--- error_log
"~*" in "beian_exempt_host" directive: hosts are matched in lower case, write "~"



=== TEST 34: what an operator writes still works: single labels, upper
case, a trailing dot, addresses in both forms, underscores
--- config
    beian on;
    beian_ip_host block;
    beian_exempt_host localhost Internal.LAN. 127.0.0.2 [::1] my_host.lan;
    location = /t { return 200 "$beian_status\n"; }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: localhost", "Host: internal.lan", "Host: 127.0.0.2", "Host: [::1]:8080", "Host: my_host.lan"]
--- response_body eval
["exempt\n", "exempt\n", "exempt\n", "exempt\n", "exempt\n"]



=== TEST 35: beian_snapshot_check 0 is refused, not taken for "off"
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_snapshot_check 0;
--- config
    beian on;
--- must_die
--- error_log
invalid value "0" in "beian_snapshot_check" directive (an interval, such as 30s, or off)



=== TEST 36: a regex that matches a name nobody would exempt is refused: a
stray alternation with a word boundary exempts nearly every host
--- config
    beian on;
    beian_exempt_host "~^health\.internal$|\b";
--- must_die
--- error_log
matches a made-up name (zq7k3x9.w4v2jm8), so nearly every host: anchor it



=== TEST 37: a regex that fails to run (a PCRE limit) is refused: it would
exempt nothing
--- config
    beian on;
    beian_exempt_host "~(*LIMIT_MATCH=1)(|x)";
--- must_die
--- error_log
fails to run (a PCRE limit?), so it would exempt nothing
