import { useEffect, useRef, useState } from 'react';
import { AreaSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import { api, type HistoryPoint, type QuoteMsg } from './api';
import { money } from './format';

interface Props { symbol: string; onQuote: (f: (q: QuoteMsg) => void) => () => void }

interface HistoryReply { symbol: string; serverNowMs: number; points: HistoryPoint[] }

// The chart's time axis is in seconds and strictly increasing: quotes within one second keep the last price.
function toData(points: HistoryPoint[]) {
  const bySecond = new Map<number, number>();
  for (const p of points) bySecond.set(Math.floor(p.timestampMs / 1000), p.price);
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ time: t as UTCTimestamp, value: v }));
}

/** A time-axis price chart of one symbol: the quotes the cluster has seen (the node's bounded history), then live. */
export function PriceChart({ symbol, onQuote }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<'Area'> | null>(null);
  const last = useRef(0);
  const [points, setPoints] = useState(0);

  useEffect(() => {
    if (!box.current) return;
    const c = createChart(box.current, {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#334155', fontFamily: 'system-ui, sans-serif', attributionLogo: false },
      grid: { vertLines: { color: '#f1f5f9' }, horzLines: { color: '#f1f5f9' } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#cbd5e1' },
      rightPriceScale: { borderColor: '#cbd5e1' },
      localization: { priceFormatter: (p: number) => money(p) },
    });
    chart.current = c;
    series.current = c.addSeries(AreaSeries, { lineColor: '#2563eb', topColor: 'rgba(37,99,235,0.25)', bottomColor: 'rgba(37,99,235,0.02)', lineWidth: 2 });
    return () => { c.remove(); chart.current = null; series.current = null; };
  }, []);

  useEffect(() => {
    let stale = false;
    last.current = 0;
    series.current?.setData([]);
    setPoints(0);
    void api<HistoryReply>('GET', `/api/quotes/${encodeURIComponent(symbol)}/history`).then((r) => {
      if (stale || !r.ok || !r.data || !series.current) return;
      const data = toData(r.data.points);
      series.current.setData(data);
      last.current = data.length ? data[data.length - 1].time : 0;
      setPoints(data.length);
      chart.current?.timeScale().fitContent();
    });
    const off = onQuote((q) => {
      if (q.symbol !== symbol || !series.current) return;
      const t = Math.floor(q.timestampMs / 1000);
      if (t < last.current) return;
      series.current.update({ time: t as UTCTimestamp, value: q.price });
      if (t > last.current) setPoints((n) => n + 1);
      last.current = t;
      chart.current?.timeScale().fitContent();
    });
    return () => { stale = true; off(); };
  }, [symbol, onQuote]);

  return (
    <figure className="chart" aria-label={`price chart of ${symbol}`}>
      <div ref={box} className="chart-box" data-points={points} />
      <figcaption>{points === 0 ? `No quotes of ${symbol} seen yet` : `${symbol}: ${points} quote${points === 1 ? '' : 's'} seen`}</figcaption>
    </figure>
  );
}
