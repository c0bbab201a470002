# Reversible compression across gateway nodes: two nginx instances (two
# workers each, each with its own zone) share a real redis-server started
# here (persistence off). An original crushed through A is had through B,
# by the next-turn fill and by the endpoint; another credential gets
# nothing. Redis stopped: requests still go through, rewritten, and the
# errors are counted; started again: writes resume without a reload.
# Redis that accepts and never answers: a retrieval waits for the timeout,
# then says "not available right now".
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use HeadroomTest qw(start_recorder recorded start_server);
use Transport;
use Bodies;
use Retrieve;
use Redis;

plan skip_all => 'redis-server is not installed (make test installs it)' unless have_redis();

my $dir = File::Temp::tempdir('headroom-ccr-redis-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);
my $redis = start_redis();

sub gateway {
    my ($redis_addr, $timeout) = @_;
    return start_gateway(
        workers => 2,
        http_config => "headroom_zone hz 1m;\nheadroom_ccr_zone ccr 4m;\n"
            . "headroom_redis $redis_addr prefix=hr: timeout=$timeout;\n",
        config => qq(
            location /v1 {
                headroom on;
                headroom_ccr on;
                proxy_pass http://127.0.0.1:$rec_port;
            }
            location /headroom/ccr/ { headroom_ccr_endpoint; }
            location /status { headroom_status; }),
    );
}

sub send_turn {
    my ($gw, $api, $key, $body) = @_;
    my $t0 = time;
    my $r = http_request($gw->{port}, uri => api_uri($api), body => $body,
                         headers => [credential($api, $key)]);
    $r->{seconds} = time - $t0;
    my @got = recorded($dir);
    return ($r, @got ? $got[-1][1] : '');
}

sub a_log {
    my ($tag) = @_;
    return join '', map { "2024-06-01 10:$_:00 INFO job $tag step $_ finished in ${_}ms\n" } 10 .. 99;
}

my @gw = map { gateway("127.0.0.1:$redis->{port}", '1s') } 1, 2;
my $api = 'anthropic_messages';

# --- A stores, B retrieves -------------------------------------------------

my $text = loghub_log('HDFS');
my @lines = split /\n/, $text;
my ($r, $sent) = send_turn($gw[0], $api, 'key-a', turn1($api, $text));
my ($id) = keys %{{ markers_in($sent) }};
ok $id, 'A crushed the log and named its original';
my @keys = @{ redis_cmd($redis, 'KEYS', 'hr:ccr:*') };
is scalar(grep { /:$id$/ } @keys), 1, 'Redis has it, under the prefix, the tenant and the id';
my ($key) = grep { /:$id$/ } @keys;
my $stored = redis_cmd($redis, 'GET', $key);
ok $stored eq $text, 'Redis has it byte for byte' or diag length($stored) . ' bytes, not ' . length($text);
my $pttl = redis_cmd($redis, 'PTTL', $key);
ok $pttl > 3_500_000 && $pttl <= 3_600_000, "with the zone's ttl (1h): $pttl ms left";
unlike $key, qr/key-a/, 'the key holds no credential';

($r, $sent) = send_turn($gw[1], $api, 'key-a', turn2($api, $text, { id => $id, lines => '10-12' }));
my ($filled, $error) = retrieval_result($api, $sent);
is $filled, "[headroom: original $id, lines 10-12 of " . scalar(@lines) . "]\n" . join("\n", @lines[9 .. 11]),
    'B filled the retrieval from Redis';
ok !$error, 'no longer an error';
(undef, my $again) = send_turn($gw[1], $api, 'key-a', turn2($api, $text, { id => $id, lines => '10-12' }));
ok $again eq $sent, 'the next turn through B sends the same bytes (from its zone now)';
(undef, $again) = send_turn($gw[0], $api, 'key-a', turn2($api, $text, { id => $id, lines => '10-12' }));
ok $again eq $sent, 'and through A the same bytes';

(undef, $sent) = send_turn($gw[1], $api, 'key-other', turn2($api, $text, { id => $id }));
like retrieval_result($api, $sent), qr/^\[headroom: original $id is not kept for this credential/,
    'another credential gets nothing through B';

# the endpoint on B, for an original only A and Redis have
my $text2 = a_log('two');
(undef, $sent) = send_turn($gw[0], $api, 'key-a', turn1($api, $text2));
my ($id2) = keys %{{ markers_in($sent) }};
$r = http_request($gw[1]{port}, method => 'GET', uri => "/headroom/ccr/$id2", headers => ['x-api-key: key-a']);
is $r->{status}, 200, 'B\'s endpoint reads Redis when its zone misses';
ok $r->{body} eq $text2, 'byte for byte';
is http_request($gw[1]{port}, method => 'GET', uri => "/headroom/ccr/$id2",
                headers => ['x-api-key: key-b'])->{status}, 404, 'another credential: 404';

my $s = status_json($gw[1]{port})->{ccr};
cmp_ok $s->{redis}{reads}, '>=', 2, 'B counts its Redis reads';
cmp_ok $s->{redis}{hits}, '>=', 2, 'and their hits';
is $s->{redis}{errors}, 0, 'and no errors';
cmp_ok status_json($gw[0]{port})->{ccr}{redis}{writes}, '>=', 2, 'A counts its Redis writes';

# --- an 8-turn session with two retrievals, through A and B in turn ----------------
#
# Each turn resends the turns before it byte for byte; what reaches the
# provider for turn k must start with what reached it for turn k-1 (the
# prompt cache's prefix), whichever node it went through.

{
    my @outputs = (loghub_log('HDFS'), undef, grep_output(), "ok: 3 files written\n",
                   loghub_log('Apache'), undef, "All tests passed.\n", "done\n");
    my @m = ('{"role":"user","content":"Find out why the build fails."}');
    my ($prev, @ids, $fills) = (undef);
    $fills = 0;
    for my $k (1 .. 8) {
        my $call;
        if (defined $outputs[$k - 1]) {
            push @m, qq({"role":"assistant","content":[{"type":"tool_use","id":"toolu_$k","name":"sh","input":{"step":$k}}]}),
                     qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$k","content":) . jstr($outputs[$k - 1]) . '}]}';
        } else {
            # the model asks for lines of the newest original
            my $args = $k == 2 ? qq({"id":"$ids[-1]","lines":"1-20"}) : qq({"id":"$ids[-1]","grep":"error"});
            push @m, qq({"role":"assistant","content":[{"type":"tool_use","id":"toolu_$k","name":"headroom_retrieve","input":$args}]}),
                     qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$k","is_error":true,"content":"<tool_use_error>Error: No such tool available: headroom_retrieve</tool_use_error>"}]});
        }
        my $body = '{"model":"claude-sonnet-4-5","max_tokens":1024,"tools":[{"name":"sh","input_schema":{"type":"object"}}],"messages":['
                   . join(',', @m) . ']}';
        my (undef, $sent) = send_turn($gw[$k % 2], $api, 'key-session', $body);
        my %ids = markers_in($sent);
        push @ids, sort keys %ids;
        @ids = do { my %s; grep { !$s{$_}++ } @ids };
        $fills++ if $sent =~ /"tool_use_id":"toolu_$k","is_error":false,"content":"\[headroom: original [0-9a-f]{32}, /;
        ok substr($sent, -2) eq ']}', "session turn $k: the request ends as it did";
        my $upto = substr($sent, 0, length($sent) - 2);
        if (defined $prev) {
            ok index($upto, "$prev,") == 0, "session turn $k (through " . ($k % 2 ? 'B' : 'A')
                . "): starts with turn " . ($k - 1) . "'s bytes";
        }
        $prev = $upto;
        push @m, qq({"role":"assistant","content":"Turn $k done."}), '{"role":"user","content":"Go on."}' if $k < 8;
    }
    is $fills, 2, 'session: both retrievals were filled';
}

# --- the wait, whoever reads the body, over HTTP/1 and HTTP/2 -----------------------
#
# A third node, its zone empty: each fill must wait for Redis. Over HTTP/2
# (curl), and where Lua's access_by_lua reads the body before headroom's
# phase handler (ngx.req.read_body), over both.

SKIP: {
    my $lua = lua_modules();
    skip 'the Lua module is not installed', 8 unless $lua;
    my $c = start_gateway(
        workers => 2,
        main_config => $lua,
        http_config => "headroom_ccr_zone ccr 4m;\n"
            . "headroom_redis 127.0.0.1:$redis->{port} prefix=hr: timeout=1s;\n",
        config => qq(
            location /v1 {
                headroom on;
                headroom_ccr on;
                proxy_pass http://127.0.0.1:$rec_port;
            }
            location /lua/v1 {
                headroom on;
                headroom_ccr on;
                access_by_lua_block {
                    ngx.req.read_body()
                    local b = ngx.req.get_body_data()
                    ngx.log(ngx.NOTICE, "lua read ", b and #b or -1, " bytes")
                }
                proxy_pass http://127.0.0.1:$rec_port/v1;
            }),
    );
    my $n = 0;
    for my $case (['HTTP/2', '/v1/messages', 1], ['Lua, HTTP/1', '/lua/v1/messages', 0],
                  ['Lua, HTTP/2', '/lua/v1/messages', 1]) {
        my ($name, $uri, $h2) = @$case;
        my $orig = a_log("wait-" . ++$n);
        my (undef, $sent) = send_turn($gw[0], $api, 'key-wait', turn1($api, $orig));
        my ($wid) = keys %{{ markers_in($sent) }};
        my $turn = turn2($api, $orig, { id => $wid, lines => '2' });
        if ($h2) {
            open my $fh, '>:raw', "$dir/h2-body" or die;
            print $fh $turn;
            close $fh;
            my $code = `curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Content-Type: application/json' -H 'x-api-key: key-wait' --data-binary \@$dir/h2-body http://127.0.0.1:$c->{h2}$uri`;
            is $code, 200, "$name: answered";
        } else {
            my $r = http_request($c->{port}, uri => $uri, body => $turn, headers => ['x-api-key: key-wait']);
            is $r->{status}, 200, "$name: answered";
        }
        my @got = recorded($dir);
        my $second = (split /\n/, $orig)[1];
        is retrieval_result($api, @got ? $got[-1][1] : ''), "[headroom: original $wid, lines 2 of 90]\n$second",
            "$name: the fill waited for Redis";
    }
    my $clog = stop_gateway($c);
    my @bad = bad_log_lines($clog);
    is "@bad", '', 'the waits: no alert, crit, emerg or crash';
    my @lua = $clog =~ /lua read (\d+) bytes/g;
    is scalar(@lua), 2, 'Lua read both bodies (after the wait: the rewritten ones)';
}

# --- Redis stopped ----------------------------------------------------------------

stop_redis($redis);
my $text3 = a_log('three');
($r, $sent) = send_turn($gw[0], $api, 'key-a', turn1($api, $text3));
is $r->{status}, 200, 'Redis down: the request still goes through';
my ($id3) = keys %{{ markers_in($sent) }};
ok $id3, 'and is rewritten';
is http_request($gw[0]{port}, method => 'GET', uri => "/headroom/ccr/$id3",
                headers => ['x-api-key: key-a'])->{status}, 200, 'the zone keeps working';
($r, $sent) = send_turn($gw[1], $api, 'key-a', turn2($api, $text3, { id => $id3 }));
like retrieval_result($api, $sent), qr/^\[headroom: original $id3 is not available right now/,
    'a fill that needs Redis says it is not available right now';
cmp_ok $r->{seconds}, '<', 1.5, 'without waiting for it';
cmp_ok status_json($gw[0]{port})->{ccr}{redis}{errors}, '>', 0, 'the errors are counted';

# --- started again -------------------------------------------------------------------

$redis = start_redis(port => $redis->{port}, dir => $redis->{dir});
my $back = 0;
for my $n (1 .. 20) {
    sleep 0.5;
    my (undef, $sent) = send_turn($gw[0], $api, 'key-a', turn1($api, a_log("again-$n")));
    my ($idn) = keys %{{ markers_in($sent) }};
    if (@{ redis_cmd($redis, 'KEYS', "hr:ccr:*:$idn") }) {
        $back = $n;
        last;
    }
}
ok $back, "Redis started again: writes resume without a reload (after ${back} tries)";

# --- Redis that never answers ---------------------------------------------------------

my ($hole_pid, $hole_port) = start_server('black hole', sub {
    my ($c) = @_;
    1 while sysread($c, my $buf, 65536);
});
my $slow = gateway("127.0.0.1:$hole_port", '300ms');
($r, $sent) = send_turn($slow, $api, 'key-a', turn1($api, a_log('slow')));
is $r->{status}, 200, 'a silent Redis: the request still goes through';
($r, $sent) = send_turn($slow, $api, 'key-a', turn2($api, $text, { id => 'e' x 32 }));
like retrieval_result($api, $sent), qr/^\[headroom: original e{32} is not available right now/,
    'a fill that waited past the timeout says not available right now';
cmp_ok $r->{seconds}, '<', 2, "after the timeout, not the client's ($r->{seconds} s)";
sleep 0.5;
cmp_ok status_json($slow->{port})->{ccr}{redis}{errors}, '>', 0, 'the silence is counted';

# --- a Redis out of step: a reply for every command, and one nobody asked for ----------

my ($odd_pid, $odd_port) = start_server('odd redis', sub {
    my ($c) = @_;
    while (sysread($c, my $buf, 65536)) {
        my $n = () = $buf =~ /^\*\d+\r$/mg;
        syswrite $c, "\$3\r\nabc\r\n+OK\r\n" x $n;
    }
});
my $odd = gateway("127.0.0.1:$odd_port", '300ms');
($r, $sent) = send_turn($odd, $api, 'key-a', turn2($api, $text, { id => 'b' x 32 }));
is $r->{status}, 200, 'an out-of-step Redis: the request still goes through';
like retrieval_result($api, $sent), qr/^\[headroom: original b{32}(?: is not available right now|, all 1 line\]\nabc)/,
    'the fill says what came, or that nothing did';
sleep 0.3;
($r) = send_turn($odd, $api, 'key-a', turn2($api, $text, { id => 'c' x 32 }));
is $r->{status}, 200, 'and the next request too (no worker died)';
my $odd_log = stop_gateway($odd);
like $odd_log, qr/a reply nobody asked for/, 'the stray reply is named in the log';
my @odd_bad = bad_log_lines($odd_log);
is "@odd_bad", '', 'no alert, crit, emerg or crash';
kill 'TERM', $odd_pid;
waitpid $odd_pid, 0;

for my $g (@gw, $slow) {
    my @bad = bad_log_lines(stop_gateway($g));
    is "@bad", '', 'no alert, crit, emerg or crash';
}
stop_redis($redis);
kill 'TERM', $rec_pid, $hole_pid;
waitpid $_, 0 for $rec_pid, $hole_pid;
done_testing;
