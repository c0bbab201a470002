package Bodies;

# Request bodies for the tests. Expected outputs are built independently of
# headroom: the same data encoded compact by JSON::PP.

use strict;
use warnings;

use Encode qw(decode);
use JSON::PP;
use Exporter qw(import);

our @EXPORT = qw(records pretty compact jstr chat anthropic responses gemini gemini_json
                 agent_session
                 GEMINI_URI tokens untable
                 tool_output_data tool_output_text compressed loghub_log grep_output
                 wide_diff numbered);

my $PRETTY  = JSON::PP->new->utf8->canonical->pretty;
my $COMPACT = JSON::PP->new->utf8->canonical;
my $STRING  = JSON::PP->new->utf8->allow_nonref;

# An API-style array of $n records: numbers, nested objects, unicode.
sub records {
    my ($n) = @_;
    return [ map {
        {
            id       => 10_000_000 + $_,
            name     => "package-$_",
            version  => "1." . ($_ % 17) . ".0",
            status   => $_ % 50 ? 'ok' : 'error',
            latency  => $_ * 1.5,
            owner    => { team => 'platform', email => "dev$_\@example.com" },
            tags     => [ 'a', 'b', "caf\x{e9}" ],
            note     => "line one\nline \"two\"",
        }
    } 1 .. $n ];
}

sub pretty  { $PRETTY->encode($_[0]) }
sub compact { $COMPACT->encode($_[0]) }
# A JSON string literal (UTF-8 bytes) of UTF-8 bytes $_[0]. decode() with a
# CHECK empties the string it is given, so it gets a copy.
sub jstr    { my $bytes = $_[0]; $STRING->encode(decode('UTF-8', $bytes, Encode::FB_CROAK)) }

# Tokens in $text by headroom's own counter (proven equal to tiktoken's by
# t/06-tokenizer.t).
sub tokens {
    my ($text, $encoding) = @_;
    $encoding //= 'o200k_base';
    open my $fh, '>:raw', "/tmp/headroom-tokens-$$" or die;
    print $fh $text;
    close $fh;
    my $n = `build/headroom count --encoding $encoding /tmp/headroom-tokens-$$`;
    unlink "/tmp/headroom-tokens-$$";
    die "headroom count failed" if $?;
    chomp $n;
    return $n;
}

# What `headroom compress` (the module's pipeline) makes of a body.
sub compressed {
    my ($body, $uri) = @_;
    open my $fh, '>:raw', "/tmp/headroom-compress-$$" or die;
    print $fh $body;
    close $fh;
    my $out = `build/headroom compress --uri $uri /tmp/headroom-compress-$$ 2>/dev/null`;
    unlink "/tmp/headroom-compress-$$";
    die 'headroom compress failed' if $?;
    return $out;
}

# The data a tool output stands for: a headroom_table turned back into
# objects (a dotted column nested as the object it was flattened from, the
# "same" columns in every row); markers stay as they are.
sub untable {
    my ($out) = @_;
    if (ref $out eq 'HASH' && (my $t = $out->{headroom_table})) {
        my @cols = @{ $t->{columns} };
        my %same = %{ $t->{same} // {} };
        my $put = sub {
            my ($o, $name, $v) = @_;
            my @path = split /\./, $name;
            my $last = pop @path;
            $o = $o->{$_} //= {} for @path;
            $o->{$last} = $v;
        };
        return [ map {
            my $row = $_;
            if (ref $row eq 'ARRAY') {
                my $o = {};
                $put->($o, $cols[$_], $row->[$_]) for 0 .. $#cols;
                $put->($o, $_, $same{$_}) for keys %same;
                $o;
            } else {
                $row;
            }
        } @{ $t->{rows} } ];
    }
    return $out;
}

# The text of the last tool output in a request body (any shape; Gemini:
# the "result" string of the last function response).
sub tool_output_text {
    my ($body) = @_;
    my $req = JSON::PP->new->utf8->decode($body);
    if ($req->{contents}) {
        my ($fr) = grep { $_->{functionResponse} } reverse @{ $req->{contents}[-1]{parts} };
        return Encode::encode('UTF-8', $fr->{functionResponse}{response}{result});
    }
    my $text = $req->{messages} ? $req->{messages}[-1]{content} : $req->{input}[-1]{output};
    $text = $text->[-1]{content} if ref $text eq 'ARRAY' && ref $text->[-1]{content};
    $text = $text->[-1]{text} if ref $text eq 'ARRAY';
    return Encode::encode('UTF-8', $text);
}

# The data of the last tool output in a request body (any shape), canonical
# JSON, tables undone: what the model is told, to compare with what the tool
# said.
sub tool_output_data {
    my ($body) = @_;
    my $text = tool_output_text($body);
    return JSON::PP->new->canonical->encode(untable(JSON::PP->new->utf8->decode($text)));
}

# Tool outputs of each kind, from real sources.

# A real log from ../shared/corpus/loghub when present (read there, not
# copied), else a synthetic one of the same form.
sub loghub_log {
    my ($name) = @_;
    $name //= 'HDFS';
    my $f = "../shared/corpus/loghub/${name}_2k.log";
    if (open my $fh, '<:raw', $f) { local $/; return <$fh> }
    die "$f is missing" if $ENV{CI};
    # as in HDFS's own log, each block comes up again and again
    return join '', map {
        sprintf "081109 %06d 148 INFO dfs.DataNode: block blk_%d served\n", 200000 + $_, 1e6 + $_ % 40
    } 0 .. 1999;
}

# grep -rn over this repository's sources.
sub grep_output {
    my $out = `grep -rn -e ngx_ -e std:: src`;
    die 'no grep output' unless ($out =~ tr/\n//) > 100;
    return $out;
}

# diff -U25 of one of our sources against a copy with two lines changed.
sub wide_diff {
    my $src = 'src/ngx/ngx_http_headroom_body_filter.c';
    open my $in, '<', $src or die;
    my @lines = <$in>;
    $lines[100] = "/* changed */\n";
    $lines[300] = "/* changed too */\n";
    open my $out, '>', "/tmp/headroom-diff-$$" or die;
    print $out @lines;
    close $out;
    my $d = `diff -U25 $src /tmp/headroom-diff-$$`;
    unlink "/tmp/headroom-diff-$$";
    die 'no diff' unless $d =~ /^\+\+\+ /m;
    return $d;
}

# A file as `cat -n` shows it.
sub numbered {
    my ($text) = @_;
    $text =~ s/\n\z//;
    my $n = 0;
    return join '', map { sprintf "%6d\t%s\n", ++$n, $_ } split /\n/, $text, -1;
}

# An OpenAI chat request whose last message is a tool output.
sub chat {
    my ($tool_text) = @_;
    return '{"model":"gpt-4o","messages":['
        . '{"role":"system","content":"You are terse."},'
        . '{"role":"user","content":"List the packages, {\"as\": \"json\"}"},'
        . '{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",'
        . '"type":"function","function":{"name":"list","arguments":"{\"all\": true}"}}]},'
        . '{"role":"tool","tool_call_id":"call_1","content":' . jstr($tool_text) . '}'
        . '],"temperature":0.20,"seed":123456789012345678901,"stream":false}';
}

sub anthropic {
    my ($tool_text) = @_;
    return '{"model":"claude-sonnet-4-5","max_tokens":1024,'
        . '"system":[{"type":"text","text":"Be brief."}],'
        . '"thinking":{"type":"enabled","budget_tokens":2048},'
        . '"messages":[{"role":"user","content":"Find them"},'
        . '{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1",'
        . '"name":"list","input":{"all":true}}]},'
        . '{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",'
        . '"content":[{"type":"text","text":' . jstr($tool_text) . '}]}]}],'
        . '"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]}}';
}

# Gemini generateContent: the tool output is the "result" string of a
# function response, the shape Google's own function-calling examples use;
# gemini_json() puts a JSON document there as the response object itself.
use constant GEMINI_URI => '/v1beta/models/gemini-2.5-flash:generateContent';

sub gemini_body {
    my ($response) = @_;
    return '{"contents":[{"role":"user","parts":[{"text":"List the packages, {\"as\": \"json\"}"}]},'
        . '{"role":"model","parts":[{"functionCall":{"name":"list","args":{"all":true}},'
        . '"thoughtSignature":"c2lnbmF0dXJlLW9wYXF1ZQ=="}]},'
        . '{"role":"user","parts":[{"functionResponse":{"name":"list","response":' . $response . '}}]}],'
        . '"systemInstruction":{"parts":[{"text":"You are terse."}]},'
        . '"tools":[{"functionDeclarations":[{"name":"list","description":"List packages",'
        . '"parameters":{"type":"object","properties":{"all":{"type":"boolean"}}}}]}],'
        . '"generationConfig":{"temperature":0.20,"thinkingConfig":{"includeThoughts":true}},'
        . '"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}';
}

sub gemini      { gemini_body('{"result":' . jstr($_[0]) . '}') }
sub gemini_json { gemini_body('{"output":' . $_[0] . '}') }

sub responses {
    my ($tool_text) = @_;
    return '{"model":"gpt-5","input":[{"role":"user","content":"Find them"},'
        . '{"type":"function_call","call_id":"c1","name":"list","arguments":"{}"},'
        . '{"type":"function_call_output","call_id":"c1","output":'
        . jstr($tool_text) . '}],"store":false}';
}


# The Anthropic bodies of an agent session's $n turns, each resending the
# ones before: the user's $first text, then per turn a tool call, its
# result (a few hundred tokens) and "now prove step N". With $tools, the
# requests define the tool.
sub agent_session {
    my ($first, $n, $tools) = @_;
    my $output = join ' ', map { "word$_" } 1 .. 150;
    my @messages = (qq({"role":"user","content":) . jstr($first) . '}');
    my @bodies;
    for my $turn (1 .. $n) {
        push @bodies, '{"model":"claude-opus-4-1","max_tokens":100,"system":"You are a careful assistant.",'
            . ($tools ? '"tools":[{"name":"sh","input_schema":{"type":"object"}}],' : '')
            . '"messages":[' . join(',', @messages) . ']}';
        push @messages,
            qq({"role":"assistant","content":[{"type":"tool_use","id":"t$turn","name":"sh","input":{"cmd":"ls $turn"}}]}),
            qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"t$turn","content":) . jstr("$output $turn")
            . qq(},{"type":"text","text":"now prove step $turn"}]});
    }
    return @bodies;
}

1;
