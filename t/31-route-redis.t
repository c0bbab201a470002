# Sticky routes across gateway nodes: two nginx instances with the same
# rules share a real redis-server started here (persistence off). A
# session's turns alternate between the nodes; the node that first meets
# it decides (SET NX in Redis), and the other, meeting it later with turns
# its rules would send elsewhere, takes that route from Redis before the
# request goes on: one model for all eight turns, on both nodes. Redis out
# of reach: each node decides on its own, and requests go on.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use HeadroomTest qw(start_recorder recorded free_port);
use Transport;
use Bodies qw(agent_session);
use Redis;
use Time::HiRes qw(sleep);

plan skip_all => 'redis-server is not installed (make test installs it)' unless have_redis();

my $dir = File::Temp::tempdir('headroom-route-redis-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);
my $redis = start_redis();

sub node {
    my ($redis_port, $threads) = @_;
    return start_gateway(
        workers => 2,
        main_config => $threads ? 'thread_pool hp threads=2;' : '',
        http_config => "headroom_route_zone sessions 1m;\n"
            . "headroom_redis 127.0.0.1:$redis_port timeout=300ms;\n",
        config => qq(
            location / {
                headroom on;
                @{[ $threads ? 'headroom_thread_pool hp; headroom_thread_offload 1k;' : '' ]}
                headroom_route hard if-text=prove to=thinker;
                headroom_route tiny if-tokens<300 to=mini;
                add_header X-Route \$headroom_route always;
                add_header X-Model-Out \$headroom_model_out always;
                proxy_pass http://127.0.0.1:$rec_port;
            }),
    );
}

sub post {
    my ($gw, $body) = @_;
    my $r = http_request($gw->{port}, uri => '/v1/messages', body => $body);
    die "status $r->{status}: $r->{body}" unless $r->{status} == 200;
    my @got = recorded($dir);
    my ($model) = @got == 1 ? $got[0][1] =~ /^\{"model":"([^"]+)"/ : ();
    return [$r->{headers}{'x-route'}, $model // '?'];
}

my $a = node($redis->{port});
my $b = node($redis->{port});

{
    my @turns = agent_session('hello', 8);
    my @seen = map { post($_ % 2 ? $b : $a, $turns[$_]) } 0 .. 7;
    is_deeply \@seen, [(['tiny', 'mini']) x 8], 'one session, turns on two nodes: one route and one model';
    my @keys = @{ redis_cmd($redis, 'KEYS', 'headroom:route:*') };
    is scalar @keys, 1, 'Redis keeps the session once';
    is redis_cmd($redis, 'GET', $keys[0]), 'tiny', 'under the route it began with';
    my $ttl = redis_cmd($redis, 'PTTL', $keys[0]);
    ok $ttl > 3_500_000 && $ttl <= 3_600_000, "with the zone's ttl, renewed as it is used ($ttl ms)";

    # Begun on B this time: A, whose rules would say otherwise, follows.
    my @other = agent_session('prove the lemma', 3);
    my @seen2 = map { post($_ % 2 ? $a : $b, $other[$_]) } 0 .. 2;
    is_deeply \@seen2, [(['hard', 'thinker']) x 3], 'another session keeps its own route on both nodes';
}

# A session a node decided while Redis held another's word for it: the
# node takes Redis's.
{
    my @turns = agent_session('quiet start', 2);
    my $first = post($a, $turns[0]);
    is_deeply $first, ['tiny', 'mini'], 'a session begins on A';
    my ($key) = grep { redis_cmd($redis, 'GET', $_) eq 'tiny' } @{ redis_cmd($redis, 'KEYS', 'headroom:route:*') };
    ok $key, 'and is in Redis';
}

# Redis lost its keys (a restart without persistence): the next request
# of a session writes its route back.
{
    my @turns = agent_session('kept through a flush', 3);
    post($a, $turns[0]);
    redis_cmd($redis, 'FLUSHALL');
    is_deeply post($a, $turns[1]), ['tiny', 'mini'], 'after Redis lost it, the session keeps its route here';
    sleep 0.2;
    is_deeply [map { redis_cmd($redis, 'GET', $_) } @{ redis_cmd($redis, 'KEYS', 'headroom:route:*') }], ['tiny'],
        'and writes it back to Redis';
    is_deeply post($b, $turns[2]), ['tiny', 'mini'], 'where another node finds it';
}

# A session's first request on a node that works it out in a thread does
# not wait for Redis: it goes by that node's rules, and the session's next
# requests there follow Redis.
{
    my $t = node($redis->{port}, 1);
    my @turns = agent_session('threads', 3);
    is_deeply post($a, $turns[0]), ['tiny', 'mini'], 'a session begins on A';
    post($t, $turns[1]);
    like gateway_log($t), qr/in a thread/, 'its next turn is worked out in a thread on another node';
    sleep 0.2;
    is_deeply post($t, $turns[2]), ['tiny', 'mini'], 'the turn after follows the route Redis holds';
    is_deeply [bad_log_lines($t)], [], 'no alerts or crashes on the threaded node';
    stop_gateway($t);
}

for my $gw ($a, $b) {
    is_deeply [bad_log_lines($gw)], [], 'no alerts or crashes in a node\'s error log';
    stop_gateway($gw);
}

# Redis out of reach: the node decides, and the request goes on.
{
    my $c = node(free_port());
    my @turns = agent_session('alone', 2);
    is_deeply post($c, $turns[0]), ['tiny', 'mini'], 'Redis down: the node decides';
    is_deeply post($c, $turns[1]), ['tiny', 'mini'], 'and keeps its decision';
    is_deeply [bad_log_lines($c)], [], 'no alerts or crashes';
    stop_gateway($c);
}
stop_redis($redis);

done_testing;
