// web/points.html in headless Chromium (Debian's, driven by playwright-core)
// against a real node: a private anvil on a free loopback port, the
// committed MegaMarketLoyalty artifact deployed on it with ethers, customers
// registered, awarded and one redeeming. The page must show the balance the
// contract holds (read here independently with ethers, and equal to the
// contract's arithmetic: 10 points per whole unit), every award and
// redemption, in Spanish and English, refuse bad addresses in words, and
// work in a phone-sized window.
//
//   node --test test/web/        (scripts/test runs it)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifact = JSON.parse(readFileSync(path.join(root, 'contracts', 'MegaMarketLoyalty.json'), 'utf8'));
// anvil's first development key (mnemonic "test test ... junk"), public knowledge
const OWNER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let anvil, rpcUrl, server, pageUrl, browser, contract, provider;
const alice = ethers.Wallet.createRandom();
const bob = ethers.Wallet.createRandom();
const carol = ethers.Wallet.createRandom(); // never registered

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitForRpc(url) {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) });
      if (r.ok) return;
    } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`anvil did not answer at ${url}`);
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is not installed (Debian package chromium)`);
  const port = await freePort();
  anvil = spawn(path.join(root, 'node_modules', '.bin', 'anvil'),
    ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337'], { stdio: 'ignore' });
  rpcUrl = `http://127.0.0.1:${port}`;
  await waitForRpc(rpcUrl);

  provider = new ethers.JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const owner = new ethers.NonceManager(new ethers.Wallet(OWNER_KEY, provider));
  const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, owner);
  contract = await factory.deploy();
  await contract.waitForDeployment();
  const send = async (p) => (await p).wait();
  await send(contract.registerCustomer(alice.address));
  await send(contract.registerCustomer(bob.address));
  await send(contract.awardPoints(alice.address, 12));    // 120 points
  await send(contract.awardPoints(alice.address, 7));     // 70 points
  await send(contract.awardPointsBatch([alice.address, bob.address], [3, 25])); // 30, 250
  // alice redeems 100 points (she pays her own gas)
  await send(owner.sendTransaction({ to: alice.address, value: ethers.parseEther('1') }));
  await send(contract.connect(alice.connect(provider)).redeemPoints(100));

  const config = JSON.stringify({ rpcUrl, contract: await contract.getAddress(), chainId: 31337 });
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(config);
    }
    const file = path.join(root, 'web', path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(path.join(root, 'web')) || !existsSync(file)) { res.writeHead(404); return res.end(); }
    const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.css') ? 'text/css' : 'text/javascript';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8` });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  pageUrl = `http://127.0.0.1:${server.address().port}/points.html`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.close();
  if (anvil) anvil.kill('SIGTERM');
});

async function open(query = '', viewport = { width: 1000, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pageUrl + query);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, errors };
}

async function lookup(page, address) {
  await page.fill('#address', address);
  await page.click('#submit');
  await page.waitForFunction(() => {
    const s = document.getElementById('status');
    return s.className === 'error' || (s.textContent && !/Consultando|Reading/.test(s.textContent));
  });
}

test('the page reads ABI fragments that the committed contract has', () => {
  const src = readFileSync(path.join(root, 'web', 'points.js'), 'utf8');
  const fragments = [...src.matchAll(/'((?:function|event) [^']+)'/g)].map((m) => m[1]);
  const iface = new ethers.Interface(artifact.abi);
  assert.ok(fragments.length >= 4);
  for (const f of fragments) {
    const frag = ethers.Fragment.from(f);
    const found = frag.type === 'event' ? iface.getEvent(frag.format()) : iface.getFunction(frag.format());
    assert.ok(found, `${f} is in contracts/MegaMarketLoyalty.json`);
  }
});

test('the vendored ethers is the pinned npm package', () => {
  const vendored = readFileSync(path.join(root, 'web', 'vendor', 'ethers-6.17.0.umd.min.js'));
  const pinned = readFileSync(path.join(root, 'node_modules', 'ethers', 'dist', 'ethers.umd.min.js'));
  assert.ok(vendored.equals(pinned), 'web/vendor matches node_modules/ethers 6.17.0');
});

test('balance and history equal what the contract holds (Spanish)', async () => {
  const onChain = await contract.getPointsBalance(alice.address);
  assert.equal(onChain, 120n); // 120 + 70 + 30 - 100, by the contract's rules
  const { page, errors } = await open('?lang=es');
  await lookup(page, alice.address.toLowerCase());
  assert.equal(await page.getAttribute('#balance', 'data-points'), onChain.toString());
  assert.equal(await page.getAttribute('html', 'lang'), 'es');
  const rows = await page.$$eval('#history tbody tr', (trs) => trs.map((tr) => [tr.dataset.kind, tr.cells[2].textContent]));
  assert.deepEqual(rows.map((r) => r[0]).sort(), ['awarded', 'awarded', 'awarded', 'redeemed']);
  assert.deepEqual(rows.map((r) => r[1]), ['−100', '+30', '+70', '+120'], 'newest first');
  assert.match(await page.textContent('#status'), /4 movimientos/);
  assert.match(await page.textContent('#reward'), /canjear 100 puntos por 50/);
  assert.deepEqual(errors, []);
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, 'points-es.png'), fullPage: true });
  await page.close();
});

test('English, and the language switch keeps the result', async () => {
  const { page } = await open('?lang=es');
  await lookup(page, bob.address);
  assert.equal(await page.getAttribute('#balance', 'data-points'), (await contract.getPointsBalance(bob.address)).toString());
  await page.click('#lang-en');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('#history-caption'), 'History');
  assert.match(await page.textContent('#status'), /1 entries/);
  assert.match(await page.textContent('#reward'), /redeem 200 points for a reward of 100/);
  assert.equal(await page.getAttribute('#lang-en', 'aria-pressed'), 'true');
  await page.close();
});

test('bad addresses are refused in words, without asking the node', async () => {
  const { page } = await open('?lang=en');
  await lookup(page, '0x1234');
  assert.match(await page.textContent('#status'), /not a valid address/);
  assert.equal(await page.getAttribute('#address', 'aria-invalid'), 'true');
  assert.equal(await page.isHidden('#result'), true);
  // a mixed-case address with a wrong EIP-55 checksum
  const bad = alice.address.slice(0, 2) + alice.address.slice(2).split('')
    .map((c) => (/[a-f]/.test(c) ? c.toUpperCase() : /[A-F]/.test(c) ? c.toLowerCase() : c)).join('');
  if (/[a-fA-F]/.test(bad.slice(2))) {
    await lookup(page, bad);
    assert.match(await page.textContent('#status'), /checksum/);
  }
  await page.close();
});

test('an unregistered wallet says so; an unreachable node says so', async () => {
  let { page } = await open('?lang=en');
  await lookup(page, carol.address);
  assert.equal(await page.getAttribute('#balance', 'data-points'), '0');
  assert.match(await page.textContent('#status'), /not registered/);
  await page.close();
  ({ page } = await open(`?lang=en&rpc=${encodeURIComponent('http://127.0.0.1:9')}&contract=${await contract.getAddress()}`));
  await lookup(page, alice.address);
  assert.match(await page.textContent('#status'), /Could not read from the node/);
  await page.close();
});

test('a phone-sized window: everything fits, labels are in place', async () => {
  const { page } = await open('?lang=es', { width: 360, height: 740 });
  await lookup(page, alice.address);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px)`);
  assert.equal(await page.$eval('#address', (el) => el.labels.length), 1, 'the input has its label');
  assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, 'points-phone.png'), fullPage: true });
  await page.close();
});
