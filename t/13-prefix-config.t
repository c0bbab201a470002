# The prefix-stabilization directives one at a time, through real nginx:
# off by default, the client's own cache_control respected, the provider's
# limit of four breakpoints, the operator's patterns, each part switchable,
# and bad configuration refused by nginx -t.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempfile);
use JSON::PP;
use HeadroomTest;
use Bodies;

my $json = JSON::PP->new;
my $MARK = '"cache_control":{"type":"ephemeral"}';
sub marks { scalar(() = $_[0] =~ /"cache_control"/g) }

sub stabilized {
    my ($extra) = @_;
    $extra //= '';
    return <<"CONFIG";
location /v1/ {
    headroom on;
    headroom_stabilize_prefix on;
    $extra
    proxy_pass http://\$TEST_UPSTREAM;
}
CONFIG
}

my $volatile_chat = '{"model":"gpt-4o","messages":[{"role":"system","content":'
    . '"Now: 2026-11-22T10:32:05Z. Build 48213."},{"role":"user","content":"hi"}]}';

# What `headroom compress` says the prefix hash of that request is.
my $volatile_hash = do {
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $volatile_chat;
    close $fh;
    my ($h) = `build/headroom compress $file 2>&1 >/dev/null` =~ /prefix ([0-9a-f]{32})/
        or die 'no prefix hash';
    $h;
};

# An Anthropic agent session: thinking, tool calls and results, 6 turns.
my @m = ('{"role":"user","content":"Fix the build."}');
for my $i (1 .. 6) {
    push @m, qq({"role":"assistant","content":[{"type":"thinking","thinking":"step $i","signature":"sig$i"},)
           . qq({"type":"tool_use","id":"toolu_$i","name":"bash","input":{"cmd":"make"}}]}),
             qq({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_$i","content":"exit 0"}]});
}
my $session = '{"model":"claude-sonnet-4-5","max_tokens":256,'
    . '"tools":[{"input_schema":{"type":"object"},"name":"bash"}],'
    . '"system":"You are an agent.","messages":[' . join(',', @m) . ']}';

(my $client_marked = $session) =~ s/("content":"exit 0")\}\]\}\]\}$/$1,$MARK}]}]}/
    or die 'fixture';

my $tools_marked = '{"model":"claude-sonnet-4-5","max_tokens":64,"tools":['
    . '{"name":"zeta","input_schema":{"type":"object"}},'
    . '{"name":"alpha","input_schema":{"type":"object"},' . $MARK . '}],'
    . '"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}';

run_blocks(blocks => [
    {
        name => 'off by default: a volatile system prompt passes as it came',
        request_body => $volatile_chat,
        upstream_body_unchanged => 1,
        error_log => 'headroom: passthrough: no_change',
        # nothing reads the prefix hash here, so it is not computed
        no_error_log => ', prefix ',
    },
    {
        name => '$headroom_prefix_hash in a log_format: computed, stabilization off',
        http_config => "log_format hash 'hash=\$headroom_prefix_hash';\n"
                     . "access_log logs/error.log hash;",
        request_body => $volatile_chat,
        upstream_body_unchanged => 1,
        error_log => "hash=$volatile_hash\n, prefix $volatile_hash",
    },
    {
        name => 'on: values move to a note, tools and cache key follow',
        config => stabilized(),
        request_body => $volatile_chat,
        upstream_check => sub {
            $_[0] =~ /^\Q{"model":"gpt-4o","messages":[{"role":"system","content":"Now: [[timestamp-1]]. Build 48213."},{"role":"user","content":"hi"},{"role":"system","content":"[headroom] Values that change from call to call were moved here from the system prompt, so that its text stays the same and can be cached. Read each [[label]] above as its value:\n[[timestamp-1]] = 2026-11-22T10:32:05Z"}],"prompt_cache_key":"\E[0-9a-f]{32}"\}$/;
        },
        error_log => 'prefix',
    },
    {
        name => "the operator's pattern, labelled as configured",
        config => stabilized('headroom_volatile_pattern build "Build (\d+)";'),
        request_body => $volatile_chat,
        upstream_check => sub {
            my $d = $json->decode($_[0]);
            $d->{messages}[0]{content} eq 'Now: [[timestamp-1]]. Build [[build-1]].'
                && $d->{messages}[2]{content} =~ /\n\[\[build-1\]\] = 48213$/
                && $d->{prompt_cache_key} =~ /^[0-9a-f]{32}$/;
        },
    },
    {
        name => 'headroom_move_volatile off and headroom_prompt_cache_key off: nothing to do',
        config => stabilized("headroom_move_volatile off;\n    headroom_prompt_cache_key off;"),
        request_body => $volatile_chat,
        upstream_body_unchanged => 1,
    },
    {
        name => 'a prompt_cache_key of the client is kept',
        config => stabilized('headroom_move_volatile off;'),
        request_body => '{"model":"gpt-4o","prompt_cache_key":"mine","messages":[{"role":"user","content":"hi"}]}',
        upstream_body_unchanged => 1,
    },
    {
        name => 'Anthropic: four breakpoints at most: tools, system, the newest turn, the one before',
        config => stabilized(),
        request => 'POST /v1/messages',
        request_body => $session,
        upstream_check => sub {
            my ($body) = @_;
            my @want = (
                qq("tool_use_id":"toolu_6","content":"exit 0",$MARK}]}]}),
                qq("tool_use_id":"toolu_5","content":"exit 0",$MARK}]}),
                qq("system":[{"type":"text","text":"You are an agent.",$MARK}]),
                qq("tools":[{"input_schema":{"type":"object"},"name":"bash",$MARK}]),
            );
            marks($body) == 4 && index($body, qq("sig6",$MARK)) == -1
                && !grep { index($body, $_) == -1 } @want;
        },
        # the hash is a pure function of the bytes: pinned here, so that it
        # stays the same on every node and across releases
        error_log => 'prefix cf45609bb0829a5437e792b2e353f1b0 (4 cache breakpoints)',
    },
    {
        name => "Anthropic: the client's own cache_control means no breakpoints are added",
        config => stabilized(),
        request => 'POST /v1/messages',
        request_body => $client_marked,
        upstream_body_unchanged => 1,
    },
    {
        name => 'Anthropic: tools the client marked are not reordered',
        config => stabilized(),
        request => 'POST /v1/messages',
        request_body => $tools_marked,
        upstream_body_unchanged => 1,
    },
    {
        name => 'headroom_cache_breakpoints off',
        config => stabilized('headroom_cache_breakpoints off;'),
        request => 'POST /v1/messages',
        request_body => $session,
        upstream_body_unchanged => 1,
    },
    {
        name => 'nginx -t: a pattern that does not compile',
        config => stabilized('headroom_volatile_pattern build "Build (\d+";'),
        config_error => '"headroom_volatile_pattern" "Build (\d+": missing closing parenthesis',
    },
    {
        name => 'nginx -t: a label that cannot be one',
        config => stabilized('headroom_volatile_pattern "a b" "x";'),
        config_error => '"headroom_volatile_pattern" label "a b" may hold only',
    },
    {
        name => 'nginx -t: not a flag',
        config => stabilized('headroom_canonical_tools maybe;'),
        config_error => '"headroom_canonical_tools"',
    },
]);
