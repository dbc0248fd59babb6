import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { accountPath, type PendingOrder, type Summary } from './api';
import { AMOUNT, age, cents, count, dateTime, fromCents, KIND_LABEL, money, percent, pnlClass, seconds, shortTx, signedMoney, SYMBOL, time } from './format';
import { emptySummary, useAccount, type AccountLive } from './live';
import { Ticket } from './Ticket';

// The chart library is most of the bundle and no page needs it before a symbol is picked: its own chunk.
const PriceChart = lazy(() => import('./Chart').then((m) => ({ default: m.PriceChart })));

/** Re-renders every <paramref name="ms"/>: countdowns and quote ages. */
function useTick(ms: number) {
  const [, set] = useState(0);
  useEffect(() => { const t = setInterval(() => set((n) => n + 1), ms); return () => clearInterval(t); }, [ms]);
}

function Tx({ tx }: { tx: number }) {
  const full = String(tx);
  return (
    <button type="button" className="tx" title={`transaction ${full} (click to copy)`} aria-label={`transaction ${full}, copy`}
      onClick={() => void navigator.clipboard?.writeText(full)}>{shortTx(full)}</button>
  );
}

interface Position { symbol: string; shares: number; reserved: number; costCents: number | null; price: number | null; valueCents: number | null; pnlCents: number | null; dayCents: number | null }

function positions(s: Summary, live: AccountLive): Position[] {
  return s.holdings.map((h) => {
    const q = live.quotes.get(h.symbol);
    const total = h.shares + h.reservedShares;
    const valueCents = q ? total * cents(q.price) : null;
    const costCents = h.cost == null ? null : cents(h.cost);
    const first = live.firstPrices.get(h.symbol);
    return {
      symbol: h.symbol, shares: h.shares, reserved: h.reservedShares, costCents, price: q?.price ?? null, valueCents,
      pnlCents: valueCents != null && costCents != null ? valueCents - costCents : null,
      dayCents: q && first != null ? total * (cents(q.price) - cents(first)) : null,
    };
  });
}

function sum(xs: (number | null)[]): number | null {
  let t = 0;
  for (const x of xs) { if (x == null) return null; t += x; }
  return t;
}

function Portfolio({ s, live }: { s: Summary; live: AccountLive }) {
  const rows = positions(s, live);
  const holdingsCents = sum(rows.map((r) => r.valueCents));
  const pnlCents = sum(rows.map((r) => r.pnlCents));
  const costCents = sum(rows.map((r) => r.costCents));
  const dayCents = sum(rows.map((r) => r.dayCents));
  const equityCents = holdingsCents == null ? null : cents(s.cash) + cents(s.reservedCash) + holdingsCents;
  const [amount, setAmount] = useState('');
  const [msg, setMsg] = useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function addFunds(e: React.FormEvent) {
    e.preventDefault();
    if (!AMOUNT.test(amount) || Number(amount) <= 0) { setMsg({ error: true, text: 'Amount: dollars with at most 2 decimals, more than 0' }); return; }
    setBusy(true);
    live.own.expect('HIST_ADD', undefined);
    const r = await live.send('add', { amount });
    setBusy(false);
    if (!r.ok) { setMsg({ error: true, text: `ADD refused: ${r.error}` }); return; }
    setMsg({ error: false, text: `${money(Number(amount))} added` });
    setAmount('');
  }

  return (
    <section className="card o1" aria-labelledby="portfolio-title">
      <h2 id="portfolio-title">Portfolio</h2>
      <dl className="figures">
        <div><dt>Total equity</dt><dd id="equity" className="big">{money(equityCents == null ? null : fromCents(equityCents))}</dd></div>
        <div><dt>Cash</dt><dd id="cash">{money(s.cash)}</dd></div>
        <div><dt>Reserved cash</dt><dd id="reserved">{money(s.reservedCash)}</dd></div>
        <div><dt>Holdings at live prices</dt><dd id="holdings-value">{money(holdingsCents == null ? null : fromCents(holdingsCents))}</dd></div>
        <div><dt>Profit / loss</dt><dd id="pnl" className={pnlClass(pnlCents)}>{signedMoney(pnlCents == null ? null : fromCents(pnlCents))}
          {pnlCents != null && costCents ? <small> {percent(pnlCents / costCents)}</small> : null}</dd></div>
        <div><dt>Day change</dt><dd id="day-change" className={pnlClass(dayCents)}>{signedMoney(dayCents == null ? null : fromCents(dayCents))}</dd></div>
      </dl>
      {holdingsCents == null && s.holdings.length > 0 && <p className="hint">Some holdings have no quote yet: equity and P&amp;L show once they do.</p>}
      <form className="inline" onSubmit={addFunds} noValidate>
        <label>Add funds <input id="add-amount" value={amount} inputMode="decimal" placeholder="1000.00" onChange={(e) => setAmount(e.target.value.trim())} /></label>
        <button id="add-submit" type="submit" disabled={busy}>Add</button>
      </form>
      {msg && <p id="add-message" role="status" className={msg.error ? 'error' : 'ok'}>{msg.text}</p>}
    </section>
  );
}

function Holdings({ s, live, onPick }: { s: Summary; live: AccountLive; onPick: (sym: string) => void }) {
  const rows = positions(s, live);
  return (
    <section className="card o4" aria-labelledby="holdings-title">
      <h2 id="holdings-title">Holdings</h2>
      <div className="table-wrap">
        <table id="holdings">
          <thead><tr><th>Symbol</th><th className="num">Shares</th><th className="num wide">Avg cost</th><th className="num">Price</th><th className="num">Value</th><th className="num">P&amp;L</th><th className="num wide">Day</th></tr></thead>
          <tbody>
            {rows.length === 0 ? <tr><td colSpan={7} className="hint">none</td></tr> : rows.map((r) => {
              const total = r.shares + r.reserved;
              return (
                <tr key={r.symbol} data-symbol={r.symbol}>
                  <td><button type="button" className="link" onClick={() => onPick(r.symbol)}>{r.symbol}</button></td>
                  <td className="num shares">{count(total)}{r.reserved ? <small> ({count(r.reserved)} reserved)</small> : null}</td>
                  <td className="num wide avg-cost">{r.costCents == null || total === 0 ? '–' : money(fromCents(r.costCents) / total)}</td>
                  <td className="num price">{money(r.price)}</td>
                  <td className="num value">{money(r.valueCents == null ? null : fromCents(r.valueCents))}</td>
                  <td className={`num pnl ${pnlClass(r.pnlCents)}`}>{signedMoney(r.pnlCents == null ? null : fromCents(r.pnlCents))}
                    {r.pnlCents != null && r.costCents ? <small> {percent(r.pnlCents / r.costCents)}</small> : null}</td>
                  <td className={`num wide ${pnlClass(r.dayCents)}`}>{signedMoney(r.dayCents == null ? null : fromCents(r.dayCents))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="hint">P&amp;L against the average cost of your own executed buys; day change since the first quote this page saw.</p>
    </section>
  );
}

function Pending({ s, live, receivedMs }: { s: Summary; live: AccountLive; receivedMs: number }) {
  const refreshed = useRef(new Set<number>());
  const [msg, setMsg] = useState<{ error: boolean; text: string } | null>(null);
  const now = Date.now();
  const left = (o: PendingOrder) => receivedMs + o.expiresInMs - now;

  useEffect(() => {
    // At zero the account is asked again: it expires the order before it answers, and the page shows it gone.
    const due = [...s.pendingBuys, ...s.pendingSells].filter((o) => left(o) <= 0 && !refreshed.current.has(o.orderId));
    if (due.length) { for (const o of due) refreshed.current.add(o.orderId); void live.refresh(); }
  });

  async function act(o: PendingOrder, side: 'buy' | 'sell', what: 'commit' | 'cancel') {
    live.own.orders.add(o.orderId);
    if (what === 'commit') live.own.expect(`HIST_${side.toUpperCase()}`, o.symbol);
    const r = await live.send(`${what}-${side}`);
    setMsg(r.ok ? { error: false, text: `${r.command} done` } : { error: true, text: `${r.command ?? what} refused: ${r.error}` });
  }

  const table = (side: 'buy' | 'sell', orders: PendingOrder[]) => {
    // COMMIT_* and CANCEL_* act on the newest pending order of a side (SPEC): only that one has the buttons.
    const newest = orders.length ? orders.reduce((a, b) => (a.orderId > b.orderId ? a : b)) : null;
    return (
      <div className="table-wrap">
        <table id={`pending-${side}s`}>
          <caption>{side === 'buy' ? 'Buys' : 'Sells'}</caption>
          <thead><tr><th>Symbol</th><th className="num">Shares</th><th className="num">Price</th><th className="num">Amount</th><th className="num">Left</th><th><span className="sr-only">actions</span></th></tr></thead>
          <tbody>
            {orders.length === 0 ? <tr><td colSpan={6} className="hint">none</td></tr> : orders.map((o) => {
              const ms = left(o);
              return (
                <tr key={o.orderId} data-symbol={o.symbol}>
                  <td>{o.symbol}</td><td className="num">{o.shares}</td><td className="num">{money(o.price)}</td><td className="num">{money(o.amount)}</td>
                  <td className="num"><span className={ms < 10_000 ? 'countdown soon' : 'countdown'}>{seconds(ms)}</span>
                    <progress max={60} value={Math.max(0, ms / 1000)} aria-hidden="true" /></td>
                  <td className="actions">{o === newest ? (
                    <>
                      <button type="button" className={`commit primary ${side}`} onClick={() => void act(o, side, 'commit')}>Commit</button>
                      <button type="button" className="cancel" onClick={() => void act(o, side, 'cancel')}>Cancel</button>
                    </>
                  ) : <span className="hint">older</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    );
  };

  return (
    <section className="card o3" aria-labelledby="pending-title">
      <h2 id="pending-title">Pending orders</h2>
      {table('buy', s.pendingBuys)}
      {table('sell', s.pendingSells)}
      {msg && <p id="pending-message" role="status" className={msg.error ? 'error' : 'ok'}>{msg.text}</p>}
    </section>
  );
}

function Triggers({ s, live }: { s: Summary; live: AccountLive }) {
  const [msg, setMsg] = useState<{ error: boolean; text: string } | null>(null);
  const rows = [
    ...s.buyTriggers.map((t) => ({ side: 'buy' as const, symbol: t.symbol, amount: t.reserve, price: t.price, shares: null as number | null })),
    ...s.sellTriggers.map((t) => ({ side: 'sell' as const, symbol: t.symbol, amount: t.amount, price: t.price, shares: t.reservedShares as number | null })),
  ];
  async function cancel(side: 'buy' | 'sell', symbol: string) {
    live.own.expect(side === 'buy' ? 'TRIGGER_BUY' : 'TRIGGER_SELL', symbol);
    const r = await live.send(`cancel-set-${side}`, { symbol });
    setMsg(r.ok ? { error: false, text: `${r.command} done` } : { error: true, text: `${r.command} refused: ${r.error}` });
  }
  return (
    <section className="card o6" aria-labelledby="triggers-title">
      <h2 id="triggers-title">Limit orders (triggers)</h2>
      <div className="table-wrap">
        <table id="triggers">
          <thead><tr><th>Side</th><th>Symbol</th><th className="num">Amount</th><th className="num">Trigger</th><th className="num">Now</th><th><span className="sr-only">actions</span></th></tr></thead>
          <tbody>
            {rows.length === 0 ? <tr><td colSpan={6} className="hint">none</td></tr> : rows.map((t) => {
              const q = live.quotes.get(t.symbol);
              return (
                <tr key={`${t.side}:${t.symbol}`} data-symbol={t.symbol} data-side={t.side}>
                  <td className={t.side}>{t.side === 'buy' ? 'Buy ≤' : 'Sell ≥'}</td>
                  <td>{t.symbol}</td>
                  <td className="num">{money(t.amount)}{t.shares ? <small> ({t.shares} sh reserved)</small> : null}</td>
                  <td className="num trigger-price">{t.price == null ? <span className="hint">not armed</span> : money(t.price)}</td>
                  <td className="num current-price">{money(q?.price)}</td>
                  <td className="actions"><button type="button" className="cancel" onClick={() => void cancel(t.side, t.symbol)}>Cancel</button></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {msg && <p id="triggers-message" role="status" className={msg.error ? 'error' : 'ok'}>{msg.text}</p>}
    </section>
  );
}

function History({ s, user }: { s: Summary; user: string }) {
  return (
    <section className="card o7" aria-labelledby="history-title">
      <h2 id="history-title">History <small>({count(s.historyTotal)} in all)</small></h2>
      <div className="table-wrap">
        <table id="history">
          <thead><tr><th>Time</th><th>What</th><th>Symbol</th><th className="num">Shares</th><th className="num wide">Price</th><th className="num">Amount</th><th>Tx</th></tr></thead>
          <tbody>
            {s.history.length === 0 ? <tr><td colSpan={7} className="hint">none</td></tr> : s.history.map((h) => (
              <tr key={`${h.txNum}:${h.kind}:${h.timestampMs}`} data-kind={h.kind}>
                <td title={dateTime(h.timestampMs)}>{time(h.timestampMs)}</td>
                <td>{KIND_LABEL[h.kind] ?? h.kind}</td>
                <td>{h.symbol ?? ''}</td>
                <td className="num">{h.shares || ''}</td>
                <td className="num wide">{h.price ? money(h.price) : ''}</td>
                <td className="num">{money(h.amount)}</td>
                <td><Tx tx={h.txNum} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p><a id="dumplog-link" href={`${accountPath(user)}/dumplog`}>Download my audit log (XML)</a></p>
    </section>
  );
}

function Watchlist({ s, live, user, symbol, onPick }: { s: Summary | null; live: AccountLive; user: string; symbol: string; onPick: (sym: string) => void }) {
  const storageKey = `daytrading.watch.${user}`;
  const [extra, setExtra] = useState<string[]>(() => { try { return JSON.parse(localStorage.getItem(storageKey) ?? '[]') as string[]; } catch { return []; } });
  const [input, setInput] = useState('');
  const [msg, setMsg] = useState<string | null>(null);
  const now = live.clock.now();
  const symbols = useMemo(() => {
    const set = new Set<string>(extra);
    if (s) for (const x of [...s.holdings, ...s.pendingBuys, ...s.pendingSells, ...s.buyTriggers, ...s.sellTriggers]) set.add(x.symbol);
    if (SYMBOL.test(symbol)) set.add(symbol);
    return [...set].sort();
  }, [s, extra, symbol]);

  function save(list: string[]) { setExtra(list); localStorage.setItem(storageKey, JSON.stringify(list)); }

  async function quote(sym: string) {
    const r = await live.send('quote', { symbol: sym });
    setMsg(r.ok ? null : `QUOTE refused: ${r.error}`);
  }

  async function add(e: React.FormEvent) {
    e.preventDefault();
    const sym = input.trim().toUpperCase();
    if (!SYMBOL.test(sym)) { setMsg('Symbol: 1-3 capital letters'); return; }
    if (!extra.includes(sym)) save([...extra, sym]);
    setInput('');
    onPick(sym);
    if (!live.quotes.has(sym)) await quote(sym);
  }

  return (
    <section className="card o5" aria-labelledby="watch-title">
      <h2 id="watch-title">Watchlist</h2>
      <form className="inline" onSubmit={add} noValidate>
        <label>Symbol <input id="watch-symbol" value={input} maxLength={3} placeholder="XYZ" onChange={(e) => setInput(e.target.value.toUpperCase().replace(/[^A-Z]/g, ''))} /></label>
        <button id="watch-add" type="submit">Watch</button>
      </form>
      {msg && <p className="error" role="alert">{msg}</p>}
      <div className="table-wrap">
        <table id="watchlist">
          <thead><tr><th>Symbol</th><th className="num">Last</th><th className="num">Age</th><th>Valid</th><th><span className="sr-only">actions</span></th></tr></thead>
          <tbody>
            {symbols.length === 0 ? <tr><td colSpan={5} className="hint">Add a symbol to follow its quotes.</td></tr> : symbols.map((sym) => {
              const q = live.quotes.get(sym);
              const validMs = q ? (q.expiresAtMs ?? q.timestampMs + 60_000) - now : 0;
              return (
                <tr key={sym} data-symbol={sym} className={sym === symbol ? 'selected' : ''}>
                  <td><button type="button" className="link" aria-pressed={sym === symbol} onClick={() => onPick(sym)}>{sym}</button></td>
                  <td className="num price">{money(q?.price)}</td>
                  <td className="num age">{q ? age(now - q.timestampMs) : '–'}</td>
                  <td className="validity">{!q ? '–' : validMs > 0 ? `${seconds(validMs)} left` : 'expired'}</td>
                  <td className="actions">
                    <button type="button" onClick={() => void quote(sym)} aria-label={`quote ${sym}`}>Quote</button>
                    {extra.includes(sym) && <button type="button" className="cancel" aria-label={`stop watching ${sym}`} onClick={() => save(extra.filter((x) => x !== sym))}>×</button>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {SYMBOL.test(symbol) && <Suspense fallback={<p className="hint">Loading the chart…</p>}><PriceChart symbol={symbol} onQuote={live.onQuote} /></Suspense>}
    </section>
  );
}

function Toasts({ live }: { live: AccountLive }) {
  const now = Date.now();
  const showing = live.notices.filter((n) => !n.dismissed && now - n.atMs < 10_000).slice(0, 4);
  return (
    <div id="toasts" aria-live="polite" aria-relevant="additions">
      {showing.map((n) => (
        <div key={n.id} className={`toast ${n.kind}`} role="status">
          <span>{n.text}</span>
          <button type="button" className="close" aria-label="dismiss" onClick={() => live.dismiss(n.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

function Notices({ live }: { live: AccountLive }) {
  return (
    <>
      <section className="card o8" aria-labelledby="notices-title">
        <h2 id="notices-title">Notices</h2>
        <ul id="notices">
          {live.notices.length === 0 ? <li className="hint">Expiries, filled limit orders and changes from elsewhere show here.</li>
            : live.notices.map((n) => <li key={n.id} className={n.kind}><time>{time(n.atMs)}</time> {n.text}</li>)}
        </ul>
      </section>
    </>
  );
}

/** The trader's page: portfolio, ticket, pending orders, limit orders, watchlist and chart, history, notices. */
export function AccountPage({ user, onRefused }: { user: string; onRefused: (text: string) => void }) {
  const live = useAccount(user);
  const [symbol, setSymbol] = useState('');
  useTick(1000);
  useEffect(() => { if (live.refused) onRefused(`Refused: ${live.refused}`); }, [live.refused, onRefused]);
  if (live.refused) return null;
  const s = live.summary;

  return (
    <div id="account" className="layout">
      <Toasts live={live} />
      <div className="col main-col">
        {live.missing && !s && <p id="no-account" className="card hint o1">No trading account yet: add funds to open it.</p>}
        {s ? <Portfolio s={s} live={live} /> : live.missing ? <Portfolio s={emptySummary(user)} live={live} /> : <p className="card hint o1">Loading…</p>}
        {s && <Holdings s={s} live={live} onPick={setSymbol} />}
        {s && <Pending s={s} live={live} receivedMs={live.receivedMs} />}
        {s && <Triggers s={s} live={live} />}
        {s && <History s={s} user={user} />}
      </div>
      <div className="col side-col">
        <Ticket live={live} summary={s} symbol={symbol} onSymbol={setSymbol} />
        <Watchlist s={s} live={live} user={user} symbol={symbol} onPick={setSymbol} />
        <Notices live={live} />
      </div>
    </div>
  );
}
