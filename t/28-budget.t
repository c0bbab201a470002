# Budgets (headroom_budget): the spend of each key in the current UTC
# period, from the providers' usage priced by the shipped table. In each
# API: the call during which the spend crosses the limit is served, the
# next one is answered 429 in that API's error shape, with Retry-After to
# the period's end and x-should-retry: false, and never reaches the
# provider; another key is still served, an empty key never limited; the
# official openai and @anthropic-ai/sdk clients raise their rate-limit
# errors; nginx -t names what is wrong in the directive.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Digest::SHA;
use Time::Local qw(timegm);
use HeadroomTest qw(start_server read_message);
use Transport;

my $CRLF = "\r\n";
my $dir = File::Temp::tempdir('headroom-budget-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0777, $dir;    # nginx's workers keep the cache under it

# The provider answers each API with a fixed usage, and leaves a file per
# call it got.
my %usage = (
    chat      => '{"id":"c","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":340,'
                 . '"prompt_tokens_details":{"cached_tokens":1024}}}',                      # 0.005120 USD
    responses => '{"id":"r","output":[],"usage":{"input_tokens":3000,'
                 . '"input_tokens_details":{"cached_tokens":2048},"output_tokens":500}}',    # 0.006446
    anthropic => '{"id":"m","type":"message","content":[],"usage":{"input_tokens":20,'
                 . '"cache_creation_input_tokens":1500,"cache_read_input_tokens":30000,"output_tokens":410}}',  # 0.020835
    gemini    => '{"candidates":[],"usageMetadata":{"promptTokenCount":900,'
                 . '"cachedContentTokenCount":512,"candidatesTokenCount":40,"thoughtsTokenCount":100}}',  # 0.0005048
);
my ($srv_pid, $srv_port) = start_server('provider', sub {
    my ($c, $n) = @_;
    my ($head) = read_message($c, 0);
    return unless defined $head;
    open my $fh, '>', "$dir/call-$$-$n" or die;
    close $fh;
    my $body = $head =~ m{^POST \S*/responses} ? $usage{responses}
             : $head =~ m{^POST \S*/messages} ? $usage{anthropic}
             : $head =~ m{^POST \S*:generateContent} ? $usage{gemini} : $usage{chat};
    syswrite $c, "HTTP/1.1 200 OK${CRLF}Content-Type: application/json${CRLF}"
        . "Content-Length: " . length($body) . "${CRLF}Connection: close$CRLF$CRLF$body";
    close $c;
});
sub provider_calls { my @f = glob("$dir/call-*"); scalar @f }

my $gw = start_gateway(
    workers => 2,
    http_config => "headroom_zone hz 1m;\nproxy_cache_path $dir/cache keys_zone=answers:1m;\n",
    config => qq(
        location /status { headroom_status; }
        location / {
            headroom on;
            headroom_budget zone=teams:1m key=\$http_x_team limit=0.01 per=day;
            proxy_pass http://127.0.0.1:$srv_port;
        }
        location /hourly/ {
            headroom on;
            headroom_budget zone=small:1m key=\$http_x_team limit=0.0005 per=hour;
            headroom_budget zone=monthly:1m key=\$http_x_team limit=100 per=month;
            proxy_pass http://127.0.0.1:$srv_port/;
        }
        location /both/ {
            headroom on;
            headroom_budget zone=mixed:1m key=\$http_x_team limit=0.008 per=day;
            headroom_budget zone=mixed:1m key=\$http_x_team limit=100 per=month;
            headroom_budget zone=mixed:1m key=\$http_x_team limit=200 per=day;
            proxy_pass http://127.0.0.1:$srv_port/;
        }
        location /cached/ {
            headroom on;
            headroom_budget zone=cached:1m key=\$http_x_team limit=0.012 per=day;
            proxy_cache answers;
            proxy_cache_methods POST;
            proxy_cache_key \$request_uri;
            proxy_cache_valid 200 1m;
            add_header X-Answer-Cache \$upstream_cache_status always;
            proxy_pass http://127.0.0.1:$srv_port/;
        }
        location /monthly/ {
            headroom on;
            headroom_budget zone=monthly:1m key=\$http_x_team limit=0.0005 per=month;
            proxy_pass http://127.0.0.1:$srv_port/;
        }),
);

my %uri = (
    chat      => '/v1/chat/completions',
    responses => '/v1/responses',
    anthropic => '/v1/messages',
    gemini    => '/v1beta/models/gemini-2.5-flash:generateContent',
);
my %body = (
    chat      => '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
    responses => '{"model":"gpt-5","input":"hi"}',
    anthropic => '{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}',
    gemini    => '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}',
);

sub call {
    my ($api, $team, $prefix) = @_;
    return http_request($gw->{port}, uri => ($prefix // '') . $uri{$api}, body => $body{$api},
                        headers => [defined $team ? ("X-Team: $team") : ()]);
}

# Seconds from now to the end of the UTC day, hour, month.
sub to_end {
    my ($per) = @_;
    my $now = time;
    return 3600 - $now % 3600 if $per eq 'hour';
    return 86400 - $now % 86400 if $per eq 'day';
    my @t = gmtime $now;
    my ($y, $m) = ($t[5] + 1900, $t[4] + 1);
    ($y, $m) = $m == 12 ? ($y + 1, 1) : ($y, $m + 1);
    return timegm(0, 0, 0, 1, $m - 1, $y) - $now;
}

sub refused_ok {
    my ($r, $api, $per, $what) = @_;
    is $r->{status}, 429, "$what: 429";
    my $e = eval { decode_json($r->{body}) } // {};
    if ($api eq 'anthropic') {
        is $e->{type}, 'error', "$what: Anthropic's error shape";
        is $e->{error}{type}, 'rate_limit_error', "$what: rate_limit_error";
        like $e->{error}{message}, qr/budget/, "$what: saying why";
    } elsif ($api eq 'gemini') {
        is $e->{error}{code}, 429, "$what: Gemini's error shape";
        is $e->{error}{status}, 'RESOURCE_EXHAUSTED', "$what: RESOURCE_EXHAUSTED";
        like $e->{error}{message}, qr/budget/, "$what: saying why";
    } else {
        is $e->{error}{code}, 'rate_limit_exceeded', "$what: OpenAI's error shape";
        ok exists $e->{error}{type} && exists $e->{error}{param}, "$what: with type and param";
        like $e->{error}{message}, qr/budget/, "$what: saying why";
    }
    my $retry = $r->{headers}{'retry-after'} // -1;
    my $left = to_end($per);
    ok $retry > 0 && abs($retry - $left) <= 2, "$what: Retry-After $retry, the $per ends in $left s";
    is $r->{headers}{'x-should-retry'}, 'false', "$what: x-should-retry: false";
}

# --- each API: the crossing call served, the next one refused ---------------

for my $case (['chat', 2], ['responses', 2], ['anthropic', 1]) {
    my ($api, $served) = @$case;
    my $team = "team-$api";
    for my $i (1 .. $served) {
        is call($api, $team)->{status}, 200, "$api: call $i served (the last one crosses the limit)";
    }
    my $before = provider_calls();
    refused_ok(call($api, $team), $api, 'day', "$api: the next call");
    is provider_calls(), $before, "$api: the refused call never reached the provider";
    is call($api, "other-$api")->{status}, 200, "$api: another key is served";
}

# Gemini on the hourly budget: one call of 0.0005048 USD crosses 0.0005.
is call('gemini', 'team-gemini', '/hourly')->{status}, 200, 'gemini: the crossing call is served';
refused_ok(call('gemini', 'team-gemini', '/hourly'), 'gemini', 'hour', 'gemini: the next call (per=hour)');

# The monthly zone is shared by two locations: their spend adds up.
is call('gemini', 'team-month', '/hourly')->{status}, 200, 'monthly: a call counted where the limit is 100';
refused_ok(call('gemini', 'team-month', '/monthly'), 'gemini', 'month',
           'monthly: refused where the same zone has the lower limit');

# A day and a month budget in one zone keep their spend apart, and two of
# one period count a call once: the day limit of 0.008 refuses the third
# (counted twice, it would refuse the second).
is call('chat', 'team-mixed', '/both')->{status}, 200, 'mixed periods: the first call served';
is call('chat', 'team-mixed', '/both')->{status}, 200, 'mixed periods: the crossing call served';
refused_ok(call('chat', 'team-mixed', '/both'), 'chat', 'day', 'mixed periods: the next refused by the day budget');
{
    my ($mixed) = grep { $_->{zone} eq 'mixed' } @{ status_json($gw->{port})->{budgets} // [] };
    my %per = map { $_->{per} => $_ } @{ $mixed->{top} // [] };
    is_deeply [map { [$per{$_}{calls}, sprintf('%.6f', $per{$_}{usd})] } qw(day month)],
        [[2, '0.010240'], [2, '0.010240']], 'mixed periods: each call counted once in each period';
}

# Answers from proxy_cache were never billed: not counted.
{
    my @status = map { my $r = call('chat', 'team-cache', '/cached');
                       "$r->{status} " . ($r->{headers}{'x-answer-cache'} // '') } 1 .. 4;
    is_deeply \@status, ['200 MISS', '200 HIT', '200 HIT', '200 HIT'],
        'cache hits are not counted (three 0.00512 calls would pass 0.012)';
}

# An empty key is never limited.
for my $i (1 .. 4) {
    is call('anthropic', undef)->{status}, 200, "no key: call $i served";
}

# --- the status output: each zone's keys, the top spenders ------------------

{
    my $st = status_json($gw->{port});
    my ($teams) = grep { $_->{zone} eq 'teams' } @{ $st->{budgets} // [] };
    is $teams->{keys}, 6, 'status: the teams zone counts six keys (no key is none)';
    # team-anthropic and other-anthropic spent most, one call each
    my $sha = substr(Digest::SHA::sha256_hex('day:team-anthropic'), 0, 16);
    my ($top) = grep { $_->{key_sha256} eq $sha } @{ $teams->{top} }[0, 1];
    ok $top, 'status: a top spender, named by its digest';
    $top //= {};
    is sprintf('%.9f', $top->{usd}), '0.020835000', 'status: its spend';
    is_deeply [@$top{qw(calls refused)}], [1, 1], 'status: one call, one refused';
    is $top->{period_start}, time - time % 86400, 'status: in the current UTC day';
    my @usd = map { $_->{usd} } @{ $teams->{top} };
    is_deeply \@usd, [sort { $b <=> $a } @usd], 'status: most first';
}

# --- the official SDKs raise their rate-limit errors ------------------------

SKIP: {
    my $node_path = "$ENV{PWD}/build/npm-test/node_modules";
    skip 'the openai and @anthropic-ai/sdk npm clients are missing (make t installs them)', 6
        unless (-f "$node_path/openai/package.json" && -f "$node_path/\@anthropic-ai/sdk/package.json")
        || $ENV{CI};
    local $ENV{NODE_PATH} = $node_path;
    my $out = `node t/clients/budget-sdks.cjs http://127.0.0.1:$gw->{port} 2>&1`;
    my $got = eval { decode_json($out) } // {};
    diag $out unless $got->{openai};
    is_deeply [@{ $got->{openai} // [] }[0, 1]], ['ok', 'ok'], 'openai SDK: two calls served';
    my $err = $got->{openai}[2] // {};
    ok $err->{rate_limit_error}, "openai SDK: the third raises RateLimitError ($err->{name})";
    is $err->{status}, 429, 'openai SDK: status 429';
    is $got->{anthropic}[0], 'ok', 'anthropic SDK: the crossing call served';
    $err = $got->{anthropic}[1] // {};
    ok $err->{rate_limit_error}, "anthropic SDK: the next raises RateLimitError ($err->{name})";
    ok $err->{retry_after} > 0, 'anthropic SDK: with Retry-After';
}

# --- nginx -t names what is wrong -------------------------------------------

for my $bad (['zone=z:1m key=$http_x_team limit=1', qr/needs zone=NAME:SIZE, key=\$variable, limit=USD and per=/],
             ['zone=z:1m key=$http_x_team limit=0 per=day', qr/limit in USD above 0/],
             ['zone=z:1m key=$http_x_team limit=1 per=week', qr/"per=week"/],
             ['zone=z key=$http_x_team limit=1 per=day', qr/zone=NAME:SIZE/],
             ['zone=z:1m key=$http_x_team limit=1 per=day redis=on', qr/"headroom_budget" with "redis=on" needs "headroom_redis"/],
             ['zone=z:1m key=$http_x_team limit=1 per=day burst=2', qr/does not take "burst=2"/],
             ['zone=a"b:1m key=$http_x_team limit=1 per=day', qr/zone name of letters, digits/]) {
    my ($args, $why) = @$bad;
    my ($rc, $out) = nginx_t(location => "headroom on; headroom_budget $args;");
    isnt $rc, 0, "nginx -t refuses headroom_budget $args";
    like $out, $why, 'naming what is wrong';
}

{
    my ($rc, $out) = nginx_t(location => 'headroom off; headroom_budget zone=z:1m key=$http_x_team limit=1 per=day;');
    isnt $rc, 0, 'nginx -t refuses a budget beside "headroom off"';
    like $out, qr/"headroom_budget" needs "headroom on"/, 'saying why';
}

my $err = stop_gateway($gw);
is_deeply [bad_log_lines($err)], [], 'no alert, crash or emergency in the log';

done_testing;
