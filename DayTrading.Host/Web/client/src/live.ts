import { useCallback, useEffect, useRef, useState } from 'react';
import { accountPath, api, command, errorText, type CommandResult, type QuoteMsg, type Summary } from './api';
import { noticesFor, OwnActions, type Notice, type NoticeKind } from './notices';

export interface LiveQuote extends QuoteMsg { receivedMs: number }

type QuoteListener = (q: QuoteMsg) => void;

/** The node's clock as this page sees it: quotes carry serverNowMs, so ages hold even against a test clock. */
export class ServerClock {
  private offsetMs = 0;
  observe(serverNowMs: number | undefined) { if (serverNowMs) this.offsetMs = serverNowMs - Date.now(); }
  now() { return Date.now() + this.offsetMs; }
}

export interface AccountLive {
  summary: Summary | null;
  receivedMs: number;
  missing: boolean;
  refused: string | null;
  quotes: Map<string, LiveQuote>;
  firstPrices: Map<string, number>;
  notices: Notice[];
  own: OwnActions;
  clock: ServerClock;
  refresh: () => Promise<void>;
  /** One account command of this page; its transaction number is remembered as the page's own. */
  send: (name: string, args?: { symbol?: string; amount?: string }) => Promise<CommandResult>;
  notify: (kind: NoticeKind, text: string) => void;
  dismiss: (id: number) => void;
  onQuote: (f: QuoteListener) => () => void;
}

let nextNoticeId = 1;

/** The account of <paramref name="user"/>, live: its books over server-sent events, every quote, and the notices. */
export function useAccount(user: string): AccountLive {
  const [summary, setSummary] = useState<Summary | null>(null);
  const [receivedMs, setReceivedMs] = useState(0);
  const [missing, setMissing] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const [quotes, setQuotes] = useState<Map<string, LiveQuote>>(new Map());
  const [notices, setNotices] = useState<Notice[]>([]);
  const prev = useRef<{ s: Summary | null; at: number }>({ s: null, at: 0 });
  const own = useRef(new OwnActions()).current;
  const clock = useRef(new ServerClock()).current;
  const firstPrices = useRef(new Map<string, number>()).current;
  const listeners = useRef(new Set<QuoteListener>()).current;

  const notify = useCallback((kind: NoticeKind, text: string) => {
    setNotices((n) => [{ id: nextNoticeId++, kind, text, atMs: Date.now() }, ...n].slice(0, 50));
  }, []);

  const apply = useCallback((next: Summary) => {
    const now = Date.now();
    const found = noticesFor(prev.current.s, next, prev.current.at, now, own);
    prev.current = { s: next, at: now };
    setSummary(next);
    setReceivedMs(now);
    setMissing(false);
    if (found.length) setNotices((n) => [...found.map((f) => ({ ...f, id: nextNoticeId++ })), ...n].slice(0, 50));
  }, [own]);

  const addQuote = useCallback((q: QuoteMsg) => {
    clock.observe(q.serverNowMs);
    if (!firstPrices.has(q.symbol)) firstPrices.set(q.symbol, q.price);
    setQuotes((m) => {
      const old = m.get(q.symbol);
      if (old && old.timestampMs > q.timestampMs) return m;
      const copy = new Map(m);
      copy.set(q.symbol, { ...q, receivedMs: Date.now() });
      return copy;
    });
    for (const f of listeners) f(q);
  }, [clock, firstPrices, listeners]);

  // No account yet: its first books are compared with empty ones, so that first change is recognised (or announced).
  const noAccount = useCallback((user: string) => {
    if (!prev.current.s) prev.current = { s: emptySummary(user), at: Date.now() };
    setMissing(true);
  }, []);

  const refresh = useCallback(async () => {
    const r = await api<Summary & { error?: string }>('GET', accountPath(user));
    if (r.status === 401 || r.status === 403) { setRefused(errorText(r)); return; }
    if (r.status === 404) { noAccount(user); return; }
    // The GET answers with DISPLAY_SUMMARY's document (no cost basis): it opens the page; afterwards the live feed,
    // which carries the web view of the books, is the only source, and a GET only makes the account expire what is due.
    if (r.ok && r.data && !prev.current.s) apply(r.data);
  }, [user, apply, noAccount]);

  useEffect(() => {
    let closed = false;
    prev.current = { s: null, at: 0 };
    setSummary(null);
    setRefused(null);
    void (async () => {
      await refresh();
      const q = await api<QuoteMsg[]>('GET', '/api/quotes');
      if (!closed && q.ok && q.data) for (const x of q.data) addQuote(x);
    })();
    const es = new EventSource(accountPath(user) + '/events');
    es.addEventListener('account', (e) => apply(JSON.parse((e as MessageEvent<string>).data) as Summary));
    es.addEventListener('noaccount', () => noAccount(user));
    es.addEventListener('quote', (e) => addQuote(JSON.parse((e as MessageEvent<string>).data) as QuoteMsg));
    return () => { closed = true; es.close(); };
  }, [user, refresh, apply, addQuote, noAccount]);

  const send = useCallback(async (name: string, args: { symbol?: string; amount?: string } = {}) => {
    const r = await command(user, name, args);
    if (r.txNum) own.txs.add(r.txNum);
    return r;
  }, [user, own]);

  const dismiss = useCallback((id: number) => setNotices((n) => n.map((x) => (x.id === id ? { ...x, dismissed: true } : x))), []);
  const onQuote = useCallback((f: QuoteListener) => { listeners.add(f); return () => { listeners.delete(f); }; }, [listeners]);

  return { summary, receivedMs, missing, refused, quotes, firstPrices, notices, own, clock, refresh, send, notify, dismiss, onQuote };
}

export function emptySummary(user: string): Summary {
  return { user, cash: 0, reservedCash: 0, holdings: [], pendingBuys: [], pendingSells: [], buyTriggers: [], sellTriggers: [], historyTotal: 0, history: [] };
}
