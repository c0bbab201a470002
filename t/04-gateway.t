# The gateway `make run` starts: conf-examples/gateway.conf rendered by
# conf-examples/render-gateway, with both providers pointed at the
# recording upstream through the environment.
use strict;
use warnings;
use lib 't/lib';
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded free_port read_message alive
                    write_all);
use Bodies;

my $root = abs_path('.');
my $dir = tempdir('headroom-gw-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");
my $port = free_port();

local $ENV{HEADROOM_OPENAI_UPSTREAM} = "http://127.0.0.1:$rec_port/openai/v1";
local $ENV{HEADROOM_ANTHROPIC_UPSTREAM} = "http://localhost:$rec_port/v1/";
local $ENV{HEADROOM_LISTEN} = "127.0.0.1:$port";

my $out = `conf-examples/render-gateway $dir/prefix $root/build/ngx_http_headroom_module.so 2>&1`;
is $?, 0, 'render-gateway succeeds' or diag $out;
like $out, qr{OpenAI -> http://127\.0\.0\.1:$rec_port/openai/v1}, 'it says where OpenAI goes';

my $conf = do { local $/; open my $fh, '<', "$dir/prefix/conf/nginx.conf" or die; <$fh> };
unlike $conf, qr/^[^#]*\$\{/m, 'every placeholder is filled in';

my $t = `/usr/sbin/nginx -t -p $dir/prefix/ -c conf/nginx.conf 2>&1`;
is $?, 0, 'nginx -t accepts the rendered gateway' or diag $t;

system("/usr/sbin/nginx -p $dir/prefix/ -c conf/nginx.conf >$dir/nginx.out 2>&1") == 0
    or BAIL_OUT('gateway did not start: ' . `cat $dir/nginx.out`);
my $up;
for (1 .. 200) {
    last if $up = IO::Socket::INET->new("127.0.0.1:$port");
    sleep 0.02;
}
ok $up, 'the gateway listens';
close $up if $up;

sub post {
    my ($uri, $body) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
    write_all($s, "POST $uri HTTP/1.1\r\nHost: gw\r\n"
        . "Content-Type: application/json\r\nAuthorization: Bearer sk-test\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n" . $body);
    my ($head) = read_message($s, 1);
    close $s;
    my @got = recorded("$dir/upstream");
    return ($head // '', @got);
}

my $data = records(20);

my ($head, @got) = post('/v1/chat/completions', chat(pretty($data)));
like $head, qr{^HTTP/1\.1 200}, 'chat completions answered';
is scalar @got, 1, 'one upstream request';
like $got[0][0], qr{^POST /openai/v1/chat/completions HTTP/1\.1\r?$}m, 'OpenAI path under the base URL';
like $got[0][0], qr{^Host: 127\.0\.0\.1:$rec_port\r?$}m, 'Host is the upstream host';
like $got[0][0], qr{^Authorization: Bearer sk-test\r?$}m, 'credentials pass through';
ok $got[0][1] eq chat(compact($data)), 'tool output minified';

($head, @got) = post('/v1/messages?beta=true', anthropic(pretty($data)));
like $got[0][0], qr{^POST /v1/messages\?beta=true HTTP/1\.1\r?$}m, 'Anthropic path and query kept';
like $got[0][0], qr{^Host: localhost:$rec_port\r?$}m, 'Anthropic Host';
ok $got[0][1] eq anthropic(compact($data)), 'tool result minified';

($head, @got) = post('/v1/responses', responses(pretty($data)));
like $got[0][0], qr{^POST /openai/v1/responses }m, 'Responses to OpenAI';
ok $got[0][1] eq responses(compact($data)), 'function_call_output minified';

($head, @got) = post('/v1/embeddings', '{"input":"x","model":"m"}');
like $got[0][0], qr{^POST /openai/v1/embeddings }m, 'other /v1/ paths reach OpenAI';
is $got[0][1], '{"input":"x","model":"m"}', 'and pass untouched';

my $pid = do { local $/; open my $fh, '<', "$dir/prefix/logs/nginx.pid" or die; <$fh> };
chomp $pid;
kill 'QUIT', $pid;
for (1 .. 500) { last unless alive($pid); sleep 0.01 }
kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;

my $log = do { local $/; open my $fh, '<', "$dir/nginx.out" or die; <$fh> };
like $log, qr/headroom: optimized: openai_chat/, 'the gateway logs what headroom did';
unlike $log, qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert, emerg, crit or crash';

done_testing();
