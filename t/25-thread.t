# Large new work off the event loop (headroom_thread_pool,
# headroom_thread_offload): a request with more new tool output than the
# bound is worked out in a thread of nginx's pool and reaches the provider
# byte for byte as when worked out in the event loop, in all four APIs,
# over HTTP/1 and HTTP/2, under Lua's body reader, with retrievals filled;
# small requests on the same worker are answered while it runs (and are
# not without the pool); a client that leaves meanwhile breaks nothing;
# nginx -t refuses a pool that is not declared.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use HeadroomTest qw(start_recorder recorded free_port write_all);
use Transport;
use Bodies;
use Retrieve;

my $dir = File::Temp::tempdir('headroom-thread-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);
my $lua = lua_modules() // '';

my $gw = start_gateway(
    workers => 1,
    main_config => "thread_pool hp threads=2;\nthread_pool one threads=1;\n$lua",
    http_config => "headroom_ccr_zone ccr 8m;\nclient_max_body_size 64m;\nclient_body_buffer_size 64m;\n",
    config => qq(
        location /v1 {
            headroom on;
            headroom_thread_pool hp;
            headroom_thread_offload 64k;
            proxy_pass http://127.0.0.1:$rec_port;
        }
        location /v1beta {
            headroom on;
            headroom_thread_pool hp;
            headroom_thread_offload 64k;
            proxy_pass http://127.0.0.1:$rec_port;
        }
        location /inline/ {
            headroom on;
            proxy_pass http://127.0.0.1:$rec_port/;
        }
        # answered by headroom itself, the moment the core is done
        location /sim/ {
            headroom on;
            headroom_mode simulate;
            headroom_thread_pool hp;
            headroom_thread_offload 64k;
        }
        location /sim-inline/ {
            headroom on;
            headroom_mode simulate;
        }
        # one thread, a short client_body_timeout: a queue longer than it
        location /queue/ {
            headroom on;
            headroom_mode simulate;
            headroom_thread_pool one;
            client_body_timeout 1s;
        }
        # post_action redirects a request that ends early: its context goes
        location /pa/ {
            headroom on;
            headroom_mode simulate;
            headroom_thread_pool hp;
            post_action /pa-done;
        }
        location /pa-done { return 204; }
        location /ccr/ {
            headroom on;
            headroom_ccr on;
            headroom_thread_pool hp;
            headroom_thread_offload 64k;
            proxy_pass http://127.0.0.1:$rec_port/;
        }
        @{[ $lua ? qq(location /lua/ {
            headroom on;
            headroom_thread_pool hp;
            headroom_thread_offload 64k;
            access_by_lua_block { ngx.req.read_body() }
            proxy_pass http://127.0.0.1:$rec_port/;
        }) : '' ]}),
);

sub sent {
    my ($uri, $body, @headers) = @_;
    my $r = http_request($gw->{port}, uri => $uri, body => $body, headers => \@headers, timeout => 60);
    die "status $r->{status}: $r->{body}" unless ($r->{status} // 0) == 200;
    my @got = recorded($dir);
    return @got ? $got[-1][1] : '';
}

# The info lines of the error log that say how the core ran, by the time
# $n of them are there.
sub core_lines {
    my ($n) = @_;
    my @l;
    for (1 .. 200) {
        @l = grep { /headroom: (optimized|passthrough)/ } split /\n/, gateway_log($gw);
        last if @l >= $n;
        sleep 0.05;
    }
    return @l;
}

my $log = loghub_log('HDFS');

# --- the same bytes, in a thread ---------------------------------------------------

my $lines = 0;
for my $api (APIS) {
    my $body = turn1($api, $log);
    my $want = sent('/inline' . api_uri($api), $body);
    isnt $want, $body, "$api: rewritten";
    is sent(api_uri($api), $body), $want, "$api: in a thread, byte for byte as in the event loop";
    my @l = core_lines($lines += 2);
    unlike $l[-2], qr/in a thread/, "$api: the event loop's run says so";
    like $l[-1], qr/ us in a thread,/, "$api: the thread's run says so";
}

{
    my $body = turn1('openai_chat', substr($log, 0, 8000));
    my $want = sent('/inline/v1/chat/completions', $body);
    is sent('/v1/chat/completions', $body), $want, 'under the bound: the same';
    my @l = core_lines($lines += 2);
    unlike $l[-1], qr/in a thread/, 'and worked out in the event loop';
}

# HTTP/2
{
    my $body = turn1('anthropic_messages', $log);
    my $want = sent('/inline/v1/messages', $body);
    open my $fh, '>:raw', "$dir/h2-body" or die;
    print $fh $body;
    close $fh;
    my $code = `curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Content-Type: application/json' --data-binary \@$dir/h2-body http://127.0.0.1:$gw->{h2}/v1/messages`;
    is $code, 200, 'HTTP/2: answered';
    my @got = recorded($dir);
    is $got[-1][1], $want, 'HTTP/2: in a thread, byte for byte';
    like((core_lines($lines += 2))[-1], qr/ us in a thread,/, 'HTTP/2: in a thread');
}

SKIP: {
    skip 'the Lua module is not installed', 3 unless $lua;
    my $body = turn1('openai_chat', $log);
    my $want = sent('/inline/v1/chat/completions', $body);
    is sent('/lua/v1/chat/completions', $body), $want, 'Lua reads the body: byte for byte';
    like((core_lines($lines += 2))[-1], qr/ us in a thread,/, 'Lua: in a thread');
    my $h2 = `curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Content-Type: application/json' --data-binary \@$dir/h2-body http://127.0.0.1:$gw->{h2}/lua/v1/messages`;
    is $h2, 200, 'Lua over HTTP/2: answered';
    $lines += 1;
}

# --- retrievals filled in the thread ------------------------------------------------

for my $api (APIS) {
    my @key = (credential($api, "key-thread-$api"));
    my %ids = markers_in(sent('/ccr' . api_uri($api), turn1($api, $log), @key));
    my ($id) = keys %ids;
    ok $id, "$api: a marker";
    my $body = turn2($api, $log, { id => $id, lines => '3-4' });
    my $got = sent('/ccr' . api_uri($api), $body, @key);
    my @orig = split /\n/, $log;
    my $n = @orig;
    is retrieval_result($api, $got), "[headroom: original $id, lines 3-4 of $n]\n$orig[2]\n$orig[3]",
        "$api: the retrieval filled in the thread";
    like((core_lines($lines += 2))[-1], qr/ us in a thread,/, "$api: in a thread");
}

# --- small requests go on meanwhile ---------------------------------------------------

# A body of $mb MB of log lines that all differ.
sub big_body {
    my ($mb) = @_;
    my $text = '';
    my $i = 0;
    $text .= join('', map { "r$i $_\n" } split /\n/, loghub_log((qw(HDFS Hadoop Spark BGL HPC Linux))[$i++ % 6]))
        while length($text) < $mb * 1024 * 1024;
    return turn1('openai_chat', $text);
}

# Sends $big to $uri, then, 0.2 s on, $n small requests one after another:
# returns how many were answered before the big one. Simulate mode answers
# the big one as soon as the core is done with it, so "before" means
# "while the core worked on it".
sub small_ones_first {
    my ($uri, $big, $n) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw->{port}", Timeout => 5) or die;
    binmode $s;
    write_all($s, "POST $uri HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\nContent-Length: " . length($big) . "\r\n\r\n" . $big);
    sleep 0.2;
    my $sel = IO::Select->new($s);
    my $first = 0;
    for (1 .. $n) {
        my $r = http_request($gw->{port}, uri => '/sim/v1/chat/completions',
                             body => turn1('openai_chat', "ok\n"), timeout => 60);
        $first++ if !$sel->can_read(0) && ($r->{status} // 0) == 200;
    }
    local $/;
    my $resp = <$s>;
    close $s;
    like $resp, qr/^HTTP\/1\.1 200/, "$uri: the big one answered too";
    return $first;
}

{
    my $big = big_body(12);
    is small_ones_first('/sim/v1/chat/completions', $big, 5), 5,
        'with the pool: five small requests answered while the big one is worked out';
    is small_ones_first('/sim-inline/v1/chat/completions', $big, 1), 0,
        'without it: the small one waits (the worker is busy)';

    # a client that leaves while its request is in the thread
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw->{port}", Timeout => 5) or die;
    write_all($s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nContent-Length: " . length($big) . "\r\n\r\n" . $big);
    sleep 0.2;
    close $s;
    sleep 1.5;
    is http_request($gw->{port}, uri => '/v1/chat/completions', body => turn1('openai_chat', "ok\n"))->{status},
        200, 'a client left while its request was in the thread: the next is served';
}

# A request that waits for the one thread longer than client_body_timeout
# is answered all the same.
{
    my $body = big_body(8);
    my @s;
    for (1 .. 12) {  # the one thread busy past 1.2 s even on ../shared's absence (faster logs)
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw->{port}", Timeout => 5) or die;
        binmode $s;
        write_all($s, "POST /queue/v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n" . $body);
        push @s, $s;
    }
    my $t0 = time;
    my @status = map { local $/; my $r = <$_>; close $_; ($r // '') =~ /^HTTP\/1\.1 (\d+)/ ? $1 : 'none' } @s;
    is "@status", join(' ', ('200') x 12), 'twelve bodies queued for one thread: every one answered';
    my $took = time - $t0;
    cmp_ok $took, ">", 1.2, sprintf("the last waited past client_body_timeout (1s): %.1f s", $took);
}

# A client that leaves while its request is in the thread, where
# post_action takes over the request (and clears headroom's context): an
# HTTP/2 connection that closes ends its streams at once.
{
    open my $fh, '>:raw', "$dir/pa-body" or die;
    print $fh big_body(24);
    close $fh;
    my $code = `curl -sS -o /dev/null -w '%{http_code}' --max-time 0.35 --http2-prior-knowledge -H 'Content-Type: application/json' --data-binary \@$dir/pa-body http://127.0.0.1:$gw->{h2}/pa/v1/chat/completions 2>/dev/null`;
    isnt $code, '200', 'the client left before the answer';
    sleep 2;
    is http_request($gw->{port}, uri => '/v1/chat/completions', body => turn1('openai_chat', "ok\n"))->{status},
        200, 'post_action after a client left mid-thread: the next request is served';
    unlike gateway_log($gw), qr/exited on signal|worker process \d+ exited/, 'no worker died';
}

is_deeply [bad_log_lines($gw)], [], 'no alert, no crash in the log';

# --- nginx -t -------------------------------------------------------------------------

{
    my $check = sub { nginx_t(main => $_[0], location => "headroom on; $_[1]") };
    my ($rc, $out) = $check->('', 'headroom_thread_pool nopool;');
    isnt $rc, 0, 'a pool nobody declared fails';
    like $out, qr/unknown thread pool "nopool"/, 'naming it';
    ($rc, $out) = $check->('thread_pool p threads=2;', 'headroom_thread_offload lots;');
    like $out, qr/"headroom_thread_offload" directive invalid value/, 'not a size';
    ($rc, $out) = $check->('thread_pool p threads=2;', 'headroom_thread_pool p; headroom_thread_pool p;');
    like $out, qr/"headroom_thread_pool" directive is duplicate/, 'once';
    ($rc, $out) = $check->('thread_pool p threads=2;', 'headroom_thread_pool p; headroom_thread_offload 1m;');
    is $rc, 0, 'a good one passes' or diag $out;
    ($rc, $out) = $check->('', 'headroom_thread_pool default;');
    is $rc, 0, 'nginx\'s default pool needs no declaring' or diag $out;
}

stop_gateway($gw);
kill 'TERM', $rec_pid;
done_testing;
