#!/usr/bin/env bash
# The README's benchmark table, row by row, on one quiet machine (nothing else running): three closed-model runs
# of the 1.2 M synthetic workload against the floor, the lab quote latency, the open model at 10,000 req/s (with and
# without a 10 s warm-up left out), and the course's 10-user workload. About 15 minutes.
# Usage: bash scripts/bench-all.sh [workload, default /tmp/w1200k.txt — made with the Loadgen's generate if absent]
set -euo pipefail
cd "$(dirname "$0")/.."
w=${1:-/tmp/w1200k.txt}
if [ ! -f "$w" ]; then
  dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly >/dev/null
  dotnet DayTrading.Loadgen/bin/Release/net10.0/DayTrading.Loadgen.dll generate --users 1200 --symbols 3000 --commands 1200000 --seed 1 -o "$w"
fi
for i in 1 2 3; do echo "## closed $i"; bash scripts/bench-vs-floor.sh "$w" 2>&1 | tail -4; done
echo "## lab"; SKIP_FLOOR=1 bash scripts/bench-vs-floor.sh "$w" --quote-latency lab 2>&1 | tail -1
echo "## open, warm-up 10 s left out"; bash scripts/bench-vs-floor.sh "$w" -- --rate 10000 --warmup 10s 2>&1 | tail -3
echo "## open"; SKIP_FLOOR=1 bash scripts/bench-vs-floor.sh "$w" -- --rate 10000 2>&1 | tail -1
if [ -f ../shared/workloads/10User_testWorkLoad ]; then
  echo "## 10-user"; bash scripts/bench-vs-floor.sh ../shared/workloads/10User_testWorkLoad 2>&1 | tail -3
else
  echo "## 10-user: skipped, ../shared/workloads/10User_testWorkLoad is absent"
fi
