# Compressed request bodies through real nginx: gzip (x-gzip, several
# members, sync-flushed blocks), deflate (zlib and raw), zstd (several
# frames) and br are decoded as they arrive, rewritten, and sent on as identity
# with a right Content-Length; a body headroom read but did not change goes
# on as the original compressed bytes; bombs, corrupt streams and encodings
# headroom does not decode pass through untouched with a reason of their
# own. Then real clients: Node's zlib (gzip in sync-flushed blocks, as
# Claude Code builds them) over Node's fetch, and the zstd command-line
# tool over curl; and the zone's counts of bytes on the wire and decoded.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use IO::Compress::Deflate qw(deflate $DeflateError);
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Compress::RawDeflate qw(rawdeflate $RawDeflateError);
use Compress::Raw::Zlib qw(Z_SYNC_FLUSH);
use Compress::Zlib ();
use Time::HiRes ();
use JSON::PP;
use Test::More;
use HeadroomTest qw(run_blocks start_recorder recorded free_port);
use Bodies;

my $CHAT = '/v1/chat/completions';
my $BODY = chat(pretty(records(750)));
my $WANT = compressed($BODY, $CHAT);
my $PLAIN = chat("plain text output\n  with indentation that is not JSON");

sub gz {
    my ($data) = @_;
    my $out;
    gzip(\$data => \$out, Minimal => 1) or die $GzipError;
    return $out;
}

# One gzip stream written in blocks, each sync-flushed.
sub gz_blocks {
    my ($data, $block) = @_;
    my $out;
    my $z = IO::Compress::Gzip->new(\$out, Minimal => 1) or die $GzipError;
    for (my $at = 0; $at < length $data; $at += $block) {
        $z->print(substr($data, $at, $block));
        $z->flush(Z_SYNC_FLUSH);
    }
    $z->close;
    return $out;
}

sub zlib_deflate { my ($d) = @_; my $o; deflate(\$d => \$o) or die $DeflateError; $o }
sub raw_deflate  { my ($d) = @_; my $o; rawdeflate(\$d => \$o) or die $RawDeflateError; $o }

# The data compressed by a command-line tool (zstd, brotli).
sub cli {
    my ($tool, $data, @args) = @_;
    my $dir = tempdir(CLEANUP => 1);
    open my $fh, '>:raw', "$dir/in" or die;
    print $fh $data;
    close $fh;
    my $out = `$tool -c @args $dir/in`;
    die "$tool failed" if $?;
    return $out;
}
sub zstd_cli { cli('zstd -q', @_) }
sub br_cli   { cli('brotli', @_) }

my @blocks;

# Each encoding, rewritten: the provider gets what the identity body becomes.
for my $case (
    ['gzip', 'gzip', gz($BODY)],
    ['x-gzip', 'x-gzip', gz($BODY)],
    ['gzip of three members', 'gzip',
     gz(substr($BODY, 0, 1000)) . gz(substr($BODY, 1000, 90000)) . gz(substr($BODY, 91000))],
    ['gzip in sync-flushed blocks', 'gzip', gz_blocks($BODY, 16384)],
    ['deflate, zlib-wrapped', 'deflate', zlib_deflate($BODY)],
    ['deflate, raw', 'deflate', raw_deflate($BODY)],
    ['zstd', 'zstd', zstd_cli($BODY)],
    ['zstd of two frames', 'zstd', zstd_cli(substr($BODY, 0, 50000)) . zstd_cli(substr($BODY, 50000))],
    ['br', 'br', br_cli($BODY)],
) {
    my ($name, $coding, $wire) = @$case;
    push @blocks, {
        name => "$name: decoded, rewritten, sent as identity",
        request_headers => "Content-Encoding: $coding",
        request_body => $wire,
        upstream_body => $WANT,
        upstream_headers_unlike => '^Content-Encoding:',
        error_log => "headroom: optimized: openai_chat, " . length($BODY) . " -> " . length($WANT)
            . " bytes, " . ($coding eq 'x-gzip' ? 'gzip' : $coding) . ", " . length($wire)
            . " bytes on the wire",
    };
}

# However the body arrives.
for my $client ('chunked', 'expect', 'slow', 'http2', 'http2_unknown_length') {
    push @blocks, {
        name => "gzip over a $client client",
        client => $client,
        request_headers => 'Content-Encoding: gzip',
        request_body => gz_blocks($BODY, 7000),
        upstream_body => $WANT,
        upstream_headers_unlike => '^Content-Encoding:',
    };
}

push @blocks, (
    {
        name => 'read but not changed: the original compressed bytes go on',
        request_headers => 'Content-Encoding: gzip',
        request_body => gz($PLAIN),
        upstream_body_unchanged => 1,
        upstream_headers_like => '^Content-Encoding: gzip',
        error_log => 'headroom: passthrough: no_change (openai_chat, ' . length($PLAIN) . ' bytes, gzip, ',
    },
    {
        name => 'identity is no encoding',
        request_headers => 'Content-Encoding: identity',
        request_body => $BODY,
        upstream_body => $WANT,
    },
    {
        name => 'a corrupt stream: decode_error, untouched',
        request_headers => 'Content-Encoding: gzip',
        request_body => do { my $g = gz($BODY); substr($g, 200, 8) = 'corrupt!'; $g },
        upstream_body_unchanged => 1,
        upstream_headers_like => '^Content-Encoding: gzip',
        error_log => 'headroom: passthrough: decode_error',
    },
    {
        name => 'a stream cut short: decode_error, untouched',
        request_headers => 'Content-Encoding: zstd',
        request_body => substr(zstd_cli($BODY), 0, -5),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decode_error',
    },
    {
        name => 'not compressed at all: decode_error, untouched',
        request_headers => 'Content-Encoding: deflate',
        request_body => $BODY,
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decode_error',
    },
    {
        # 200 MB of zeros is 200 KB of gzip: stopped at 100 times that.
        name => 'a gzip bomb stops at the ratio cap: decoded_too_large, untouched',
        request_headers => 'Content-Encoding: gzip',
        request_body => gz("\0" x (200 << 20)),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decoded_too_large',
    },
    {
        name => 'a zstd bomb likewise',
        request_headers => 'Content-Encoding: zstd',
        request_body => zstd_cli("\0" x (200 << 20), '-19'),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decoded_too_large',
    },
    {
        name => 'headroom_max_decode_ratio: a body that decodes past it passes',
        config => "location /v1/ {\n    headroom on;\n    headroom_max_decode_ratio 3;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_headers => 'Content-Encoding: gzip',
        request_body => gz($BODY),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decoded_too_large',
    },
    {
        name => 'decoded past headroom_max_body_size: decoded_too_large',
        config => "location /v1/ {\n    headroom on;\n    headroom_max_body_size 100k;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_headers => 'Content-Encoding: gzip',
        request_body => gz($BODY),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decoded_too_large',
    },
    {
        name => 'compress is not decoded: unknown_encoding, untouched',
        request_headers => 'Content-Encoding: compress',
        request_body => $BODY,
        upstream_body_unchanged => 1,
        upstream_headers_like => '^Content-Encoding: compress',
        error_log => 'headroom: passthrough: unknown_encoding',
    },
    {
        name => 'a br bomb stops at the ratio cap too',
        request_headers => 'Content-Encoding: br',
        request_body => br_cli("\0" x (50 << 20)),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: decoded_too_large',
    },
    {
        name => 'a br stream that is not br: decode_error, untouched',
        request_headers => 'Content-Encoding: br',
        request_body => $BODY,
        upstream_body_unchanged => 1,
        upstream_headers_like => '^Content-Encoding: br',
        error_log => 'headroom: passthrough: decode_error',
    },
    {
        name => 'a list of encodings: unknown_encoding',
        request_headers => 'Content-Encoding: gzip, gzip',
        request_body => gz(gz($BODY)),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: unknown_encoding',
    },
    {
        name => 'two Content-Encoding headers: unknown_encoding',
        request_headers => "Content-Encoding: gzip\nContent-Encoding: gzip",
        request_body => gz(gz($BODY)),
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: unknown_encoding',
    },
    {
        name => '$headroom_encoding',
        config => "location /v1/ {\n    headroom on;\n    add_header X-Encoding \$headroom_encoding;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_headers => 'Content-Encoding: x-gzip',
        request_body => gz($BODY),
        upstream_body => $WANT,
        response_headers_like => '^X-Encoding: gzip\r?$',
    },
    {
        name => 'simulate mode answers with the decoded, rewritten body',
        config => "location /v1/ {\n    headroom on;\n    headroom_mode simulate;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_headers => 'Content-Encoding: zstd',
        request_body => zstd_cli($BODY),
        upstream_requests => 0,
        response_body_like => "^\\{\"model\"\nheadroom_omitted",
    },
    {
        name => 'headroom_max_decode_ratio 0 fails nginx -t',
        config => "location /v1/ {\n    headroom on;\n    headroom_max_decode_ratio 0;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        config_error => '"headroom_max_decode_ratio" must be at least 1',
    },
);

# --- real clients, and the zone's counts ------------------------------------

subtest 'Node zlib and the zstd tool, through a gateway with a zone' => sub {
    my $dir = tempdir('headroom-enc-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
    chmod 0755, $dir;
    mkdir "$dir/$_" for qw(upstream conf logs tmp);
    my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");
    my $port = free_port();
    my $module = "$ENV{PWD}/build/ngx_http_headroom_module.so";
    open my $fh, '>', "$dir/conf/nginx.conf" or die;
    print $fh <<"CONF";
load_module $module;
worker_processes 1;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    client_max_body_size 64m;
    headroom_zone headroom 1m;
    server {
        listen 127.0.0.1:$port;
        location /v1/ {
            headroom on;
            add_header X-Encoding \$headroom_encoding;
            proxy_pass http://127.0.0.1:$rec_port;
        }
        location = /status { headroom_status; }
    }
}
CONF
    close $fh;
    system("/usr/sbin/nginx -p $dir/ -c $dir/conf/nginx.conf") == 0 or die 'nginx did not start';
    sleep 1 until IO::Socket::INET->new("127.0.0.1:$port");

    open $fh, '>:raw', "$dir/body.json" or die;
    print $fh $BODY;
    close $fh;

    my $out = `URL=http://127.0.0.1:$port$CHAT BODY=$dir/body.json node t/clients/gzip-fetch.cjs 2>&1`;
    is $?, 0, 'Node sends its gzipped body' or diag $out;
    my $res = eval { JSON::PP->new->decode($out) } // {};
    is $res->{status}, 200, 'and gets the answer';
    is $res->{encoding}, 'gzip', '$headroom_encoding says gzip';
    my @got = recorded("$dir/upstream");
    ok @got == 1 && $got[0][1] eq $WANT, "the provider gets what headroom makes of Node's body";
    unlike $got[0][0] // '', qr/^Content-Encoding:/mi, 'as identity';

    my $zst = zstd_cli($BODY);
    open $fh, '>:raw', "$dir/body.zst" or die;
    print $fh $zst;
    close $fh;
    my $code = `curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Content-Encoding: zstd' --data-binary \@$dir/body.zst http://127.0.0.1:$port$CHAT`;
    is $code, '200', 'curl sends the zstd tool\'s body';
    @got = recorded("$dir/upstream");
    ok @got == 1 && $got[0][1] eq $WANT, 'the provider gets it decoded and rewritten';

    # A zlib body that goes bad half-way, in 1000-byte writes: headroom
    # gives up there, and the zone still counts every byte on the wire.
    my $bad = Compress::Zlib::compress($BODY);
    substr($bad, length($bad) / 2, 64) = "\xff" x 64;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die;
    print $s "POST $CHAT HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        . "Content-Encoding: deflate\r\nConnection: close\r\n"
        . "Content-Length: " . length($bad) . "\r\n\r\n";
    for (my $at = 0; $at < length $bad; $at += 1000) {
        $s->flush;
        Time::HiRes::sleep(0.002);
        print $s substr($bad, $at, 1000);
    }
    $s->flush;
    my $answer = do { local $/; <$s> };
    like $answer, qr{^HTTP/1.1 200}, 'a body that goes bad mid-way is answered';
    @got = recorded("$dir/upstream");
    ok @got == 1 && $got[0][1] eq $bad, 'and reaches the provider as it came';

    my $status = decode_json(`curl -sS http://127.0.0.1:$port/status`);
    my $enc = $status->{encodings};
    is $enc->{deflate}{requests}, 1, 'the zone counts the deflate body';
    is $enc->{deflate}{wire_bytes}, length($bad), 'with all its bytes on the wire';
    is $status->{passthrough_reasons}{decode_error}, 1, 'as decode_error'
        or diag explain $status->{passthrough_reasons};
    is $enc->{gzip}{requests}, 1, 'the zone counts one gzip body';
    is $enc->{gzip}{decoded_bytes}, length($BODY), 'its decoded bytes';
    is $enc->{gzip}{wire_bytes}, $res->{wire}, 'and its bytes on the wire';
    is $enc->{zstd}{requests}, 1, 'one zstd body';
    is $enc->{zstd}{wire_bytes}, length($zst), 'its bytes on the wire';
    is $enc->{identity}{requests}, 0, 'no identity body';
    my $prom = `curl -sS 'http://127.0.0.1:$port/status?format=prometheus'`;
    like $prom, qr/^headroom_encoded_bytes_total\{encoding="zstd",stage="wire"\} ${\ length $zst}$/m,
        'Prometheus: bytes on the wire';
    like $prom, qr/^headroom_encoded_bodies_total\{encoding="gzip"\} 1$/m, 'Prometheus: bodies by encoding';

    kill 'QUIT', `cat $dir/logs/nginx.pid`;
    kill 'TERM', $rec_pid;
    waitpid $rec_pid, 0;
    my $log = do { local $/; open my $l, '<', "$dir/logs/error.log" or die; <$l> };
    unlike $log, qr/\[(alert|emerg|crit)\]/, 'no alert in the error log';
};

run_blocks(blocks => \@blocks);
