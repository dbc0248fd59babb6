#!/usr/bin/env bash
# A private network of Linux network namespaces on this machine, for partition tests of a DayTrading cluster
# (docs/CLUSTER.md, "Partitions"). Every address involved lives in a namespace made here, so no traffic leaves them:
#
#   <lab>-hub  bridge br0 10.77.0.254/24: the clients (the test) and a throwaway PostgreSQL 15 on 10.77.0.254:5432
#   <lab>-n1   eth0 10.77.0.1/24        <lab>-n2  10.77.0.2        <lab>-n3  10.77.0.3   (one node each)
#
# Faults are iptables DROP rules on INPUT in the namespaces (a chain DTP, replaced atomically): dropped packets just
# vanish, as on a real broken link (no reset, no error). Nothing is changed outside the lab's namespaces; `down`
# stops every process left in them and removes them (and the veths, the bridge and the rules with them).
#
# Usage (as root):
#   netlab.sh ensure                        install what is missing (iproute2, iptables, postgresql-15)
#   netlab.sh check                         exit 0 when a lab can be made here; otherwise say why, exit 1
#   netlab.sh up <lab> [nodes]              make the lab (default 3 nodes) and start its PostgreSQL
#   netlab.sh down <lab>                    stop everything in it, remove it
#   netlab.sh isolate <lab> <i> [percent]   node i loses percent % (default 100) of its packets both ways, to and
#                                           from everything (peers, database, clients)
#   netlab.sh split <lab> <i,j…> <k,…>      the two groups of nodes lose every packet between them, both ways; the
#                                           hub (database, clients) still reaches every node
#   netlab.sh heal <lab>                    remove every fault
#   netlab.sh status <lab>                  the rules in force
#   netlab.sh gc                            remove labs whose owner process is gone (a crashed test run)
#
# `up` prints the lab's facts as KEY=value lines (PG_HOST, PG_SOCKET_DIR, NODE_i, NS_i, …). The owner is the
# process named by NETLAB_OWNER (default: the caller of this script); `gc` removes a lab once it is gone.
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
SUBNET=10.77.0
HUB_ADDR="${SUBNET}.254"
STATE_ROOT="${NETLAB_STATE:-/tmp/daytrading-netlab}"

die() { echo "netlab: $*" >&2; exit 1; }
state_dir() { echo "${STATE_ROOT}/$1"; }
ns_hub() { echo "$1-hub"; }
ns_node() { echo "$1-n$2"; }

valid_lab() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] || die "lab name '$1': 1-20 of a-z 0-9 -"
}

# The lab's iptables: the distribution's default (nft) if it works in a namespace here, else the legacy one.
iptables_of() { cat "$(state_dir "$1")/iptables"; }

lab_namespaces() {
  local lab=$1
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${lab}-(hub|n[0-9]+)$" || true
}

cmd_ensure() {
  [ "$(id -u)" = 0 ] || die "ensure must run as root"
  local missing=()
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  [ -x "${PG_BIN}/postgres" ] && [ -x "${PG_BIN}/initdb" ] || missing+=("postgresql-${PG_VERSION}")
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "netlab: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  cmd_check
}

cmd_check() {
  [ "$(id -u)" = 0 ] || { echo "netlab: needs root (network namespaces, iptables)"; return 1; }
  command -v ip >/dev/null 2>&1 || { echo "netlab: 'ip' (iproute2) is missing: run scripts/netlab.sh ensure"; return 1; }
  command -v setpriv >/dev/null 2>&1 || { echo "netlab: 'setpriv' (util-linux) is missing: run scripts/netlab.sh ensure"; return 1; }
  [ -x "${PG_BIN}/postgres" ] && [ -x "${PG_BIN}/initdb" ] || { echo "netlab: PostgreSQL ${PG_VERSION} binaries missing in ${PG_BIN}: run scripts/netlab.sh ensure"; return 1; }
  id postgres >/dev/null 2>&1 || { echo "netlab: no 'postgres' user to run PostgreSQL as"; return 1; }
  local probe="netlab-probe-$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "netlab: cannot create a network namespace here (ip netns add failed: no CAP_SYS_ADMIN, or a restricted container)"
    return 1
  fi
  local ok=1 why="" ipt
  if ! ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null || ! ip -n "$probe" link add b0 type bridge 2>/dev/null; then
    ok=0; why="cannot create veth pairs or a bridge in a namespace"
  elif ! ipt=$(pick_iptables "$probe"); then
    ok=0; why="no working iptables with the 'statistic' match in a namespace (run scripts/netlab.sh ensure)"
  fi
  ip netns del "$probe" 2>/dev/null || true
  if [ "$ok" = 0 ]; then echo "netlab: $why"; return 1; fi
  echo "netlab: ok (iptables: $ipt)"
}

# Prints the first iptables that can make a chain with a random-drop rule in namespace $1.
pick_iptables() {
  local ns=$1 ipt
  for ipt in iptables iptables-legacy; do
    command -v "$ipt" >/dev/null 2>&1 || continue
    if ip netns exec "$ns" "$ipt" -w -N DTPPROBE 2>/dev/null \
      && ip netns exec "$ns" "$ipt" -w -A DTPPROBE -s 10.255.255.1 -m statistic --mode random --probability 0.3 -j DROP 2>/dev/null; then
      ip netns exec "$ns" "$ipt" -w -F DTPPROBE 2>/dev/null || true
      ip netns exec "$ns" "$ipt" -w -X DTPPROBE 2>/dev/null || true
      echo "$ipt"
      return 0
    fi
  done
  return 1
}

cmd_up() {
  local lab=$1 nodes=${2:-3}
  valid_lab "$lab"
  [[ "$nodes" =~ ^[1-9]$ ]] || die "nodes must be 1-9"
  local dir; dir=$(state_dir "$lab")
  if [ -e "$dir" ] || [ -n "$(lab_namespaces "$lab")" ]; then die "lab $lab exists: netlab.sh down $lab first"; fi
  mkdir -p "$dir"
  chmod 755 "$STATE_ROOT" "$dir"
  echo "${NETLAB_OWNER:-$PPID}" > "$dir/owner"
  echo "$nodes" > "$dir/nodes"
  # From here on, a failure (an error or a die) removes what was made.
  UP_LAB=$lab
  trap 'if [ -n "${UP_LAB:-}" ]; then echo "netlab: up failed; removing lab $UP_LAB" >&2; cmd_down "$UP_LAB" >/dev/null 2>&1 || true; fi' EXIT

  local hub; hub=$(ns_hub "$lab")
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" addr add "${HUB_ADDR}/24" dev br0
  ip -n "$hub" link set br0 up
  local ipt
  ipt=$(pick_iptables "$hub") || die "no working iptables in a namespace (run scripts/netlab.sh ensure)"
  echo "$ipt" > "$dir/iptables"
  chain_init "$hub" "$ipt"
  for i in $(seq 1 "$nodes"); do
    local ns; ns=$(ns_node "$lab" "$i")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$hub" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$hub" link set "v$i" master br0
    ip -n "$hub" link set "v$i" up
    ip -n "$ns" addr add "${SUBNET}.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    chain_init "$ns" "$ipt"
  done

  start_postgres "$lab"
  UP_LAB=""
  trap - EXIT
  echo "LAB=$lab"
  echo "HUB_NS=$hub"
  echo "HUB_ADDR=$HUB_ADDR"
  echo "PG_HOST=$HUB_ADDR"
  echo "PG_PORT=5432"
  echo "PG_SOCKET_DIR=$dir/pgsock"
  echo "PG_USER=daytrading"
  echo "PG_DATABASE=postgres"
  echo "IPTABLES=$ipt"
  for i in $(seq 1 "$nodes"); do
    echo "NS_$i=$(ns_node "$lab" "$i")"
    echo "NODE_$i=${SUBNET}.$i"
  done
}

chain_init() {
  local ns=$1 ipt=$2
  ip netns exec "$ns" "$ipt" -w -N DTP
  ip netns exec "$ns" "$ipt" -w -I INPUT 1 -j DTP
}

start_postgres() {
  local lab=$1 dir; dir=$(state_dir "$lab")
  install -d -o postgres -g postgres -m 700 "$dir/pg" "$dir/pgsock"
  local as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups)
  "${as_pg[@]}" "${PG_BIN}/initdb" -D "$dir/pg" -U daytrading --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # A throwaway instance the test never crashes: durability of the database itself is not under test, so it
  # skips fsync. Reachable only in the lab (the hub's address) and through its socket directory.
  cat >>"$dir/pg/postgresql.conf" <<EOF
listen_addresses = '${HUB_ADDR}'
port = 5432
unix_socket_directories = '$dir/pgsock'
max_connections = 200
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  echo "host all all ${SUBNET}.0/24 trust" >>"$dir/pg/pg_hba.conf"
  ip netns exec "$(ns_hub "$lab")" "${as_pg[@]}" "${PG_BIN}/postgres" -D "$dir/pg" </dev/null >"$dir/postgres.log" 2>&1 &
  for _ in $(seq 1 60); do
    if "${PG_BIN}/pg_isready" -q -h "$dir/pgsock" -p 5432 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  cat "$dir/postgres.log" >&2
  die "PostgreSQL did not start within 30 s"
}

cmd_down() {
  local lab=$1
  valid_lab "$lab"
  local dir; dir=$(state_dir "$lab")
  local namespaces; namespaces=$(lab_namespaces "$lab")
  # Every process still in one of the lab's namespaces was started into it for the lab: stop them by id.
  local pids=""
  for ns in $namespaces; do pids="$pids $(ip netns pids "$ns" 2>/dev/null || true)"; done
  pids=$(echo "$pids" | xargs -n1 2>/dev/null | sort -u | xargs 2>/dev/null || true)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 1 20); do
      local alive=""
      for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
      [ -z "$alive" ] && break
      sleep 0.25
    done
    for p in $pids; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true; done
  fi
  for ns in $namespaces; do ip netns del "$ns" 2>/dev/null || true; done
  [ -n "$dir" ] && [ -d "$dir" ] && rm -rf "$dir"
  echo "netlab: lab $lab removed"
}

# Replaces namespace $2's fault rules with the rest of the arguments (one rule per argument, as iptables-restore
# lines after "-A DTP").
set_rules() {
  local lab=$1 ns=$2; shift 2
  local ipt; ipt=$(iptables_of "$lab")
  {
    echo "*filter"
    echo ":DTP - [0:0]"
    for r in "$@"; do echo "-A DTP $r"; done
    echo "COMMIT"
  } | ip netns exec "$ns" "${ipt}-restore" -w --noflush
}

probability() {
  local percent=$1
  [[ "$percent" =~ ^[0-9]+$ ]] && [ "$percent" -ge 1 ] && [ "$percent" -le 100 ] || die "percent must be 1-100"
  if [ "$percent" = 100 ]; then echo ""; else printf -- "-m statistic --mode random --probability %s" "$(awk -v p="$percent" 'BEGIN{printf "%.2f", p/100}')"; fi
}

node_count() { cat "$(state_dir "$1")/nodes"; }

cmd_isolate() {
  local lab=$1 node=$2 percent=${3:-100}
  local n; n=$(node_count "$lab")
  [[ "$node" =~ ^[0-9]+$ ]] && [ "$node" -ge 1 ] && [ "$node" -le "$n" ] || die "node must be 1-$n"
  local p; p=$(probability "$percent")
  set_rules "$lab" "$(ns_node "$lab" "$node")" "-i eth0 $p -j DROP"
  set_rules "$lab" "$(ns_hub "$lab")" "-s ${SUBNET}.$node $p -j DROP"
  for i in $(seq 1 "$n"); do
    [ "$i" = "$node" ] && continue
    set_rules "$lab" "$(ns_node "$lab" "$i")" "-s ${SUBNET}.$node $p -j DROP"
  done
}

cmd_split() {
  local lab=$1 a=$2 b=$3
  local n; n=$(node_count "$lab")
  local -a side_a side_b
  IFS=, read -r -a side_a <<<"$a"
  IFS=, read -r -a side_b <<<"$b"
  for i in "${side_a[@]}" "${side_b[@]}"; do
    [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$n" ] || die "node $i is not 1-$n"
  done
  # Every namespace gets its whole rule set (the hub and nodes in neither group: none).
  set_rules "$lab" "$(ns_hub "$lab")"
  for i in $(seq 1 "$n"); do
    [[ ",$a,$b," == *",$i,"* ]] || set_rules "$lab" "$(ns_node "$lab" "$i")"
  done
  for i in "${side_a[@]}"; do
    local rules=()
    for j in "${side_b[@]}"; do rules+=("-s ${SUBNET}.$j -j DROP"); done
    set_rules "$lab" "$(ns_node "$lab" "$i")" "${rules[@]}"
  done
  for j in "${side_b[@]}"; do
    local rules=()
    for i in "${side_a[@]}"; do rules+=("-s ${SUBNET}.$i -j DROP"); done
    set_rules "$lab" "$(ns_node "$lab" "$j")" "${rules[@]}"
  done
}

cmd_heal() {
  local lab=$1
  for ns in $(lab_namespaces "$lab"); do set_rules "$lab" "$ns"; done
}

cmd_status() {
  local lab=$1 ipt; ipt=$(iptables_of "$lab")
  for ns in $(lab_namespaces "$lab"); do
    echo "== $ns"
    ip netns exec "$ns" "$ipt" -w -S DTP | tail -n +2
  done
}

cmd_gc() {
  [ -d "$STATE_ROOT" ] || return 0
  for dir in "$STATE_ROOT"/*/; do
    [ -d "$dir" ] || continue
    local lab; lab=$(basename "$dir")
    local owner; owner=$(cat "$dir/owner" 2>/dev/null || echo "")
    if [ -z "$owner" ] || ! kill -0 "$owner" 2>/dev/null; then
      echo "netlab: lab $lab: owner ${owner:-unknown} is gone"
      cmd_down "$lab"
    fi
  done
}

[ $# -ge 1 ] || { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
verb=$1; shift
case "$verb" in
  ensure) cmd_ensure ;;
  check) cmd_check ;;
  up) [ $# -ge 1 ] || die "up <lab> [nodes]"; cmd_up "$@" ;;
  down) [ $# -eq 1 ] || die "down <lab>"; cmd_down "$1" ;;
  isolate) [ $# -ge 2 ] || die "isolate <lab> <node> [percent]"; cmd_isolate "$@" ;;
  split) [ $# -eq 3 ] || die "split <lab> <nodes> <nodes>"; cmd_split "$@" ;;
  heal) [ $# -eq 1 ] || die "heal <lab>"; cmd_heal "$1" ;;
  status) [ $# -eq 1 ] || die "status <lab>"; cmd_status "$1" ;;
  gc) cmd_gc ;;
  *) die "unknown command '$verb' (ensure, check, up, down, isolate, split, heal, status, gc)" ;;
esac
