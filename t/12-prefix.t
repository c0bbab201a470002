# Prefix stabilization through the `make run` gateway with
# HEADROOM_STABILIZE_PREFIX=on, two instances: calls that differ only in
# the time and ids of their system prompt, or in the order of their tools,
# send the provider one prefix; an 8-turn session whose system prompt
# carries the current time keeps every earlier turn's bytes; the prefix
# hash in the access log is the prompt_cache_key the provider received.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use Gateway;
use Bodies;

my $pair = start_pair('prefix', HEADROOM_STABILIZE_PREFIX => 'on');
my $json = JSON::PP->new->canonical;

# Sends one body through gateway $i; returns what the provider received.
sub via { send_via($pair, @_) }

my $NOTE = '[headroom] Values that change from call to call';

# The bytes before the note, and the note's text.
sub split_note {
    my ($body) = @_;
    my $at = index($body, $NOTE);
    return ($body, '') if $at < 0;
    my ($note) = substr($body, $at) =~ /^((?:[^"\\]|\\.)*)/;
    return (substr($body, 0, $at), $note);
}

# --- two calls, one prefix ---------------------------------------------------

my $sys = 'You are a release agent. Current time: %s. Session id: %s. '
        . 'Answer briefly and cite files.';
my @calls = (['2026-11-22T10:32:05Z', '3f2a9c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b'],
             ['2026-11-22T10:41:17.250Z', '9b1d7e00-0c4e-4f4f-8a8a-1f2e3d4c5b6a']);
my %shapes = (
    openai_chat => ['/v1/chat/completions', sub {
        qq({"model":"gpt-4o","messages":[{"role":"system","content":) . jstr($_[0])
        . qq(},{"role":"user","content":"Ship it?"}],"stream":true}) }],
    openai_responses => ['/v1/responses', sub {
        qq({"model":"gpt-5","instructions":) . jstr($_[0]) . qq(,"input":"Ship it?"}) }],
    anthropic_messages => ['/v1/messages', sub {
        qq({"model":"claude-sonnet-4-5","max_tokens":512,"system":) . jstr($_[0])
        . qq(,"messages":[{"role":"user","content":"Ship it?"}]}) }],
);
for my $shape (sort keys %shapes) {
    my ($uri, $make) = @{ $shapes{$shape} };
    my @sent = map { via($_, $uri, $make->(sprintf $sys, @{ $calls[$_] })) } 0, 1;
    my @split = map { [split_note($_)] } @sent;
    ok length $split[0][1], "$shape: the values moved to a note";
    is $split[0][0], $split[1][0],
        "$shape: two calls, different time and id, identical bytes up to the note";
    for my $i (0, 1) {
        my ($when, $id) = @{ $calls[$i] };
        like $split[$i][1], qr/\Q[[timestamp-1]] = $when\E\\n\Q[[id-1]] = $id\E/,
            "$shape: call $i keeps its values, labelled";
    }
    like $split[0][0], qr/Current time: \[\[timestamp-1\]\]\. Session id: \[\[id-1\]\]\. Answer briefly/,
        "$shape: the system text keeps its words around the labels";
}

# --- tools in any order --------------------------------------------------------

my @tools = (
    '{"type":"function","function":{"name":"read_file","description":"Read a file","parameters":{"type":"object","properties":{"path":{"type":"string"},"limit":{"type":"integer"}},"required":["path"]}}}',
    '{"type":"function","function":{"parameters":{"properties":{"cmd":{"type":"string"}},"type":"object"},"name":"bash","description":"Run a command"}}',
    '{"type":"function","function":{"name":"grep","description":"Search","parameters":{"type":"object","properties":{"pattern":{"type":"string"}}}}}',
);
my @orders = ([0, 1, 2], [2, 0, 1], [1, 2, 0]);
my @chat_sent = map {
    via($_ % 2, '/v1/chat/completions', '{"model":"gpt-4o","tools":[' . join(',', @tools[@$_])
        . '],"messages":[{"role":"user","content":"List the files."}]}')
} @orders;
is $chat_sent[1], $chat_sent[0], 'openai_chat: tools in another order, identical bytes';
is $chat_sent[2], $chat_sent[0], 'openai_chat: and a third order';
like $chat_sent[0], qr/"name":"bash".*"name":"grep".*"name":"read_file"/, 'sorted by name';
like $chat_sent[0], qr/"properties":\{"path":\{"type":"string"\},"limit":/,
    'the order of properties (the order arguments are written in) is kept';

my @atools = map {
    my $t = $json->decode($_)->{function};
    '{"name":"' . $t->{name} . '","description":"' . $t->{description}
        . '","input_schema":' . $json->encode($t->{parameters}) . '}'
} @tools;
my @ant_sent = map {
    via($_ % 2, '/v1/messages', '{"model":"claude-sonnet-4-5","max_tokens":64,"tools":['
        . join(',', @atools[@$_]) . '],"messages":[{"role":"user","content":"List the files."}]}')
} @orders;
is $ant_sent[1], $ant_sent[0], 'anthropic_messages: tools in another order, identical bytes';
is $ant_sent[2], $ant_sent[0], 'anthropic_messages: and a third order';

# --- an 8-turn session with the time in its system prompt -------------------------

my @outputs = (pretty(records(120)), loghub_log('HDFS'), grep_output(), "ok\n",
               wide_diff(), pretty(records(30)), "All tests passed.\n", loghub_log('Apache'));
my $clock = 1763807525;

sub when { my @t = gmtime($clock + 37 * $_[0]); sprintf '%04d-%02d-%02dT%02d:%02d:%02dZ',
           $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0] }

sub openai_turn {
    my ($k) = @_;
    my @m = ('{"role":"system","content":' . jstr("You are a coding agent. Now: " . when($k) . ".") . '}',
             '{"role":"user","content":"Look into the failing build."}');
    for my $i (1 .. $k) {
        push @m, qq({"role":"assistant","content":null,"tool_calls":[{"id":"call_$i","type":"function","function":{"name":"tool_$i","arguments":"{}"}}]}),
                 qq({"role":"tool","tool_call_id":"call_$i","content":) . jstr($outputs[$i - 1]) . '}';
    }
    return '{"model":"gpt-4o","tools":[' . join(',', @tools[($k % 3, ($k + 1) % 3, ($k + 2) % 3)])
        . '],"messages":[' . join(',', @m) . ']}';
}

sub anthropic_turn {
    my ($k) = @_;
    my @m = ('{"role":"user","content":"Look into the failing build."}');
    for my $i (1 .. $k) {
        push @m, qq({"role":"assistant","content":[{"type":"text","text":"Running tool $i."},{"type":"tool_use","id":"toolu_$i","name":"tool_$i","input":{}}]}),
                 qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$i","content":) . jstr($outputs[$i - 1]) . '}]}';
    }
    return '{"model":"claude-sonnet-4-5","max_tokens":1024,"system":'
        . jstr("You are a coding agent. Now: " . when($k) . ".") . ',"messages":[' . join(',', @m) . ']}';
}

# What a provider's cache compares: the content, not where the marks are.
sub unmarked { (my $s = $_[0]) =~ s/,"cache_control":\{"type":"ephemeral"\}//g; $s }

for my $case (['openai', '/v1/chat/completions', \&openai_turn],
              ['anthropic', '/v1/messages', \&anthropic_turn]) {
    my ($name, $uri, $turn) = @$case;
    my ($prev, %hashes, $crushed) = (undef);
    for my $k (1 .. 8) {
        my $body = $turn->($k);
        my @sent = map { via($_, $uri, $body) } 0, 1;
        is $sent[0], $sent[1], "$name turn $k: both instances send the same bytes";
        $crushed++ if length($sent[0]) < length($body) / 2;
        my ($before, $note) = split_note(unmarked($sent[0]));
        like $note, qr/\Q[[timestamp-1]] = ${\ when($k)}\E/, "$name turn $k: the time is in the note";
        my $d = $json->decode($sent[0]);
        if ($name eq 'openai') {
            $hashes{ $d->{prompt_cache_key} }++;
            # the stable part: everything before the note's message
            $before =~ s/,\{"role":"system","content":"$//
                or fail "$name turn $k: the note is a last system message";
        } else {
            my $marks = () = $sent[0] =~ /"cache_control"/g;
            cmp_ok $marks, '<=', 4, "$name turn $k: at most four breakpoints";
            cmp_ok $marks, '>=', ($k >= 2 ? 3 : 2), "$name turn $k: system and history marked";
            $before =~ s/,\{"type":"text","text":"$//
                or fail "$name turn $k: the note is the last block of the user turn";
        }
        if (defined $prev) {
            ok index($before, $prev) == 0, "$name turn $k: starts with turn " . ($k - 1) . "'s bytes"
                or diag_prefix($before, $prev);
        }
        # Up to the end of this turn's last message; the next turn goes on from there.
        $prev = $before;
    }
    cmp_ok $crushed, '>=', 4, "$name: most turns were crushed too";
    is scalar(keys %hashes), 1, "$name: one prompt_cache_key for all eight turns"
        if $name eq 'openai';
}

sub diag_prefix {
    my ($got, $want) = @_;
    my $at = 0;
    $at++ while $at < length($want) && substr($got, $at, 1) eq substr($want, $at, 1);
    diag "first difference at byte $at:\n got:  " . substr($got, $at > 60 ? $at - 60 : 0, 160)
        . "\n want: " . substr($want, $at > 60 ? $at - 60 : 0, 160);
}

# --- the access log -------------------------------------------------------------

my @keys = map { $json->decode($_)->{prompt_cache_key} } @chat_sent;
my ($logs, $access) = stop_pair($pair);
unlike $logs, qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert, emerg, crit or crash';
like $access, qr/"POST \/v1\/chat\/completions HTTP\/1.1" 200 .* prefix=\Q$keys[0]\E$/m,
    'the access log shows the prefix hash, equal to the prompt_cache_key sent';
like $logs, qr/headroom: optimized: .*prefix [0-9a-f]{32} \(1 values moved, tools sorted, prompt_cache_key set\)/,
    'the error log line says what was done to the prefix';
like $logs, qr/prefix [0-9a-f]{32} \(\d+ values moved, 3 cache breakpoints\)/,
    'and for Anthropic, the breakpoints added';

done_testing();
