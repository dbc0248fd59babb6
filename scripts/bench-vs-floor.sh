#!/usr/bin/env bash
# One benchmark run against the floor and a DayTrading node, back to back on this machine, same workload, same
# Loadgen options: req/s (Loadgen), server CPU µs per request (utime+stime from /proc/<pid>/stat over the replay),
# server peak memory (VmHWM), bytes the server wrote to disk per request (/proc/<pid>/io write_bytes), Loadgen CPU µs per
# request, and the ratio node/floor.
# The floor is ../shared/floor, a measuring instrument: built from a copy in /tmp, never copied into the repo.
# Usage: bash scripts/bench-vs-floor.sh <workload> [node options…] [-- loadgen replay options…]
#   e.g. bash scripts/bench-vs-floor.sh /tmp/w1200k.txt
#        bash scripts/bench-vs-floor.sh /tmp/w1200k.txt --quote-latency lab
#        bash scripts/bench-vs-floor.sh /tmp/w1200k.txt -- --rate 10000
# Env: SKIP_FLOOR=1 runs the node only; SKIP_NODE=1 the floor only; NODE_DLL overrides the node build;
#      ALSO="<node options>" runs a second fresh node with these options right after the first (same run, same floor),
#      e.g. ALSO="--journal redis --redis 127.0.0.1:6390 --db-schema bench1" for SQLite against Redis; with
#      --journal redis in either node's options the Redis server's own CPU per request is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."
workload=$1; shift
node_args=(); lg_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; lg_args=("$@"); break; fi
  node_args+=("$1"); shift
done
floor_src=../shared/floor
if [ ! -d "$floor_src" ] && [ -z "${SKIP_FLOOR:-}" ]; then echo "no $floor_src: the floor comparison needs ../shared (set SKIP_FLOOR=1 to run the node only)" >&2; exit 1; fi

command -v jq >/dev/null || apt-get install -y jq >/dev/null
dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly >/dev/null
node_dll=${NODE_DLL:-DayTrading.Host/bin/Release/net10.0/DayTrading.Host.dll}
loadgen=DayTrading.Loadgen/bin/Release/net10.0/DayTrading.Loadgen.dll
work=$(mktemp -d /tmp/daytrading-vs-floor.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill -TERM "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_one NAME PORT: replays against the server $server listening on PORT, prints one result line.
run_one() {
  local name=$1 port=$2 before after lg_cpu io_before io_after
  before=$(cpu_ticks "$server")
  io_before=$(awk '/^write_bytes/ {print $2}' "/proc/$server/io")
  /usr/bin/time -f "%U %S" -o "$work/$name.lgtime" dotnet "$loadgen" replay "$workload" --target "127.0.0.1:$port" \
    --no-live --log-interval 60s --skip-dumplog --report-dir "$work/$name-report" "${lg_args[@]}" >"$work/$name.loadgen.out" 2>&1 || true
  after=$(cpu_ticks "$server")
  io_after=$(awk '/^write_bytes/ {print $2}' "/proc/$server/io")
  local answered rps p50 p99
  answered=$(jq -r '.answered' "$work/$name-report/report.json")
  rps=$(jq -r '.throughputPerSec' "$work/$name-report/report.json")
  p50=$(jq -r '.latency.p50Ms' "$work/$name-report/report.json")
  p99=$(jq -r '.latency.p99Ms' "$work/$name-report/report.json")
  lg_cpu=$(awk '{print $1 + $2}' "$work/$name.lgtime")
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
  awk -v n="$name" -v a="$answered" -v r="$rps" -v p50="$p50" -v p99="$p99" -v c=$((after - before)) -v hz="$hz" -v hwm="$hwm" -v lg="$lg_cpu" -v io=$((io_after - io_before)) \
    'BEGIN { printf "%-6s answered %d  %9.0f req/s  p50 %8.2f ms  p99 %8.2f ms  server CPU %6.1f us/req  peak %5.0f MiB  disk %5.2f KB/req  loadgen CPU %5.1f us/req\n",
             n, a, r, p50, p99, c * 1e6 / hz / a, hwm / 1024, io / 1024 / a, lg * 1e6 / a }' | tee -a "$work/results"
  echo "$rps" >"$work/$name.rps"
}

wait_ready() { for _ in $(seq 1 240); do grep -q "$2" "$1" && return 0; sleep 0.25; done; echo "server did not start:"; cat "$1"; exit 1; }

echo "workload $workload ($(wc -l <"$workload") lines), loadgen options: ${lg_args[*]:-(defaults)}, node options: ${node_args[*]:-(defaults)}"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"

if [ -z "${SKIP_FLOOR:-}" ]; then
  mkdir -p "$work/floor-src" && cp -r "$floor_src"/. "$work/floor-src/"
  (cd "$work/floor-src" && dotnet build -c Release -nologo -clp:ErrorsOnly -o "$work/floor-bin" >/dev/null)
  fport=$((20000 + RANDOM % 20000))
  dotnet "$work/floor-bin/Floor.dll" "$fport" --data-dir "$work/floor-data" >"$work/floor.out" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$fport) 2>/dev/null && break; sleep 0.25; done
  run_one floor "$fport"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
fi

# run_node NAME OPTIONS…: a fresh node with OPTIONS, replayed against (and the Redis server's CPU beside it when
# the options name one).
run_node() {
  local name=$1; shift
  local nport=$((20000 + RANDOM % 20000)) redis_pid="" redis_before="" prev=""
  for a in "$@"; do
    if [ "$prev" = "--redis" ]; then redis_pid=$(ss -ltnpH "sport = :${a##*:}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2); fi
    prev=$a
  done
  : >"$work/$name.out"
  dotnet "$node_dll" --data-dir "$work/$name-data" --tcp-port "$nport" --cluster-port 0 --admin-port -1 --web-port 0 \
    --log-level Warning "$@" >"$work/$name.out" 2>&1 &
  server=$!
  wait_ready "$work/$name.out" "ready:"
  [ -n "$redis_pid" ] && redis_before=$(cpu_ticks "$redis_pid")
  run_one "$name" "$nport"
  if [ -n "$redis_pid" ]; then
    awk -v c=$(( $(cpu_ticks "$redis_pid") - redis_before )) -v hz="$hz" -v a="$(jq -r '.answered' "$work/$name-report/report.json")" -v n="$name" \
      'BEGIN { printf "%-6s redis-server CPU %6.1f us/req (pid of the --redis port)\n", n, c * 1e6 / hz / a }' | tee -a "$work/results"
  fi
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
}

if [ -z "${SKIP_NODE:-}" ]; then
  run_node node "${node_args[@]}"
  if [ -n "${ALSO:-}" ]; then
    read -r -a also_args <<<"$ALSO"
    run_node node2 "${also_args[@]}"
  fi
fi

for n in node node2; do
  if [ -f "$work/floor.rps" ] && [ -f "$work/$n.rps" ]; then
    awk -v f="$(cat "$work/floor.rps")" -v r="$(cat "$work/$n.rps")" -v n="$n" 'BEGIN { printf "ratio %s/floor: %.2f\n", n, r / f }'
  fi
done
