package Transport;

# Helpers for tests that need more than one request per nginx, several
# recorders, or clients that misbehave: a gateway started from a config of
# the test's own (with the built module loaded first), a raw HTTP/1.1
# client that can stall or hang up mid-body, the status zone's JSON, and
# the error log's bad lines. The recorder is HeadroomTest's.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);
use HeadroomTest qw(free_port read_message write_all alive start_server http_paths);

our @EXPORT = qw(start_gateway stop_gateway gateway_log http_request
                 send_partial status_json bad_log_lines slurp lua_modules
                 start_wire_recorder wire_recorded nginx_t);

my $ROOT   = abs_path(dirname(__FILE__) . '/../..');
my $MODULE = "$ROOT/build/ngx_http_headroom_module.so";
my $NGINX  = $ENV{HEADROOM_NGINX} // '/usr/sbin/nginx';
my $CRLF   = "\r\n";

$SIG{PIPE} = 'IGNORE';

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return '';
    local $/;
    return <$fh> // '';
}

# The load_module lines for Debian's lua module (libnginx-mod-http-ndk,
# libnginx-mod-http-lua), or undef when they are not installed.
sub lua_modules {
    my $dir = '/usr/lib/nginx/modules';
    return undef unless -f "$dir/ndk_http_module.so" && -f "$dir/ngx_http_lua_module.so";
    return "load_module $dir/ndk_http_module.so;\nload_module $dir/ngx_http_lua_module.so;";
}

# start_gateway(config => SERVER_BODY, http_config => ..., main_config => ...,
#               workers => N): nginx with the module, listening on a plain
# and an h2c port. Returns { dir, port, h2 }.
sub start_gateway {
    my (%o) = @_;
    my $dir = tempdir('headroom-tr-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
    chmod 0755, $dir;
    make_path("$dir/conf", "$dir/logs", "$dir/tmp");
    chmod 0777, "$dir/tmp";
    my $gw = { dir => $dir, port => free_port(), h2 => free_port() };
    my $workers = $o{workers} // 1;
    my $conf = join "\n",
        "load_module $MODULE;",
        $o{main_config} // '',
        "worker_processes $workers;",
        "daemon on;",
        "master_process on;",
        "pid $dir/logs/nginx.pid;",
        "error_log $dir/logs/error.log info;",
        "events { worker_connections 512; }",
        "http {",
        http_paths($dir),
        $o{http_config} // '',
        "    server {",
        "        listen 127.0.0.1:$gw->{port};",
        "        listen 127.0.0.1:$gw->{h2} http2;",
        $o{config} // '',
        "    }",
        "}", "";
    open my $fh, '>', "$dir/conf/nginx.conf" or die;
    print $fh $conf;
    close $fh;
    my $out = `$NGINX -p $dir/ -c $dir/conf/nginx.conf 2>&1`;
    die "nginx failed to start: $out" if $?;
    for (1 .. 250) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw->{port}");
        if ($s) { close $s; return $gw }
        sleep 0.02;
    }
    die "nginx did not listen on $gw->{port}";
}

# Stops nginx gracefully (QUIT: it waits for mirror subrequests and
# upstream requests in flight); returns the error log.
sub stop_gateway {
    my ($gw) = @_;
    my $pid = slurp("$gw->{dir}/logs/nginx.pid");
    chomp $pid;
    if ($pid) {
        kill 'QUIT', $pid;
        for (1 .. 1000) {
            last unless alive($pid);
            sleep 0.01;
        }
        kill 'KILL', $pid if alive($pid);
    }
    return gateway_log($gw);
}

sub gateway_log { slurp("$_[0]{dir}/logs/error.log") }

# nginx -t on a configuration with the module: nginx_t(main => TEXT,
# http => TEXT, location => TEXT) puts each where it says (the location in
# one server). Returns (exit status, what nginx said).
sub nginx_t {
    my (%o) = @_;
    my $d = tempdir('headroom-t-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
    mkdir "$d/logs";
    open my $fh, '>', "$d/nginx.conf" or die;
    print $fh "load_module $MODULE;\n" . ($o{main} // '') . "\n"
        . "error_log $d/logs/error.log;\npid $d/nginx.pid;\nevents {}\n"
        . "http { access_log off; " . ($o{http} // '') . "\n"
        . "server { listen 127.0.0.1:" . free_port() . "; location / { " . ($o{location} // '') . " } } }\n";
    close $fh;
    my $out = `$NGINX -t -p $d/ -c $d/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

# The lines that must never be there, in a log's text or in a gateway's
# error log (given the gateway).
sub bad_log_lines {
    my ($log) = @_;
    $log = gateway_log($log) if ref $log eq 'HASH';
    return grep { /(?:^|\s)\[(alert|crit|emerg)\]|exited on signal|exited with code [1-9]/ }
           split /\n/, $log;
}

# One HTTP/1.1 request on its own connection (Connection: close).
# http_request($port, method => 'POST', uri => ..., body => ...,
#              headers => [...], chunked => 1)
# Returns { status, head, headers => {lc name => value}, body }.
sub http_request {
    my ($port, %r) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "connect: $!";
    binmode $s;
    my $method = $r{method} // 'POST';
    my $uri = $r{uri} // '/v1/chat/completions';
    my $head = "$method $uri HTTP/1.1${CRLF}Host: localhost${CRLF}Connection: close$CRLF";
    my @h = @{ $r{headers} // [] };
    push @h, 'Content-Type: application/json' unless grep { /^Content-Type:/i } @h;
    $head .= "$_$CRLF" for @h;
    my $body = $r{body};
    local $SIG{ALRM} = sub { die "client timeout\n" };
    alarm($r{timeout} // 20);
    if (defined $body && $r{chunked}) {
        write_all($s, "${head}Transfer-Encoding: chunked$CRLF$CRLF");
        for (my $off = 0; $off < length $body; $off += 7919) {
            my $piece = substr($body, $off, 7919);
            write_all($s, sprintf("%x", length $piece) . $CRLF . $piece . $CRLF);
        }
        write_all($s, "0$CRLF$CRLF");
    } elsif (defined $body) {
        write_all($s, "${head}Content-Length: " . length($body) . "$CRLF$CRLF" . $body);
    } else {
        write_all($s, "$head$CRLF");
    }
    my ($h, $b) = read_message($s, 1);
    alarm 0;
    close $s;
    my %hdr;
    for (split /\r\n/, $h // '') { $hdr{lc $1} = $2 if /^([^:]+):\s*(.*)$/ }
    my ($status) = ($h // '') =~ /^HTTP\/1\.1 (\d+)/;
    return { status => $status, head => $h // '', headers => \%hdr, body => $b // '' };
}

# A request whose body never completes. send_partial($port, head => TEXT
# (the request line and headers, without the blank line), data => BYTES
# sent after it, then => 'close' | 'stall', pause => seconds before the
# close (0.1), wait => seconds to wait for nginx when stalling). Returns { response => what nginx sent back (may be
# ''), eof => nginx closed the connection, seconds => how long that took }.
sub send_partial {
    my ($port, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "connect: $!";
    binmode $s;
    write_all($s, $o{head} . $CRLF . $CRLF);
    write_all($s, $o{data});
    my $t0 = time;
    if (($o{then} // 'close') eq 'close') {
        # give nginx the bytes before the FIN
        sleep($o{pause} // 0.1);
        close $s;
        return { response => '', eof => 1, seconds => 0 };
    }
    my $sel = IO::Select->new($s);
    my $resp = '';
    my $eof = 0;
    my $deadline = $t0 + ($o{wait} // 5);
    while (time < $deadline) {
        next unless $sel->can_read($deadline - time);
        my $n = sysread($s, my $buf, 65536);
        if (!$n) { $eof = 1; last }
        $resp .= $buf;
    }
    my $took = time - $t0;
    close $s;
    return { response => $resp, eof => $eof, seconds => $took };
}

# An upstream that keeps every byte it is sent on a connection, not only
# the Content-Length the head declares: what a keepalive upstream would
# read as the start of the next request shows up here. It waits until
# the peer has been silent for $idle seconds, then answers 200 and closes.
# Returns ($pid, $port); wire_recorded($dir) gives [head, bytes after the
# head] pairs in arrival order.
sub start_wire_recorder {
    my ($dir, $idle) = @_;
    $idle //= 1;
    return start_server('wire recorder', sub {
        my ($c, $n) = @_;
        my $cs = IO::Select->new($c);
        my $all = '';
        while ($cs->can_read($idle)) {
            my $got = sysread($c, my $buf, 65536);
            last unless $got;
            $all .= $buf;
        }
        my $file = sprintf "%s/%017.6f-%d", $dir, time, $n;
        open my $fh, '>:raw', "$file.tmp" or die;
        print $fh $all;
        close $fh;
        rename "$file.tmp", "$file.wire";
        syswrite $c, "HTTP/1.1 200 OK${CRLF}Content-Type: application/json$CRLF"
            . "Content-Length: 2${CRLF}Connection: close$CRLF${CRLF}{}";
        close $c;
    });
}

sub wire_recorded {
    my ($dir) = @_;
    my @out;
    for my $f (sort glob("$dir/*.wire")) {
        my ($head, $rest) = split /\r\n\r\n/, slurp($f), 2;
        push @out, [$head // '', $rest // ''];
        unlink $f;
    }
    return @out;
}

sub status_json {
    my ($port, $uri) = @_;
    my $r = http_request($port, method => 'GET', uri => $uri // '/status');
    return eval { decode_json($r->{body}) } // { error => $r->{body} };
}

1;
