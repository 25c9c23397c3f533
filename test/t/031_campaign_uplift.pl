# megamarket_bi.campaign_performance against the uplift tools/mkworkbook
# planted: tickets per store and day are Poisson(base x store level x trend x
# weekday x month x campaign uplift), so the view's ticket uplift, measured
# against its seasonally corrected baseline, must find each campaign's planted
# uplift within sampling error; and its window counts must equal the tickets
# the generator says it wrote in each window.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $mkworkbook = 'tools/mkworkbook';
-x $mkworkbook or BAIL_OUT("$mkworkbook is not built (make -C tools)");

my $node = PostgreSQL::Test::Cluster->new('uplift');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;
system($mkworkbook, '--seed', '11', '--sales-lines', '300000', "$dir/w.xlsx", "$dir/w.json") == 0
  or die 'mkworkbook failed';
$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');
$node->safe_psql('postgres', "SET client_min_messages = warning; SELECT count(*) FROM megamarket.import_workbook('$dir/w.xlsx')");

is($node->safe_psql('postgres', q{
SELECT count(*) FROM (
  (SELECT store_id, date_id, sum(amount), count(*) FROM megamarket.sales GROUP BY 1, 2
   EXCEPT SELECT store_id, date_id, revenue, lines FROM megamarket.live_store_day WHERE lines > 0)
  UNION ALL
  (SELECT store_id, date_id, revenue, lines FROM megamarket.live_store_day WHERE lines > 0
   EXCEPT SELECT store_id, date_id, sum(amount), count(*) FROM megamarket.sales GROUP BY 1, 2)) d}),
	'0', 'after the import, live_store_day equals the facts (bulk-loaded months included)');

# the planted truth, read by the server from the manifest
my $manifest = do { local $/; open(my $fh, '<', "$dir/w.json") or die $!; <$fh> };
$manifest =~ s/'/''/g;
$node->safe_psql('postgres', qq{
CREATE TABLE planted AS
SELECT c->>'code' AS code, (c->>'uplift')::float8 AS uplift,
       (c->'realised'->>'tickets_in_window')::bigint AS tickets_in_window
FROM jsonb_array_elements('$manifest'::jsonb->'truth'->'campaigns') c});

is($node->safe_psql('postgres', q{
SELECT count(*) FROM planted p JOIN megamarket_bi.campaign_performance v USING (code)
WHERE v.window_tickets <> p.tickets_in_window}), '0',
	'window_tickets equals the tickets the generator wrote in each window');

is($node->safe_psql('postgres', q{
SELECT string_agg(code, ',' ORDER BY code) FROM megamarket_bi.campaign_performance WHERE NOT baseline_complete}),
	'CMP-01', 'the campaign whose baseline precedes the first sale has no baseline (NULL, not a wrong figure)');

# One standard error of window/expected under Poisson counts:
# ratio * sqrt(1/window + 1/baseline). Allow 4 of them per campaign.
my $rows = $node->safe_psql('postgres', q{
SELECT code, p.uplift, v.ticket_uplift_pct, 100 * (v.window_tickets::float8 / v.baseline_tickets - 1),
       (1 + v.ticket_uplift_pct / 100) * sqrt(1.0 / v.window_tickets + 1.0 / v.baseline_tickets)
FROM planted p JOIN megamarket_bi.campaign_performance v USING (code)
WHERE v.baseline_complete ORDER BY code});
my ($n, $abs_err, $abs_raw) = (0, 0, 0);
for my $line (split /\n/, $rows)
{
	my ($code, $uplift, $est, $raw, $se) = split /\|/, $line;
	my $truth = 100 * ($uplift - 1);
	cmp_ok(abs($est - $truth), '<=', 400 * $se,
		sprintf('%s: ticket uplift %.1f%% against planted %.0f%% (4 standard errors: %.1f)', $code, $est, $truth, 400 * $se));
	$n++;
	$abs_err += abs($est - $truth);
	$abs_raw += abs($raw - $truth);
}
is($n, 7, 'seven campaigns with a complete baseline');
cmp_ok($abs_err / $n, '<', 8, sprintf('mean absolute error of the uplift %.1f points', $abs_err / $n));
cmp_ok($abs_err, '<', $abs_raw,
	sprintf('the seasonal correction helps: %.1f points against %.1f uncorrected', $abs_err / $n, $abs_raw / $n));

done_testing();
