#!/usr/bin/env bash
# Idempotent: make sure a throwaway Redis server for the tests runs on a private port with every write fsynced
# before its answer (appendonly yes, appendfsync always; no RDB snapshots), its data in a directory of its own.
# Installs Debian's redis-server if missing (as root). Safe to call repeatedly.
# Env: REDIS_PORT (default 6390), REDIS_DIR (default /tmp/daytrading-redis-$REDIS_PORT).
set -euo pipefail

port="${REDIS_PORT:-6390}"
dir="${REDIS_DIR:-/tmp/daytrading-redis-$port}"

if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
  settings=$(redis-cli -p "$port" config get append* | paste -sd' ')
  case "$settings" in
    *"appendonly yes"*"appendfsync always"*|*"appendfsync always"*"appendonly yes"*)
      echo "ensure-redis: ready (127.0.0.1:$port, $(redis-cli -p "$port" info server | grep -m1 redis_version | tr -d '\r'))"; exit 0 ;;
  esac
  echo "ensure-redis: the server on port $port is not durable ($settings): restarting it"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  sleep 1
fi

mkdir -p "$dir"
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync always --save "" \
  --daemonize yes --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" --maxclients 1000
for _ in $(seq 1 50); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
redis-cli -p "$port" ping | grep -q PONG || { echo "ensure-redis: the server did not start; see $dir/redis.log" >&2; exit 1; }
echo "ensure-redis: ready (127.0.0.1:$port, data in $dir, appendonly yes, appendfsync always)"
