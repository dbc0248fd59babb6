#!/usr/bin/env bash
# The whole test suite on a fresh machine: starts (installing if needed) what the tests need, builds, tests.
# Usage: bash scripts/test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Accounts]
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL 15 for the journal's PostgreSQL tests and the multi-node cluster tests.
bash scripts/ensure-postgres.sh

# A throwaway Redis server (127.0.0.1:6390, AOF with appendfsync always) for the Redis journal's tests.
bash scripts/ensure-redis.sh

# Chromium (Debian package) for the web front end's Playwright tests.
bash scripts/ensure-chromium.sh

# promtool (Debian package prometheus): the metrics test checks the /metrics exposition with it.
bash scripts/ensure-promtool.sh

# Node.js and npm: the build runs npm ci and Vite for the web UI.
bash scripts/ensure-node.sh

# iproute2, iptables and PostgreSQL 15 binaries for the partition test (network namespaces; it skips, saying why,
# where they cannot be made).
bash scripts/netlab.sh ensure || echo "test.sh: the partition test will be skipped"

dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly

log=$(mktemp)
set +e
dotnet test DayTrading.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain closing line for CI: the totals over every test assembly.
awk '/(Passed|Failed)! *- *Failed: / {
       gsub(/,/, "");
       for (i = 1; i <= NF; i++) {
         if ($i == "Failed:") f += $(i+1);
         if ($i == "Passed:") p += $(i+1);
         if ($i == "Skipped:") s += $(i+1);
       }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
