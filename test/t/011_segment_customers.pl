# segment_customers() on the chain's workbook (tools/mkworkbook), whose
# generator planted four customer behaviour groups (familias, diarios,
# ocasionales, perdidos) and wrote each customer's true group in its
# manifest: the segments found must match the planted groups (adjusted Rand
# index against the truth, computed here), each group's segment must describe
# it, and a second run must change nothing.
#
# What is achievable: an "ocasional" customer (rare visits) whose last visit
# was more than a year ago behaves exactly like a "perdido" (stopped buying),
# and no behavioural clustering can tell them apart; about a third of the
# ocasionales are such. So the ocasionales' share in their own segment and the
# ARI are held to that (0.6, 0.65), the other three groups to 0.9, and the
# ocasionales put with the perdidos must indeed have lapsed (mean recency over
# a year).
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $mkworkbook = 'tools/mkworkbook';
-x $mkworkbook or BAIL_OUT("$mkworkbook is not built (make -C tools)");

my $node = PostgreSQL::Test::Cluster->new('segments');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;
my ($xlsx, $json) = ("$dir/chain.xlsx", "$dir/chain.json");
system($mkworkbook, '--seed', '7', '--scale', 'medium', $xlsx, $json) == 0
  or die 'mkworkbook failed';
my $manifest = do
{
	open my $fh, '<:raw', $json or die $!;
	local $/;
	JSON::PP->new->decode(<$fh>);
};
my $truth = $manifest->{truth}{customer_group_of};

$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');
$node->safe_psql('postgres', "SELECT count(*) FROM megamarket.import_workbook('$xlsx')");
$node->safe_psql('postgres', 'CREATE TABLE truth (code text PRIMARY KEY, grp text)');
my $values = join(',', map { "('$_', '$truth->{$_}')" } sort keys %$truth);
$node->safe_psql('postgres', "INSERT INTO truth VALUES $values");

my $segments = $node->safe_psql('postgres',
	'SELECT name, customers, description FROM megamarket.segment_customers(4) ORDER BY name');
note "segments:\n$segments";
is(scalar(split /\n/, $segments), 4, 'four segments');

# the confusion of planted groups and segments, for the record
note "group x segment:\n" . $node->safe_psql('postgres', q{
SELECT t.grp, s.name, count(*) FROM megamarket.customers c
JOIN truth t USING (code) JOIN megamarket.segments s USING (segment_id)
WHERE s.name LIKE 'rfm-%' GROUP BY 1, 2 ORDER BY 1, 3 DESC});

# adjusted Rand index (Hubert and Arabie 1985) of segments against groups,
# over the customers who bought something
my $ari = $node->safe_psql('postgres', q{
WITH l AS (SELECT t.grp AS a, c.segment_id AS b FROM megamarket.customers c
           JOIN truth t USING (code) JOIN megamarket.segments s USING (segment_id)
           WHERE s.name LIKE 'rfm-%'),
ct AS (SELECT count(*)::float8 n FROM l GROUP BY a, b),
ra AS (SELECT sum(n * (n - 1) / 2) s FROM (SELECT count(*)::float8 n FROM l GROUP BY a) x),
rb AS (SELECT sum(n * (n - 1) / 2) s FROM (SELECT count(*)::float8 n FROM l GROUP BY b) x),
tot AS (SELECT count(*)::float8 * (count(*) - 1) / 2 t FROM l)
SELECT round((((SELECT sum(n * (n - 1) / 2) FROM ct) - ra.s * rb.s / tot.t)
             / ((ra.s + rb.s) / 2 - ra.s * rb.s / tot.t))::numeric, 3)
FROM ra, rb, tot});
note "adjusted Rand index: $ari";
cmp_ok($ari, '>=', 0.65, "segments match the planted groups (ARI $ari >= 0.65)");

# each group's most common segment: distinct segments, describing the group
my %seg_of;
for my $row (split /\n/, $node->safe_psql('postgres', q{
SELECT DISTINCT ON (t.grp) t.grp, s.description, count(*) OVER (PARTITION BY t.grp, s.name)::float8
       / count(*) OVER (PARTITION BY t.grp)
FROM megamarket.customers c JOIN truth t USING (code) JOIN megamarket.segments s USING (segment_id)
WHERE s.name LIKE 'rfm-%'
ORDER BY t.grp, 3 DESC}))
{
	my ($grp, $descr, $share) = split /\|/, $row;
	$seg_of{$grp} = $descr;
	my $min = $grp eq 'ocasionales' ? 0.6 : 0.9;
	cmp_ok($share, '>=', $min, "most of $grp in one segment ($share >= $min)");
}
like($seg_of{perdidos}, qr/lapsed/, 'perdidos: lapsed');
unlike($seg_of{familias}, qr/lapsed/, 'familias: not lapsed');
like($seg_of{ocasionales}, qr/occasional/, 'ocasionales: occasional');
like($seg_of{diarios}, qr/frequent/, 'diarios: frequent');
is(scalar(keys %{ { map { $_ => 1 } values %seg_of } }), 4, 'each group has its own segment');

# the ocasionales in the perdidos' segment have lapsed indeed
my $lapsed_ocasionales = $node->safe_psql('postgres', q{
WITH seg AS (SELECT c.segment_id, t.grp, c.customer_id FROM megamarket.customers c JOIN truth t USING (code)
             JOIN megamarket.segments s USING (segment_id) WHERE s.name LIKE 'rfm-%'),
lost AS (SELECT segment_id FROM seg WHERE grp = 'perdidos' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1),
last AS (SELECT customer_id, max(d.date) AS last_day FROM megamarket.sales JOIN megamarket.dates d USING (date_id)
         GROUP BY 1)
SELECT count(*) || '|' || round(avg((SELECT max(date) FROM megamarket.dates d JOIN megamarket.sales USING (date_id)) - last.last_day))
FROM seg JOIN lost USING (segment_id) JOIN last USING (customer_id) WHERE seg.grp = 'ocasionales'});
my ($n_lapsed, $recency) = split /\|/, $lapsed_ocasionales;
note "$n_lapsed ocasionales in the perdidos' segment, last purchase $recency days before the end on average";
cmp_ok($recency, '>', 365, 'they have not bought for over a year');

# re-running changes nothing
my $state = q{SELECT string_agg(customer_id || ':' || coalesce(segment_id, 0), ',' ORDER BY customer_id)
FROM megamarket.customers};
my $before = $node->safe_psql('postgres', $state);
$node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.segment_customers(4)');
is($node->safe_psql('postgres', $state), $before, 're-running segment_customers changes no customer');

$node->stop;
done_testing();
