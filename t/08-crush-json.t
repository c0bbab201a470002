# Long arrays in JSON tool outputs are crushed through the real gateway:
# valid JSON, every kept item unchanged, every omission marked with the
# indices it replaces and the original's hash, the same bytes as
# `headroom compress`, and errors, outliers and the question's item kept.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;
use Bodies;
use Digest::SHA qw(sha256_hex);
use JSON::PP;

our $DATA = records(750);
$DATA->[412]{status} = 'failed';
$DATA->[413]{latency} = 1e7;


# The tool output of a chat body, kept items and markers checked against
# the original records; returns the indices kept.
sub check_crushed {
    my ($body, $original_text) = @_;
    my $req = JSON::PP->new->utf8->decode($body);
    my $out = JSON::PP->new->decode($req->{messages}[-1]{content});
    $out = untable($out);
    my ($at, @kept) = (0);
    for my $item (@$out) {
        if (my $m = $item->{headroom_omitted}) {
            my ($first, $last) = split /-/, $m->{items};
            $last //= $first;
            die "marker at $first, expected $at" if $first != $at;
            die "count" if $m->{count} != $last - $first + 1;
            die "id" if $m->{id} ne substr(sha256_hex($original_text), 0, 32);
            die "lines" unless $m->{lines} =~ /^(\d+)(?:-(\d+))?$/ && $1 >= 1;
            $at = $last + 1;
        } else {
            my $want = JSON::PP->new->canonical->encode($DATA->[$at]);
            die "item $at changed" if JSON::PP->new->canonical->encode($item) ne $want;
            push @kept, $at++;
        }
    }
    die "covers $at of " . scalar(@$DATA) if $at != @$DATA;
    return @kept;
}

# An issue list as an API returns it, short enough to lose nothing.
sub issues {
    return JSON::PP->new->canonical->pretty->encode([ map { {
        number => 4000 + $_, title => "Issue $_", state => 'open', locked => JSON::PP::false,
        user => { login => 'dev' . ($_ % 3), type => 'User', site_admin => JSON::PP::false },
        labels => [], comments => $_ % 4,
    } } 1 .. 20 ]);
}

# A package inventory: "yajl" is only inside two of the package names.
sub inventory {
    return '[' . join(",\n", map {
        my $name = $_ == 120 ? 'libyajl2' : $_ == 121 ? 'libyajl-dev' : "libpkg$_";
        qq(  {"package": "$name", "version": "2.1.) . ($_ % 7) . qq(", "status": "installed"})
    } 0 .. 299) . "\n]";
}

# 500 search results, not sorted by score.
sub ranked {
    return '[' . join(',', map {
        my $score = ($_ * 7919) % 1000;
        sprintf '{"title":"result %d","url":"https://example.com/%d","score":0.%03d}', $_, $_, $score
    } 0 .. 499) . ']';
}

run_blocks();

__DATA__

=== a 750-item array keeps ends, errors, outliers and the asked-for item
--- request_body eval
my $b = chat(pretty($main::DATA)); $b =~ s/List the packages/What is the version of package-600/; $b
--- upstream_body eval
my $b = chat(pretty($main::DATA)); $b =~ s/List the packages/What is the version of package-600/;
compressed($b, '/v1/chat/completions')
--- error_log
1 crushed (
items or lines omitted)

=== the crushed output is true to the original
--- request_body eval
chat(pretty($main::DATA))
--- upstream_body eval
my $b = compressed(chat(pretty($main::DATA)), '/v1/chat/completions');
my @kept = main::check_crushed($b, pretty($main::DATA));
my %k = map { $_ => 1 } @kept;
for my $i (0 .. 4, 412, 413, 747 .. 749) { die "item $i not kept" unless $k{$i} }
die "too much kept: " . scalar(@kept) if @kept > 60;
$b

=== the crushed output is a table of the kept records
--- request_body eval
chat(pretty($main::DATA))
--- upstream_body eval
my $b = compressed(chat(pretty($main::DATA)), '/v1/chat/completions');
die 'no table' unless $b =~ /headroom_table/;
$b

=== crushing off: minified only
--- http_config
headroom_crush_json off;
--- request_body eval
chat(pretty($main::DATA))
--- upstream_body eval
chat(compact($main::DATA))

=== a higher headroom_json_max_items and no tables leave the array whole
--- http_config
headroom_json_max_items 1000;
headroom_json_tables off;
--- request_body eval
chat(pretty($main::DATA))
--- upstream_body eval
chat(compact($main::DATA))

=== Anthropic tool results are crushed too
--- request
POST /v1/messages
--- request_body eval
anthropic(pretty($main::DATA))
--- upstream_body eval
compressed(anthropic(pretty($main::DATA)), '/v1/messages')

=== every item kept: none is emptied (31 error items, only headroom on)
--- request_body eval
my $items = '[' . join(', ', map { qq({"id": $_, "error": "boom $_"}) } 0 .. 30) . ']';
chat($items)
--- upstream_check eval
sub {
    my $out = untable(JSON::PP->new->decode(tool_output_text($_[0])));
    my $want = [ map { { id => $_, error => "boom $_" } } 0 .. 30 ];
    my $c = JSON::PP->new->canonical;
    return $c->encode($out) eq $c->encode($want);
}

=== every item kept: keep_first and keep_last cover the array
--- http_config
headroom_json_max_items 10;
headroom_json_keep_first 8;
headroom_json_keep_last 4;
headroom_json_tables off;
headroom_min_tokens 0;
--- request_body eval
chat('[' . join(', ', map { qq({"n": $_, "name": "pkg-$_", "v": "1.$_"}) } 1 .. 11) . ']')
--- upstream_body eval
chat('[' . join(',', map { qq({"n":$_,"name":"pkg-$_","v":"1.$_"}) } 1 .. 11) . ']')

=== the question is matched inside values: "yajl" keeps libyajl2 and libyajl-dev (chat)
--- request_body eval
my $b = chat(main::inventory()); $b =~ s/List the packages, \{\\"as\\": \\"json\\"\}/Is yajl installed? Which version?/ or die; $b
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    return $out =~ /libyajl2/ && $out =~ /libyajl-dev/ && $out =~ /headroom_omitted/;
}

=== the question is matched inside values (Anthropic)
--- request
POST /v1/messages
--- request_body eval
my $b = anthropic(main::inventory()); $b =~ s/Find them/Is yajl installed? Which version?/ or die; $b
--- upstream_check eval
sub {
    my $out = tool_output_text($_[0]);
    return $out =~ /libyajl2/ && $out =~ /libyajl-dev/ && $out =~ /headroom_omitted/;
}

=== ranked results keep their best five, shuffled as they come (Responses)
--- request
POST /v1/responses
--- request_body eval
responses(main::ranked())
--- upstream_check eval
sub {
    my $out = untable(JSON::PP->new->decode(tool_output_text($_[0])));
    my %kept = map { $_->{title} => 1 } grep { !$_->{headroom_omitted} } @$out;
    my @all = @{ JSON::PP->new->decode(main::ranked()) };
    my @best = (sort { $b->{score} <=> $a->{score} } @all)[0 .. 4];
    for my $r (@best) { return 0 unless $kept{ $r->{title} } }
    return keys(%kept) < 40;
}

=== lossless first: an issue list becomes a table, constants once, users flattened (chat)
--- request_body eval
chat(main::issues())
--- upstream_check eval
sub {
    my $out = JSON::PP->new->decode(tool_output_text($_[0]));
    my $t = $out->{headroom_table} or return 0;
    return 0 unless grep { $_ eq 'user.login' } @{ $t->{columns} };
    return 0 unless exists $t->{same}{locked} && $t->{same}{'user.type'} eq 'User';
    my $c = JSON::PP->new->canonical;
    return $c->encode(untable($out)) eq $c->encode(JSON::PP->new->decode(main::issues()));
}

=== lossless first (Gemini, the list as the response object)
--- request
POST /v1beta/models/gemini-2.5-flash:generateContent
--- config
location / {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
--- request_body eval
gemini_json(main::issues())
--- upstream_check eval
sub {
    my $req = JSON::PP->new->utf8->decode($_[0]);
    my $s = $req->{contents}[-1]{parts}[0]{functionResponse}{response}{output};
    return 0 unless ref $s eq 'HASH' && $s->{headroom_table};
    my $c = JSON::PP->new->canonical;
    return $c->encode(untable($s)) eq $c->encode(JSON::PP->new->decode(main::issues()));
}
