# The results' cache (headroom_cache_zone): a request whose tool outputs
# were seen before reaches the provider byte for byte as it does through a
# gateway without the cache, in all four APIs and from either worker; an
# agent's 8-turn session works out only each turn's new output; another
# configuration or question never takes a result made for another; the
# originals of cached results are still kept for retrieval; a small zone
# evicts and refuses what is too large, and still rewrites right; the
# figures reach the status output and Prometheus; nginx -t names the
# directive.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded free_port);
use Transport;
use Bodies;
use Retrieve;

my $JSON = JSON::PP->new->utf8->canonical;
my $dir = File::Temp::tempdir('headroom-cache-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);

sub gateway {
    my (%o) = @_;
    return start_gateway(
        workers => $o{workers} // 2,
        http_config => "headroom_zone hz 1m;\n"
            . "headroom_ccr_zone ccr 4m ttl=1s;\n"
            . ($o{cache} ? "headroom_cache_zone results $o{cache};\n" : ''),
        config => qq(
            location /v1 { headroom on; proxy_pass http://127.0.0.1:$rec_port; }
            location /v1beta { headroom on; proxy_pass http://127.0.0.1:$rec_port; }
            location /fewer/ {
                headroom on;
                headroom_json_max_items 10;
                headroom_json_keep_first 1;
                headroom_json_keep_last 1;
                headroom_log_values 0.9;
                proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /ccr/ {
                headroom on;
                headroom_ccr on;
                proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /headroom/ccr/ { headroom_ccr_endpoint; }
            location /status { headroom_status; }),
    );
}

# POSTs $body to $uri through $gw; returns the bytes the provider got.
sub sent {
    my ($gw, $uri, $body, @headers) = @_;
    my $r = http_request($gw->{port}, uri => $uri, body => $body, headers => \@headers);
    die "status $r->{status}: $r->{body}" unless $r->{status} == 200;
    my @got = recorded($dir);
    return @got ? $got[-1][1] : '';
}

sub cache_figures { status_json($_[0]{port})->{cache} // {} }

my $plain = gateway(workers => 1);
my $gw = gateway(cache => '16m');

# --- the same bytes as without the cache --------------------------------------

# Each line names its log: without ../shared, loghub_log gives one
# synthetic log for every name, and these must differ.
my %logs = map { my $n = $_; $n => join('', map { "$n $_\n" } split /\n/, loghub_log($n)) }
    qw(HDFS Hadoop Spark Zookeeper BGL HPC Linux OpenSSH);
my $log = $logs{HDFS};

for my $api (APIS) {
    my $body = turn1($api, $log);
    my $want = sent($plain, api_uri($api), $body);
    isnt $want, $body, "$api: the output is rewritten";
    my $before = cache_figures($gw);
    # enough requests that both workers answer some, from the cache
    my @got = map { sent($gw, api_uri($api), $body) } 1 .. 6;
    is scalar(grep { $_ ne $want } @got), 0, "$api: six requests, each byte for byte as without the cache";
    my $after = cache_figures($gw);
    my $looked = ($after->{hits} + $after->{misses}) - ($before->{hits} + $before->{misses});
    cmp_ok $looked, '>=', 6, "$api: every request looked its output up";
    cmp_ok $after->{hits} - $before->{hits}, '>=', 5, "$api: and found it after the first";
}

# --- an agent's session: each turn works out only its new output -------------

sub session_turn {
    my ($api, $n) = @_;
    my @names = sort keys %logs;
    # a question of each API's own: the sessions share no result
    my @m = ($api eq 'openai_chat' ? '{"role":"user","content":"Which service failed first?"}'
                                   : '{"role":"user","content":"Which node failed first?"}');
    for my $k (1 .. $n) {
        my $out = jstr(substr($logs{ $names[$k - 1] }, 0, 24000) . "turn $k\n");
        if ($api eq 'openai_chat') {
            push @m, qq({"role":"assistant","content":null,"tool_calls":[{"id":"call_$k","type":"function","function":{"name":"sh","arguments":"{}"}}]}),
                     qq({"role":"tool","tool_call_id":"call_$k","content":$out});
        } else {
            push @m, qq({"role":"assistant","content":[{"type":"tool_use","id":"toolu_$k","name":"sh","input":{}}]}),
                     qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$k","content":$out}]});
        }
    }
    my $list = join ',', @m;
    return qq({"model":"gpt-4o","messages":[$list]}) if $api eq 'openai_chat';
    return qq({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[$list]});
}

for my $api (qw(openai_chat anthropic_messages)) {
    my (@hits, @misses, $same);
    $same = 1;
    for my $n (1 .. 8) {
        my $body = session_turn($api, $n);
        my $want = sent($plain, api_uri($api), $body);
        my $before = cache_figures($gw);
        my $got = sent($gw, api_uri($api), $body);
        my $after = cache_figures($gw);
        $same &&= $got eq $want;
        push @hits, $after->{hits} - $before->{hits};
        push @misses, $after->{misses} - $before->{misses};
    }
    ok $same, "$api session: every turn byte for byte as without the cache";
    is "@misses", '1 1 1 1 1 1 1 1', "$api session: one output worked out per turn";
    is "@hits", '0 1 2 3 4 5 6 7', "$api session: every earlier output from the cache";
}

# --- another configuration, another question: never another's result ---------

{
    # JSON: the other location keeps 10 items of a long array, not 30
    my $body = turn1('openai_chat', pretty(records(100)));
    my $want_here = sent($plain, '/v1/chat/completions', $body);
    my $want_there = sent($plain, '/fewer/v1/chat/completions', $body);
    isnt $want_there, $want_here, 'the other location crushes otherwise';
    sent($gw, '/v1/chat/completions', $body);
    my $before = cache_figures($gw);
    is sent($gw, '/fewer/v1/chat/completions', $body), $want_there, 'the other location: its own result';
    my $after = cache_figures($gw);
    is $after->{hits} - $before->{hits}, 0, 'not the first location\'s';
    (my $asked = $body) =~ s/Why did the job fail\?/Which blocks were served?/;
    $before = $after;
    is sent($gw, '/v1/chat/completions', $asked), sent($plain, '/v1/chat/completions', $asked),
        'another question: its own result';
    is cache_figures($gw)->{hits} - $before->{hits}, 0, 'worked out, not taken from the cache';
}

# --- originals of cached results are still kept -------------------------------

{
    my $body = turn1('openai_chat', $logs{Hadoop});
    my @auth = ('Authorization: Bearer key-cache');
    my %ids = markers_in(sent($gw, '/ccr/v1/chat/completions', $body, @auth));
    my ($id) = keys %ids;
    ok $id, 'a marker names the original';
    sleep 1.3;    # the zone's ttl: the original is gone
    is http_request($gw->{port}, method => 'GET', uri => "/headroom/ccr/$id", headers => \@auth)->{status},
        404, 'expired from the originals\' zone';
    my $before = cache_figures($gw);
    my %again = markers_in(sent($gw, '/ccr/v1/chat/completions', $body, @auth));
    is cache_figures($gw)->{hits} - $before->{hits}, 1, 'the next turn takes the result from the cache';
    ok exists $again{$id}, 'with the same id';
    my $r = http_request($gw->{port}, method => 'GET', uri => "/headroom/ccr/$id", headers => \@auth);
    is $r->{status}, 200, 'and the original is kept again';
    is $r->{body}, $logs{Hadoop}, 'byte for byte';
}

# --- a small zone ---------------------------------------------------------------

{
    my $small = gateway(cache => '32k', workers => 1);
    my $want = sent($plain, '/v1/chat/completions', turn1('openai_chat', $logs{BGL}));
    is sent($small, '/v1/chat/completions', turn1('openai_chat', $logs{BGL})), $want,
        'a result too large for the zone: rewritten all the same';
    my ($same, $n) = (1, 0);
    for my $name (sort keys %logs) {
        # entries of a few KB: under the 4 KB (an eighth) a 32k zone keeps
        for my $at (0, 1500, 3000, 4500, 6000) {
            my $body = turn1('openai_chat', substr($logs{$name}, $at, 1500));
            my $w = sent($plain, '/v1/chat/completions', $body);
            $same &&= sent($small, '/v1/chat/completions', $body) eq $w;
            $same &&= sent($small, '/v1/chat/completions', $body) eq $w;
            $n++;
        }
    }
    ok $same, "small zone: $n outputs, twice each, as without the cache";
    my $f = cache_figures($small);
    cmp_ok $f->{too_large}, '>=', 1, 'too large counted';
    cmp_ok $f->{evicted}, '>=', 1, 'evictions counted';
    cmp_ok $f->{hits}, '>=', 1, 'hits still';
    my $prom = http_request($small->{port}, method => 'GET', uri => '/status?format=prometheus')->{body};
    like $prom, qr/^headroom_cache_lookups_total\{result="hit"\} $f->{hits}$/m, 'Prometheus: hits';
    like $prom, qr/^headroom_cache_lookups_total\{result="miss"\} $f->{misses}$/m, 'Prometheus: misses';
    like $prom, qr/^headroom_cache_dropped_total\{why="evicted"\} \d+$/m, 'Prometheus: evictions';
    like $prom, qr/^headroom_cache_kept_bytes \d+$/m, 'Prometheus: bytes kept';
    is_deeply [bad_log_lines($small)], [], 'no alert in the small gateway\'s log';
    stop_gateway($small);
}

my $f = cache_figures($gw);
is $f->{zone}, 'results', 'status: the zone';
cmp_ok $f->{kept}, '>', 0, 'status: results kept';
cmp_ok $f->{kept_bytes}, '>', 0, 'status: their bytes';
is $f->{evicted}, 0, 'status: none evicted from 16m';

# --- nginx -t ---------------------------------------------------------------------

{
    my $check = sub { nginx_t(http => $_[0], location => 'headroom on;') };
    my ($rc, $out) = $check->('headroom_cache_zone c 4k;');
    like $out, qr/"headroom_cache_zone" "c" needs a size of at least \d+k, not "4k"/, 'too small';
    ($rc, $out) = $check->('headroom_cache_zone c lots;');
    like $out, qr/"headroom_cache_zone" "c" has an invalid size "lots"/, 'not a size';
    ($rc, $out) = $check->('headroom_cache_zone c 1m; headroom_cache_zone d 1m;');
    like $out, qr/"headroom_cache_zone" directive is duplicate/, 'one cache';
    ($rc, $out) = $check->('headroom_cache_zone c;');
    like $out, qr/invalid number of arguments in "headroom_cache_zone"/, 'a size is needed';
    ($rc, $out) = $check->('headroom_cache_zone c 1m;');
    is $rc, 0, 'a good one passes' or diag $out;
}

is_deeply [bad_log_lines($gw)], [], 'no alert in the log';
stop_gateway($_) for $gw, $plain;
kill 'TERM', $rec_pid;
done_testing;
