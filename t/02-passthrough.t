# Fail-open: whatever headroom does not rewrite reaches the upstream
# byte-identical, with the reason logged at info.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;
use Bodies;

our $SMALL = records(3);
our $BIG   = records(750);

run_blocks();

__DATA__

=== malformed JSON
--- request_body eval
substr(chat(pretty($main::SMALL)), 0, -7) . "]]}x"
--- upstream_body_unchanged
--- error_log
headroom: passthrough: invalid_json: parse error

=== not UTF-8
--- request_body eval
my $b = chat(pretty($main::SMALL)); $b =~ s/terse/ters\xff/; $b
--- upstream_body_unchanged
--- error_log
headroom: passthrough: invalid_json

=== an overlong UTF-8 form in a tool output is not UTF-8 either
--- request_body eval
my $b = chat(pretty($main::BIG)); $b =~ s/package-7\b/package-\xc0\xaf7/; $b
--- upstream_body_unchanged
--- error_log
headroom: passthrough: invalid_json: invalid UTF-8 at byte

=== an encoded surrogate (CESU-8) in a tool output is not UTF-8
--- request_body eval
my $b = chat(pretty($main::BIG)); $b =~ s/package-7\b/package-\xed\xa0\x80\xed\xb0\x807/; $b
--- upstream_body_unchanged
--- error_log
headroom: passthrough: invalid_json: invalid UTF-8 at byte

=== a code point above U+10FFFF is not UTF-8
--- request_body eval
my $b = chat(pretty($main::BIG)); $b =~ s/package-7\b/package-\xf4\x90\x80\x807/; $b
--- upstream_body_unchanged
--- error_log
headroom: passthrough: invalid_json: invalid UTF-8 at byte

=== a lone surrogate escape is never rewritten
--- request_body eval
my $b = chat(pretty($main::SMALL)); $b =~ s/terse/ters\\ud83d/; $b
--- upstream_body_unchanged
--- error_log
headroom: passthrough: lone_surrogate

=== unknown API shape
--- request
POST /v1/embeddings
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: unknown_shape

=== body shape does not match the URI
--- request
POST /v1/responses
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: unknown_shape

=== nothing to rewrite
--- request_body eval
chat("plain text output\n  with indentation that is not JSON")
--- upstream_body_unchanged
--- error_log
headroom: passthrough: no_change (openai_chat

=== not a JSON content type
--- request_headers
Content-Type: text/plain
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: not_json

=== a look-alike content type
--- request_headers
Content-Type: application/jsonl
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: not_json

=== bodies in an encoding headroom does not decode are not touched
--- request_headers
Content-Encoding: compress
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: unknown_encoding

=== larger than headroom_max_body_size, length known up front
--- config
location /v1/ {
    headroom on;
    headroom_max_body_size 100k;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: too_large

=== larger than headroom_max_body_size, found while reading a chunked body
--- config
location /v1/ {
    headroom on;
    headroom_max_body_size 100k;
    proxy_pass http://$TEST_UPSTREAM;
}
--- client
chunked
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: too_large

=== larger than headroom_max_body_size over HTTP/2 without a length
--- config
location /v1/ {
    headroom on;
    headroom_max_body_size 100k;
    proxy_pass http://$TEST_UPSTREAM;
}
--- client
http2_unknown_length
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: too_large

=== larger than client_max_body_size gets nginx's 413
--- config
client_max_body_size 10k;
location /v1/ {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::BIG))
--- response_status
413
--- upstream_requests
0

=== headroom off in a nested location
--- config
location /v1/ {
    headroom on;
    location /v1/raw/ {
        headroom off;
        proxy_pass http://$TEST_UPSTREAM;
    }
    proxy_pass http://$TEST_UPSTREAM;
}
--- request
POST /v1/raw/chat/completions
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- no_error_log
headroom:

=== off by default
--- config
location /v1/ {
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- no_error_log
headroom:

=== other methods are untouched
--- request
PUT /v1/chat/completions
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: not_post
--- no_error_log
headroom: optimized

=== a GET without a body
--- request
GET /v1/models
--- request_body
--- upstream_body_unchanged

=== an empty JSON POST
--- request_body
--- upstream_body_unchanged
--- error_log
headroom: passthrough: empty

=== outputs of protected tools are never changed
--- config
location /v1/ {
    headroom on;
    headroom_protect_tools Read l?st;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: no_change (openai_chat

=== protection set at server level reaches nested locations
--- config
headroom_protect_tools "li*";
location /v1/ {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged

=== outputs under headroom_min_tokens are left alone
--- config
location /v1/ {
    headroom on;
    headroom_min_tokens 100000;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body_unchanged
--- error_log
headroom: passthrough: no_change (openai_chat

=== a header named just X-Headroom- never reaches the upstream
--- request_headers
X-Headroom-: 1
X-Other: kept
--- request_body eval
chat(pretty($main::BIG))
--- upstream_headers_like
^X-Other: kept
--- upstream_headers_unlike
^X-Headroom-
