# Observability and control through real nginx with 2 workers: the zone's
# totals against the sum of what each request reported, the status output
# as JSON and as Prometheus text (checked by promtool and by a strict parser
# here), every variable in an access log, audit and simulate modes, the
# client's control headers, which never reach the upstream.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded free_port read_message write_all);
use Bodies;

my $json = JSON::PP->new->canonical;
my $PROMTOOL = 'build/promtool/usr/bin/promtool';

# --- the gateway under test ------------------------------------------------

my $dir = tempdir('headroom-status-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");
my $port = free_port();

my $LOG_FORMAT = 'id=$http_x_test_id status=$headroom_status model=$headroom_model '
    . 'before=$headroom_tokens_before after=$headroom_tokens_after '
    . 'saved=$headroom_tokens_saved ratio=$headroom_ratio '
    . 'transforms=$headroom_transforms time=$headroom_time_us';

sub conf {
    my ($prefix, $zone, $listen, $h2_port) = @_;
    my $h2 = $h2_port ? "listen 127.0.0.1:$h2_port http2;" : '';
    my $module = "$ENV{PWD}/build/ngx_http_headroom_module.so";
    my $up = "127.0.0.1:$rec_port";
    return <<"CONF";
load_module $module;
worker_processes 2;
daemon on;
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    $zone
    log_format figures '$LOG_FORMAT';
    access_log $prefix/logs/access.log figures;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$listen;
        $h2
        location /v1/ {
            headroom on;
            headroom_client_control on;
            headroom_response_headers on;
            proxy_pass http://$up;
        }
        location /audit/ {
            headroom on;
            headroom_mode audit;
            headroom_response_headers on;
            proxy_pass http://$up;
        }
        location /simulate/ {
            headroom on;
            headroom_mode simulate;
            proxy_pass http://$up;
        }
        location /locked/ {
            headroom on;
            headroom_response_headers on;
            proxy_pass http://$up;
        }
        location = /status {
            headroom_status;
        }
    }
}
CONF
}

sub start {
    my ($prefix, $zone, $listen, $h2_port) = @_;
    mkdir $prefix;
    mkdir "$prefix/$_" for qw(conf logs tmp);
    chmod 0777, "$prefix/tmp";
    open my $fh, '>', "$prefix/conf/nginx.conf" or die;
    print $fh conf($prefix, $zone, $listen, $h2_port);
    close $fh;
    HeadroomTest::start_nginx($prefix, { http => $listen });
}

sub stop { HeadroomTest::stop_nginx(@_) }

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return '';
    local $/;
    return <$fh> // '';
}

# One request on its own connection, so that both workers take some.
sub http {
    my ($listen, $method, $uri, $body, @headers) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$listen") or die "connect: $!";
    my $head = "$method $uri HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n";
    $head .= "$_\r\n" for @headers;
    $head .= "Content-Length: " . length($body) . "\r\n" if defined $body;
    write_all($s, "$head\r\n" . ($body // ''));
    my ($h, $b) = read_message($s, 1);
    close $s;
    my %hdr;
    for (split /\r\n/, $h // '') { $hdr{lc $1} = $2 if /^([^:]+):\s*(.*)$/ }
    my ($status) = ($h // '') =~ /^HTTP\/1\.1 (\d+)/;
    return { status => $status, head => $h // '', headers => \%hdr, body => $b // '' };
}

# --- the price table, read here as the README says it is read -------------

my @prices;
for (split /\n/, slurp('conf-examples/headroom-prices.conf')) {
    s/#.*//;
    my ($prefix, $usd) = split;
    push @prices, [$prefix, $usd] if defined $usd;
}

sub price {
    my ($model) = @_;
    my ($best) = sort { length $b->[0] <=> length $a->[0] }
                 grep { index($model, $_->[0]) == 0 } @prices;
    return $best ? $best->[1] : undef;
}

# --- requests ---------------------------------------------------------------

my $big = pretty(records(120));
my $small_pretty = pretty(records(20));    # not crushed: only made lossless-smaller

sub with_model { my ($body, $model) = @_; $body =~ s/"model":"[^"]+"/"model":"$model"/; $body }

my @sent;   # what each request reported: headers, and what was expected
my $id = 0;

sub send_one {
    my (%r) = @_;
    my $tid = ++$id;
    my $res = http($r{port} // $port, $r{method} // 'POST', $r{uri} // '/v1/chat/completions',
                   $r{body}, 'X-Test-Id: ' . $tid,
                   ($r{json} // 1) ? 'Content-Type: application/json' : 'Content-Type: text/plain',
                   @{ $r{headers} // [] });
    my @up = recorded("$dir/upstream");
    push @sent, { %r, id => $tid, res => $res, upstream => \@up };
    return $sent[-1];
}

my $h2_port = free_port();
start("$dir/gw", 'headroom_zone headroom 1m;', $port, $h2_port);

my @models = ('gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'claude-sonnet-4-5');
for my $i (1 .. 24) {
    my $model = $models[$i % @models];
    if ($model =~ /^claude/) {
        send_one(expect => 'optimized', uri => '/v1/messages', body => with_model(anthropic($big), $model));
    } else {
        send_one(expect => 'optimized', body => with_model(chat($big), $model));
    }
}
send_one(expect => 'optimized', body => chat($small_pretty)) for 1 .. 6;    # minify only
send_one(expect => 'passthrough:not_json', json => 0, body => chat($big)) for 1 .. 5;
send_one(expect => 'passthrough:not_post', method => 'GET', uri => '/v1/models') for 1 .. 4;
send_one(expect => 'passthrough:invalid_json', body => '{"model":"gpt-4o","messages":[') for 1 .. 3;
send_one(expect => 'passthrough:no_change',
         body => '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}') for 1 .. 3;
send_one(expect => 'bypass', body => chat($big), headers => ['X-Headroom-Bypass: 1']) for 1 .. 3;
send_one(expect => 'audit', body => chat($big), headers => ['X-Headroom-Mode: audit']) for 1 .. 3;
send_one(expect => 'audit', uri => '/audit/v1/chat/completions', body => chat($big)) for 1 .. 5;
send_one(expect => 'simulate', uri => '/simulate/v1/chat/completions', body => chat($big)) for 1 .. 2;
send_one(expect => 'simulate', body => chat($big), headers => ['x-headroom-mode: SIMULATE']) for 1 .. 2;
send_one(expect => 'optimized', uri => '/locked/v1/chat/completions', body => chat($big),
         headers => ['X-Headroom-Mode: audit', 'X-Headroom-Bypass: 1', 'X-Headroom-Anything: x'])
    for 1 .. 3;
send_one(expect => 'optimized', body => chat($big), headers => ['X-Headroom-Mode: sideways']);

my $zone_json = http($port, 'GET', '/status');
my $status_prom = http($port, 'GET', '/status?format=prometheus');
my $status_accept = http($port, 'GET', '/status', undef,
    'Accept: application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
my $zone = eval { decode_json($zone_json->{body}) } or BAIL_OUT("status JSON: $@\n$zone_json->{body}");

subtest 'each request did what was asked, and told the client' => sub {
    for my $s (@sent) {
        my $res = $s->{res};
        my $what = "request $s->{id} ($s->{expect})";
        is($res->{status}, 200, "$what: 200");
        my $status = $s->{expect};
        if ($status eq 'simulate') {
            is(scalar @{ $s->{upstream} }, 0, "$what: no upstream call");
            is($res->{headers}{'x-headroom-status'}, 'simulate', "$what: status header");
            my $direct = send_direct($s->{body});
            is($res->{body}, $direct, "$what: the body optimize mode sends");
            is(length($res->{body}), $res->{headers}{'content-length'}, "$what: its length");
            ok($res->{headers}{'x-headroom-transforms'} =~ /crush_json/, "$what: transforms header");
            like($res->{headers}{'x-headroom-time-us'}, qr/^\d+$/, "$what: time header");
            next;
        }
        is(scalar @{ $s->{upstream} }, 1, "$what: one upstream call") or next;
        my ($uhead, $ubody) = @{ $s->{upstream}[0] };
        unlike($uhead, qr/^X-Headroom-/mi, "$what: no X-Headroom-* header upstream");
        like($uhead, qr/^X-Test-Id: $s->{id}\r?$/mi, "$what: other headers kept");
        if ($status eq 'optimized') {
            ok(length($ubody) < length($s->{body}), "$what: smaller upstream");
            like($uhead, qr/^Content-Length: @{[length $ubody]}\r?$/mi, "$what: its length");
        } elsif (defined $s->{body}) {
            is($ubody, $s->{body}, "$what: byte-identical upstream");
        }
        if ($status =~ /^(optimized|audit)$/ && ($s->{uri} // '') !~ /simulate/) {
            my $h = $res->{headers};
            like($h->{'x-headroom-tokens-before'}, qr/^\d+$/, "$what: tokens header");
            is($h->{'x-headroom-tokens-saved'},
               $h->{'x-headroom-tokens-before'} - $h->{'x-headroom-tokens-after'},
               "$what: saved = before - after");
            ok($h->{'x-headroom-tokens-saved'} > 0, "$what: something saved");
        } elsif ($status =~ /invalid_json|no_change/) {
            is($res->{headers}{'x-headroom-tokens-saved'}, 0, "$what: read, nothing saved");
        } else {
            ok(!exists $res->{headers}{'x-headroom-tokens-before'}, "$what: no tokens header");
        }
    }
};

# What the /v1/ location sends upstream for a body, asked afresh.
sub send_direct {
    my ($body) = @_;
    http($port, 'POST', '/v1/chat/completions', $body, 'Content-Type: application/json');
    my @up = recorded("$dir/upstream");
    return @up ? $up[0][1] : '';
}

# The audit location's figures equal what optimize mode does to the same
# body (the header of request 1, same body and model as the audit ones?).
subtest 'audit counts what optimize would save' => sub {
    my ($audit) = grep { ($_->{uri} // '') =~ /^\/audit/ } @sent;
    my $r = http($port, 'POST', '/v1/chat/completions', $audit->{body}, 'Content-Type: application/json');
    recorded("$dir/upstream");
    is($audit->{res}{headers}{'x-headroom-tokens-saved'}, $r->{headers}{'x-headroom-tokens-saved'},
       'same tokens saved');
};

# The CLI counts the same tokens as the module's headers say.
subtest 'the tokens headers agree with the headroom command' => sub {
    my $s = $sent[1];
    my $file = "$dir/body.json";
    open my $fh, '>:raw', $file or die;
    print $fh $s->{body};
    close $fh;
    my $err = `build/headroom compress --uri /v1/chat/completions $file 2>&1 >/dev/null`;
    my ($b, $a) = $err =~ /tokens (\d+) -> (\d+)/ or diag $err;
    is($s->{res}{headers}{'x-headroom-tokens-before'}, $b, 'before');
    is($s->{res}{headers}{'x-headroom-tokens-after'}, $a, 'after');
};

subtest 'the zone totals are the sums of what was sent, across workers' => sub {
    like($zone_json->{headers}{'content-type'}, qr{^application/json}, 'JSON by default');
    is($zone->{requests}{seen}, scalar @sent, 'seen');
    my %by;
    $by{ $_->{expect} =~ /^(optimized|audit|simulate)$/ ? 'optimized'
         : $_->{expect} =~ /^passthrough/ ? 'passthrough' : $_->{expect} }++ for @sent;
    is($zone->{requests}{$_}, $by{$_} // 0, "requests $_") for qw(optimized passthrough bypass failed);
    my %reasons;
    $reasons{$_}++ for map { $_->{expect} =~ /^passthrough:(\w+)/ ? $1 : () } @sent;
    is($zone->{passthrough_reasons}{$_}, $reasons{$_} // 0, "reason $_")
        for sort keys %{ $zone->{passthrough_reasons} };

    # optimize mode: bytes after are exactly what the upstream received
    my $opt = $zone->{modes}{optimize};
    my @ran = grep { $_->{expect} =~ /^(optimized|passthrough:(invalid_json|no_change))$/ } @sent;
    my ($bytes_before, $bytes_after, $tb, $ta, $usd) = (0, 0, 0, 0, 0);
    my %model_saved;
    for my $s (@ran) {
        $bytes_before += length $s->{body};
        $bytes_after += length $s->{upstream}[0][1];
        my $h = $s->{res}{headers};
        $tb += $h->{'x-headroom-tokens-before'};
        $ta += $h->{'x-headroom-tokens-after'};
        # a body that does not parse has no model
        my ($model) = $s->{expect} =~ /invalid_json/ ? '(none)' : $s->{body} =~ /"model":"([^"]+)"/;
        $model_saved{$model} += $h->{'x-headroom-tokens-saved'};
        my $p = price($model);
        $usd += int($h->{'x-headroom-tokens-saved'} * $p * 1000 + 0.5) if defined $p;
    }
    is($opt->{requests}, scalar @ran, 'bodies read in optimize mode');
    is($opt->{bytes_before}, $bytes_before, 'bytes before: the bodies sent');
    is($opt->{bytes_after}, $bytes_after, 'bytes after: what the upstream received');
    is($opt->{tokens_before}, $tb, 'tokens before: the sum of the headers');
    is($opt->{tokens_after}, $ta, 'tokens after: likewise');
    is($opt->{tokens_saved}, $tb - $ta, 'saved = before - after');
    ok($opt->{tokens_saved} > 10000, "tokens saved: $opt->{tokens_saved}");

    # audit mode: the audit location and the X-Headroom-Mode: audit ones
    my @audit = grep { $_->{expect} eq 'audit' } @sent;
    my $au = $zone->{modes}{audit};
    is($au->{requests}, scalar @audit, 'audit bodies');
    my $asaved = 0;
    $asaved += $_->{res}{headers}{'x-headroom-tokens-saved'} for @audit;
    is($au->{tokens_saved}, $asaved, 'audit tokens saved: the sum of the headers');
    is($au->{bytes_before}, $au->{requests} * length(chat($big)), 'audit bytes before');
    ok($au->{bytes_after} < $au->{bytes_before} / 5, 'audit bytes after: as they would have been');
    is($zone->{modes}{simulate}{requests}, 4, 'simulate bodies');

    # per transform: crush_json did most of it, minify_json the small ones
    my $tr = $opt->{transforms};
    is($tr->{minify_json}{applied}, 6, 'minify_json counted');
    ok($tr->{crush_json}{applied} >= 20, 'crush_json counted');
    my $sum = 0;
    $sum += $_->{tokens_saved} for values %$tr;
    is($sum, $opt->{tokens_saved}, 'the transforms account for every token saved');

    # per model, and money
    my %zone_model;
    $zone_model{ $_->{model} } += $_->{tokens_saved}
        for grep { $_->{mode} eq 'optimize' } @{ $zone->{models} };
    is_deeply(\%zone_model, \%model_saved, 'tokens saved by model');
    is(sprintf('%.9f', $opt->{saved_usd}), sprintf('%.9f', $usd / 1e9),
       "money saved at the shipped prices: $opt->{saved_usd} USD");

    my $h = $zone->{time_us};
    is($h->{count}, $opt->{requests} + $au->{requests} + 4, 'one time observation a body read');
    is($h->{buckets}[-1]{count}, $h->{count}, '+Inf bucket holds all');
};

# --- Prometheus -------------------------------------------------------------

sub parse_prometheus {
    my ($text) = @_;
    my (%help, %type, %samples, @errors);
    my $family;
    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP (\w+) (.+)$/) {
            push @errors, "HELP twice for $1" if $help{$1}++;
            $family = $1;
        } elsif ($line =~ /^# TYPE (\w+) (counter|gauge|histogram)$/) {
            push @errors, "TYPE before HELP for $1" unless $help{$1};
            $type{$1} = $2;
        } elsif ($line =~ /^(\w+)(\{(?:\w+="[^"\\\n]*",?)*\})? (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/) {
            my ($name, $labels, $v) = ($1, $2 // '', $3);
            my $base = $name;
            $base =~ s/_(bucket|sum|count)$// if ($type{ $family // '' } // '') eq 'histogram';
            push @errors, "sample $name outside its family" unless defined $family && $base eq $family;
            push @errors, "counter $name does not end in _total"
                if ($type{$name} // '') eq 'counter' && $name !~ /_total$/;
            push @errors, "not headroom_*: $name" unless $name =~ /^headroom_/;
            push @errors, "duplicate $name$labels" if exists $samples{"$name$labels"};
            $samples{"$name$labels"} = $v;
        } else {
            push @errors, "bad line: $line";
        }
    }
    return (\%samples, \%type, \@errors);
}

subtest 'Prometheus text: parses, and says what the JSON says' => sub {
    like($status_prom->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'content type');
    is($status_accept->{body} =~ /^# HELP/ ? 1 : 0, 1, 'Accept: text/plain gets it too');
    my ($s, $type, $errors) = parse_prometheus($status_prom->{body});
    is_deeply($errors, [], 'strict parse');
    SKIP: {
        skip "promtool not built", 1 unless -x $PROMTOOL;
        open my $pt, '|-', "$PROMTOOL check metrics >$dir/promtool.out 2>&1" or die;
        print $pt $status_prom->{body};
        close $pt;
        is($? >> 8, 0, 'promtool check metrics') or diag slurp("$dir/promtool.out");
    }
    # the status requests after the JSON one are not in a headroom location
    is($s->{headroom_requests_seen_total}, $zone->{requests}{seen}, 'seen');
    is($s->{'headroom_requests_total{outcome="optimized"}'}, $zone->{requests}{optimized}, 'optimized');
    is($s->{'headroom_passthrough_total{reason="not_json"}'}, 5, 'reason');
    is($s->{'headroom_tokens_saved_total{mode="optimize"}'}, $zone->{modes}{optimize}{tokens_saved}, 'tokens saved');
    is($s->{'headroom_body_bytes_total{mode="audit",stage="before"}'}, $zone->{modes}{audit}{bytes_before}, 'bytes');
    is($s->{'headroom_saved_usd_total{mode="optimize"}'} + 0, $zone->{modes}{optimize}{saved_usd} + 0, 'usd');
    is($type->{headroom_core_duration_seconds}, 'histogram', 'histogram');
    my @le = map { /le="([^"]+)"/ ? [$1, $s->{$_}] : () }
             grep { /^headroom_core_duration_seconds_bucket\{/ } sort keys %$s;
    is(scalar @le, 12, '12 buckets');
    is($s->{'headroom_core_duration_seconds_bucket{le="+Inf"}'}, $s->{headroom_core_duration_seconds_count},
       '+Inf = count');
    my @finite = sort { $a->[0] <=> $b->[0] } grep { $_->[0] ne '+Inf' } @le;
    my $mono = 1;
    for my $i (1 .. $#finite) { $mono = 0 if $finite[$i][1] < $finite[$i - 1][1] }
    ok($mono, 'buckets are cumulative');
    ok($s->{'headroom_model_tokens_saved_total{mode="optimize",model="gpt-4o"}'} > 0, 'per model');
};

# --- the access log ---------------------------------------------------------

subtest 'every variable in the access log' => sub {
    my %line;
    for (split /\n/, slurp("$dir/gw/logs/access.log")) {
        $line{$1} = $_ if /^id=(\d+) /;
    }
    for my $s (@sent) {
        my $l = $line{ $s->{id} } // '';
        my $what = "request $s->{id} ($s->{expect})";
        my %v = map { split /=/, $_, 2 } split / /, $l;
        is($v{status}, $s->{expect}, "$what: \$headroom_status");
        my $h = $s->{res}{headers};
        if (defined $h->{'x-headroom-tokens-before'}) {
            is($v{before}, $h->{'x-headroom-tokens-before'}, "$what: \$headroom_tokens_before");
            is($v{after}, $h->{'x-headroom-tokens-after'}, "$what: \$headroom_tokens_after");
            is($v{saved}, $h->{'x-headroom-tokens-saved'}, "$what: \$headroom_tokens_saved");
            is($v{ratio}, $v{before} ? sprintf('%.4f', int($v{after} * 10000 / $v{before} + 0.5) / 10000)
                                     : '-', "$what: \$headroom_ratio");
            my ($model) = $s->{expect} =~ /invalid_json/ ? '-' : $s->{body} =~ /"model":"([^"]+)"/;
            is($v{model}, $model, "$what: \$headroom_model");
            like($v{transforms}, $s->{expect} =~ /^passthrough/ ? qr/^-$/ : qr/^(crush_json|minify_json)$/,
                 "$what: \$headroom_transforms");
            like($v{time}, qr/^\d+$/, "$what: \$headroom_time_us");
        } elsif ($s->{expect} =~ /bypass|not_json|not_post/) {
            is("$v{model} $v{before} $v{ratio} $v{transforms} $v{time}", '- - - - -',
               "$what: no figures when the core did not run");
        }
    }
};

subtest 'the error log: one line a request at info, warnings for bad headers' => sub {
    my $log = slurp("$dir/gw/logs/error.log");
    my $now = decode_json(http($port, 'GET', '/status')->{body});
    my $n = () = $log =~ /\[info\].*headroom: (optimized|audit|simulate|passthrough|bypass)/g;
    is($n, $now->{requests}{seen}, 'one info line a request');
    my %pids = map { $_ => 1 } $log =~ /\[info\] (\d+)#\d+: \*\d+ headroom: /g;
    is(scalar keys %pids, 2, 'both workers took requests: the zone summed them');
    like($log, qr/\[warn\].*"X-Headroom-Mode: sideways" ignored/, 'bad mode: a warning');
    like($log, qr/headroom: audit \(original forwarded\):/, 'audit says so');
    unlike($log, qr/\[(alert|crit|emerg)\]/, 'nothing worse');
};

# --- reload keeps counting; a full zone; a missing zone -------------------

subtest 'a reload keeps the figures' => sub {
    my $pid = do { open my $fh, '<', "$dir/gw/logs/nginx.pid" or die; local $/; <$fh> };
    chomp $pid;
    my $before = decode_json(http($port, 'GET', '/status')->{body});
    kill 'HUP', $pid;
    sleep 1;
    my $after = decode_json(http($port, 'GET', '/status')->{body});
    ok($before->{requests}{seen} > 0, 'figures before');
    is_deeply($after, $before, 'the same figures after');
};

subtest 'HTTP/2: the control headers are honoured and taken out too' => sub {
    my $file = "$dir/h2-body.json";
    open my $fh, '>:raw', $file or die;
    print $fh chat($big);
    close $fh;
    for my $case (['X-Headroom-Bypass: on', 1], ['X-Headroom-Mode: optimize', 0]) {
        my ($header, $bypass) = @$case;
        my $out = `curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Content-Type: application/json' -H '$header' -H 'X-Test-Id: h2' --data-binary \@$file http://127.0.0.1:$h2_port/v1/chat/completions`;
        is($out, '200', "$header: 200");
        my @up = recorded("$dir/upstream");
        is(scalar @up, 1, "$header: one upstream call") or next;
        unlike($up[0][0], qr/^X-Headroom-/mi, "$header: not upstream");
        like($up[0][0], qr/^X-Test-Id: h2\r?$/mi, "$header: the other headers are");
        if ($bypass) {
            is($up[0][1], chat($big), "$header: byte-identical");
        } else {
            ok(length($up[0][1]) < length(chat($big)) / 5, "$header: optimized");
        }
    }
};

stop("$dir/gw");

subtest 'a full zone counts further models as (other), and says so once' => sub {
    my $p2 = free_port();
    start("$dir/small", 'headroom_zone tiny 32k;', $p2);
    my $n = 400;
    for my $i (1 .. $n) {
        http($p2, 'POST', '/v1/chat/completions',
             qq({"model":"model-$i","messages":[{"role":"user","content":"hi"}]}),
             'Content-Type: application/json');
    }
    recorded("$dir/upstream");
    my $z = decode_json(http($p2, 'GET', '/status')->{body});
    stop("$dir/small");
    ok($z->{zone_full}, 'zone_full');
    my ($other) = grep { $_->{model} eq '(other)' } @{ $z->{models} };
    ok($other && $other->{requests} > 0, '(other) counted');
    my $sum = 0;
    $sum += $_->{requests} for @{ $z->{models} };
    is($sum, $n, 'every request counted once, by model');
    is($z->{modes}{optimize}{requests}, $n, 'and in the totals');
    my $log = slurp("$dir/small/logs/error.log");
    my $warned = () = $log =~ /\[warn\].*zone "tiny" is full after \d+ models/g;
    is($warned, 1, 'one warning');
};

subtest 'nginx -t: zone missing, too small, bad prices, bad mode' => sub {
    my $t = "$dir/t";
    mkdir $t;
    mkdir "$t/$_" for qw(conf logs tmp);
    my $check = sub {
        my ($http, $loc) = @_;
        open my $fh, '>', "$t/conf/nginx.conf" or die;
        print $fh "load_module $ENV{PWD}/build/ngx_http_headroom_module.so;\n"
            . "error_log $t/logs/error.log;\npid $t/logs/nginx.pid;\n"
            . "events {}\nhttp {\n$http\nserver { listen 127.0.0.1:" . free_port() . ";\n"
            . "location / { $loc } } }\n";
        close $fh;
        my $out = `/usr/sbin/nginx -t -p $t/ -c $t/conf/nginx.conf 2>&1`;
        return ($? >> 8, $out);
    };
    my ($rc, $out) = $check->('', 'headroom_status;');
    ok($rc != 0, 'status without a zone fails');
    like($out, qr/"headroom_status" needs a "headroom_zone"/, $out);
    ($rc, $out) = $check->('headroom_zone z 4k;', 'headroom_status;');
    like($out, qr/"headroom_zone" "z" is too small: it needs at least \d+k/, 'too small');
    ($rc, $out) = $check->('headroom_zone z 1m; headroom_zone y 1m;', '');
    like($out, qr/"headroom_zone" directive is duplicate/, 'one zone');
    open my $fh, '>', "$t/conf/prices" or die;
    print $fh "gpt-4o 2.50\ngpt-4o-mini cheap\n";
    close $fh;
    ($rc, $out) = $check->("headroom_zone z 1m; headroom_prices prices;", '');
    like($out, qr/headroom_prices ".*prices": line 2: expected/, 'bad prices: file and line');
    ($rc, $out) = $check->("headroom_zone z 1m; headroom_prices nonexistent;", '');
    like($out, qr/headroom_prices ".*nonexistent": cannot read/, 'missing prices file');
    ($rc, $out) = $check->('headroom_prices prices;', '');
    like($out, qr/"headroom_prices" needs a "headroom_zone"/, 'prices without a zone');
    ($rc, $out) = $check->('', 'headroom on; headroom_mode sideways;');
    like($out, qr/"headroom_mode" takes optimize, audit or simulate, not "sideways"/, 'bad mode');
    open $fh, '>', "$t/conf/prices.ok" or die;
    print $fh "gpt-4o 2.5\n";
    close $fh;
    ($rc, $out) = $check->("headroom_zone z 1m; headroom_prices prices.ok;", 'headroom_status;');
    is($rc, 0, 'a good one passes') or diag $out;
};

subtest 'the make run gateway: its status endpoint, HEADROOM_MODE' => sub {
    require Gateway;
    my %up = (HEADROOM_OPENAI_UPSTREAM => "http://127.0.0.1:$rec_port/v1",
              HEADROOM_ANTHROPIC_UPSTREAM => "http://127.0.0.1:$rec_port/v1",
              HEADROOM_ACCESS_LOG => "$dir/gw-access.log");
    my ($rc, $out) = Gateway::render_gateway("$dir/bad", %up, HEADROOM_MODE => 'sideways');
    ok($rc != 0, 'a bad HEADROOM_MODE is refused');
    like($out, qr/HEADROOM_MODE="sideways"/, $out);

    my $gw = Gateway::start_gateway("$dir/sim", %up, HEADROOM_MODE => 'simulate');
    my $r = http($gw->{port}, 'POST', '/v1/chat/completions', chat($big),
                 'Content-Type: application/json');
    is($r->{headers}{'x-headroom-status'}, 'simulate', 'simulated');
    ok(length($r->{body}) > 0 && length($r->{body}) < length(chat($big)) / 5, 'the rewritten body');
    is(scalar(recorded("$dir/upstream")), 0, 'no upstream call');
    my $z = decode_json(http($gw->{port}, 'GET', '/headroom/status')->{body});
    is($z->{modes}{simulate}{requests}, 1, '/headroom/status counts it');
    Gateway::stop_gateway($gw);
    like(slurp("$dir/gw-access.log"), qr/headroom=simulate model=gpt-4o tokens=\d+>\d+ saved=\d+ /,
         'the access log line');
};

kill 'TERM', $rec_pid;
done_testing;
