package Gateway;

# Starts the gateway `make run` starts (conf-examples/gateway.conf rendered
# by conf-examples/render-gateway) for a test, with the given environment.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use IO::Socket::INET;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);
use HeadroomTest qw(free_port read_message alive write_all start_recorder recorded);

our @EXPORT = qw(render_gateway start_gateway stop_gateway post_json
                 start_pair send_via stop_pair);

my $ROOT = abs_path('.');

# Renders into $prefix; returns (exit code, output).
sub render_gateway {
    my ($prefix, %env) = @_;
    # Providers a test does not call still need upstreams nginx resolves.
    %env = ((map { ("HEADROOM_${_}_UPSTREAM" => 'http://127.0.0.1:9') } qw(OPENAI ANTHROPIC GEMINI)),
            %env);
    local @ENV{keys %env} = values %env;
    my $out = `$ROOT/conf-examples/render-gateway $prefix $ROOT/build/ngx_http_headroom_module.so 2>&1`;
    return ($? >> 8, $out);
}

# Renders and starts a gateway on a free port; returns its handle.
sub start_gateway {
    my ($prefix, %env) = @_;
    my $port = free_port();
    my ($rc, $out) = render_gateway($prefix, HEADROOM_LISTEN => "127.0.0.1:$port", %env);
    die "render-gateway failed: $out" if $rc;
    system("/usr/sbin/nginx -p $prefix/ -c conf/nginx.conf >$prefix/nginx.out 2>&1") == 0
        or die 'gateway did not start: ' . `cat $prefix/nginx.out`;
    for (1 .. 200) {
        if (my $s = IO::Socket::INET->new("127.0.0.1:$port")) {
            close $s;
            return { prefix => $prefix, port => $port, render_output => $out };
        }
        sleep 0.02;
    }
    die "gateway did not listen on $port";
}

# Stops it and returns what it logged.
sub stop_gateway {
    my ($gw) = @_;
    if (open my $fh, '<', "$gw->{prefix}/logs/nginx.pid") {
        chomp(my $pid = <$fh> // '');
        kill 'QUIT', $pid;
        for (1 .. 500) { last unless alive($pid); sleep 0.01 }
    }
    local $/;
    open my $fh, '<', "$gw->{prefix}/nginx.out" or die;
    return scalar <$fh>;
}

# POSTs a JSON body; returns the response head.
sub post_json {
    my ($gw, $uri, $body) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$gw->{port}") or die "connect: $!";
    write_all($s, "POST $uri HTTP/1.1\r\nHost: gw\r\n"
        . "Content-Type: application/json\r\nAuthorization: Bearer sk-test\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n" . $body);
    my ($head) = read_message($s, 1);
    close $s;
    return $head // '';
}

# Two gateway instances (each with its workers) in front of one recording
# upstream, in a new directory named after $name; each writes its access log
# to access.log in its prefix. Returns the pair's handle.
sub start_pair {
    my ($name, %env) = @_;
    my $dir = tempdir("headroom-$name-XXXXXX", TMPDIR => 1, CLEANUP => !$ENV{KEEP});
    chmod 0755, $dir;
    mkdir "$dir/upstream";
    my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");
    my %upstreams = (
        HEADROOM_OPENAI_UPSTREAM    => "http://127.0.0.1:$rec_port/v1",
        HEADROOM_ANTHROPIC_UPSTREAM => "http://127.0.0.1:$rec_port/v1",
    );
    my @gateways = map {
        start_gateway("$dir/$_", %upstreams, HEADROOM_ACCESS_LOG => "$dir/$_/access.log", %env)
    } 'a', 'b';
    return { dir => $dir, recorder => $rec_pid, gateways => \@gateways };
}

# POSTs $body through instance $i (0 or 1); returns the body the upstream
# received ('' if none).
sub send_via {
    my ($pair, $i, $uri, $body) = @_;
    post_json($pair->{gateways}[$i], $uri, $body);
    my @got = recorded("$pair->{dir}/upstream");
    return @got ? $got[0][1] : '';
}

# Stops both instances and the recorder; returns (error logs, access logs).
sub stop_pair {
    my ($pair) = @_;
    my ($errors, $access) = ('', '');
    for my $gw (@{ $pair->{gateways} }) {
        $errors .= stop_gateway($gw);
        if (open my $fh, '<', "$gw->{prefix}/access.log") {
            local $/;
            $access .= <$fh> // '';
        }
    }
    kill 'TERM', $pair->{recorder};
    waitpid $pair->{recorder}, 0;
    return ($errors, $access);
}

1;
