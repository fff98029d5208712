# Corrupt and hostile snapshots noticed by beian_snapshot_check (master + 2
# workers, no reload): each is refused with a message naming the reason,
# once per worker, and the workers keep the previous snapshot.

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

=== TEST 1: the good snapshot, checked every 300ms
--- snapshot: main
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_snapshot_check 300ms;
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



=== TEST 2: the zero snapshot is refused by both workers
--- snapshot: zero
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": empty file \(0 bytes\)[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": empty file \(0 bytes\)[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 3: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 4: the random snapshot is refused by both workers
--- snapshot: random
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": not an LMDB file[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": not an LMDB file[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 5: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 6: the truncated snapshot is refused by both workers
--- snapshot: truncated
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": truncated[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": truncated[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 7: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 8: the schema99 snapshot is refused by both workers
--- snapshot: schema99
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": unknown schema version 99[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": unknown schema version 99[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 9: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 10: the nometa snapshot is refused by both workers
--- snapshot: nometa
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": missing "meta" database[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": missing "meta" database[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 11: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 12: the overlong snapshot is refused by both workers
--- snapshot: overlong
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": "domains" holds over-long values[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": "domains" holds over-long values[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 13: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 14: the hugecount snapshot is refused by both workers
--- snapshot: hugecount
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.filed.cn
--- response_body
filed filed.cn
--- grep_error_log eval: qr/beian: snapshot "[^"]*": record count mismatch: meta says 4294967296000[^;]*; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": record count mismatch: meta says 4294967296000[^;]*; keeping the previous snapshot\n){2}\z/



=== TEST 15: ... both workers still serve the good one
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: notexample.com", "Host: filed.cn", "Host: notexample.com"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 16: a good file again is taken
--- snapshot: v2
--- settle: 1.2
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: filed.cn", "Host: newsite.cn", "Host: filed.cn", "Host: newsite.cn"]
--- error_code eval
[403, 200, 403, 200]
