#!/usr/bin/env bash
# The partition test (docs/CLUSTER.md, "Partitions"): three DayTrading nodes, each in a network namespace of its own
# (scripts/netlab.sh), a throwaway PostgreSQL 15 in the lab, a paced workload through all three edges under one run
# id; then the oldest node cut off, a symmetric 2-1 split, a flapping link with 30 % loss, each healed; every
# invariant of the SIGKILL tests checked at the end. Prints the figures (the table in docs/CLUSTER.md).
#
# Usage (as root): bash scripts/partition-test.sh [options]
#   --stable-after S   split-brain resolver stable-after (default 3, as the suite; production: 15)
#   --hold S           keep the cut and the split at least S seconds (default 1: until the minority is gone)
#   --flaps N          down/up cycles of the flapping link (default 4)
#   --flap-down S      seconds down per cycle (default 3)
#   --flap-up S        seconds up (30 % loss) per cycle (default 3)
#   --users N          workload users (default 18)
#   --flap-first       the flapping link first (it then hits node 1, the lowest address, not node 3)
#   --report FILE      also write the figures there
# Installs what is missing (iproute2, iptables, PostgreSQL 15) the way scripts/ensure-postgres.sh does. Everything it
# makes (namespaces, veths, bridge, rules, processes, the database) is removed at the end, also after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

report=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stable-after) export DAYTRADING_PARTITION_STABLE_AFTER_SECONDS="$2"; shift 2 ;;
    --hold) export DAYTRADING_PARTITION_HOLD_SECONDS="$2"; shift 2 ;;
    --flaps) export DAYTRADING_PARTITION_FLAPS="$2"; shift 2 ;;
    --flap-down) export DAYTRADING_PARTITION_FLAP_DOWN_SECONDS="$2"; shift 2 ;;
    --flap-up) export DAYTRADING_PARTITION_FLAP_UP_SECONDS="$2"; shift 2 ;;
    --users) export DAYTRADING_PARTITION_USERS="$2"; shift 2 ;;
    --flap-first) export DAYTRADING_PARTITION_FLAP_FIRST=1; shift ;;
    --report) report="$2"; shift 2 ;;
    *) echo "partition-test: unknown option '$1' (see the comment at the top of $0)" >&2; exit 1 ;;
  esac
done

[ "$(id -u)" = 0 ] || { echo "partition-test: must run as root (network namespaces, iptables)" >&2; exit 1; }
bash scripts/netlab.sh ensure
# A lab left by a run that was killed is removed now, and this run's is removed even if it is killed.
bash scripts/netlab.sh gc
trap 'bash scripts/netlab.sh gc >/dev/null 2>&1 || true' EXIT

dotnet build DayTrading.sln -c Release -nologo -clp:ErrorsOnly

figures=$(mktemp)
export DAYTRADING_PARTITION_REPORT="$figures"
export DAYTRADING_PARTITION_REQUIRE=1 # fail, not skip, if the lab cannot be made after all
set +e
dotnet test DayTrading.Tests -c Release --no-build -nologo --filter "FullyQualifiedName~ClusterPartitionTests" \
  --logger "console;verbosity=detailed"
status=$?
set -e
if [ -s "$figures" ]; then
  echo
  echo "partition-test: figures (stable-after ${DAYTRADING_PARTITION_STABLE_AFTER_SECONDS:-3} s):"
  cat "$figures"
  [ -n "$report" ] && cp "$figures" "$report"
fi
rm -f "$figures"
exit "$status"
