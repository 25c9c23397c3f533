// The customers' points page: reads a wallet's balance and history straight
// from the MegaMarketLoyalty contract over the node's JSON-RPC (ethers,
// vendored in web/vendor/), so it needs no server of ours and trusts no
// database. Settings come from config.json beside the page (written with
// megamarket.loyalty_web_config(), see docs/loyalty.md), or from the query
// string (?rpc=...&contract=...&lang=en) when the page is opened as a file.
'use strict';

(function () {
  // The parts of the contract's ABI the page reads (checked against
  // contracts/MegaMarketLoyalty.json by test/web/points.test.mjs).
  const ABI = [
    'function getPointsBalance(address customer) view returns (uint256)',
    'function isRegistered(address customer) view returns (bool)',
    'event PointsAwarded(address indexed customer, uint256 points)',
    'event PointsRedeemed(address indexed customer, uint256 points, uint256 reward)',
  ];
  const REDEMPTION_THRESHOLD = 100n; // points per reward, as the contract says
  const REWARD_PER_THRESHOLD = 50n;

  const TEXT = {
    es: {
      title: 'Puntos MegaMarket',
      intro: 'Consulta tus puntos directamente en el contrato de fidelización: nadie más que la cadena responde.',
      addressLabel: 'Dirección de tu monedero',
      addressHelp: 'Empieza por 0x y tiene 40 caracteres hexadecimales.',
      submit: 'Consultar',
      balance: 'Saldo',
      points: 'puntos',
      history: 'Historial',
      block: 'Bloque', kind: 'Movimiento', pointsCol: 'Puntos', tx: 'Transacción',
      awarded: 'Compra', redeemed: 'Canje',
      loading: 'Consultando la cadena…',
      done: (n) => `Saldo leído del contrato. ${n} movimientos.`,
      none: 'Todavía no hay movimientos para esta dirección.',
      notRegistered: 'Esta dirección no está registrada en el programa de puntos.',
      badAddress: 'La dirección no es válida: debe empezar por 0x y tener 40 caracteres hexadecimales.',
      badChecksum: 'La dirección tiene mayúsculas y minúsculas que no cuadran (suma de control EIP-55). Revísala o escríbela toda en minúsculas.',
      noConfig: 'Falta la configuración (config.json o ?rpc=…&contract=…).',
      nodeError: (m) => `No se pudo consultar el nodo: ${m}`,
      reward: (r, t) => `Puedes canjear ${t} puntos por ${r} de recompensa.`,
      noReward: (t) => `Con ${t} puntos podrás canjear una recompensa.`,
      source: (c, u) => `Contrato ${c} en ${u}`,
    },
    en: {
      title: 'MegaMarket points',
      intro: 'Check your points straight from the loyalty contract: only the chain answers.',
      addressLabel: 'Your wallet address',
      addressHelp: 'It starts with 0x followed by 40 hexadecimal characters.',
      submit: 'Look up',
      balance: 'Balance',
      points: 'points',
      history: 'History',
      block: 'Block', kind: 'Entry', pointsCol: 'Points', tx: 'Transaction',
      awarded: 'Purchase', redeemed: 'Redemption',
      loading: 'Reading the chain…',
      done: (n) => `Balance read from the contract. ${n} entries.`,
      none: 'No entries for this address yet.',
      notRegistered: 'This address is not registered in the points programme.',
      badAddress: 'That is not a valid address: it must start with 0x followed by 40 hexadecimal characters.',
      badChecksum: 'The address mixes upper and lower case that do not match its EIP-55 checksum. Check it, or type it all in lower case.',
      noConfig: 'The settings are missing (config.json or ?rpc=…&contract=…).',
      nodeError: (m) => `Could not read from the node: ${m}`,
      reward: (r, t) => `You can redeem ${t} points for a reward of ${r}.`,
      noReward: (t) => `With ${t} points you can redeem a reward.`,
      source: (c, u) => `Contract ${c} on ${u}`,
    },
  };

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let lang = params.get('lang') || ((navigator.language || 'es').startsWith('en') ? 'en' : 'es');
  let config = null;
  let last = null; // the last result, re-rendered when the language changes

  function t() { return TEXT[lang]; }

  function applyLanguage() {
    const x = t();
    document.documentElement.lang = lang;
    document.title = x.title;
    $('title').textContent = x.title;
    $('intro').textContent = x.intro;
    $('address-label').textContent = x.addressLabel;
    $('address-help').textContent = x.addressHelp;
    $('submit').textContent = x.submit;
    $('balance-heading').textContent = x.balance;
    $('points-word').textContent = x.points;
    $('history-caption').textContent = x.history;
    $('h-block').textContent = x.block;
    $('h-kind').textContent = x.kind;
    $('h-points').textContent = x.pointsCol;
    $('h-tx').textContent = x.tx;
    $('lang-es').setAttribute('aria-pressed', String(lang === 'es'));
    $('lang-en').setAttribute('aria-pressed', String(lang === 'en'));
    if (config) $('source').textContent = x.source(config.contract, config.rpcUrl);
    if (last) render(last);
  }

  function status(message, isError) {
    const s = $('status');
    s.textContent = message;
    s.className = isError ? 'error' : '';
  }

  async function loadConfig() {
    if (params.get('rpc') && params.get('contract')) {
      return { rpcUrl: params.get('rpc'), contract: params.get('contract') };
    }
    try {
      const r = await fetch('config.json', { cache: 'no-store' });
      if (r.ok) return await r.json();
    } catch (e) { /* opened as a file: no fetch */ }
    return null;
  }

  // "0x…" to a checksummed address, or an error key
  function parseAddress(text) {
    const a = text.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(a)) return { error: 'badAddress' };
    try {
      return { address: ethers.getAddress(a) };
    } catch (e) {
      return { error: 'badChecksum' };
    }
  }

  function render(res) {
    const x = t();
    $('balance').textContent = res.balance.toString();
    $('balance').dataset.points = res.balance.toString();
    const r = (res.balance / REDEMPTION_THRESHOLD) * REWARD_PER_THRESHOLD;
    $('reward').textContent = r > 0n
      ? x.reward(r.toString(), ((res.balance / REDEMPTION_THRESHOLD) * REDEMPTION_THRESHOLD).toString())
      : x.noReward(REDEMPTION_THRESHOLD.toString());
    const body = $('history').tBodies[0];
    body.replaceChildren();
    for (const e of res.entries) {
      const tr = document.createElement('tr');
      tr.dataset.kind = e.kind;
      const cells = [String(e.block), e.kind === 'awarded' ? x.awarded : x.redeemed,
        (e.kind === 'awarded' ? '+' : '−') + e.points.toString(), e.tx];
      cells.forEach((v, i) => {
        const td = document.createElement('td');
        td.textContent = v;
        if (i === 2) td.className = 'num';
        if (i === 3) { td.className = 'tx'; td.title = v; td.textContent = v.slice(0, 10) + '…'; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    $('result').hidden = false;
    if (!res.registered) status(x.notRegistered, false);
    else status(res.entries.length ? x.done(res.entries.length) : x.none, false);
  }

  async function lookup(event) {
    event.preventDefault();
    const x = t();
    const parsed = parseAddress($('address').value);
    if (parsed.error) {
      $('result').hidden = true;
      last = null;
      $('address').setAttribute('aria-invalid', 'true');
      status(x[parsed.error], true);
      $('address').focus();
      return;
    }
    $('address').removeAttribute('aria-invalid');
    if (!config) { status(x.noConfig, true); return; }
    status(x.loading, false);
    try {
      const provider = new ethers.JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true });
      const contract = new ethers.Contract(config.contract, ABI, provider);
      const [balance, registered, awarded, redeemed] = await Promise.all([
        contract.getPointsBalance(parsed.address),
        contract.isRegistered(parsed.address),
        contract.queryFilter(contract.filters.PointsAwarded(parsed.address), 0, 'latest'),
        contract.queryFilter(contract.filters.PointsRedeemed(parsed.address), 0, 'latest'),
      ]);
      const entries = awarded.map((l) => ({ kind: 'awarded', block: l.blockNumber, index: l.index, points: l.args[1], tx: l.transactionHash }))
        .concat(redeemed.map((l) => ({ kind: 'redeemed', block: l.blockNumber, index: l.index, points: l.args[1], tx: l.transactionHash })))
        .sort((a, b) => (b.block - a.block) || (b.index - a.index));
      last = { balance, registered, entries };
      render(last);
    } catch (e) {
      $('result').hidden = true;
      last = null;
      status(x.nodeError(e.shortMessage || e.message), true);
    }
  }

  async function start() {
    $('lang-es').addEventListener('click', () => { lang = 'es'; applyLanguage(); });
    $('lang-en').addEventListener('click', () => { lang = 'en'; applyLanguage(); });
    $('lookup').addEventListener('submit', lookup);
    config = await loadConfig();
    applyLanguage();
    if (!config) status(t().noConfig, true);
    if (params.get('address')) {
      $('address').value = params.get('address');
      $('lookup').requestSubmit();
    }
    document.body.dataset.ready = 'true';
  }

  start();
})();
