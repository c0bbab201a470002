# The gateway speaks TLS to providers with SNI and verifies their
# certificate: a provider (nginx with a test CA's certificate for
# "localhost") is trusted only through HEADROOM_CA_FILE and only under
# its own name.
use strict;
use warnings;
use lib 't/lib';
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use HeadroomTest qw(start_recorder recorded free_port alive);
use Gateway;
use Bodies;
use JSON::PP;

my $dir = tempdir('headroom-tls-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;
mkdir "$dir/upstream";
my ($rec_pid, $rec_port) = start_recorder("$dir/upstream");

# A CA and a certificate for localhost signed by it.
my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
open my $ext, '>', "$dir/ext" or die;
print $ext "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n";
close $ext;
for my $cmd (
    "openssl req -x509 $ec -keyout $dir/ca.key -out $dir/ca.pem -days 2 -subj '/CN=headroom test CA'",
    "openssl req $ec -keyout $dir/leaf.key -out $dir/leaf.csr -subj /CN=localhost",
    "openssl x509 -req -in $dir/leaf.csr -CA $dir/ca.pem -CAkey $dir/ca.key"
        . " -CAcreateserial -out $dir/leaf.pem -days 2 -extfile $dir/ext",
) {
    system("$cmd >/dev/null 2>&1") == 0 or BAIL_OUT("openssl failed: $cmd");
}
chmod 0644, glob("$dir/*.key");

# The provider: TLS in front of the recorder, passing on the SNI it saw.
my $tls_port = free_port();
make_path("$dir/provider/logs", "$dir/provider/conf", "$dir/provider/tmp");
chmod 0777, "$dir/provider/tmp";
open my $pc, '>', "$dir/provider/conf/nginx.conf" or die;
print $pc <<"CONF";
pid logs/nginx.pid;
error_log logs/error.log info;
events { }
http {
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    server {
        listen 127.0.0.1:$tls_port ssl;
        ssl_certificate $dir/leaf.pem;
        ssl_certificate_key $dir/leaf.key;
        location / {
            proxy_set_header X-SNI \$ssl_server_name;
            proxy_set_header Host \$http_host;
            proxy_pass http://127.0.0.1:$rec_port;
        }
    }
}
CONF
close $pc;
system("/usr/sbin/nginx -p $dir/provider/ -c conf/nginx.conf") == 0
    or BAIL_OUT('provider did not start');

my $data = records(10);
my $same = JSON::PP->new->canonical->encode($data);
my $url = "https://localhost:$tls_port/v1";

# Trusted through HEADROOM_CA_FILE.
my $gw = start_gateway("$dir/trusted",
    HEADROOM_OPENAI_UPSTREAM => $url, HEADROOM_ANTHROPIC_UPSTREAM => $url,
    HEADROOM_CA_FILE => "$dir/ca.pem");
like post_json($gw, '/v1/chat/completions', chat(pretty($data))), qr{^HTTP/1\.1 200},
    'verified TLS upstream answers';
my @got = recorded("$dir/upstream");
is scalar @got, 1, 'the provider got the request';
like $got[0][0], qr{^X-SNI: localhost\r?$}m, 'SNI names the provider';
like $got[0][0], qr{^Host: localhost:$tls_port\r?$}m, 'Host names the provider';
is tool_output_data($got[0][1]), $same, 'the body arrives rewritten over TLS';
like post_json($gw, '/v1/messages', anthropic(pretty($data))), qr{^HTTP/1\.1 200},
    'Anthropic over TLS too';
@got = recorded("$dir/upstream");
ok @got && tool_output_data($got[0][1]) eq $same, 'tool result rewritten over TLS';
my $log = stop_gateway($gw);
unlike $log, qr/\[(alert|emerg|crit)\]/, 'no alert, emerg or crit';

# The system's CAs do not know the test CA: refused.
$gw = start_gateway("$dir/untrusted",
    HEADROOM_OPENAI_UPSTREAM => $url, HEADROOM_ANTHROPIC_UPSTREAM => $url);
like post_json($gw, '/v1/chat/completions', chat(pretty($data))), qr{^HTTP/1\.1 502},
    'an unknown CA is refused';
is scalar(recorded("$dir/upstream")), 0, 'nothing reached the provider';
like stop_gateway($gw), qr/upstream SSL certificate verify error/, 'and logged';

# Trusted CA, wrong name: refused.
$gw = start_gateway("$dir/wrong-name",
    HEADROOM_OPENAI_UPSTREAM => "https://127.0.0.1:$tls_port/v1",
    HEADROOM_ANTHROPIC_UPSTREAM => $url,
    HEADROOM_CA_FILE => "$dir/ca.pem");
like post_json($gw, '/v1/chat/completions', chat(pretty($data))), qr{^HTTP/1\.1 502},
    'a certificate for another name is refused';
is scalar(recorded("$dir/upstream")), 0, 'nothing reached the provider';
like stop_gateway($gw), qr/upstream SSL certificate does not match/, 'and logged';

open my $pid_fh, '<', "$dir/provider/logs/nginx.pid" or die;
chomp(my $pid = <$pid_fh>);
kill 'QUIT', $pid;
for (1 .. 500) { last unless alive($pid); sleep 0.01 }
kill 'TERM', $rec_pid;
waitpid $rec_pid, 0;

done_testing();
