# Snapshot reload with "nginx -s reload" (HUP), master + 2 workers: new
# workers open the new snapshot; a broken one fails the reload and the
# running workers keep serving with the old one.

use lib 't/lib';
use BeianTest;
BEGIN { BeianTest::needs_bundled_harness('--- reload_fails') }
use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
use_hup();
add_block_preprocessor(\&BeianTest::preprocess);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: first snapshot: filed.cn filed, newsite.cn not yet
--- snapshot: main
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics { beian_metrics; }
    location = /t { return 200 "$beian_status $beian_icp\n"; }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[200, 403, 200, 403]
--- no_error_log
[error]



=== TEST 2: HUP with a new snapshot: cancelled site blocked, new site allowed
--- snapshot: v2
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics { beian_metrics; }
    location = /t { return 200 "$beian_status $beian_icp\n"; }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: filed.cn", "Host: www.newsite.cn"]
--- error_code eval
[403, 200, 403, 200]
--- response_body_like eval
["Site not available", "^filed 黔ICP备55667788号-1\$", "Site not available",
 "^filed 黔ICP备55667788号-1\$"]
--- no_error_log
[error]



=== TEST 3: HUP with a corrupt snapshot fails
--- snapshot: random
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics { beian_metrics; }
    location = /t { return 200 "$beian_status $beian_icp\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: newsite.cn
--- error_code: 200
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-05-reload-hup\.mdb": not an LMDB file}



=== TEST 4: ... and every old worker keeps serving the previous snapshot
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: example.com", "Host: newsite.cn"]
--- error_code eval
[403, 200, 200, 200]



=== TEST 5: HUP with a wrong-schema snapshot fails as well
--- snapshot: schema99
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics { beian_metrics; }
    location = /t { return 200 "$beian_status $beian_icp\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: newsite.cn
--- error_code: 200
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-05-reload-hup\.mdb": unknown schema version 99}



=== TEST 6: a good snapshot and HUP recover; refused reloads were counted
--- snapshot: main
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics { beian_metrics; }
    location = /t { return 200 "$beian_status $beian_icp\n"; }
--- request eval
["GET /t", "GET /t", "GET /metrics"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: localhost"]
--- error_code eval
[200, 403, 200]
--- response_body_like eval
["^filed 粤B2-20090059-5\$", "Site not available",
 qr/^beian_snapshot_reload_failures_total 2$/m]



=== TEST 7: if_missing=block, the file gone at a HUP: the running
configuration's snapshot goes on, not nothing
--- http_config
    beian_snapshot $TEST_NGINX_LIVE if_missing=block;
--- config
    beian on;
    beian_exempt_host localhost;
    location = /t { return 200 "$beian_status $beian_icp\n"; }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[200, 403]



=== TEST 8: ... removed, HUP (the harness waits for the new
configuration): filed still served, no fail-open either
--- in_place: remove
--- http_config
    beian_snapshot $TEST_NGINX_LIVE if_missing=block;
--- config
    beian on;
    beian_exempt_host localhost;
    location = /t { return 200 "$beian_status $beian_icp\n"; }
    # reloaded without the file
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[200, 403]
