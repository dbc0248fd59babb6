#!/usr/bin/env bash
# One benchmark run: a fresh single node (Release) on a temp data directory, one Loadgen replay against it, the
# node's figures (quote hits, expiry lateness and trigger fire latency from the final DUMPLOG, peak memory) printed
# after the Loadgen's own report.
# Usage: bash scripts/bench.sh <workload file> [node options…] [-- loadgen replay options…]
# e.g.   bash scripts/bench.sh ../shared/workloads/10User_testWorkLoad
#        bash scripts/bench.sh /tmp/w1200k.txt --audit false -- --connections 8
set -euo pipefail
cd "$(dirname "$0")/.."
workload=$1; shift
node_args=(); lg_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; lg_args=("$@"); break; fi
  node_args+=("$1"); shift
done

dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly >/dev/null
data=$(mktemp -d /tmp/daytrading-bench.XXXXXX)
port=$((20000 + RANDOM % 20000))
dotnet DayTrading.Host/bin/Release/net10.0/DayTrading.Host.dll --data-dir "$data" --tcp-port "$port" --cluster-port 0 \
  --log-level Warning "${node_args[@]}" >"$data/node.out" 2>&1 &
node=$!
trap 'kill -TERM $node 2>/dev/null || true; wait $node 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do grep -q "ready:" "$data/node.out" && break; sleep 0.5; done
grep "ready:" "$data/node.out"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet DayTrading.Loadgen/bin/Release/net10.0/DayTrading.Loadgen.dll replay "$workload" --target "127.0.0.1:$port" \
  --no-live --log-interval 30s --report-dir "$data/report" --node-options "DayTrading.Host --log-level Warning ${node_args[*]}" \
  "${lg_args[@]}" >"$data/loadgen.out" 2>&1 || true
sed -n '1,/^Refusals by reason/p' "$data/report/report.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node peak memory: $(grep VmHWM /proc/$node/status | awk '{print $2/1024 " MiB"}')"
for f in "$data"/dumps/*; do
  [ -f "$f" ] || continue
  echo "dump $(basename "$f"): $(grep -c '<userCommand>' "$f") userCommand, $(grep -c '<quoteServer>' "$f") quoteServer (quote hits), $(grep -c '<systemEvent>' "$f") systemEvent, $(stat -c %s "$f") bytes"
  echo "systemEvents by command (SET_*_TRIGGER: trigger executions; BUY/SELL: expiries):"
  grep -A4 '<systemEvent>' "$f" | grep -o '<command>[A-Z_]*' | sort | uniq -c || true
  command -v python3 >/dev/null && python3 scripts/latency-from-dump.py "$f" || true
done
