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

use strict;
use warnings;
use File::Basename qw(basename);
use File::Copy qw(copy);
use Time::HiRes qw(sleep);

my $snap = $ENV{TEST_NGINX_SNAP}
    or die "TEST_NGINX_SNAP is not set: run the suites with t/run.sh\n";

(my $live = basename($0)) =~ s/\.t$//;
$ENV{TEST_NGINX_LIVE} = "$snap/live-$live.mdb";

sub install_snapshot {
    my ($name) = @_;
    my $tmp = "$ENV{TEST_NGINX_LIVE}.tmp";

    copy("$snap/$name.mdb", $tmp) or die "copy $name.mdb: $!\n";
    chmod 0644, $tmp;
    rename($tmp, $ENV{TEST_NGINX_LIVE}) or die "rename: $!\n";
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

# the workers of the nginx under test (either harness)
sub workers {
    my $root = defined &Test::Nginx::Util::server_root
             ? Test::Nginx::Util::server_root()
             : Test::Nginx::Socket::server_root();
    open my $p, '<', "$root/logs/nginx.pid" or die "no nginx.pid: $!\n";
    my ($master) = <$p> =~ /(\d+)/;
    return children($master);
}

sub preprocess {
    my ($block) = @_;

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
    }

    if (defined $block->snapshot || defined $block->in_place
        || defined $block->kill_worker)
    {
        sleep($block->settle) if defined $block->settle;
    }

    if (defined $block->config && !defined $block->http_config) {
        $block->set_value('http_config',
                          "beian_snapshot $ENV{TEST_NGINX_LIVE};\n");
    }
}

install_snapshot('main');

1;
