# headroom_fit through the real module: an OpenAI request (exact counts)
# over its budget by one token is cut and one at its budget goes as it
# came; a 30-turn session in each API over a small window keeps its system
# prompt and last two turns, never parts a call from its result, drops the
# oldest turns behind one marker whose original the store serves, and
# sends the same bytes on every turn until the next cut; a request that
# cannot fit goes as it came, saying fit_failed; nginx -t names what is
# wrong.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use HeadroomTest qw(start_recorder recorded);
use Transport;
use Bodies qw(jstr tokens);
use Retrieve qw(APIS api_uri credential);
use Sessions;

my $dir = File::Temp::tempdir('headroom-fit-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);
my $JSON = JSON::PP->new->utf8->canonical;

# --- over by one token ------------------------------------------------------

my $chat = '{"model":"gpt-4o","max_tokens":1000,"messages":[{"role":"system","content":"You are terse."}'
    . join('', map { qq(,{"role":"user","content":"question $_ about the weather in town"})
                   . qq(,{"role":"assistant","content":"answer $_: it rains, and it will rain."}) } 0 .. 39)
    . ']}';

# Headroom counts every string of the request in gpt-4o's own encoding
# (numbers and keys are not counted).
use B ();
sub strings {
    my ($v) = @_;
    return (B::svref_2object(\$v)->FLAGS & B::SVp_POK ? ($v) : ()) unless ref $v;
    return map { strings($_) } @$v if ref $v eq 'ARRAY';
    return map { strings($v->{$_}) } sort keys %$v if ref $v eq 'HASH';
    return ();
}
my $total = 0;
$total += tokens($_) for strings(decode_json($chat));
my $at = $total + 1000;    # the budget: the window less max_tokens

my $show = 'add_header X-Transforms $headroom_transforms always;';
my $gw = start_gateway(
    workers => 2,
    http_config => "headroom_ccr_zone ccr 8m;\nheadroom_cache_zone results 8m;\n",
    config => qq(
            location /at/ {
                headroom on; headroom_ccr on; headroom_fit on;
                headroom_context_limit gpt-4o $at;
                $show proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /over/ {
                headroom on; headroom_ccr on; headroom_fit on;
                headroom_context_limit gpt-4o @{[ $at - 1 ]};
                $show proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /tiny/ {
                headroom on; headroom_ccr on; headroom_fit on;
                headroom_context_limit gpt-4o 1010;
                $show proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /s/ {
                headroom on; headroom_ccr on; headroom_fit on;
                headroom_context_limit gpt-4o 16000;
                headroom_context_limit claude- 16000;
                headroom_context_limit gemini- 16000;
                headroom_output_reserve 2000;
                headroom_protect_tools secret_*;
                $show proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /headroom/ccr/ { headroom_ccr_endpoint; }),
);

sub send_to {
    my ($prefix, $api, $body) = @_;
    my $r = http_request($gw->{port}, uri => "$prefix" . api_uri($api), body => $body,
                         headers => [credential($api, 'key-a')]);
    my @got = recorded($dir);
    return ($r, @got ? $got[-1][1] : '');
}

my ($r, $sent) = send_to('/at', 'openai_chat', $chat);
is $r->{status}, 200, 'at its budget: answered';
is $sent, $chat, 'at its budget: sent byte for byte as it came';
unlike $r->{headers}{'x-transforms'} // '', qr/fit/, 'at its budget: no fit';

($r, $sent) = send_to('/over', 'openai_chat', $chat);
like $r->{headers}{'x-transforms'} // '', qr/(?:^|,)fit(?:,|$)/, 'over by one token: fit';
my $doc = eval { decode_json($sent) };
ok $doc, 'over by one token: valid JSON';
is $doc->{messages}[0]{content}, 'You are terse.', 'the system prompt kept, first';
like $doc->{messages}[1]{content}, qr/^\[headroom: (\d+) earlier turns dropped to fit the context window \(\d+ tokens\); headroom_retrieve id=([0-9a-f]{32})\]$/,
    'the marker in the place of what went';
my ($turns, $id) = $doc->{messages}[1]{content} =~ /(\d+) earlier turns.*id=([0-9a-f]{32})/;
is $doc->{messages}[2]{content}, "question $turns about the weather in town", 'the oldest turns went, and no more';
is $doc->{messages}[-1]{content}, 'answer 39: it rains, and it will rain.', 'the last turn kept';
my $left = 0;
$left += tokens($_) for strings($doc);
ok $left <= 0.75 * ($total - 1) + 40, "cut down to the target: $left of $total tokens left";
$r = http_request($gw->{port}, method => 'GET', uri => "/headroom/ccr/$id", headers => [credential('openai_chat', 'key-a')]);
is $r->{status}, 200, 'the turns that went are served by id';
my @lines = split /\n/, $r->{body};
is scalar(@lines), 2 * $turns, 'a line each for the messages that went';
is_deeply decode_json($lines[0]), { role => 'user', content => 'question 0 about the weather in town' },
    'as they were';

($r, $sent) = send_to('/tiny', 'openai_chat', $chat);
is $sent, $chat, 'cannot fit: sent as it came';
is $r->{headers}{'x-transforms'}, 'fit_failed', 'cannot fit: fit_failed';
like gateway_log($gw), qr/fit failed: $total tokens, budget 10 \(window 1010\): sent without fitting/,
    'cannot fit: the info line says so';

# --- 30-turn sessions -------------------------------------------------------

sub output { my ($t) = @_; return "listing $t: " . join ' ', map { "t${t}w$_" } 1 .. 300 }
sub tool_of { my ($t) = @_; return $t % 4 == 1 ? 'secret_reader' : 'sh' }

# Every call has its result and every result its call.
sub orphans {
    my ($api, $d) = @_;
    my (%calls, %results);
    if ($api eq 'openai_chat') {
        for my $m (@{ $d->{messages} }) {
            $calls{ $_->{id} }++ for @{ $m->{tool_calls} // [] };
            $results{ $m->{tool_call_id} }++ if defined $m->{tool_call_id};
        }
    } elsif ($api eq 'openai_responses') {
        for my $m (@{ $d->{input} }) {
            $calls{ $m->{call_id} }++ if ($m->{type} // '') eq 'function_call';
            $results{ $m->{call_id} }++ if ($m->{type} // '') eq 'function_call_output';
        }
    } elsif ($api eq 'anthropic_messages') {
        for my $m (@{ $d->{messages} }) {
            next unless ref $m->{content};
            for my $b (@{ $m->{content} }) {
                $calls{ $b->{id} }++ if $b->{type} eq 'tool_use';
                $results{ $b->{tool_use_id} }++ if $b->{type} eq 'tool_result';
            }
        }
    } else {
        my @c = @{ $d->{contents} };
        for my $i (0 .. $#c) {
            for my $p (@{ $c[$i]{parts} }) {
                next unless $p->{functionResponse};
                my $name = $p->{functionResponse}{name};
                $results{"$name\@$i"}++;
                $calls{"$name\@$i"}++ if $i > 0 && grep { ($_->{functionCall}{name} // '') eq $name } @{ $c[$i - 1]{parts} };
            }
        }
    }
    my @bad = grep { ($calls{$_} // 0) != ($results{$_} // 0) } (keys %calls, keys %results);
    return scalar @bad;
}

for my $api (APIS) {
    my @messages;
    my ($prev, $prev_marker, $cuts, $fitted, $broken) = ('', '', 0, 0, undef);
    my %prev_retired;
    for my $t (1 .. 30) {
        push @messages, agent_turn($api, $t, tool => tool_of($t), result => output($t));
        my ($r, $sent) = send_to('/s', $api, agent_body($api, {}, @messages));
        my $d = eval { decode_json($sent) };
        unless ($r->{status} == 200 && $d) { $broken = "turn $t: status $r->{status}"; last }
        $fitted++ if ($r->{headers}{'x-transforms'} // '') =~ /(?:^|,)fit(?:,|$)/;
        $broken = "turn $t: fit_failed" if ($r->{headers}{'x-transforms'} // '') =~ /fit_failed/;
        $broken = "turn $t: an orphaned call or result" if orphans($api, $d);
        $broken = "turn $t: the system prompt went" if $api ne 'gemini' && index($sent, 'You are terse.') < 0;
        for my $k ($t - 1, $t) {
            next if $k < 1;
            $broken = "turn $t: turn $k went" unless index($sent, jstr("step $k")) >= 0;
        }
        my ($marker) = $sent =~ /(\[headroom: \d+ earlier turns? dropped[^\]]*\])/;
        $marker //= '';
        if ($marker ne '') {
            my ($n) = $marker =~ /(\d+) earlier/;
            # The oldest went, and the next one is there.
            $broken = "turn $t: not the oldest turns went" if index($sent, jstr('step 1')) >= 0
                || index($sent, jstr('step ' . ($n + 1))) < 0;
        }
        # A cut drops more turns (a new marker) or retires more outputs.
        my %retired = map { $_ => 1 } $sent =~ /retired \([^\]]*id=([0-9a-f]{32})\]/g;
        if ($prev ne '') {
            my $same = substr($sent, 0, length($prev) - 2) eq substr($prev, 0, length($prev) - 2);
            $cuts++ unless $same;
            my $cut = $marker ne $prev_marker || grep { !$prev_retired{$_} } keys %retired;
            $broken = "turn $t: what was sent changed without a cut" if !$same && !$cut;
            $broken = "turn $t: a cut left the prefix as it was" if $same && $cut;
        }
        ($prev, $prev_marker, %prev_retired) = ($sent, $marker, %retired);
        last if $broken;
    }
    ok !$broken, "$api: 30 turns over a small window, each whole and paired" or diag $broken;
    ok $fitted >= 15, "$api: $fitted turns fitted";
    like $prev_marker, qr/^\[headroom: \d+ earlier turns dropped/, "$api: old turns dropped behind a marker";
    ok $cuts >= 2 && $cuts <= 12, "$api: the prefix moved $cuts times in 30 turns";
}

is_deeply [bad_log_lines($gw)], [], 'no alert, crit or emerg in the error log';
stop_gateway($gw);

# --- nginx -t ---------------------------------------------------------------

my ($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_fit on;');
ok $rc && $out =~ /"headroom_fit" needs "headroom_ccr on"/, 'nginx -t: fitting without the store' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_context_limit gpt-4o lots;');
ok $rc && $out =~ /"headroom_context_limit" takes a model prefix and a number of tokens above 0/, 'nginx -t: a bad limit' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_context_limit gpt-4o 1000; headroom_context_limit gpt-4o 2000;');
ok $rc && $out =~ /"headroom_context_limit" "gpt-4o" is duplicate/, 'nginx -t: a prefix twice' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_fit_margin 120%;');
ok $rc && $out =~ /"headroom_fit_margin" takes a percentage/, 'nginx -t: a margin past 100%' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_fit on; headroom_fit_margin 60%;');
ok $rc && $out =~ /"headroom_fit_margin" must be between 0% and 50%/, 'nginx -t: a margin past 50%' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_keep_turns 0;');
ok $rc && $out =~ /"headroom_keep_turns" directive must be at least 1/, 'nginx -t: no turn kept' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_fit on; '
    . 'headroom_context_limit my-model 32k; headroom_output_reserve 8k; headroom_fit_margin 0.1; '
    . 'headroom_keep_turns 3; headroom_fit_target 60%;');
is $rc, 0, 'nginx -t: every directive' or diag $out;

done_testing;
