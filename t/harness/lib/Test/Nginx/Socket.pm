package Test::Nginx::Socket;

# A small stand-in for the subset of Test::Nginx::Socket (openresty/test-nginx)
# that the t/*.t suites of this project use.  It exists so that `prove -r t`
# works where only Debian packages are available (no Test::Base, no
# Test::LongString, no HTTP::Response); it depends on Perl core modules only.
#
# The aim is observable compatibility: the same data format, the same nginx.conf
# shape, the same restart/HUP decisions, the same number and names of tests
# per block.  Anything it does not implement is either reported (unknown
# real-Test::Nginx sections) or bails out, rather than silently passing.
#
# Known differences from the real one:
#  - TEST_NGINX_USE_VALGRIND: nginx runs in the foreground under memcheck as
#    in the real one, but valgrind writes to logs/valgrind.PID.log, which is
#    echoed to stderr when nginx stops (see valgrind_cmd);
#  - --- stream_config / --- stream_server_config(2, 3) write the stream {}
#    block as Test::Nginx::Socket::Lua::Stream does, but --- stream_request
#    and --- stream_response (sent from Lua there) are not implemented;
#  - no http2/http3/curl, stap, check-leak, tcp_listen/udp_listen,
#    access_log checks, shutdown_error_log, todo/skip_nginx*, body filters;
#    requests split into packets ([[...]] in --- request eval) bail out;
#  - response_headers are checked in the order written (the real one walks
#    a hash, so its order varies); failure diagnostics are Test::More's;
#  - nginx's stderr goes to logs/nginx.stderr (echoed), and must_die blocks
#    also match --- error_log against it;
#  - a start failure bails out at once unless the port is busy (the real one
#    retries for 30s), and connecting gives up after ~10s (real: ~45s);
#  - a zombie nginx counts as stopped, so restarts do not wait for init to
#    reap it.

use strict;
use warnings;

use Carp qw(croak carp cluck confess);
use Cwd ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle min);
use POSIX qw(EAGAIN);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

print STDERR "# using the bundled Test::Nginx::Socket subset (t/harness)\n";

# ---------------------------------------------------------------------------
# Settings (environment first, then the exported setters)

our $NginxBinary       = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LoadModules       = $ENV{TEST_NGINX_LOAD_MODULES};
our $ServerPort        = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerAddr        = '127.0.0.1';
our $ServerName        = 'localhost';
our $Workers           = 1;
our $WorkerConnections = 64;
our $LogLevel          = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcess     = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $UseHup            = $ENV{TEST_NGINX_USE_HUP};
our $Verbose           = $ENV{TEST_NGINX_VERBOSE};
our $Timeout           = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Sleep             = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestart      = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                         ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $NoShuffle         = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $CheckAccumErrLog  = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $UseValgrind       = $ENV{TEST_NGINX_USE_VALGRIND};
our $RepeatEach        = 1;
our $NoRootLocation    = 0;
our $NoLongString;
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

for my $v (qw(TEST_NGINX_CHECK_LEAK TEST_NGINX_USE_STAP
              TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3 TEST_NGINX_BENCHMARK
              TEST_NGINX_RANDOMIZE))
{
    warn "WARNING: $v is not supported by the bundled Test::Nginx subset; "
         . "ignored\n" if $ENV{$v};
}

# Under valgrind everything takes longer; the suites' own waits do not.
$Timeout = 10 if $UseValgrind && !$ENV{TEST_NGINX_TIMEOUT};

our $ServRoot   = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
our $StderrFile = "$LogDir/nginx.stderr";   # our addition: nginx's stderr

# The real one exports these variables to its own callers.
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

# Code that pokes at the real module's package variables keeps working.
{
    no strict 'refs';
    *{"Test::Nginx::Util::$_"} = \${"Test::Nginx::Socket::$_"}
        for qw(ServerPort ServerAddr ServRoot ErrLogFile AccLogFile PidFile
               ConfFile HtmlDir RepeatEach NginxBinary LogLevel);
}

# Run-time state shared between blocks
my $OwnerPid = $$;          # only this process may clean up in END
my $FirstTime = 1;
my $PrevConfig;
my $ConfigVersion = '';
my $ErrLogFilePos = 0;
my $ConnectFailures = 0;
my $Blocks;                 # parsed + filtered blocks, built lazily
my %WarnedSection;
my $ValgrindPid;            # nginx under valgrind: our child
my %ValgrindSeen;           # valgrind log => bytes already echoed

# ---------------------------------------------------------------------------
# Exporting

my @OWN_EXPORTS = qw(
    run_tests run_test blocks no_diff is is_str bail_out
    master_on master_off master_process_enabled workers worker_connections
    no_shuffle log_level use_hup no_long_string repeat_each no_root_location
    env_to_nginx add_block_preprocessor add_cleanup_handler
    add_test_cleanup_handler server_port server_port_for_client server_root
    html_dir server_addr server_name timeout check_accum_error_log
    config_preamble no_nginx_manager
);

# What Test::Base re-exports from Test::More (so suites may call them).
my @TEST_MORE_EXPORTS = qw(
    ok isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set plan can_ok isa_ok diag use_ok
);

sub import {
    my ($class, @args) = @_;
    my $caller = caller;
    {
        no strict 'refs';
        *{"${caller}::$_"} = \&{"Test::Nginx::Socket::$_"} for @OWN_EXPORTS;
        *{"${caller}::$_"} = \&{"Test::More::$_"} for @TEST_MORE_EXPORTS;
        *{"${caller}::$_"} = \&{"Carp::$_"} for qw(croak carp cluck confess);
    }
    # The real module injects "use strict; use warnings" into the suite.
    strict->import;
    warnings->import;
    @args = grep { !/^-/ } @args;
    Test::More::plan(@args) if @args;    # 'no_plan' or tests => N
}

# ---------------------------------------------------------------------------
# Setters / getters (same names and semantics as the real ones)

sub master_on ()  { $MasterProcess = 'on' }
sub master_off () { $MasterProcess = 'off' }
sub master_process_enabled {
    return $MasterProcess unless @_;
    $MasterProcess = shift() ? 'on' : 'off';
}
sub workers            { @_ ? ($Workers = shift) : $Workers }
sub worker_connections { @_ ? ($WorkerConnections = shift) : $WorkerConnections }
sub log_level          { @_ ? ($LogLevel = shift) : $LogLevel }
sub repeat_each        { $RepeatEach = shift if @_; $RepeatEach }
sub server_port        { @_ ? ($ServerPort = shift) : $ServerPort }
sub server_port_for_client { server_port(@_) }
sub server_addr        { @_ ? ($ServerAddr = shift) : $ServerAddr }
sub server_name        { @_ ? ($ServerName = shift) : $ServerName }
sub timeout            { @_ ? ($Timeout = shift) : $Timeout }
sub no_shuffle ()      { $NoShuffle = 1 }
sub use_hup ()         { $UseHup = 1 }
sub no_long_string ()  { $NoLongString = 1 }
sub no_diff            { $ENV{TEST_SHOW_NO_DIFFS} = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub server_root ()     { $ServRoot }
sub html_dir ()        { $HtmlDir }
sub add_cleanup_handler ($)      { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }
# Most recently added runs first, like the real one.
sub add_block_preprocessor (&)   { unshift @BlockPreprocessors, shift }

sub config_preamble    { bail_out("config_preamble() is not supported by the bundled harness") }
sub no_nginx_manager   { bail_out("no_nginx_manager() is not supported by the bundled harness") }

sub env_to_nginx {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out {
    $_->() for @CleanupHandlers;
    Test::More::BAIL_OUT(join '', @_);
}

# is() with a hint about where multi-line strings diverge (the real one uses
# Test::LongString / Text::Diff for this).
sub is {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::is($got, $expected, $desc);
    if (!$ok && defined $got && defined $expected
        && !ref $expected && "$got$expected" =~ /\n./)
    {
        my @g = split /^/, $got;
        my @e = split /^/, $expected;
        my $i = 0;
        $i++ while $i < @g && $i < @e && $g[$i] eq $e[$i];
        Test::More::diag(sprintf "first difference at line %d:\n"
            . "       got: %s\n  expected: %s", $i + 1,
            map { defined $_ ? '"' . fmt_str($_) . '"' : '(end of text)' }
                $g[$i], $e[$i]);
    }
    return $ok;
}

sub is_str {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::like($got, $expected, $desc)
        if ref $expected && ref $expected eq 'Regexp';
    return is($got, $expected, $desc);
}

# ---------------------------------------------------------------------------
# The data section: "=== name" blocks made of "--- section [filters]" parts,
# parsed and filtered the way Test::Base does it.

{
    package Test::Nginx::Socket::Block;

    sub new { bless {}, shift }

    # Values are stored as lists, like Test::Base; an accessor returns the
    # first value in scalar context.  Unknown sections read as undef.
    sub set_value {
        my ($self, $key, @vals) = @_;
        $self->{$key} = [@vals];
    }

    our $AUTOLOAD;
    sub AUTOLOAD {
        my $self = shift;
        (my $key = $AUTOLOAD) =~ s/.*:://;
        return if $key eq 'DESTROY' || !ref $self;
        Carp::croak("Not allowed to set values for '$key'") if @_;
        my @list = @{ $self->{$key} || [] };
        return wantarray ? @list : $list[0];
    }
}

# "--- x eval" code is compiled here, under strict, as the real one compiles
# it inside Test::Base::Filter: suites must use $::Var / $main::Var.
our $EvalWhere = '';
sub _eval_section {
    package Test::Nginx::Socket::Eval;
    my @r = eval $_[0];    ## no critic
    return @r unless $@;
    warn "WARNING: $Test::Nginx::Socket::EvalWhere eval failed: $@";
    return ($@);    # Test::Base keeps the error text as the value
}

my %FILTERS = (
    norm  => sub { map { my $t = defined $_ ? $_ : ''; $t =~ s/\015\012/\n/g;
                         $t =~ s/\r/\n/g; $t } @_ },
    # drop blank lines at the start and all whitespace after the last newline
    trim  => sub { map { my $t = $_; if (defined $t) { $t =~ s/\A([ \t]*\n)+//;
                         $t =~ s/(?<=\n)\s*\z//; } $t } @_ },
    chomp => sub { map { my $t = $_; chomp $t if defined $t; $t } @_ },
    chop  => sub { map { my $t = $_; chop $t if defined $t; $t } @_ },
    eval  => sub { _eval_section($_[0]) },
);

sub read_spec {
    no warnings;    # main::DATA may be unopened
    if (defined fileno(main::DATA)) {
        local $/;
        my $fh = \*main::DATA;
        return scalar <$fh>;
    }
    open my $in, '<', $0 or bail_out("cannot read $0: $!");
    local $/;
    my $src = <$in>;
    return $src =~ /^__(?:DATA|END)__\r?\n(.*)\z/ms ? $1 : '';
}

sub parse_blocks {
    my ($spec) = @_;
    my @blocks;
    for my $hunk ($spec =~ /^(===.*?(?=^===|\z))/msg) {
        $hunk =~ s/\A===[ \t]*(.*)\s+// or next;
        my $block = Test::Nginx::Socket::Block->new;
        my $name = $1;
        my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;
        my $desc = shift @parts;
        $desc = $name unless defined $desc && $desc =~ /\S/;
        $desc =~ s/\s*\z//;
        $block->set_value(description => $desc);
        my @order;
        while (@parts) {
            my ($type, $filters, $value) = splice @parts, 0, 3;
            $value = '' unless defined $value;
            $filters = '' unless defined $filters;
            if ($filters =~ /:(\s|\z)/) {           # "--- name: value"
                croak "Extra lines not allowed in '$type' section"
                    if $value =~ /\S/;
                ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
                $value = '' unless defined $value;
                $value =~ s/^\s*(.*?)\s*$/$1/;
            }
            push @order, [$type, $filters];
            $block->set_value($type, $value);
        }
        $block->set_value(name => $name);
        $block->{_order} = \@order;
        if (exists $block->{ONLY}) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            return [$block];
        }
        next if exists $block->{SKIP};
        push @blocks, $block;
        last if exists $block->{LAST};
    }
    return \@blocks;
}

sub filter_block {
    my ($block) = @_;
    for my $sec (@{ $block->{_order} }) {
        my ($type, $spec) = @$sec;
        $spec =~ s/^\s+//;
        # defaults first; "-f" removes a filter, "+f" appends one at the end
        my (@filters, @append);
        for (qw(norm trim), split /\s+/, $spec) {
            my $f = $_;
            last unless length $f;
            if ($f =~ s/^-//)     { @filters = grep { $_ ne $f } @filters }
            elsif ($f =~ s/^\+//) { push @append, $f }
            else                  { push @filters, $f }
        }
        my @value = @{ $block->{$type} };
        local $EvalWhere = "$block->{name}[0] - --- $type";
        for my $f (@filters, @append) {
            my $code = $FILTERS{$f}
                or bail_out("$block->{name}[0] - filter '$f' (section '$type') "
                            . "is not supported by the bundled harness");
            @value = $code->(@value);
        }
        $block->set_value($type, @value);
    }
}

sub blocks {
    if (!$Blocks) {
        $Blocks = parse_blocks(read_spec());
        filter_block($_) for @$Blocks;
    }
    return wantarray ? @$Blocks : scalar @$Blocks;
}

# ---------------------------------------------------------------------------
# Helpers

sub parse_time {
    my $t = shift;
    return $t unless defined $t;
    if    ($t =~ s/([^_a-zA-Z])ms$/$1/) { $t /= 1000 }
    elsif ($t =~ s/([^_a-zA-Z])s$/$1/)  { }
    return $t;
}

sub fmt_str {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# Only $TEST_NGINX_* names are substituted; an undefined one is fatal.
sub expand_env {
    my ($text, $name) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        defined $ENV{$1} ? $ENV{$1}
            : bail_out("$name - No environment $1 defined (the harness, like "
                       . "the real one, sets only TEST_NGINX_SERVER_PORT and "
                       . "TEST_NGINX_SERVER_ROOT).\n")
    }eg;
    return $text;
}

sub is_running {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    # nginx is not our child; a zombie left for init to reap counts as gone
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        return 0 if $stat =~ /\)\s+Z\s/;
    }
    return 1;
}

sub read_pid {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    return undef unless defined $pid;
    chomp $pid;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# Graceful stop (QUIT), then KILL the process group after the timeout.
sub stop_nginx {
    my ($pid, $name) = @_;
    warn "sending QUIT signal to $pid\n" if $Verbose;
    kill 'QUIT', $pid;
    my $deadline = time + $Timeout;
    sleep 0.02 while is_running($pid) && time < $deadline;
    if (is_running($pid)) {
        warn "$name - timeout when waiting for the process $pid to exit\n";
        kill('KILL', -$pid) or kill('KILL', $pid);   # daemon leads its group
        $deadline = time + 2;
        sleep 0.02 while is_running($pid) && time < $deadline;
    }
    if ($ValgrindPid) {
        # our child under valgrind: reap it, killing it if it lingers
        my $r;
        $deadline = time + $Timeout;
        sleep 0.05 while ($r = waitpid($ValgrindPid, POSIX::WNOHANG())) == 0
                         && time < $deadline;
        if ($r == 0) {
            kill 'KILL', -$ValgrindPid;
            $r = waitpid($ValgrindPid, 0);
        }
        warn "$name - valgrind reported errors (exit code 42)\n"
            if $r == $ValgrindPid && $? >> 8 == 42;
        undef $ValgrindPid;
    }
    dump_valgrind_logs();
}

sub can_run {
    my $cmd = shift;
    return -x $cmd ? $cmd : undef if $cmd =~ m{/};
    for my $dir (File::Spec->path) {
        return "$dir/$cmd" if -f "$dir/$cmd" && -x _;
    }
    return undef;
}

my $NginxV;
sub nginx_V {
    $NginxV //= `$NginxBinary -V 2>&1` // '';
    return $NginxV;
}

sub slurp {
    open my $in, '<', $_[0] or return '';
    local $/;
    my $s = <$in>;
    return defined $s ? $s : '';
}

sub spew {
    my ($path, $data) = @_;
    open my $out, '>', $path or bail_out("Can't open $path for writing: $!\n");
    binmode $out;
    print $out $data;
    close $out;
}

# ---------------------------------------------------------------------------
# Server root, user files, nginx.conf

sub setup_server_root {
    my ($first_time, $hup) = @_;
    dump_valgrind_logs();
    # Remove only what the harness creates: TEST_NGINX_SERVROOT may be
    # mis-pointed at real data.
    remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
    if ($hup) {
        # nginx keeps running: keep its pid file (and sockets/certs) unless it
        # is the first block, drop everything else including the old logs.
        require File::Find;
        File::Find::find({ no_chdir => 1, bydepth => 1, wanted => sub {
            return if -d $_;
            return if !$first_time && /(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
            return if !$first_time && $UseValgrind && /\bvalgrind\.\d+\.log$/;
            unlink $_ or warn "Failed to remove $_\n";
        } }, $ServRoot) if -d $ServRoot;
    } else {
        remove_tree("$ServRoot/cache", $HtmlDir, $LogDir);
        %ValgrindSeen = ();
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $d;
        make_path($d) or bail_out("Failed to do mkdir $d\n");
    }
    spew("$HtmlDir/index.html", '<html><head><title>It works!</title></head>'
                                . '<body>It works!</body></html>');
}

sub write_user_files {
    my ($block) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;
    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }
    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        spew($path, expand_env(defined $body ? $body : '', $name));
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("Failed to run touch -t '$date' '$path'\n");
        }
    }
}

# --- stream_config and --- stream_server_config (2, 3): a stream {} block
# shaped as Test::Nginx::Socket::Lua::Stream writes it, its servers on
# TEST_NGINX_STREAM_PORT (default: the server port + 1) and the next two.
# The requests are the suite's own business (the real one sends them from
# Lua, which Debian's nginx does not have).
sub stream_block {
    my ($block) = @_;
    my $stream_config = $block->stream_config;
    my @servers = ($block->stream_server_config,
                   $block->stream_server_config2,
                   $block->stream_server_config3);

    return '' unless defined $stream_config || defined $servers[0];

    my $port = $ENV{TEST_NGINX_STREAM_PORT} // $ServerPort + 1;
    my $out = "stream {\n" . ($stream_config // '') . "\n";
    for my $i (0 .. 2) {
        next if $i > 0 && !defined $servers[$i];
        $out .= "    server {\n        listen " . ($port + $i) . ";\n\n"
              . ($servers[$i] // '') . "\n    }\n";
    }
    return "$out}\n";
}

sub write_config_file {
    my ($block, $config, $hup) = @_;
    my $name = $block->name;

    master_on() if $hup;    # reloading is unreliable without a master

    my $http_config = expand_env(scalar($block->http_config), $name) // '';
    my $main_config = ($block->main_config // '') . stream_block($block);
    my @modules = map { "load_module $_;" } grep { length } split /\s+/,
                  $LoadModules // '';
    $main_config = join ' ', @modules, $main_config if @modules;
    $main_config = expand_env($main_config, $name);
    my $post_main_config = expand_env(scalar($block->post_main_config), $name) // '';
    my $err_log = expand_env(scalar($block->error_log_file), $name) || $ErrLogFile;
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    my $V = nginx_V();
    my @temp;
    push @temp, "client_body_temp_path $ServRoot/client_body_temp;"
        unless $http_config =~ /\bclient_body_temp_path\b/;
    push @temp, "proxy_temp_path $ServRoot/proxy_temp;"
        unless $http_config =~ /\bproxy_temp_path\b/;
    for my $m (qw(fastcgi scgi uwsgi)) {
        push @temp, "${m}_temp_path $ServRoot/${m}_temp;"
            unless $V =~ /--without-http_${m}_module/;
    }

    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" }
              @EnvToNginx;

    my $root_location = $NoRootLocation ? '' : <<"EOC";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
EOC

    # The extra server answers GET /ver with the config version, so that after
    # a HUP we can tell when the new configuration is the one serving.
    my $hup_server = !$hup ? '' : <<"EOC";
    server {
        listen          $ServerPort;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
EOC

    my $user = $> == 0 ? "user root;\n" : '';
    # under valgrind nginx stays our child, as in the real one
    my $daemon = $UseValgrind && !defined $block->must_die ? 'off' : 'on';

    spew($ConfFile, <<"EOC");
worker_processes  $Workers;
daemon $daemon;
master_process $MasterProcess;
error_log $err_log $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
$env
$main_config

http {
    access_log $AccLogFile; @temp

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$server_name';
        client_max_body_size 30M;

        # Begin test case config...
$config
        # End test case config.

$root_location    }
$hup_server}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
EOC
}

# ---------------------------------------------------------------------------
# Driving nginx

sub run_tests {
    srand($$ + time() * 1000000);
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    for my $block ($NoShuffle ? blocks() : shuffle blocks()) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @TestCleanupHandlers;
    }
    $_->() for @CleanupHandlers;
    Test::More::done_testing() unless Test::More->builder->has_plan;
}

my @UNSUPPORTED = qw(
    http2 http3 curl curl_protocol curl_options curl_error stap stap_out
    stap_out_like stap_out_unlike tcp_listen tcp_reply tcp_query tcp_query_len
    tcp_shutdown udp_listen udp_reply udp_query access_log no_access_log
    shutdown_error_log no_shutdown_error_log response_body_filters
    response_body_json_sort todo todo_nginx skip_nginx skip_nginx2
    skip_openssl skip_slave http09 request_eval response_body_eval charset
    stream_request stream_request2 stream_request3 stream_response
    stream_response_like
    server_addr_for_client write_resp_body_file
);

sub run_test {
    my ($block) = @_;
    my $name = $block->name;

    for my $sec (@UNSUPPORTED) {
        next unless exists $block->{$sec} && !$WarnedSection{$sec}++;
        warn "WARNING: $name - section '--- $sec' is not supported by the "
             . "bundled Test::Nginx subset; ignored\n";
    }

    my $config = expand_env(scalar($block->config), $name);
    local $LogLevel = $block->log_level || $LogLevel;
    my $must_die = $block->must_die;
    # a config that must fail to load is always started from scratch
    my $hup = defined $must_die ? 0 : $UseHup;

    my $first_time = $FirstTime;
    $FirstTime = 0;

    # Same decision as the real one: a block without --- config reuses the
    # running nginx; otherwise restart when the config changed or when
    # TEST_NGINX_FORCE_RESTART_ON_TEST (default on) asks for it.
    my ($restart, $reconfig) = (0, 0);
    if (!defined $config) {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one.") unless defined $PrevConfig;
    } else {
        $reconfig = !defined $PrevConfig || $config ne $PrevConfig;
        $restart = $reconfig || $ForceRestart;
    }

    my ($skip_n, $skip);
    if (defined(my $se = $block->skip_eval)) {
        if ($se =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($skip_n, my $code) = ($1, $2);
            $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$code\": $@") if $@;
        }
    }

    if ($restart && !$skip) {
        $PrevConfig = $config if $reconfig;
        $ConfigVersion = join '', map { ('A'..'Z', 'a'..'z', 0..9)[rand 62] }
                         1 .. 10 if $hup;
        my $pid = read_pid();
        $pid = undef unless $pid && is_running($pid);
        # HUP mode swaps the config under the running master (not for the
        # first block: whatever runs there is left over from an earlier run)
        my $reloaded = $pid && $hup && !$first_time
                       && reload_nginx($block, $pid, $config);
        if (!$reloaded) {
            stop_nginx($pid, $name) if $pid;
            unlink $PidFile if -f $PidFile;
            setup_server_root($first_time, $hup);
            run_post_setup($block);
            write_user_files($block);
            write_config_file($block, $config, $hup);
            can_run($NginxBinary)
                or bail_out("$name - Cannot find the nginx executable in the "
                            . "PATH environment");
            if (defined $must_die) {
                check_must_die($block, $must_die, $_) for 0 .. $RepeatEach - 1;
                return;
            }
            start_nginx($block);
        }
    }

    # --- init runs in this package, as the real one runs it inside
    # Test::Nginx::Util: server_root() etc. are callable unqualified.
    if (my $init = $block->init) {
        eval $init;    ## no critic
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $rep (0 .. $RepeatEach - 1) {
        write_user_files($block) if $rep > 0;
        if ($skip && defined $skip_n) {
            SKIP: { Test::More::skip("$name - skip_eval", $skip_n) }
            next;
        }
        run_requests($block, $rep);
    }
}

sub run_post_setup {
    my ($block) = @_;
    my $code = $block->post_setup_server_root or return;
    eval $code;    ## no critic
    bail_out($block->name . " - post_setup_server_root failed: $@") if $@;
}

sub nginx_cmd {
    return valgrind_cmd() . "$NginxBinary -e $ErrLogFile -p $ServRoot/ "
           . "-c $ConfFile >/dev/null 2>$StderrFile";
}

# TEST_NGINX_USE_VALGRIND=1: memcheck without leak checks (nginx frees by
# exiting), t/valgrind.suppress if present; any other value is valgrind's
# options, as in the real one.  Every process, forked workers included,
# logs to logs/valgrind.PID.log.
sub valgrind_cmd {
    return '' unless $UseValgrind;
    my $opts = $UseValgrind;
    if ($opts =~ /^\d+$/) {
        my $supp = File::Spec->rel2abs('t/valgrind.suppress');
        $opts = "--tool=memcheck --leak-check=no --num-callers=50 "
                . "--error-exitcode=42"
                . (-f $supp ? " --suppressions=$supp" : '');
    }
    return "valgrind -q $opts --log-file=$LogDir/valgrind.%p.log ";
}

# Echoes what valgrind logged since the last call, to stderr like the real
# one (where valgrind writes to the terminal).
sub dump_valgrind_logs {
    return unless $UseValgrind;
    for my $f (sort glob("$LogDir/valgrind.*.log")) {
        my $text = slurp($f);
        my $seen = $ValgrindSeen{$f} // 0;
        next unless length($text) > $seen;
        print STDERR "valgrind: $f\n", substr($text, $seen);
        $ValgrindSeen{$f} = length $text;
    }
}

# Run the nginx command line; it returns once nginx has daemonised (and so
# already listens) or has failed.  Returns the wait status.
sub exec_nginx {
    my ($block, $show_stderr) = @_;
    warn "starting nginx: ", nginx_cmd(), "\n" if $Verbose;
    system(nginx_cmd());
    my $status = $?;
    my $err = slurp($StderrFile);
    # the real one lets nginx write to the terminal; show it when it started
    print STDERR $err if $status == 0 && $show_stderr
                         && !defined $block->suppress_stderr;
    return ($status, $err);
}

# Under valgrind nginx does not daemonise: run it as our child, in its own
# process group, and wait until it has written its pid file (it listens by
# then) or has died.
sub start_nginx_valgrind {
    my ($block) = @_;
    my $name = $block->name;
    my $cmd = nginx_cmd();
    $ErrLogFilePos = 0;
    warn "starting nginx: $cmd\n" if $Verbose;
    my $pid = fork;
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        setpgrp;
        exec "exec $cmd" or POSIX::_exit(127);
    }
    $ValgrindPid = $pid;
    my $deadline = time + 6 * $Timeout;
    while (time < $deadline) {
        if (-s $PidFile) {
            sleep $Sleep;
            return;
        }
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            undef $ValgrindPid;
            dump_valgrind_logs();
            (my $why = slurp($StderrFile)) =~ s/\s+/ /g;
            bail_out("$name - Cannot start nginx using command \"$cmd\" "
                     . "(status code $?): $why");
        }
        sleep 0.05;
    }
    bail_out("$name - nginx under valgrind wrote no pid file in "
             . 6 * $Timeout . "s");
}

sub start_nginx {
    my ($block) = @_;
    return start_nginx_valgrind($block) if $UseValgrind;
    my $name = $block->name;
    $ErrLogFilePos = 0;
    my ($waited, $i) = (0, 0);
    while (1) {
        my ($status, $err) = exec_nginx($block, 1);
        last if $status == 0;
        # a port still held by a dying nginx is worth a few retries; a bad
        # config is not (the real one retries everything for 30s)
        if ($waited >= 10 || $err !~ /Address already in use/) {
            (my $why = $err) =~ s/\s+/ /g;
            bail_out("$name - Cannot start nginx using command \""
                     . nginx_cmd() . "\" (status code $status): $why");
        }
        my $delay = min(1, 0.1 * ++$i);
        sleep $delay;
        $waited += $delay;
    }
    sleep $Sleep;
}

sub check_must_die {
    my ($block, $must_die, $rep) = @_;
    my $name = $block->name;
    $ErrLogFilePos = 0;
    my ($status, $err) = exec_nginx($block);
    if ($status == -1) {
        Test::More::fail("$name - failed to execute the nginx command line");
    } elsif ($status & 128) {
        Test::More::fail("$name - nginx core dumped");
    } elsif (looks_like_number($must_die)) {
        Test::More::is($must_die, $status >> 8,
                       "$name - die with the expected exit code");
    } else {
        Test::More::isnt($status, 0, "$name - die as expected");
    }
    dump_valgrind_logs();
    # nginx's stderr carries the same startup messages; match it too
    print STDERR $err unless defined $block->suppress_stderr;
    check_error_log($block, $rep, [split /^/, $err]);
    if ($status == 0) {
        warn "WARNING: $name - nginx must die but it does not; killing it\n";
        for (1 .. 15) { last if -f $PidFile; sleep $Sleep }
        my $pid = read_pid();
        stop_nginx($pid, $name) if $pid;
    }
}

# HUP mode: swap the configuration under the running master and wait until
# the new one answers.  Returns false if signalling failed (then we restart).
sub reload_nginx {
    my ($block, $pid, $config) = @_;
    my $name = $block->name;
    setup_server_root(0, 1);
    run_post_setup($block);
    write_user_files($block);
    write_config_file($block, $config, 1);
    # USR1 makes nginx reopen the log files we just removed
    kill('USR1', $pid) or do { warn "$name - Failed to send USR1 signal\n"; return 0 };
    sleep $Sleep;
    kill('HUP', $pid) or return 0;
    sleep $Sleep * 3;
    if (defined $block->reload_fails) {
        # the master says why it refused at [emerg]: wait for that line,
        # not for a fixed time a loaded machine may need more of
        my $deadline = time + 20;
        while (time < $deadline) {
            my $in;
            last if open($in, '<', $ErrLogFile) && grep { /\[emerg\]/ } <$in>;
            sleep 0.05;
        }
        return 1;
    }
    # Several consecutive answers: old workers may still be accepting.
    my ($ok, $deadline) = (0, time + 20);
    while (time < $deadline) {
        my $resp = http_roundtrip("GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n");
        my $ver = defined $resp && $resp =~ /\r\n\r\n(.*)\z/s ? $1 : '';
        if ($ver eq $ConfigVersion) {
            return 1 if ++$ok >= 10;
            next;
        }
        $ok = 0;
        sleep 0.05;
    }
    Test::More::fail("$name - failed to reload configuration (config version "
                     . "$ConfigVersion never answered)");
    return 1;
}

# One short blocking exchange, used for the /ver probe.
sub http_roundtrip {
    my ($req) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPort, Proto => 'tcp',
                                     Timeout => 2) or return undef;
    print $sock $req;
    my $resp = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(2)) {
        my $n = sysread $sock, my $buf, 4096;
        last unless $n;
        $resp .= $buf;
    }
    close $sock;
    return $resp;
}

END {
    if ($$ == $OwnerPid && !$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;    # keep Test::Builder's exit status
        my $pid = read_pid();
        if ($pid && is_running($pid)) {
            stop_nginx($pid, 'END');
        } elsif (-f $PidFile) {
            unlink $PidFile;
        }
        dump_valgrind_logs();
    }
}

# ---------------------------------------------------------------------------
# Building requests

sub parse_more_headers {
    my ($in) = @_;
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $in) {
        next if $h =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $v = '' unless defined $v;
        $chunked = 1 if lc($k) eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# "METHOD [URI [VERSION]]" on the first line, the body after it.  Host and
# Connection are added unless more_headers has them, Content-Length when
# there is a body (which is then trimmed), as the real one does.
sub build_request {
    my ($name, $req, $more_headers, $conn) = @_;
    bail_out("$name - Request line should be non-empty")
        unless defined $req && length $req;
    my ($first, $content) = $req =~ /\A([^\n]*\n?)(.*)\z/s;
    my ($meth, $url, $ver) = $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$first\".");
    $url = '/' unless defined $url;
    $ver = 'HTTP/1.1' unless defined $ver;

    my ($hdr, $chunked) = parse_more_headers($more_headers);
    my $len = '';
    if (!$chunked && $content ne '' && $hdr !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//gs;
        $len = "Content-Length: " . length($content) . "\r\n";
    }
    my $head = "$meth $url $ver\r\n";
    $head .= "Host: $ServerName\r\n" unless $hdr =~ /(?:^|\n)Host:/msi;
    $head .= "Connection: $conn\r\n" unless $hdr =~ /(?:^|\n)Connection/msi;
    return "$head$hdr$len\r\n$content";
}

sub more_headers_for {
    my ($block, $i) = @_;
    my $mh = $block->more_headers || '';
    return $mh unless ref $mh eq 'ARRAY';
    my $h = $mh->[$i];
    bail_out($block->name . " - --- more_headers lacks data for request $i")
        unless defined $h;
    return $h;
}

# Returns a list of requests; each request is a list of chunks to write.
sub requests_of {
    my ($block) = @_;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [ref $raw eq 'ARRAY' ? @$raw : $raw];
    }

    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            $all .= build_request($name, expand_env($reqs->[$i], $name),
                                  more_headers_for($block, $i),
                                  $i == $#$reqs ? 'close' : 'keep-alive');
        }
        return [$all];
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;   # leading comments
        return [build_request($name, $request, more_headers_for($block, 0),
                              'close')];
    }
    if (ref $request eq 'ARRAY') {
        my @out;
        for my $i (0 .. $#$request) {
            my $r = $request->[$i];
            bail_out("$name - requests split into packets are not supported "
                     . "by the bundled harness") if ref $r;
            push @out, [build_request($name, $r, more_headers_for($block, $i),
                                      'close')];
        }
        return @out;
    }
    bail_out("$name - invalid ---request : MUST be string or array of requests")
        if defined $request;
    bail_out("$name - Request line should be non-empty");
}

# ---------------------------------------------------------------------------
# Talking to nginx

sub connect_server {
    my ($name) = @_;
    my ($tries, $waited) = (0, 0);
    while (1) {
        my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                         PeerPort => $ServerPort,
                                         Proto => 'tcp', Timeout => $Timeout);
        return $sock if $sock;
        my $err = $!;
        # nginx may still be coming up; back off like the real one, but give
        # up after ~10s instead of ~45s
        if ($waited < 10) {
            $tries++;
            my $wait = min(1, ($Sleep + $Sleep * $tries) * $tries / 2);
            warn "$name - Can't connect to $ServerAddr:$ServerPort: $err\n"
                . "\tRetry connecting after $wait sec\n" if $wait >= 0.6;
            sleep $wait;
            $waited += $wait;
            next;
        }
        my $msg = "$name - Can't connect to $ServerAddr:$ServerPort: $err "
                  . "(aborted)\n";
        bail_out($msg) if ++$ConnectFailures >= 3;
        Test::More::fail($msg);
        return undef;
    }
}

# Write the chunks (with raw_request_middle_delay between them) while reading
# whatever comes back, until nginx closes or nothing happens for $timeout.
sub send_request {
    my ($block, $chunks, $timeout) = @_;
    my $name = $block->name;
    my $sock = connect_server($name) or return undef;
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my @todo = @$chunks;
    my ($buf, $off, $resp) = (shift(@todo), 0, '');
    my $delay = $block->raw_request_middle_delay;
    my $sel = IO::Select->new($sock);
    my $writing = 1;

    while (1) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            Test::More::fail("ERROR: client socket timed out - $name\n")
                unless defined $block->abort;
            last;
        }
        if ($w && @$w) {
            my $n = syswrite $sock, $buf, length($buf) - $off, $off;
            if (!defined $n) {
                next if $! == EAGAIN;
                warn "write failed: $!\n";
                $resp = "write failed: $!" if $resp eq '';
                last;
            }
            $off += $n;
            if ($off >= length $buf) {
                if (@todo) {
                    ($buf, $off) = (shift(@todo), 0);
                    sleep $delay if $delay;
                } else {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        shutdown $sock, $how =~ /^\s*$/ ? 1 : $how;
                    }
                }
            }
        }
        if ($r && @$r) {
            my $n = sysread $sock, my $data, 65536;
            if (!defined $n) {
                next if $! == EAGAIN;
                warn "WARNING: $name - HTTP response read failure: $!";
                last;
            }
            last if $n == 0;
            $resp .= $data;
        }
    }
    close $sock;
    return $resp;
}

# ---------------------------------------------------------------------------
# Parsing responses.  A response is { code, headers => [[k, v], ...], content }.

sub res_header {
    my ($res, $key) = @_;
    return undef unless $res;
    (my $want = lc $key) =~ tr/_/-/;
    my @v = map { $_->[1] } grep { (my $k = lc $_->[0]) =~ tr/_/-/; $k eq $want }
            @{ $res->{headers} };
    return @v ? join(', ', @v) : undef;
}

# Returns ($res, $raw_headers, $bytes_left_after_this_response).
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';

    my $rest = $raw;
    my $status = $rest =~ s/^(.*)\n// ? $1 : do { my $s = $rest; $rest = ''; $s };
    $status =~ s/\r\z//;
    my @f = $status =~ /^\d{3} / ? split(' ', $status, 2) : split(' ', $status, 3);
    my $code = $status =~ /^\d{3} / ? $f[0] : $f[1];
    $code = undef unless defined $code && $code =~ /^\d+$/;

    my @headers;
    while (1) {
        if ($rest =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @headers, [$1, $2];
            $headers[-1][1] =~ s/\r\z//;
        } elsif (@headers && $rest =~ s/^([ \t].*)\n?//) {
            $headers[-1][1] .= "\n$1";
            $headers[-1][1] =~ s/\r\z//;
        } else {
            $rest =~ s/^\r?\n//;
            last;
        }
    }
    my $res = { code => $code, headers => \@headers, content => $rest };
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $enc = res_header($res, 'Transfer-Encoding');
    my $len = res_header($res, 'Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my ($body, $pos) = ('', 0);
        while (1) {
            pos($rest) = $pos;
            if ($rest =~ /\G0[ \t]*\r\n(?:[^\r\n]+\r\n)*\r\n/gc) {   # last chunk
                $left = substr $rest, pos($rest) if pos($rest) < length $rest;
                last;
            }
            if ($rest =~ /\G[ \t]*([A-Fa-f0-9]+)[^\r\n]*\r\n/gc) {
                my $size = hex $1;
                my $at = pos($rest);
                if (length($rest) - $at < $size + 2
                    || substr($rest, $at + $size, 2) ne "\r\n")
                {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enough octets or no CRLF)");
                    return;
                }
                $body .= substr $rest, $at, $size;
                $pos = $at + $size + 2;
                next;
            }
            Test::More::fail("$name - no last chunk found - "
                             . substr($rest, $pos));
            return;
        }
        $res->{content} = $body;
    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $rest < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got ", length $rest, "\n" unless $head_req;
        } elsif (length $rest > $len) {
            $left = substr $rest, $len;
            $res->{content} = substr $rest, 0, $len;
        }
    }
    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# Requests and checks for one block

# A single expected value, or the $idx-th one when several requests are made.
sub indexed {
    my ($name, $value, $idx, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.")
            if !$need_array && $idx != 0;
        return $value->[$idx];
    }
    bail_out("$name - You asked for many requests, the expected results "
             . "should be arrays as well.") if $need_array;
    return $value;
}

sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my @reqs = requests_of($block);
    my $timeout = parse_time(scalar($block->timeout)) // $Timeout;
    my $pipelined = $block->pipelined_requests;
    my $need_array = $pipelined ? 1 : @reqs > 1;

    my $idx = 0;
    for my $r (0 .. $#reqs) {
        my $chunks = $reqs[$r];
        my $is_head = join('', @$chunks) =~ /^\s*HEAD\s+/ ? 1 : 0;
        my $raw = send_request($block, $chunks, $timeout) // '';
        # pipelined responses arrive on one connection: peel them one by one
        my $n = $pipelined ? scalar @$pipelined : 0;
        while (1) {
            my $left;
            if (!defined $block->ignore_response) {
                my ($res, $raw_headers);
                ($res, $raw_headers, $left) = parse_response($name, $raw, $is_head);
                if (!$n && defined $left) {
                    $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"$left\"\n";
                }
                check_response($block, $res, $raw_headers // '', $idx,
                               $need_array, $rep);
            }
            $n-- if $n;
            my $more = $n || $r < $#reqs;
            if ($more) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $rep);
            }
            $idx++;
            last unless $n;
            $raw = $left // '';
        }
    }
    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
}

sub check_response {
    my ($block, $res, $raw_headers, $idx, $need_array, $rep) = @_;
    my $name = $block->name;
    my $code = ($res && $res->{code}) || '';

    if (defined $block->error_code_like) {
        my $pat = indexed($name, scalar($block->error_code_like), $idx, $need_array);
        Test::More::like($code, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        is($code, indexed($name, scalar($block->error_code), $idx, $need_array),
           "$name - status code ok");
    } else {
        is($code, 200, "$name - status code ok");
    }

    if (defined $block->raw_response_headers_like) {
        my $pat = indexed($name, scalar($block->raw_response_headers_like), $idx, $need_array);
        Test::More::like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = indexed($name, scalar($block->raw_response_headers_unlike), $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
    }

    if (defined $block->response_headers) {
        for my $h (expected_headers(indexed($name, scalar($block->response_headers),
                                            $idx, $need_array)))
        {
            my ($key, $val) = @$h;
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort(?:ForClient)?\b/$ServerPort/g;
            is(res_header($res, $key) // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        for my $h (expected_headers(indexed($name, scalar($block->response_headers_like),
                                            $idx, $need_array)))
        {
            my ($key, $val) = @$h;
            Test::More::like(res_header($res, $key) // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }

    my $content = $res ? $res->{content} : undef;
    if (defined $block->response_body) {
        my $expected = indexed($name, scalar($block->response_body), $idx, $need_array);
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort(?:ForClient)?\b/$ServerPort/g;
            $expected = expand_env($expected, $name);
        }
        if (ref $expected) {
            Test::More::like($content, $expected, "$name - response_body - like "
                             . "(repeated req $rep, req $idx)");
        } else {
            is($content, $expected, "$name - response_body - response is "
               . "expected (repeated req $rep, req $idx)");
        }
    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;
        my $pat = indexed($name, $like ? scalar($block->response_body_like)
                                        : scalar($block->response_body_unlike),
                          $idx, $need_array);
        $pat =~ s/\$ServerPort(?:ForClient)?\b/$ServerPort/g;
        my $summary = $content // '';
        $summary =~ s/^\s+|\s+$//g;
        $summary =~ s/\n/ /g;
        $summary =~ s/\s{2,}/ /g;
        my $type = $like ? 'like' : 'unlike';
        my $check = $like ? \&Test::More::like : \&Test::More::unlike;
        $check->($content, qr/$pat/s,
                 "$name - response_body_$type - response is expected ($summary)");
    }
}

# "Name: value" lines, or "!Name" for a header that must be absent.  Like the
# real one a repeated name counts once (last wins), in first-seen order.
sub expected_headers {
    my ($text) = @_;
    my (%h, @order);
    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        my ($key, $val);
        if ($line =~ s/^!\s*//) {
            $key = $line;
        } else {
            ($key, $val) = split /\s*:\s*/, $line, 2;
            $key = '' unless defined $key;
        }
        push @order, $key unless exists $h{$key};
        $h{$key} = $val;
    }
    return map { [$_, $h{$_}] } @order;
}

# The error log lines written since the previous read in this block.
sub error_log_data {
    sleep $Sleep * 3;    # logging can happen after the response is sent
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub patterns_of {
    my ($pats) = @_;
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats] if ref $pats eq 'ARRAY';
    chomp(my $text = $pats);
    return [split /\n+/, $text];
}

sub line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ /$pat/ : index($line, $pat) >= 0;
}

sub check_error_log {
    my ($block, $rep, $extra_lines) = @_;
    my $name = $block->name;
    my $log = error_log_data();
    my $lines = $extra_lines ? [@$log, @$extra_lines] : $log;
    my %mentioned;

    my $grep_pat = $block->grep_error_log;
    $grep_pat = $grep_pat->[$rep] if ref $grep_pat eq 'ARRAY';
    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- "
                 . "grep_error_log is defined") unless defined $expected;
        $expected = expand_env($expected, $name);
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
        my $matched = '';
        for my $line (@$lines) {
            my $hit = ref $grep_pat ? ($line =~ /$grep_pat/ ? $& : undef)
                    : ($line =~ /\Q$grep_pat\E/ ? $& : undef);
            $matched .= "$hit\n" if defined $hit && $hit !~ /\n/;
        }
        is_str($matched, $expected, "$name - grep_error_log_out (req $rep)");
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- "
                 . "grep_error_log_out is defined");
    }

    if (defined(my $pats = $block->error_log)) {
        $pats = patterns_of($pats);
        $mentioned{$_}++ for map { ref $_ ? () : /\[(alert|crit|emerg)/g }
                                 grep { defined } @$pats;
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat && line_matches($line, $pat);
                Test::More::pass("$name - pattern \"$pat\" matches a line in "
                                 . "error.log (req $rep)");
                undef $pat;
            }
        }
        Test::More::fail("$name - pattern \"$_\" should match a line in "
                         . "error.log (req $rep)") for grep { defined } @$pats;
    }

    if (defined(my $pats = $block->no_error_log)) {
        $pats = patterns_of($pats);
        $mentioned{$_}++ for map { ref $_ ? () : /\[(alert|crit|emerg)/g }
                                 grep { defined } @$pats;
        my %found;
        for my $i (0 .. $#$lines) {
            for my $pat (grep { defined } @$pats) {
                next unless line_matches($lines->[$i], $pat);
                $found{$pat} = 1;
                my @ctx = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in error.log but matches "
                    . "line \"" . fmt_str($lines->[$i]) . "\" (req $rep)\n"
                    . join '', @ctx);
            }
        }
        for my $pat (grep { defined && !$found{$_} } @$pats) {
            Test::More::pass("$name - pattern \"" . fmt_str($pat) . "\" does "
                             . "not match a line in error.log (req $rep)");
        }
    }

    # like the real one: surface serious errors nobody asked about
    for my $level (qw(alert crit emerg)) {
        next if $mentioned{$level};
        warn "WARNING: $name - " . fmt_str($_) . "\n"
            for grep { /\[$level\]/ } @$log;
    }
    for my $line (@$lines) {
        next unless $line =~ /\bAssertion .*?failed\b/;
        chomp(my $l = $line);
        Test::More::fail("$name - $l\n");
    }
}

1;
