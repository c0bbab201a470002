# Every request headroom sees ends with an outcome, so that the zone's
# "seen" is the sum of its outcomes: requests nginx answers 413 for
# client_max_body_size (known from Content-Length before headroom's phase,
# or found while reading a chunked body) are client_max_body_size; bodies
# the client gave up on mid-way (closed, or stalled past
# client_body_timeout) are client_aborted. $headroom_status says the same
# in the access log. too_large keeps meaning "over headroom_max_body_size,
# passed through".
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded free_port read_message write_all);
use Bodies;

my $dir = tempdir('headroom-outcomes-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
mkdir $_ for "$dir/gw", "$dir/gw/conf", "$dir/gw/logs", "$dir/gw/tmp";
chmod 0777, "$dir/gw/tmp";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");
my $port = free_port();
my $module = "$ENV{PWD}/build/ngx_http_headroom_module.so";

open my $fh, '>', "$dir/gw/conf/nginx.conf" or die;
print $fh <<"CONF";
load_module $module;
@{[ $HeadroomTest::VALGRIND ? '' : 'daemon on;' ]}
pid $dir/gw/logs/nginx.pid;
error_log $dir/gw/logs/error.log info;
events { worker_connections 64; }
http {
    client_body_temp_path $dir/gw/tmp/body;
    proxy_temp_path $dir/gw/tmp/proxy;
    fastcgi_temp_path $dir/gw/tmp/fastcgi;
    uwsgi_temp_path $dir/gw/tmp/uwsgi;
    scgi_temp_path $dir/gw/tmp/scgi;
    headroom_zone headroom 1m;
    log_format outcomes 'id=\$http_x_test_id http=\$status headroom=\$headroom_status';
    access_log $dir/gw/logs/access.log outcomes;
    client_max_body_size 16k;
    client_body_timeout 1s;
    server {
        listen 127.0.0.1:$port;
        location /v1/ {
            headroom on;
            headroom_max_body_size 12k;
            proxy_pass http://127.0.0.1:$rec_port;
        }
        location = /status {
            headroom_status;
        }
    }
}
CONF
close $fh;

HeadroomTest::start_nginx("$dir/gw", { http => $port });

my $big = chat(pretty(records(200)));      # over both limits
my $mid = chat(pretty(records(35)));       # over headroom's, under nginx's
my $ok  = chat(pretty(records(25)));
die 'sizes' unless length($big) > 16384 && length($mid) > 12288 && length($mid) < 16384
    && length($ok) < 12288;

sub head_for {
    my ($id, @extra) = @_;
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\nX-Test-Id: $id\r\n" . join('', map { "$_\r\n" } @extra) . "\r\n";
}

# Sends what it is given and returns the response's status, or '' when
# nginx closed without one.
sub exchange {
    my ($bytes, %opt) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
    write_all($s, $bytes);
    if ($opt{close_after}) {
        sleep $opt{close_after};
        close $s;
        return '';
    }
    my ($h) = read_message($s, 1);
    close $s;
    my ($status) = ($h // '') =~ /^HTTP\/1\.1 (\d+)/;
    return $status // '';
}

my $chunked = join('', map { sprintf("%x\r\n%s\r\n", length, $_) } unpack('(a4000)*', $big)) . "0\r\n\r\n";

is exchange(head_for(1, 'Content-Length: ' . length $big) . $big), 413,
    'a Content-Length over client_max_body_size: nginx answers 413';
is exchange(head_for(2, 'Transfer-Encoding: chunked') . $chunked), 413,
    'a chunked body found over it while reading: 413';
exchange(head_for(3, 'Content-Length: ' . length $ok) . substr($ok, 0, 1000), close_after => 0.2);
exchange(head_for(4, 'Content-Length: ' . length $ok) . substr($ok, 0, 1000), close_after => 1.6);
is exchange(head_for(5, 'Content-Length: ' . length $ok) . $ok), 200, 'a whole body is forwarded';
is exchange(head_for(6, 'Content-Length: ' . length $mid) . $mid), 200, 'over headroom_max_body_size: forwarded as it came';
is exchange("GET /v1/models HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nX-Test-Id: 7\r\n\r\n"), 200, 'a GET';
sleep 0.3;

my $status_raw = do {
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die;
    write_all($s, "GET /status HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    my (undef, $b) = read_message($s, 1);
    $b;
};
HeadroomTest::stop_nginx("$dir/gw");
kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;

my %log;
open my $al, '<', "$dir/gw/logs/access.log" or die;
while (<$al>) {
    $log{$1} = [$2, $3] if /^id=(\d+) http=(\d+) headroom=(\S+)/;
}
is_deeply $log{1}, [413, 'client_max_body_size'], 'Content-Length 413: $headroom_status is client_max_body_size';
is_deeply $log{2}, [413, 'client_max_body_size'], 'chunked 413: likewise';
is $log{3}[1], 'client_aborted', 'a client that closed mid-body: client_aborted';
is $log{4}[1], 'client_aborted', 'a client that stalled past client_body_timeout: client_aborted';
is $log{4}[0], 408, '(nginx answered 408)';
is $log{5}[1], 'optimized', 'the whole body: optimized';
is $log{6}[1], 'passthrough:too_large', 'over headroom_max_body_size: still too_large';
is $log{7}[1], 'passthrough:not_post', 'the GET: not_post';

my $st = JSON::PP->new->decode($status_raw);
my $req = $st->{requests};
my $sum = 0;
$sum += $req->{$_} for grep { $_ ne 'seen' } keys %$req;
is $req->{seen}, 7, 'seen: every request';
is $sum, $req->{seen}, 'seen is the sum of the outcomes';
is $req->{client_max_body_size}, 2, 'two client_max_body_size';
is $req->{client_aborted}, 2, 'two client_aborted';
is $st->{passthrough_reasons}{too_large}, 1, 'one too_large';

my $errors = do { local $/; open my $e, '<', "$dir/gw/logs/error.log" or die; <$e> };
unlike $errors, qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert, emerg, crit or crash';

done_testing();
