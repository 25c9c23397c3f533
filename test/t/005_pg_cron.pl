# The nightly import as docs/import.md schedules it, on a cluster running the
# real pg_cron: the job runs, import_workbook() logs its run, and a job that
# fails (the workbook is gone) leaves its error in cron.job_run_details and
# no run logged.
#
# pg_cron 1.4 (Debian 12) schedules by the minute, so this waits for the next
# minute boundary: up to about a minute.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $mkworkbook = 'tools/mkworkbook';
-x $mkworkbook or BAIL_OUT("$mkworkbook is not built (make -C tools)");

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
# jobs run in background workers: no password or socket set-up needed
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'megamarket, pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;
my $xlsx = "$dir/ventas.xlsx";
system($mkworkbook, '--seed', '5', '--scale', 'small', $xlsx, "$dir/ventas.json") == 0
  or die 'mkworkbook failed';

$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');

# the job of docs/import.md, every minute instead of at 02:30; and, for the
# same minute, one whose workbook is missing
my $job = $node->safe_psql('postgres', qq{
SELECT cron.schedule('megamarket-nightly-import', '* * * * *',
    \$\$SELECT count(*) FROM megamarket.import_workbook('$xlsx')\$\$)});
like($job, qr/^\d+$/, "job scheduled ($job)");
my $bad = $node->safe_psql('postgres', qq{
SELECT cron.schedule('megamarket-missing-file', '* * * * *',
    \$\$SELECT count(*) FROM megamarket.import_workbook('$dir/missing.xlsx')\$\$)});

# docs/powerbi.md's job, in the same minute
my $bi = $node->safe_psql('postgres', q{
SELECT cron.schedule('megamarket-refresh-bi', '* * * * *', 'SELECT * FROM megamarket.refresh_bi()')});

my $ok = $node->poll_query_until('postgres', qq{
SELECT status FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1}, 'succeeded');
ok($ok, 'pg_cron ran the import and records it as succeeded');
$ok = $node->poll_query_until('postgres', qq{
SELECT status FROM cron.job_run_details WHERE jobid = $bad ORDER BY runid LIMIT 1}, 'failed');
ok($ok, 'a missing workbook: the job fails');
$ok = $node->poll_query_until('postgres', qq{
SELECT status FROM cron.job_run_details WHERE jobid = $bi ORDER BY runid LIMIT 1}, 'succeeded');
ok($ok, 'pg_cron ran refresh_bi()');
$node->safe_psql('postgres', "SELECT cron.unschedule($job), cron.unschedule($bad), cron.unschedule($bi)");

is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || bool_and(NOT dry_run) FROM megamarket.import_runs}),
	'1 true', 'one run is logged: the good one');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.sales'), '>', 1000,
	'the warehouse has the sales');
is($node->safe_psql('postgres', 'SELECT run_by FROM megamarket.import_runs'),
	$node->safe_psql('postgres', 'SELECT current_user'), 'logged under the scheduling role');
like($node->safe_psql('postgres', "SELECT return_message FROM cron.job_run_details WHERE jobid = $bad ORDER BY runid LIMIT 1"),
	qr/could not open file ".*missing\.xlsx"/, 'pg_cron keeps the failed job\'s error');

done_testing();
