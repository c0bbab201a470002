package Sessions;

# Agent sessions in each API for the context-window tests (retire, fit,
# summarize): a turn is the user's "step N", one tool call and its result;
# a body holds the turns so far, each turn's body beginning with the bytes
# of the one before (but for its closing).

use strict;
use warnings;

use Exporter qw(import);
use Bodies qw(jstr);

our @EXPORT = qw(agent_turn agent_body);

# The messages of turn $t in $api: the user's "step $t", a call of $tool
# (default "sh") with $args (a JSON object's text, default "{}"), and its
# $result; an error result (is_error, Gemini's "error") with `error => 1`.
sub agent_turn {
    my ($api, $t, %o) = @_;
    my $tool = $o{tool} // 'sh';
    my $args = $o{args} // '{}';
    my ($q, $out) = (jstr("step $t"), jstr($o{result}));
    if ($api eq 'openai_chat') {
        return (qq({"role":"user","content":$q}),
            qq({"role":"assistant","content":null,"tool_calls":[{"id":"call_$t","type":"function","function":{"name":"$tool","arguments":) . jstr($args) . '}}]}',
            qq({"role":"tool","tool_call_id":"call_$t","content":$out}));
    }
    if ($api eq 'openai_responses') {
        return (qq({"role":"user","content":$q}),
            qq({"type":"function_call","call_id":"call_$t","name":"$tool","arguments":) . jstr($args) . '}',
            qq({"type":"function_call_output","call_id":"call_$t","output":$out}));
    }
    if ($api eq 'anthropic_messages') {
        return (qq({"role":"user","content":$q}),
            qq({"role":"assistant","content":[{"type":"text","text":"on it"},{"type":"tool_use","id":"toolu_$t","name":"$tool","input":$args}]}),
            qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$t",)
                . ($o{error} ? '"is_error":true,' : '') . qq("content":[{"type":"text","text":$out}]}]}));
    }
    my $response = $o{error} ? '{"error":"unknown function"}' : qq({"output":$out});
    return (qq({"role":"user","parts":[{"text":$q}]}),
        qq({"role":"model","parts":[{"functionCall":{"name":"$tool","args":$args}}]}),
        qq({"role":"user","parts":[{"functionResponse":{"name":"$tool","response":$response}}]}));
}

# The request of $api holding @messages, its system prompt "You are
# terse.", the tool "sh" defined where `tools => 1`.
sub agent_body {
    my ($api, $opts, @m) = @_;
    my $list = join ',', @m;
    my $tools = $opts->{tools};
    if ($api eq 'openai_chat') {
        return '{"model":"gpt-4o",'
            . ($tools ? '"tools":[{"type":"function","function":{"name":"sh","parameters":{"type":"object"}}}],' : '')
            . qq("messages":[{"role":"system","content":"You are terse."},$list]});
    }
    if ($api eq 'openai_responses') {
        return '{"model":"gpt-4o",'
            . ($tools ? '"tools":[{"type":"function","name":"sh","parameters":{"type":"object"}}],' : '')
            . qq("instructions":"You are terse.","input":[$list]});
    }
    if ($api eq 'anthropic_messages') {
        return '{"model":"claude-sonnet-4-5","max_tokens":1000,'
            . ($tools ? '"tools":[{"name":"sh","input_schema":{"type":"object"}}],' : '')
            . qq("system":"You are terse.","messages":[$list]});
    }
    return '{' . ($tools ? '"tools":[{"functionDeclarations":[{"name":"sh","parameters":{"type":"OBJECT"}}]}],' : '')
        . qq("systemInstruction":{"parts":[{"text":"You are terse."}]},"contents":[$list]});
}

1;
