// The node the contract tests run against: scripts/test's anvil when
// MEGAMARKET_TEST_ETH_RPC_URL is set, otherwise a private anvil started here
// (node_modules/.bin/anvil) on a free loopback port and stopped at exit.
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { ethers } = require('ethers');

// anvil's well-known development keys (mnemonic "test test ... junk"); the
// contract tests use accounts 6..9 so that they never share a nonce with the
// dispatcher's tests (accounts 1..5) on the same node.
const KEYS = {
  owner: '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e', // #6
  other: '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356', // #7
  customer: '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97', // #8
  customer2: '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6', // #9
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startNode() {
  if (process.env.MEGAMARKET_TEST_ETH_RPC_URL) {
    return { url: process.env.MEGAMARKET_TEST_ETH_RPC_URL, stop: async () => {} };
  }
  const port = await freePort();
  const bin = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'anvil');
  const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(`Listening on 127.0.0.1:${port}`)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`anvil exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

async function wallets(url) {
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 50;
  const w = {};
  for (const [k, v] of Object.entries(KEYS)) w[k] = new ethers.Wallet(v, provider);
  return { provider, w };
}

module.exports = { startNode, wallets, KEYS };
