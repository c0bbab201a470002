# Transport abuse through real nginx (2 workers, a status zone,
# client_body_timeout 1s): many HTTP/2 streams at once on one connection,
# streams reset or stalled mid-body, a connection dropped under them, and
# HTTP/1.1 clients that stall or hang up mid-body with a plain, chunked or
# gzip body. None may crash a worker, log an [alert], send anything
# upstream for a body that never came, leak memory, descriptors or temp
# files, or stop nginx serving the next request; the zone's counts must
# add up afterwards.
#
# HTTP/2 streams come from Node's http2 client (one session, so one
# connection by construction). curl 7.88.1 cannot do it here: with
# --parallel and --http2-prior-knowledge every transfer after the first
# on the shared connection fails with "Error in the HTTP2 framing layer"
# (headroom off just the same), and --parallel-immediate opens one
# connection per transfer; that variant is kept as "32 connections".
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use HeadroomTest qw(start_recorder recorded);
use Transport;
use Bodies;

my $CHAT = '/v1/chat/completions';
my $json = JSON::PP->new->canonical;

my $top = tempdir('headroom-transport-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $top;
mkdir "$top/up";
my ($rec_pid, $rec_port) = start_recorder("$top/up");
END { kill 'TERM', $rec_pid if $rec_pid }

# A body with a crushable tool output and an id of its own, and what
# headroom makes of it.
my %want;
sub body_for {
    my ($id, $n) = @_;
    my $b = chat(pretty(records($n // 750)));
    $b =~ s/You are terse\./You are terse. Request $id./ or die;
    return $b;
}
sub want_for {
    my ($body) = @_;
    return $want{$body} //= compressed($body, $CHAT);
}
sub id_of { my ($body) = @_; $body =~ /You are terse\. Request ([\w-]+)\./ ? $1 : undef }

sub gz { my ($d) = @_; my $o; gzip(\$d => \$o, Minimal => 1) or die $GzipError; $o }

my $gw = start_gateway(
    workers => 2,
    http_config => <<'HTTP',
headroom_zone headroom 1m;
client_body_timeout 1s;
client_max_body_size 8m;
log_format outcomes 'id=$http_x_test_id http=$status headroom=$headroom_status';
access_log logs/outcomes.log outcomes;
HTTP
    config => <<"CONF",
location /v1/ {
    headroom on;
    proxy_pass http://127.0.0.1:$rec_port;
}
location = /status { headroom_status; }
CONF
);

# What the zone must say at the end: every request headroom saw, by
# outcome, and what the upstream got for the optimized ones.
my %count = (optimized => 0, client_aborted => 0, gzip => 0);
my ($bytes_before, $bytes_after) = (0, 0);
my %outcome_of;    # X-Test-Id => expected $headroom_status

sub expect_optimized {
    my ($body, $id) = @_;
    $count{optimized}++;
    $bytes_before += length $body;
    $bytes_after += length want_for($body);
    $outcome_of{$id} = 'optimized' if defined $id;
}
sub expect_aborted {
    my ($id) = @_;
    $count{client_aborted}++;
    $outcome_of{$id} = 'client_aborted' if defined $id;
}

# The upstream got exactly these bodies (each the rewrite of one sent), in
# any order, each with its own Content-Length.
sub upstream_got {
    my ($what, @sent) = @_;
    my @got;
    # the last proxied request may still be on its way
    for (1 .. 40) {
        push @got, recorded("$top/up");
        last if @got >= @sent;
        sleep 0.05;
    }
    sleep 0.2;
    push @got, recorded("$top/up");
    is scalar(@got), scalar(@sent), "$what: the upstream got " . scalar(@sent) . " request(s)";
    my %by_id;
    for my $g (@got) {
        my ($head, $body) = @$g;
        my $id = id_of($body) // 'none';
        push @{ $by_id{$id} }, $g;
    }
    my ($right, $lengths) = (0, 0);
    for my $body (@sent) {
        my $id = id_of($body);
        my $g = $by_id{$id} // [];
        if (@$g == 1 && $g->[0][1] eq want_for($body)) { $right++ }
        else { diag "$what: request $id: " . scalar(@$g) . " upstream request(s), "
                    . join(', ', map { length($_->[1]) . ' bytes' } @$g)
                    . ", want " . length(want_for($body)) }
        for (@$g) {
            my ($cl) = $_->[0] =~ /^Content-Length:\s*(\d+)/mi;
            $lengths++ if defined $cl && $cl == length $_->[1];
        }
    }
    is $right, scalar(@sent), "$what: each its own rewritten body, exactly";
    is $lengths, scalar(@sent), "$what: each with its own Content-Length";
    return @got;
}

# nginx still answers, and still rewrites.
my $serial = 0;
sub still_serving {
    my ($what) = @_;
    my $id = 'after-' . ++$serial;
    my $body = body_for($id);
    my $r = http_request($gw->{port}, uri => $CHAT, body => $body, headers => ["X-Test-Id: $id"]);
    is $r->{status}, 200, "$what: the next request is served";
    upstream_got("$what, next request", $body);
    expect_optimized($body, $id);
}

sub log_clean {
    my ($what) = @_;
    my @bad = bad_log_lines(gateway_log($gw));
    ok !@bad, "$what: no alert, crit, emerg or crashed worker" or diag join "\n", @bad;
}

# --- HTTP/2 -------------------------------------------------------------------

my $NODE = `node --version 2>/dev/null` =~ /^v(\d+)/ && $1 >= 18;

# One session, one request a stream; each stream completes, is reset with
# RST_STREAM (CANCEL) after `cut` bytes, or stalls after them; the whole
# connection can be dropped after destroy_after_ms.
my $H2_CLIENT = <<'JS';
'use strict';
const http2 = require('http2');
const fs = require('fs');
const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const session = http2.connect(spec.url);
let connects = 0;
session.on('connect', () => { connects++; });
session.on('error', () => {});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function one(s) {
    return new Promise((resolve) => {
        const body = fs.readFileSync(s.file);
        const headers = { ':method': 'POST', ':path': s.path,
                          'content-type': 'application/json', 'x-test-id': s.tag + ':' + s.id };
        for (const [k, v] of Object.entries(s.headers || {})) headers[k] = v;
        if (s.length) headers['content-length'] = String(body.length);
        const req = session.request(headers);
        const out = { id: s.id, status: null, body: '', error: null, rst: null };
        req.on('response', (h) => { out.status = h[':status']; });
        req.setEncoding('utf8');
        req.on('data', (d) => { out.body += d; });
        req.on('error', (e) => { out.error = e.code || String(e); });
        req.on('close', () => { out.rst = req.rstCode; resolve(out); });
        const action = s.action || 'complete';
        if (action === 'complete') {
            req.end(body);
        } else {
            req.write(body.subarray(0, s.cut));
            if (action === 'reset') {
                sleep(s.wait || 300).then(() => req.close(http2.constants.NGHTTP2_CANCEL));
            }
        }
    });
}
(async () => {
    const all = Promise.all(spec.streams.map(one));
    if (spec.destroy_after_ms) {
        await sleep(spec.destroy_after_ms);
        session.destroy();
    }
    const results = await all;
    if (!session.destroyed) session.close();
    process.stdout.write(JSON.stringify({ connects, results }));
})().catch((e) => { console.error(e); process.exit(1); });
JS

open my $js, '>', "$top/h2-streams.cjs" or die;
print $js $H2_CLIENT;
close $js;

# streams: [id, body, action, cut]; X-Test-Id is "$tag:$id". Returns the
# client's report.
sub h2_session {
    my ($tag, $streams, %o) = @_;
    my @spec;
    for my $s (@$streams) {
        my ($id, $body, $action, $cut) = @$s;
        my $file = "$top/h2-$id.json";
        open my $fh, '>:raw', $file or die;
        print $fh $body;
        close $fh;
        push @spec, { id => $id, tag => $tag, file => $file, path => $CHAT,
                      # half with a content-length, half without; a reset
                      # stream always has one: Node's close() may end the
                      # stream (END_STREAM) before its RST_STREAM, and
                      # without a length that is a whole, shorter body
                      length => (($action // '') eq 'reset' || ($id =~ /(\d+)$/ && $1 % 2)
                                 ? JSON::PP::true : JSON::PP::false),
                      action => $action // 'complete', cut => $cut // 0 };
    }
    open my $fh, '>', "$top/h2-spec.json" or die;
    print $fh encode_json({ url => "http://127.0.0.1:$gw->{h2}", streams => \@spec,
                            ($o{destroy_after_ms} ? (destroy_after_ms => $o{destroy_after_ms}) : ()) });
    close $fh;
    my $out = `timeout 60 node $top/h2-streams.cjs $top/h2-spec.json`;
    my $res = eval { decode_json($out) } // { connects => 0, results => [], error => $out };
    return $res;
}

my @bodies32 = map { body_for("h2-$_", 700 + 10 * $_) } 1 .. 32;   # 290 to 410 KB
want_for($_) for @bodies32;

SKIP: {
    skip 'node 18 or later is needed for the HTTP/2 streams', 4 unless $NODE;

    subtest '32 concurrent streams on one HTTP/2 connection, ~300-400 KB each' => sub {
        my $res = h2_session('all', [ map { [id_of($_), $_] } @bodies32 ]);
        is $res->{connects}, 1, 'one connection';
        my @ok = grep { ($_->{status} // 0) == 200 } @{ $res->{results} };
        is scalar(@ok), 32, 'all 32 streams answered 200';
        upstream_got('32 streams', @bodies32);
        expect_optimized($_, 'all:' . id_of($_)) for @bodies32;
        log_clean('32 streams');
        still_serving('32 streams');
    };

    subtest '32 streams, 8 reset by the client mid-body (RST_STREAM CANCEL)' => sub {
        my (@done, @cut);
        my @streams = map {
            my $body = $bodies32[$_ - 1];
            my $id = id_of($body);
            if ($_ % 4 == 0) { push @cut, $id; [$id, $body, 'reset', 100_000] }
            else { push @done, $body; [$id, $body] }
        } 1 .. 32;
        my $res = h2_session('reset', \@streams);
        is $res->{connects}, 1, 'one connection';
        my %r = map { $_->{id} => $_ } @{ $res->{results} };
        is scalar(grep { ($r{ id_of($_) }{status} // 0) == 200 } @done), 24, 'the 24 others answered 200';
        is scalar(grep { !defined $r{$_}{status} } @cut), 8, 'the 8 reset ones got no answer';
        upstream_got('24 of 32 streams', @done);
        expect_optimized($_, 'reset:' . id_of($_)) for @done;
        expect_aborted("reset:$_") for @cut;
        log_clean('streams reset');
        still_serving('streams reset');
    };

    subtest '32 streams, 4 stalled mid-body past client_body_timeout' => sub {
        my (@done, @stalled);
        my @streams = map {
            my $body = $bodies32[$_ - 1];
            my $id = id_of($body);
            if ($_ % 8 == 0) { push @stalled, $id; [$id, $body, 'stall', 100_000] }
            else { push @done, $body; [$id, $body] }
        } 1 .. 32;
        my $t0 = time;
        my $res = h2_session('stall', \@streams);
        my $took = time - $t0;
        ok $took < 10, sprintf('nginx ended the stalled streams (%.1f s)', $took);
        my %r = map { $_->{id} => $_ } @{ $res->{results} };
        is scalar(grep { ($r{ id_of($_) }{status} // 0) == 200 } @done), 28, 'the 28 others answered 200';
        is scalar(grep { !defined $r{$_}{status} && defined $r{$_}{rst} && $r{$_}{rst} > 0 } @stalled), 4,
            'the stalled ones were reset by nginx'
            or diag $json->encode([ map { $r{$_} } @stalled ]);
        upstream_got('28 of 32 streams', @done);
        expect_optimized($_, 'stall:' . id_of($_)) for @done;
        expect_aborted("stall:$_") for @stalled;
        like gateway_log($gw), qr/client timed out .*HTTP\/2\.0/, 'nginx says the client timed out';
        log_clean('streams stalled');
        still_serving('streams stalled');
    };

    subtest 'the connection dropped with 16 streams mid-body' => sub {
        my (@done, @cut);
        my @streams = map {
            my $body = $bodies32[$_ - 1];
            my $id = id_of($body);
            if ($_ <= 16) { push @cut, $id; [$id, $body, 'stall', 50_000 + 1000 * $_] }
            else { push @done, $body; [$id, $body] }
        } 1 .. 32;
        my $res = h2_session('drop', \@streams, destroy_after_ms => 700);
        my %r = map { $_->{id} => $_ } @{ $res->{results} };
        is scalar(grep { ($r{ id_of($_) }{status} // 0) == 200 } @done), 16,
            'the 16 whole ones were answered before the drop';
        upstream_got('16 of 32 streams', @done);
        expect_optimized($_, 'drop:' . id_of($_)) for @done;
        expect_aborted("drop:$_") for @cut;
        log_clean('connection dropped');
        still_serving('connection dropped');
    };
}

subtest '32 HTTP/2 connections at once (curl --parallel --parallel-immediate)' => sub {
    my @args;
    for my $body (@bodies32) {
        my $id = id_of($body);
        my $file = "$top/curl-$id.json";
        open my $fh, '>:raw', $file or die;
        print $fh $body;
        close $fh;
        push @args, (@args ? '--next' : ()), '--http2-prior-knowledge',
            '-H', 'Content-Type: application/json', '-H', "X-Test-Id: curl:$id",
            '--data-binary', "\@$file", '-o', '/dev/null',
            '-w', '%{http_code} %{num_connects} %{http_version}\n',
            "http://127.0.0.1:$gw->{h2}$CHAT";
    }
    # (in parallel mode curl 7.88 draws its progress meter despite -s)
    my $pid = open(my $p, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', '/dev/null';
        exec 'curl', '-sS', '--parallel', '--parallel-immediate', '--parallel-max', '32', @args;
        die "curl: $!";
    }
    my @lines = <$p>;
    close $p;
    is scalar(grep { /^200 1 2\n/ } @lines), 32, '32 transfers, 200 over HTTP/2, each on a connection of its own'
        or diag @lines;
    upstream_got('32 connections', @bodies32);
    expect_optimized($_, 'curl:' . id_of($_)) for @bodies32;
    log_clean('32 connections');
};

# --- HTTP/1.1: stalled and dropped bodies --------------------------------------

my $BODY = body_for('h1');
my %wire = (
    plain   => [$BODY, 'Content-Length: ' . length($BODY)],
    chunked => [join('', map { sprintf("%x\r\n%s\r\n", length, $_) } unpack('(a7919)*', $BODY)),
                'Transfer-Encoding: chunked'],
    gzip    => do { my $g = gz($BODY); [$g, 'Content-Length: ' . length($g), 'Content-Encoding: gzip'] },
);

sub head_for {
    my ($id, @extra) = @_;
    return join "\r\n", "POST $CHAT HTTP/1.1", 'Host: gw', 'Content-Type: application/json',
        "X-Test-Id: $id", @extra;
}

subtest 'HTTP/1.1 bodies stalled mid-way past client_body_timeout (1s)' => sub {
    for my $kind (qw(plain chunked gzip)) {
        my ($bytes, @headers) = @{ $wire{$kind} };
        my $id = "stall-$kind";
        my $r = send_partial($gw->{port}, head => head_for($id, @headers),
                             data => substr($bytes, 0, int(length($bytes) / 3)),
                             then => 'stall', wait => 6);
        ok $r->{eof}, sprintf('%s: nginx closed the connection (%.1f s)', $kind, $r->{seconds});
        ok $r->{seconds} >= 0.9 && $r->{seconds} < 4, "$kind: after client_body_timeout, not before";
        like $r->{response}, qr/\A(|HTTP\/1\.1 408 .*)\z/s, "$kind: with no response or a 408";
        upstream_got("$kind stalled");
        expect_aborted($id);
        $count{gzip}++ if $kind eq 'gzip';
        still_serving("$kind stalled");
    }
    log_clean('stalled bodies');
};

subtest 'HTTP/1.1 clients that hang up mid-body' => sub {
    my @cases = (
        # Content-Length 100000, 30000 sent
        ['plain, 30000 of 100000 bytes', "Content-Length: 100000", substr($BODY, 0, 30000)],
        ['chunked, cut inside a chunk', $wire{chunked}[1], substr($wire{chunked}[0], 0, 30000)],
        ['chunked, cut between chunks', $wire{chunked}[1],
         join('', map { sprintf("%x\r\n%s\r\n", length, $_) } unpack('(a7919)4', $BODY))],
        ['gzip, half the compressed bytes', @{ $wire{gzip} }[1, 2],
         substr($wire{gzip}[0], 0, int(length($wire{gzip}[0]) / 2))],
        ['gzip, all but the trailer', @{ $wire{gzip} }[1, 2], substr($wire{gzip}[0], 0, -8)],
        ['Expect: 100-continue, then nothing', 'Content-Length: ' . length($BODY),
         'Expect: 100-continue', ''],
    );
    my $n = 0;
    for my $c (@cases) {
        my ($what, @rest) = @$c;
        my $data = pop @rest;
        my $id = 'drop-' . ++$n;
        send_partial($gw->{port}, head => head_for($id, @rest), data => $data, then => 'close');
        upstream_got($what);
        expect_aborted($id);
        $count{gzip}++ if grep { /gzip/ } @rest;
        still_serving($what);
    }
    log_clean('hung up');
};

# --- leaks ------------------------------------------------------------------------

sub workers {
    my $master = slurp("$gw->{dir}/logs/nginx.pid");
    chomp $master;
    return map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
}
sub rss_kb {
    my $kb = 0;
    for my $pid (@_) {
        $kb += $1 if slurp("/proc/$pid/status") =~ /^VmRSS:\s+(\d+)/m;
    }
    return $kb;
}
sub fds { my $n = 0; for my $pid (@_) { opendir my $d, "/proc/$pid/fd" or next; $n += () = grep { /^\d+$/ } readdir $d } $n }

# Aborted requests of every kind, quickly: HTTP/1.1 plain, chunked, gzip
# closed mid-body.
sub abort_round {
    my ($n) = @_;
    my @kinds = qw(plain chunked gzip);
    for my $i (1 .. $n) {
        my $kind = $kinds[$i % 3];
        my ($bytes, @headers) = @{ $wire{$kind} };
        send_partial($gw->{port}, head => head_for("leak-$kind", @headers),
                     data => substr($bytes, 0, int(length($bytes) * 0.6)), then => 'close', pause => 0.01);
        $count{client_aborted}++;
        $count{gzip}++ if $kind eq 'gzip';
    }
}

subtest 'no leaks after hundreds of aborted bodies' => sub {
    my @w = workers();
    is scalar(@w), 2, 'two workers';
    abort_round(150);
    sleep 0.5;
    my ($rss0, $fd0) = (rss_kb(@w), fds(@w));
    abort_round(600);
    sleep 0.5;
    my ($rss1, $fd1) = (rss_kb(@w), fds(@w));
    is_deeply [sort { $a <=> $b } workers()], [sort { $a <=> $b } @w], 'the same workers: none died';
    diag "rss $rss0 -> $rss1, fds $fd0 -> $fd1" if $ENV{SHOW};
    ok $rss1 - $rss0 < 8192, "worker memory steady: $rss0 kB -> $rss1 kB after 600 more";
    ok $fd1 <= $fd0 + 2, "descriptors steady: $fd0 -> $fd1";
    opendir my $d, "$gw->{dir}/tmp/body";
    my @left = $d ? grep { !/^\./ } readdir $d : ();
    is scalar(@left), 0, 'no temp body file left behind';
    is scalar(recorded("$top/up")), 0, 'nothing went upstream';
    still_serving('after 750 aborted bodies');
    log_clean('leaks');
};

# --- the zone's counts ----------------------------------------------------------

subtest 'the status zone adds up after all that' => sub {
    my $st = status_json($gw->{port});
    diag $json->encode({ requests => $st->{requests}, encodings => $st->{encodings}, modes => $st->{modes}{optimize} }) if $ENV{SHOW};
    my $req = $st->{requests} // {};
    my $sum = 0;
    $sum += $req->{$_} for grep { $_ ne 'seen' } keys %$req;
    is $req->{seen}, $count{optimized} + $count{client_aborted}, 'seen: every request sent';
    is $sum, $req->{seen}, 'seen is the sum of the outcomes';
    is $req->{optimized}, $count{optimized}, "optimized: the $count{optimized} whole bodies";
    is $req->{client_aborted}, $count{client_aborted}, "client_aborted: the $count{client_aborted} cut short";
    is $req->{$_}, 0, "$_: 0" for qw(passthrough failed bypass client_max_body_size);
    my $opt = $st->{modes}{optimize};
    is $opt->{requests}, $count{optimized}, 'bodies through the core: only the whole ones';
    is $opt->{bytes_before}, $bytes_before, 'bytes before: the whole bodies sent';
    is $opt->{bytes_after}, $bytes_after, 'bytes after: what the upstream received';
    is $st->{time_us}{count}, $count{optimized}, 'one time observation a body run';
    # The encodings count every body headroom began to read, aborted ones
    # too (with the bytes that came), unlike the modes, which count bodies
    # run through the core: every request here is identity or gzip.
    my $enc = $st->{encodings};
    is $enc->{gzip}{requests}, $count{gzip}, "gzip bodies: the $count{gzip} sent, all cut short";
    is $enc->{identity}{requests} + $enc->{gzip}{requests}, $req->{seen},
        'identity + gzip bodies: every request seen, aborted ones included';
    ok $enc->{gzip}{decoded_bytes} > $enc->{gzip}{wire_bytes}, 'gzip: the decoded bytes of the parts that came';
};

subtest 'the access log: each request\'s $headroom_status' => sub {
    my %got;
    for (split /\n/, slurp("$gw->{dir}/logs/outcomes.log")) {
        $got{$1} = [$2, $3] if /^id=(\S+) http=(\d+) headroom=(\S+)/;
    }
    my $wrong = 0;
    for my $id (sort keys %outcome_of) {
        my $g = $got{$id} // ['none', 'none'];
        next if $g->[1] eq $outcome_of{$id};
        $wrong++;
        diag "$id: $g->[1] (HTTP $g->[0]), want $outcome_of{$id}";
    }
    is $wrong, 0, scalar(keys %outcome_of) . ' requests, each with its outcome';
    like join(' ', map { "$_=$got{$_}[0]" } grep { /^stall-/ } sort keys %got),
        qr/^stall-chunked=408 stall-gzip=408 stall-plain=408$/, 'the stalled HTTP/1.1 ones are 408 in the log';
};

my $log = stop_gateway($gw);
my @bad = bad_log_lines($log);
ok !@bad, 'no alert, crit, emerg or crashed worker in the whole run' or diag join "\n", @bad;
my $starts = () = $log =~ /start worker process \d+/g;
is $starts, 2, 'two workers started, none restarted';
unlike $log, qr/\[error\].*headroom/, 'no headroom error';

done_testing();
