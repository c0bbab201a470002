# Tool outputs reach the upstream minified, with the right Content-Length,
# over every way a client can send a body.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;
use Bodies;

our $SMALL = records(3);
our $BIG   = records(750);    # a ~306 KB request

# The body path, checked with the lossless transform: exact bytes.
run_blocks(http_config => 'headroom_crush_json off;');

__DATA__

=== body in one buffer
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body eval
chat(compact($main::SMALL))
--- error_log eval
"headroom: optimized: openai_chat\n"
. "tool output tokens " . tokens(pretty($main::SMALL)) . " -> "
. tokens(compact($main::SMALL)) . " (o200k_base), 1 of 1 tool outputs minified"

=== 300 KB body, larger than client_body_buffer_size
--- request_body eval
my $b = chat(pretty($main::BIG)); die "too small" if length($b) < 300_000; $b
--- upstream_body eval
chat(compact($main::BIG))

=== body arriving in pieces over many reads
--- config
client_body_buffer_size 1k;
location /v1/ {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
--- client
slow
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== chunked request body
--- client
chunked
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== Expect: 100-continue
--- client
expect
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== HTTP/2 with a content-length
--- client
http2
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== HTTP/2 without a content-length
--- client
http2_unknown_length
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== three requests on one keepalive connection
--- client
keepalive 3
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body eval
chat(compact($main::SMALL))
--- upstream_requests
3

=== proxy_request_buffering off: buffered anyway, never the old length
--- config
location /v1/ {
    headroom on;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_pass http://$TEST_UPSTREAM;
}
--- client
slow
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== proxy_request_buffering off with a chunked body
--- config
location /v1/ {
    headroom on;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_pass http://$TEST_UPSTREAM;
}
--- client
chunked
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== proxy_request_buffering off over HTTP/2
--- config
location /v1/ {
    headroom on;
    proxy_request_buffering off;
    proxy_http_version 1.1;
    proxy_pass http://$TEST_UPSTREAM;
}
--- client
http2_unknown_length
--- request_body eval
chat(pretty($main::BIG))
--- upstream_body eval
chat(compact($main::BIG))

=== $content_length follows the rewrite
--- config
location /v1/ {
    headroom on;
    proxy_set_header X-Content-Length $content_length;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body eval
chat(compact($main::SMALL))
--- upstream_headers_like eval
"^X-Content-Length: " . length(chat(compact($main::SMALL))) . "\r?\$"

=== Anthropic with ?beta=true, thinking and context_management kept
--- request
POST /v1/messages?beta=true
--- request_body eval
anthropic(pretty($main::SMALL))
--- upstream_body eval
anthropic(compact($main::SMALL))
--- upstream_headers_like
^POST /v1/messages\?beta=true HTTP/1\.[01]
--- error_log
headroom: optimized: anthropic_messages

=== OpenAI Responses function_call_output
--- request
POST /v1/responses
--- request_body eval
responses(pretty($main::SMALL))
--- upstream_body eval
responses(compact($main::SMALL))

=== content type with parameters, enabled at server level
--- config
headroom on;
location /v1/ {
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_headers
Content-Type: Application/JSON; charset=utf-8
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body eval
chat(compact($main::SMALL))

=== mirror subrequests get the rewritten body too
--- config
location /v1/ {
    headroom on;
    mirror /mirror;
    mirror_request_body on;
    proxy_pass http://$TEST_UPSTREAM;
}
location = /mirror {
    internal;
    proxy_pass http://$TEST_UPSTREAM/mirrored;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body eval
chat(compact($main::SMALL))
--- upstream_requests
2

=== the model picks the encoding; configured rules come first
--- http_config
headroom_model_encoding gpt-4o-legacy cl100k_base;
--- request_body eval
my $b = chat(pretty($main::SMALL)); $b =~ s/"gpt-4o"/"gpt-4o-legacy-2"/; $b
--- upstream_body eval
my $b = chat(compact($main::SMALL)); $b =~ s/"gpt-4o"/"gpt-4o-legacy-2"/; $b
--- error_log eval
"tool output tokens " . tokens(pretty($main::SMALL), 'cl100k_base') . " -> "
. tokens(compact($main::SMALL), 'cl100k_base') . " (cl100k_base)"

=== models without a public tokenizer are estimated
--- request
POST /v1/messages
--- request_body eval
anthropic(pretty($main::SMALL))
--- upstream_body eval
anthropic(compact($main::SMALL))
--- error_log
(o200k_base, estimated)

=== protect patterns that match no tool change nothing
--- config
location /v1/ {
    headroom on;
    headroom_protect_tools Read "mcp__*" lis;
    headroom_min_tokens 10;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
chat(pretty($main::SMALL))
--- upstream_body eval
chat(compact($main::SMALL))
