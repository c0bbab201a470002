# headroom_summarize through the real module, with a scripted summarizer
# behind an internal location: headroom_summarize_turns over a 30-turn
# session in each API (old turns replaced in batches by their summaries,
# each span summarized once and the same bytes sent on every later turn,
# the span's original served by id); fitting's dropped turns summarized
# and the summary reused on the next turn without asking again; a
# summarizer past its timeout (the plain marker, the request answered) or
# failing; the summarizer's request as the README says; nginx -t.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use HeadroomTest qw(start_recorder start_server recorded read_message write_all);
use Transport;
use Bodies qw(jstr);
use Retrieve qw(APIS api_uri credential);
use Sessions;
use Redis;

sub turn { my ($api, $t) = @_; return agent_turn($api, $t, result => output($t)) }
sub body { my ($api, @m) = @_; return agent_body($api, {}, @m) }

my $dir = File::Temp::tempdir('headroom-sum-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my $sumdir = File::Temp::tempdir('headroom-sum2-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
my ($rec_pid, $rec_port) = start_recorder($dir);
my $JSON = JSON::PP->new->utf8->canonical;

# The summarizer: answers as OpenAI does, after "$sumdir/delay" seconds (if
# that file says so), with a 500 while "$sumdir/fail" exists; each request
# kept as $sumdir/<time>.req.
my ($sum_pid, $sum_port) = start_server('summarizer', sub {
    my ($c) = @_;
    my ($head, $body) = read_message($c, 0);
    return unless defined $head;
    my $file = sprintf "%s/%017.6f-%d", $sumdir, time, $$;
    open my $fh, '>:raw', "$file.tmp" or die;
    print $fh $head, "\r\n\r\n", $body;
    close $fh;
    rename "$file.tmp", "$file.req";
    my $delay = -e "$sumdir/delay" ? do { open my $d, '<', "$sumdir/delay"; scalar <$d> } : 0;
    sleep $delay if $delay;
    my ($status, $resp) = (200, '');
    if (-e "$sumdir/fail") {
        ($status, $resp) = (500, '{"error":{"message":"overloaded"}}');
    } elsif (-e "$sumdir/big") {
        open my $b, '<', "$sumdir/big";
        my $n = <$b>;
        $resp = '{"choices":[{"message":{"role":"assistant","content":"A short summary."}}],"padding":"'
            . ('x' x $n) . '"}';
    } else {
        my $req = eval { JSON::PP->new->utf8->decode($body) } || {};
        my $turns = $req->{messages}[1]{content} // '';
        my @steps = $turns =~ /step (\d+)/g;
        my %seen;
        @steps = grep { !$seen{$_}++ } @steps;
        $resp = JSON::PP->new->utf8->canonical->encode({ id => 'chatcmpl-1', object => 'chat.completion',
            choices => [{ index => 0, message => { role => 'assistant',
                content => "The user asked for steps @steps; each listed a directory." }, finish_reason => 'stop' }] });
    }
    write_all($c, "HTTP/1.1 $status X\r\nContent-Type: application/json\r\nContent-Length: "
        . length($resp) . "\r\nConnection: close\r\n\r\n$resp");
    close $c;
});

sub summarizer_requests {
    my @out;
    for my $f (sort glob("$sumdir/*.req")) {
        open my $fh, '<:raw', $f or die;
        local $/;
        push @out, [split /\r\n\r\n/, <$fh>, 2];
        unlink $f;
    }
    return @out;
}

my $summarizer = qq(
            location = /summarize {
                internal;
                proxy_pass http://127.0.0.1:$sum_port/v1/chat/completions;
                proxy_set_header Authorization "Bearer operator-key";
            });
# A location that fits a small window whose outputs stay (turns go, and
# are summarized), with more directives of its own.
sub fit_location {
    my ($uri, $timeout, $more) = @_;
    return qq(
            location $uri {
                headroom on;
                headroom_ccr on;
                headroom_fit on;
                headroom_context_limit gpt-4o 8000;
                headroom_protect_tools sh;
                headroom_summarize /summarize timeout=$timeout;
                $more
                proxy_pass http://127.0.0.1:$rec_port/;
            });
}

my $gw = start_gateway(
    workers => 2,
    http_config => "headroom_ccr_zone ccr 16m;\nheadroom_cache_zone results 8m;\n",
    config => qq(
            location /v1 {
                headroom on;
                headroom_ccr on;
                headroom_summarize /summarize model=cheap-model timeout=5s;
                headroom_summarize_turns after=3 batch=3000;
                add_header X-Transforms \$headroom_transforms always;
                proxy_pass http://127.0.0.1:$rec_port;
            }
            @{[ fit_location('/fit/', '1s', 'add_header X-Transforms $headroom_transforms always;') ]}
            $summarizer
            location /headroom/ccr/ { headroom_ccr_endpoint; }),
);

sub output { my ($t) = @_; return "listing $t: " . join ' ', map { "t${t}w$_" } 1 .. 120 }

sub send_to {
    my ($prefix, $api, $body) = @_;
    my $r = http_request($gw->{port}, uri => $prefix . api_uri($api), body => $body,
                         headers => [credential($api, 'key-a')]);
    my @got = recorded($dir);
    return ($r, @got ? $got[-1][1] : '');
}

# The summaries in a body: [turns, id, summary text], in order.
sub summaries_in {
    my ($d) = @_;
    my @s;
    my $walk;
    $walk = sub {
        my ($v) = @_;
        if (ref $v eq 'HASH') { $walk->($v->{$_}) for sort keys %$v }
        elsif (ref $v eq 'ARRAY') { $walk->($_) for @$v }
        elsif (defined $v && $v =~ /^\[headroom: (\d+) earlier turns? summarized \(\d+ tokens\); headroom_retrieve id=([0-9a-f]{32})\]\n(.+)\z/s) {
            push @s, [$1, $2, $3];
        }
    };
    $walk->($d);
    return @s;
}

# --- headroom_summarize_turns -----------------------------------------------

for my $api (APIS) {
    my @messages;
    my ($prev, $prev_n, $changes, $asked, $broken, $first_req) = ('', 0, 0, 0, undef, undef);
    my @last;
    for my $t (1 .. 30) {
        push @messages, turn($api, $t);
        my ($r, $sent) = send_to('', $api, body($api, @messages));
        my @asks = summarizer_requests();
        $asked += @asks;
        $first_req //= $asks[0];
        my $d = eval { decode_json($sent) };
        unless ($r->{status} == 200 && $d) { $broken = "turn $t: status $r->{status}"; last }
        my @s = summaries_in($d);
        my $n = 0;
        $n += $_->[0] for @s;
        for my $k ($t - 2 .. $t) {
            next if $k < 1;
            $broken = "turn $t: recent turn $k summarized" unless index($sent, jstr("step $k")) >= 0;
        }
        for my $k (1 .. $n) {
            $broken = "turn $t: summarized turn $k still there" if index($sent, output($k)) >= 0;
        }
        if ($prev ne '') {
            my $same = substr($sent, 0, length($prev) - 2) eq substr($prev, 0, length($prev) - 2);
            $broken = "turn $t: changed without a new summary" if !$same && $n == $prev_n;
            $broken = "turn $t: a new summary, the same bytes" if $same && $n != $prev_n;
            $changes++ if $n != $prev_n;
        }
        $broken = "turn $t: fewer turns summarized than before" if $n < $prev_n;
        ($prev, $prev_n, @last) = ($sent, $n, @s);
        last if $broken;
    }
    ok !$broken, "$api: 30 turns, summarized turns byte-stable" or diag $broken;
    ok $changes >= 4, "$api: $changes batches summarized";
    is $asked, $changes, "$api: each span summarized once, then reused";
    ok $prev_n >= 20, "$api: $prev_n of 30 turns summarized";
    like $last[0][2], qr/^The user asked for steps 1 2 3\b/, "$api: the summary is the summarizer's";
    my $r = http_request($gw->{port}, method => 'GET', uri => "/headroom/ccr/$last[0][1]",
                         headers => [credential($api, 'key-a')]);
    is $r->{status}, 200, "$api: the first span's original is served";
    like $r->{body}, qr/step 1\b.*listing 1: t1w1 /s, "$api: it holds the turns as they were";
    if ($api eq 'openai_chat') {
        my ($head, $b) = @$first_req;
        like $head, qr{^POST /v1/chat/completions HTTP/1\.[01]\r\n}, 'the summarizer is POSTed to';
        like $head, qr/^Authorization: Bearer operator-key\r?$/mi, "the location's credentials";
        unlike $head, qr/key-a/, "not the client's";
        like $head, qr{^Content-Type: application/json\r?$}mi, 'as JSON';
        my $req = decode_json($b);
        is $req->{model}, 'cheap-model', 'the model= asked for';
        is $req->{messages}[0]{role}, 'system', 'a system message';
        like $req->{messages}[0]{content}, qr/^You summarize an excerpt of a conversation/, 'the fixed instruction';
        is $req->{messages}[1]{role}, 'user', 'then the turns';
        like $req->{messages}[1]{content}, qr/^\{"role":"user","content":"step 1"\}\n/, 'a JSON message a line';
    }
}

# --- fitting, summarized ----------------------------------------------------

{
    my @messages;
    push @messages, turn('openai_chat', $_) for 1 .. 12;
    my ($r, $sent) = send_to('/fit', 'openai_chat', body('openai_chat', @messages));
    my @asks = summarizer_requests();
    is scalar(@asks), 1, 'fit: the dropped turns summarized';
    my @s = summaries_in(decode_json($sent));
    is scalar(@s), 1, 'fit: the summary in the marker';
    like $s[0][2], qr/^The user asked for steps 1 /, 'fit: the summarizer said it';
    like $r->{headers}{'x-transforms'} // '', qr/\bfit\b/, 'fit: fit';
    push @messages, turn('openai_chat', 13);
    my ($r2, $sent2) = send_to('/fit', 'openai_chat', body('openai_chat', @messages));
    is scalar(summarizer_requests()), 0, 'fit: the next turn does not ask again';
    is substr($sent2, 0, index($sent, ']', index($sent, 'summarized'))), substr($sent, 0, index($sent, ']', index($sent, 'summarized'))),
        'fit: and sends the same summary';

    # A summarizer past the timeout: the plain marker, in about the timeout.
    open my $d, '>', "$sumdir/delay" or die;
    print $d "3";
    close $d;
    my @other = map { turn('openai_chat', $_) } 101 .. 112;
    my $t0 = time;
    ($r, $sent) = send_to('/fit', 'openai_chat', body('openai_chat', @other));
    my $took = time - $t0;
    is $r->{status}, 200, 'slow summarizer: answered';
    ok $took < 2.8, sprintf('slow summarizer: in %.1f s, not its 3', $took);
    like $sent, qr/earlier turns dropped to fit the context window/, 'slow summarizer: the plain marker';
    unlink "$sumdir/delay";
    sleep 2.5;    # it answers late; that is kept for the next turn
    summarizer_requests();
    push @other, turn('openai_chat', 113);
    ($r, $sent) = send_to('/fit', 'openai_chat', body('openai_chat', @other));
    is scalar(summarizer_requests()), 0, 'slow summarizer: its late answer was kept';
    like $sent, qr/earlier turns summarized/, 'slow summarizer: and is sent on the next turn';

    # A failing summarizer: the plain marker, a warning.
    open my $f, '>', "$sumdir/fail" or die;
    close $f;
    my @third = map { turn('openai_chat', $_) } 201 .. 212;
    ($r, $sent) = send_to('/fit', 'openai_chat', body('openai_chat', @third));
    is $r->{status}, 200, 'failing summarizer: answered';
    like $sent, qr/earlier turns dropped to fit the context window/, 'failing summarizer: the plain marker';
    unlink "$sumdir/fail";
    summarizer_requests();
    like gateway_log($gw), qr/the summarizer at "\/summarize" gave no summary \(status 500\b/, 'failing summarizer: said so';

    # Answers past nginx's in-memory buffer (and proxy's, in a temporary
    # file): read by headroom; past 256 KB, not read, and the client still
    # answered.
    open my $b, '>', "$sumdir/big" or die;
    print $b 100000;
    close $b;
    my @fourth = map { turn('openai_chat', $_) } 301 .. 312;
    ($r, $sent) = send_to('/fit', 'openai_chat', body('openai_chat', @fourth));
    is $r->{status}, 200, 'a 100 KB answer: answered';
    my @long = summaries_in(decode_json($sent));
    is $long[0][2], 'A short summary.', 'a 100 KB answer: its summary';
    open $b, '>', "$sumdir/big" or die;
    print $b 400000;
    close $b;
    my @fifth = map { turn('openai_chat', $_) } 401 .. 412;
    ($r, $sent) = send_to('/fit', 'openai_chat', body('openai_chat', @fifth));
    is $r->{status}, 200, 'a 400 KB answer: the client answered';
    like $sent, qr/earlier turns dropped to fit the context window/, 'a 400 KB answer: the plain marker';
    like gateway_log($gw), qr/gave no summary \(status 200, rc \d+, answer too large\)/, 'a 400 KB answer: said so';
    unlink "$sumdir/big";
    summarizer_requests();
}

is_deeply [bad_log_lines($gw)], [], 'no alert, crit or emerg in the error log';
stop_gateway($gw);

# --- with Redis, and with a thread pool ---------------------------------------

# The summary that comes is sent in the request that waited for it, though
# Redis was asked for it first (and said it has none); a run in a thread
# takes a summary the zone has without asking the location again.
SKIP: {
    skip 'redis-server is not installed (make test installs it)', 5 unless have_redis();
    my $redis = start_redis();
    my $gw2 = start_gateway(
        workers => 1,
        main_config => 'thread_pool headroom threads=2;',
        http_config => "headroom_ccr_zone ccr 16m;\nheadroom_cache_zone results 8m;\n"
            . "headroom_redis 127.0.0.1:$redis->{port};\n",
        config => qq(
            @{[ fit_location('/fit/', '3s', '') ]}
            @{[ fit_location('/thread/', '3s', 'headroom_thread_pool headroom; headroom_thread_offload 1k;') ]}
            $summarizer),
    );
    my @m = map { turn('openai_chat', $_) } 501 .. 512;
    my $r = http_request($gw2->{port}, uri => '/fit' . api_uri('openai_chat'), body => body('openai_chat', @m),
                         headers => [credential('openai_chat', 'key-r')]);
    my @got = recorded($dir);
    is scalar(summarizer_requests()), 1, 'redis: the summarizer asked once';
    like $got[-1][1] // '', qr/earlier turns summarized/, 'redis: the summary sent in the request that waited';

    my @t = map { turn('openai_chat', $_) } 601 .. 612;
    for my $round (1 .. 2) {
        $r = http_request($gw2->{port}, uri => '/thread' . api_uri('openai_chat'),
                          body => body('openai_chat', @t), headers => [credential('openai_chat', 'key-r')]);
        @got = recorded($dir);
        push @t, turn('openai_chat', 612 + $round);
    }
    is scalar(summarizer_requests()), 1, 'thread: the summarizer asked once in two turns';
    like $got[-1][1] // '', qr/earlier turns summarized/, 'thread: the summary sent';
    is_deeply [bad_log_lines($gw2)], [], 'redis, thread: no alert, crit or emerg';
    stop_gateway($gw2);
    stop_redis($redis);
}

# --- nginx -t ---------------------------------------------------------------

my ($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_summarize /s;');
ok $rc && $out =~ /"headroom_summarize" needs "headroom_ccr on"/, 'nginx -t: summaries without the store' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; headroom_summarize_turns after=2;');
ok $rc && $out =~ /"headroom_summarize_turns" needs "headroom_summarize"/, 'nginx -t: summarize_turns alone' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_summarize summarize;');
ok $rc && $out =~ /"headroom_summarize" takes the URI of a location/, 'nginx -t: not a URI' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_summarize /s timeout=0;');
ok $rc && $out =~ /not "timeout=0"/, 'nginx -t: a timeout of 0' or diag $out;
($rc, $out) = nginx_t(location => 'headroom on; headroom_summarize_turns batch=5;');
ok $rc && $out =~ /"headroom_summarize_turns" needs after=N/, 'nginx -t: no after=' or diag $out;
($rc, $out) = nginx_t(http => 'headroom_ccr_zone z 1m;', location => 'headroom on; headroom_ccr on; '
    . 'headroom_summarize /s model=gpt-4o-mini timeout=20s; headroom_summarize_turns after=6 batch=32k;');
is $rc, 0, 'nginx -t: every argument' or diag $out;

done_testing;
