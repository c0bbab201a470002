# Reversible compression in one gateway (two workers, the zone only): every
# original a marker names is kept under the request's tenant; the model's
# headroom_retrieve calls are answered in the next turn in all four APIs;
# the operator endpoint answers the same; a tiny zone evicts, a short ttl
# expires and slides; nginx -t refuses a store without users and the
# reverse.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded free_port write_all);
use IO::Socket::INET;
use Transport;
use Bodies;
use Retrieve;

my $JSON = JSON::PP->new->utf8->canonical;
my $dir = File::Temp::tempdir('headroom-ccr-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);

my $slow_port = free_port();

sub gateway {
    my (%o) = @_;
    return start_gateway(
        workers => 2,
        http_config => "headroom_zone hz 1m;\n"
            . "headroom_ccr_zone ccr $o{zone};\n"
            . "log_format ccr '\$request_uri ids=\$headroom_ccr_ids';\n"
            . "server { listen 127.0.0.1:$slow_port sndbuf=4k; send_timeout 10s;\n"
            . "         location /headroom/ccr/ { headroom_ccr_endpoint; } }\n"
            . ($o{http} // ''),
        config => qq(
            location /v1 {
                headroom on;
                headroom_ccr on;
                @{[ $o{location} // "" ]}
                access_log $o{log} ccr;
                proxy_pass http://127.0.0.1:$rec_port;
            }
            location /headroom/ccr/ { headroom_ccr_endpoint; }
            location /status { headroom_status; }),
    );
}

# POSTs through $gw as $key; returns (response, body the provider got).
sub send_turn {
    my ($gw, $api, $key, $body) = @_;
    my $r = http_request($gw->{port}, uri => api_uri($api), body => $body,
                         headers => [credential($api, $key)]);
    my @got = recorded($dir);
    return ($r, @got ? $got[-1][1] : '');
}

sub endpoint {
    my ($gw, $id, $query, @headers) = @_;
    return http_request($gw->{port}, method => 'GET',
                        uri => "/headroom/ccr/$id" . ($query // ''), headers => \@headers);
}

my $log_text = loghub_log('HDFS');
my @log_lines = split /\n/, $log_text;

my $gw = gateway(zone => '4m', log => "$dir/access.log");

# --- the store and the tool -------------------------------------------------

my %id_of;
for my $api (APIS) {
    my ($r, $sent) = send_turn($gw, $api, "key-a-$api", turn1($api, $log_text));
    is $r->{status}, 200, "$api: turn 1 answered";
    my %ids = markers_in($sent);
    is scalar(keys %ids), 1, "$api: the markers name one original" or diag substr($sent, 0, 600);
    my ($id) = keys %ids;
    $id_of{$api} = $id;
    is $ids{$id}, 'headroom_retrieve', "$api: the markers say how to get it back";
    is last_tool_name($api, $sent), 'headroom_retrieve', "$api: headroom_retrieve is the last tool";
}
my $access = '';
for (1 .. 200) {  # each line is written after its response
    $access = Transport::slurp("$dir/access.log");
    last if ($access =~ tr/\n//) >= 4;
    sleep 0.01;
}
for my $api (APIS) {
    like $access, qr/^\Q@{[api_uri($api)]}\E ids=$id_of{$api}$/m, "$api: \$headroom_ccr_ids names the id stored";
}
is scalar(keys %{{ map { $_ => 1 } values %id_of }}), 1,
    'one output, one id, whatever the API (the id is of the text)';
my $id = $id_of{anthropic_messages};

# --- the endpoint -------------------------------------------------------------

my $r = endpoint($gw, $id, '', 'x-api-key: key-a-anthropic_messages');
is $r->{status}, 200, 'endpoint: the original is there';
ok $r->{body} eq $log_text, 'endpoint: byte for byte';
like $r->{headers}{'content-type'}, qr{^text/plain}, 'endpoint: text/plain';
$r = endpoint($gw, $id, '', 'x-api-key: key-b');
is $r->{status}, 404, 'endpoint: another credential gets nothing';
$r = endpoint($gw, $id, '', 'Authorization: Bearer key-a-anthropic_messages');
is $r->{status}, 404, 'endpoint: the same key in another header is another tenant';
$r = endpoint($gw, $id, '?lines=2-3', 'x-api-key: key-a-anthropic_messages');
is $r->{body}, "$log_lines[1]\n$log_lines[2]\n", 'endpoint: ?lines=2-3';
my ($word) = $log_lines[1700] =~ /(blk_-?\d+)/;
my @hits = grep { index($log_lines[$_ - 1], $word) >= 0 } 1 .. @log_lines;
$r = endpoint($gw, $id, "?grep=$word", 'x-api-key: key-a-anthropic_messages');
is $r->{body}, join('', map { "$_: $log_lines[$_ - 1]\n" } @hits), 'endpoint: ?grep= with line numbers';
$r = endpoint($gw, $id, '?lines=99999', 'x-api-key: key-a-anthropic_messages');
is $r->{status}, 400, 'endpoint: a line past the end is a bad request';
is endpoint($gw, 'f' x 32, '', 'x-api-key: key-a-anthropic_messages')->{status}, 404, 'endpoint: an unknown id';
is endpoint($gw, 'nothex', '', 'x-api-key: key-a-anthropic_messages')->{status}, 404, 'endpoint: not an id';
$r = http_request($gw->{port}, method => 'POST', uri => "/headroom/ccr/$id", body => '{}');
is $r->{status}, 405, 'endpoint: GET only';
is $r->{headers}{allow}, 'GET, HEAD', 'endpoint: saying so';
my ($two) = $log_lines[1] =~ /^(\S+ \S+)/;
my @two = grep { index($log_lines[$_ - 1], $two) >= 0 } 1 .. @log_lines;
($two = $two) =~ s/ /+/;
$r = endpoint($gw, $id, "?grep=$two", 'x-api-key: key-a-anthropic_messages');
is $r->{body}, join('', map { "$_: $log_lines[$_ - 1]\n" } @two), 'endpoint: ?grep= takes + for a space';
$r = endpoint($gw, $id, '?grep=no-such-text', 'x-api-key: key-a-anthropic_messages');
is $r->{status} . "[$r->{body}]", '200[]', 'endpoint: nothing found is an empty body';

# a client that reads slowly, through a small send buffer: the whole
# original still comes, and the request ends
{
    my $s = IO::Socket::INET->new("127.0.0.1:$slow_port") or die;
    binmode $s;
    write_all($s, "GET /headroom/ccr/$id HTTP/1.1\r\nHost: x\r\nx-api-key: key-a-anthropic_messages\r\n"
                  . "Connection: close\r\n\r\n");
    sleep 1;
    my $all = '';
    while (1) {
        my $n = sysread($s, my $buf, 4096);
        last unless $n;
        $all .= $buf;
        sleep 0.001 if length($all) < 65536;
    }
    my ($head, $body) = split /\r\n\r\n/, $all, 2;
    like $head, qr{^HTTP/1.1 200.*Content-Type: text/plain; charset=utf-8}s, 'endpoint, slow client: 200, text/plain, utf-8';
    ok defined $body && $body eq $log_text, 'endpoint, slow client: the whole original, then the end';
}

# no credential: nothing kept, nothing given back (all such requests would
# share one tenant)
{
    my $logged = () = Transport::slurp("$dir/access.log") =~ /\n/g;
    http_request($gw->{port}, uri => api_uri('openai_chat'), body => turn1('openai_chat', $log_text));
    my @got = recorded($dir);
    like $got[-1][1], qr/headroom_retrieve id=$id/, 'no credential: crushed all the same';
    # the log line is written after the response: wait for it
    my @lines;
    for (1 .. 200) {
        @lines = split /\n/, Transport::slurp("$dir/access.log");
        last if @lines > $logged;
        sleep 0.01;
    }
    is $lines[-1], '/v1/chat/completions ids=-', 'no credential: nothing kept';
    is endpoint($gw, $id, '')->{status}, 404, 'no credential: the endpoint gives nothing';
    http_request($gw->{port}, uri => api_uri('openai_chat'),
                 body => turn2('openai_chat', $log_text, { id => $id }));
    @got = recorded($dir);
    like retrieval_result('openai_chat', $got[-1][1]), qr/^\[headroom: original $id is not kept/,
        'no credential: the fill gives nothing';
}

# --- the next-turn fill, in every API -----------------------------------------

for my $api (APIS) {
    my $key = "key-a-$api";
    for my $ask ([{ id => $id, lines => '1-3' }, join("\n", @log_lines[0 .. 2]),
                  "lines 1-3 of " . scalar(@log_lines)],
                 [{ id => $id, grep => $word }, join("\n", map { "$_: $log_lines[$_ - 1]" } @hits),
                  scalar(@hits) . (@hits == 1 ? ' line' : ' lines') . ' containing "' . $word . '"'],
                 [{ id => $id }, $log_text, 'all ' . scalar(@log_lines) . ' lines']) {
        my ($args, $want, $what) = @$ask;
        my $turn = turn2($api, $log_text, $args);
        my ($resp, $sent) = send_turn($gw, $api, $key, $turn);
        my ($text, $error) = retrieval_result($api, $sent);
        my $name = "$api fill " . join(',', map { "$_=$args->{$_}" } grep { $_ ne 'id' } sort keys %$args);
        like $text, qr/^\[headroom: original $id, \Q$what\E[^\]]*\]\n/, "$name: the header says what it is";
        ok substr($text, index($text, "\n") + 1) eq $want, "$name: the lines asked for, as they were"
            or diag substr($text, 0, 300);
        ok !$error, "$name: no longer an error" if $api eq 'anthropic_messages';
        my (undef, $again) = send_turn($gw, $api, $key, $turn);
        ok $again eq $sent, "$name: the next turn sends the same bytes";
        unlike $text, qr/omitted; lines/, "$name: the original is not crushed again";
    }
    # another tenant (whose own copy of the turn is stored only after)
    my (undef, $sent) = send_turn($gw, $api, "key-b-$api", turn2($api, $log_text, { id => $id, lines => '1-3' }));
    like retrieval_result($api, $sent), qr/^\[headroom: original $id is not kept for this credential/,
        "$api: another credential's call is told it is not kept";
}

my $status = status_json($gw->{port});
my $ccr = $status->{ccr};
ok $ccr, 'status: a ccr section';
cmp_ok $ccr->{stored}, '>=', 1, 'status: originals stored';
cmp_ok $ccr->{retrievals}{fill}{found}, '==', 4 * 3 * 2, 'status: fills found';
cmp_ok $ccr->{retrievals}{fill}{missing}, '==', 5, 'status: fills missing (the other tenants, and no credential)';
cmp_ok $ccr->{retrievals}{endpoint}{found}, '>=', 4, 'status: endpoint hits';
cmp_ok $ccr->{retrievals}{endpoint}{missing}, '>=', 3, 'status: endpoint misses';
is $ccr->{redis}{errors}, 0, 'status: no Redis, no Redis errors';
my $prom = http_request($gw->{port}, method => 'GET', uri => '/status?format=prometheus')->{body};
like $prom, qr/^headroom_ccr_retrievals_total\{way="fill",result="found"\} 24$/m, 'prometheus: fills';
like $prom, qr/^headroom_ccr_kept \d+$/m, 'prometheus: kept';

my @bad = bad_log_lines(stop_gateway($gw));
is "@bad", '', 'no alert, crit, emerg or crash';

# --- a tiny zone evicts the least recently used ---------------------------------

$gw = gateway(zone => '256k', log => "$dir/small.log");
my @ids;
for my $n (1 .. 16) {
    my $text = join '', map { "2024-05-01 10:00:$_ INFO worker $_ done task $n-$_ in 3 ms\n" } 10 .. 99;
    $text x= 4;
    my (undef, $sent) = send_turn($gw, 'anthropic_messages', 'k', turn1('anthropic_messages', $text));
    my %ids = markers_in($sent);
    push @ids, keys %ids;
}
is scalar(@ids), 16, 'eviction: sixteen originals of 20 KB crushed';
is endpoint($gw, $ids[-1], '', 'x-api-key: k')->{status}, 200, 'eviction: the newest is kept';
is endpoint($gw, $ids[0], '', 'x-api-key: k')->{status}, 404, 'eviction: the oldest made room';
cmp_ok status_json($gw->{port})->{ccr}{evicted}, '>', 0, 'eviction: counted';
@bad = bad_log_lines(stop_gateway($gw));
is "@bad", '', 'eviction: no alert, crit, emerg or crash';

# --- ttl: expiry, and a retrieval renews it ---------------------------------------

$gw = gateway(zone => '1m ttl=2s', log => "$dir/ttl.log");
my $ttl_text = join("\n", @log_lines[0 .. 199]) . "\n";
my (undef, $sent) = send_turn($gw, 'openai_chat', 'k', turn1('openai_chat', $ttl_text));
my ($tid) = keys %{{ markers_in($sent) }};
sleep 1.2;
is endpoint($gw, $tid, '?lines=1', 'Authorization: Bearer k')->{status}, 200, 'ttl: kept at 1.2 s';
sleep 1.2;
is endpoint($gw, $tid, '?lines=1', 'Authorization: Bearer k')->{status}, 200,
    'ttl: kept at 2.4 s, past the ttl, for the retrieval at 1.2 s renewed it';
sleep 2.5;
(undef, $sent) = send_turn($gw, 'openai_chat', 'k', turn2('openai_chat', $ttl_text, { id => $tid }));
like retrieval_result('openai_chat', $sent), qr/^\[headroom: original $tid is not kept/,
    'ttl: expired, the fill says so';
cmp_ok status_json($gw->{port})->{ccr}{expired}, '>=', 1, 'ttl: expiry counted';
@bad = bad_log_lines(stop_gateway($gw));
is "@bad", '', 'ttl: no alert, crit, emerg or crash';

# --- nginx -t -----------------------------------------------------------------------

sub conf_error { nginx_t(http => $_[0], location => $_[1]) }

my ($rc, $out) = conf_error('', 'headroom on; headroom_ccr on;');
ok $rc && $out =~ /"headroom_ccr on" needs a "headroom_ccr_zone"/, 'nginx -t: headroom_ccr on without a zone' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m;', 'headroom on;');
ok $rc && $out =~ /"headroom_ccr_zone" is set, but no location has "headroom_ccr on"/, 'nginx -t: a zone nobody uses' or diag $out;
($rc, $out) = conf_error('', 'headroom_ccr_endpoint;');
ok $rc && $out =~ /"headroom_ccr_endpoint" and "headroom_ccr_mcp" need a "headroom_ccr_zone"/, 'nginx -t: an endpoint without a zone' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m;', 'headroom on; headroom_ccr on; headroom_ccr_mcp;');
ok $rc && $out =~ /"headroom_ccr_mcp" directive cannot go with "headroom on" in one location/,
    'nginx -t: MCP where headroom is on' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m;', 'headroom_ccr on; headroom_ccr_endpoint; headroom on;');
ok $rc && $out =~ /cannot go with "headroom on"/, 'nginx -t: the endpoint, headroom on after it' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m ttl=soon;', 'headroom on; headroom_ccr on;');
ok $rc && $out =~ /"headroom_ccr_zone" has an invalid ttl "ttl=soon"/, 'nginx -t: a bad ttl' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m; headroom_redis 127.0.0.1:6379 db=x;', 'headroom on; headroom_ccr on;');
ok $rc && $out =~ /"headroom_redis" takes ADDRESS .* not "db=x"/, 'nginx -t: a bad headroom_redis argument' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m; headroom_redis 127.0.0.1:6379 db=1 db=2;', 'headroom on; headroom_ccr on;');
ok $rc && $out =~ /"headroom_redis" takes ADDRESS .* not "db=2"/, 'nginx -t: an option twice' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 100000000g;', 'headroom on; headroom_ccr on;');
ok $rc && $out =~ /"headroom_ccr_zone" "z" has an invalid size "100000000g"/, 'nginx -t: a size past any' or diag $out;
($rc, $out) = conf_error('headroom_ccr_zone z 1m; headroom_redis 127.0.0.1:6379;', 'headroom on; headroom_ccr on; headroom_ccr_tenant $http_x_org;');
is $rc, 0, 'nginx -t: a whole configuration passes' or diag $out;

kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;
done_testing;
