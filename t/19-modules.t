# Other nginx modules in the same location as "headroom on", each proven
# with real requests through real nginx and what the upstream (and the
# mirror, and the auth service) recorded.
#
# Where each one sees the body, in nginx's phase order:
#   preaccess   limit_req: decides before any body is read; a rejected
#               request's body is discarded, never read by headroom
#   access      auth_request: its subrequest runs before the body is read
#               (it carries no body); access_by_lua: ngx.req.read_body()
#               reads the body here, through headroom's request body
#               filter, so Lua gets the body headroom already rewrote
#   precontent  headroom's own handler reads the whole body (unless someone
#               read it before) and rewrites it at its last byte; then
#               mirror, whose subrequests share the rewritten body
#   content     proxy_pass: sends r->request_body (the rewritten body) with
#               the rewritten Content-Length; proxy_set_body replaces it;
#               proxy_request_buffering off changes nothing, the body is
#               already whole
#   log         headroom settles its outcome first, then log_by_lua (and
#               header_filter_by_lua before it) read the rewritten body
use strict;
use warnings;
use lib 't/lib';
use Digest::MD5 qw(md5_hex);
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use Test::More;
use Time::HiRes qw(sleep);
use HeadroomTest qw(run_blocks start_recorder recorded);
use Transport;
use Bodies;

my $CHAT  = '/v1/chat/completions';
my $BODY  = chat(pretty(records(750)));    # ~305 KB, one crushable tool output
my $WANT  = compressed($BODY, $CHAT);
my $PLAIN = chat("plain text output\n  with indentation that is not JSON");
die 'the body must shrink' unless length($WANT) < length($BODY) / 10;

my $LUA = lua_modules();
my $NO_LUA = 'Debian\'s libnginx-mod-http-ndk and libnginx-mod-http-lua are not installed';

my $top = tempdir('headroom-modules-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $top;
mkdir "$top/$_" for qw(up mirror auth wire);
my ($up_pid, $up_port)         = start_recorder("$top/up");
my ($mirror_pid, $mirror_port) = start_recorder("$top/mirror");
my ($auth_pid, $auth_port)     = start_recorder("$top/auth");
my ($wire_pid, $wire_port)     = start_wire_recorder("$top/wire", 1);

sub cl_of { my ($head) = @_; my ($cl) = $head =~ /^Content-Length:\s*(\d+)/mi; $cl }

# Asserts one recorded request: these exact bytes, with a Content-Length
# that is theirs, not chunked.
sub got_exactly {
    my ($got, $want, $what) = @_;
    my ($head, $body) = @{ $got // ['', ''] };
    is cl_of($head), length($body), "$what: Content-Length is the bytes sent";
    unlike $head, qr/^Transfer-Encoding:/mi, "$what: not chunked";
    ok $body eq $want, "$what: the expected bytes"
        or diag sprintf "got %d bytes (md5 %s), want %d (md5 %s)",
                        length $body, md5_hex($body), length $want, md5_hex($want);
}

sub log_is_clean {
    my ($log, $what) = @_;
    my @bad = bad_log_lines($log);
    ok !@bad, "$what: no alert, crit, emerg or crash in the error log" or diag join "\n", @bad;
}

# An HTTP/2 request with curl; no content-length when $unknown (-T -).
sub h2_post {
    my ($port, $uri, $body, $unknown, @headers) = @_;
    my $file = "$top/h2-body";
    open my $fh, '>:raw', $file or die;
    print $fh $body;
    close $fh;
    my $h = join ' ', map { "-H '$_'" } ('Content-Type: application/json', @headers);
    my $data = $unknown ? "-T - < $file" : "--data-binary \@$file";
    my $code = `curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge -X POST $h $data http://127.0.0.1:$port$uri`;
    return $code;
}

# --- auth_request -------------------------------------------------------------

# Order: auth_request's subrequest (access phase) goes to the auth service
# first, with no body (proxy_pass_request_body off, as nginx's docs set it
# up: the body is not read yet, so it could not go along anyway); once it
# allows, headroom reads and rewrites the body (precontent), proxy_pass
# sends the rewritten body.
subtest 'auth_request to an auth service: the subrequest neither takes nor spoils the body' => sub {
    my $gw = start_gateway(config => <<"CONF");
location /v1/ {
    headroom on;
    auth_request /auth;
    proxy_pass http://127.0.0.1:$up_port;
}
location = /auth {
    internal;
    proxy_pass http://127.0.0.1:$auth_port/auth;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header X-Original-URI \$request_uri;
}
CONF
    for my $chunked (0, 1) {
        my $how = $chunked ? 'chunked' : 'Content-Length';
        my $r = http_request($gw->{port}, uri => $CHAT, body => $BODY, chunked => $chunked);
        is $r->{status}, 200, "$how: allowed";
        my @auth = recorded("$top/auth");
        is scalar(@auth), 1, "$how: one auth subrequest";
        like $auth[0][0], qr/^GET \/auth HTTP/, "$how: a GET to the auth service";
        like $auth[0][0], qr/^X-Original-URI: \Q$CHAT\E\r?$/mi, "$how: with the original URI";
        unlike $auth[0][0], qr/^(Content-Length|Transfer-Encoding):/mi, "$how: and no body header";
        is $auth[0][1], '', "$how: and no body";
        my @up = recorded("$top/up");
        is scalar(@up), 1, "$how: one upstream request";
        got_exactly($up[0], $WANT, "$how: upstream");
    }
    my $log = stop_gateway($gw);
    my $n = () = $log =~ /headroom: optimized: openai_chat, ${\ length $BODY} -> ${\ length $WANT} bytes/g;
    is $n, 2, 'headroom rewrote both, once each (not the auth subrequest)';
    log_is_clean($log, 'auth_request');
};

# --- mirror ---------------------------------------------------------------------

# Order: headroom's precontent handler runs before mirror's (a module loaded
# with load_module registers its handler later, and nginx runs a phase's
# handlers last registered first), so the body is whole and rewritten when
# mirror creates its subrequests: the mirror gets the rewritten body with
# the rewritten Content-Length, the same bytes as the upstream. (Were
# mirror first, its read would still go through headroom's filter; only an
# HTTP/2 body without a content-length would then copy a stale length
# into the subrequest. The HTTP/2 case below shows it does not.)
subtest 'mirror with mirror_request_body on: the mirror gets the rewritten body' => sub {
    my $gw = start_gateway(config => <<"CONF");
location /v1/ {
    headroom on;
    mirror /mirror;
    mirror_request_body on;
    proxy_pass http://127.0.0.1:$up_port;
}
location = /mirror {
    internal;
    proxy_pass http://127.0.0.1:$mirror_port\$request_uri;
}
CONF
    my @cases = (
        ['Content-Length', sub { http_request($gw->{port}, uri => $CHAT, body => $_[0])->{status} }],
        ['chunked', sub { http_request($gw->{port}, uri => $CHAT, body => $_[0], chunked => 1)->{status} }],
        ['HTTP/2 without content-length', sub { h2_post($gw->{h2}, $CHAT, $_[0], 1) }],
    );
    for my $c (@cases) {
        my ($how, $send) = @$c;
        is $send->($BODY), 200, "$how: 200";
        # the mirror's subrequest may finish after the main request
        my @mirror;
        for (1 .. 100) { last if @mirror = recorded("$top/mirror"); sleep 0.05 }
        my @up = recorded("$top/up");
        is scalar(@up), 1, "$how: one upstream request";
        is scalar(@mirror), 1, "$how: one mirrored request";
        got_exactly($up[0], $WANT, "$how: upstream");
        got_exactly($mirror[0], $WANT, "$how: mirror (rewritten, not the original)");
        like $mirror[0][0], qr/^POST \Q$CHAT\E HTTP/, "$how: the mirror sees the same request line";
    }
    # a body headroom leaves alone: both get the original bytes
    is http_request($gw->{port}, uri => $CHAT, body => $PLAIN)->{status}, 200, 'unchanged body: 200';
    my @mirror;
    for (1 .. 100) { last if @mirror = recorded("$top/mirror"); sleep 0.05 }
    my @up = recorded("$top/up");
    got_exactly($up[0], $PLAIN, 'unchanged body: upstream');
    got_exactly($mirror[0], $PLAIN, 'unchanged body: mirror');
    log_is_clean(stop_gateway($gw), 'mirror');
};

# --- limit_req ------------------------------------------------------------------

# Order: limit_req decides in the preaccess phase, before anyone reads the
# body. A rejected request's body is discarded by nginx: headroom never
# reads it, nothing goes upstream, and the zone does not count it (it is
# not a request headroom saw a body of).
subtest 'limit_req: the rejected request goes nowhere, the allowed one is rewritten' => sub {
    my $gw = start_gateway(http_config => <<"HTTP", config => <<"CONF");
headroom_zone headroom 1m;
limit_req_zone \$binary_remote_addr zone=one:1m rate=1r/m;
HTTP
location /v1/ {
    headroom on;
    limit_req zone=one nodelay;
    limit_req_status 429;
    proxy_pass http://127.0.0.1:$up_port;
}
location = /status { headroom_status; }
CONF
    my $first = http_request($gw->{port}, uri => $CHAT, body => $BODY);
    my @up = recorded("$top/up");
    is $first->{status}, 200, 'the first request is allowed';
    is scalar(@up), 1, 'and goes upstream';
    got_exactly($up[0], $WANT, 'the allowed request');

    my $second = http_request($gw->{port}, uri => $CHAT, body => $BODY);
    is $second->{status}, 429, 'the second within the minute gets limit_req_status 429';
    sleep 0.2;
    is scalar(recorded("$top/up")), 0, 'nothing reaches the upstream';

    # the connection is fine for the next one, and the limit holds
    my $third = http_request($gw->{port}, uri => $CHAT, body => $BODY, chunked => 1);
    is $third->{status}, 429, 'a chunked one is rejected too';
    is scalar(recorded("$top/up")), 0, 'nothing upstream';

    my $st = status_json($gw->{port});
    is $st->{requests}{seen}, 1, 'the zone saw the one request headroom read';
    is $st->{requests}{optimized}, 1, 'optimized: 1';
    is $st->{requests}{client_aborted}, 0, 'rejected requests are not client_aborted';
    my $log = stop_gateway($gw);
    my $n = () = $log =~ /limiting requests, excess/g;
    is $n, 2, 'nginx says it limited two requests';
    $n = () = $log =~ /headroom: optimized/g;
    is $n, 1, 'headroom ran once';
    log_is_clean($log, 'limit_req');
};

# --- Lua replacing the body after headroom -------------------------------------

# Order: access_by_lua reads the body (headroom's filter rewrites it as it
# arrives), then replaces it with ngx.req.set_body_data(), which sets
# Content-Length to the new body's length, as Kong's and APISIX's
# request-transformer plugins do. Then headroom's precontent handler runs;
# it puts its rewritten length back only where nginx replaced it (HTTP/2
# bodies without a content-length), never over a length another module
# wrote. The wire recorder keeps every byte on the connection, so a wrong
# length would show.
SKIP: {
    skip $NO_LUA, 1 unless $LUA;
    subtest 'access_by_lua replaces the body: Lua\'s body with Lua\'s length' => sub {
        my $gw = start_gateway(main_config => $LUA, config => <<"CONF");
location /longer/ {
    headroom on;
    access_by_lua_block {
        ngx.req.read_body()
        ngx.req.set_body_data(ngx.req.get_body_data() .. "\\n\\n\\n\\n\\n\\n\\n\\n")
    }
    proxy_pass http://127.0.0.1:$wire_port/v1/;
}
location /shorter/ {
    headroom on;
    access_by_lua_block {
        ngx.req.read_body()
        ngx.req.set_body_data(string.sub(ngx.req.get_body_data(), 1, 100))
    }
    proxy_pass http://127.0.0.1:$wire_port/v1/;
}
location /untouched/ {
    headroom on;
    access_by_lua_block {
        ngx.req.read_body()
        ngx.req.set_body_data(ngx.req.get_body_data() .. " ")
    }
    proxy_pass http://127.0.0.1:$wire_port/v1/;
}
CONF
        my %lua_body = (
            longer  => $WANT . ("\n" x 8),
            shorter => substr($WANT, 0, 100),
        );
        # a body headroom does not change: headroom has no length of its
        # own to put back, and Lua's stands
        {
            my $r = http_request($gw->{port}, uri => '/untouched/chat/completions', body => $PLAIN);
            is $r->{status}, 200, 'unchanged by headroom: 200';
            my @w = wire_recorded("$top/wire");
            is scalar(@w), 1, 'one upstream connection';
            is cl_of($w[0][0]), length($PLAIN) + 1, 'Lua\'s Content-Length';
            is $w[0][1], "$PLAIN ", 'Lua\'s bytes, nothing more';
        }
        for my $what ('longer', 'shorter') {
            my $r = http_request($gw->{port}, uri => "/$what/chat/completions", body => $BODY);
            is $r->{status}, 200, "$what: 200";
            my @w = wire_recorded("$top/wire");
            is scalar(@w), 1, "$what: one upstream connection";
            my ($head, $bytes) = @{ $w[0] // ['', ''] };
            is $bytes, $lua_body{$what}, "$what: the upstream gets Lua's body";
            # (headroom once put its own length back over Lua's: a longer
            # body past the declared length is request smuggling on a
            # keepalive upstream, a shorter one hangs it)
            is cl_of($head), length($bytes), "$what: with Lua's Content-Length";
        }
        log_is_clean(stop_gateway($gw), 'lua set_body_data');
    };
}

# --- blocks: one request each ------------------------------------------------

sub gz { my ($d) = @_; my $o; gzip(\$d => \$o, Minimal => 1) or die $GzipError; $o }

my $AUTH_RETURN = <<'CONF';
location /v1/ {
    headroom on;
    auth_request /auth;
    proxy_pass http://$TEST_UPSTREAM;
}
location = /auth {
    internal;
    return %d;
}
CONF

my $UNBUFFERED = <<'CONF';
location /v1/ {
    headroom on;
    headroom_max_body_size %s;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_pass http://$TEST_UPSTREAM;
}
CONF

my @blocks = (
    # auth_request to an internal location that answers itself
    {
        name => 'auth_request allows (204): rewritten',
        config => sprintf($AUTH_RETURN, 204),
        request_body => $BODY,
        upstream_body => $WANT,
        error_log => "headroom: optimized: openai_chat, ${\ length $BODY} -> ${\ length $WANT} bytes",
    },
    {
        name => 'auth_request allows (204) over HTTP/2 without content-length: rewritten',
        config => sprintf($AUTH_RETURN, 204),
        client => 'http2_unknown_length',
        request_body => $BODY,
        upstream_body => $WANT,
    },
    {
        # 401 in the access phase: the body is discarded, never read
        name => 'auth_request denies (401): nothing upstream, headroom never reads the body',
        config => sprintf($AUTH_RETURN, 401),
        request_body => $BODY,
        response_status => 401,
        upstream_requests => 0,
        no_error_log => "headroom: optimized\nheadroom: passthrough\nheadroom: client_aborted",
    },
    {
        name => 'auth_request denies (401) a chunked body too',
        config => sprintf($AUTH_RETURN, 401),
        client => 'chunked',
        request_body => $BODY,
        response_status => 401,
        upstream_requests => 0,
        no_error_log => "headroom: optimized",
    },

    # proxy_set_body: proxy_pass builds the body from it, not from
    # r->request_body. headroom still reads and rewrites (and logs and
    # counts an optimized body) but what goes upstream is proxy_set_body's.
    {
        name => 'proxy_set_body with a fixed value wins over the rewrite',
        config => "location /v1/ {\n    headroom on;\n    proxy_set_body '{\"fixed\":true}';\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_body => $BODY,
        upstream_body => '{"fixed":true}',
        error_log => 'headroom: optimized: openai_chat',
    },
    {
        name => 'proxy_set_body $request_body: $request_body is the rewritten body',
        config => "location /v1/ {\n    headroom on;\n    proxy_set_body \$request_body;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_body => $BODY,
        upstream_body => $WANT,
    },
    {
        name => 'proxy_set_body around $request_body: built from the rewritten body',
        config => "location /v1/ {\n    headroom on;\n    proxy_set_body '[\$request_body]';\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_body => $BODY,
        upstream_body => "[$WANT]",
    },
);

# error_page to a named location after the upstream fails (an internal
# redirect: module contexts are cleared, the body is kept): the fallback
# gets the rewritten body, rewritten once. client_body_in_file_only: the
# body nginx writes to its temp file is the rewritten one.
my $DEAD = HeadroomTest::free_port();
push @blocks, (
    {
        name => 'error_page 502 to a fallback: the fallback gets the rewritten body',
        config => "location /v1/ {\n    headroom on;\n    proxy_intercept_errors on;\n"
            . "    error_page 502 = \@fallback;\n    proxy_pass http://127.0.0.1:$DEAD;\n}\n"
            . "location \@fallback {\n    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_body => $BODY,
        upstream_body => $WANT,
        error_log => 'connect() failed',
    },
    {
        name => 'client_body_in_file_only: the file holds the rewritten body',
        config => "location /v1/ {\n    headroom on;\n    client_body_in_file_only clean;\n"
            . "    proxy_set_header X-Body-File \$request_body_file;\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_body => $BODY,
        upstream_body => $WANT,
        upstream_headers_like => '^X-Body-File: /\S+/tmp/body/\d+\r?$',
    },
);

# proxy_request_buffering off: headroom's precontent handler has read the
# whole body before proxy_pass runs, so proxy_pass finds it read and sends
# it buffered, with the rewritten length, however it came.
for my $client ('plain', 'chunked', 'expect', 'slow', 'http2', 'http2_unknown_length') {
    push @blocks, {
        name => "proxy_request_buffering off, $client client: whole, rewritten, right length",
        config => sprintf($UNBUFFERED, '10m'),
        client => $client,
        request_body => $BODY,
        upstream_body => $WANT,
        error_log => 'headroom: optimized: openai_chat',
        no_error_log => 'headroom: passthrough: unbuffered',
    };
}
push @blocks, (
    {
        name => 'proxy_request_buffering off, not JSON: streamed as it came',
        config => sprintf($UNBUFFERED, '10m'),
        request_headers => 'Content-Type: text/plain',
        request_body => $BODY,
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: not_json',
    },
    {
        name => 'proxy_request_buffering off, chunked past headroom_max_body_size: original bytes, with a length',
        config => sprintf($UNBUFFERED, '100k'),
        client => 'chunked',
        request_body => $BODY,
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: too_large',
    },
    {
        name => 'proxy_request_buffering off, gzip: decoded, rewritten, identity',
        config => sprintf($UNBUFFERED, '10m'),
        request_headers => 'Content-Encoding: gzip',
        request_body => gz($BODY),
        upstream_body => $WANT,
        upstream_headers_unlike => '^Content-Encoding:',
    },
);

# Lua (Debian's libnginx-mod-http-lua). access_by_lua reads the body in the
# access phase, before headroom's phase handler: the read goes through
# headroom's request body filter, which rewrites it at its last byte, so
# Lua gets the rewritten body and the rewritten Content-Length; headroom's
# phase handler then finds the body read and keeps it. Later phases
# (header_filter_by_lua, log_by_lua) see the same rewritten body.
my $LUA_ACCESS = <<'CONF';
location /v1/ {
    headroom on;
    access_by_lua_block {
        ngx.req.read_body()
        local b = ngx.req.get_body_data()
        ngx.log(ngx.NOTICE, "lua access: ", b and #b or -1, " bytes md5 ",
                b and ngx.md5(b) or "nil", ", Content-Length ",
                ngx.var.http_content_length or "none", ", Content-Encoding ",
                ngx.var.http_content_encoding or "none")
    }
    proxy_pass http://$TEST_UPSTREAM;
}
CONF

my $LUA_LATER = <<'CONF';
location /v1/ {
    headroom on;
    header_filter_by_lua_block {
        local b = ngx.var.request_body
        ngx.header["X-Lua-Body"] = (b and #b or -1) .. " " .. (b and ngx.md5(b) or "nil")
    }
    log_by_lua_block {
        local b = ngx.req.get_body_data()
        ngx.log(ngx.NOTICE, "lua log: ", b and #b or -1, " bytes md5 ", b and ngx.md5(b) or "nil")
    }
    proxy_pass http://$TEST_UPSTREAM;
}
CONF

my $lua_saw = sub {
    my ($body, $cl, $ce) = @_;
    return "lua access: " . length($body) . " bytes md5 " . md5_hex($body)
        . ", Content-Length " . ($cl // length $body) . ", Content-Encoding " . ($ce // 'none');
};

my @lua_blocks = (
    {
        name => 'access_by_lua reads the body first: it gets the rewritten body, headroom rewrote once',
        main_config => $LUA,
        config => $LUA_ACCESS,
        request_body => $BODY,
        upstream_body => $WANT,
        error_log => $lua_saw->($WANT) . "\nheadroom: optimized: openai_chat",
    },
    {
        name => 'access_by_lua over HTTP/2 without content-length: the same',
        main_config => $LUA,
        config => $LUA_ACCESS,
        client => 'http2_unknown_length',
        request_body => $BODY,
        upstream_body => $WANT,
        # no content-length header to read: Lua cannot see one
        error_log => $lua_saw->($WANT, 'none'),
    },
    {
        name => 'access_by_lua, chunked: the same, and a Content-Length',
        main_config => $LUA,
        config => $LUA_ACCESS,
        client => 'chunked',
        request_body => $BODY,
        upstream_body => $WANT,
        error_log => "lua access: " . length($WANT) . " bytes md5 " . md5_hex($WANT),
    },
    {
        # headroom decodes as the body arrives: Lua gets identity JSON
        name => 'access_by_lua, gzip: Lua gets the decoded, rewritten body, no Content-Encoding',
        main_config => $LUA,
        config => $LUA_ACCESS,
        request_headers => 'Content-Encoding: gzip',
        request_body => gz($BODY),
        upstream_body => $WANT,
        upstream_headers_unlike => '^Content-Encoding:',
        error_log => $lua_saw->($WANT),
    },
    {
        name => 'access_by_lua, a body headroom leaves alone: Lua gets the original',
        main_config => $LUA,
        config => $LUA_ACCESS,
        request_body => $PLAIN,
        upstream_body_unchanged => 1,
        error_log => $lua_saw->($PLAIN) . "\nheadroom: passthrough: no_change",
    },
    {
        # lua_need_request_body reads the body before the rewrite phase
        name => 'lua_need_request_body on, rewrite_by_lua: the rewritten body',
        main_config => $LUA,
        config => "location /v1/ {\n    headroom on;\n    lua_need_request_body on;\n"
            . "    rewrite_by_lua_block {\n        local b = ngx.req.get_body_data()\n"
            . "        ngx.log(ngx.NOTICE, \"lua rewrite: \", #b, \" bytes md5 \", ngx.md5(b))\n    }\n"
            . "    proxy_pass http://\$TEST_UPSTREAM;\n}",
        request_body => $BODY,
        upstream_body => $WANT,
        error_log => 'lua rewrite: ' . length($WANT) . ' bytes md5 ' . md5_hex($WANT),
    },
    {
        name => 'header_filter_by_lua and log_by_lua, after headroom: the rewritten body',
        main_config => $LUA,
        config => $LUA_LATER,
        request_body => $BODY,
        upstream_body => $WANT,
        response_headers_like => '^X-Lua-Body: ' . length($WANT) . ' ' . md5_hex($WANT) . '\r?$',
        error_log => 'lua log: ' . length($WANT) . ' bytes md5 ' . md5_hex($WANT),
    },
);

if ($LUA) {
    push @blocks, @lua_blocks;
} else {
    diag "skipping " . scalar(@lua_blocks) . " Lua blocks: $NO_LUA";
    SKIP: { skip $NO_LUA, scalar @lua_blocks }
}

END {
    kill 'TERM', grep { defined } $up_pid, $mirror_pid, $auth_pid, $wire_pid;
}

run_blocks(blocks => \@blocks);
