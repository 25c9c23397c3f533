# Loyalty end to end on the harness's anvil: deploy the contract from SQL,
# register 500 customers, award 10,000 purchases through the outbox and the
# dispatcher worker; every balance on chain equals the confirmed awards and
# a planted truth computed here. Then bad input: keys, chain id, node,
# addresses, amounts; a revert reason on an award; rollback; privileges.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use LoyaltyTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $url = $ENV{MEGAMARKET_TEST_ETH_RPC_URL};
plan skip_all => 'MEGAMARKET_TEST_ETH_RPC_URL is not set (run scripts/test)' unless $url;

my ($node, $dir, $key) = LoyaltyTest::loyalty_node('loyalty', $url);

sub reload_with
{
	my (%set) = @_;
	for my $k (sort keys %set)
	{
		if (defined $set{$k}) { $node->safe_psql('postgres', "ALTER SYSTEM SET megamarket.$k = '$set{$k}'") }
		else { $node->safe_psql('postgres', "ALTER SYSTEM RESET megamarket.$k") }
	}
	$node->reload;
	# a new backend sees the reloaded file
	$node->poll_query_until('postgres', 'SELECT true') or die;
}

sub psql_err
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return $err;
}

note 'the key file, the chain id and the node are checked before anything is signed';
my $loose = LoyaltyTest::key_file($dir, 'loose.key', 0644);
reload_with(signer_key_file => $loose);
like(psql_err('SELECT megamarket.loyalty_deploy()'),
	qr/F0000: signer key file ".*loose.key" has group or world access.*\n.*DETAIL:  File must have permissions u=rw \(0600\) or less/,
	'a world-readable key file is refused (F0000)');
reload_with(signer_key_file => "$dir/missing.key");
like(psql_err('SELECT megamarket.loyalty_deploy()'),
	qr/F0000: could not open signer key file ".*missing.key": No such file/, 'a missing key file is refused');
my $garbage = LoyaltyTest::key_file($dir, 'garbage.key', 0600, 'not a key at all');
reload_with(signer_key_file => $garbage);
my $err = psql_err('SELECT megamarket.loyalty_deploy()');
like($err, qr/F0000: signer key file ".*garbage.key" does not hold a valid private key/, 'a key file without a key is refused');
reload_with(signer_key_file => $key, eth_chain_id => 1);
like(psql_err('SELECT megamarket.loyalty_deploy()'),
	qr/55000: Ethereum node at "http:\/\/127.0.0.1:\d+" is on chain 31337, not megamarket.eth_chain_id 1/,
	'a wrong chain id: nothing is signed');
reload_with(eth_chain_id => 31337, eth_rpc_url => 'http://127.0.0.1:1');
like(psql_err('SELECT megamarket.loyalty_deploy()'), qr/08001: .*could not connect|08001/,
	'an unreachable node: 08001');
reload_with(eth_rpc_url => $url);
like(psql_err("SET megamarket.signer_key_file = '/etc/passwd'"), qr/55P02|cannot be changed now/,
	'the key file cannot be set in a session');
is($node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.loyalty_transactions'), '0',
	'the failed attempts signed nothing');

note 'deploy';
my $contract = $node->safe_psql('postgres', 'SELECT megamarket.loyalty_deploy()');
like($contract, qr/^0x[0-9a-fA-F]{40}$/, "deployed at $contract");
isnt(rpc($url, 'eth_getCode', $contract, 'latest'), '0x', 'there is code at that address');
is(lc(rpc($url, 'eth_call', { to => $contract, data => '0x8da5cb5b' }, 'latest')),
	'0x' . ('0' x 24) . lc(substr($SIGNER_ADDRESS, 2)), 'its owner is the signer');
is($node->safe_psql('postgres', q{SELECT kind || ' ' || state || ' ' || (gas_used > 0)::text FROM megamarket.loyalty_transactions}),
	'deploy confirmed true', 'the deployment is recorded with its receipt');
reload_with(loyalty_contract => $contract);

note 'register 500 customers, award 10,000 purchases';
$node->safe_psql('postgres', q{
INSERT INTO megamarket.customers (code, name)
SELECT 'C' || i, 'Cliente ' || i FROM generate_series(1, 500) i;
SELECT megamarket.loyalty_register(customer_id, '0x' || substr(md5('wallet' || customer_id), 1, 20) || substr(md5('w' || customer_id), 1, 20))
  FROM megamarket.customers ORDER BY customer_id;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.customers WHERE wallet_address IS NOT NULL}),
	'500', 'the wallet addresses are in the customers dimension');

# planted truth: amounts made here, points computed here (floor * 10)
my (%expected, @values);
my $seed = 12345;
for my $i (1 .. 10000)
{
	$seed = ($seed * 1103515245 + 12345) % 2147483648;
	my $cust = 1 + $seed % 500;
	$seed = ($seed * 1103515245 + 12345) % 2147483648;
	my $cents = $seed % 20000;    # 0.00 .. 199.99
	my $amount = sprintf('%d.%02d', int($cents / 100), $cents % 100);
	$expected{$cust} += 10 * int($cents / 100);
	push @values, "($cust, $amount)";
}
my $t0 = time;
# in 20 transactions of 500, as a till would commit them
for my $k (0 .. 19)
{
	$node->safe_psql('postgres', 'SELECT count(megamarket.loyalty_award(c, a)) FROM (VALUES '
		  . join(',', @values[ $k * 500 .. $k * 500 + 499 ]) . ') v(c, a)');
}
my $awards = $node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.loyalty_awards');
my $under_one = grep { /, 0\.\d\d\)$/ } @values;
is($awards, 10000 - $under_one, "10,000 purchases: $awards awards queued ($under_one under one unit give none)");
wait_all_settled($node, '10,000 awards');
note 'settled in ', time - $t0, ' s';
is($node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.loyalty_awards WHERE state <> 'confirmed'}), '0',
	'every award confirmed');
check_ledger($node, $url, $contract, \%expected, '10,000 awards');
is($node->safe_psql('postgres', 'SELECT megamarket.loyalty_balance(7)'), $expected{7} // 0,
	'loyalty_balance agrees');
cmp_ok($node->safe_psql('postgres', q{SELECT max(item_count) FROM megamarket.loyalty_transactions WHERE kind = 'award'}),
	'>', 1, 'awards were batched');

note 'bad input to the SQL API';
like(psql_err('SELECT megamarket.loyalty_award(9999, 10)'),
	qr/23503: customer 9999 is not registered for loyalty points/, 'unregistered customer');
like(psql_err('SELECT megamarket.loyalty_award(1, -5)'), qr/22023: purchase amount of customer 1 is negative/,
	'negative amount');
like(psql_err(q{SELECT megamarket.loyalty_award(1, 'NaN')}), qr/22023: .*NaN/, 'NaN amount');
like(psql_err('SELECT megamarket.loyalty_award(1, 1e13)'), qr/22003: purchase amount of customer 1 is too large/,
	'huge amount');
is($node->safe_psql('postgres', 'SELECT megamarket.loyalty_award(1, 0.99) IS NULL'), 't',
	'under one unit: no award');
$node->safe_psql('postgres', q{INSERT INTO megamarket.customers (code, name) VALUES ('X1', 'x'), ('X2', 'y')});
like(psql_err(q{SELECT megamarket.loyalty_register(501, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD')}),
	qr/22P02/, 'an address with a wrong EIP-55 checksum');
like(psql_err(q{SELECT megamarket.loyalty_register(501, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae')}),
	qr/22P02/, 'a short address');
like(psql_err(q{SELECT megamarket.loyalty_register(501, 'hello')}), qr/22P02/, 'not an address');
like(psql_err(q{SELECT megamarket.loyalty_register(501, '0x0000000000000000000000000000000000000000')}),
	qr/22023: loyalty address of customer 501 is the zero address/, 'the zero address');
like(psql_err(q{SELECT megamarket.loyalty_register(1, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')}),
	qr/23505: customer 1 is already registered/, 'registered twice');
like(psql_err(q{SELECT megamarket.loyalty_register(99999, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')}),
	qr/23503: customer 99999 does not exist/, 'no such customer');
is($node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.loyalty_customers}), '500', 'nothing registered by bad input');

note 'a rolled-back award never reaches the chain';
my $before = balance_of($url, $contract, $node->safe_psql('postgres', 'SELECT address FROM megamarket.loyalty_customers WHERE customer_id = 3'));
$node->safe_psql('postgres', 'BEGIN; SELECT megamarket.loyalty_award(3, 1000); ROLLBACK;');
$node->safe_psql('postgres', 'SELECT megamarket.loyalty_award(4, 1)');
wait_all_settled($node, 'after a rollback');
is(balance_of($url, $contract, $node->safe_psql('postgres', 'SELECT address FROM megamarket.loyalty_customers WHERE customer_id = 3')),
	$before, 'the rolled-back award is not on chain');

note 'a revert: a new contract where the customers are not registered';
my $contract2 = $node->safe_psql('postgres', 'SELECT megamarket.loyalty_deploy()');
reload_with(loyalty_contract => $contract2);
$node->safe_psql('postgres', q{SELECT megamarket.loyalty_award(c, 5) FROM generate_series(10, 12) c});
wait_all_settled($node, 'awards on a contract without the customers');
is($node->safe_psql('postgres', q{SELECT string_agg(state || ': ' || revert_reason, ', ') FROM megamarket.loyalty_awards WHERE award_id > (SELECT max(award_id) - 3 FROM megamarket.loyalty_awards)}),
	'failed: customer not registered, failed: customer not registered, failed: customer not registered',
	'the batch reverted, each award retried alone and failed with the revert reason');
is($node->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE item_count = 1) || ' ' || bool_and(revert_reason = 'customer not registered') FROM megamarket.loyalty_transactions WHERE state = 'failed'}),
	'3 true', 'the failed transactions (batches and three singles) keep the reason');
reload_with(loyalty_contract => $contract);
check_ledger($node, $url, $contract, undef, 'after the reverts');

note 'the procedure';
like(psql_err('BEGIN; CALL megamarket.loyalty_dispatch(); COMMIT;'),
	qr/25001: megamarket.loyalty_dispatch\(\) cannot run inside a transaction block/, 'CALL inside a transaction block');
like(psql_err('CALL megamarket.loyalty_dispatch()'), qr/another loyalty dispatcher is running/,
	'CALL while the worker runs: nothing to do');

note 'privileges';
$node->safe_psql('postgres', 'CREATE ROLE regress_clerk LOGIN');
for my $f ('loyalty_award(1, 1)', q{loyalty_register(502, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')},
	'loyalty_balance(1)', 'loyalty_deploy()')
{
	like(psql_err("SET ROLE regress_clerk; SELECT megamarket.$f"), qr/42501: permission denied for function/,
		"$f: not for PUBLIC");
}
like(psql_err('SET ROLE regress_clerk; CALL megamarket.loyalty_dispatch()'), qr/42501/, 'loyalty_dispatch: not for PUBLIC');
like(psql_err('SET ROLE regress_clerk; SELECT * FROM megamarket.loyalty_awards'), qr/42501/, 'the outbox: not for PUBLIC');
like(psql_err('SET ROLE regress_clerk; SHOW megamarket.signer_key_file'), qr/42501/, 'the key file path: superuser only');
$node->safe_psql('postgres', 'GRANT EXECUTE ON FUNCTION megamarket.loyalty_award(integer, numeric), megamarket.loyalty_balance(integer) TO regress_clerk');
my $id = $node->safe_psql('postgres', 'SET ROLE regress_clerk; SELECT megamarket.loyalty_award(5, 2)');
like($id, qr/^\d+$/, 'with the documented grant a clerk awards (SECURITY DEFINER: no table rights needed)');
wait_all_settled($node, 'the clerk\'s award');
like(psql_err('SET ROLE regress_clerk; SELECT megamarket.loyalty_deploy()'), qr/42501/, 'loyalty_deploy stays superuser-only');

note 'the key never shows';
my $log = slurp_file($node->logfile);
unlike($log, qr/$LoyaltyTest::SIGNER_KEY/i, 'the key is not in the server log');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%$LoyaltyTest::SIGNER_KEY%' AND pid <> pg_backend_pid()"),
	'0', 'nor in pg_stat_activity');

note 'DROP EXTENSION does not wait for the worker';
my $t = time;
$node->safe_psql('postgres', 'DROP EXTENSION megamarket CASCADE');
cmp_ok(time - $t, '<', 30, 'dropped while the dispatcher runs');
$node->safe_psql('postgres', 'SELECT pg_sleep(0.5)');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'megamarket dispatcher'}) == 1,
	'the dispatcher keeps running without the extension');

$node->stop;
done_testing();
