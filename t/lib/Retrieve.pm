package Retrieve;

# Agent turns in each API for the reversible-compression tests: turn 1 ends
# with a big tool output (which headroom crushes and keeps); turn 2 resends
# it and adds the model's call of headroom_retrieve and the error result a
# client that does not know the tool answers with (Claude Code's own
# words, is_error for Anthropic).

use strict;
use warnings;

use Exporter qw(import);
use Encode ();
use JSON::PP;
use Bodies qw(jstr);

our @EXPORT = qw(APIS api_uri credential turn1 turn2 retrieval_result markers_in
                 last_tool_name);

use constant APIS => qw(openai_chat openai_responses anthropic_messages gemini);

my $JSON = JSON::PP->new->utf8->canonical;

my %URI = (
    openai_chat        => '/v1/chat/completions',
    openai_responses   => '/v1/responses',
    anthropic_messages => '/v1/messages',
    gemini             => '/v1beta/models/gemini-2.5-flash:generateContent',
);

sub api_uri { $URI{ $_[0] } }

# The header that carries $key in $api, as each SDK sends it.
sub credential {
    my ($api, $key) = @_;
    return "x-api-key: $key" if $api eq 'anthropic_messages';
    return "x-goog-api-key: $key" if $api eq 'gemini';
    return "Authorization: Bearer $key";
}

my $ERROR = '<tool_use_error>Error: No such tool available: headroom_retrieve</tool_use_error>';

# The messages of turn 1, and (with $args) of turn 2, as JSON texts.
sub messages {
    my ($api, $output, $args) = @_;
    my $out = jstr($output);
    my $args_json = defined $args ? $JSON->encode($args) : undef;
    my @m;
    if ($api eq 'openai_chat') {
        @m = ('{"role":"user","content":"Why did the job fail?"}',
              '{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"sh","arguments":"{\"cmd\":\"cat job.log\"}"}}]}',
              qq({"role":"tool","tool_call_id":"call_1","content":$out}));
        push @m, '{"role":"assistant","content":null,"tool_calls":[{"id":"call_2","type":"function","function":{"name":"headroom_retrieve","arguments":' . jstr($args_json) . '}}]}',
                 '{"role":"tool","tool_call_id":"call_2","content":' . jstr($ERROR) . '}' if defined $args;
    } elsif ($api eq 'openai_responses') {
        @m = ('{"role":"user","content":"Why did the job fail?"}',
              '{"type":"function_call","call_id":"call_1","name":"sh","arguments":"{\"cmd\":\"cat job.log\"}"}',
              qq({"type":"function_call_output","call_id":"call_1","output":$out}));
        push @m, '{"type":"function_call","call_id":"call_2","name":"headroom_retrieve","arguments":' . jstr($args_json) . '}',
                 '{"type":"function_call_output","call_id":"call_2","output":' . jstr($ERROR) . '}' if defined $args;
    } elsif ($api eq 'anthropic_messages') {
        @m = ('{"role":"user","content":"Why did the job fail?"}',
              '{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"sh","input":{"cmd":"cat job.log"}}]}',
              qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":$out}]}));
        push @m, qq({"role":"assistant","content":[{"type":"tool_use","id":"toolu_2","name":"headroom_retrieve","input":$args_json}]}),
                 '{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":' . jstr($ERROR) . ',"cache_control":{"type":"ephemeral"}}]}' if defined $args;
    } else {
        @m = ('{"role":"user","parts":[{"text":"Why did the job fail?"}]}',
              '{"role":"model","parts":[{"functionCall":{"name":"sh","args":{"cmd":"cat job.log"}}}]}',
              qq({"role":"user","parts":[{"functionResponse":{"name":"sh","response":{"output":$out}}}]}));
        push @m, qq({"role":"model","parts":[{"functionCall":{"name":"headroom_retrieve","args":$args_json}}]}),
                 '{"role":"user","parts":[{"functionResponse":{"name":"headroom_retrieve","response":{"error":"unknown function"}}}]}' if defined $args;
    }
    return @m;
}

sub body {
    my ($api, @m) = @_;
    my $list = join ',', @m;
    return qq({"model":"gpt-4o","tools":[{"type":"function","function":{"name":"sh","parameters":{"type":"object"}}}],"messages":[$list]})
        if $api eq 'openai_chat';
    return qq({"model":"gpt-5","tools":[{"type":"function","name":"sh","parameters":{"type":"object"}}],"input":[$list],"store":false})
        if $api eq 'openai_responses';
    return qq({"model":"claude-sonnet-4-5","max_tokens":1024,"tools":[{"name":"sh","input_schema":{"type":"object"}}],"messages":[$list]})
        if $api eq 'anthropic_messages';
    return qq({"contents":[$list],"tools":[{"functionDeclarations":[{"name":"sh","parameters":{"type":"object"}}]}]});
}

sub turn1 { my ($api, $output) = @_; body($api, messages($api, $output)) }
sub turn2 { my ($api, $output, $args) = @_; body($api, messages($api, $output, $args)) }

# What the provider got in the last tool result (the retrieval's), as text;
# for Anthropic also whether it is still flagged an error.
sub retrieval_result {
    my ($api, $body) = @_;
    my $d = $JSON->decode($body);
    my ($text, $error);
    if ($api eq 'openai_chat') {
        $text = $d->{messages}[-1]{content};
    } elsif ($api eq 'openai_responses') {
        $text = $d->{input}[-1]{output};
    } elsif ($api eq 'anthropic_messages') {
        my $block = $d->{messages}[-1]{content}[0];
        ($text, $error) = ($block->{content}, $block->{is_error});
    } else {
        $text = $d->{contents}[-1]{parts}[0]{functionResponse}{response}{content};
    }
    return wantarray ? (Encode::encode('UTF-8', $text // ''), $error) : Encode::encode('UTF-8', $text // '');
}

# The ids the markers of a sent body name, and the way they say.
sub markers_in {
    my ($body) = @_;
    my %ids;
    $ids{$2} = $1 while $body =~ /; (headroom_retrieve|MCP headroom_retrieve or ccr endpoint) id=([0-9a-f]{32})\]/g;
    return %ids;
}

# The name of the last tool a body defines.
sub last_tool_name {
    my ($api, $body) = @_;
    my $t = $JSON->decode($body)->{tools}[-1];
    return $t->{function}{name} if $api eq 'openai_chat';
    return $t->{functionDeclarations}[-1]{name} if $api eq 'gemini';
    return $t->{name};
}

1;
