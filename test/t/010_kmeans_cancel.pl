# A long kmeans() call stops promptly on pg_cancel_backend and on
# statement_timeout, in the middle of reading its query and in the middle of
# clustering, gives its memory back, and leaves the session usable.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use CancelTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('kmeans_cancel');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

# 1,000,000 points x 8 in a table: 64 MB of points once read.
$node->safe_psql('postgres', q{
CREATE EXTENSION megamarket;
CREATE TABLE pts AS
SELECT i, sin(i) AS a, sin(i * 1.3) AS b, sin(i * 1.7) AS c, sin(i * 2.1) AS d,
       sin(i * 2.9) AS e, sin(i * 3.1) AS f, sin(i * 3.7) AS g, sin(i * 4.3) AS h
FROM generate_series(1, 1000000) i;
});

my $session = $node->background_psql('postgres', on_error_stop => 0);
my $monitor = $node->background_psql('postgres');
my $pid = $session->query_safe('SELECT pg_backend_pid()');
like($pid, qr/^\d+$/, 'session backend pid');

# resident memory of the session's backend, in kB
sub rss_kb
{
	open(my $fh, '<', "/proc/$pid/status") or die "could not open /proc/$pid/status: $!";
	while (<$fh>)
	{
		return $1 if /^VmRSS:\s+(\d+)\s+kB/;
	}
	die 'no VmRSS';
}

my $rss_idle = rss_kb();
note "backend RSS before: $rss_idle kB";

# 10,000 runs of k = 50 would take hours.
my $long = "SELECT * FROM megamarket.kmeans('SELECT * FROM pts', 50, n_init => 10000)";

note 'pg_cancel_backend while clustering';
start_active($session, $monitor, $pid, $long, '%kmeans%');
# wait until the points are read: the backend holds them (64 MB more)
my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
$timer->start;
my $rss_busy;
do
{
	usleep(100_000);
	$rss_busy = rss_kb();
} until ($rss_busy > $rss_idle + 60_000 || $timer->is_expired);
cmp_ok($rss_busy, '>', $rss_idle + 60_000, "the points are held ($rss_busy kB)");
usleep(500_000);    # well into the runs
my $t0 = time;
is($monitor->query_safe("SELECT pg_cancel_backend($pid)"), 't', 'cancel sent');
like(wait_error($session), qr/ERROR:  canceling statement due to user request/, 'kmeans ends with the cancel error');
my $took = time - $t0;
note sprintf('cancel honoured in %.3f s', $took);
cmp_ok($took, '<', 2, 'within 2 s');
$session->{stderr} = '';
is($session->query_safe('SELECT 1'), '1', 'the session goes on');
my $rss_after = rss_kb();
note "backend RSS after the cancel: $rss_after kB";
cmp_ok($rss_after, '<', $rss_idle + 30_000, 'the points were given back');

note 'statement_timeout while reading the query';
# a query whose rows come slowly: the timeout lands in the reading loop
$session->query_safe('SET statement_timeout = 700');
$t0 = time;
# (the sleep refers to the row, so it runs for each one: an uncorrelated
# LATERAL (SELECT pg_sleep(...)) runs once, and the statement then sometimes
# finished inside the 700 ms and left this test waiting for an error)
start_active($session, $monitor, $pid,
	"SELECT * FROM megamarket.kmeans('SELECT i, a, b FROM pts, LATERAL (SELECT pg_sleep(0.0001) WHERE i > 0) s', 2)",
	'%kmeans%');
like(wait_error($session), qr/ERROR:  canceling statement due to statement timeout/, 'the read ends with the timeout');
$took = time - $t0;
cmp_ok($took, '<', 3, sprintf('within 3 s of the start (%.3f s)', $took));
$session->{stderr} = '';
$session->query_safe('RESET statement_timeout');

note 'statement_timeout while clustering';
$session->query_safe('SET statement_timeout = 6000');
$t0 = time;
start_active($session, $monitor, $pid, $long, '%kmeans%');
like(wait_error($session), qr/ERROR:  canceling statement due to statement timeout/, 'the run ends with the timeout');
$took = time - $t0;
cmp_ok($took, '<', 9, sprintf('within 3 s of the timeout (%.3f s)', $took));
$session->{stderr} = '';
$session->query_safe('RESET statement_timeout');
is($session->query_safe(
		"SELECT count(*) FROM megamarket.kmeans('SELECT * FROM pts WHERE i <= 1000', 3, n_init => 1)"),
	'3', 'kmeans runs again in the same session');

$session->quit;
$monitor->quit;
$node->stop;
done_testing();
