// gen_cases.mjs: the second implementation. ethers.js (npm ethers, pinned in
// package-lock.json) computes, for random inputs from a seeded generator,
// what the chain library must reproduce byte for byte: Keccak-256 hashes,
// addresses of keys, EIP-55 checksums, RLP encodings, ABI calldata of the
// loyalty contract's calls, uint256 quantities, Error(string) reverts, and
// signed legacy (EIP-155) and type-2 (EIP-1559) transactions with their
// hashes (RFC 6979 signatures are deterministic on both sides).
//
//   node gen_cases.mjs COUNT SEED > cases.txt ; ./diff_ethers cases.txt
//
// One case per line: a kind, then space-separated fields ("-" for none).
import {
  keccak256, getAddress, computeAddress, SigningKey, Transaction, encodeRlp,
  Interface, AbiCoder, toQuantity, hexlify, toUtf8Bytes, version,
} from 'ethers';

const count = Number(process.argv[2] ?? 1000);
let seed = Number(process.argv[3] ?? 1) >>> 0;

// mulberry32: small, seeded, reproducible
function rnd() {
  seed = (seed + 0x6D2B79F5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];
function bytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}
const hex = (b) => hexlify(b);                 // 0x-prefixed lower case
const bare = (h) => (h.length > 2 ? h.slice(2) : '-');
// a big integer of 0..nbytes random bytes, biased to edges
function big(maxBytes) {
  const r = rnd();
  if (r < 0.1) return 0n;
  if (r < 0.15) return (1n << BigInt(8 * maxBytes)) - 1n;
  if (r < 0.2) return BigInt(pick([1, 127, 128, 255, 256, 65535, 65536]));
  const n = 1 + int(maxBytes);
  return BigInt(hex(bytes(n)));
}
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
function key() {
  for (;;) {
    const k = bytes(32);
    const v = BigInt(hex(k));
    if (v > 0n && v < N) return hex(k);
  }
}
const dataLens = [0, 1, 1, 2, 31, 32, 55, 56, 57, 135, 136, 137, 255, 256, 1000, 4000];

const lines = [];
lines.push(`# ethers ${version}, seed ${process.argv[3] ?? 1}, ${count} rounds`);

const loyalty = new Interface([
  'function registerCustomer(address customer)',
  'function awardPoints(address customer, uint256 amount)',
  'function awardPointsBatch(address[] customers, uint256[] amounts)',
  'function redeemPoints(uint256 points)',
  'function getPointsBalance(address customer) view returns (uint256)',
]);
const coder = AbiCoder.defaultAbiCoder();

// random RLP structure: hex strings and nested arrays
function rlpItem(depth) {
  if (depth < 4 && rnd() < 0.3) {
    const n = int(depth === 0 ? 8 : 4);
    const a = [];
    for (let i = 0; i < n; i++) a.push(rlpItem(depth + 1));
    return a;
  }
  const len = pick([0, 1, 1, 1, 2, 55, 56, 57, 300, int(80)]);
  const b = bytes(len);
  if (len === 1 && rnd() < 0.5) b[0] = int(0x80);
  return hex(b);
}
const rlpText = (x) => (Array.isArray(x) ? `[${x.map(rlpText).join(',')}]` : x);

for (let i = 0; i < count; i++) {
  // keccak of random data around the block size
  {
    const d = bytes(rnd() < 0.5 ? pick(dataLens) : int(700));
    lines.push(`keccak ${bare(hex(d))} ${bare(keccak256(d))}`);
  }
  // key -> address, EIP-55
  {
    const k = key();
    lines.push(`addr ${bare(k)} ${computeAddress(k)}`);
    const a = hex(bytes(20));
    lines.push(`eip55 ${a} ${getAddress(a)}`);
  }
  // RLP
  {
    const item = rlpItem(0);
    lines.push(`rlp ${rlpText(item)} ${bare(encodeRlp(item))}`);
  }
  // uint256 quantities
  {
    const v = big(32);
    lines.push(`u256 ${v.toString()} ${toQuantity(v)}`);
  }
  // ABI calldata of the loyalty calls
  {
    const a = getAddress(hex(bytes(20)));
    const v = big(32);
    lines.push(`abi registerCustomer ${a} - ${bare(loyalty.encodeFunctionData('registerCustomer', [a]))}`);
    lines.push(`abi awardPoints ${a} ${v} ${bare(loyalty.encodeFunctionData('awardPoints', [a, v]))}`);
    lines.push(`abi redeemPoints - ${v} ${bare(loyalty.encodeFunctionData('redeemPoints', [v]))}`);
    lines.push(`abi getPointsBalance ${a} - ${bare(loyalty.encodeFunctionData('getPointsBalance', [a]))}`);
    const n = pick([0, 1, 2, 3, 10, int(120)]);
    const as = [], vs = [];
    for (let j = 0; j < n; j++) { as.push(getAddress(hex(bytes(20)))); vs.push(big(32)); }
    lines.push(`abi awardPointsBatch ${as.join(',') || '-'} ${vs.join(',') || '-'} ` +
               bare(loyalty.encodeFunctionData('awardPointsBatch', [as, vs])));
    // a uint256 result, as getPointsBalance returns it
    lines.push(`result ${v} ${bare(coder.encode(['uint256'], [v]))}`);
  }
  // Error(string) revert data
  {
    const s = pick(['Cliente no registrado', 'Solo propietario', '', 'ñandú — ☃ 😀',
                    'x'.repeat(int(300))]);
    const data = '0x08c379a0' + coder.encode(['string'], [s]).slice(2);
    lines.push(`revert ${bare(data)} ${bare(hex(toUtf8Bytes(s)))}`);
  }
  // a signed transaction
  {
    const type = rnd() < 0.5 ? 2 : 0;
    const k = key();
    const chainId = pick([1n, 5n, 137n, 31337n, 11155111n, BigInt(1 + int(2 ** 31)), 2n ** 40n + 7n]);
    const nonce = pick([0, 1, 127, 128, 255, 256, 65535, int(2 ** 31), 2 ** 40 + 3]);
    const gasLimit = pick([21000n, 30000000n, big(8)]);
    const to = rnd() < 0.1 ? null : getAddress(hex(bytes(20)));
    const value = big(32);
    const data = hex(bytes(pick(dataLens)));
    const t = { type, chainId, nonce, gasLimit, to, value, data };
    let fees;
    if (type === 2) {
      const a = big(32), b = big(32);
      t.maxFeePerGas = a > b ? a : b;
      t.maxPriorityFeePerGas = a > b ? b : a;
      fees = `- ${t.maxPriorityFeePerGas} ${t.maxFeePerGas}`;
    } else {
      t.gasPrice = big(32);
      fees = `${t.gasPrice} - -`;
    }
    const tx = Transaction.from(t);
    tx.signature = new SigningKey(k).sign(tx.unsignedHash);
    lines.push(`tx ${type} ${chainId} ${nonce} ${fees} ${gasLimit} ${to ?? '-'} ${value} ` +
               `${bare(data)} ${bare(k)} ${bare(tx.unsignedHash)} ${bare(tx.serialized)} ${bare(tx.hash)}`);
  }
}
process.stdout.write(lines.join('\n') + '\n');
