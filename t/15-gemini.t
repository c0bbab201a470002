# Google's Gemini API through the real gateway: generateContent and
# streamGenerateContent (?alt=sse), Google AI's and Vertex AI's paths, the
# model from the path, a functionResponse.response object holding a long
# array crushed as JSON under the id of its compact JSON, a log in a
# response string crushed under the string's id, outputs protected by the
# function's name, proto's snake_case names, every field headroom does not
# own passed on as it came, and prefix stabilization as for the others.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;
use Bodies;
use Digest::SHA qw(sha256_hex);
use JSON::PP;

my $J = JSON::PP->new->utf8->canonical;

sub id_of { substr(sha256_hex($_[0]), 0, 32) }

# The response object of the last function response in a Gemini body.
sub response_of {
    my ($body) = @_;
    my $req = JSON::PP->new->utf8->decode($body);
    my ($fr) = grep { $_->{functionResponse} || $_->{function_response} }
        reverse @{ $req->{contents}[-1]{parts} };
    return ($fr->{functionResponse} || $fr->{function_response})->{response};
}

my $DATA = records(300);
$DATA->[123]{status} = 'failed';
my $COMPACT = compact($DATA);    # as received: the id is of these bytes
my $LOG = loghub_log('HDFS');

my $STREAM = '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse';
my $VERTEX = '/v1/projects/demo/locations/us-central1/publishers/google/models/'
           . 'gemini-2.5-pro:generateContent';

# Every part of a body but the one tool output, for "nothing else changed".
sub without_output {
    my ($body) = @_;
    my $req = JSON::PP->new->utf8->decode($body);
    for my $part (@{ $req->{contents}[-1]{parts} }) {
        my $fr = $part->{functionResponse} || $part->{function_response} or next;
        $fr->{response} = 'OUTPUT';
    }
    return $J->encode($req);
}

# A body in proto's snake_case, with fields headroom has no business with.
my $ODD = '{"contents":[{"role":"user","parts":[{"text":"why did it fail?"},'
    . '{"inline_data":{"mime_type":"image/png","data":"iVBORw0KGgo="}}]},'
    . '{"role":"model","parts":[{"thought":true,"text":"Let me look."},'
    . '{"function_call":{"name":"read_log","args":{"n":2000},"id":"call-7"},'
    . '"thought_signature":"b3BhcXVl"},{"executableCode":{"language":"PYTHON","code":"print(1)"}}]},'
    . '{"role":"user","parts":[{"function_response":{"name":"read_log","id":"call-7",'
    . '"response":{"result":' . jstr($LOG) . ',"exit_code":0,"x-vendor":{"k":[1.50,2e3]}}}},'
    . '{"codeExecutionResult":{"outcome":"OUTCOME_OK","output":"1\n"}}]}],'
    . '"system_instruction":{"role":"user","parts":[{"text":"Be brief."}]},'
    . '"cachedContent":"cachedContents/abc-123","toolConfig":{"functionCallingConfig":{"mode":"AUTO"}},'
    . '"labels":{"team":"infra"},"x_unknown":[null,true,"\u00e9"]}';

my $CONFIG = <<'CONFIG';
location / {
    headroom on;
    add_header X-Model $headroom_model always;
    add_header X-Status $headroom_status always;
    proxy_pass http://$TEST_UPSTREAM;
}
CONFIG

my @blocks = (
    {
        name          => 'a response object with a long array is crushed as JSON',
        request       => 'POST ' . GEMINI_URI,
        request_body  => gemini_json($COMPACT),
        upstream_body => compressed(gemini_json($COMPACT), GEMINI_URI),
        upstream_check => sub {
            my $out = untable(response_of($_[0])->{output});
            my ($at, $want_id) = (0, id_of('{"output":' . $COMPACT . '}'));
            for my $item (@$out) {
                if (my $m = $item->{headroom_omitted}) {
                    my ($first, $last) = split /-/, $m->{items};
                    return 0 unless $first == $at && $m->{id} eq $want_id;
                    $at = ($last // $first) + 1;
                    next;
                }
                return 0 unless $J->encode($item) eq $J->encode($DATA->[$at++]);
            }
            return $at == @$DATA && $J->encode($out) =~ /"failed"/;
        },
        response_headers_like => "^X-Model: gemini-2.5-flash\r?\$\n^X-Status: optimized\r?\$",
        error_log     => "headroom: optimized: gemini\nkinds: json 1 (",
    },
    {
        name          => 'a log in a response string is crushed under the string\'s id',
        request       => 'POST ' . GEMINI_URI,
        request_body  => gemini($LOG),
        upstream_body => compressed(gemini($LOG), GEMINI_URI),
        upstream_check => sub {
            my $text = tool_output_text($_[0]);
            my $id = id_of($LOG);
            my @markers = $text =~ /^\[headroom: \d+ more lines like the one above omitted(?: \(.*\))?; lines? \d+(?:-\d+)?; id=(\w+)\]$/mg;
            return @markers > 0 && !grep { $_ ne $id } @markers;
        },
        error_log     => "kinds: log 1 (",
    },
    {
        name          => 'streamGenerateContent with alt=sse: rewritten, and the answer streams back',
        request       => "POST $STREAM",
        request_body  => gemini($LOG),
        upstream_body => compressed(gemini($LOG), $STREAM),
        upstream_headers_like => '^POST /v1beta/models/gemini-2.5-flash:streamGenerateContent\?alt=sse HTTP',
        response_headers_like => "^Content-Type: text/event-stream\n^X-Model: gemini-2.5-flash",
        response_body_like    => '\Adata: \{"candidates":\[\{"content":\{"role":"model"',
        error_log     => 'headroom: optimized: gemini',
    },
    {
        name          => 'the Vertex AI path, the model from it',
        request       => "POST $VERTEX",
        request_body  => gemini($LOG),
        upstream_body => compressed(gemini($LOG), $VERTEX),
        response_headers_like => '^X-Model: gemini-2.5-pro',
        error_log     => 'headroom: optimized: gemini',
    },
    {
        name          => 'outputs of a protected function pass whole',
        config        => "headroom_protect_tools read_* li?t;\n$CONFIG",
        request       => 'POST ' . GEMINI_URI,
        request_body  => gemini($LOG),
        upstream_body_unchanged => '',
        response_headers_like => '^X-Status: passthrough:no_change',
        error_log     => 'headroom: passthrough: no_change (gemini',
    },
    {
        name          => 'snake_case names are read; every other field passes as it came',
        request       => 'POST ' . GEMINI_URI,
        request_body  => $ODD,
        upstream_body => compressed($ODD, GEMINI_URI),
        upstream_check => sub {
            my ($body) = @_;
            return 0 unless without_output($body) eq without_output($ODD);
            my $r = response_of($body);
            return 0 unless $r->{result} =~ /more lines like the one above omitted/;
            # as sent, byte for byte: what headroom did not change is
            # copied from the request (numbers keep their text, escapes
            # stay escapes)
            for my $piece ('"thought_signature":"b3BhcXVl"', '"inline_data":{"mime_type":"image/png"',
                           '"cachedContent":"cachedContents/abc-123"', '"x-vendor":{"k":[1.50,2e3]}',
                           '"x_unknown":[null,true,"\\u00e9"]', '"thought":true') {
                return 0 if index($body, $piece) < 0;
            }
            return 1;
        },
        error_log     => "headroom: optimized: gemini\nkinds: log 1 (",
    },
    {
        name          => 'small outputs: the body passes byte for byte',
        request       => 'POST ' . GEMINI_URI,
        request_body  => gemini("total 8\n-rw-r--r-- 1 a a 5 Nov 1 a.txt\n"),
        upstream_body_unchanged => '',
        error_log     => 'headroom: passthrough: no_change (gemini',
    },
    {
        name          => 'a body that is not Gemini\'s shape passes through',
        request       => 'POST ' . GEMINI_URI,
        request_body  => '{"contents":{"parts":[]},"x":1}',
        upstream_body_unchanged => '',
        response_headers_like => '^X-Status: passthrough:unknown_shape',
    },
);

# Prefix stabilization: two calls of one session that differ in the time in
# the system instruction and in the order of the function declarations.
my $WHEN = qr/2026-11-2\dT\d\d:\d\d:\d\dZ/;
sub stabilized_body {
    my ($when, @names) = @_;
    my $decls = join ',', map {
        qq({"name":"$_","description":"Tool $_","parameters":{"type":"object","properties":{"q":{"type":"string"}}}})
    } @names;
    return '{"contents":[{"role":"user","parts":[{"text":"hello"}]}],'
        . '"systemInstruction":{"role":"user","parts":[{"text":"Now: ' . $when . '. Be brief."}]},'
        . '"tools":[{"functionDeclarations":[' . $decls . ']}],"generationConfig":{}}';
}
my %sent;
for my $call ([first => '2026-11-22T10:32:05Z', qw(zeta alpha)],
              [second => '2026-11-23T08:00:00Z', qw(alpha zeta)]) {
    my ($name, $when, @names) = @$call;
    push @blocks, {
        name         => "prefix stabilization, $name call",
        config       => "headroom_stabilize_prefix on;\n$CONFIG",
        request      => 'POST ' . GEMINI_URI,
        request_body => stabilized_body($when, @names),
        upstream_check => sub {
            my ($body) = @_;
            my $req = JSON::PP->new->utf8->decode($body);
            my $note = $req->{contents}[-1]{parts}[-1]{text};
            return 0 unless $note =~ /^\[headroom\] Values that change/ && $note =~ /\Q$when\E/;
            return 0 if $req->{systemInstruction}{parts}[0]{text} =~ $WHEN;
            my @order = map { $_->{name} } @{ $req->{tools}[0]{functionDeclarations} };
            return 0 unless "@order" eq 'alpha zeta';
            # everything before the note is the same bytes on both calls
            my $cut = index($body, ',{"text":"[headroom]');
            return 0 if $cut < 0;
            $sent{$name} = substr($body, 0, $cut);
            return $name eq 'first' || $sent{first} eq $sent{second};
        },
        error_log    => "headroom: optimized: gemini\nvalues moved, tools sorted)",
    };
}

run_blocks(blocks => \@blocks, default_config => $CONFIG);
