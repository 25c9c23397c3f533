# The loyalty contract's own tests (contracts/test/*.test.js: node:test and
# ethers against the harness's anvil): every function and every revert, and
# the committed artifact equal to a fresh solc-js compile.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use Test::More;

my $root = abs_path(dirname(__FILE__) . '/../..');
plan skip_all => 'MEGAMARKET_TEST_ETH_RPC_URL is not set (run scripts/test)'
  unless $ENV{MEGAMARKET_TEST_ETH_RPC_URL};
plan skip_all => 'node_modules/ethers is missing (npm ci)'
  unless -d "$root/node_modules/ethers";

my $out = `cd '$root' && node --test --test-timeout=120000 contracts/test/ 2>&1`;
my $rc = $? >> 8;
note $out;
is($rc, 0, 'node --test contracts/test/ passes');
like($out, qr/^# fail 0$/m, 'no contract test failed');
done_testing();
