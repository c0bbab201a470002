# Real clients take the ways back. The official MCP SDK (npm
# @modelcontextprotocol/sdk, its Streamable HTTP client) lists and calls
# headroom_retrieve through nginx. Claude Code (npm
# @anthropic-ai/claude-code) against a scripted provider: the provider asks
# for a Bash command whose output headroom crushes, then calls
# headroom_retrieve with an id from the marker; Claude Code, which does not
# know that tool, answers with an error result, and its next request
# reaches the provider with the original lines in that result.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded start_server read_message write_all);
use Transport;
use Bodies;
use Retrieve;

my $NODE_PATH = "$ENV{PWD}/build/npm-test/node_modules";
my $CLAUDE = "$NODE_PATH/.bin/claude";
plan skip_all => 'the npm clients are missing (make t installs them)'
    unless (-f "$NODE_PATH/\@modelcontextprotocol/sdk/package.json" && -x $CLAUDE) || $ENV{CI};

my $JSON = JSON::PP->new->utf8->canonical;
my $dir = tempdir('headroom-clients-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");

# --- MCP ------------------------------------------------------------------------

my $gw = start_gateway(
    workers => 2,
    http_config => "headroom_ccr_zone ccr 4m;\n",
    config => qq(
        location /v1 { headroom on; headroom_ccr on; proxy_pass http://127.0.0.1:$rec_port; }
        location = /mcp { headroom_ccr_mcp; }),
);

my $log = loghub_log('HDFS');
my @lines = split /\n/, $log;
http_request($gw->{port}, uri => '/v1/messages', body => turn1('anthropic_messages', $log),
             headers => ['x-api-key: mcp-key']);
my @got = recorded("$dir/upstream");
my ($id) = keys %{{ markers_in($got[-1][1]) }};
ok $id, 'an original kept';

sub mcp {
    my (%env) = @_;
    local @ENV{keys %env} = values %env;
    local $ENV{NODE_PATH} = $NODE_PATH;
    my $out = `node t/clients/mcp-retrieve.cjs 2>&1`;
    is $?, 0, 'the MCP client ran' or diag $out;
    return eval { $JSON->decode($out) } // { error => $out };
}

my $res = mcp(MCP_URL => "http://127.0.0.1:$gw->{port}/mcp", API_KEY => 'mcp-key', ID => $id, LINES => '5-7');
is $res->{server}{name}, 'headroom', 'MCP: the server says who it is';
is $res->{protocol}, '2025-06-18', 'MCP: protocol 2025-06-18 agreed';
is_deeply $res->{tools}, [{ name => 'headroom_retrieve', required => ['id'] }], 'MCP: one tool, id required';
ok !$res->{got}{isError}, 'MCP: the call succeeds';
is $res->{got}{text}, "[headroom: original $id, lines 5-7 of " . scalar(@lines) . "]\n" . join("\n", @lines[4 .. 6]),
    'MCP: the lines asked for';
ok $res->{unknown}{isError}, 'MCP: an unknown id is an error result';
like $res->{unknown}{text}, qr/is not kept for this credential/, 'MCP: saying so';
like $res->{refused} // '', qr/Unknown tool/, 'MCP: another tool is refused';
$res = mcp(MCP_URL => "http://127.0.0.1:$gw->{port}/mcp", API_KEY => 'other-key', ID => $id);
ok $res->{got}{isError}, 'MCP: another credential gets nothing';

my $r = http_request($gw->{port}, method => 'GET', uri => '/mcp');
is $r->{status}, 405, 'MCP: GET (no server-sent stream) is 405';
is $r->{headers}{allow}, 'POST', 'with Allow: POST';
$r = http_request($gw->{port}, uri => '/mcp', body => '{"jsonrpc":"2.0","method":"notifications/initialized"}');
is $r->{status}, 202, 'MCP: a notification is accepted with 202';
$r = http_request($gw->{port}, uri => '/mcp', body => '{"jsonrpc":');
is $r->{status}, 400, 'MCP: a parse error is 400';
like $r->{body}, qr/"code":-32700/, 'with JSON-RPC\'s parse error';

my @bad = bad_log_lines(stop_gateway($gw));
is "@bad", '', 'MCP: no alert, crit, emerg or crash';

# --- Claude Code ----------------------------------------------------------------------

SKIP: {
    skip 'Claude Code is missing', 8 unless -x $CLAUDE;

    # A scripted provider: Bash first, then headroom_retrieve with the
    # marker's id, then an answer. It keeps every request's body.
    my $provider_dir = "$dir/provider";
    mkdir $provider_dir;
    my ($prov_pid, $prov_port) = start_server('provider', sub {
        my ($c) = @_;
        while (1) {
            my ($head, $body) = read_message($c, 0);
            last unless defined $head;
            my ($uri) = $head =~ /^\S+ (\S+)/;
            my $n = sprintf '%s/%.6f-%d', $provider_dir, Time::HiRes::time(), $$;
            open my $fh, '>:raw', "$n.req" or die;
            print $fh "$uri\n$body";
            close $fh;
            my $out;
            if ($uri =~ m{/count_tokens}) {
                $out = [json => '{"input_tokens":100}'];
            } else {
                my $req = eval { $JSON->decode($body) } // {};
                my @results = map { ref $_->{content} eq 'ARRAY' ? grep { ($_->{type} // '') eq 'tool_result' } @{ $_->{content} } : () }
                              @{ $req->{messages} // [] };
                my %result = map { $_->{tool_use_id} => $_ } @results;
                my $has_bash = grep { ($_->{name} // '') eq 'Bash' } @{ $req->{tools} // [] };
                if ($result{toolu_retrieve}) {
                    $out = [text => 'The first lines are back.'];
                } elsif (my $bash = $result{toolu_bash}) {
                    my $text = ref $bash->{content} ? join('', map { $_->{text} // '' } @{ $bash->{content} }) : $bash->{content};
                    my ($mid) = $text =~ /headroom_retrieve id=([0-9a-f]{32})/;
                    $out = $mid ? [tool => 'toolu_retrieve', 'headroom_retrieve', { id => $mid, lines => '1-5' }]
                                : [text => 'no marker'];
                } elsif ($has_bash) {
                    $out = [tool => 'toolu_bash', 'Bash', { command => 'cat job.log', description => 'Show the log' }];
                } else {
                    $out = [text => 'ok'];
                }
                $out = sse($out, $req->{model} // 'claude-sonnet-4-5') if $req->{stream};
                $out = [json => message($out, $req->{model} // 'claude-sonnet-4-5')] if $out->[0] ne 'sse';
            }
            my ($type, $payload) = $out->[0] eq 'sse' ? ('text/event-stream', $out->[1]) : ('application/json', $out->[1]);
            write_all($c, "HTTP/1.1 200 OK\r\nContent-Type: $type\r\nContent-Length: " . length($payload)
                          . "\r\nrequest-id: req_test\r\n\r\n$payload");
        }
    });

    my $cgw = start_gateway(
        workers => 2,
        http_config => "headroom_ccr_zone ccr 4m;\n",
        config => qq(
            location /v1 { headroom on; headroom_ccr on; headroom_min_tokens 50;
                           proxy_read_timeout 30s; proxy_pass http://127.0.0.1:$prov_port; }),
    );

    my $work = "$dir/work";
    mkdir $work;
    mkdir "$dir/home";
    my @job = map { sprintf '2026-11-30T10:%02d:%02dZ INFO worker-%d step %d done in %d ms', $_ / 60, $_ % 60, $_ % 4, $_, 20 + ($_ * 7) % 50 } 0 .. 299;
    $job[217] = '2026-11-30T10:03:37Z ERROR worker-1 job 42 failed: exit code 137 (out of memory)';
    open my $fh, '>', "$work/job.log" or die;
    print $fh map { "$_\n" } @job;
    close $fh;

    my $cmd = "cd $work && HOME=$dir/home ANTHROPIC_BASE_URL=http://127.0.0.1:$cgw->{port} "
        . "ANTHROPIC_API_KEY=sk-ant-test CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 "
        . "timeout 120 $CLAUDE -p 'Why did job 42 fail? Look at job.log.' --allowedTools 'Bash(cat:*)' 2>&1";
    my $answer = `$cmd`;
    is $?, 0, 'Claude Code ran to the end' or diag $answer;
    like $answer, qr/The first lines are back\./, 'and printed the provider\'s answer';

    my @reqs = map {
        open my $f, '<:raw', $_ or die;
        local $/;
        my ($uri, $body) = split /\n/, <$f>, 2;
        { uri => $uri, body => $body }
    } sort glob("$provider_dir/*.req");
    my @turns = grep { $_->{uri} =~ m{^/v1/messages(\?|$)} } @reqs;
    my ($asked) = grep { $_->{body} =~ /"tool_use_id":"toolu_bash"/ && $_->{body} !~ /"tool_use_id":"toolu_retrieve"/ } @turns;
    my ($filled) = grep { $_->{body} =~ /"tool_use_id":"toolu_retrieve"/ } @turns;
    ok $asked, 'the Bash output reached the provider';
    like $asked->{body} // '', qr/more lines like the one above omitted[^"]*headroom_retrieve id=[0-9a-f]{32}/,
        'crushed, the marker naming headroom_retrieve and the id';
    like $asked->{body} // '', qr/job 42 failed: exit code 137/, 'the error line kept';
    ok $filled, 'Claude Code answered the call of a tool it does not know';
    my $d = eval { $JSON->decode($filled->{body} // '{}') } // {};
    my ($block) = grep { ref $_ eq 'HASH' && ($_->{tool_use_id} // '') eq 'toolu_retrieve' }
                  map { ref $_->{content} eq 'ARRAY' ? @{ $_->{content} } : () } @{ $d->{messages} // [] };
    my $text = ref $block->{content} ? join('', map { $_->{text} // '' } @{ $block->{content} }) : $block->{content} // '';
    like $text, qr/^\[headroom: original [0-9a-f]{32}, lines 1-5 of 300\]\n\Q$job[0]\E\n\Q$job[1]\E\n\Q$job[2]\E\n\Q$job[3]\E\n\Q$job[4]\E$/,
        'its next request reached the provider with the original lines in that result'
        or diag substr($filled->{body} // '', 0, 2000);
    ok !$block->{is_error}, 'no longer an error';

    @bad = bad_log_lines(stop_gateway($cgw));
    is "@bad", '', 'Claude Code: no alert, crit, emerg or crash';
    kill 'TERM', $prov_pid;
    waitpid $prov_pid, 0;
}

kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;
done_testing;

# An Anthropic message for $out (text or tool use).
sub content_of {
    my ($out) = @_;
    return [{ type => 'text', text => $out->[1] }] if $out->[0] eq 'text';
    return [{ type => 'tool_use', id => $out->[1], name => $out->[2], input => $out->[3] }];
}

sub message {
    my ($out, $model) = @_;
    return $JSON->encode({ id => 'msg_test', type => 'message', role => 'assistant', model => $model,
                           content => content_of($out),
                           stop_reason => $out->[0] eq 'text' ? 'end_turn' : 'tool_use', stop_sequence => undef,
                           usage => { input_tokens => 100, output_tokens => 10 } });
}

# The same as server-sent events, as the Messages API streams them.
sub sse {
    my ($out, $model) = @_;
    my @ev;
    my $ev = sub { push @ev, "event: $_[0]\ndata: " . $JSON->encode($_[1]) . "\n\n" };
    $ev->(message_start => { type => 'message_start', message => {
        id => 'msg_test', type => 'message', role => 'assistant', model => $model, content => [],
        stop_reason => undef, stop_sequence => undef, usage => { input_tokens => 100, output_tokens => 1 } } });
    if ($out->[0] eq 'text') {
        $ev->(content_block_start => { type => 'content_block_start', index => 0, content_block => { type => 'text', text => '' } });
        $ev->(content_block_delta => { type => 'content_block_delta', index => 0, delta => { type => 'text_delta', text => $out->[1] } });
    } else {
        $ev->(content_block_start => { type => 'content_block_start', index => 0,
                                       content_block => { type => 'tool_use', id => $out->[1], name => $out->[2], input => {} } });
        $ev->(content_block_delta => { type => 'content_block_delta', index => 0,
                                       delta => { type => 'input_json_delta', partial_json => $JSON->encode($out->[3]) } });
    }
    $ev->(content_block_stop => { type => 'content_block_stop', index => 0 });
    $ev->(message_delta => { type => 'message_delta', delta => { stop_reason => $out->[0] eq 'text' ? 'end_turn' : 'tool_use',
                                                                 stop_sequence => undef }, usage => { output_tokens => 10 } });
    $ev->(message_stop => { type => 'message_stop' });
    return ['sse', join '', @ev];
}
