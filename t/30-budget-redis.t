# One budget across gateway nodes (headroom_budget ... redis=on): two
# nginx instances share a real redis-server started here (persistence off).
# Each answered call is one INCRBY of its cost in nano-dollars on a key per
# budget key and period (expiring a day after the period), whose reply, all
# nodes' spend, the node keeps beside its own; a node that has not served
# the key asks (GET, at most once a second) while the request goes on. So
# the spend of calls through A refuses calls through B, and B's through A
# within a second and one request. Redis out of reach: the local count
# decides, nothing fails, and the status says so. nginx -t: redis=on needs
# headroom_redis.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_server read_message free_port);
use Transport;
use Redis;

plan skip_all => 'redis-server is not installed (make test installs it)' unless have_redis();

my $CRLF = "\r\n";
my $dir = File::Temp::tempdir('headroom-budget-redis-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});

# Each call costs 0.005120 USD at the shipped gpt-4o prices (t/28).
my $usage = '{"id":"c","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":340,'
          . '"prompt_tokens_details":{"cached_tokens":1024}}}';
my $NANO = 5_120_000;
my ($srv_pid, $srv_port) = start_server('provider', sub {
    my ($c) = @_;
    my ($head) = read_message($c, 0);
    return unless defined $head;
    syswrite $c, "HTTP/1.1 200 OK${CRLF}Content-Type: application/json${CRLF}"
        . "Content-Length: " . length($usage) . "${CRLF}Connection: close$CRLF$CRLF$usage";
    close $c;
});

my $redis = start_redis();

sub node {
    my ($redis_port) = @_;
    return start_gateway(
        workers => 2,
        http_config => "headroom_zone hz 1m;\nheadroom_redis 127.0.0.1:$redis_port timeout=200ms;\n",
        config => qq(
            location /status { headroom_status; }
            location / {
                headroom on;
                headroom_budget zone=teams:1m key=\$http_x_team limit=0.008 per=day redis=on;
                proxy_pass http://127.0.0.1:$srv_port;
            }),
    );
}

sub call {
    my ($gw, $team) = @_;
    return http_request($gw->{port}, uri => '/v1/chat/completions',
                        body => '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
                        headers => ["X-Team: $team"])->{status};
}

# Redis's count of a key, once the replies are in.
my $day = time - time % 86400;
sub shared {
    my ($team) = @_;
    return redis_cmd($redis, 'GET', 'headroom:budget:teams:' . sha256_hex("day:$team") . ":$day");
}

my $a = node($redis->{port});
my $b = node($redis->{port});

is call($a, 'red'), 200, 'A serves the first call of a key';
sleep 0.2;
is shared('red'), $NANO, 'Redis holds its cost, in nano-dollars, under the key and the period';
my $ttl = redis_cmd($redis, 'TTL', 'headroom:budget:teams:' . sha256_hex('day:red') . ":$day");
ok $ttl > 86400 - 60 && $ttl <= 2 * 86400, "the key expires a day after the period ends (ttl $ttl)";
is call($b, 'red'), 200, 'B serves the second: the spend crosses the limit across the nodes';
sleep 0.2;
is shared('red'), 2 * $NANO, 'Redis holds both';
is call($b, 'red'), 429, 'B refuses the next one (its INCRBY said what both spent)';

# A asks Redis at most once a second: a request of the key after that
# asks, goes on with what A knew, and the next one is refused.
sleep 1.1;
my $first = call($a, 'red');
sleep 0.2;
is call($a, 'red'), 429, "A refuses within a second and one request (that one: $first)";
is call($a, 'blue'), 200, 'another key is served';

my $st = status_json($a->{port});
my ($zone) = grep { $_->{zone} eq 'teams' } @{ $st->{budgets} // [] };
is $zone->{redis}{up}, JSON::PP::true, 'the status says Redis answers';
ok $zone->{redis}{replies} > 0, 'and counts its replies';
my ($top) = grep { $_->{calls} >= 1 && $_->{usd} >= 0.01 } @{ $zone->{top} };
ok $top, 'the top keys show all nodes\' spend';

# Redis out of reach: the local count decides, and the status says so.
my $nowhere = free_port();
my $c = node($nowhere);
is call($c, 'green'), 200, 'Redis down: a call is served';
is call($c, 'green'), 200, 'the call that crosses the limit too';
is call($c, 'green'), 429, 'the next is refused by the local count';
$st = status_json($c->{port});
($zone) = grep { $_->{zone} eq 'teams' } @{ $st->{budgets} // [] };
is $zone->{redis}{up}, JSON::PP::false, 'the status says Redis is not answering';
ok $zone->{redis}{errors} > 0, 'and counts the errors';

for my $gw ($a, $b, $c) {
    is_deeply [bad_log_lines($gw)], [], 'no alerts or crashes in a node\'s error log';
    stop_gateway($gw);
}
stop_redis($redis);

{
    my ($rc, $out) = nginx_t(location => 'headroom on; headroom_budget zone=z:1m key=$http_x_team limit=1 per=day redis=on;');
    like $out, qr/"headroom_budget" with "redis=on" needs "headroom_redis"/, 'nginx -t: redis=on needs headroom_redis';
    ($rc, $out) = nginx_t(http => 'headroom_redis 127.0.0.1:6379;',
                          location => 'headroom on; headroom_budget zone=z:1m key=$http_x_team limit=1 per=day redis=on;');
    is $rc, 0, 'and passes with it, without a headroom_ccr_zone' or diag $out;
}

done_testing;
