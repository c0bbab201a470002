# Google's own Gemini SDK (npm @google/genai) through the `make run` gateway:
# its function-calling turn, sent with generateContent and with
# generateContentStream (?alt=sse), reaches the provider as exactly what
# `headroom compress` makes of the SDK's own bytes (captured by sending the
# same calls to the provider directly), and the SDK reads both answers,
# the streamed one frame by frame.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;
use HeadroomTest qw(start_recorder recorded);
use Gateway;
use Bodies;

my $NODE_PATH = "$ENV{PWD}/build/npm-test/node_modules";
plan skip_all => "$NODE_PATH/\@google/genai is missing (make t installs it)"
    unless -f "$NODE_PATH/\@google/genai/package.json" || $ENV{CI};

my $dir = tempdir('headroom-genai-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");

sub sdk {
    my ($base) = @_;
    my $out = `NODE_PATH=$NODE_PATH BASE_URL=$base node t/clients/gemini-sdk.cjs 2>&1`;
    is $?, 0, "the SDK's calls to $base succeed" or diag $out;
    my $res = eval { JSON::PP->new->decode($out) } // {};
    return ($res, recorded("$dir/upstream"));
}

# The SDK's bytes, as the provider gets them without the gateway.
my ($direct, @original) = sdk("http://127.0.0.1:$rec_port");
is scalar(@original), 2, 'two calls';
my @paths = map { $_->[0] =~ /^POST (\S+) HTTP/ ? $1 : '' } @original;
is_deeply \@paths, ['/v1beta/models/gemini-2.5-flash:generateContent',
                    '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse'],
    'the SDK calls generateContent, then streamGenerateContent with alt=sse';

my $gw = start_gateway("$dir/gw", HEADROOM_GEMINI_UPSTREAM => "http://127.0.0.1:$rec_port",
                       HEADROOM_ACCESS_LOG => "$dir/access.log");
my ($through, @got) = sdk("http://127.0.0.1:$gw->{port}");
my $log = stop_gateway($gw);

is scalar(@got), 2, 'both calls reach the provider through the gateway';
for my $i (0 .. 1) {
    my ($path) = $got[$i][0] =~ /^POST (\S+) HTTP/;
    is $path, $paths[$i], "call $i keeps its path and query";
    my $want = compressed($original[$i][1], $paths[$i]);
    ok $got[$i][1] eq $want, "call $i: the provider gets what headroom compress makes of the SDK's bytes";
    ok length($got[$i][1]) < length($original[$i][1]) * 0.6, "call $i: much smaller";
    like $got[$i][1], qr/more lines like the one above omitted(?: \(.*?\))?; lines \d+-\d+; id=[0-9a-f]{32}/, 'the log crushed';
    like $got[$i][1], qr/"headroom_omitted":\{"count":\d+/, 'the item list crushed';
    like $got[$i][1], qr/job 42 failed: exit code 137/, 'the error line kept';
    like $got[$i][0], qr/^x-goog-api-key: test-key\r?$/mi, 'the credential goes on';
}
is $through->{text}, $direct->{text}, 'the SDK reads the answer as it did without the gateway';
like $through->{streamed}, qr/^recorded \d+-\d+$/, 'and the streamed answer, frame by frame';
unlike $log, qr/\[(alert|emerg|crit)\]/, 'no alert in the gateway log';
my $access = do { local $/; open my $fh, '<', "$dir/access.log" or die; <$fh> };
like $access, qr/headroom=optimized model=gemini-2\.5-flash /, 'the access log names the model from the path';

kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;
done_testing();
