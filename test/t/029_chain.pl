# The chain module's SQL functions against the real anvil that scripts/test
# starts: eth_rpc reads (chain id, accounts, nonces), a transaction anvil
# signs itself read back through eth_decode_transaction (anvil's signer
# against our decoder and sender recovery), node errors as SQLSTATE 38000,
# an unreachable node as 08001 with libcurl's text, privileges, and a cancel
# and a statement_timeout while a node keeps silent.
use strict;
use warnings;
use IO::Socket::INET;
use FindBin;
use lib $FindBin::Bin;
use CancelTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $url = $ENV{MEGAMARKET_TEST_ETH_RPC_URL};
plan skip_all => 'MEGAMARKET_TEST_ETH_RPC_URL is not set (run scripts/test)'
  unless $url;

my $node = PostgreSQL::Test::Cluster->new('chain');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION megamarket');

sub rpc_sql
{
	my ($method, $params) = @_;
	$params //= '[]';
	return $node->safe_psql('postgres',
		"SELECT megamarket.eth_rpc('$url', '$method', '$params')");
}

note 'reads';
is(rpc_sql('eth_chainId'), '"0x7a69"', 'eth_chainId is 31337 as a jsonb string');
my $accounts = $node->safe_psql('postgres', qq{
	SELECT string_agg(megamarket.eth_address_checksum(a), ' ' ORDER BY n)
	FROM jsonb_array_elements_text(megamarket.eth_rpc('$url', 'eth_accounts')) WITH ORDINALITY AS t(a, n)});
my @acc = split / /, $accounts;
is(scalar @acc, 10, 'ten accounts');
is($acc[0], '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
	'account 0 checksummed is the address anvil publishes');
like(
	$node->safe_psql('postgres', qq{
		SELECT megamarket.eth_rpc('$url', 'eth_getTransactionCount',
			jsonb_build_array('$acc[8]', 'latest')) #>> '{}'}),
	qr/^0x[0-9a-f]+$/,
	'eth_getTransactionCount answers a quantity');

note 'a transaction signed by anvil, decoded by us';
my $hash = $node->safe_psql('postgres', qq{
	SELECT megamarket.eth_rpc('$url', 'eth_sendTransaction',
		jsonb_build_array(jsonb_build_object('from', '$acc[8]', 'to', '$acc[9]',
			'value', '0x2a', 'data', '0xdeadbeef'))) #>> '{}'});
like($hash, qr/^0x[0-9a-f]{64}$/, 'eth_sendTransaction gives a hash');
my $raw;
for (1 .. 250)
{
	$raw = $node->safe_psql('postgres', qq{
		SELECT megamarket.eth_rpc('$url', 'eth_getRawTransactionByHash', jsonb_build_array('$hash')) #>> '{}'});
	last if $raw =~ /^0x/;
	usleep(20_000);
}
like($raw, qr/^0x[0-9a-f]+$/, 'anvil gives the raw bytes back');
is( $node->safe_psql('postgres', qq{
		SELECT concat_ws(' ', "from" = '$acc[8]', "to" = '$acc[9]', value, encode(data, 'hex'),
			'0x' || encode(hash, 'hex') = '$hash', chain_id)
		FROM megamarket.eth_decode_transaction(decode(substr('$raw', 3), 'hex'))}),
	't t 42 deadbeef t 31337',
	'our decoder reads anvil\'s transaction: sender recovered, fields, hash');

note 'node errors: 38000 with the node\'s message';
# EIP-155's example transaction is signed for chain id 1 by an account with
# no funds here (anvil names the funds first)
my $eip155 = '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';
my ($ret, $out, $err) = $node->psql('postgres', qq{
	\\set VERBOSITY verbose
	SELECT megamarket.eth_rpc('$url', 'eth_sendRawTransaction', jsonb_build_array('$eip155'))});
isnt($ret, 0, 'a transaction for another chain fails');
like($err, qr/ERROR:  38000: eth_rpc: Ethereum node rejected eth_sendRawTransaction: .*(chain id|[Ii]nsufficient funds)/,
	'... with 38000 and the node\'s words');
like($err, qr/DETAIL:  JSON-RPC error code -?\d+/, '... and the JSON-RPC code as detail');
($ret, $out, $err) = $node->psql('postgres', qq{
	\\set VERBOSITY verbose
	SELECT megamarket.eth_rpc('$url', 'eth_noSuchMethod')});
like($err, qr/ERROR:  38000: eth_rpc: Ethereum node rejected eth_noSuchMethod/, 'unknown method: 38000');
($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT megamarket.eth_rpc('$url', 'eth_sendRawTransaction', '["0x00"]')});
like($err, qr/ERROR:  eth_rpc: Ethereum node rejected eth_sendRawTransaction/, 'undecodable raw bytes: a node error');

note 'unreachable node: 08001, libcurl\'s text, no secrets';
($ret, $out, $err) = $node->psql('postgres', q{
	\set VERBOSITY verbose
	SELECT megamarket.eth_rpc('http://me:hunter2@127.0.0.1:1/v3/0123456789abcdef', 'eth_chainId')});
like($err, qr/ERROR:  08001: eth_rpc: could not connect to Ethereum node at "http:\/\/127\.0\.0\.1:1"/,
	'08001 naming the node');
like($err, qr/DETAIL:  Failed to connect to 127\.0\.0\.1 port 1/, 'libcurl\'s text as detail');
unlike($err, qr/hunter2|0123456789abcdef/, 'user info and path stay out of the error');

note 'privileges';
$node->safe_psql('postgres', 'CREATE ROLE regress_chain_user LOGIN');
($ret, $out, $err) = $node->psql('postgres',
	"SET ROLE regress_chain_user; SELECT megamarket.eth_rpc('$url', 'eth_chainId')");
like($err, qr/permission denied for function eth_rpc/, 'eth_rpc is not for PUBLIC');
is($node->safe_psql('postgres',
		"SET ROLE regress_chain_user; SELECT encode(megamarket.eth_keccak256(''), 'hex')"),
	'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
	'the pure functions are');
$node->safe_psql('postgres',
	'GRANT EXECUTE ON FUNCTION megamarket.eth_rpc(text, text, jsonb, integer) TO regress_chain_user');
is($node->safe_psql('postgres',
		"SET ROLE regress_chain_user; SELECT megamarket.eth_rpc('$url', 'eth_chainId')"),
	'"0x7a69"', 'granted, it works');

note 'a silent node: statement_timeout and pg_cancel_backend stop the wait';
# a listening socket that never accepts: the kernel completes the connection,
# nobody ever answers
my $silent = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
	Proto => 'tcp') or die "listen: $!";
my $silent_url = 'http://127.0.0.1:' . $silent->sockport . '/';

my $session = $node->background_psql('postgres', on_error_stop => 0);
my $monitor = $node->background_psql('postgres');
my $pid = $session->query_safe('SELECT pg_backend_pid()');

$session->query_safe('SET statement_timeout = 500');
my $t0 = time;
$session->{stderr} = '';
$session->query_until(qr/started/, "\\echo started\nSELECT megamarket.eth_rpc('$silent_url', 'eth_chainId', '[]', 60000);\n");
like(wait_error($session), qr/ERROR:  canceling statement due to statement timeout/,
	'statement_timeout ends the wait for a silent node');
my $took = time - $t0;
note sprintf('timed out after %.2f s', $took);
cmp_ok($took, '<', 3.5, 'within 3 s of the 0.5 s timeout (the RPC timeout was 60 s)');
$session->{stderr} = '';
$session->query_safe('RESET statement_timeout');

$session->query_until(qr/started/, "\\echo started\nSELECT megamarket.eth_rpc('$silent_url', 'eth_chainId', '[]', 60000);\n");
my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
$timer->start;
until ($monitor->query_safe(
		"SELECT state = 'active' AND query LIKE 'SELECT megamarket.eth_rpc%' FROM pg_stat_activity WHERE pid = $pid") eq 't')
{
	die 'the call never showed up in pg_stat_activity' if $timer->is_expired;
	usleep(5_000);
}
usleep(200_000);
$t0 = time;
$monitor->query_safe("SELECT pg_cancel_backend($pid)");
like(wait_error($session), qr/ERROR:  canceling statement due to user request/,
	'pg_cancel_backend ends the wait');
cmp_ok(time - $t0, '<', 3, 'within 3 s');
$session->{stderr} = '';
is($session->query_safe("SELECT megamarket.eth_rpc('$url', 'eth_chainId')"), '"0x7a69"',
	'the session calls the real node again afterwards');

$session->quit;
$monitor->quit;
$node->stop;
done_testing();
