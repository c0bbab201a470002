# The gateway `make run` starts, with both providers pointed at the
# recording upstream through the environment.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use Test::More;
use HeadroomTest qw(start_recorder recorded);
use Gateway;
use Bodies;
use JSON::PP;

my $dir = tempdir('headroom-gw-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");

my ($rc, $out) = render_gateway("$dir/bad", HEADROOM_OPENAI_UPSTREAM => 'ftp://x/v1');
isnt $rc, 0, 'a bad base URL is refused';
like $out, qr/HEADROOM_OPENAI_UPSTREAM="ftp:\/\/x\/v1" is not an http/, 'naming the variable';

my $gw = start_gateway("$dir/gw",
    HEADROOM_OPENAI_UPSTREAM    => "http://127.0.0.1:$rec_port/openai/v1",
    HEADROOM_ANTHROPIC_UPSTREAM => "http://localhost:$rec_port/v1/");
like $gw->{render_output}, qr{OpenAI -> http://127\.0\.0\.1:$rec_port/openai/v1},
    'render-gateway says where OpenAI goes';

my $conf = do { local $/; open my $fh, '<', "$dir/gw/conf/nginx.conf" or die; <$fh> };
unlike $conf, qr/^[^#]*\$\{/m, 'every placeholder is filled in';

my $data = records(20);
my $same = JSON::PP->new->canonical->encode($data);
my $upstream = "$dir/upstream";

my $head = post_json($gw, '/v1/chat/completions', chat(pretty($data)));
like $head, qr{^HTTP/1\.1 200}, 'chat completions answered';
my @got = recorded($upstream);
is scalar @got, 1, 'one upstream request';
like $got[0][0], qr{^POST /openai/v1/chat/completions HTTP/1\.1\r?$}m,
    'OpenAI path under the base URL';
like $got[0][0], qr{^Host: 127\.0\.0\.1:$rec_port\r?$}m, 'Host is the upstream host';
like $got[0][0], qr{^Authorization: Bearer sk-test\r?$}m, 'credentials pass through';
is tool_output_data($got[0][1]), $same, 'tool output rewritten, the same data';
ok length($got[0][1]) < length(chat(compact($data))), 'and smaller than minified';

post_json($gw, '/v1/messages?beta=true', anthropic(pretty($data)));
@got = recorded($upstream);
like $got[0][0], qr{^POST /v1/messages\?beta=true HTTP/1\.1\r?$}m,
    'Anthropic path and query kept';
like $got[0][0], qr{^Host: localhost:$rec_port\r?$}m, 'Anthropic Host';
is tool_output_data($got[0][1]), $same, 'tool result rewritten, the same data';

post_json($gw, '/v1/responses', responses(pretty($data)));
@got = recorded($upstream);
like $got[0][0], qr{^POST /openai/v1/responses }m, 'Responses to OpenAI';
is tool_output_data($got[0][1]), $same, 'function_call_output rewritten, the same data';

post_json($gw, '/v1/embeddings', '{"input":"x","model":"m"}');
@got = recorded($upstream);
like $got[0][0], qr{^POST /openai/v1/embeddings }m, 'other /v1/ paths reach OpenAI';
is $got[0][1], '{"input":"x","model":"m"}', 'and pass untouched';

my $log = stop_gateway($gw);
kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;

like $log, qr/headroom: optimized: openai_chat, \d+ -> \d+ bytes, tool output tokens \d+ -> \d+ \(o200k_base\)/,
    'the gateway counts tokens and logs what headroom did';
unlike $log, qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert, emerg, crit or crash';

done_testing();
