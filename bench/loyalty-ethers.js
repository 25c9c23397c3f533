#!/usr/bin/env node
// The baseline of bench/loyalty: ethers.js (pinned) doing the same work as the
// dispatcher, on the same anvil, in the same run.
//   node bench/loyalty-ethers.js URL KEY awards BATCH N CUSTOMERS_FILE   -> JSON figures
//   node bench/loyalty-ethers.js URL KEY sequential N CUSTOMERS_FILE     -> the proposal's pattern
//   node bench/loyalty-ethers.js URL - balances CONTRACT ADDRESSES_FILE  -> one balance per line
// CUSTOMERS_FILE: one address per line. Awards go to customer (i * 7) % n
// with (i % 97) + 1 units, as bench/loyalty queues them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { ethers } = require('ethers');

const artifact = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'contracts', 'MegaMarketLoyalty.json'), 'utf8'));
const [url, key, mode, ...rest] = process.argv.slice(2);
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 100, cacheTimeout: -1 });
provider.pollingInterval = 20;
const WINDOW = 64; // transactions in flight at most (the dispatcher's window)

async function pipelined(wallet, txs) {
  // sign and send with explicit nonces, WINDOW at a time, then wait receipts
  let nonce = await provider.getTransactionCount(wallet.address, 'pending');
  const fee = await provider.getFeeData();
  let gas = 0n;
  for (let i = 0; i < txs.length; i += WINDOW) {
    const part = txs.slice(i, i + WINDOW);
    // in nonce order, without waiting for receipts (anvil shelves
    // transactions that arrive past a gap, as the dispatcher found out)
    const sent = [];
    for (const t of part) {
      sent.push(await wallet.sendTransaction({
        ...t, nonce: nonce++, type: 2, chainId: 31337,
        maxFeePerGas: fee.maxFeePerGas, maxPriorityFeePerGas: fee.maxPriorityFeePerGas,
      }));
    }
    const rcs = await Promise.all(sent.map((s) => s.wait()));
    for (const rc of rcs) {
      if (rc.status !== 1) throw new Error('reverted');
      gas += rc.gasUsed;
    }
  }
  return gas;
}

async function main() {
  if (mode === 'balances') {
    const [contract, file] = rest;
    const c = new ethers.Contract(contract, artifact.abi, provider);
    const addrs = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const out = await Promise.all(addrs.map((a) => c.getPointsBalance(a)));
    process.stdout.write(out.map(String).join('\n') + '\n');
    return;
  }
  const wallet = new ethers.Wallet(key, provider);
  const f = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
  const c = await f.deploy();
  await c.waitForDeployment();
  const to = await c.getAddress();
  const iface = c.interface;
  const n = Number(mode === 'sequential' ? rest[0] : rest[1]);
  const batch = mode === 'sequential' ? 1 : Number(rest[0]);
  const customers = fs.readFileSync(mode === 'sequential' ? rest[1] : rest[2], 'utf8').split('\n').filter(Boolean);
  await pipelined(wallet, customers.map((a) => ({ to, data: iface.encodeFunctionData('registerCustomer', [a]), gasLimit: 80000 })));
  const awards = [];
  for (let i = 1; i <= n; i++) awards.push([customers[(i * 7) % customers.length], (i % 97) + 1]);

  const t0 = process.hrtime.bigint();
  let gas = 0n;
  if (mode === 'sequential') {
    // the proposal's pattern: one award, wait for its receipt, next
    for (const [a, u] of awards) {
      const rc = await (await c.awardPoints(a, u)).wait();
      gas += rc.gasUsed;
    }
  } else {
    const txs = [];
    for (let i = 0; i < awards.length; i += batch) {
      const part = awards.slice(i, i + batch);
      const data = part.length === 1
        ? iface.encodeFunctionData('awardPoints', part[0])
        : iface.encodeFunctionData('awardPointsBatch', [part.map((p) => p[0]), part.map((p) => p[1])]);
      txs.push({ to, data, gasLimit: 60000 + 20000 * part.length });
    }
    gas = await pipelined(wallet, txs);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ awards: n, batch, seconds: s, awards_per_s: n / s, gas_per_award: Number(gas) / n }) + '\n');
}

main().then(() => provider.destroy(), (e) => { console.error(e); process.exit(1); });
