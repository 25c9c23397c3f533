# Helpers shared by the TAP tests that cancel or time out a long statement:
# start it in a background session and wait until pg_stat_activity shows it
# running, then pump that session until its stderr has the error.
package CancelTest;
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use Exporter 'import';
our @EXPORT = qw(start_active wait_error);

# Run $sql in $session (a background_psql) without waiting for its result;
# return once $monitor sees backend $pid active on a query LIKE $like. The
# session's stderr is cleared first, so wait_error sees only this statement's.
sub start_active
{
	my ($session, $monitor, $pid, $sql, $like) = @_;
	$session->{stderr} = '';
	$session->query_until(qr/started/, "\\echo started\n$sql;\n");
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	$timer->start;
	until ($monitor->query_safe(
			"SELECT state = 'active' AND query LIKE '$like' FROM pg_stat_activity WHERE pid = $pid") eq 't')
	{
		die 'the statement never showed up in pg_stat_activity' if $timer->is_expired;
		usleep(2_000);
	}
	return;
}

# Pump $session until its stderr matches $pattern (default: an ERROR line);
# return its stderr.
sub wait_error
{
	my ($session, $pattern) = @_;
	$pattern //= qr/ERROR:.*\n/;
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	$timer->start;
	while ($session->{stderr} !~ $pattern && !$timer->is_expired)
	{
		$session->{run}->pump_nb;
		usleep(10_000);
	}
	return $session->{stderr};
}

1;
