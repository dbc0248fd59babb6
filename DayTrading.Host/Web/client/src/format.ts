// Display rules and the input rules of SPEC §1 (checked here for a quick answer; the node checks again).

export const AMOUNT = /^\d{1,10}(\.\d{1,2})?$/;
export const SYMBOL = /^[A-Z]{1,3}$/;
export const USER = /^[A-Za-z0-9_-]{1,64}$/;

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const signedUsd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', signDisplay: 'exceptZero' });
const pct = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
const int = new Intl.NumberFormat('en-US');

export const money = (v: number | null | undefined) => (v == null || Number.isNaN(v) ? '–' : usd.format(v));
export const signedMoney = (v: number | null | undefined) => (v == null || Number.isNaN(v) ? '–' : signedUsd.format(v));
export const percent = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '–' : pct.format(v));
export const count = (v: number) => int.format(v);

/** Cents as an integer: sums of money in the page are done in cents, not in floats. */
export const cents = (v: number) => Math.round(v * 100);
export const fromCents = (c: number) => c / 100;

/** A transaction number as its last digits (the full one is the title and what is copied). */
export const shortTx = (tx: number | string) => {
  const s = String(tx);
  return s.length > 5 ? '…' + s.slice(-5) : s;
};

export const time = (ms: number) => new Date(ms).toLocaleTimeString('en-US', { hour12: false });
export const dateTime = (ms: number) => new Date(ms).toLocaleString('en-US', { hour12: false });

export function seconds(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${s} s`;
}

export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s old` : `${Math.floor(s / 60)} min old`;
}

export const pnlClass = (v: number | null | undefined) => (v == null || v === 0 ? '' : v > 0 ? 'up' : 'down');

export const KIND_LABEL: Record<string, string> = {
  ADD: 'Funds added',
  BUY: 'Bought',
  SELL: 'Sold',
  AUTOBUY: 'Limit buy filled',
  AUTOSELL: 'Limit sell filled',
};
