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
        exec '/usr/bin/redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $dir,
             '--daemonize', 'no', '--protected-mode', 'no';
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

# One command, its reply as redis-cli prints it (raw).
sub redis_cmd {
    my ($redis, @args) = @_;
    open my $fh, '-|', '/usr/bin/redis-cli', '-p', $redis->{port}, '--raw', @args or die;
    local $/;
    my $out = <$fh> // '';
    close $fh;
    chomp $out;
    return $out;
}

1;
