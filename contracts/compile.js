#!/usr/bin/env node
// Compile contracts/MegaMarketLoyalty.sol with the pinned solc-js and print
// the artifact (ABI, creation bytecode, compiler settings) as JSON.
//   node contracts/compile.js > contracts/MegaMarketLoyalty.json
// contracts/test/artifact.test.js checks the committed file equals a fresh
// compile, so the bytecode loyalty_deploy() sends is the reviewed source.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const solc = require('solc');

const NAME = 'MegaMarketLoyalty';
const source = fs.readFileSync(path.join(__dirname, `${NAME}.sol`), 'utf8');
const settings = {
  // cancun: supported by anvil, Sepolia, Polygon PoS and Amoy alike
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function compile() {
  const input = { language: 'Solidity', sources: { [`${NAME}.sol`]: { content: source } }, settings };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const warnings = (out.errors || []).filter((e) => e.severity !== 'error');
  if (warnings.length) throw new Error('solc warnings:\n' + warnings.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts[`${NAME}.sol`][NAME];
  return {
    contractName: NAME,
    compiler: `solc-js ${solc.version()}`,
    settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer, metadata: settings.metadata },
    abi: c.abi,
    bytecode: '0x' + c.evm.bytecode.object,
    deployedBytecode: '0x' + c.evm.deployedBytecode.object,
  };
}

module.exports = { compile, NAME };

if (require.main === module) {
  process.stdout.write(JSON.stringify(compile(), null, 2) + '\n');
}
