package BeianTest;

# Shared by the t/ suites, under the real Test::Nginx and the bundled one.
#
# Block sections of our own, handled before each block runs:
#   --- snapshot: NAME   install $TEST_NGINX_SNAP/NAME.mdb as this file's live
#                        snapshot ($TEST_NGINX_LIVE), atomically (rename)
#   --- in_place: ACTION change the live snapshot in place, as an operator's
#                        cp or a failing disk would (never a rename):
#                        overwrite NAME (truncate, then write NAME.mdb's
#                        bytes), truncate BYTES, corrupt_meta (zero the page
#                        size in both LMDB meta pages, keep size and mtime),
#                        remove
#   --- kill_worker      SIGKILL one worker (the master forks a new one)
#   --- settle: SECS     then wait, e.g. for beian_snapshot_check to notice
# A block without --- http_config gets one that loads the live snapshot.
# A block without --- no_error_log (and not --- must_die) checks that the
# log has no [alert] or [crit], and no [error] unless it expects errors
# (--- error_log, --- grep_error_log) or its suite called
# BeianTest::errors_in_log() (workers log refusals from a timer, at any
# time, into a log the blocks share).

use strict;
use warnings;
use File::Basename qw(basename);
use File::Copy qw(copy);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $snap = $ENV{TEST_NGINX_SNAP}
    or die "TEST_NGINX_SNAP is not set: run the suites with t/run.sh\n";

(my $live = basename($0)) =~ s/\.t$//;
$ENV{TEST_NGINX_LIVE} = "$snap/live-$live.mdb";

# More ports than the harness's own, free ones, picked once per file: a TLS
# server ($TEST_NGINX_TLS_PORT) and the stream server of --- stream_config
# ($TEST_NGINX_STREAM_PORT, as Test::Nginx::Socket::Lua::Stream names it).
sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!\n";
    return $s->sockport;
}

$ENV{TEST_NGINX_TLS_PORT}    ||= free_port();
$ENV{TEST_NGINX_STREAM_PORT} ||= free_port();

sub install_snapshot {
    my ($name) = @_;
    my $tmp = "$ENV{TEST_NGINX_LIVE}.tmp";

    copy("$snap/$name.mdb", $tmp) or die "copy $name.mdb: $!\n";
    chmod 0644, $tmp;
    rename($tmp, $ENV{TEST_NGINX_LIVE}) or die "rename: $!\n";
}

# The real Test::Nginx::Socket has no --- stream_config (its Lua::Stream
# subclass does, and needs Lua): there the stream {} block is written here,
# in the same shape, into --- main_config.  The bundled harness writes it
# itself (stream_block).
sub stream_to_main_config {
    my ($block) = @_;
    my @servers = ($block->stream_server_config,
                   $block->stream_server_config2,
                   $block->stream_server_config3);

    return unless defined $block->stream_config || defined $servers[0];

    my $port = $ENV{TEST_NGINX_STREAM_PORT};
    my $out = "stream {\n" . ($block->stream_config // '') . "\n";
    for my $i (grep { $_ == 0 || defined $servers[$_] } 0 .. 2) {
        $out .= "    server {\n        listen " . ($port + $i) . ";\n\n"
              . ($servers[$i] // '') . "\n    }\n";
    }
    $block->set_value('main_config', ($block->main_config // '') . "$out}\n");
    $block->set_value($_, undef)
        for qw(stream_config stream_server_config stream_server_config2
               stream_server_config3);
}

sub in_place {
    my ($action) = @_;
    my $live = $ENV{TEST_NGINX_LIVE};
    my ($verb, $arg) = split ' ', $action;

    if ($verb eq 'overwrite') {
        copy("$snap/$arg.mdb", $live) or die "overwrite with $arg.mdb: $!\n";
    } elsif ($verb eq 'truncate') {
        truncate($live, $arg) or die "truncate: $!\n";
    } elsif ($verb eq 'corrupt_meta') {
        # LMDB keeps the page size at byte 40 of each meta page (pages 0
        # and 1); putting the times back (touch -r: to the nanosecond)
        # hides the change from stat()
        my $ref = "$live.times";
        system('touch', '-r', $live, $ref) == 0 or die "touch: $?\n";
        open my $f, '+<', $live or die "open: $!\n";
        binmode $f;
        for my $off (40, 4096 + 40) {
            seek($f, $off, 0) or die "seek: $!\n";
            print $f "\0\0\0\0" or die "write: $!\n";
        }
        close $f or die "close: $!\n";
        system('touch', '-r', $ref, $live) == 0 or die "touch: $?\n";
        unlink $ref;
    } elsif ($verb eq 'remove') {
        unlink($live) or die "remove: $!\n";
    } else {
        die "in_place: unknown action '$action'\n";
    }
}

# pids whose parent is $ppid, from /proc (no ps: minimal systems lack it)
sub children {
    my ($ppid) = @_;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;    # the process may be gone
        my $line = <$fh> // next;
        # pid (comm) state ppid ...: comm may hold spaces and parens
        push @kids, $1 if $line =~ /^(\d+) \(.*\) \S+ (\d+) / && $2 == $ppid;
    }
    return @kids;
}

# For the suites that run their own nginx: when a test failed, show the
# end of that nginx's error log before the temporary directory goes away.
sub log_on_failure {
    my ($log) = @_;
    require Test::More;
    return if Test::More->builder->is_passing;
    open my $fh, '<', $log or return;
    my @lines = <$fh>;
    splice @lines, 0, @lines - 80 if @lines > 80;
    Test::More::diag("last lines of $log:\n", @lines);
}

# the workers of the nginx under test (either harness)
sub workers {
    my $root = defined &Test::Nginx::Util::server_root
             ? Test::Nginx::Util::server_root()
             : Test::Nginx::Socket::server_root();
    open my $p, '<', "$root/logs/nginx.pid" or die "no nginx.pid: $!\n";
    my ($master) = <$p> =~ /(\d+)/;
    return children($master);
}

# Suites with --- reload_fails (a HUP reload that nginx is to refuse, the
# old workers serving on) need the bundled harness: the real Test::Nginx
# waits for the new configuration after each HUP and fails the run when it
# never answers.  Called in a BEGIN block before Test::Nginx::Socket is
# imported; skips the whole suite under the real one, saying why.
sub needs_bundled_harness {
    my ($why) = @_;

    require Test::Nginx::Socket;
    return if $INC{'Test/Nginx/Socket.pm'} =~ m{(?:^|/)t/harness/lib/};

    require Test::More;
    Test::More::plan(skip_all => "needs the bundled harness (t/harness): "
                                 . $why);
}

# nginx 1.29.4 ("Improved host header validation") answers 400 itself for
# hosts that older versions passed on to the gate, which blocked them: raw
# non-ASCII bytes, "@", a backslash, a port that is not a number, an IPv6
# zone id, HTML metacharacters.  The invariant either way: never a 200,
# never site content.  host_400(WHAT) is what a block expects for such a
# host: WHAT before 1.29.4 (a status or a body pattern), nginx's 400 (or
# its page) from then on.  t/run.sh sets TEST_NGINX_VERSION_NUM.
our $StrictHosts = ($ENV{TEST_NGINX_VERSION_NUM} // 0) >= 1029004;

sub host_400 {
    my ($before) = @_;

    return $before unless $StrictHosts;
    return ref $before ? qr/400 Bad Request/ : 400;
}

my $errors_in_log = 0;
my $crit_in_log = 0;

sub errors_in_log { $errors_in_log = 1 }

# Suites where nginx itself is the TLS client of a refused handshake: its
# side logs the refusal at [crit] ("SSL_do_handshake() failed ... tlsv1
# unrecognized name") or [error]; [alert] still fails a block.
sub handshake_errors_in_log { $errors_in_log = 1; $crit_in_log = 1 }

sub preprocess {
    my ($block) = @_;

    stream_to_main_config($block)
        unless defined &Test::Nginx::Socket::stream_block;

    if (defined $block->snapshot) {
        (my $name = $block->snapshot) =~ s/\s+//g;
        install_snapshot($name);
    }

    if (defined $block->in_place) {
        (my $action = $block->in_place) =~ s/^\s+|\s+$//g;
        in_place($action);
    }

    if (defined $block->kill_worker) {
        my @w = workers() or die "kill_worker: no workers found\n";
        kill 'KILL', $w[0];
        # until the master has forked its replacement (a loaded machine
        # may take a while)
        for (1 .. 100) {
            my @now = workers();
            last if @now == @w && !grep { $_ == $w[0] } @now;
            sleep 0.1;
        }
    }

    if (defined $block->snapshot || defined $block->in_place
        || defined $block->kill_worker)
    {
        sleep($block->settle) if defined $block->settle;
    }

    if (!defined $block->no_error_log && !defined $block->must_die) {
        my $errors = $errors_in_log || defined $block->error_log
                     || defined $block->grep_error_log;

        $block->set_value('no_error_log',
                          ($errors ? '' : "[error]\n") . "[alert]\n"
                          . ($crit_in_log ? '' : "[crit]\n"));
    }

    if (defined $block->config && !defined $block->http_config) {
        $block->set_value('http_config',
                          "beian_snapshot $ENV{TEST_NGINX_LIVE};\n");
    }
}

# The TLS suites' client is nginx itself: a front (the harness's server,
# beian off) that proxies with proxy_ssl_name taken from ?sni= (empty: no
# SNI sent) to the TLS server under test (/p/, $TEST_NGINX_TLS_PORT) or to
# the stream server (/s/ over TLS, /plain/ without, $TEST_NGINX_STREAM_PORT).
# A refused handshake or a closed connection is a 502.
sub tls_front {
    my ($block) = @_;
    my $front = '';

    for (['p', 'https', 'TLS'], ['s', 'https', 'STREAM'],
         ['plain', 'http', 'STREAM'])
    {
        my ($loc, $scheme, $port) = @$_;
        $front .= "    location /$loc/ {\n"
                . "        proxy_pass $scheme://127.0.0.1:\$TEST_NGINX_${port}_PORT/;\n"
                . ($scheme eq 'https'
                   ? "        proxy_ssl_server_name on;\n"
                   . "        proxy_ssl_name \$arg_sni;\n"
                   . "        proxy_ssl_session_reuse off;\n" : '')
                . "        proxy_set_header Host \$arg_host;\n"
                . "    }\n";
    }
    $block->set_value('config', $front . ($block->config // ''))
        unless defined $block->no_front;

    # --- tls_server_config: the body of the TLS server under test
    if (defined(my $tls = $block->tls_server_config)) {
        $block->set_value('http_config',
            ($block->http_config // "beian_snapshot $ENV{TEST_NGINX_LIVE};\n")
            . "server {\n"
            . "    listen 127.0.0.1:\$TEST_NGINX_TLS_PORT ssl;\n"
            . "    ssl_certificate \$TEST_NGINX_SNAP/tls.crt;\n"
            . "    ssl_certificate_key \$TEST_NGINX_SNAP/tls.key;\n"
            . "$tls}\n");
    }
}

install_snapshot('main');

1;
