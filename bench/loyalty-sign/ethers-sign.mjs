// ethers-sign.mjs: ethers.js (npm ethers, pinned) signing the same
// transactions signbench signs in C: type 2, awardPoints and
// awardPointsBatch of 10 and 100, chain id 31337, a new nonce each time.
// Prints ETHERS_<CASE>=<tx/s> lines for bench/loyalty-sign.
//
//   node bench/loyalty-sign/ethers-sign.mjs [SECONDS]
import { Interface, SigningKey, Transaction, hexlify, version } from 'ethers';

const seconds = Number(process.argv[2] ?? 2);
const key = new SigningKey('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const iface = new Interface([
  'function awardPoints(address customer, uint256 amount)',
  'function awardPointsBatch(address[] customers, uint256[] amounts)',
]);
const addr = (i) => hexlify(new Uint8Array(20).fill(i + 1));
const to = hexlify(new Uint8Array(20).fill(0x42));

function bench(batch, type, secs = seconds) {
  const customers = [], amounts = [];
  for (let i = 0; i < batch; i++) { customers.push(addr(i)); amounts.push(10n * BigInt(i + 1)); }
  let n = 0;
  const t0 = performance.now();
  let t;
  do {
    for (let i = 0; i < 10; i++) {
      const data = batch === 1
        ? iface.encodeFunctionData('awardPoints', [customers[0], amounts[0]])
        : iface.encodeFunctionData('awardPointsBatch', [customers, amounts]);
      const fields = { type, chainId: 31337n, nonce: n, gasLimit: 60000n + 30000n * BigInt(batch), to, data };
      if (type === 2) { fields.maxFeePerGas = 2000000000n; fields.maxPriorityFeePerGas = 1000000000n; }
      else fields.gasPrice = 2000000000n;
      const tx = Transaction.from(fields);
      tx.signature = key.sign(tx.unsignedHash);
      if (tx.serialized.length < 10 || !tx.hash) throw new Error('no tx');
      n++;
    }
    t = (performance.now() - t0) / 1000;
  } while (t < secs);
  return n / t;
}

// warm the JIT up first (not counted)
bench(1, 2, 1); bench(100, 2, 0.5);
console.log(`ETHERS_VERSION=${version}`);
console.log(`ETHERS_TYPE2_SINGLE=${bench(1, 2).toFixed(0)}`);
console.log(`ETHERS_LEGACY_SINGLE=${bench(1, 0).toFixed(0)}`);
console.log(`ETHERS_TYPE2_BATCH10=${bench(10, 2).toFixed(0)}`);
console.log(`ETHERS_TYPE2_BATCH100=${bench(100, 2).toFixed(0)}`);
