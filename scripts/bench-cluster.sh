#!/usr/bin/env bash
# One cluster benchmark run: N fresh Release nodes on loopback sharing one PostgreSQL (a fresh schema), one Loadgen
# replay spread over all their TCP edges, the Loadgen's report and each node's peak memory.
# Usage: bash scripts/bench-cluster.sh <nodes> <workload file> [node options…] [-- loadgen replay options…]
# e.g.   bash scripts/bench-cluster.sh 3 /tmp/w100k.txt --auto-tx false -- --skip-dumplog
# PostgreSQL: scripts/ensure-postgres.sh's local server, or DAYTRADING_PG (a connection string).
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=$1; workload=$2; shift 2
node_args=(); lg_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; lg_args=("$@"); break; fi
  node_args+=("$1"); shift
done
pg=${DAYTRADING_PG:-"Host=127.0.0.1;Username=daytrading;Password=daytrading;Database=daytrading_test"}
schema="bench_$(date +%s)_$$"

dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly >/dev/null
data=$(mktemp -d /tmp/daytrading-cluster-bench.XXXXXX)
base=$((20000 + RANDOM % 20000))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  PGPASSWORD=daytrading psql -q -h 127.0.0.1 -U daytrading -d daytrading_test -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

targets=()
for i in $(seq 1 "$nodes"); do
  mkdir -p "$data/node$i"
  dotnet DayTrading.Host/bin/Release/net10.0/DayTrading.Host.dll --node-name "node$i" --data-dir "$data/node$i" \
    --journal postgresql --connection-string "$pg" --db-schema "$schema" \
    --cluster-port $((base + i)) --seed-nodes "127.0.0.1:$((base + 1))" --tcp-port $((base + 100 + i)) \
    --admin-port -1 --web false --log-level Warning "${node_args[@]}" >"$data/node$i/out" 2>&1 &
  pids+=($!)
  targets+=("127.0.0.1:$((base + 100 + i))")
  # The seed first: the others join it.
  if [ "$i" = 1 ]; then
    for _ in $(seq 1 120); do grep -q "ready:" "$data/node1/out" && break; sleep 0.5; done
  fi
done
for i in $(seq 1 "$nodes"); do
  for _ in $(seq 1 120); do grep -q "ready:" "$data/node$i/out" && break; sleep 0.5; done
  grep "ready:" "$data/node$i/out" || { echo "node$i did not start:"; cat "$data/node$i/out"; exit 1; }
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet DayTrading.Loadgen/bin/Release/net10.0/DayTrading.Loadgen.dll replay "$workload" --target "$(IFS=,; echo "${targets[*]}")" \
  --no-live --log-interval 30s --report-dir "$data/report" \
  --node-options "$nodes DayTrading.Host nodes, postgresql journal, --log-level Warning ${node_args[*]}" "${lg_args[@]}" >"$data/loadgen.out" 2>&1 || true
sed -n '1,/^Refusals by reason/p' "$data/report/report.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$nodes"); do
  echo "node$i peak memory: $(grep VmHWM /proc/${pids[$((i - 1))]}/status | awk '{print $2/1024 " MiB"}')"
done
