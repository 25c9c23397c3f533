# Helpers shared by the loyalty TAP tests: JSON-RPC to anvil (an independent
# client: HTTP::Tiny + JSON::PP, not our C code), a cluster with the
# dispatcher, the signer key file, and the ledger-versus-chain check.
package LoyaltyTest;
use strict;
use warnings;
use Cwd ();
use HTTP::Tiny;
use JSON::PP;
use Math::BigInt;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter 'import';
our @EXPORT = qw(rpc loyalty_node key_file balance_of check_ledger wait_all_settled
  start_anvil stop_anvil
  $SIGNER_KEY $SIGNER_ADDRESS);

# anvil's development account #1 (the contract tests use #6..#9)
our $SIGNER_KEY = '59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
our $SIGNER_ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

my $http = HTTP::Tiny->new(timeout => 30);
my $id = 0;

sub rpc
{
	my ($url, $method, @params) = @_;
	my $res = $http->post(
		$url,
		{
			headers => { 'content-type' => 'application/json' },
			content => encode_json(
				{ jsonrpc => '2.0', id => ++$id, method => $method, params => \@params })
		});
	die "$method: HTTP $res->{status} $res->{reason}\n" unless $res->{success};
	my $body = decode_json($res->{content});
	die "$method: $body->{error}{message}\n" if $body->{error};
	return $body->{result};
}

# The signer key in a file of mode $mode (0600 by default).
sub key_file
{
	my ($dir, $name, $mode, $key) = @_;
	my $path = "$dir/$name";
	open my $fh, '>', $path or die "$path: $!";
	print $fh ($key // $SIGNER_KEY), "\n";
	close $fh;
	chmod($mode // 0600, $path);
	return $path;
}

# A cluster preloading megamarket with the dispatcher on database postgres.
sub loyalty_node
{
	my ($name, $url, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $dir = Cwd::abs_path(PostgreSQL::Test::Utils::tempdir);
	my $key = key_file($dir, 'signer.key', 0600, $opt{key});
	my $workers = exists $opt{workers} ? $opt{workers} : 'postgres';
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'megamarket'
megamarket.dispatcher_databases = '$workers'
megamarket.eth_rpc_url = '$url'
megamarket.eth_chain_id = 31337
megamarket.signer_key_file = '$key'
megamarket.dispatcher_naptime = 200ms
max_worker_processes = 16
restart_after_crash = on
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');
	return ($node, $dir, $key);
}

# getPointsBalance(address) read with eth_call by this client
sub balance_of
{
	my ($url, $contract, $address) = @_;
	(my $a = lc $address) =~ s/^0x//;
	my $data = '0xe707f36f' . ('0' x 24) . $a;    # getPointsBalance(address)
	my $r = rpc($url, 'eth_call', { to => $contract, data => $data }, 'latest');
	return Math::BigInt->from_hex($r)->bstr;
}

# A private anvil (for stop and restart): on $port, keeping its chain in
# $state across restarts (anvil dumps it when stopped with SIGTERM).
sub start_anvil
{
	my ($port, $state, $log) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		setpgrp(0, 0);
		open STDOUT, '>>', $log or die;
		open STDERR, '>&', \*STDOUT or die;
		exec('node_modules/.bin/anvil', '--host', '127.0.0.1', '--port', $port, '--chain-id', '31337',
			'--state', $state) or die "anvil: $!";
	}
	my $url = "http://127.0.0.1:$port";
	for (1 .. 100)
	{
		my $ok = eval { rpc($url, 'eth_chainId'); 1 };
		return $pid if $ok;
		select(undef, undef, undef, 0.1);
	}
	die "anvil did not start on port $port";
}

sub stop_anvil
{
	my ($pid) = @_;
	kill 'TERM', $pid;
	waitpid($pid, 0);
}

sub wait_all_settled
{
	my ($node, $what) = @_;
	my $ok = $node->poll_query_until('postgres', q{
SELECT NOT EXISTS (SELECT 1 FROM megamarket.loyalty_awards WHERE state NOT IN ('confirmed', 'failed'))
   AND NOT EXISTS (SELECT 1 FROM megamarket.loyalty_customers WHERE state NOT IN ('confirmed', 'failed'))
   AND NOT EXISTS (SELECT 1 FROM megamarket.loyalty_transactions WHERE state IN ('signed', 'sent'))});
	ok($ok, "$what: every award and registration settled");
	return $ok;
}

# The invariants of every run: each customer's balance on chain equals the
# points of the confirmed awards in the database and $expected (a planted
# truth computed by the test, when given); the signer's nonces are gap-free
# and the node's count is one past the last.
sub check_ledger
{
	my ($node, $url, $contract, $expected, $what, $foreign) = @_;
	my %db = map { my @f = split /\|/; ($f[0] => [ $f[1], $f[2] ]) }
	  split /\n/, $node->safe_psql('postgres',
		'SELECT customer_id, address, confirmed_points FROM megamarket.loyalty_ledger');
	my @bad;
	for my $c (sort { $a <=> $b } keys %db)
	{
		my $chain = balance_of($url, $contract, $db{$c}[0]);
		push @bad, "customer $c: chain $chain, database $db{$c}[1]" if $chain ne $db{$c}[1];
		push @bad, "customer $c: chain $chain, planted $expected->{$c}"
		  if $expected && $chain ne ($expected->{$c} // 0);
	}
	is(scalar(@bad), 0, "$what: chain balances equal confirmed awards for " . scalar(keys %db) . ' customers')
	  or diag join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

	my ($n, $min, $max, $sender) = split /\|/, $node->safe_psql('postgres', q{
SELECT count(*), min(nonce), max(nonce), min(sender) FROM megamarket.loyalty_transactions WHERE state <> 'dropped'});
	# $foreign: nonces the test itself used from the signer's account
	is($max - $min + 1, $n + ($foreign // 0), "$what: nonces $min..$max without gap or repeat");
	is(hex(rpc($url, 'eth_getTransactionCount', $sender, 'latest')), $max + 1,
		"$what: the node's nonce of the signer is one past the last recorded");
	is($node->safe_psql('postgres', q{
SELECT count(*) FROM megamarket.loyalty_awards a JOIN megamarket.loyalty_transactions t USING (tx_id)
 WHERE a.state = 'confirmed' AND t.state <> 'confirmed'}), '0', "$what: confirmed awards sit in confirmed transactions");
}

1;
