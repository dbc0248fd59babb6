// DayTrading web front end: plain JS, no build step. Talks to /api (see README "Web front end").
'use strict';
const $ = (sel) => document.querySelector(sel);
const state = { me: null, csrf: null, events: null, summary: null, prices: {}, series: {}, chartSymbol: null, viewing: null, refreshing: false };
const AMOUNT = /^\d{1,10}(\.\d{1,2})?$/;
const SYMBOL = /^[A-Z]{1,3}$/;
const USER = /^[A-Za-z0-9_-]{1,64}$/;

function money(v) { return v == null ? '–' : Number(v).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }

async function csrf() {
  const r = await fetch('/api/csrf', { credentials: 'same-origin' });
  state.csrf = (await r.json()).token;
}

async function api(method, path, body) {
  if (method !== 'GET' && !state.csrf) await csrf();
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') { headers['Content-Type'] = 'application/json'; headers['X-CSRF-TOKEN'] = state.csrf; }
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  return { status: r.status, ok: r.ok, data };
}

function show(id) {
  for (const s of ['#auth', '#account', '#admin']) $(s).hidden = s !== id;
}

function viewError(text) {
  const e = $('#view-error');
  e.textContent = text || '';
  e.hidden = !text;
}

// ----- auth -----
async function loadMe() {
  const r = await api('GET', '/api/me');
  state.me = r.ok ? r.data : null;
  $('#nav').hidden = !state.me;
  if (state.me) {
    $('#who').textContent = state.me.userId + (state.me.admin ? ' (admin)' : '');
    $('#nav-admin').hidden = !state.me.admin;
  }
}

async function authSubmit(ev, path, userSel, pwSel, claimSel) {
  ev.preventDefault();
  const userId = $(userSel).value.trim(), password = $(pwSel).value;
  const err = $('#auth-error');
  if (!USER.test(userId)) { err.textContent = 'User id: 1-64 characters of A-Z a-z 0-9 _ -'; return; }
  if (path === '/api/signup' && password.length < 8) { err.textContent = 'Password: at least 8 characters'; return; }
  const body = { userId, password };
  if (claimSel && $(claimSel).value.trim()) body.claimCode = $(claimSel).value.trim();
  const r = await api('POST', path, body);
  if (!r.ok) { err.textContent = (r.data && r.data.error) || ('refused (' + r.status + ')'); return; }
  err.textContent = '';
  await csrf(); // the token belongs to the signed-in user
  await loadMe();
  location.hash = '#/account';
  route();
}

// ----- account view -----
function closeEvents() { if (state.events) { state.events.close(); state.events = null; } }

async function openAccount(user) {
  closeEvents();
  state.viewing = user;
  state.summary = null;
  $('#account-user').textContent = user;
  $('#dumplog-link').href = '/api/accounts/' + encodeURIComponent(user) + '/dumplog';
  const r = await api('GET', '/api/accounts/' + encodeURIComponent(user));
  if (r.status === 403 || r.status === 401) { show(null); viewError('Refused: ' + ((r.data && r.data.error) || r.status)); return; }
  show('#account');
  render(r.ok ? r.data : null);
  const q = await api('GET', '/api/quotes');
  if (q.ok) for (const x of q.data) addQuote(x);
  const es = new EventSource('/api/accounts/' + encodeURIComponent(user) + '/events');
  es.addEventListener('account', (e) => render(JSON.parse(e.data)));
  es.addEventListener('noaccount', () => render(null));
  es.addEventListener('quote', (e) => { addQuote(JSON.parse(e.data)); render(state.summary); });
  state.events = es;
}

async function refresh() {
  if (!state.viewing || state.refreshing) return;
  state.refreshing = true;
  try {
    const r = await api('GET', '/api/accounts/' + encodeURIComponent(state.viewing));
    render(r.ok ? r.data : null);
  } finally { state.refreshing = false; }
}

function addQuote(q) {
  state.prices[q.symbol] = q.price;
  const s = state.series[q.symbol] || (state.series[q.symbol] = []);
  if (!s.length || s[s.length - 1].t !== q.timestampMs) s.push({ t: q.timestampMs, p: Number(q.price) });
  if (s.length > 200) s.shift();
  if (!state.chartSymbol) state.chartSymbol = q.symbol;
  drawChart();
}

function render(s) {
  state.summary = s;
  $('#no-account').hidden = !!s;
  $('#cash').textContent = s ? money(s.cash) : '–';
  $('#reserved').textContent = s ? money(s.reservedCash) : '–';
  let value = 0, known = true;
  const holdings = (s && s.holdings) || [];
  $('#holdings tbody').innerHTML = holdings.map((h) => {
    const p = state.prices[h.symbol];
    const shares = h.shares + h.reservedShares;
    if (p == null) known = false; else value += p * shares;
    return `<tr data-symbol="${esc(h.symbol)}"><td>${esc(h.symbol)}</td><td class="num">${h.shares}</td><td class="num">${h.reservedShares}</td><td class="num">${p == null ? '–' : money(p)}</td><td class="num">${p == null ? '–' : money(p * shares)}</td></tr>`;
  }).join('') || '<tr><td colspan="5" class="hint">none</td></tr>';
  $('#holdings-value').textContent = s ? (known ? money(value) : money(value) + ' (some prices unknown)') : '–';
  const now = Date.now();
  const pending = (list, side) => (list || []).map((p, i) => `<tr data-symbol="${esc(p.symbol)}"><td>${esc(p.symbol)}</td><td class="num">${p.shares}</td><td class="num">${money(p.price)}</td><td class="num">${money(p.amount)}</td>` +
    `<td class="countdown num" data-expires="${now + p.expiresInMs}">${Math.ceil(p.expiresInMs / 1000)} s</td><td>` +
    (i === 0 ? `<button type="button" class="commit" data-cmd="commit-${side}">Commit</button> <button type="button" class="secondary cancel" data-cmd="cancel-${side}">Cancel</button>` : '') + '</td></tr>').join('')
    || '<tr><td colspan="6" class="hint">none</td></tr>';
  $('#pending-buys tbody').innerHTML = pending(s && s.pendingBuys, 'buy');
  $('#pending-sells tbody').innerHTML = pending(s && s.pendingSells, 'sell');
  const trig = [
    ...((s && s.buyTriggers) || []).map((t) => ({ side: 'buy', symbol: t.symbol, amount: t.reserve, price: t.price })),
    ...((s && s.sellTriggers) || []).map((t) => ({ side: 'sell', symbol: t.symbol, amount: t.amount, price: t.price })),
  ];
  $('#triggers tbody').innerHTML = trig.map((t) => `<tr><td>${t.side.toUpperCase()}</td><td>${esc(t.symbol)}</td><td class="num">${money(t.amount)}</td><td class="num">${t.price == null ? 'not armed' : money(t.price)}</td>` +
    `<td><button type="button" class="secondary" data-cmd="cancel-set-${t.side}" data-symbol="${esc(t.symbol)}">Cancel</button></td></tr>`).join('')
    || '<tr><td colspan="5" class="hint">none</td></tr>';
  $('#history tbody').innerHTML = ((s && s.history) || []).map((h) => `<tr><td>${new Date(h.timestampMs).toLocaleString()}</td><td>${esc(h.kind)}</td><td>${esc(h.symbol || '')}</td>` +
    `<td class="num">${h.shares || ''}</td><td class="num">${h.price ? money(h.price) : ''}</td><td class="num">${money(h.amount)}</td><td class="num">${h.txNum}</td></tr>`).join('')
    || '<tr><td colspan="7" class="hint">none</td></tr>';
}

// Countdowns tick in the browser; when one reaches zero the account is fetched again (the server expires it).
setInterval(() => {
  let expired = false;
  for (const td of document.querySelectorAll('.countdown')) {
    const left = Number(td.dataset.expires) - Date.now();
    td.textContent = left > 0 ? Math.ceil(left / 1000) + ' s' : 'expired';
    if (left <= 0) expired = true;
  }
  // At most one fetch a second while an expired row is shown (the server expires it on the next command).
  if (expired && Date.now() - (state.lastRefresh || 0) > 1000) { state.lastRefresh = Date.now(); refresh(); }
}, 250);

function drawChart() {
  const c = $('#chart'); const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const sym = state.chartSymbol; const pts = (sym && state.series[sym]) || [];
  g.fillStyle = '#6b7385'; g.font = '12px system-ui';
  g.fillText(sym ? `${sym} (${pts.length} quote${pts.length === 1 ? '' : 's'})` : 'no quotes yet', 8, 14);
  if (!pts.length) return;
  const ps = pts.map((x) => x.p), lo = Math.min(...ps), hi = Math.max(...ps), span = hi - lo || 1;
  const t0 = pts[0].t, tspan = (pts[pts.length - 1].t - t0) || 1;
  g.strokeStyle = '#1f6feb'; g.lineWidth = 2; g.beginPath();
  pts.forEach((x, i) => {
    const px = pts.length === 1 ? c.width / 2 : 10 + (x.t - t0) / tspan * (c.width - 20);
    const py = c.height - 10 - (x.p - lo) / span * (c.height - 34);
    if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
    g.fillStyle = '#1f6feb'; g.fillRect(px - 2, py - 2, 4, 4);
  });
  g.stroke();
  g.fillStyle = '#6b7385'; g.fillText(money(hi), c.width - 70, 14); g.fillText(money(lo), c.width - 70, c.height - 2);
}

function message(el, text, ok) { el.textContent = text; el.className = ok ? 'ok' : 'error'; }

async function command(cmd, body, out) {
  const r = await api('POST', '/api/accounts/' + encodeURIComponent(state.viewing) + '/' + cmd, body);
  if (r.ok) {
    message(out, `${r.data.command} done (tx ${r.data.txNum})`, true);
  } else {
    message(out, `${(r.data && r.data.command) || cmd.toUpperCase()} refused: ${(r.data && r.data.error) || r.status}`, false);
  }
  return r;
}

function validateTrade() {
  const cmd = $('#trade-command').value;
  const sym = $('#trade-symbol'), amt = $('#trade-amount');
  sym.classList.remove('invalid'); amt.classList.remove('invalid');
  if (cmd !== 'add' && !SYMBOL.test(sym.value.trim())) { sym.classList.add('invalid'); return 'Symbol: 1-3 capital letters A-Z'; }
  const a = amt.value.trim();
  if (!AMOUNT.test(a) || Number(a) <= 0 || Number(a) > 1e9) { amt.classList.add('invalid'); return 'Amount: a number above 0 and up to 1000000000 with at most two decimals'; }
  return null;
}

// ----- admin view -----
async function openAdmin() {
  closeEvents();
  const r = await api('GET', '/api/admin/cluster');
  if (!r.ok) { show(null); viewError('Refused: the admin view is for administrators (' + r.status + ')'); return; }
  show('#admin');
  $('#members tbody').innerHTML = r.data.members.map((m) => `<tr><td>${esc(m.address)}</td><td>${esc(m.status)}</td><td>${esc(m.roles.join(', '))}</td></tr>`).join('');
  const regions = Array.isArray(r.data.shardRegions) ? r.data.shardRegions : [];
  $('#shards tbody').innerHTML = regions.map((x) => `<tr><td>${esc(x.address)}</td><td class="num">${x.shards}</td><td class="num">${x.entities}</td></tr>`).join('')
    || `<tr><td colspan="3" class="hint">${esc((r.data.shardRegions && r.data.shardRegions.error) || 'none')}</td></tr>`;
}

// ----- routing -----
async function route() {
  viewError('');
  if (!state.me) { closeEvents(); show('#auth'); return; }
  const h = location.hash || '#/account';
  if (h.startsWith('#/admin')) return openAdmin();
  const m = /^#\/account\/(.+)$/.exec(h);
  return openAccount(m ? decodeURIComponent(m[1]) : state.me.userId);
}

document.addEventListener('DOMContentLoaded', async () => {
  $('#login-form').addEventListener('submit', (e) => authSubmit(e, '/api/login', '#login-user', '#login-password'));
  $('#signup-form').addEventListener('submit', (e) => authSubmit(e, '/api/signup', '#signup-user', '#signup-password', '#signup-claim'));
  $('#logout').addEventListener('click', async () => { await api('POST', '/api/logout'); await csrf(); state.me = null; $('#nav').hidden = true; location.hash = ''; route(); });
  $('#trade-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = $('#trade-message');
    const invalid = validateTrade();
    if (invalid) { message(out, invalid, false); return; }
    const cmd = $('#trade-command').value;
    const body = { amount: $('#trade-amount').value.trim() };
    if (cmd !== 'add') body.symbol = $('#trade-symbol').value.trim();
    await command(cmd, body, out);
  });
  $('#trade-command').addEventListener('change', () => { $('#trade-symbol-label').hidden = $('#trade-command').value === 'add'; });
  $('#trade-symbol-label').hidden = true;
  $('#quote-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const sym = $('#quote-symbol').value.trim(), out = $('#quote-result');
    if (!SYMBOL.test(sym)) { $('#quote-symbol').classList.add('invalid'); message(out, 'Symbol: 1-3 capital letters A-Z', false); return; }
    $('#quote-symbol').classList.remove('invalid');
    state.chartSymbol = sym;
    const r = await command('quote', { symbol: sym }, out);
    if (r.ok && r.data.result) {
      addQuote({ symbol: sym, price: r.data.result.price, timestampMs: r.data.result.quoteTimeMs });
      message(out, `${sym}: ${money(r.data.result.price)}`, true);
      render(state.summary);
    }
  });
  // Buttons in tables: commit/cancel pending orders, cancel triggers.
  $('#account').addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-cmd]');
    if (!b) return;
    const body = b.dataset.symbol ? { symbol: b.dataset.symbol } : {};
    await command(b.dataset.cmd, body, $('#trade-message'));
  });
  $('#claim-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('POST', '/api/admin/claim-codes', { userId: $('#claim-user').value.trim() });
    $('#claim-result').textContent = r.ok ? `code for ${r.data.userId}: ${r.data.code}` : `refused: ${(r.data && r.data.error) || r.status}`;
  });
  window.addEventListener('hashchange', route);
  await csrf();
  await loadMe();
  route();
});
