#!/usr/bin/env python3
"""How late expiries and trigger fires were, read from a system-wide DUMPLOG (the audit log).

Usage: python3 scripts/latency-from-dump.py <dump.xml> [--worst N]

Expiry lateness: a `systemEvent` BUY/SELL (an expiry; its transactionNum is the BUY's/SELL's) minus the BUY's/SELL's
own userCommand timestamp + 60 s (its deadline).

Trigger fire latency: a `systemEvent` SET_BUY_TRIGGER/SET_SELL_TRIGGER (an execution; its transactionNum is the
command that armed that version of the trigger) minus the first moment from the arming on at which a quote-server
hit for the symbol that crosses the trigger price was both seen (the hit's `timestamp`) and still valid (its
`quoteServerTime` + 60 s): the moment the engine could have fired. Nothing is sampled: every expiry and fire counts.
"""
import sys
import xml.etree.ElementTree as ET

VALIDITY_MS = 60_000
LIFETIME_MS = 60_000


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(name, values):
    if not values:
        print(f"{name}: none")
        return
    over = lambda t: sum(1 for v in values if v > t)
    print(f"{name}: n={len(values)} p50={pct(values, 50)} ms p90={pct(values, 90)} ms p99={pct(values, 99)} ms "
          f"max={max(values)} ms; >1 s: {over(1000)}, >2 s: {over(2000)}")


def main():
    path = sys.argv[1]
    worst = int(sys.argv[sys.argv.index("--worst") + 1]) if "--worst" in sys.argv else 0
    entries = []
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag in ("userCommand", "systemEvent", "quoteServer", "errorEvent", "accountTransaction"):
            entries.append((el.tag, {c.tag: c.text for c in el}))
            el.clear()

    issued = {}            # (user, tx) -> ts of a successful BUY/SELL
    armed_at = {}          # (user, tx) -> ts of a successful SET_* command
    price = {}             # (user, side, sym) -> trigger price
    quotes = {}            # sym -> [(seen ts, price, quote time)]
    expiry_late, fire_late, unknown = [], [], 0
    worst_fires = []
    for i, (tag, e) in enumerate(entries):
        if tag == "userCommand":
            nxt = entries[i + 1] if i + 1 < len(entries) else None
            failed = nxt is not None and nxt[0] == "errorEvent" and nxt[1].get("transactionNum") == e.get("transactionNum") \
                and nxt[1].get("username") == e.get("username") and nxt[1].get("command") == e.get("command")
            if failed:
                continue
            cmd, user, tx, ts = e["command"], e.get("username"), e["transactionNum"], int(e["timestamp"])
            sym = e.get("stockSymbol")
            if cmd in ("BUY", "SELL"):
                issued[(user, tx)] = ts
            elif cmd in ("SET_BUY_AMOUNT", "SET_BUY_TRIGGER", "SET_SELL_AMOUNT", "SET_SELL_TRIGGER"):
                armed_at[(user, tx)] = ts
                if cmd.endswith("_TRIGGER"):
                    price[(user, "BUY" if "BUY" in cmd else "SELL", sym)] = float(e["funds"])
            elif cmd in ("CANCEL_SET_BUY", "CANCEL_SET_SELL"):
                price.pop((user, "BUY" if "BUY" in cmd else "SELL", sym), None)
        elif tag == "quoteServer":
            quotes.setdefault(e["stockSymbol"], []).append((int(e["timestamp"]), float(e["price"]), int(e["quoteServerTime"])))
        elif tag == "systemEvent":
            cmd, user, tx, ts = e["command"], e.get("username"), e["transactionNum"], int(e["timestamp"])
            if cmd in ("BUY", "SELL"):
                if (user, tx) in issued:
                    expiry_late.append(ts - (issued[(user, tx)] + LIFETIME_MS))
            elif cmd in ("SET_BUY_TRIGGER", "SET_SELL_TRIGGER"):
                side = "BUY" if "BUY" in cmd else "SELL"
                sym = e.get("stockSymbol")
                p = price.pop((user, side, sym), None)
                a = armed_at.get((user, tx))
                if p is None or a is None:
                    unknown += 1
                    continue
                due = None
                for seen, qp, qt in quotes.get(sym, []):
                    crosses = qp <= p if side == "BUY" else qp >= p
                    start = max(a, seen)
                    if crosses and start < qt + VALIDITY_MS and start <= ts and (due is None or start < due):
                        due = start
                if due is None:
                    unknown += 1
                    continue
                fire_late.append(ts - due)
                worst_fires.append((ts - due, user, sym, tx, a, due, ts))
    summary("expiry lateness (release - deadline)", expiry_late)
    summary("trigger fire latency (fire - first crossing valid quote seen while armed)", fire_late)
    if unknown:
        print(f"trigger fires without a matching arming or crossing quote in the dump: {unknown}")
    for w in sorted(worst_fires, reverse=True)[:worst]:
        print("  late fire: %d ms user=%s sym=%s armingTx=%s armed=%d due=%d fired=%d" % w)


if __name__ == "__main__":
    main()
