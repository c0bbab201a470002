# The headroom command-line tool: count and compress, and their errors.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use Test::More;
use Bodies;
use Encode ();
use JSON::PP;

my $dir = tempdir('headroom-cli-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_file {
    my ($name, $bytes) = @_;
    open my $fh, '>:raw', "$dir/$name" or die;
    print $fh $bytes;
    close $fh;
    return "$dir/$name";
}

# Runs build/headroom; returns (exit code, stdout, stderr).
sub run {
    my ($args, $stdin) = @_;
    my $in = defined $stdin ? write_file('stdin', $stdin) : '/dev/null';
    system("build/headroom $args <$in >$dir/out 2>$dir/err");
    my $code = $? >> 8;
    local $/;
    open my $o, '<:raw', "$dir/out" or die;
    open my $e, '<', "$dir/err" or die;
    return ($code, scalar <$o>, scalar <$e>);
}

my $text = "Hello, world! 12345 don't\n\t  caf\xc3\xa9 \xf0\x9f\x99\x82";
my $file = write_file('text', $text);

my ($code, $out, $err) = run("count $file");
is $code, 0, 'count exits 0';
like $out, qr/^\d+\n\z/, 'count prints one number';
my $n = $out;
is((run('count', $text))[1], $n, 'standard input counts the same');
is((run("count -", $text))[1], $n, '"-" is standard input');
is((run("count --encoding o200k_base $file"))[1], $n, 'o200k_base is the default');
is((run("count --model gpt-4-turbo $file"))[1], (run("count --encoding cl100k_base $file"))[1],
   'gpt-4 counts with cl100k_base');
($code, $out, $err) = run("count --model claude-sonnet-4-5 $file");
is $out, $n, 'claude is estimated with o200k_base';
like $err, qr/tokenizer not public; counting with o200k_base as an estimate/, 'and says so';
is((run('count', ''))[1], "0\n", 'empty input is 0 tokens');
is((run('count', "a\xffb"))[1], (run('count', "a\xef\xbf\xbdb"))[1], 'invalid UTF-8 counts as U+FFFD');

($code, $out, $err) = run("count $dir/missing");
is $code, 1, 'a missing file exits 1';
like $err, qr/cannot open .*missing: No such file/, 'with the reason';
is $out, '', 'and no output';
($code, undef, $err) = run("count --model m --encoding cl100k_base $file");
is $code, 2, 'conflicting options exit 2';
like $err, qr/--model and --encoding exclude each other/, 'with the reason';
($code, undef, $err) = run("count --encoding p50k_base $file");
is $code, 1, 'an encoding without a rank file exits 1';
like $err, qr/p50k_base\.tok/, 'naming the file';
($code, undef, $err) = run("count --tokenizers $dir $file");
is $code, 1, 'a directory without rank files exits 1';
($code, undef, $err) = run('frobnicate');
is $code, 2, 'an unknown command exits 2';
like $err, qr/usage: headroom count/, 'with the usage';
($code, undef, $err) = run("count --bogus $file");
is $code, 2, 'an unknown option exits 2';
($code, $out) = run('--help');
like $out, qr/headroom compress/, '--help prints the usage';

# compress: exactly the module's pipeline.
my $data = records(25);    # under headroom_json_max_items: lossless only
my $same = JSON::PP->new->canonical->encode($data);
my $body = write_file('body', chat(pretty($data)));
($code, $out, $err) = run("compress $body");
is $code, 0, 'compress exits 0';
is tool_output_data($out), $same, 'stdout is the rewritten body, the same data';
like $out, qr/headroom_table/, 'as a table';
my $sent = JSON::PP->new->utf8->decode($out)->{messages}[-1]{content};
my ($before, $after) = (tokens(pretty($data)), tokens(Encode::encode('UTF-8', $sent)));
like $err, qr/^headroom: optimized openai_chat: tokens $before -> $after \(-[\d.]+%, o200k_base\) in 1 tool outputs; bytes \d+ -> \d+; transforms: minified x1, crushed x0 \(0 items or lines omitted\)\nheadroom: prefix [0-9a-f]{32}: values moved x0, tools sorted x0, cache breakpoints x0, prompt_cache_key x0\n\z/,
    'stderr has the figures';

($code, $out) = run('compress --uri /v1/messages?beta=true', anthropic(pretty($data)));
is $code, 0, 'Anthropic with a query string';
is tool_output_data($out), $same, 'the same data';
($code, $out) = run('compress --uri /v1/responses', responses(pretty($data)));
is tool_output_data($out), $same, 'Responses too';

my $long = records(300);
($code, $out, $err) = run('compress', chat(pretty($long)));
is $code, 0, 'a long array is crushed';
like $out, qr/headroom_omitted/, 'with markers';
like $err, qr/transforms: minified x0, crushed x1 \(\d+ items or lines omitted\)$/m, 'and says so';

my $plain = chat('nothing to do here');
($code, $out, $err) = run('compress', $plain);
is $code, 0, 'nothing to rewrite still exits 0';
is $out, $plain, 'and gives the body back as is';
like $err, qr/^headroom: no_change openai_chat:/, 'saying so';

($code, $out, $err) = run('compress', '{"messages": [');
is $code, 1, 'invalid JSON exits 1';
is $out, '', 'with nothing on stdout';
like $err, qr/cannot compress: invalid_json: parse error/, 'and the parser\'s reason';
($code, $out, $err) = run('compress --uri /v1/embeddings', chat(pretty($data)));
is $code, 1, 'an endpoint headroom does not rewrite exits 1';
like $err, qr/cannot compress: unknown_shape \(\/v1\/embeddings\)/, 'naming it';
is $out, '', 'with nothing on stdout';

# compress --stabilize-prefix: the module's headroom_stabilize_prefix on.
my $volatile = '{"model":"gpt-4o","messages":[{"role":"system","content":"Now: 2026-11-22T10:32:05Z. Build 48213."},{"role":"user","content":"hi"}]}';
($code, $out, $err) = run(q{compress --stabilize-prefix --volatile-pattern 'build=Build (\d+)'}, $volatile);
is $code, 0, '--stabilize-prefix exits 0';
my $d = JSON::PP->new->decode($out);
is $d->{messages}[0]{content}, 'Now: [[timestamp-1]]. Build [[build-1]].', 'values moved, the operator\'s pattern too';
like $d->{messages}[2]{content}, qr/\[\[timestamp-1\]\] = 2026-11-22T10:32:05Z\n\[\[build-1\]\] = 48213$/, 'to the note';
like $err, qr/^headroom: prefix ([0-9a-f]{32}): values moved x2, tools sorted x0, cache breakpoints x0, prompt_cache_key x1$/m,
    'stderr says what was done to the prefix';
my ($hash) = $err =~ /prefix ([0-9a-f]{32})/;
is $d->{prompt_cache_key}, $hash, 'the prompt_cache_key is the prefix hash';
($code, $out, $err) = run(q{compress --stabilize-prefix --volatile-pattern 'x=('}, $volatile);
is $code, 1, 'a pattern that does not compile exits 1';
like $err, qr/--volatile-pattern "\(": missing closing parenthesis/, 'naming it';
($code, undef, $err) = run('compress --volatile-pattern nolabel', $volatile);
is $code, 2, 'a pattern without a label is a usage error';
($code, $out, $err) = run(q{compress --stabilize-prefix --volatile-pattern 'a b=x'}, $volatile);
is $code, 1, 'a label nginx refuses is refused here too';
like $err, qr/label "a b" may hold only letters, digits, '_' and '-'/, 'in the same words';
($code, $out, $err) = run(q{compress --stabilize-prefix --volatile-pattern 'any=x*'}, $volatile);
is $code, 1, 'so is a pattern that can match the empty string';
like $err, qr/"x\*" can match the empty string/, 'saying so';

# A directory and empty input say what they are, as the module does.
($code, $out, $err) = run("compress $dir");
is $code, 1, 'a directory exits 1';
like $err, qr/^headroom: cannot read \Q$dir\E: Is a directory$/m, 'naming it a directory, not invalid JSON';
is $out, '', 'with nothing on stdout';
($code, $out, $err) = run('compress', '');
is $code, 1, 'empty input exits 1';
like $err, qr/cannot compress: empty \(\/v1\/chat\/completions\)/, 'as "empty", the module\'s word';
is $out, '', 'with nothing on stdout';

# A Gemini body: the path names the dialect and the model.
($code, $out, $err) = run('compress --uri /v1beta/models/gemini-2.5-flash:generateContent',
                          gemini(pretty($data)));
is $code, 0, 'a Gemini body compresses';
like $err, qr/^headroom: optimized gemini:/, 'as gemini';

done_testing();
