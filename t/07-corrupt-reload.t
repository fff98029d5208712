# Corrupt and hostile snapshots swapped in under a running nginx (master +
# 2 workers): a HUP reload with any of them fails with a message naming the
# file and the reason, and every worker keeps serving the previous snapshot.

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

=== TEST 1: the good snapshot
--- snapshot: main
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- no_error_log
[error]



=== TEST 2: HUP with the zero snapshot is refused
--- snapshot: zero
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": empty file \(0 bytes\)}



=== TEST 3: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 4: HUP with the random snapshot is refused
--- snapshot: random
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": not an LMDB file}



=== TEST 5: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 6: HUP with the truncated snapshot is refused
--- snapshot: truncated
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": truncated}



=== TEST 7: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 8: HUP with the schema99 snapshot is refused
--- snapshot: schema99
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": unknown schema version 99}



=== TEST 9: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 10: HUP with the nometa snapshot is refused
--- snapshot: nometa
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": missing "meta" database}



=== TEST 11: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 12: HUP with the overlong snapshot is refused
--- snapshot: overlong
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": "domains" holds over-long values}



=== TEST 13: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 14: HUP with the hugecount snapshot is refused
--- snapshot: hugecount
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- reload_fails
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- error_log eval
qr{\[emerg\] .*beian: snapshot "[^"]*/live-07-corrupt-reload\.mdb": record count mismatch: meta says 4294967296000}



=== TEST 15: ... every worker still serves the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]
