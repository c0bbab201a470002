# The provider's usage, read from its answers as they pass: JSON and event
# streams of all four APIs, sent in small pieces (buffered by nginx, and
# passed on piece by piece with proxy_buffering off), reach the client
# byte for byte; $headroom_usage_input, _cached, _cache_write, _output and
# $headroom_cost_usd say what each API's documented fields say, priced by
# hand from the shipped table, gzip and brotli answers read through a
# decoder on the side; an OpenAI stream without usage estimated; an error and a location
# without headroom say nothing; the zone sums them by mode and model in the
# status output and Prometheus; nginx -t accepts
# the five-column price table and names a bad line.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Compress::Gzip qw(gzip);
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_server read_message free_port);
use Transport;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $ROOT = abs_path(dirname(__FILE__) . '/..');

my $CRLF = "\r\n";

# --- the provider: canned answers, written a few bytes at a time ------------

my %answer = (
    chat_json => ['application/json',
        '{"id":"c1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,'
        . '"message":{"role":"assistant","content":"{\"usage\":{\"prompt_tokens\":7}}"},"finish_reason":"stop"}],'
        . '"usage":{"prompt_tokens":1200,"completion_tokens":340,"total_tokens":1540,'
        . '"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},'
        . '"completion_tokens_details":{"reasoning_tokens":0}}}'],
    chat_sse => ['text/event-stream',
        join('', map { "data: $_\n\n" }
            '{"id":"c2","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}',
            '{"id":"c2","choices":[{"index":0,"delta":{"content":"Hello"}}],"usage":null}',
            '{"id":"c2","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":7,"total_tokens":57,'
            . '"prompt_tokens_details":{"cached_tokens":0}}}',
            '[DONE]')],
    chat_sse_plain => ['text/event-stream',
        join('', map { "data: $_\n\n" }
            '{"id":"c3","choices":[{"index":0,"delta":{"content":"Hello"}}]}', '[DONE]')],
    # asked with "stream":true and no include_usage: headroom estimates
    chat_sse_stream => ['text/event-stream',
        join('', map { "data: $_\n\n" }
            '{"id":"c4","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
            '{"id":"c4","choices":[{"index":0,"delta":{"content":"Hello"}}]}',
            '{"id":"c4","choices":[{"index":0,"delta":{"content":", world"}}]}',
            '{"id":"c4","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",'
            . '"function":{"name":"get_weather","arguments":""}}]}}]}',
            '{"id":"c4","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":"}}]}}]}',
            '{"id":"c4","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]}}]}',
            '{"id":"c4","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
            '[DONE]')],
    responses_sse => ['text/event-stream',
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"usage\":null}}\n\n"
        . "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"
        . "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\","
        . "\"usage\":{\"input_tokens\":3000,\"input_tokens_details\":{\"cached_tokens\":2048},"
        . "\"output_tokens\":500,\"output_tokens_details\":{\"reasoning_tokens\":320},\"total_tokens\":3500}}}\n\n"],
    anthropic_json => ['application/json',
        '{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",'
        . '"content":[{"type":"tool_use","id":"toolu_1","name":"x","input":{"usage":{"input_tokens":99999}}}],'
        . '"stop_reason":"tool_use","usage":{"input_tokens":20,"cache_creation_input_tokens":1500,'
        . '"cache_read_input_tokens":30000,"output_tokens":410}}'],
    anthropic_sse => ['text/event-stream',
        "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"usage\":"
        . "{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4000,\"output_tokens\":1}}}\r\n\r\n"
        . "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
        . "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        . "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"
        . "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
        . "\"usage\":{\"output_tokens\":88}}\r\n\r\n"
        . "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"],
    gemini_json => ['application/json; charset=UTF-8',
        '{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]}}],"usageMetadata":'
        . '{"promptTokenCount":900,"cachedContentTokenCount":512,"candidatesTokenCount":40,'
        . '"thoughtsTokenCount":100,"totalTokenCount":1040}}'],
    gemini_sse => ['text/event-stream',
        join('', map { "data: $_\r\n\r\n" }
            '{"candidates":[{"content":{"parts":[{"text":"H"}]}}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1}}',
            '{"candidates":[{"content":{"parts":[{"text":"i"}]}}],"usageMetadata":{"promptTokenCount":10,'
            . '"candidatesTokenCount":9,"thoughtsTokenCount":4}}')],
    gzip_json => ['application/json', undef],
    anthropic_cut => ['text/event-stream',
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"usage\":"
        . "{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4000,\"output_tokens\":1}}}\n\n"
        . "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        . "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"],
    br_json => ['application/json', undef],
    error => ['application/json', '{"error":{"message":"overloaded","usage":{"prompt_tokens":5}}}'],
);
gzip(\$answer{chat_json}[1] => \my $zipped);
$answer{gzip_json}[1] = $zipped;
{
    # brotli, as the command-line tool makes it
    my $tmp = File::Temp->new;
    binmode $tmp;
    print $tmp $answer{chat_json}[1];
    close $tmp;
    $answer{br_json}[1] = `brotli -c $tmp`;
    die 'brotli failed' if $? || !length $answer{br_json}[1];
}

my ($srv_pid, $srv_port) = start_server('provider', sub {
    my ($c) = @_;
    my ($head) = read_message($c, 0);
    return unless defined $head;
    my ($which) = $head =~ /^X-Answer:\s*(\S+)/mi;
    my ($type, $body) = @{ $answer{$which} };
    my $status = $which eq 'error' ? '529 Overloaded' : '200 OK';
    my $coded = $which eq 'gzip_json' ? "Content-Encoding: gzip$CRLF"
              : $which eq 'br_json' ? "Content-Encoding: br$CRLF" : '';
    syswrite $c, "HTTP/1.1 $status${CRLF}Content-Type: $type$CRLF${coded}Transfer-Encoding: chunked$CRLF"
        . "Connection: close$CRLF$CRLF";
    for (my $i = 0; $i < length $body; $i += 13) {
        my $piece = substr($body, $i, 13);
        syswrite $c, sprintf('%x', length $piece) . "$CRLF$piece$CRLF";
        sleep 0.001;
    }
    # cut short: the upstream goes away before the stream ends
    syswrite $c, "0$CRLF$CRLF" unless $which eq 'anthropic_cut';
    close $c;
});

my $dir = File::Temp::tempdir('headroom-usage-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0777, $dir;
my $log = "$dir/usage.log";
my $gw = start_gateway(
    http_config => "headroom_zone hz 1m;\n"
        . "proxy_cache_path $dir/cache keys_zone=answers:1m;\nlog_format usage '\$request_uri \$headroom_usage_input \$headroom_usage_cached "
        . "\$headroom_usage_cache_write \$headroom_usage_output \$headroom_cost_usd \$headroom_usage_estimated';\n"
        . "access_log $log usage;\n",
    config => qq(
        location / { headroom on; proxy_pass http://127.0.0.1:$srv_port; }
        location /unbuffered/ {
            headroom on;
            proxy_buffering off;
            proxy_pass http://127.0.0.1:$srv_port/;
        }
        location /plain/ { proxy_pass http://127.0.0.1:$srv_port/; }
        location /unread/ {
            headroom on;
            headroom_max_body_size 10;
            proxy_pass http://127.0.0.1:$srv_port/;
        }
        location /cached/ {
            headroom on;
            proxy_cache answers;
            proxy_cache_methods POST;
            proxy_cache_key \$request_id;
            proxy_cache_valid 200 1m;
            proxy_pass http://127.0.0.1:$srv_port/;
        }
        location /status { headroom_status; }),
);

my %request = (
    chat      => ['/v1/chat/completions', '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'],
    chat_stream => ['/v1/chat/completions',
                    '{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}'],
    responses => ['/v1/responses', '{"model":"gpt-5","input":"hi","stream":true}'],
    anthropic => ['/v1/messages',
                  '{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'],
    gemini    => ['/v1beta/models/gemini-2.5-flash:generateContent',
                  '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'],
);

# The log line of the call whose query is ?n=$n: nginx may log a call
# after its client has the answer (proxy_cache finishing its file), so
# lines are found by call, not by order.
my $calls = 0;
sub logged {
    my ($n) = @_;
    for (1 .. 250) {
        open my $fh, '<', $log or do { sleep 0.02; next };
        my ($l) = grep { /^\S*\?n=$n / } <$fh>;
        close $fh;
        if (defined $l) {
            chomp $l;
            my @f = split / /, $l;
            $f[0] =~ s/\?n=\d+$//;
            return \@f;
        }
        sleep 0.02;
    }
    return [];
}

# The figures of one call: [input, cached, cache_write, output, cost];
# $headroom_usage_estimated of it in $last_estimated.
my $last_estimated;
sub call {
    my ($prefix, $api, $which) = @_;
    my ($uri, $body) = @{ $request{$api} };
    my $n = ++$calls;
    my $r = http_request($gw->{port}, uri => "$prefix$uri?n=$n", body => $body, headers => ["X-Answer: $which"]);
    my $want = $answer{$which}[1];
    is $r->{body}, $want, "$prefix $which: the client gets the answer byte for byte";
    my $l = logged($n);
    $last_estimated = $l->[6];
    return [@$l[1 .. 5]];
}

# Tokens as headroom's own command counts them.
sub count_tokens {
    my ($text) = @_;
    open my $fh, '|-', "$ROOT/build/headroom count --model gpt-4o > $dir/count" or die;
    print $fh $text;
    close $fh;
    open $fh, '<', "$dir/count" or die;
    my $n = <$fh>;
    chomp $n;
    return $n;
}

# By hand, from the shipped table (USD per million: input, cached, write,
# output); the variable shows six decimals.
sub usd { $_[0] / 1e6 }
# Six decimals, a half rounded up as the module does (0.0001175 is
# 0.000118, which a binary double would print as 0.000117).
sub usd_text { sprintf '%.6f', $_[0] + 1e-12 }
my %want = (
    chat_json      => ['chat', [1200, 1024, 0, 340, usd(176 * 2.50 + 1024 * 1.25 + 340 * 10.00)]],
    gzip_json      => ['chat', [1200, 1024, 0, 340, usd(176 * 2.50 + 1024 * 1.25 + 340 * 10.00)]],
    br_json        => ['chat', [1200, 1024, 0, 340, usd(176 * 2.50 + 1024 * 1.25 + 340 * 10.00)]],
    chat_sse       => ['chat', [50, 0, 0, 7, usd(50 * 2.50 + 7 * 10.00)]],
    responses_sse  => ['responses', [3000, 2048, 0, 500, usd(952 * 1.25 + 2048 * 0.125 + 500 * 10.00)]],
    anthropic_json => ['anthropic', [31520, 30000, 1500, 410,
                                     usd(20 * 3.00 + 30000 * 0.30 + 1500 * 3.75 + 410 * 15.00)]],
    anthropic_sse  => ['anthropic', [4012, 4000, 0, 88, usd(12 * 3.00 + 4000 * 0.30 + 88 * 15.00)]],
    gemini_json    => ['gemini', [900, 512, 0, 140, usd(388 * 0.30 + 512 * 0.075 + 140 * 2.50)]],
    gemini_sse     => ['gemini', [10, 0, 0, 13, usd(10 * 0.30 + 13 * 2.50)]],
);
# An OpenAI stream without include_usage: the request's strings as sent
# ("gpt-4o", "user", "hi", each counted) and the streamed text (content,
# then the tool call's name and arguments), estimated.
{
    my $in = count_tokens('gpt-4o') + count_tokens('user') + count_tokens('hi');
    my $out = count_tokens('Hello, worldget_weather{"city":"Paris"}');
    $want{chat_sse_stream} = ['chat_stream', [$in, 0, 0, $out, usd($in * 2.50 + $out * 10.00)]];
}

for my $prefix ('', '/unbuffered') {
    for my $which (sort keys %want) {
        my ($api, $figures) = @{ $want{$which} };
        is_deeply call($prefix, $api, $which), [@$figures[0 .. 3], usd_text($figures->[4])],
            "$prefix $which: usage and cost as the API says";
        is $last_estimated, $which eq 'chat_sse_stream' ? '1' : '0',
            "$prefix $which: \$headroom_usage_estimated says whose figures they are";
    }
    is_deeply call($prefix, 'chat', 'chat_sse_plain'), [('-') x 5],
        "$prefix a stream without usage (no include_usage): nothing said";
    is_deeply call($prefix, 'chat', 'error'), [('-') x 5], "$prefix an error: not read";
}
is_deeply call('/plain', 'chat', 'chat_json'), [('-') x 5], 'headroom off: nothing read';

# --- the zone sums them by mode and model, beside what headroom saved ------

{
    my %model = (chat => 'gpt-4o', chat_stream => 'gpt-4o', responses => 'gpt-5', anthropic => 'claude-sonnet-4-5',
                 gemini => 'gemini-2.5-flash');
    my (%all, %by_model);
    for my $which (keys %want) {
        my ($api, $f) = @{ $want{$which} };
        for my $sum (\%all, \%{ $by_model{ $model{$api} } }) {
            $sum->{calls} += 2;    # buffered and unbuffered
            $sum->{input_tokens} += 2 * $f->[0];
            $sum->{cached_tokens} += 2 * $f->[1];
            $sum->{cache_write_tokens} += 2 * $f->[2];
            $sum->{output_tokens} += 2 * $f->[3];
            $sum->{nano} += 2 * int($f->[4] * 1e9 + 0.5);
            $sum->{estimated_calls} += $which eq 'chat_sse_stream' ? 2 : 0;
        }
    }
    # Each call is counted in nano-dollars, rounded: a nano a call at most.
    my $check = sub {
        my ($got, $want, $what) = @_;
        my %got = %{ $got // {} };
        my %want = %$want;
        my $nano = delete $want{nano};
        my $usd = delete $got{usd} // -1;
        $want{unpriced_calls} = 0;
        ok abs($usd * 1e9 - $nano) <= $want{calls}, "$what: usd $usd, by hand " . $nano / 1e9;
        is_deeply \%got, \%want, "$what: calls and tokens";
    };
    my $st = status_json($gw->{port});
    $check->($st->{modes}{optimize}{spend}, \%all, 'status: the spend of the optimize mode');
    for my $m (sort keys %by_model) {
        my ($row) = grep { $_->{model} eq $m && $_->{mode} eq 'optimize' } @{ $st->{models} };
        $check->($row->{spend}, $by_model{$m}, "status: the spend of $m");
    }
    my $prom = http_request($gw->{port}, method => 'GET', uri => '/status?format=prometheus')->{body};
    my ($prom_usd) = $prom =~ /^headroom_spend_usd_total\{mode="optimize"\} (\S+)$/m;
    cmp_ok $prom_usd, q(==), $st->{modes}{optimize}{spend}{usd}, "prometheus: headroom_spend_usd_total";
    like $prom, qr/^headroom_model_usage_tokens_total\{mode="optimize",model="gpt-4o",kind="cached"\} \Q$by_model{'gpt-4o'}{cached_tokens}\E$/m,
        'prometheus: headroom_model_usage_tokens_total';
}

# Answers nginx writes to a file as it passes them on (proxy_cache keeps
# them) are read back from it.
for my $which (qw(chat_json anthropic_sse gzip_json)) {
    my ($api, $figures) = @{ $want{$which} };
    is_deeply call('/cached', $api, $which), [@$figures[0 .. 3], usd_text($figures->[4])],
        "/cached $which: read from the cache's file";
}

# A request headroom did not read (over headroom_max_body_size) is priced
# by the model its answer names ("gpt-4o-2024-08-06": the gpt-4o prices).
{
    my ($api, $figures) = @{ $want{chat_json} };
    is_deeply call('/unread', $api, 'chat_json'), [@$figures[0 .. 3], usd_text($figures->[4])],
        'a request not read: priced by the model its answer names';
    my ($row) = grep { $_->{model} eq 'gpt-4o-2024-08-06' } @{ status_json($gw->{port})->{models} };
    is $row->{spend}{calls}, 1, 'and summed under that model';
}

# A stream cut short counts what came: message_start's input, one output.
{
    my $n = ++$calls;
    my $r = http_request($gw->{port}, uri => "/v1/messages?n=$n", body => $request{anthropic}[1],
                         headers => ['X-Answer: anthropic_cut']);
    is_deeply logged($n), ['/v1/messages', 4012, 4000, 0, 1, sprintf('%.6f', usd(12 * 3.00 + 4000 * 0.30 + 1 * 15.00)), 0],
        'a stream cut short: what came is counted';
}

# --- the price table: five columns, two, and a bad line ---------------------

{
    open my $fh, '>', "$dir/prices.conf" or die;
    print $fh "gpt-4o 2.50 1.25 2.50 10.00\nclaude 3.00\n";
    close $fh;
    my ($rc, $out) = nginx_t(http => "headroom_prices $dir/prices.conf;\n"
        . "log_format c '\$headroom_cost_usd';", location => 'headroom on;');
    is $rc, 0, 'nginx -t: a five-column table with a two-column line, and $headroom_cost_usd without a zone'
        or diag $out;
    open $fh, '>', "$dir/bad.conf" or die;
    print $fh "gpt-4o 2.50 1.25 10.00\n";
    close $fh;
    ($rc, $out) = nginx_t(http => "headroom_prices $dir/bad.conf;\nlog_format c '\$headroom_cost_usd';",
                          location => 'headroom on;');
    isnt $rc, 0, 'nginx -t: three prices fail';
    like $out, qr/headroom_prices .*line 1: expected "MODEL_PREFIX INPUT \[CACHED_INPUT CACHE_WRITE OUTPUT\]"/,
        'naming the line and the format';
}

my $err = stop_gateway($gw);
is_deeply [bad_log_lines($err)], [], 'no alert, crash or emergency in the log';

done_testing;
