# apriori() on the chain's tickets against the truth planted by the demo
# generator: tools/mkworkbook adds the consequent of five rules to baskets
# holding the antecedent with a known probability and writes, in its
# manifest, how many tickets hold each side (counted while it wrote them).
# After import_workbook(), refresh_product_associations() must find every
# planted rule with exactly those counts, and its confidence must agree with
# the planted probability within sampling error. Then a cancel arriving
# while apriori is mining (not reading) stops it promptly.
use strict;
use warnings;
use JSON::PP;
use FindBin;
use lib $FindBin::Bin;
use CancelTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $mkworkbook = 'tools/mkworkbook';
-x $mkworkbook or BAIL_OUT("$mkworkbook is not built (make -C tools)");

my $node = PostgreSQL::Test::Cluster->new('apriori');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');

my $dir = PostgreSQL::Test::Utils::tempdir;
my ($xlsx, $json) = ("$dir/chain.xlsx", "$dir/chain.json");
system($mkworkbook, '--seed', '11', '--scale', 'medium', '--clean', $xlsx, $json) == 0
  or die 'mkworkbook failed';
my $m = do { open my $fh, '<:raw', $json or die $!; local $/; JSON::PP->new->decode(<$fh>) };
my @rules = @{ $m->{truth}{association_rules} };
ok(@rules >= 5, 'the manifest plants ' . scalar(@rules) . ' rules');

$node->safe_psql('postgres', "SELECT * FROM megamarket.import_workbook('$xlsx')");
my $tickets = $node->safe_psql('postgres', 'SELECT count(DISTINCT ticket_id) FROM megamarket.sales');
is($tickets, $rules[0]{realised}{tickets}, 'the warehouse holds the tickets the manifest counted');

# A support threshold under the weakest planted rule, a confidence under
# the smallest planted probability.
my $min_support = 1;
for my $r (@rules)
{
	$min_support = $r->{realised}{support} if $r->{realised}{support} < $min_support;
}
$min_support /= 2;
my $nrules = $node->safe_psql('postgres',
	"SELECT megamarket.refresh_product_associations($min_support, 0.3, 3, 1)");
note "refresh_product_associations($min_support, 0.3, 3, 1): $nrules rules";
cmp_ok($nrules, '>=', scalar(@rules), 'at least as many rules as were planted');

for my $r (@rules)
{
	my $ante = join(',', sort @{ $r->{antecedent} });
	my $cons = join(',', sort @{ $r->{consequent} });
	my $name = "{$ante} => {$cons}";
	my $real = $r->{realised};
	my $row = $node->safe_psql('postgres', qq{
		SELECT tickets, support, confidence, lift
		FROM megamarket.product_associations
		WHERE antecedent_skus = '{$ante}' AND consequent_skus = '{$cons}'});
	isnt($row, '', "$name found");
	my ($n, $support, $confidence, $lift) = split /\|/, $row;
	$n //= -1;
	is($n, $real->{rule_tickets}, "$name: tickets holding both sides as planted");
	ok(abs($support - $real->{rule_tickets} / $real->{tickets}) < 1e-12, "$name: support $support");
	ok(abs($confidence - $real->{rule_tickets} / $real->{antecedent_tickets}) < 1e-12,
		"$name: confidence $confidence");
	ok(abs($lift - $real->{lift}) < 1e-5, "$name: lift $lift (manifest $real->{lift})");

	# Against the planted probability p: a basket holding the antecedent
	# gets the consequent with p, or else has it on its own as often as the
	# baskets without the antecedent do (b, counted here). Expected
	# confidence p + (1 - p) b; four standard errors of a proportion over
	# the antecedent's tickets.
	my @ante_skus = @{ $r->{antecedent} };
	my $has_ante = join(' AND ',
		map { "EXISTS (SELECT 1 FROM megamarket.sales s2 JOIN megamarket.products p2 USING (product_id)
		               WHERE s2.ticket_id = t.ticket_id AND p2.sku = '$_')" } @ante_skus);
	my $b = $node->safe_psql('postgres', qq{
		WITH t AS (SELECT DISTINCT ticket_id FROM megamarket.sales),
		     c AS (SELECT DISTINCT s.ticket_id FROM megamarket.sales s JOIN megamarket.products p USING (product_id)
		           WHERE p.sku = '$cons')
		SELECT (count(*) FILTER (WHERE t.ticket_id IN (SELECT ticket_id FROM c)))::float8 / count(*)
		FROM t WHERE NOT ($has_ante)});
	my $p = $r->{add_probability};
	my $expected = $p + (1 - $p) * $b;
	my $se = sqrt($expected * (1 - $expected) / $real->{antecedent_tickets});
	cmp_ok(abs($confidence - $expected), '<=', 4 * $se,
		sprintf('%s: confidence %.4f, planted %.2f + (1 - %.2f) x base %.4f = %.4f (4 se = %.4f)',
			$name, $confidence, $p, $p, $b, $expected, 4 * $se));
}

# Every stored rule is right, not only the planted ones: recount a few from
# the sales by SQL.
my $bad = $node->safe_psql('postgres', q{
	WITH r AS (SELECT * FROM megamarket.product_associations ORDER BY antecedent_skus, consequent_skus LIMIT 40),
	     tk AS (SELECT s.ticket_id, array_agg(DISTINCT p.sku) AS skus
	            FROM megamarket.sales s JOIN megamarket.products p USING (product_id) GROUP BY 1)
	SELECT count(*) FROM r
	WHERE r.tickets <> (SELECT count(*) FROM tk WHERE tk.skus @> (r.antecedent_skus || r.consequent_skus))
	   OR abs(r.confidence - r.tickets::float8 / (SELECT count(*) FROM tk WHERE tk.skus @> r.antecedent_skus)) > 1e-12});
is($bad, 0, 'forty stored rules recounted from the sales agree');

note 'pg_cancel_backend while apriori is mining';
my $session = $node->background_psql('postgres', on_error_stop => 0);
my $monitor = $node->background_psql('postgres');
my $pid = $session->query_safe('SELECT pg_backend_pid()');
$session->query_safe("SET megamarket.mining_max_memory = '2GB'");
# 26 items in every one of 3 transactions: 2^26 - 1 frequent itemsets, read
# in no time, mined for many seconds (until the memory limit) if not stopped.
start_active($session, $monitor, $pid,
	"SELECT count(*) FROM megamarket.frequent_itemsets('SELECT t, i FROM generate_series(1, 3) t, generate_series(1, 26) i', 1, 26, max_itemsets => 1000000000000)",
	'%frequent_itemsets%');
usleep(300_000);
my $t0 = time;
is($monitor->query_safe("SELECT pg_cancel_backend($pid)"), 't', 'cancel sent');
wait_error($session);
like($session->{stderr}, qr/ERROR:  canceling statement due to user request/, 'the call ends with the cancel error');
my $took = time - $t0;
note sprintf('cancel took %.3f s', $took);
cmp_ok($took, '<', 3, 'the cancel is honoured within 3 s');
$session->{stderr} = '';
is($session->query_safe("SELECT count(*) FROM megamarket.frequent_itemsets('VALUES (1, 2)', 1)"), '1',
	'the session mines again after the cancel');

$session->quit;
$monitor->quit;
$node->stop;
done_testing();
