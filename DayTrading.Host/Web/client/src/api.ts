// The node's REST API and live feed (README "Web front end"). Money arrives as JSON numbers written from C# decimals
// (two decimals at most); amounts go back as the text the user typed, so no float ever decides a trade.

export interface Holding { symbol: string; shares: number; reservedShares: number; cost?: number }
export interface PendingOrder { orderId: number; symbol: string; shares: number; price: number; amount: number; expiresInMs: number }
export interface BuyTrigger { symbol: string; reserve: number; price?: number }
export interface SellTrigger { symbol: string; amount: number; price?: number; reservedShares: number }
export interface HistoryEntry { timestampMs: number; kind: string; symbol?: string; shares: number; price: number; amount: number; txNum: number }

export interface Summary {
  user: string;
  cash: number;
  reservedCash: number;
  holdings: Holding[];
  pendingBuys: PendingOrder[];
  pendingSells: PendingOrder[];
  buyTriggers: BuyTrigger[];
  sellTriggers: SellTrigger[];
  historyTotal: number;
  history: HistoryEntry[];
}

export interface QuoteMsg { symbol: string; price: number; timestampMs: number; expiresAtMs?: number; serverNowMs?: number }
export interface HistoryPoint { timestampMs: number; price: number }
export interface Me { userId: string; admin: boolean }

export interface CommandResult {
  ok: boolean;
  txNum?: number;
  command?: string;
  error?: string;
  reason?: string;
  result?: { shares?: number; symbol?: string; price?: number; amount?: number; quoteTimeMs?: number } | null;
}

export interface ApiReply<T> { status: number; ok: boolean; data: T | null }

let csrfToken: string | null = null;

export async function refreshCsrf(): Promise<void> {
  const r = await fetch('/api/csrf', { credentials: 'same-origin' });
  csrfToken = ((await r.json()) as { token: string }).token;
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiReply<T>> {
  if (method !== 'GET' && !csrfToken) await refreshCsrf();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    headers['X-CSRF-TOKEN'] = csrfToken ?? '';
  }
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  let data: T | null = null;
  try { data = (await r.json()) as T; } catch { data = null; }
  return { status: r.status, ok: r.ok, data };
}

export const accountPath = (user: string) => '/api/accounts/' + encodeURIComponent(user);

/** One account command (POST /api/accounts/{user}/{command}); the answer, refused or not. */
export async function command(user: string, name: string, args: { symbol?: string; amount?: string } = {}): Promise<CommandResult> {
  const r = await api<CommandResult>('POST', `${accountPath(user)}/${name}`, args);
  if (r.data) return r.data;
  return { ok: false, error: `refused (${r.status})` };
}

export function errorText(r: { data: { error?: string } | null; status: number }): string {
  return r.data?.error ?? `refused (${r.status})`;
}
