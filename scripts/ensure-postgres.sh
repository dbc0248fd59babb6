#!/usr/bin/env bash
# Idempotent: make sure a local PostgreSQL 15 cluster is running and has the
# daytrading role (password daytrading, CREATEDB) and the daytrading_test database.
# Must run as root. Safe to call repeatedly.
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_PORT="${PG_PORT:-5432}"
ROLE="${PG_ROLE:-daytrading}"
PASSWORD="${PG_PASSWORD:-daytrading}"
DATABASE="${PG_DATABASE:-daytrading_test}"

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d "/usr/lib/postgresql/${PG_VERSION}/bin" ]; then
  echo "ensure-postgres: installing postgresql-${PG_VERSION}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "postgresql-${PG_VERSION}" >/dev/null
fi

if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {found=1} END {exit !found}'; then
  echo "ensure-postgres: creating cluster ${PG_VERSION}/${PG_CLUSTER}"
  pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" >/dev/null
fi

status=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}')
if [ "$status" != "online" ]; then
  echo "ensure-postgres: starting cluster ${PG_VERSION}/${PG_CLUSTER}"
  pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start || true
fi

for i in $(seq 1 60); do
  if su postgres -c "pg_isready -q -h 127.0.0.1 -p ${PG_PORT}" 2>/dev/null; then
    break
  fi
  if [ "$i" = 60 ]; then
    echo "ensure-postgres: PostgreSQL did not accept connections within 60 s" >&2
    exit 1
  fi
  sleep 1
done

psql_admin() { su postgres -c "psql -p ${PG_PORT} -v ON_ERROR_STOP=1 -qtAX $*"; }

if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname='${ROLE}'\"")" != "1" ]; then
  echo "ensure-postgres: creating role ${ROLE}"
  psql_admin "-c \"CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD}'\""
fi

if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname='${DATABASE}'\"")" != "1" ]; then
  echo "ensure-postgres: creating database ${DATABASE}"
  psql_admin "-c \"CREATE DATABASE ${DATABASE} OWNER ${ROLE}\""
fi

echo "ensure-postgres: ready (127.0.0.1:${PG_PORT}, role ${ROLE}, database ${DATABASE})"
