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

=== headroom is not valid outside http
--- main_config
headroom on;
--- config_error
"headroom" directive is not allowed here

=== a good configuration passes nginx -t
--- http_config
headroom on;
headroom_max_body_size 8m;
--- config
location /v1/ {
    headroom off;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request
GET /v1/models
--- upstream_body_unchanged
