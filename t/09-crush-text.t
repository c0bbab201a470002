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
use Digest::SHA qw(sha256_hex);

our $LOG  = loghub_log('HDFS');
our $GREP = grep_output();
our $DIFF = wide_diff();


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

=== headroom_pcre_jit off: the same bytes, counted without PCRE2's JIT
--- http_config
headroom_pcre_jit off;
--- request_body eval
chat($main::LOG)
--- upstream_body eval
my $b = compressed(chat($main::LOG), '/v1/chat/completions');
die 'not crushed' unless $b =~ /more lines like the one above omitted/;
$b
--- error_log
1 crushed (

=== every WARN line of the log reaches the provider verbatim (OpenAI chat)
--- request_body eval
chat($main::LOG)
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    my @warn = grep { / WARN / } split /\n/, $main::LOG;
    return 0 unless @warn > 10 || !-d '../shared';
    for my $w (@warn) { return 0 if index($out, $w) < 0 }
    return 1;
}

=== every WARN line of the log reaches the provider verbatim (Anthropic)
--- request
POST /v1/messages
--- request_body eval
anthropic($main::LOG)
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    my @warn = grep { / WARN / } split /\n/, $main::LOG;
    for my $w (@warn) { return 0 if index($out, $w) < 0 }
    return $out =~ /more lines like the one above omitted \([^)]*blk_/;
}

=== a fold names its varying values; headroom_log_values 0 lists none
--- http_config
headroom_log_values 0;
--- request_body eval
chat($main::LOG)
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    my @details = $out =~ /more lines like the one above omitted(?: \((.*?)\))?; lines/g;
    return @details && !grep { defined && !/^\d+ matching the question$/ } @details;
}

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

=== a search match that holds the question's term inside a word stays (chat)
--- request_body eval
my $b = chat($main::GREP); $b =~ s/List the packages, \{\\"as\\": \\"json\\"\}/where is keep_length used?/ or die; $b
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    my @want = grep { /keep_length/ } split /\n/, $main::GREP;
    return 0 unless @want && $out =~ /more matches in/;
    for my $w (@want) { return 0 if index($out, $w) < 0 }
    return 1;
}

=== a search match that holds the question's term inside a word stays (Anthropic)
--- request
POST /v1/messages
--- request_body eval
my $b = anthropic($main::GREP); $b =~ s/Find them/where is keep_length used?/ or die; $b
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    my @want = grep { /keep_length/ } split /\n/, $main::GREP;
    return 0 unless @want;
    for my $w (@want) { return 0 if index($out, $w) < 0 }
    return 1;
}

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

=== headroom_diff_context 0 keeps the changes and no context runs
--- http_config
headroom_diff_context 0;
--- request
POST /v1/messages
--- request_body eval
anthropic($main::DIFF)
--- upstream_check eval
sub {
    my @in  = split /\n/, $main::DIFF;
    my @out = split /\n/, tool_output_text($_[0]);
    my $context = sub { $_[0] =~ /^ / };
    my $id = substr(sha256_hex($main::DIFF), 0, 32);
    my $marker = qr/^\[headroom: (\d+) unchanged lines omitted \(new lines \d+-\d+\); lines? (\d+)(?:-(\d+))?; id=$id\]$/;
    # every header and change, in order; context only as lone lines
    my @changes_in  = grep { !$context->($_) } @in;
    my @changes_out = grep { !$context->($_) && !/$marker/ } @out;
    return 0 unless "@changes_in" eq "@changes_out";
    my ($omitted, $kept, $at) = (0, 0, 0);
    for my $i (0 .. $#out) {
        if ($out[$i] =~ $marker) {
            # the marker stands for exactly the input lines it names
            my ($n, $first, $last) = ($1, $2, $3 // $2);
            return 0 unless $first == $at + 1 && $last - $first + 1 == $n;
            $omitted += $n;
            $at = $last;
            next;
        }
        return 0 unless $in[$at] eq $out[$i];
        $at++;
        next unless $context->($out[$i]);
        $kept++;
        return 0 if $i > 0 && $context->($out[$i - 1]);
    }
    return $omitted > 0 && $at == @in && $omitted + $kept == grep { $context->($_) } @in;
}
--- error_log
kinds: diff 1 (

=== crushing diffs off leaves them whole
--- http_config
headroom_crush_diffs off;
--- request
POST /v1/messages
--- request_body eval
anthropic($main::DIFF)
--- upstream_body_unchanged
