# Token counts identical to OpenAI's tiktoken (its npm WebAssembly build)
# for o200k_base and cl100k_base, over real logs (../shared/corpus/loghub),
# JSON, code, adversarial Unicode and invalid UTF-8.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

my $dir = tempdir('headroom-tok-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $loghub = '../shared/corpus/loghub';

my $made = `NODE_PATH=build/npm/node_modules node t/tokenizer/reference.js $dir/cases.bin $loghub 2>&1`;
is $?, 0, 'the reference tokenizer wrote the cases' or diag $made;
my ($cases, $bytes, $logs) = $made =~ /^(\d+) cases, (\d+) bytes, (\d+) loghub files/m;
if (-d $loghub || $ENV{CI}) {
    # CI always has shared/ beside the clone: the logs must be in.
    is $logs, 32, 'every loghub log and its structured CSV is in';
    ok $cases > 30_000, "many cases ($cases, $bytes bytes)";
} else {
    diag "$loghub is missing: this run has no logs (CI has them)";
    ok $cases > 5_000, "many cases without the logs ($cases, $bytes bytes)";
}

my $out = `build/cmake/tokenizer_compare $dir/cases.bin build/tokenizers 2>&1`;
like $out, qr/^\d+ passed, 0 failed$/m, 'every count is identical' or diag $out;
my ($passed) = $out =~ /^(\d+) passed/m;
is $passed, 2 * $cases, 'both encodings, every case';

done_testing();
