# headroom_retire through the real module: a 30-turn agent session in each
# API whose old tool outputs are replaced by markers in whole batches (what
# the provider gets on each turn starts with what it got on the turn
# before, but on the turns where a batch went), protected tools' outputs
# untouched, an original the model asked back with headroom_retrieve never
# retired, each retired original served again by the store under the id
# its marker names, and nginx -t refusing what cannot work.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use HeadroomTest qw(start_recorder recorded);
use Transport;
use Bodies qw(jstr);
use Retrieve qw(APIS api_uri credential);
use Sessions;

my $dir = File::Temp::tempdir('headroom-retire-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);

my $gw = start_gateway(
    workers => 2,
    http_config => "headroom_ccr_zone ccr 8m;\nheadroom_cache_zone results 8m;\n",
    config => qq(
            location /v1 {
                headroom on;
                headroom_ccr on;
                headroom_retire after=4 batch=4000;
                headroom_protect_tools secret_*;
                add_header X-Transforms \$headroom_transforms always;
                proxy_pass http://127.0.0.1:$rec_port;
            }
            location /headroom/ccr/ { headroom_ccr_endpoint; }),
);

my $JSON = JSON::PP->new->utf8->canonical;
my $ERROR = '<tool_use_error>Error: No such tool available: headroom_retrieve</tool_use_error>';

# Turn $t's output: one line of text no crusher changes, about 900 tokens.
sub output { my ($t) = @_; return "listing $t: " . join ' ', map { "t${t}w$_" } 1 .. 300 }
sub tool_of { my ($t) = @_; return $t % 7 == 3 ? 'secret_reader' : 'sh' }

# Retired markers in a body: [tool, tokens, id], in order.
sub retired_in {
    my ($text) = @_;
    my @m;
    while ($text =~ /\[headroom: output of (\S+) retired \((\d+) tokens; first line: [^\]]*?\); headroom_retrieve id=([0-9a-f]{32})\]/g) {
        push @m, [$1, $2, $3];
    }
    return @m;
}

for my $api (APIS) {
    my @messages;
    my ($prev, $changes, $batches, $prev_count, $asked) = ('', 0, 0, 0, undef);
    my (%original_of, $fill_seen_after, $broken);
    for my $t (1 .. 30) {
        if ($t == 18) {
            # The model asks back the first output retired; the client
            # answers with an error, which headroom fills from the store.
            $asked = $JSON->encode({ id => $original_of{first} });
            push @messages, agent_turn($api, $t, tool => 'headroom_retrieve', args => $asked, result => $ERROR, error => 1);
        } else {
            push @messages, agent_turn($api, $t, tool => tool_of($t), args => '{"cmd":"ls"}', result => output($t));
            $original_of{$t} = output($t);
        }
        my $r = http_request($gw->{port}, uri => api_uri($api), body => agent_body($api, { tools => 1 }, @messages),
                             headers => [credential($api, 'key-a')]);
        my @got = recorded($dir);
        unless ($r->{status} == 200 && @got == 1) { $broken = "turn $t: status $r->{status}"; last }
        my $sent = $got[0][1];
        my $doc = eval { decode_json($sent) };
        unless ($doc) { $broken = "turn $t: not JSON"; last }
        my @retired = retired_in($sent);
        $original_of{first} //= $retired[0][2] if @retired;
        # Protected tools' outputs and the original given back stay.
        for (@retired) {
            $broken = "turn $t: $_->[0] retired" if $_->[0] ne 'sh';
        }
        for my $k (grep { tool_of($_) ne 'sh' && $_ != 18 } 1 .. $t) {
            $broken = "turn $t: the output of turn $k changed" unless index($sent, jstr(output($k))) >= 0;
        }
        # The last four outputs are never retired.
        for my $k (grep { $_ != 18 } $t - 3 .. $t) {
            next if $k < 1;
            $broken = "turn $t: recent output $k gone" unless index($sent, output($k)) >= 0;
        }
        if ($t > 18) {
            $fill_seen_after++ if $sent =~ /\[headroom: [^\]]*$original_of{first}/ && index($sent, output(1)) >= 0;
        }
        like $r->{headers}{'x-transforms'} // '', qr/\bretire\b/, "$api: turn $t says retire" if @retired;
        if ($prev ne '') {
            # What was sent before is sent again, up to the closing brackets.
            my $same = substr($sent, 0, length($prev) - 2) eq substr($prev, 0, length($prev) - 2);
            if (@retired == $prev_count) {
                $broken = "turn $t: the prefix changed without a new batch" unless $same;
            } else {
                $changes++ unless $same;
            }
        }
        $batches++ if @retired != $prev_count;
        $broken = "turn $t: fewer retired than before" if @retired < $prev_count;
        ($prev, $prev_count) = ($sent, scalar @retired);
        last if $broken;
    }
    note "$api: a marker: ", $prev =~ /(\[headroom: output of [^\]]*\])/;
    ok !$broken, "$api: 30 turns, the retired part stable between batches" or diag $broken;
    ok $batches >= 4 && $batches <= 8, "$api: retired in $batches batches";
    is $changes, $batches, "$api: the sent prefix changed once per batch, never otherwise";
    ok $prev_count >= 15, "$api: $prev_count outputs retired by turn 30";
    is $fill_seen_after, 12, "$api: the original asked back stays on every later turn";

    # Each retired original is in the store under its marker's id.
    my @ids = map { $_->[2] } retired_in($prev);
    my $r = http_request($gw->{port}, method => 'GET', uri => "/headroom/ccr/$ids[0]",
                         headers => [credential($api, 'key-a')]);
    is $r->{status}, 200, "$api: the first retired original is served";
    # Gemini's output is a structured value: its original, compact JSON.
    is $r->{body}, $api eq 'gemini' ? '{"output":' . jstr(output(1)) . '}' : output(1), "$api: byte for byte";
    $r = http_request($gw->{port}, method => 'GET', uri => "/headroom/ccr/$ids[-1]",
                      headers => [credential($api, 'key-a')]);
    like $r->{body}, qr/^(?:\{"output":")?listing \d+: t\d+w1 /, "$api: the newest retired original is served";
}

is_deeply [bad_log_lines($gw)], [], 'no alert, crit or emerg in the error log';
stop_gateway($gw);

# --- nginx -t ---------------------------------------------------------------

my ($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_retire after=3;');
ok $rc && $out =~ /"headroom_retire" needs "headroom_ccr on"/, 'nginx -t: retiring without the store' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_retire batch=10;');
ok $rc && $out =~ /"headroom_retire" needs after=N/, 'nginx -t: no after=' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_retire after=3 batch=0;');
ok $rc && $out =~ /"headroom_retire" takes after=N .* not "batch=0"/, 'nginx -t: a batch of 0' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_retire after=3 after=4;');
ok $rc && $out =~ /not "after=4"/, 'nginx -t: after= twice' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_retire after=x;');
ok $rc && $out =~ /not "after=x"/, 'nginx -t: a bad count' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_retire after=3 min_tokens=50 batch=16k;');
is $rc, 0, 'nginx -t: every argument' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m; headroom_retire after=2;', location => 'headroom on; headroom_ccr on; headroom_retire off;');
is $rc, 0, 'nginx -t: off in a location' or diag $out;

done_testing;
