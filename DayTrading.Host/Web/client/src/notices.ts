import type { HistoryEntry, PendingOrder, Summary } from './api';
import { money, shortTx } from './format';

export type NoticeKind = 'expired' | 'trigger' | 'elsewhere' | 'info' | 'error';

export interface Notice { id: number; kind: NoticeKind; text: string; atMs: number; dismissed?: boolean }

/**
 * What this page itself asked for, so that a change it caused is not announced as news: the transaction numbers it
 * sent, the pending orders it committed or cancelled, and the (command, symbol) pairs whose answer is still on the way.
 */
export class OwnActions {
  readonly txs = new Set<number>();
  readonly orders = new Set<number>();
  private readonly expected: { what: string; untilMs: number }[] = [];

  expect(what: string, symbol: string | undefined) {
    this.expected.push({ what: `${what}:${symbol ?? ''}`, untilMs: Date.now() + 15_000 });
  }

  take(what: string, symbol: string | undefined): boolean {
    const now = Date.now();
    const key = `${what}:${symbol ?? ''}`;
    for (let i = this.expected.length - 1; i >= 0; i--) if (this.expected[i].untilMs < now) this.expected.splice(i, 1);
    const i = this.expected.findIndex((e) => e.what === key);
    if (i < 0) return false;
    this.expected.splice(i, 1);
    return true;
  }
}

const key = (h: HistoryEntry) => `${h.txNum}:${h.kind}:${h.timestampMs}:${h.symbol ?? ''}`;

function describe(h: HistoryEntry): string {
  switch (h.kind) {
    case 'ADD': return `${money(h.amount)} added`;
    case 'BUY': return `bought ${h.shares} ${h.symbol} at ${money(h.price)} (${money(h.amount)})`;
    case 'SELL': return `sold ${h.shares} ${h.symbol} at ${money(h.price)} (${money(h.amount)})`;
    case 'AUTOBUY': return `limit buy filled: ${h.shares} ${h.symbol} at ${money(h.price)} (${money(h.amount)})`;
    case 'AUTOSELL': return `limit sell filled: ${h.shares} ${h.symbol} at ${money(h.price)} (${money(h.amount)})`;
    default: return `${h.kind} ${h.symbol ?? ''}`;
  }
}

/**
 * The notices a new account state brings compared with the one before: a filled limit order, a pending order that
 * expired (its reservation returned), and any change this page did not make (the TCP edge, another tab, a workload).
 * <paramref name="prevReceivedMs"/> is when the previous state arrived, so an order's expiry can be told from a cancel.
 */
export function noticesFor(prev: Summary | null, next: Summary, prevReceivedMs: number, nowMs: number, own: OwnActions): Omit<Notice, 'id'>[] {
  if (!prev) return [];
  const out: Omit<Notice, 'id'>[] = [];
  const seen = new Set(prev.history.map(key));
  const fresh = next.history.filter((h) => !seen.has(key(h)));
  const filledSymbols = new Set<string>();
  for (const h of fresh.reverse()) {
    if (h.kind === 'AUTOBUY' || h.kind === 'AUTOSELL') {
      out.push({ kind: 'trigger', text: `Trigger fired — ${describe(h)}`, atMs: nowMs });
      continue;
    }
    if (h.symbol) filledSymbols.add(`${h.kind}:${h.symbol}:${h.shares}`);
    // The page's own ADD or COMMIT may be told by the feed before its HTTP answer (with the number) is back: each
    // command's expectation is used up once, whichever way it is recognised.
    const expected = own.take(`HIST_${h.kind}`, h.symbol);
    if (!own.txs.has(h.txNum) && !expected) out.push({ kind: 'elsewhere', text: `From another channel (tx ${shortTx(h.txNum)}): ${describe(h)}`, atMs: nowMs });
  }

  const gone = (before: PendingOrder[], after: PendingOrder[], side: 'buy' | 'sell') => {
    const still = new Set(after.map((o) => o.orderId));
    for (const o of before) {
      if (still.has(o.orderId) || own.orders.has(o.orderId)) continue;
      if (filledSymbols.has(`${side.toUpperCase()}:${o.symbol}:${o.shares}`)) continue; // committed: announced above
      const expiredBy = prevReceivedMs + o.expiresInMs;
      if (nowMs >= expiredBy - 2_000) {
        out.push({
          kind: 'expired',
          text: side === 'buy'
            ? `Your buy of ${o.shares} ${o.symbol} expired uncommitted; ${money(o.amount)} returned to cash`
            : `Your sell of ${o.shares} ${o.symbol} expired uncommitted; the shares are yours again`,
          atMs: nowMs,
        });
      } else {
        out.push({ kind: 'elsewhere', text: `From another channel: your pending ${side} of ${o.symbol} was cancelled`, atMs: nowMs });
      }
    }
  };
  gone(prev.pendingBuys, next.pendingBuys, 'buy');
  gone(prev.pendingSells, next.pendingSells, 'sell');

  const arrived = (before: PendingOrder[], after: PendingOrder[], side: 'BUY' | 'SELL') => {
    const had = new Set(before.map((o) => o.orderId));
    for (const o of after) {
      if (had.has(o.orderId) || own.take(side, o.symbol)) continue;
      out.push({ kind: 'elsewhere', text: `From another channel: ${side} of ${o.shares} ${o.symbol} for ${money(o.amount)} is pending`, atMs: nowMs });
    }
  };
  arrived(prev.pendingBuys, next.pendingBuys, 'BUY');
  arrived(prev.pendingSells, next.pendingSells, 'SELL');

  const triggers = (s: Summary) => new Map([
    ...s.buyTriggers.map((t) => [`buy:${t.symbol}`, `${t.reserve}:${t.price ?? ''}`] as const),
    ...s.sellTriggers.map((t) => [`sell:${t.symbol}`, `${t.amount}:${t.price ?? ''}`] as const),
  ]);
  const tb = triggers(prev), ta = triggers(next);
  const firedSymbols = new Set(fresh.filter((h) => h.kind.startsWith('AUTO')).map((h) => `${h.kind === 'AUTOBUY' ? 'buy' : 'sell'}:${h.symbol}`));
  for (const k of new Set([...tb.keys(), ...ta.keys()])) {
    if (tb.get(k) === ta.get(k) || firedSymbols.has(k)) continue;
    const [side, symbol] = k.split(':');
    if (own.take(`TRIGGER_${side.toUpperCase()}`, symbol)) continue;
    out.push({ kind: 'elsewhere', text: `From another channel: your ${side} trigger for ${symbol} was ${ta.has(k) ? (tb.has(k) ? 'changed' : 'set') : 'cancelled'}`, atMs: nowMs });
  }
  return out;
}
