# nnar_forecast() on the chain's own stores, beside arima_forecast(): the
# demo generator's workbook (tools/mkworkbook, two years of daily sales in
# three branches) is imported, the last 28 days of each branch are held
# back, and both models forecast them from the days before; the errors are
# reported side by side and the network must be about as good as ARIMA
# (within 1.3x its mean absolute error). Then hostile calls end in clean
# errors, and long calls stop promptly on pg_cancel_backend and on
# statement_timeout, in training and in the simulation of intervals, leaving
# the session usable.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use CancelTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $mkworkbook = 'tools/mkworkbook';
-x $mkworkbook or BAIL_OUT("$mkworkbook is not built (make -C tools)");

my $node = PostgreSQL::Test::Cluster->new('nnar');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');

note 'the demo workbook: forecasts of a held-back tail';
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($xlsx, $json) = ("$dir/chain.xlsx", "$dir/chain.json");
system($mkworkbook, '--seed', '11', '--scale', 'medium', '--clean', $xlsx, $json) == 0
  or die 'mkworkbook failed';
$node->safe_psql('postgres', "SELECT * FROM megamarket.import_workbook('$xlsx')");
$node->safe_psql('postgres', q{
-- a day without sales lines is a day of zero sales (not a missing value)
CREATE TABLE daily AS
SELECT st.name AS store, d.date AS day, coalesce(sum(s.amount), 0)::float8 AS amount
FROM megamarket.stores st
CROSS JOIN megamarket.dates d
LEFT JOIN megamarket.sales s ON s.store_id = st.store_id AND s.date_id = d.date_id
WHERE d.date BETWEEN (SELECT min(date) FROM megamarket.dates JOIN megamarket.sales USING (date_id))
                 AND (SELECT max(date) FROM megamarket.dates JOIN megamarket.sales USING (date_id))
GROUP BY 1, 2;
CREATE TABLE fc AS
SELECT 'nnar' AS method, series, t::date AS day, forecast, model, error
FROM megamarket.nnar_forecast($$SELECT store, day, amount FROM daily
                                WHERE day <= DATE '2024-12-03'$$, 28)
UNION ALL
SELECT 'arima', series, t::date, forecast, model, error
FROM megamarket.arima_forecast($$SELECT store, day, amount FROM daily
                                 WHERE day <= DATE '2024-12-03'$$, 28, 1, 0, 1, '{0,1,1,7}');
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM fc WHERE error IS NULL'),
	'168', '28 days forecast for each of 3 stores by both models');
my $rows = $node->safe_psql('postgres', q{
SELECT f.series, min(f.model) FILTER (WHERE method = 'nnar'),
       avg(abs(f.forecast - d.amount)) FILTER (WHERE method = 'nnar'),
       avg(abs(f.forecast - d.amount)) FILTER (WHERE method = 'arima'),
       100 * avg(abs(f.forecast - d.amount) / nullif(d.amount, 0)) FILTER (WHERE method = 'nnar'),
       100 * avg(abs(f.forecast - d.amount) / nullif(d.amount, 0)) FILTER (WHERE method = 'arima'),
       avg(abs(m.mean - d.amount)) FILTER (WHERE method = 'nnar'),
       count(*) FILTER (WHERE method = 'nnar')
FROM fc f
JOIN daily d ON d.store = f.series AND d.day = f.day
JOIN (SELECT store, avg(amount) AS mean FROM daily WHERE day <= DATE '2024-12-03' GROUP BY 1) m
  ON m.store = f.series
GROUP BY 1 ORDER BY 1});
for my $line (split /\n/, $rows)
{
	my ($store, $model, $mae_nn, $mae_ar, $mape_nn, $mape_ar, $mae_mean, $days) = split /\|/, $line;
	note sprintf('%-7s %d days held back: NNAR MAE %.1f (MAPE %.1f %%), ARIMA(1,0,1)(0,1,1)[7] MAE %.1f (MAPE %.1f %%), the mean %.1f; %s',
		$store, $days, $mae_nn, $mape_nn, $mae_ar, $mape_ar, $mae_mean, $model);
	cmp_ok($mae_nn, '<', 1.3 * $mae_ar, "$store: the network's error is within 1.3x ARIMA's");
}

# the example of docs/mining.md: every branch four weeks ahead, with intervals
is($node->safe_psql('postgres', q{
SELECT count(*), count(DISTINCT store), bool_and(lo95 <= forecast AND forecast <= hi95),
       bool_and(model LIKE 'NNAR(%)[7], average of 20 networks%')
FROM (
SELECT series AS store, t::date AS day, round(forecast) AS forecast,
       round(lo95) AS lo95, round(hi95) AS hi95, model
FROM megamarket.nnar_forecast($$
       SELECT st.name, d.date, coalesce(sum(s.amount), 0)
       FROM megamarket.stores st
       CROSS JOIN megamarket.dates d
       LEFT JOIN megamarket.sales s ON s.store_id = st.store_id AND s.date_id = d.date_id
       WHERE d.date BETWEEN (SELECT min(date) FROM megamarket.dates JOIN megamarket.sales USING (date_id))
                        AND (SELECT max(date) FROM megamarket.dates JOIN megamarket.sales USING (date_id))
       GROUP BY 1, 2$$, 28, intervals => true)) f}),
	'84|3|t|t', 'the documented forecast per branch: 28 days x 3 stores, inside their intervals');

note 'hostile calls end in clean errors; the server stays up';
# [query, the error expected (undef: it succeeds)]
for my $case (
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT i, ''NaN''::float8 FROM generate_series(1, 50) i', 3, 1)},
		qr/ERROR:  nnar_forecast: series is too short: 0 observations/ ],
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT i, CASE WHEN i % 2 = 0 THEN ''NaN''::float8 ELSE i END FROM generate_series(1, 50) i', 3, 1)},
		qr/ERROR:  nnar_forecast: series has too few complete rows for the lags/ ],
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT i::bigint * 9223372036854775, sin(i) FROM generate_series(1, 5) i', 3, 1)},
		undef ],
	# t near the end of bigint: the forecasts' t is NULL past it, no overflow
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT (9223372036854775807 - 60 + i)::bigint, sin(i) FROM generate_series(0, 60) i', 3, 1) WHERE t IS NULL},
		undef ],
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT pg_terminate_backend(0), 1.0', 3, 1)},
		qr/ERROR:  nnar_forecast query column 1 \("pg_terminate_backend"\) must be an integer, a date or a timestamp/ ],
	[ q{SELECT count(*) FROM megamarket.nnar_forecast(repeat('SELECT 1, 1.0 UNION ALL ', 5000) || 'SELECT 2, 2.0', 3, 1)},
		qr/ERROR:  nnar_forecast: t is repeated in rows/ ],
	[ q{SELECT count(lo80) FROM megamarket.nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 400) i', 100000, 2, repeats => 2, intervals => true, npaths => 10)},
		undef ],
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 400) i', 3, 2, repeats => 1000, size => 100, maxit => 0)},
		undef ],
	[ q{SELECT count(*) FROM megamarket.nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 40000) i', 3, 100, "P" => 10, period => 366, size => 90, repeats => 1, maxit => 0)},
		qr/ERROR:  nnar_forecast: the network would have too many weights: 10081/ ],
  )
{
	my ($sql, $want) = @$case;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	if (defined $want)
	{
		like($err, $want, 'clean error: ' . substr($sql, 43, 70));
	}
	else
	{
		is($ret, 0, 'runs: ' . substr($sql, 43, 70)) or diag $err;
	}
	is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server answers');
}
# 1e308 * sin(i): refused as out of range inside the multi-series call
like($node->safe_psql('postgres',
		q{SELECT error FROM megamarket.nnar_forecast('SELECT ''x'', i, 1e308 * sin(i) FROM generate_series(1, 60) i', 3, 1)}),
	qr/out of range/, 'huge values: a row with the reason');

note 'cancel';
my $session = $node->background_psql('postgres', on_error_stop => 0);
my $monitor = $node->background_psql('postgres');
my $pid = $session->query_safe('SELECT pg_backend_pid()');

# 1,000 networks of 40 hidden units on 50,000 points: hours of training
my $long = "SELECT * FROM megamarket.nnar_forecast('SELECT i, sin(i * 0.9) + (i % 13) * 0.01 FROM generate_series(1, 50000) i', 3, 20, size => 40, repeats => 1000)";
start_active($session, $monitor, $pid, $long, '%nnar_forecast%');
usleep(1_500_000);    # well into the training
my $t0 = time;
is($monitor->query_safe("SELECT pg_cancel_backend($pid)"), 't', 'cancel sent while training');
like(wait_error($session), qr/ERROR:  canceling statement due to user request/, 'training ends with the cancel error');
my $took = time - $t0;
note sprintf('cancel honoured in %.3f s', $took);
cmp_ok($took, '<', 2, 'within 2 s');
$session->{stderr} = '';
is($session->query_safe('SELECT 1'), '1', 'the session goes on');

# the simulation of intervals: 100,000 paths x 2,000 steps x 200 nets
$session->query_safe('SET statement_timeout = 3000');
$t0 = time;
start_active($session, $monitor, $pid, "SELECT * FROM megamarket.nnar_forecast('SELECT i, sin(i * 0.3) FROM generate_series(1, 200) i', 2000, 2, repeats => 200, maxit => 5, intervals => true, npaths => 100000)", '%nnar_forecast%');
like(wait_error($session), qr/ERROR:  canceling statement due to statement timeout/, 'the simulation ends with the timeout');
$took = time - $t0;
cmp_ok($took, '<', 6, sprintf('within 3 s of the timeout (%.3f s)', $took));
$session->{stderr} = '';
$session->query_safe('RESET statement_timeout');
is($session->query_safe(
		"SELECT count(*) FROM megamarket.nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 100) i', 4, 2, repeats => 2)"),
	'4', 'nnar_forecast runs again in the same session');

$session->quit;
$monitor->quit;
$node->stop;
done_testing();
