# Bad configuration fails nginx -t with a message naming the directive.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;

run_blocks();

__DATA__

=== headroom takes on or off
--- config
headroom yes;
--- config_error
invalid value "yes" in "headroom" directive, it must be "on" or "off"

=== headroom takes one argument
--- config
headroom;
--- config_error
invalid number of arguments in "headroom" directive

=== headroom_max_body_size must be a size
--- config
headroom_max_body_size lots;
--- config_error
"headroom_max_body_size" directive invalid value

=== headroom_max_body_size must be positive
--- config
headroom_max_body_size 0;
--- config_error
"headroom_max_body_size" must be greater than zero

=== headroom_max_body_size is at most 1g
--- config
headroom_max_body_size 1025m;
--- config_error
"headroom_max_body_size" must be at most 1024m

=== headroom is not valid outside http
--- main_config
headroom on;
--- config_error
"headroom" directive is not allowed here

=== headroom_model_encoding takes a known encoding
--- http_config
headroom_model_encoding claude p50k_base;
--- config_error
"headroom_model_encoding" takes o200k_base or cl100k_base, not "p50k_base"

=== headroom_model_encoding takes two arguments
--- http_config
headroom_model_encoding claude;
--- config_error
invalid number of arguments in "headroom_model_encoding" directive

=== headroom_tokenizers must hold the rank files when headroom is on
--- http_config
headroom_tokenizers /nonexistent/tokenizers;
--- config
location / { headroom on; }
--- config_error
headroom_tokenizers "/nonexistent/tokenizers": cannot open /nonexistent/tokenizers/o200k_base.tok

=== headroom_pcre_jit takes on or off
--- http_config
headroom_pcre_jit maybe;
--- config_error
invalid value "maybe" in "headroom_pcre_jit" directive

=== headroom_pcre_jit belongs in http
--- config
headroom_pcre_jit off;
--- config_error
"headroom_pcre_jit" directive is not allowed here

=== headroom_tokenizers belongs in http
--- config
headroom_tokenizers /tmp;
--- config_error
"headroom_tokenizers" directive is not allowed here

=== headroom_min_tokens takes a number
--- config
headroom_min_tokens many;
--- config_error
"headroom_min_tokens" directive invalid number

=== headroom_protect_tools takes patterns
--- config
headroom_protect_tools;
--- config_error
invalid number of arguments in "headroom_protect_tools" directive

=== headroom_protect_tools once a level
--- config
headroom_protect_tools a;
headroom_protect_tools b;
--- config_error
"headroom_protect_tools" directive is duplicate

=== headroom_json_max_items must be positive
--- config
headroom_json_max_items 0;
--- config_error
"headroom_json_max_items" directive must be at least 1

=== headroom_diff_context is bounded
--- config
headroom_diff_context 101;
--- config_error
"headroom_diff_context" directive must be between 0 and 100

=== headroom_crush_json takes on or off
--- config
headroom_crush_json maybe;
--- config_error
invalid value "maybe" in "headroom_crush_json" directive

=== a good configuration passes nginx -t
--- http_config
headroom on;
headroom_max_body_size 8m;
headroom_model_encoding my-model cl100k_base;
headroom_model_encoding other- o200k_base;
headroom_min_tokens 0;
headroom_protect_tools Read "mcp__*" "*secret*";
headroom_crush_json on;
headroom_json_max_items 50;
headroom_json_keep_first 10;
headroom_json_keep_last 0;
headroom_crush_logs off;
headroom_crush_search on;
headroom_crush_diffs on;
headroom_diff_context 1;
--- config
location /v1/ {
    headroom off;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request
GET /v1/models
--- upstream_body_unchanged

=== headroom_protect_tools refuses a glob fnmatch would misread
--- config
headroom_protect_tools Read 'a[';
--- config_error
"headroom_protect_tools" takes glob patterns; "a[" is not one

=== headroom_model_encoding refuses an empty model prefix
--- http_config
headroom_model_encoding "" o200k_base;
--- config_error
"headroom_model_encoding" takes a non-empty model prefix

=== headroom_volatile_pattern refuses a pattern that matches nothing at all
--- config
headroom_volatile_pattern build "x*";
--- config_error
"headroom_volatile_pattern" "x*" can match the empty string

=== headroom_volatile_pattern refuses an empty match by lookahead too
--- config
headroom_volatile_pattern build "(?=Build)";
--- config_error
"headroom_volatile_pattern" "(?=Build)" can match the empty string

=== headroom_json_keep_first is bounded
--- config
headroom_json_keep_first 1000000000;
--- config_error
"headroom_json_keep_first" directive must be between 0 and 100000

=== headroom_json_keep_last is bounded
--- config
headroom_json_keep_last 100001;
--- config_error
"headroom_json_keep_last" directive must be between 0 and 100000

=== headroom_json_max_items is bounded above too
--- config
headroom_json_max_items 100001;
--- config_error
"headroom_json_max_items" directive must be between 1 and 100000

=== a relative headroom_tokenizers is the configuration directory's
--- http_config
headroom_tokenizers ranks;
--- conf_links
ranks build/tokenizers
--- config
location /v1/ {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
use lib 't/lib'; use Bodies; chat(pretty(records(100)))
--- error_log
headroom: optimized: openai_chat
(o200k_base, estimated)

=== a relative headroom_tokenizers that is not there names the full path
--- http_config
headroom_tokenizers missing-ranks;
--- config
location /v1/ {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
--- config_error
/conf/missing-ranks"

=== headroom_volatile_pattern refuses \K (a capture group names the value)
--- config
headroom_volatile_pattern build "Build \K\d+";
--- config_error
\K is not taken; a capture group names the value

=== headroom_protect_tools reads a backslash in brackets as fnmatch does
--- config
headroom_protect_tools '[\]';
--- config_error
"headroom_protect_tools" takes glob patterns; "[\]" is not one

=== headroom_log_values is a share from 0 to 1
--- config
headroom_log_values 1.5;
--- config_error
"headroom_log_values" takes a share from 0 to 1, not "1.5"

=== headroom_log_values takes no words
--- config
headroom_log_values some;
--- config_error
"headroom_log_values" takes a share from 0 to 1, not "some"

=== headroom_json_keep_top is bounded
--- config
headroom_json_keep_top 100001;
--- config_error
"headroom_json_keep_top" directive must be between 0 and 100000

=== headroom_question_max_matches is bounded
--- config
headroom_question_max_matches 1000000;
--- config_error
"headroom_question_max_matches" directive must be between 0 and 100000
