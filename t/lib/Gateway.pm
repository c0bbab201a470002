package Gateway;

# Starts the gateway `make run` starts (conf-examples/gateway.conf rendered
# by conf-examples/render-gateway) for a test, with the given environment.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use IO::Socket::INET;
use Time::HiRes qw(sleep);
use HeadroomTest qw(free_port read_message alive write_all);

our @EXPORT = qw(render_gateway start_gateway stop_gateway post_json);

my $ROOT = abs_path('.');

# Renders into $prefix; returns (exit code, output).
sub render_gateway {
    my ($prefix, %env) = @_;
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

1;
