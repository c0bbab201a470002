# $headroom_cache_key: nginx's own proxy_cache (proxy_cache_methods POST)
# serves a repeated request of one tenant from the cache, in all four
# APIs, and never another tenant's answer, nor one to another body or
# query; the key is exactly SHA-256 of the tenant, of what the core says
# determines the answer (the API, the path and the body as it went
# upstream, crushed output included) and of the query string; audit mode
# keys the body it sends (the original); requests without a tenant, or
# with a body headroom did not understand, get no key and are never
# cached.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Find ();
use Time::HiRes ();
use Digest::SHA qw(sha256_hex);
use HeadroomTest qw(start_recorder recorded);
use Transport;
use Bodies;
use Retrieve;

my $dir = File::Temp::tempdir('headroom-ckey-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);

my $cached = qq(
                proxy_cache answers;
                proxy_cache_methods POST;
                proxy_cache_key \$headroom_cache_key;
                proxy_cache_valid 200 10m;
                proxy_cache_bypass \$no_answer_key;
                proxy_no_cache \$no_answer_key;
                add_header X-Answer-Cache \$upstream_cache_status always;
                add_header X-Answer-Key \$headroom_cache_key always;);

my $cache_dir = File::Temp::tempdir('headroom-answers-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0777, $cache_dir;
my $gw = start_gateway(
    workers => 2,
    http_config => "proxy_cache_path $cache_dir keys_zone=answers:1m;\n"
        . "map \$headroom_cache_key \$no_answer_key { ~^- 1; default 0; }\n",
    config => qq(
            location /v1 { headroom on; $cached proxy_pass http://127.0.0.1:$rec_port; }
            location /v1beta { headroom on; $cached proxy_pass http://127.0.0.1:$rec_port; }
            location /nomap/ {
                headroom on;
                proxy_cache answers;
                proxy_cache_methods POST;
                proxy_cache_key \$headroom_cache_key;
                proxy_cache_valid 200 10m;
                add_header X-Answer-Cache \$upstream_cache_status always;
                proxy_pass http://127.0.0.1:$rec_port/;
            }
            location /audit/ {
                headroom on;
                headroom_mode audit;
                $cached
                proxy_pass http://127.0.0.1:$rec_port/;
            }),
);

# The key as the README defines it, from the bytes the provider got.
sub framed { join '', map { pack('Q<', length $_) . $_ } @_ }
sub want_key {
    my ($credential, $shape, $path, $sent, $args) = @_;
    my $tenant = substr(sha256_hex($credential), 0, 32);
    my $answer = sha256_hex(framed('headroom answer 1', $shape, $path, $sent));
    return sha256_hex($tenant . $answer . ($args // ''));
}

# The answers nginx has stored: it renames a cache file into place when
# the request ends, which can be after the client has the answer (under
# load): a repeated request is a hit from then on.
sub cached_files {
    my @files;
    File::Find::find(sub { push @files, $_ if -f $_ }, $cache_dir);
    return scalar @files;
}
sub wait_stored {
    my ($before) = @_;
    for (1 .. 200) {
        return if cached_files() > $before;
        Time::HiRes::sleep(0.01);
    }
}

sub post {
    my ($uri, $body, @headers) = @_;
    my $r = http_request($gw->{port}, uri => $uri, body => $body, headers => \@headers);
    die "status $r->{status}: $r->{body}" unless $r->{status} == 200;
    return $r;
}

my $log = join '', map { "2026-11-30 10:00:$_ INFO dfs.DataNode: served block blk_$_ to /10.0.0.$_\n" }
    map { sprintf '%02d', $_ % 60 } 1 .. 400;

for my $api (APIS) {
    my $uri = api_uri($api);
    my $body = turn1($api, $log);
    recorded($dir);

    my $stored = cached_files();
    my $first = post($uri, $body, credential($api, 'key-one'));
    wait_stored($stored);
    my @got = recorded($dir);
    is scalar @got, 1, "$api: the first request reaches the provider";
    is $first->{headers}{'x-answer-cache'}, 'MISS', "$api: a miss first";
    isnt $got[0][1], $body, "$api: the tool output went upstream crushed";
    my $secret = $api eq 'anthropic_messages' || $api eq 'gemini' ? 'key-one' : 'Bearer key-one';
    is $first->{headers}{'x-answer-key'}, want_key($secret, $api, $uri, $got[0][1]),
        "$api: the key is SHA-256 of the tenant, the API, the path and the bytes sent";

    my $again = post($uri, $body, credential($api, 'key-one'));
    is $again->{headers}{'x-answer-cache'}, 'HIT', "$api: the same request of the same tenant is a hit";
    is $again->{body}, $first->{body}, "$api: with the first answer";
    is scalar(recorded($dir)), 0, "$api: and no call to the provider";

    my $other = post($uri, $body, credential($api, 'key-two'));
    is $other->{headers}{'x-answer-cache'}, 'MISS', "$api: another tenant never gets it";
    isnt $other->{body}, $first->{body}, "$api: it gets an answer of its own";

    (my $warmer = $body) =~ s/\}$/,"top_p":0.5}/;    # one more parameter
    my $changed = post($uri, $warmer, credential($api, 'key-one'));
    is $changed->{headers}{'x-answer-cache'}, 'MISS', "$api: another parameter is another key";

    my $anonymous = post($uri, $body);
    is $anonymous->{headers}{'x-answer-cache'}, 'BYPASS', "$api: no tenant, no key: never from the cache";
    like $anonymous->{headers}{'x-answer-key'}, qr/^-\d+\.\d+$/, "$api: \"-\" and a number instead";
    is post($uri, $body)->{headers}{'x-answer-cache'}, 'BYPASS', "$api: nor the second time";
    recorded($dir);
}

# The query string is part of the key: Gemini's alt=sse answers as a stream.
{
    my $uri = api_uri('gemini');
    my $body = turn1('gemini', $log);
    my $plain = post($uri, $body, credential('gemini', 'key-sse'));
    my $sse = post("$uri?alt=sse", $body, credential('gemini', 'key-sse'));
    is $sse->{headers}{'x-answer-cache'}, 'MISS', 'gemini: ?alt=sse is not the plain answer';
    like $sse->{body}, qr/^data: /, 'gemini: and is answered as a stream';
    my @got = recorded($dir);
    is $sse->{headers}{'x-answer-key'}, want_key('key-sse', 'gemini', $uri, $got[-1][1], 'alt=sse'),
        'gemini: the query string is in the key';
    is post("$uri?alt=sse", $body, credential('gemini', 'key-sse'))->{headers}{'x-answer-cache'}, 'HIT',
        'gemini: the stream is served again from the cache';
}

# Audit mode sends the original: its key is of the original.
{
    my $body = turn1('openai_chat', $log);
    my $r = post('/audit/v1/chat/completions', $body, credential('openai_chat', 'key-audit'));
    my @got = recorded($dir);
    is $got[-1][1], $body, 'audit: the original goes upstream';
    is $r->{headers}{'x-answer-key'},
        want_key('Bearer key-audit', 'openai_chat', '/audit/v1/chat/completions', $body),
        'audit: the key is of the bytes sent, the original';
}

# Keyed by $headroom_cache_key alone, without the map: what has no key
# (no tenant, a GET headroom never reads) is never another request's answer.
{
    my $body = turn1('openai_chat', $log);
    my @answers = map { post('/nomap/v1/chat/completions', $body) } 1 .. 2;
    is_deeply [map { $_->{headers}{'x-answer-cache'} } @answers], ['MISS', 'MISS'],
        'no map: requests without a tenant each miss';
    isnt $answers[1]{body}, $answers[0]{body}, 'no map: and each gets its own answer';
    my @gets = map { http_request($gw->{port}, method => 'GET', uri => '/nomap/v1/models',
                                  headers => [credential('openai_chat', "key-$_")]) } 1 .. 2;
    is_deeply [map { $_->{headers}{'x-answer-cache'} } @gets], ['MISS', 'MISS'],
        'no map: GETs of two tenants each miss';
    isnt $gets[1]{body}, $gets[0]{body}, 'no map: no tenant gets another\'s answer';
    recorded($dir);
}

# A body headroom does not understand has no key: never cached.
{
    my $bad = '{"model":"gpt-4o","messages":[';
    my $r = http_request($gw->{port}, uri => '/v1/chat/completions', body => $bad,
                         headers => [credential('openai_chat', 'key-one')]);
    is $r->{headers}{'x-answer-cache'}, 'BYPASS', 'invalid JSON: no key, not cached';
    recorded($dir);
}

# The example in conf-examples/ is a configuration nginx accepts.
{
    my $example = Transport::slurp('conf-examples/answer-cache.conf');
    $example =~ s{/var/cache/nginx/answers}{$cache_dir/example};
    $example =~ s{https://api\.openai\.com}{http://127.0.0.1:$rec_port};
    my ($rc, $out) = nginx_t(http => $example);
    is $rc, 0, 'conf-examples/answer-cache.conf passes nginx -t' or diag $out;
}

my $err = stop_gateway($gw);
is_deeply [bad_log_lines($err)], [], 'no alert, crash or emergency in the log';

done_testing;
