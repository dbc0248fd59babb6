import { useState } from 'react';
import type { Summary } from './api';
import { AMOUNT, age, cents, fromCents, money, SYMBOL } from './format';
import type { AccountLive } from './live';

type Side = 'buy' | 'sell';
type Kind = 'market' | 'limit';

interface Props { live: AccountLive; summary: Summary | null; symbol: string; onSymbol: (s: string) => void }

interface Message { error: boolean; text: string }

/**
 * The order ticket: Buy / Sell, dollars in, shares and cost previewed from the current quote; a market order is
 * confirmed, then reserved for 60 s (commit or cancel it in Pending orders); a limit order (buy at or below, sell at or
 * above a price) is one form that sends SET_*_AMOUNT and then SET_*_TRIGGER.
 */
export function Ticket({ live, summary, symbol, onSymbol }: Props) {
  const [side, setSide] = useState<Side>('buy');
  const [kind, setKind] = useState<Kind>('market');
  const [dollars, setDollars] = useState('');
  const [limit, setLimit] = useState('');
  const [step, setStep] = useState<'edit' | 'confirm'>('edit');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message | null>(null);

  const quote = live.quotes.get(symbol);
  const now = live.clock.now();
  const quoteValid = quote ? (quote.expiresAtMs ?? quote.timestampMs + 60_000) > now : false;
  const symbolOk = SYMBOL.test(symbol);
  const dollarsOk = AMOUNT.test(dollars) && Number(dollars) > 0;
  const limitOk = AMOUNT.test(limit) && Number(limit) > 0;
  const priceCents = quote ? cents(quote.price) : 0;
  const shares = quote && dollarsOk && priceCents > 0 ? Math.floor(cents(Number(dollars)) / priceCents) : 0;
  const costCents = shares * priceCents;
  const held = summary?.holdings.find((h) => h.symbol === symbol)?.shares ?? 0;

  const problem = !symbolOk ? 'Symbol: 1-3 capital letters'
    : !dollarsOk ? 'Amount: dollars with at most 2 decimals, more than 0'
    : kind === 'limit' && !limitOk ? 'Limit price: dollars with at most 2 decimals, more than 0'
    : null;

  async function getQuote() {
    if (!symbolOk) { setMessage({ error: true, text: 'Symbol: 1-3 capital letters' }); return; }
    setBusy(true);
    const r = await live.send('quote', { symbol });
    setBusy(false);
    if (!r.ok) setMessage({ error: true, text: `QUOTE refused: ${r.error}` });
  }

  async function review() {
    if (problem) { setMessage({ error: true, text: problem }); return; }
    setMessage(null);
    if (kind === 'market' && !quoteValid) await getQuote();
    setStep('confirm');
  }

  async function place() {
    setBusy(true);
    try {
      if (kind === 'market') {
        live.own.expect(side.toUpperCase(), symbol);
        const r = await live.send(side, { symbol, amount: dollars });
        if (!r.ok) { setMessage({ error: true, text: `${side.toUpperCase()} refused: ${r.error}` }); return; }
        const got = r.result;
        setMessage({ error: false, text: `${side === 'buy' ? 'Buy' : 'Sell'} of ${got?.shares ?? '?'} ${symbol} at ${money(got?.price)} reserved: commit it within 60 s (Pending orders)` });
      } else {
        const amountCmd = side === 'buy' ? 'set-buy-amount' : 'set-sell-amount';
        const triggerCmd = side === 'buy' ? 'set-buy-trigger' : 'set-sell-trigger';
        const cancelCmd = side === 'buy' ? 'cancel-set-buy' : 'cancel-set-sell';
        const tag = side === 'buy' ? 'TRIGGER_BUY' : 'TRIGGER_SELL';
        live.own.expect(tag, symbol);
        const a = await live.send(amountCmd, { symbol, amount: dollars });
        if (!a.ok) { setMessage({ error: true, text: `${a.command ?? amountCmd} refused: ${a.error}` }); return; }
        live.own.expect(tag, symbol);
        const t = await live.send(triggerCmd, { symbol, amount: limit });
        if (!t.ok) {
          // Half a limit order is not what was asked for: take the amount back so nothing stays reserved.
          live.own.expect(tag, symbol);
          await live.send(cancelCmd, { symbol });
          setMessage({ error: true, text: `${t.command ?? triggerCmd} refused: ${t.error}; the amount was taken back` });
          return;
        }
        setMessage({ error: false, text: `Limit ${side} armed: ${side === 'buy' ? 'buy' : 'sell'} ${money(Number(dollars))} of ${symbol} when the price is ${side === 'buy' ? 'at or below' : 'at or above'} ${money(Number(limit))}` });
      }
      setDollars('');
      setLimit('');
    } finally {
      setBusy(false);
      setStep('edit');
    }
  }

  return (
    <section className="card o2" id="ticket" aria-labelledby="ticket-title">
      <h2 id="ticket-title">Order ticket</h2>
      <div className="tabs" role="tablist" aria-label="side">
        {(['buy', 'sell'] as const).map((s) => (
          <button key={s} id={`ticket-${s}`} role="tab" type="button" aria-selected={side === s} className={side === s ? `tab active ${s}` : 'tab'}
            onClick={() => { setSide(s); setStep('edit'); setMessage(null); }}>{s === 'buy' ? 'Buy' : 'Sell'}</button>
        ))}
      </div>
      <fieldset className="kind" disabled={step === 'confirm'}>
        <legend className="sr-only">Order type</legend>
        <label><input type="radio" id="ticket-market" name="kind" checked={kind === 'market'} onChange={() => setKind('market')} /> Market (60 s to commit)</label>
        <label><input type="radio" id="ticket-limit" name="kind" checked={kind === 'limit'} onChange={() => setKind('limit')} /> Limit</label>
      </fieldset>
      <form noValidate onSubmit={(e) => { e.preventDefault(); if (step === 'edit') void review(); else void place(); }}>
        <fieldset disabled={step === 'confirm' || busy} className="fields">
          <label>Symbol
            <input id="ticket-symbol" value={symbol} maxLength={3} autoComplete="off" placeholder="ABC" aria-invalid={symbol !== '' && !symbolOk}
              onChange={(e) => onSymbol(e.target.value.toUpperCase().replace(/[^A-Z]/g, ''))} />
          </label>
          <label>Amount in dollars
            <input id="ticket-dollars" value={dollars} inputMode="decimal" autoComplete="off" placeholder="1000.00" onChange={(e) => setDollars(e.target.value.trim())} />
          </label>
          {kind === 'limit' && (
            <label>{side === 'buy' ? 'Buy when the price is at or below' : 'Sell when the price is at or above'}
              <input id="ticket-limit-price" value={limit} inputMode="decimal" autoComplete="off" placeholder="100.00" onChange={(e) => setLimit(e.target.value.trim())} />
            </label>
          )}
        </fieldset>
        <div id="ticket-preview" className="preview" aria-live="polite">
          {!symbolOk ? <span className="hint">Enter a symbol for a quote.</span>
            : !quote ? <span className="hint">No quote of {symbol} yet. <button id="ticket-quote" type="button" className="link" onClick={() => void getQuote()} disabled={busy}>Get quote</button></span>
            : (
              <>
                <span>{symbol} <strong className="quote-price">{money(quote.price)}</strong> <span className={quoteValid ? 'age' : 'age stale'}>{age(now - quote.timestampMs)}{quoteValid ? '' : ', expired'}</span>{' '}
                  <button id="ticket-quote" type="button" className="link" onClick={() => void getQuote()} disabled={busy}>Refresh</button></span>
                {kind === 'market' && dollarsOk && (
                  <span id="ticket-estimate">≈ <strong>{shares}</strong> share{shares === 1 ? '' : 's'} for <strong>{money(fromCents(costCents))}</strong>
                    {side === 'sell' && <> (you hold {held})</>}</span>
                )}
              </>
            )}
        </div>
        {step === 'edit' ? (
          <button id="ticket-review" type="submit" className={`primary ${side}`} disabled={busy}>Review {side} order</button>
        ) : (
          <div className="confirm" role="group" aria-label="confirm the order">
            <p id="ticket-confirm-text">
              {kind === 'market'
                ? <>{side === 'buy' ? 'Buy' : 'Sell'} about {shares} {symbol} for {money(fromCents(costCents))} at the live quote ({quote ? money(quote.price) : 'to be fetched'}). The order is held for 60 s: commit it to trade, or it expires.</>
                : <>Reserve {money(Number(dollars))} now and {side} {symbol} when its price is {side === 'buy' ? 'at or below' : 'at or above'} {money(Number(limit))}.</>}
            </p>
            <button id="ticket-place" type="submit" className={`primary ${side}`} disabled={busy} autoFocus>Place {side} order</button>
            <button id="ticket-back" type="button" onClick={() => setStep('edit')} disabled={busy}>Back</button>
          </div>
        )}
      </form>
      {message && <p id="ticket-message" role="status" className={message.error ? 'error' : 'ok'}>{message.text}</p>}
    </section>
  );
}
