package BeianTest;

# Shared by the t/ suites, under the real Test::Nginx and the bundled one.
#
# Block sections of our own, handled before each block runs:
#   --- snapshot: NAME   install $TEST_NGINX_SNAP/NAME.mdb as this file's live
#                        snapshot ($TEST_NGINX_LIVE), atomically (rename)
#   --- settle: SECS     then wait, e.g. for beian_snapshot_check to notice
# A block without --- http_config gets one that loads the live snapshot.

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

sub preprocess {
    my ($block) = @_;

    if (defined $block->snapshot) {
        (my $name = $block->snapshot) =~ s/\s+//g;
        install_snapshot($name);
        sleep($block->settle) if defined $block->settle;
    }

    if (defined $block->config && !defined $block->http_config) {
        $block->set_value('http_config',
                          "beian_snapshot $ENV{TEST_NGINX_LIVE};\n");
    }
}

install_snapshot('main');

1;
