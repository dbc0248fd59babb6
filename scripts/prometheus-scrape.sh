#!/usr/bin/env bash
# A real Prometheus (Debian package `prometheus`) scraping a running node for a minute while the Loadgen replays a
# workload at a steady rate, then a few PromQL queries over what it stored. Not part of the test suite: it takes
# about two minutes and runs a Prometheus server. Output quoted in docs/OPERATIONS.md.
# Usage: bash scripts/prometheus-scrape.sh [seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v prometheus >/dev/null 2>&1 || bash scripts/ensure-promtool.sh

work=$(mktemp -d /tmp/daytrading-prom-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
tcp=$(free_port); web=$(free_port); prom=$(free_port)
node_pid=""; prom_pid=""
cleanup() {
  [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null || true
  [ -n "$node_pid" ] && kill -TERM "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet DayTrading.Host/bin/Release/net10.0/DayTrading.Host.dll --data-dir "$work/node" --tcp-port "$tcp" --web-port "$web" \
  --admin-port -1 --node-name prom-demo >"$work/node.out" 2>&1 &
node_pid=$!
for _ in $(seq 1 120); do grep -q "DayTrading node .* ready:" "$work/node.out" && break; sleep 0.5; done
grep "DayTrading node .* ready:" "$work/node.out"

cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: daytrading
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$web"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$prom" \
  >"$work/prometheus.out" 2>&1 &
prom_pid=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$prom/-/ready" >/dev/null && break; sleep 0.5; done
echo "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') on 127.0.0.1:$prom scraping http://127.0.0.1:$web/metrics every 5 s"

L="dotnet DayTrading.Loadgen/bin/Release/net10.0/DayTrading.Loadgen.dll"
$L generate --users 200 --symbols 300 --commands 200000 -o "$work/workload.txt" >/dev/null
echo "replaying at 1000 requests/s for ${seconds} s"
$L replay "$work/workload.txt" --target "127.0.0.1:$tcp" --rate 1000 --duration "${seconds}s" --skip-dumplog --no-live \
  --report-dir "$work/report" --log-interval 30s >"$work/loadgen.out" 2>&1 || true
head -n 4 "$work/report/report.txt"
sleep 10 # two more scrapes after the last request

query() {
  echo "\$ $1"
  curl -s --get "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
if r["status"] != "success": print("  error:", r.get("error")); sys.exit()
for s in sorted(r["data"]["result"], key=lambda s: sorted(s["metric"].items())):
    labels = ",".join(k + "=" + json.dumps(v) for k, v in sorted(s["metric"].items()) if k not in ("instance", "job"))
    value = float(s["value"][1])
    print("  {" + labels + "} " + format(value, ".6g"))'
}
query 'up{job="daytrading"}'
query 'sum by (outcome) (daytrading_gateway_requests_total)'
query 'topk(5, sum by (command) (rate(daytrading_gateway_requests_total[1m])))'
query 'histogram_quantile(0.99, sum by (le) (rate(daytrading_gateway_request_duration_seconds_bucket[1m])))'
query 'sum(rate(daytrading_journal_batch_size_sum[1m])) / sum(rate(daytrading_journal_batch_size_count[1m]))'
query 'histogram_quantile(0.99, sum by (le) (rate(daytrading_journal_commit_duration_seconds_bucket[1m])))'
query 'daytrading_quote_cache_hit_ratio'
query 'daytrading_accounts_alive'
query 'daytrading_cluster_members{status="Up"}'
query 'count(count by (__name__) ({job="daytrading"}))'
