# Logs, search results and diffs in tool outputs are crushed through the real
# gateway: the upstream gets what `headroom compress` makes of the same
# body, and nothing when that crusher is off. The diff is diff -U25 of one
# of our sources against a copy with two lines changed. The log is a real one from
# ../shared/corpus/loghub when present (read there, not copied); the
# search results are grep -rn over this repository's sources.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;
use Bodies;

our $LOG = do {
    my $f = '../shared/corpus/loghub/HDFS_2k.log';
    if (open my $fh, '<:raw', $f) { local $/; <$fh> }
    else {
        join '', map { sprintf "081109 %06d 148 INFO dfs.DataNode: block blk_%d served\n", 200000 + $_, 1e6 + $_ }
            0 .. 1999;
    }
};

our $GREP = `grep -rn -e ngx_ -e std:: src`;
# A wide-context diff of one of our sources with two lines changed.
our $DIFF = do {
    my $src = 'src/ngx/ngx_http_headroom_body_filter.c';
    open my $in, '<', $src or die;
    my @lines = <$in>;
    $lines[100] = "/* changed */\n";
    $lines[300] = "/* changed too */\n";
    open my $out, '>', "/tmp/headroom-diff-$$" or die;
    print $out @lines;
    close $out;
    my $d = `diff -U25 $src /tmp/headroom-diff-$$`;
    unlink "/tmp/headroom-diff-$$";
    $d;
};
die 'no diff' unless $DIFF =~ /^\+\+\+ /m;
die 'no grep output' unless ($GREP =~ tr/\n//) > 100;


run_blocks();

__DATA__

=== a 2,000-line log folds by template
--- request_body eval
chat($main::LOG)
--- upstream_body eval
my $b = compressed(chat($main::LOG), '/v1/chat/completions');
die 'not crushed' unless $b =~ /more lines like the one above omitted/;
die 'not much smaller' unless length($b) * 5 < length(chat($main::LOG));
$b
--- error_log
1 crushed (

=== Responses function_call_output logs too
--- request
POST /v1/responses
--- request_body eval
responses($main::LOG)
--- upstream_body eval
compressed(responses($main::LOG), '/v1/responses')

=== crushing logs off leaves them whole
--- http_config
headroom_crush_logs off;
--- request_body eval
chat($main::LOG)
--- upstream_body_unchanged
--- error_log
headroom: passthrough: no_change

=== grep results keep each file's first and last matches
--- request_body eval
chat($main::GREP)
--- upstream_body eval
my $b = compressed(chat($main::GREP), '/v1/chat/completions');
die 'not crushed' unless $b =~ /more matches in src\/\S+ omitted/;
$b
--- error_log
1 crushed (

=== crushing search results off leaves them whole
--- http_config
headroom_crush_search off;
--- request_body eval
chat($main::GREP)
--- upstream_body_unchanged

=== diffs keep every change and a little context
--- request
POST /v1/messages
--- request_body eval
anthropic($main::DIFF)
--- upstream_body eval
my $b = compressed(anthropic($main::DIFF), '/v1/messages');
die 'not crushed' unless $b =~ /unchanged lines omitted \(new lines/;
$b

=== crushing diffs off leaves them whole
--- http_config
headroom_crush_diffs off;
--- request
POST /v1/messages
--- request_body eval
anthropic($main::DIFF)
--- upstream_body_unchanged
