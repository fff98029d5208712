# The live snapshot changed in place under a running nginx (master + 2
# workers): overwritten by cp, truncated, its LMDB meta pages zeroed with the
# mtime put back (as silent disk corruption would leave it), removed.  The
# workers read a sealed in-memory copy, never the file: no worker dies, no
# verdict changes until a valid file is loaded, and a respawned worker never
# trusts a file for looking like the one checked before.

BEGIN { $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0 }

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use BeianTest;

master_on();
workers(2);
# refusals are logged by the workers' timers, into later blocks' reads
BeianTest::errors_in_log();
add_block_preprocessor(\&BeianTest::preprocess);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 4000 domains loaded, no self-check: nothing reloads by itself
--- snapshot: big
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
--- request
GET /t
--- more_headers
Host: www.d17.big.cn
--- response_body
filed d17.big.cn
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: cp of a small snapshot over it, in place: the copy still answers
--- in_place: overwrite main
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: d17.big.cn", "Host: d3999.big.cn", "Host: www.d2000.big.cn",
 "Host: d1234.big.cn", "Host: example.com", "Host: d3001.big.cn"]
--- error_code eval
[200, 200, 200, 200, 403, 200]
--- no_error_log
exited on signal
[alert]
[crit]



=== TEST 3: truncated to one page, in place: still the copy
--- in_place: truncate 4096
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: d17.big.cn", "Host: d3999.big.cn", "Host: example.com",
 "Host: d2500.big.cn"]
--- error_code eval
[200, 200, 403, 200]
--- no_error_log
exited on signal
[alert]



=== TEST 4: removed: still the copy
--- in_place: remove
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Host: d3999.big.cn", "Host: example.com"]
--- error_code eval
[200, 403]
--- no_error_log
exited on signal
[alert]



=== TEST 5: a fresh start on main (the master copies and checks it)
--- snapshot: main
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
    # a new configuration: nginx restarts, the master copies main
--- request
GET /t
--- more_headers
Host: www.example.com
--- response_body
filed example.com
--- no_error_log
[error]
[alert]



=== TEST 6: meta pages zeroed in place, size and mtime kept, a worker killed:
the new worker uses the master's sealed copy, no crash loop
--- in_place: corrupt_meta
--- kill_worker
--- settle: 1.5
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: example.com", "Host: filed.cn", "Host: evil.example.net",
 "Host: example.com", "Host: filed.cn", "Host: evil.example.net"]
--- error_code eval
[200, 200, 403, 200, 200, 403]
--- no_error_log eval
[qr/exited on signal (?!9\b)/, "every domain is blocked", "corrupt"]



=== TEST 7: with the self-check on, a fresh start on big
--- snapshot: big
--- config
    beian on;
    location = /t { return 200 "$beian_status $beian_domain\n"; }
    # a new configuration, with the self-check
--- http_config
    beian_snapshot $TEST_NGINX_LIVE;
    beian_snapshot_check 300ms;
--- request
GET /t
--- more_headers
Host: d17.big.cn
--- response_body
filed d17.big.cn
--- no_error_log
[error]
[alert]



=== TEST 8: cp of main over it in place: each worker copies the new file,
checks it and swaps; nobody dies
--- in_place: overwrite main
--- settle: 1.2
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: example.com", "Host: d17.big.cn", "Host: example.com",
 "Host: d17.big.cn"]
--- error_code eval
[200, 403, 200, 403]
--- no_error_log
exited on signal
[alert]



=== TEST 9: truncated in place: refused by both workers
--- in_place: truncate 4096
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: example.com
--- error_code: 200
--- grep_error_log eval: qr/beian: snapshot "[^"]*": not an LMDB file; keeping the previous snapshot/
--- grep_error_log_out eval
qr/\A(beian: snapshot "[^"]*": not an LMDB file; keeping the previous snapshot\n){2,}\z/
--- no_error_log
exited on signal



=== TEST 10: ... and main stays
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Host: example.com", "Host: d17.big.cn", "Host: example.com",
 "Host: d17.big.cn"]
--- error_code eval
[200, 403, 200, 403]



=== TEST 11: main again (renamed in), loaded by both workers
--- snapshot: main
--- settle: 1.2
--- request
GET /t
--- more_headers
Host: www.example.com
--- response_body
filed example.com



=== TEST 12: its meta pages zeroed in place (identity kept), a worker
killed: the new worker starts on the master's copy, like its sibling did,
and refuses the corrupt file it then finds; nobody dies, nobody fails open
--- in_place: corrupt_meta
--- kill_worker
--- settle: 1.5
--- request
GET /t
--- more_headers
Host: evil.example.net
--- error_code: 403
--- grep_error_log eval: qr/beian: snapshot "[^"]*": corrupt: [^;]*; (every domain is blocked|keeping the previous snapshot)/
--- grep_error_log_out eval
qr/\Abeian: snapshot "[^"]*": corrupt: bad meta pages \(page size 0\); keeping the previous snapshot\n\z/
--- no_error_log eval
[qr/exited on signal (?!9\b)/, "every domain is blocked"]
