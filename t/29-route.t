# Model routing (headroom_route): each condition in each API, the first
# rule that matches wins, the model set in the body (Gemini: in the path)
# with every other byte as the client sent it, $headroom_route choosing an
# upstream through map, sessions that keep the model they began with (an
# 8-turn session whose later turns would match another rule, its prefix
# byte-stable from turn to turn, on two workers sharing the zone), two
# sessions of one application routed each on its own, audit mode that
# forwards the original and says what would have been routed, and nginx -t
# naming what is wrong in a rule at its line.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use HeadroomTest qw(start_recorder recorded);
use Transport;
use Bodies qw(jstr agent_session);

my $dir = File::Temp::tempdir('headroom-route-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my $other = File::Temp::tempdir('headroom-route2-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);
my ($rec2_pid, $rec2_port) = start_recorder($other);

my $show = q(
                add_header X-Route $headroom_route always;
                add_header X-Model-Out $headroom_model_out always;
                add_header X-Transforms $headroom_transforms always;
                add_header X-Prefix $headroom_prefix_hash always;);

# Every rule of /cond/ is sticky=off: each request is decided on its own.
my $cond_rules = q(
                headroom_route hard if-text=(?i)\bprove\b sticky=off to=thinker;
                headroom_route tiny if-tokens<60 if-tools=no sticky=off to=mini;
                headroom_route tooly if-tools=yes if-model=big-* sticky=off to=big-tools;
                headroom_route gem if-api=gemini sticky=off to=gemini-2.5-flash-lite;
                headroom_route large if-tokens>1000 sticky=off to=long-context;);

my $gw = start_gateway(
    workers => 2,
    http_config => "headroom_route_zone sessions 1m ttl=10m;\n"
        . "map \$headroom_route \$pick { default 127.0.0.1:$rec_port; tiny 127.0.0.1:$rec2_port; }\n",
    config => qq(
            location /cond/ { headroom on; $cond_rules $show proxy_pass http://127.0.0.1:$rec_port/; }
            location /pick/ {
                headroom on;
                headroom_route tiny if-tokens<60 sticky=off to=mini;
                $show
                proxy_pass http://\$pick;
            }
            location /sticky/ {
                headroom on;
                headroom_route hard if-text=prove to=thinker;
                headroom_route tiny if-tokens<300 to=mini;
                $show
                proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /other/ {
                headroom on;
                headroom_route all to=everything;
                $show
                proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /audit/ {
                headroom on;
                headroom_mode audit;
                $cond_rules
                $show
                proxy_pass http://127.0.0.1:$rec_port/;
            }),
);

my $SYSTEM = 'You are a careful assistant.';

# A request of $api asking $model, with the user's $text, and tools when
# $tools; its path.
sub request {
    my ($api, $model, $text, $tools) = @_;
    my $t = jstr($text);
    if ($api eq 'openai_chat') {
        return ('/v1/chat/completions', qq({"model":"$model",)
            . ($tools ? '"tools":[{"type":"function","function":{"name":"sh","parameters":{"type":"object"}}}],' : '')
            . qq("messages":[{"role":"system","content":"$SYSTEM"},{"role":"user","content":$t}]}));
    }
    if ($api eq 'openai_responses') {
        return ('/v1/responses', qq({"model":"$model","instructions":"$SYSTEM",)
            . ($tools ? '"tools":[{"type":"function","name":"sh","parameters":{"type":"object"}}],' : '')
            . qq("input":[{"role":"user","content":$t}]}));
    }
    if ($api eq 'anthropic_messages') {
        return ('/v1/messages', qq({"model":"$model","max_tokens":100,"system":"$SYSTEM",)
            . ($tools ? '"tools":[{"name":"sh","input_schema":{"type":"object"}}],' : '')
            . qq("messages":[{"role":"user","content":$t}]}));
    }
    return ("/v1beta/models/$model:generateContent",
        qq({"systemInstruction":{"parts":[{"text":"$SYSTEM"}]},)
        . ($tools ? '"tools":[{"functionDeclarations":[{"name":"sh","parameters":{"type":"OBJECT"}}]}],' : '')
        . qq("contents":[{"role":"user","parts":[{"text":$t}]}]}));
}

sub post {
    my ($uri, $body) = @_;
    my $r = http_request($gw->{port}, uri => $uri, body => $body);
    die "status $r->{status}: $r->{body}" unless $r->{status} == 200;
    return $r;
}

# What the provider got: [path, body].
sub got {
    my ($d) = @_;
    my @got = recorded($d // $dir);
    return [] unless @got == 1;
    my ($path) = $got[0][0] =~ m{^POST (\S+)};
    return [$path, $got[0][1]];
}

my $medium = join ' ', map { "word$_" } 1 .. 150;    # a few hundred tokens
my $long = join ' ', map { "word$_" } 1 .. 1500;     # thousands

# The API, the model asked for, the user's text, tools: the rule expected
# (or "-") and the model it goes to.
my @cases = (
    ['hi', 'gpt-x', 'hi', 0, 'tiny', 'mini'],
    ['prove', 'gpt-x', 'Can you prove it?', 0, 'hard', 'thinker'],
    ['prove first', 'gpt-x', 'prove this, hi', 0, 'hard', 'thinker'],    # beats tiny
    ['tools', 'big-1', $medium, 1, 'tooly', 'big-tools'],
    ['tools, other model', 'small-1', $medium, 1, '-', undef],
    ['long', 'gpt-x', $long, 0, 'large', 'long-context'],
    ['medium', 'gpt-x', $medium, 0, '-', undef],
);

for my $api (qw(openai_chat openai_responses anthropic_messages gemini)) {
    for my $c (@cases) {
        my ($what, $model, $text, $tools, $rule, $to) = @$c;
        # Gemini's own rule comes before the token-count ones.
        ($rule, $to) = ('gem', 'gemini-2.5-flash-lite')
            if $api eq 'gemini' && ($rule eq '-' || $rule eq 'large');
        my ($path, $body) = request($api, $model, $text, $tools);
        my $r = post("/cond$path", $body);
        my $sent = got();
        is $r->{headers}{'x-route'}, $rule, "$api, $what: rule $rule";
        if ($rule eq '-') {
            is_deeply $sent, [$path, $body], "$api, $what: the request goes as it came";
            is $r->{headers}{'x-model-out'}, $model, "$api, $what: \$headroom_model_out is the model asked for";
            next;
        }
        is $r->{headers}{'x-model-out'}, $to, "$api, $what: \$headroom_model_out is $to";
        like $r->{headers}{'x-transforms'}, qr/\broute\b/, "$api, $what: route is in \$headroom_transforms";
        if ($api eq 'gemini') {
            is_deeply $sent, ["/v1beta/models/$to:generateContent", $body],
                "$api, $what: the path names $to, the body is the client's";
        } else {
            (my $want = $body) =~ s/"model":"\Q$model\E"/"model":"$to"/;
            is_deeply $sent, [$path, $want], "$api, $what: the model is $to, every other byte the client's";
        }
    }
}

# A rule whose model is the one asked for matches and changes nothing.
{
    my ($path, $body) = request('openai_chat', 'mini', 'hi', 0);
    my $r = post("/cond$path", $body);
    is $r->{headers}{'x-route'}, 'tiny', 'the model asked for: the rule matches';
    is_deeply got(), [$path, $body], 'and the request goes as it came';
    unlike $r->{headers}{'x-transforms'} // '', qr/route/, 'with no route transform';
}

# $headroom_route chooses the upstream through map.
{
    my ($path, $body) = request('anthropic_messages', 'claude-opus-4-1', 'hi', 0);
    my $r = post("/pick$path", $body);
    is $r->{headers}{'x-route'}, 'tiny', 'map: a short request matches tiny';
    (my $want = $body) =~ s/"claude-opus-4-1"/"mini"/;
    is_deeply got($other), ["/pick$path", $want], 'map: and goes to the upstream map chose for it';
    is_deeply got($dir), [], 'map: not to the default one';
    ($path, $body) = request('anthropic_messages', 'claude-opus-4-1', $medium, 0);
    post("/pick$path", $body);
    is_deeply got($dir), ["/pick$path", $body], 'map: another request goes to the default upstream as it came';
    is_deeply got($other), [], 'map: and not to the other';
}

# A session keeps the model it began with: 8 turns of an agent whose later
# turns are long and ask to prove things (rules that would send them
# elsewhere); each turn's body as sent begins with the previous turn's,
# byte for byte (the prompt cache's prefix), on two workers.

{
    my @a = agent_session('hello', 8, 1);
    my @b = agent_session('prove the lemma', 8, 1);
    my (@sent_a, @routes_a, @prefixes, @routes_b, @models_b);
    for my $turn (0 .. 7) {
        my $r = post('/sticky/v1/messages', $a[$turn]);
        push @routes_a, $r->{headers}{'x-route'};
        push @prefixes, $r->{headers}{'x-prefix'};
        push @sent_a, got()->[1];
        my $rb = post('/sticky/v1/messages', $b[$turn]);
        push @routes_b, $rb->{headers}{'x-route'};
        push @models_b, $rb->{headers}{'x-model-out'};
        got();
    }
    is_deeply \@routes_a, [('tiny') x 8], 'session: every turn keeps the rule it began with';
    like $sent_a[$_], qr/^\{"model":"mini",/, "session: turn " . ($_ + 1) . " goes to mini" for 0 .. 7;
    for my $turn (1 .. 7) {
        (my $before = $sent_a[$turn - 1]) =~ s/\]\}$//;
        is substr($sent_a[$turn], 0, length $before), $before,
            'session: turn ' . ($turn + 1) . ' begins with turn ' . $turn . "'s bytes";
    }
    is scalar(keys %{ { map { $_ => 1 } @prefixes } }), 1, 'session: one prefix hash for all turns';
    is_deeply \@routes_b, [('hard') x 8], 'another session of the application begins and stays with its own rule';
    is_deeply \@models_b, [('thinker') x 8], 'and its model';

    # Without the memory (a location of sticky=off rules), the same turns
    # would have changed model mid-session.
    my $late = post('/cond/v1/messages', $a[7]);
    is $late->{headers}{'x-route'}, 'hard', 'without the session, turn 8 would have gone elsewhere';
    got();
}

# A Responses conversation the provider keeps resends no first message:
# each answer's id carries the route to the request that continues it;
# a conversation object names its session itself.
{
    my $turn = sub {
        my ($fields) = @_;
        my $r = post('/sticky/v1/responses', '{"model":"gpt-5",' . $fields . '}');
        got();
        my ($id) = $r->{body} =~ /"id":"([^"]+)"/;
        return ($r->{headers}{'x-route'}, $id);
    };
    my ($route1, $id1) = $turn->('"input":[{"role":"user","content":"hello chain"}]');
    is $route1, 'tiny', 'a Responses conversation begins';
    my ($route2, $id2) = $turn->(qq("previous_response_id":"$id1","input":[{"role":"user","content":"now prove it"}]));
    is $route2, 'tiny', 'the request continuing its answer keeps the route';
    my ($route3) = $turn->(qq("previous_response_id":"$id2","input":[{"role":"user","content":"and prove more"}]));
    is $route3, 'tiny', 'and the one after it';
    my ($unknown) = $turn->('"previous_response_id":"resp_never_seen","input":"prove it"');
    is $unknown, 'hard', 'an answer headroom never saw: decided by the rules';
    my ($conv1) = $turn->('"conversation":"conv_7","input":"hello"');
    my ($conv2) = $turn->('"conversation":{"id":"conv_7"},"input":"please prove it"');
    is_deeply [$conv1, $conv2], ['tiny', 'tiny'], 'a conversation object keeps its route too';
}

# Another location keeps sessions of its own, though the zone is shared.
{
    my ($path, $body) = request('openai_chat', 'gpt-x', 'cross', 0);
    is post("/sticky$path", $body)->{headers}{'x-route'}, 'tiny', 'a session begins in one location';
    got();
    is post("/other$path", $body)->{headers}{'x-route'}, 'all', 'the same conversation elsewhere is decided by its rules';
    got();
}

# A model name never forges a line of the error log.
{
    my $body = '{"model":"gpt-x\n2026/01/01 00:00:00 [alert] 1#1: forged","messages":[{"role":"user","content":"hi"}]}';
    my $r = post('/cond/v1/chat/completions', $body);
    is $r->{headers}{'x-route'}, 'tiny', 'a model with a newline is routed';
    got();
    my $log = gateway_log($gw);
    unlike $log, qr/^2026\/01\/01 00:00:00 \[alert\]/m, 'and writes no line of its own to the error log';
    like $log, qr/route tiny: gpt-x\\x0a2026\/01\/01/, 'it is written escaped';
}

# Audit mode forwards the original and says what routing would have done.
{
    my ($path, $body) = request('openai_chat', 'gpt-x', 'hi', 0);
    my $r = post("/audit$path", $body);
    is_deeply got(), [$path, $body], 'audit: the original goes upstream';
    is $r->{headers}{'x-route'}, 'tiny', 'audit: $headroom_route names the rule that would have routed it';
    is $r->{headers}{'x-model-out'}, 'gpt-x', 'audit: $headroom_model_out is the model it went with';
    ($path, $body) = request('gemini', 'gemini-2.5-pro', 'hi', 0);
    post("/audit$path", $body);
    is_deeply got(), [$path, $body], 'audit: a Gemini path is left as it came';
    like gateway_log($gw), qr/route tiny: gpt-x would go to mini/, 'audit: the info line says where it would have gone';
}
like gateway_log($gw), qr/route tooly: big-1 -> big-tools/, 'the info line says where a request went';
is_deeply [bad_log_lines($gw)], [], 'no alerts or crashes in the error log';
stop_gateway($gw);

# nginx -t names the rule and what is wrong, at its line.
for my $c (
    ['headroom_route hard if-text=(unclosed to=o3;',
     qr/"headroom_route" rule "hard": if-text="\(unclosed": missing closing parenthesis at offset 9 in \S+:\d+/],
    ['headroom_route hard if-text=x;', qr/"headroom_route" hard has no "to=MODEL"/],
    ['headroom_route hard if-colour=red to=o3;', qr/"headroom_route" does not take "if-colour=red"/],
    ['headroom_route hard if-tokens<many to=o3;', qr/"headroom_route" takes one "if-tokens<N" or "if-tokens>N"/],
    ['headroom_route hard if-tools=maybe to=o3;', qr/"if-tools=yes" or "if-tools=no"/],
    ['headroom_route hard sticky=sometimes to=o3;', qr/"sticky=on" or "sticky=off"/],
    ['headroom_route hard if-api=openai to=o3;', qr/rule "hard": if-api="openai" is none of/],
    ['headroom_route hard if-model=gpt-[4 to=o3;', qr/rule "hard": if-model="gpt-\[4" is not a glob pattern/],
    ['headroom_route a sticky=off to=o3; headroom_route a sticky=off to=o4;', qr/rule "a": defined twice/],
    ['headroom_route a to=o3;', qr/"headroom_route" a is sticky: it needs "headroom_route_zone"/],
    [q(headroom_route a sticky=off 'to=o 3';), qr/to="o 3" is not a model name/],
    ['headroom_route a if-model= sticky=off to=o3;', qr/"headroom_route" takes "if-model=" once, with a value, not "if-model="/],
    ['headroom_route a if-text=x if-text=y sticky=off to=o3;', qr/takes "if-text=" once, with a value, not "if-text=y"/],
    ['headroom_route a sticky=off to=o3 to=o4;', qr/takes "to=" once/],
) {
    my ($rules, $want) = @$c;
    my ($rc, $out) = nginx_t(location => "headroom on; $rules");
    isnt $rc, 0, "nginx -t refuses: $rules";
    like $out, $want, "and says why: $rules";
}
{
    my ($rc, $out) = nginx_t(location => 'headroom off; headroom_route a sticky=off to=o3;');
    like $out, qr/"headroom_route" needs "headroom on"/, 'a rule beside headroom off is refused';
    ($rc, $out) = nginx_t(http => 'headroom_route_zone r 1m ttl=soon;', location => 'headroom on;');
    like $out, qr/"headroom_route_zone" takes a ttl above 0, not "ttl=soon"/, 'a bad ttl is refused';
    ($rc, $out) = nginx_t(http => 'headroom_route_zone r 1m; headroom_route_zone s 1m;', location => 'headroom on;');
    like $out, qr/"headroom_route_zone" directive is duplicate/, 'one route zone';
    ($rc, $out) = nginx_t(http => 'headroom_route_zone r 1m;',
                          location => 'headroom on; headroom_route a if-text=x to=o3; headroom_route b if-tokens>9 sticky=off to=o4;');
    is $rc, 0, 'a good set of rules passes nginx -t' or diag $out;
}

done_testing;
