# Loyalty faults, each ending with the same checks: every award confirmed
# once, the chain's balances equal to the database's confirmed awards and to
# the points planted by this test, no nonce gap.
#   - kill -9 of the dispatcher worker after signing (before commit), after
#     the commit (before sending), after sending (before the receipt)
#   - kill -9 of a backend running CALL loyalty_dispatch() at the same points
#   - the node stopped for a while, then back on another port (SIGHUP)
#   - a transaction stuck without being mined: replaced with a higher fee
#   - the signer's nonce used by another transaction
#   - SIGTERM: a clean, prompt stop while the node is down
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Cwd ();
use LoyaltyTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'MEGAMARKET_TEST_ETH_RPC_URL is not set (run scripts/test)'
  unless $ENV{MEGAMARKET_TEST_ETH_RPC_URL};
plan skip_all => 'node_modules/.bin/anvil is missing (npm ci)' unless -x 'node_modules/.bin/anvil';

# our own anvil: this test stops and restarts it
my $adir = Cwd::abs_path(PostgreSQL::Test::Utils::tempdir);
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $anvil = start_anvil($port, "$adir/state.json", "$adir/anvil.log");
my $url = "http://127.0.0.1:$port";
# whatever happens, our anvil does not outlive the test
END { kill 'CONT', $anvil if $anvil; kill 'TERM', $anvil if $anvil; }

my ($node, $dir, $key) = LoyaltyTest::loyalty_node('faults', $url);
my %expected;
my $n_customers = 40;

sub reload_with
{
	my ($n, %set) = @_;
	for my $k (sort keys %set)
	{
		if (defined $set{$k}) { $n->safe_psql('postgres', "ALTER SYSTEM SET megamarket.$k = '$set{$k}'") }
		else { $n->safe_psql('postgres', "ALTER SYSTEM RESET megamarket.$k") }
	}
	$n->reload;
}

# n awards of planted amounts to customers 1..$n_customers
my $seq = 0;
sub award
{
	my ($n, $count, %opt) = @_;
	my @v;
	for (1 .. $count)
	{
		$seq++;
		my $c = 1 + ($seq * 7) % $n_customers;
		my $units = 1 + ($seq * 13) % 97;
		$opt{expected}{$c} += 10 * $units;
		push @v, "($c, $units.5)";
	}
	$n->safe_psql('postgres', 'SELECT count(megamarket.loyalty_award(c, a)) FROM (VALUES ' . join(',', @v) . ') v(c, a)');
}

sub setup
{
	my ($n, $expected) = @_;
	my $contract = $n->safe_psql('postgres', 'SELECT megamarket.loyalty_deploy()');
	reload_with($n, loyalty_contract => $contract);
	$n->safe_psql('postgres', qq{
INSERT INTO megamarket.customers (code, name) SELECT 'C' || i, 'n' || i FROM generate_series(1, $n_customers) i;
SELECT megamarket.loyalty_register(customer_id, '0x' || substr(md5('f' || customer_id), 1, 20) || substr(md5('g' || customer_id), 1, 20))
  FROM megamarket.customers});
	return $contract;
}

sub worker_pid
{
	my ($n) = @_;
	my $pid;
	$n->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'megamarket dispatcher'})
	  or die 'no dispatcher';
	return $n->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'megamarket dispatcher'});
}

my $contract = setup($node);
wait_all_settled($node, 'setup');

note 'kill -9 of the worker at each point of its round';
for my $point (qw(after_sign after_commit after_send))
{
	my $log_offset = -s $node->logfile;
	reload_with($node, loyalty_debug_pause => $point);
	$node->poll_query_until('postgres', 'SELECT true');
	award($node, 150, expected => \%expected);
	$node->wait_for_log(qr/paused at $point/, $log_offset);
	my $state = $node->safe_psql('postgres', q{SELECT string_agg(DISTINCT state, ',') FROM megamarket.loyalty_awards WHERE state <> 'confirmed'});
	note "awards not confirmed at the pause: $state";
	# the paused worker reads no settings; the one started after the crash
	# gets the postmaster's, reloaded here without the pause
	reload_with($node, loyalty_debug_pause => undef);
	$node->safe_psql('postgres', 'SELECT pg_sleep(0.3)');
	my $pid = worker_pid($node);
	kill 'KILL', $pid;
	$node->poll_query_until('postgres', 'SELECT true');    # crash restart done
	wait_all_settled($node, "worker killed $point");
	check_ledger($node, $url, $contract, \%expected, "worker killed $point");
}

note 'the node stops for a while, then comes back on another port';
my $log_offset = -s $node->logfile;
stop_anvil($anvil);
award($node, 200, expected => \%expected);
$node->wait_for_log(qr/megamarket dispatcher: .*(could not connect|Connection refused|connect)/i, $log_offset);
ok($node->poll_query_until('postgres', q{SELECT last_error IS NOT NULL FROM megamarket.loyalty_signers}),
	'the node error is recorded in loyalty_signers.last_error');
is($node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.loyalty_awards WHERE state = 'confirmed' AND award_id > (SELECT max(award_id) - 200 FROM megamarket.loyalty_awards)}),
	'0', 'nothing confirmed while the node is down');
my $port2 = PostgreSQL::Test::Cluster::get_free_port();
$anvil = start_anvil($port2, "$adir/state.json", "$adir/anvil.log");
$url = "http://127.0.0.1:$port2";
reload_with($node, eth_rpc_url => $url);    # SIGHUP: the worker reads it
wait_all_settled($node, 'node back');
$node->wait_for_log(qr/the node answers again/, $log_offset);
check_ledger($node, $url, $contract, \%expected, 'node stopped and restarted');
is($node->safe_psql('postgres', q{SELECT last_error FROM megamarket.loyalty_signers}), '', 'last_error cleared');

note 'a transaction that is not mined is replaced with a higher fee';
reload_with($node, loyalty_replace_after => '1s');
rpc($url, 'evm_setAutomine', JSON::PP::false);
$log_offset = -s $node->logfile;
award($node, 30, expected => \%expected);
$node->wait_for_log(qr/had no receipt after \d+ ms: replaced by 0x[0-9a-f]{64}/, $log_offset);
rpc($url, 'evm_setAutomine', JSON::PP::true);
rpc($url, 'evm_mine');
wait_all_settled($node, 'replacement');
cmp_ok($node->safe_psql('postgres', q{SELECT max(attempts) FROM megamarket.loyalty_transactions}), '>', 1,
	'a transaction has several attempts (same nonce)');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM megamarket.loyalty_transactions t
 WHERE t.attempts > 1 AND t.tx_hash <> (SELECT x.tx_hash FROM megamarket.loyalty_tx_attempts x WHERE x.tx_id = t.tx_id AND x.attempt = 1)}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.loyalty_transactions WHERE attempts > 1}),
	'the mined attempt is a replacement');
check_ledger($node, $url, $contract, \%expected, 'replacement');
reload_with($node, loyalty_replace_after => undef);

note 'the signer\'s next nonce used by another transaction';
rpc($url, 'anvil_impersonateAccount', $SIGNER_ADDRESS);
my $h = rpc($url, 'eth_sendTransaction', { from => $SIGNER_ADDRESS, to => $SIGNER_ADDRESS, value => '0x1' });
ok($h, 'a transfer from the signer\'s account, outside megamarket');
$log_offset = -s $node->logfile;
award($node, 20, expected => \%expected);
wait_all_settled($node, 'nonce taken');
is($node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.loyalty_transactions WHERE state = 'dropped'}), '1',
	'the transaction that lost its nonce is dropped, its awards signed again');
check_ledger($node, $url, $contract, \%expected, 'nonce taken', 1);

note 'kill -9 of a backend in CALL loyalty_dispatch() (a second cluster, no worker, signer #2)';
my $key2 = '5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
my ($node2) = LoyaltyTest::loyalty_node('procedure', $url, workers => '', key => $key2);
my %expected2;
my $contract2 = setup($node2);
$node2->safe_psql('postgres', 'CALL megamarket.loyalty_dispatch()') for 1 .. 3;
for my $point (qw(after_sign after_commit after_send))
{
	my $off = -s $node2->logfile;
	award($node2, 120, expected => \%expected2);
	my $bg = $node2->background_psql('postgres', on_error_stop => 0);
	$bg->query_until(qr/started/, qq{SET megamarket.loyalty_debug_pause = '$point';\n\\echo started\nCALL megamarket.loyalty_dispatch();\n});
	$node2->wait_for_log(qr/paused at $point/, $off);
	my $pid = $node2->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL megamarket.loyalty_dispatch%' AND pid <> pg_backend_pid()});
	kill 'KILL', $pid;
	eval { $bg->quit };
	$node2->poll_query_until('postgres', 'SELECT true');
	for (1 .. 50)
	{
		$node2->safe_psql('postgres', 'CALL megamarket.loyalty_dispatch()');
		last if $node2->safe_psql('postgres', q{SELECT count(*) FROM megamarket.loyalty_awards WHERE state <> 'confirmed'}) eq '0';
	}
	wait_all_settled($node2, "backend killed $point");
	check_ledger($node2, $url, $contract2, \%expected2, "backend killed $point");
}

note 'cancel: a call to a node that does not answer is interrupted at once';
kill 'STOP', $anvil;
my $t0 = time;
my ($ret, $out, $err) = $node->psql('postgres', "SET statement_timeout = '1s'; SELECT megamarket.loyalty_balance(1)",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/57014: canceling statement due to statement timeout/, 'loyalty_balance is cancelled (57014)');
cmp_ok(time - $t0, '<', 6, 'well before the 10 s request timeout');
kill 'CONT', $anvil;

note 'SIGTERM stops the worker promptly, even in back-off';
stop_anvil($anvil);
$anvil = undef;
award($node, 5, expected => \%expected);
$node->safe_psql('postgres', 'SELECT pg_sleep(1)');
my $t = time;
$node->stop('fast');
cmp_ok(time - $t, '<', 20, 'the server stopped while the dispatcher backed off');
unlike(slurp_file($node->logfile), qr/megamarket dispatcher.*(was terminated by signal 11|PANIC)|TRAP:/,
	'no crash of the dispatcher in the log');
unlike(slurp_file($node->logfile), qr/$LoyaltyTest::SIGNER_KEY/i, 'the key is not in the log');
$node2->stop;
done_testing();
