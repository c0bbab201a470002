# Every kind of tool output in every API shape (Gemini's in a function
# response's "result"), through the real gateway.
# JSON, logs, search results and diffs are crushed: the upstream gets
# exactly what `headroom compress` makes of the same body, with the kind's
# omission marker in it. Listings, code and prose pass byte for byte. The
# error log names the kind headroom saw.
use strict;
use warnings;
use lib 't/lib';
use HeadroomTest;
use Bodies;

my $json = records(300);
$json->[$_ * 41]{status} = 'failed' for 1 .. 4;

my $listing = "total 1208\n" . join '', map {
    sprintf "-rw-r--r-- 1 www-data adm %7d Nov %2d 10:%02d error-%03d.log\n",
        1000 + $_ * 37, 1 + $_ % 28, $_ % 60, $_
} 1 .. 200;

my $code = do {
    open my $fh, '<', 'src/ngx/ngx_http_headroom_body_filter.c' or die;
    local $/;
    numbered(scalar <$fh>);
};

my $prose = do {
    open my $fh, '<:raw', 'README.md' or die;
    local $/;
    <$fh>;
};

my @crushed = (
    [json   => pretty($json),       qr/headroom_omitted\W+count\W+\d+\W+items\W+\d+-\d+\W+lines\W+\d+-\d+\W+id\W+[0-9a-f]{32}/],
    [log    => loghub_log('HDFS'),  qr/more lines like the one above omitted(?: \(.*?\))?; lines \d+-\d+; id=[0-9a-f]{32}\]/],
    [search => grep_output(),       qr/more matches in src\/\S+ omitted \(file lines \d+-\d+\); lines \d+-\d+; id=[0-9a-f]{32}\]/],
    [diff   => wide_diff(),         qr/unchanged lines omitted \(new lines \d+-\d+\); lines \d+-\d+; id=[0-9a-f]{32}\]/],
);
my @unchanged = (
    [listing => $listing],
    [code    => $code],
    [text    => $prose],
);
my %shapes = (
    openai_chat        => [\&chat,      '/v1/chat/completions'],
    openai_responses   => [\&responses, '/v1/responses'],
    anthropic_messages => [\&anthropic, '/v1/messages'],
    gemini             => [\&gemini,    GEMINI_URI],
);

my @blocks;
for my $shape (sort keys %shapes) {
    my ($wrap, $uri) = @{ $shapes{$shape} };
    for my $k (@crushed) {
        my ($kind, $text, $marker) = @$k;
        my $body = $wrap->($text);
        my $want = compressed($body, $uri);
        die "$kind in $shape: no marker" unless $want =~ $marker;
        die "$kind in $shape: not smaller" unless length($want) < length($body);
        push @blocks, {
            name          => "$kind in $shape is crushed",
            request       => "POST $uri",
            request_body  => $body,
            upstream_body => $want,
            error_log     => "headroom: optimized: $shape\nkinds: $kind 1 (",
        };
    }
    for my $k (@unchanged) {
        my ($kind, $text) = @$k;
        push @blocks, {
            name                    => "$kind in $shape passes whole",
            request                 => "POST $uri",
            request_body            => $wrap->($text),
            upstream_body_unchanged => '',
            error_log               => "headroom: passthrough: no_change ($shape\nkinds: $kind 1 (",
        };
    }
}

# Gemini's paths are /v1beta/... as well as /v1/...
run_blocks(blocks => \@blocks, default_config => <<'CONFIG');
location / {
    headroom on;
    proxy_pass http://$TEST_UPSTREAM;
}
CONFIG
