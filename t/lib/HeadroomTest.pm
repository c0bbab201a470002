package HeadroomTest;

# A small data-driven harness in the style of Test::Nginx (not packaged in
# Debian): each block of a .t file's __DATA__ starts the real nginx with the
# built module and a recording upstream, sends a request, and checks what
# the upstream received byte for byte, the client's response and the error
# log.
#
# run_blocks(blocks => [...]) takes blocks built in Perl instead, as hashes
# of the same sections.
#
# Block sections (`--- name`; `--- name eval` evaluates the text as Perl):
#   main_config, http_config, config   nginx.conf pieces; config goes in the
#                                      server{} (default: headroom on in
#                                      /v1/ before the recorder);
#                                      $TEST_UPSTREAM is its host:port
#   request          "METHOD URI" (default "POST /v1/chat/completions")
#   request_headers  extra header lines (Content-Type defaults to JSON)
#   request_body     the body bytes
#   client           plain | chunked | expect | http2 | http2_unknown_length
#                    | keepalive N | slow
#   response_status  expected status (default 200)
#   response_headers_like / response_body_like   regexes, one a line, on
#                    each response's head / body (the recorder answers
#                    ?alt=sse requests with Gemini's SSE frames)
#   upstream_body    exact bytes the upstream must receive (each request)
#   upstream_body_unchanged   the upstream must receive request_body as is
#   upstream_check   (eval) a sub given each body the upstream received;
#                    it returns true when the body is right
#   upstream_requests         how many requests the upstream must see
#   upstream_headers_like     regexes, one a line, on the upstream's headers
#   upstream_headers_unlike   likewise, none of which may match
#   conf_links       "NAME TARGET" lines: symlinks made in the prefix's conf/
#                    (TARGET relative to the repository)
#   error_log / no_error_log  substrings, one a line, in the error log
#   config_error     nginx -t must fail with this substring on stderr
#
# HEADROOM_VALGRIND=DIR runs each nginx as one process (master_process off)
# under valgrind's memcheck, its report in DIR (t/valgrind/run reads them);
# timeouts grow tenfold; HEADROOM_VALGRIND_SUPP holds its suppression files,
# separated by ':'. HEADROOM_PCRE_JIT=off adds headroom_pcre_jit off.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep);

our @EXPORT = qw(run_blocks blocks json_string);
our @EXPORT_OK = qw(start_recorder start_server recorded free_port read_message
                    alive write_all http_paths);

my $ROOT   = abs_path(dirname(__FILE__) . '/../..');
my $MODULE = "$ROOT/build/ngx_http_headroom_module.so";
my $NGINX  = $ENV{HEADROOM_NGINX} // '/usr/sbin/nginx';

my $CRLF = "\r\n";

our $VALGRIND = $ENV{HEADROOM_VALGRIND};
our $SLOW     = $VALGRIND ? 10 : 1;
my %CHILD;    # prefix => pid of nginx under valgrind
# what its reports are named after: the test file
my $TEST = ($0 =~ m{([^/]+)\.t$})[0] // 'test';

# A peer that stops reading must fail a write, not kill the test.
$SIG{PIPE} = 'IGNORE';

# --- blocks ---------------------------------------------------------------

sub blocks {
    my $data = do { no warnings 'once'; local $/; my $fh = \*main::DATA; <$fh> };
    my @blocks;
    for my $chunk (split /^=== /m, $data) {
        next unless $chunk =~ /\S/;
        my ($name, $rest) = split /\n/, $chunk, 2;
        my %b = (name => $name);
        my @parts = split /^--- /m, $rest // '';
        shift @parts;
        for my $part (@parts) {
            my ($head, $text) = split /\n/, $part, 2;
            $text //= '';
            $text =~ s/\n+\z//;
            my ($key, @mods) = split ' ', $head;
            if (grep { $_ eq 'eval' } @mods) {
                my $v = eval "package main; $text";
                die "block '$name', section $key: $@" if $@;
                $text = $v;
            }
            $b{$key} = $text;
        }
        push @blocks, \%b;
    }
    return @blocks;
}

# A Perl string as a JSON string literal (JSON::PP, compact).
sub json_string {
    require JSON::PP;
    return JSON::PP->new->allow_nonref->encode($_[0]);
}

# --- the recording upstream -------------------------------------------------

sub read_exactly {
    my ($sock, $n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $got = sysread($sock, $buf, $n - length($buf), length($buf));
        return undef unless $got;
    }
    return $buf;
}

sub read_line {
    my ($sock) = @_;
    my $line = '';
    while ($line !~ /\n\z/) {
        my $got = sysread($sock, my $c, 1);
        return undef unless $got;
        $line .= $c;
    }
    return $line;
}

# Reads one HTTP/1.x message head and body; returns (head, body) or ().
sub read_message {
    my ($sock, $is_response) = @_;
    my $head = '';
    while ($head !~ /\r\n\r\n\z/) {
        my $line = read_line($sock);
        return () unless defined $line;
        $head .= $line;
    }
    my $body = '';
    if ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        while (1) {
            my $size_line = read_line($sock) // return ();
            my $size = hex($size_line =~ s/[;\r\n].*//sr);   # no extension, no CRLF
            if ($size == 0) {
                while (defined(my $l = read_line($sock))) { last if $l eq $CRLF }
                last;
            }
            $body .= read_exactly($sock, $size) // return ();
            read_exactly($sock, 2);
        }
    } elsif ($head =~ /^Content-Length:\s*(\d+)/mi) {
        $body = $1 > 0 ? (read_exactly($sock, $1) // return ()) : '';
    } elsif ($is_response && $head !~ /^HTTP\/1\.1 (1\d\d|204|304)/) {
        while (sysread($sock, my $buf, 65536)) { $body .= $buf }
    }
    return ($head, $body);
}

sub start_recorder {
    my ($dir) = @_;
    return start_server('recorder', sub { serve_connection($_[0], $dir) });
}

# A loopback server in a process of its own, which ends with the test:
# $serve->($connection, $n) runs in a process per connection (keepalive
# connections from several workers are served at once). Returns ($pid,
# $port).
sub start_server {
    my ($name, $serve) = @_;
    my $srv = IO::Socket::INET->new(
        Listen => 64, LocalAddr => '127.0.0.1', LocalPort => 0,
        Proto => 'tcp', ReuseAddr => 1,
    ) or die "$name: $!";
    my $port = $srv->sockport;
    my $parent = $$;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        # prove waits for EOF on the test's stdout: do not hold it
        open STDOUT, '>', '/dev/null';
        local $SIG{CHLD} = 'IGNORE';
        my $sel = IO::Select->new($srv);
        my $n = 0;
        while (1) {
            POSIX::_exit(0) if getppid() != $parent;
            next unless $sel->can_read(0.5);
            my $c = $srv->accept or next;
            $n++;
            my $child = fork;
            if (defined $child && $child == 0) {
                close $srv;
                $serve->($c, $n);
                POSIX::_exit(0);
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    close $srv;
    return ($pid, $port);
}

sub serve_connection {
    my ($c, $dir) = @_;
    my $n = 0;
    local $SIG{ALRM} = sub { die "timeout\n" };
    eval {
        while (1) {
            alarm 10 * $SLOW;
            my ($head, $body) = read_message($c, 0);
            alarm 0;
            last unless defined $head;
            # named by arrival time, so that recorded() lists them in order
            my $file = sprintf "%s/%017.6f-%d-%d", $dir, Time::HiRes::time(), $$, ++$n;
            open my $fh, '>:raw', "$file.tmp" or die;
            print $fh $head, $body;
            close $fh;
            rename "$file.tmp", "$file.req";
            my $resp = qq({"id":"resp-$$-$n","object":"recorded"});
            my $type = 'application/json';
            # A streaming Gemini call (?alt=sse) is answered as Google does:
            # "data: {GenerateContentResponse}" frames, no event lines.
            if ($head =~ /^POST \S*[?&]alt=sse/) {
                $type = 'text/event-stream';
                $resp = join '', map {
                    qq(data: {"candidates":[{"content":{"role":"model","parts":[{"text":"$_"}]}}]}\r\n\r\n)
                } 'recorded ', "$$-$n";
            }
            my $close = $head =~ /^Connection:\s*close/mi;
            syswrite $c, "HTTP/1.1 200 OK$CRLF"
                . "Content-Type: $type$CRLF"
                . "X-Upstream-Received: " . length($body) . $CRLF
                . "Content-Length: " . length($resp) . $CRLF
                . ($close ? "Connection: close$CRLF" : '')
                . $CRLF . $resp;
            last if $close;
        }
    };
    alarm 0;
    close $c;
}

# Takes the requests the recorder saw since the last call, as [head, body]
# pairs in arrival order.
sub recorded {
    my ($dir) = @_;
    my @out;
    for my $f (sort glob("$dir/*.req")) {
        open my $fh, '<:raw', $f or die;
        local $/;
        my $raw = <$fh>;
        close $fh;
        my ($head, $body) = split /\r\n\r\n/, $raw, 2;
        push @out, [$head, $body];
        unlink $f;
    }
    return @out;
}

# --- nginx ------------------------------------------------------------------

# A port nothing listens on, never one this process was given before (the
# kernel may hand the same one out twice in a row).
my %GIVEN;

sub free_port {
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(
            Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1,
        ) or die "free port: $!";
        my $p = $s->sockport;
        close $s;
        return $p unless $GIVEN{$p}++;
    }
    die 'free port: none new';
}

# The http{} lines that keep an nginx's logs and temporary files in $dir.
sub http_paths {
    my ($dir) = @_;
    return ("    access_log $dir/logs/access.log;",
            map { "    ${_}_temp_path $dir/tmp/" . ($_ eq 'client_body' ? 'body' : $_) . ';' }
                qw(client_body proxy fastcgi uwsgi scgi));
}

sub write_conf {
    my ($dir, $b, $ports) = @_;
    my $subst = sub {
        my $t = shift // '';
        $t =~ s/\$TEST_UPSTREAM\b/127.0.0.1:$ports->{upstream}/g;
        return $t;
    };
    make_path("$dir/conf", "$dir/logs", "$dir/tmp");
    for my $l (lines_of($b->{conf_links})) {
        my ($name, $target) = split ' ', $l;
        symlink "$ROOT/$target", "$dir/conf/$name" or die "symlink $name: $!";
    }
    # workers run as nobody when the tests run as root
    chmod 0777, "$dir/tmp";
    my $conf = join "\n",
        "load_module $MODULE;",
        # under valgrind the command line says daemon off, master_process off
        ($VALGRIND ? () : ("daemon on;", "master_process on;")),
        "pid $dir/logs/nginx.pid;",
        "error_log $dir/logs/error.log info;",
        $subst->($b->{main_config}),
        "events { worker_connections 128; }",
        "http {",
        http_paths($dir),
        (($ENV{HEADROOM_PCRE_JIT} // '') eq 'off'
            && ($b->{http_config} // '') !~ /headroom_pcre_jit/
            ? "    headroom_pcre_jit off;" : ()),
        $subst->($b->{http_config}),
        "    server {",
        "        listen 127.0.0.1:$ports->{http};",
        "        listen 127.0.0.1:$ports->{h2} http2;",
        $subst->($b->{config}),
        "    }",
        "}", "";
    open my $fh, '>', "$dir/conf/nginx.conf" or die;
    print $fh $conf;
    close $fh;
}

sub nginx_cmd {
    my ($dir, @args) = @_;
    my $out = `$NGINX -p $dir/ -c $dir/conf/nginx.conf @args 2>&1`;
    return ($? >> 8, $out);
}

sub start_nginx {
    my ($dir, $ports) = @_;
    if ($VALGRIND) {
        valgrind_nginx($dir);
    } else {
        my ($rc, $out) = nginx_cmd($dir);
        die "nginx failed to start: $out" if $rc != 0;
    }
    for (1 .. 200 * $SLOW) {
        die "nginx under valgrind exited: " . `cat $dir/logs/valgrind.out`
            if $VALGRIND && waitpid($CHILD{$dir}, WNOHANG) > 0;
        # nginx writes its pid once it listens: until then, whoever answers
        # on the port is somebody else
        if (!$VALGRIND || -s "$dir/logs/nginx.pid") {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ports->{http}");
            if ($s) { close $s; return }
        }
        sleep 0.02;
    }
    die "nginx did not listen on $ports->{http}";
}

# nginx in the foreground, one process, under memcheck: every error, and
# definite leaks, reported in $VALGRIND/<test>-<pid>.log.
sub valgrind_nginx {
    my ($dir) = @_;
    make_path($VALGRIND);
    my @supp = map { "--suppressions=$_" } grep { length } split /:/,
        $ENV{HEADROOM_VALGRIND_SUPP} // '';
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/logs/valgrind.out" or die;
        open STDERR, '>&', \*STDOUT or die;
        no warnings 'exec';
        exec { 'valgrind' } 'valgrind', '--tool=memcheck', '--leak-check=full',
            '--show-leak-kinds=definite', '--errors-for-leak-kinds=none',
            '--num-callers=40', '--child-silent-after-fork=yes', @supp,
            "--log-file=$VALGRIND/$TEST-%p.log",
            $NGINX, '-p', "$dir/", '-c', "$dir/conf/nginx.conf",
            '-g', 'daemon off; master_process off;';
        POSIX::_exit(127);
    }
    $CHILD{$dir} = $pid;
}

# nginx under valgrind outlives a test that died: stop it
END { kill 'KILL', $_ for values %CHILD }

sub stop_nginx {
    my ($dir) = @_;
    if (my $pid = delete $CHILD{$dir}) {
        # a graceful stop, then memcheck's leak check: wait for both, and
        # leave how it ended beside its report for t/valgrind/run
        kill 'QUIT', $pid;
        my $done = 0;
        for (1 .. 6000) {
            last if $done = waitpid($pid, WNOHANG) > 0;
            sleep 0.02;
        }
        if (!$done) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
        }
        open my $fh, '>', "$VALGRIND/$TEST-$pid.exit" or die;
        print $fh "$?\n";
        close $fh;
        return;
    }
    open my $fh, '<', "$dir/logs/nginx.pid" or return;
    chomp(my $pid = <$fh>);
    close $fh;
    kill 'QUIT', $pid;
    for (1 .. 500) {
        return unless alive($pid);
        sleep 0.01;
    }
    kill 'KILL', $pid;
}

# The daemonized master is nobody's child here: once it exits it may stay a
# zombie until init reaps it, so a zombie counts as stopped.
sub alive {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    close $fh;
    return $stat !~ /^\d+ \(.*\) Z/;
}

# --- clients ----------------------------------------------------------------

sub connect_nginx {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "connect: $!";
    binmode $s;
    return $s;
}

sub request_head {
    my ($b, $extra) = @_;
    my ($method, $uri) = split ' ', ($b->{request} // 'POST /v1/chat/completions');
    my $headers = $b->{request_headers} // '';
    my $head = "$method $uri HTTP/1.1$CRLF" . "Host: localhost$CRLF";
    $head .= "Content-Type: application/json$CRLF"
        unless $headers =~ /^Content-Type:/mi;
    for my $l (split /\n/, $headers) {
        $head .= "$l$CRLF" if length $l;
    }
    $head .= $extra // '';
    return $head;
}

sub parse_response {
    my ($head, $body) = @_;
    my ($status) = $head =~ /^HTTP\/\d\.\d (\d+)/;
    return { status => $status, head => $head, body => $body };
}

sub send_http1 {
    my ($b, $ports, $mode) = @_;
    my $body = $b->{request_body} // '';
    my $s = connect_nginx($ports->{http});
    local $SIG{ALRM} = sub { die "client timeout\n" };
    alarm 20 * $SLOW;
    my @responses;

    if ($mode eq 'chunked') {
        syswrite $s, request_head($b, "Transfer-Encoding: chunked$CRLF$CRLF");
        my $chunk = 7919;    # odd sizes cross buffer edges
        for (my $off = 0; $off < length $body; $off += $chunk) {
            my $piece = substr($body, $off, $chunk);
            syswrite $s, sprintf("%x", length $piece) . $CRLF . $piece . $CRLF;
        }
        syswrite $s, "0$CRLF$CRLF";
        push @responses, parse_response(read_message($s, 1));

    } elsif ($mode eq 'expect') {
        syswrite $s, request_head($b, "Content-Length: " . length($body)
                                     . $CRLF . "Expect: 100-continue$CRLF$CRLF");
        my ($interim) = read_message($s, 1);
        die "no 100 Continue: " . ($interim // 'EOF')
            unless defined $interim && $interim =~ /^HTTP\/1\.1 100/;
        write_all($s, $body);
        push @responses, parse_response(read_message($s, 1));

    } elsif ($mode eq 'slow') {
        syswrite $s, request_head($b, "Content-Length: " . length($body)
                                     . "$CRLF$CRLF");
        my $third = int(length($body) / 3) + 1;
        for (my $off = 0; $off < length $body; $off += $third) {
            sleep 0.05;
            write_all($s, substr($body, $off, $third));
        }
        push @responses, parse_response(read_message($s, 1));

    } else {
        my $n = $mode =~ /^keepalive (\d+)/ ? $1 : 1;
        for my $i (1 .. $n) {
            write_all($s, request_head($b, "Content-Length: " . length($body)
                                          . "$CRLF$CRLF") . $body);
            push @responses, parse_response(read_message($s, 1));
        }
    }
    alarm 0;
    close $s;
    return @responses;
}

# Stops quietly when nginx closes early (a 413, say): the response that
# follows tells the story.
sub write_all {
    my ($s, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($s, $data, length($data) - $off, $off);
        return unless defined $n;
        $off += $n;
    }
}

sub send_http2 {
    my ($b, $ports, $dir, $mode) = @_;
    my ($method, $uri) = split ' ', ($b->{request} // 'POST /v1/chat/completions');
    my $file = "$dir/tmp/request-body";
    open my $fh, '>:raw', $file or die;
    print $fh $b->{request_body} // '';
    close $fh;
    my @h = ('-H', 'Content-Type: application/json');
    for my $l (split /\n/, $b->{request_headers} // '') {
        @h = () if $l =~ /^Content-Type:/i;
    }
    push @h, map { ('-H', $_) } grep { length } split /\n/, $b->{request_headers} // '';
    my @data = $mode eq 'http2_unknown_length'
        ? ('-T', '-')              # streamed from stdin: no content-length
        : ('--data-binary', "\@$file");
    my @cmd = ('curl', '-sS', '--http2-prior-knowledge', '-X', $method, @h,
               @data, '-D', "$dir/tmp/resp-head", '-o', "$dir/tmp/resp-body",
               "http://127.0.0.1:$ports->{h2}$uri");
    if ($mode eq 'http2_unknown_length') {
        open my $pipe, '|-', @cmd or die "curl: $!";
        binmode $pipe;
        print $pipe $b->{request_body} // '';
        close $pipe or die "curl failed: $?";
    } else {
        system(@cmd) == 0 or die "curl failed: $?";
    }
    my $head = do { local $/; open my $f, '<', "$dir/tmp/resp-head" or die; <$f> };
    my $body = do { local $/; open my $f, '<:raw', "$dir/tmp/resp-body" or die; <$f> };
    my ($status) = $head =~ /^HTTP\/2 (\d+)/;
    return ({ status => $status, head => $head, body => $body });
}

# --- running ----------------------------------------------------------------

# The config of blocks that have none: headroom on in front of the
# recorder. run_blocks(default_config => TEXT) replaces it;
# run_blocks(http_config => TEXT) goes before every block's http_config.
my $DEFAULT_CONFIG = <<'CONFIG';
location /v1/ {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
CONFIG

sub run_blocks {
    my (%opts) = @_;
    my @blocks = $opts{blocks} ? @{ $opts{blocks} } : blocks();
    for my $b (@blocks) {
        $b->{config} //= $opts{default_config} // $DEFAULT_CONFIG;
        $b->{http_config} = join "\n", grep { defined }
            $opts{http_config}, $b->{http_config};
    }
    my $top = tempdir('headroom-t-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
    chmod 0755, $top;
    my $updir = "$top/upstream";
    make_path($updir);
    my ($rec_pid, $rec_port) = start_recorder($updir);

    my $i = 0;
    for my $b (@blocks) {
        $i++;
        my $dir = "$top/block$i";
        my $ports = { http => free_port(), h2 => free_port(), upstream => $rec_port };
        write_conf($dir, $b, $ports);
        subtest $b->{name} => sub { run_block($b, $dir, $ports, $updir) };
    }

    kill 'TERM', $rec_pid;
    waitpid $rec_pid, 0;
    done_testing();
}

sub lines_of { grep { length } split /\n/, $_[0] // '' }

sub run_block {
    my ($b, $dir, $ports, $updir) = @_;

    if (defined $b->{config_error}) {
        my ($rc, $out) = nginx_cmd($dir, '-t');
        isnt $rc, 0, 'nginx -t fails';
        like $out, qr/\Q$b->{config_error}\E/, 'nginx -t names the problem';
        return;
    }

    recorded($updir);    # forget leftovers
    start_nginx($dir, $ports);
    my @responses = eval {
        my $mode = $b->{client} // 'plain';
        $mode =~ /^http2/ ? send_http2($b, $ports, $dir, $mode)
                          : send_http1($b, $ports, $mode);
    };
    my $err = $@;
    sleep 0.05;
    stop_nginx($dir);
    is $err, '', 'the client got its responses';

    my $want_status = $b->{response_status} // 200;
    for my $r (@responses) {
        is $r->{status}, $want_status, "response status $want_status";
        for my $re (lines_of($b->{response_headers_like})) {
            like $r->{head}, qr/$re/m, "response header matches /$re/";
        }
        for my $re (lines_of($b->{response_body_like})) {
            like $r->{body}, qr/$re/m, "response body matches /$re/";
        }
    }

    my @got = recorded($updir);
    my $want_n = $b->{upstream_requests}
        // ($want_status == 200 ? scalar(@responses) : undef);
    is scalar(@got), $want_n, "upstream saw $want_n request(s)"
        if defined $want_n;

    my $want_body = exists $b->{upstream_body} ? $b->{upstream_body}
                  : exists $b->{upstream_body_unchanged} ? ($b->{request_body} // '')
                  : undef;
    for my $g (@got) {
        my ($head, $body) = @$g;
        my ($cl) = $head =~ /^Content-Length:\s*(\d+)/mi;
        is $cl, length($body), 'upstream Content-Length matches the bytes sent';
        unlike $head, qr/^Transfer-Encoding:/mi, 'upstream body is not chunked';
        if (defined $want_body) {
            ok $body eq $want_body, 'upstream received the expected bytes'
                or diag_diff($body, $want_body);
        }
        if (ref $b->{upstream_check} eq 'CODE') {
            ok $b->{upstream_check}->($body), 'upstream_check holds';
        }
        for my $re (lines_of($b->{upstream_headers_like})) {
            like $head, qr/$re/m, "upstream header matches /$re/";
        }
        for my $re (lines_of($b->{upstream_headers_unlike})) {
            unlike $head, qr/$re/m, "no upstream header matches /$re/";
        }
    }

    my $log = do {
        local $/;
        open my $fh, '<', "$dir/logs/error.log" or die;
        <$fh>;
    };
    for my $s (lines_of($b->{error_log})) {
        ok index($log, $s) >= 0, "error log has: $s" or diag($log);
    }
    for my $s (lines_of($b->{no_error_log})) {
        ok index($log, $s) < 0, "error log lacks: $s";
    }
    for my $bad ('[alert]', '[emerg]', '[crit]', 'exited on signal') {
        ok index($log, $bad) < 0, "no $bad in the error log"
            or diag(join "\n", grep { /\Q$bad\E/ } split /\n/, $log);
    }
}

sub diag_diff {
    my ($got, $want) = @_;
    my $at = 0;
    $at++ while $at < length($got) && $at < length($want)
        && substr($got, $at, 1) eq substr($want, $at, 1);
    diag sprintf "lengths got %d want %d; first difference at byte %d\n"
        . "got:  %s\nwant: %s", length $got, length $want, $at,
        substr($got, $at > 40 ? $at - 40 : 0, 120),
        substr($want, $at > 40 ? $at - 40 : 0, 120);
}

1;
