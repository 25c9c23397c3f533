# The local Ethereum node the harness starts (scripts/test): anvil answers
# JSON-RPC on loopback with the chain id and funded accounts the loyalty
# tests will use.
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use Test::More;

my $url = $ENV{MEGAMARKET_TEST_ETH_RPC_URL};
plan skip_all => 'MEGAMARKET_TEST_ETH_RPC_URL is not set (run scripts/test)'
  unless $url;

my $http = HTTP::Tiny->new(timeout => 10);
my $id = 0;

sub rpc
{
	my ($method, @params) = @_;
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

note 'anvil at ', $url;
like($url, qr{^http://127\.0\.0\.1:\d+$}, 'node listens on loopback only');
is(hex(rpc('eth_chainId')), 31337, 'chain id is 31337');

my $accounts = rpc('eth_accounts');
is(scalar @$accounts, 10, 'ten funded dev accounts');
like($accounts->[0], qr/^0x[0-9a-f]{40}$/, 'accounts are 20-byte addresses');
unlike(rpc('eth_getBalance', $accounts->[0], 'latest'), qr/^0x0*$/, 'first account is funded');

# A block can be mined on demand, so tests never wait for wall-clock time.
my $before = hex(rpc('eth_blockNumber'));
rpc('evm_mine');
is(hex(rpc('eth_blockNumber')), $before + 1, 'evm_mine advances one block');

done_testing();
