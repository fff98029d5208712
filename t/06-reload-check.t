# beian_snapshot_check: workers notice a new snapshot file by themselves,
# swap only to a valid one, and log a refused file once, not per request.
# Blocks after the first reuse the running nginx (no restart, no HUP).

BEGIN { $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0 }

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

master_on();
workers(2);
add_block_preprocessor(\&BeianTest::preprocess);
BeianTest::errors_in_log();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: start with the first snapshot, checking every second
--- snapshot: main
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_snapshot_check 1s;
--- config
    beian on;
    beian_exempt_host localhost;
    location = /metrics { beian_metrics; }
    location = /t { return 200 "$beian_status\n"; }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[200, 403, 200, 403]
--- no_error_log
[error]



=== TEST 2: a new file is picked up by every worker without a reload
--- snapshot: v2
--- settle: 2.5
--- request
GET /t
--- more_headers
Host: newsite.cn
--- response_body
filed
--- grep_error_log eval: qr/beian: loaded snapshot "[^"]*": \d+ domains/
--- grep_error_log_out eval
qr/\A(beian: loaded snapshot "[^"]*": 3 domains\n){2}(beian: loaded snapshot "[^"]*": 2 domains\n){2}\z/



=== TEST 3: ... both workers answer from it
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: filed.cn", "Host: newsite.cn",
 "Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[403, 200, 403, 200, 403, 200]



=== TEST 4: a corrupt file is refused, logged once per worker, old one kept
--- snapshot: random
--- settle: 3.5
--- request
GET /t
--- more_headers
Host: newsite.cn
--- error_code: 200
--- grep_error_log eval: qr/not an LMDB file; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(not an LMDB file; keeping the previous snapshot\n){2}\z/



=== TEST 5: ... both workers still answer from the previous one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[403, 200, 403, 200]



=== TEST 6: a wrong-schema file is refused as well
--- snapshot: schema99
--- settle: 2.5
--- request
GET /t
--- more_headers
Host: newsite.cn
--- error_code: 200
--- error_log
unknown schema version 99 (this build reads 1); keeping the previous snapshot



=== TEST 7: a good file again is picked up; refusals counted once each
--- snapshot: main
--- settle: 2.5
--- request eval
["GET /t", "GET /t", "GET /metrics"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: localhost"]
--- error_code eval
[200, 403, 200]
--- response_body_like eval
["^filed\$", "Site not available", qr/^beian_snapshot_reload_failures_total 2$/m]
