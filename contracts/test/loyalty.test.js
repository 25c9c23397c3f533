// Contract tests: every function and every revert of MegaMarketLoyalty, on a
// real anvil node, through ethers (a client we did not write).
//   node --test contracts/test/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ethers } = require('ethers');
const { startNode, wallets } = require('./anvil');
const { compile } = require('../compile');

const artifact = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'MegaMarketLoyalty.json'), 'utf8'));

let node, provider, w, c;

// The revert reason a failing call reports (ethers decodes Error(string)).
async function reverts(promise, reason) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.reason, reason, `expected revert "${reason}", got ${e.shortMessage || e.message}`);
    return true;
  });
}

async function deploy(signer) {
  const f = new ethers.ContractFactory(artifact.abi, artifact.bytecode, signer);
  const k = await f.deploy();
  await k.waitForDeployment();
  return k;
}

// The events a mined transaction emitted, decoded with the ABI.
async function events(txp) {
  const rc = await (await txp).wait();
  assert.equal(rc.status, 1);
  return rc.logs.map((l) => c.interface.parseLog(l)).map((e) => [e.name, ...e.args.map((a) => (typeof a === 'bigint' ? Number(a) : a))]);
}

test.before(async () => {
  node = await startNode();
  ({ provider, w } = await wallets(node.url));
  c = await deploy(w.owner);
});
test.after(async () => {
  provider.destroy();
  await node.stop();
});

test('the committed artifact equals a fresh compile of the source', () => {
  const fresh = compile();
  assert.deepEqual(fresh, artifact);
});

test('deployment: owner, constants, events', async () => {
  const ownerAddr = await w.owner.getAddress();
  assert.equal(await c.owner(), ownerAddr);
  assert.equal(await c.pendingOwner(), ethers.ZeroAddress);
  assert.equal(await c.paused(), false);
  assert.equal(await c.POINTS_PER_UNIT(), 10n);
  assert.equal(await c.REDEMPTION_THRESHOLD(), 100n);
  assert.equal(await c.REWARD_PER_THRESHOLD(), 50n);
  assert.equal(await c.MAX_PURCHASE_UNITS(), 10n ** 12n);
  assert.equal(await c.MAX_BATCH(), 256n);
  const rc = await c.deploymentTransaction().wait();
  const ev = rc.logs.map((l) => c.interface.parseLog(l));
  assert.deepEqual(ev.map((e) => [e.name, ...e.args]), [['OwnershipTransferred', ethers.ZeroAddress, ownerAddr]]);
  // the deployed code is the artifact's runtime code
  assert.equal(await provider.getCode(await c.getAddress()), artifact.deployedBytecode);
});

test('registerCustomer', async () => {
  const cust = await w.customer.getAddress();
  assert.equal(await c.isRegistered(cust), false);
  assert.deepEqual(await events(c.registerCustomer(cust)), [['CustomerRegistered', cust]]);
  assert.equal(await c.isRegistered(cust), true);
  assert.equal(await c.getPointsBalance(cust), 0n);
  await reverts(c.registerCustomer(cust), 'customer already registered');
  await reverts(c.registerCustomer(ethers.ZeroAddress), 'customer is the zero address');
  await reverts(c.connect(w.other).registerCustomer(await w.other.getAddress()), 'caller is not the owner');
});

test('awardPoints: 10 points per unit', async () => {
  const cust = await w.customer.getAddress();
  const before = await c.getPointsBalance(cust);
  assert.deepEqual(await events(c.awardPoints(cust, 7)), [['PointsAwarded', cust, 70]]);
  assert.equal(await c.getPointsBalance(cust), before + 70n);
  // the largest purchase one award takes
  assert.deepEqual(await events(c.awardPoints(cust, 10n ** 12n)), [['PointsAwarded', cust, 10 ** 13]]);
  assert.equal(await c.getPointsBalance(cust), before + 70n + 10n ** 13n);
  await reverts(c.awardPoints(cust, 10n ** 12n + 1n), 'purchase amount too large');
  await reverts(c.awardPoints(cust, ethers.MaxUint256), 'purchase amount too large');
  await reverts(c.awardPoints(cust, 0), 'purchase amount is zero');
  await reverts(c.awardPoints(await w.other.getAddress(), 5), 'customer not registered');
  await reverts(c.awardPoints(ethers.ZeroAddress, 5), 'customer not registered');
  await reverts(c.connect(w.other).awardPoints(cust, 5), 'caller is not the owner');
  assert.equal(await c.getPointsBalance(cust), before + 70n + 10n ** 13n);
});

test('awardPointsBatch: one event per award, all or nothing', async () => {
  const a = await w.customer.getAddress();
  const b = await w.customer2.getAddress();
  await (await c.registerCustomer(b)).wait();
  const ba = await c.getPointsBalance(a);
  const bb = await c.getPointsBalance(b);
  assert.deepEqual(await events(c.awardPointsBatch([a, b, a], [1, 2, 3])), [
    ['PointsAwarded', a, 10],
    ['PointsAwarded', b, 20],
    ['PointsAwarded', a, 30],
  ]);
  assert.equal(await c.getPointsBalance(a), ba + 40n);
  assert.equal(await c.getPointsBalance(b), bb + 20n);
  // a full batch of MAX_BATCH
  const full = await events(c.awardPointsBatch(Array(256).fill(b), Array(256).fill(1)));
  assert.equal(full.length, 256);
  assert.equal(await c.getPointsBalance(b), bb + 20n + 2560n);

  const other = await w.other.getAddress();
  await reverts(c.awardPointsBatch([a, other], [1, 1]), 'customer not registered');
  await reverts(c.awardPointsBatch([a, b], [1, 0]), 'purchase amount is zero');
  await reverts(c.awardPointsBatch([a], [10n ** 12n + 1n]), 'purchase amount too large');
  await reverts(c.awardPointsBatch([a, b], [1]), 'array lengths differ');
  await reverts(c.awardPointsBatch([a], [1, 2]), 'array lengths differ');
  await reverts(c.awardPointsBatch([], []), 'empty batch');
  await reverts(c.awardPointsBatch(Array(257).fill(a), Array(257).fill(1)), 'batch too large');
  await reverts(c.connect(w.other).awardPointsBatch([a], [1]), 'caller is not the owner');
  // nothing of the failed batches landed
  assert.equal(await c.getPointsBalance(a), ba + 40n);
  assert.equal(await c.getPointsBalance(b), bb + 20n + 2560n);
});

test('awardPointsBatch: a reverted batch mined on chain changes nothing', async () => {
  const a = await w.customer.getAddress();
  const before = await c.getPointsBalance(a);
  // send with a fixed gas limit so that the node mines the failing call
  const tx = await c.awardPointsBatch([a, await w.other.getAddress()], [1, 1], { gasLimit: 200000 });
  await assert.rejects(tx.wait(), (e) => e.receipt && e.receipt.status === 0);
  assert.equal(await c.getPointsBalance(a), before);
});

test('redeemPoints: 50 per 100 points', async () => {
  const cust = w.customer;
  const addr = await cust.getAddress();
  const k = c.connect(cust);
  const before = await c.getPointsBalance(addr);
  assert.deepEqual(await events(k.redeemPoints(300)), [['PointsRedeemed', addr, 300, 150]]);
  assert.equal(await c.getPointsBalance(addr), before - 300n);
  await reverts(k.redeemPoints(99), 'points below redemption threshold');
  await reverts(k.redeemPoints(0), 'points below redemption threshold');
  await reverts(k.redeemPoints(150), 'points must be a multiple of the threshold');
  await reverts(k.redeemPoints(before + 100n - (before % 100n)), 'insufficient points');
  await reverts(k.redeemPoints(ethers.MaxUint256 - (ethers.MaxUint256 % 100n)), 'insufficient points');
  await reverts(c.connect(w.other).redeemPoints(100), 'customer not registered');
  // the owner is no customer either
  await reverts(c.redeemPoints(100), 'customer not registered');
  assert.equal(await c.getPointsBalance(addr), before - 300n);
  // everything: a balance that is a multiple of 100
  const rest = await c.getPointsBalance(addr);
  const all = rest - (rest % 100n);
  assert.deepEqual(await events(k.redeemPoints(all)), [['PointsRedeemed', addr, Number(all), Number((all / 100n) * 50n)]]);
  assert.equal(await c.getPointsBalance(addr), rest % 100n);
});

test('getPointsBalance and isRegistered of unknown addresses', async () => {
  assert.equal(await c.getPointsBalance(ethers.ZeroAddress), 0n);
  assert.equal(await c.isRegistered(ethers.ZeroAddress), false);
  assert.equal(await c.getPointsBalance(await w.other.getAddress()), 0n);
});

test('pause and unpause', async () => {
  const a = await w.customer.getAddress();
  await reverts(c.connect(w.other).pause(), 'caller is not the owner');
  await reverts(c.unpause(), 'contract is not paused');
  assert.deepEqual(await events(c.pause()), [['Paused', await w.owner.getAddress()]]);
  assert.equal(await c.paused(), true);
  await reverts(c.pause(), 'contract is paused');
  await reverts(c.registerCustomer(await w.other.getAddress()), 'contract is paused');
  await reverts(c.awardPoints(a, 1), 'contract is paused');
  await reverts(c.awardPointsBatch([a], [1]), 'contract is paused');
  await reverts(c.connect(w.customer).redeemPoints(100), 'contract is paused');
  await reverts(c.connect(w.other).unpause(), 'caller is not the owner');
  // reads keep working
  await c.getPointsBalance(a);
  assert.deepEqual(await events(c.unpause()), [['Unpaused', await w.owner.getAddress()]]);
  assert.equal(await c.paused(), false);
  await (await c.awardPoints(a, 1)).wait();
});

test('two-step ownership transfer', async () => {
  const owner = await w.owner.getAddress();
  const other = await w.other.getAddress();
  await reverts(c.connect(w.other).transferOwnership(other), 'caller is not the owner');
  await reverts(c.connect(w.other).acceptOwnership(), 'caller is not the pending owner');
  assert.deepEqual(await events(c.transferOwnership(other)), [['OwnershipTransferStarted', owner, other]]);
  assert.equal(await c.pendingOwner(), other);
  assert.equal(await c.owner(), owner, 'nothing changes until accepted');
  // cancel, then start again
  assert.deepEqual(await events(c.transferOwnership(ethers.ZeroAddress)), [['OwnershipTransferStarted', owner, ethers.ZeroAddress]]);
  await reverts(c.connect(w.other).acceptOwnership(), 'caller is not the pending owner');
  await (await c.transferOwnership(other)).wait();
  await reverts(c.connect(w.customer).acceptOwnership(), 'caller is not the pending owner');
  assert.deepEqual(await events(c.connect(w.other).acceptOwnership()), [['OwnershipTransferred', owner, other]]);
  assert.equal(await c.owner(), other);
  assert.equal(await c.pendingOwner(), ethers.ZeroAddress);
  await reverts(c.awardPoints(await w.customer.getAddress(), 1), 'caller is not the owner');
  await reverts(c.pause(), 'caller is not the owner');
  await (await c.connect(w.other).awardPoints(await w.customer.getAddress(), 1)).wait();
  // and back
  await (await c.connect(w.other).transferOwnership(owner)).wait();
  await (await c.acceptOwnership()).wait();
  assert.equal(await c.owner(), owner);
});

test('the contract refuses ether', async () => {
  await assert.rejects(w.owner.sendTransaction({ to: await c.getAddress(), value: 1n }));
  await assert.rejects(w.owner.sendTransaction({ to: await c.getAddress(), value: 1n, data: '0x12345678' }));
  assert.equal(await provider.getBalance(await c.getAddress()), 0n);
});
