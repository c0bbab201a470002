package Redis;

# A real redis-server (Debian's package) for a test: started by the test on
# a loopback port, persistence off, in a directory of its own; never a
# system service.

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);
use HeadroomTest qw(free_port alive);

our @EXPORT = qw(start_redis stop_redis redis_cmd have_redis);

sub have_redis { -x '/usr/bin/redis-server' }

# start_redis(port => P): returns { pid, port, dir }.
sub start_redis {
    my (%o) = @_;
    my $port = $o{port} // free_port();
    my $dir = $o{dir} // tempdir('headroom-redis-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/redis.out";
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec '/usr/bin/redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $dir,
             '--daemonize', 'no', '--protected-mode', 'no'; }
        POSIX::_exit(127);
    }
    for (1 .. 250) {
        if (my $s = IO::Socket::INET->new("127.0.0.1:$port")) {
            close $s;
            return { pid => $pid, port => $port, dir => $dir };
        }
        sleep 0.02;
    }
    die "redis-server did not listen on $port";
}

sub stop_redis {
    my ($redis) = @_;
    kill 'TERM', $redis->{pid};
    waitpid $redis->{pid}, 0;
    # the port is free again once nothing listens
    for (1 .. 100) {
        my $s = IO::Socket::INET->new("127.0.0.1:$redis->{port}") or last;
        close $s;
        sleep 0.02;
    }
}

# One command over RESP; its reply: a string (bulk or simple), a number,
# undef for nil, or a list of them; an error reply dies.
sub redis_cmd {
    my ($redis, @args) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$redis->{port}") or die "redis: $!";
    binmode $s;
    my $req = '*' . @args . "\r\n" . join('', map { '$' . length($_) . "\r\n$_\r\n" } @args);
    print {$s} $req;
    my $reply = read_reply($s);
    close $s;
    return $reply;
}

sub read_reply {
    my ($s) = @_;
    my $line = <$s>;
    die 'redis: no reply' unless defined $line;
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+';
    return 0 + $rest if $type eq ':';
    die "redis: $rest\n" if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $data = '';
        while (length($data) < $rest + 2) {
            my $n = read($s, my $buf, $rest + 2 - length $data);
            die 'redis: short reply' unless $n;
            $data .= $buf;
        }
        return substr($data, 0, $rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { read_reply($s) } 1 .. $rest ];
    }
    die "redis: unknown reply $line";
}

1;
