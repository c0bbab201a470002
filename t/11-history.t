# History stability: an 8-turn agent session replayed through two gateway
# instances (each with its worker processes). Turn k resends turns 1..k-1
# as they were and adds one tool output; what reaches the provider for
# turn k must start with exactly what reached it for turn k-1, up to the
# end of that turn's last message. Otherwise the provider's prompt cache
# misses on every turn. Both instances must send the same bytes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Gateway;
use Bodies;

my $pair = start_pair('history');

# The tool outputs of the session, one a turn: big ones of every crushed
# kind, and small ones and prose that stay.
my $records = records(200);
$records->[77]{status} = 'failed';
my @outputs = (
    pretty($records),
    loghub_log('HDFS'),
    grep_output(),
    wide_diff(),
    "ok: 3 files written\n",
    loghub_log('Apache'),
    pretty(records(40)),
    "All tests passed.\n" x 3,
);

sub openai_turn {
    my ($k) = @_;
    my @m = ('{"role":"system","content":"You are a coding agent."}',
             '{"role":"user","content":"Look into the failing build."}');
    for my $i (1 .. $k) {
        push @m, qq({"role":"assistant","content":null,"tool_calls":[{"id":"call_$i","type":"function","function":{"name":"tool_$i","arguments":"{}"}}]}),
                 qq({"role":"tool","tool_call_id":"call_$i","content":) . jstr($outputs[$i - 1]) . '}';
        push @m, qq({"role":"user","content":"Turn $i done. What next?"}) if $i < $k;
    }
    return ('{"model":"gpt-4o","messages":[' . join(',', @m), '],"stream":true}');
}

sub anthropic_turn {
    my ($k) = @_;
    my @m = ('{"role":"user","content":"Look into the failing build."}');
    for my $i (1 .. $k) {
        push @m, qq({"role":"assistant","content":[{"type":"tool_use","id":"toolu_$i","name":"tool_$i","input":{}}]}),
                 qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$i","content":) . jstr($outputs[$i - 1]) . '}]}';
        push @m, qq({"role":"assistant","content":"Turn $i done."}),
                 qq({"role":"user","content":"Go on."}) if $i < $k;
    }
    return ('{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are a coding agent.","messages":['
            . join(',', @m), ']}');
}

for my $case (['openai', '/v1/chat/completions', \&openai_turn],
              ['anthropic', '/v1/messages', \&anthropic_turn]) {
    my ($name, $uri, $turn) = @$case;
    my ($prev, $crushed) = (undef, 0);
    for my $k (1 .. 8) {
        my ($head, $tail) = $turn->($k);
        my @sent = map { send_via($pair, $_, $uri, $head . $tail) } 0, 1;
        is $sent[0], $sent[1], "$name turn $k: both instances send the same bytes";
        my $body = $sent[0];
        $crushed++ if length($body) < length($head . $tail) / 2;
        ok substr($body, -length($tail)) eq $tail, "$name turn $k: the request ends as it did"
            or next;
        my $messages = substr($body, 0, length($body) - length($tail));
        if (defined $prev) {
            ok index($messages, "$prev,") == 0,
                "$name turn $k: starts with turn " . ($k - 1) . "'s bytes";
        }
        $prev = $messages;
    }
    cmp_ok $crushed, '>=', 4, "$name: most turns were crushed (the test is not trivial)";
}

my ($log) = stop_pair($pair);
unlike $log, qr/\[(alert|emerg|crit)\]|exited on signal/, 'no alert, emerg, crit or crash';
my %seen = map { $_ => 1 } $log =~ /\[info\] (\d+)#\d+: \*\d+ headroom: optimized/g;
my @pids = keys %seen;
cmp_ok scalar(@pids), '>=', 2, 'more than one worker process rewrote';
diag scalar(@pids) . ' worker processes rewrote';

done_testing();
