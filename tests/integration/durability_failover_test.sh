#!/usr/bin/env bash
# tests/integration/durability_failover_test.sh — a change the CLI said was saved survives a
# Sentinel failover, and one that could not reach a replica is reported unsafe (exit 3), never
# a silent success. A master and a replica (append-only file, appendfsync everysec) and one
# Sentinel with quorum 1, on loopback; the CLI finds the master through the Sentinel, so it
# waits for one replica (redis.durable_replicas -1).
#  1. Saved (exit 0), the master SIGKILLed at once, SENTINEL FAILOVER: the rule is on the new master.
#  2. The old master back as a replica of the new one, then stopped (SIGSTOP: unreachable):
#     a save exits 3 "saved on the master but not yet on a replica after 1000 ms: not safe
#     against a failover" (a rule, and an agent's log-in); the master SIGKILLed, the replica resumed and promoted: the change of
#     step 1 is still there. Whether the unsafe one is (the replica may find it in its socket
#     buffer on resuming) is printed, not checked: it was never said to be saved.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir
read -r pa pb ps < <("$RINGWAY_FREE_PORT" 3 | tr '\n' ' ')
unset RINGWAY_CONFIG RINGWAY_REDIS_HOST RINGWAY_REDIS_PORT RINGWAY_REDIS_DURABLE_REPLICAS \
  RINGWAY_REDIS_DURABLE_TIMEOUT_MS
export RINGWAY_REDIS_SENTINELS=127.0.0.1:$ps
declare -A pid

# node PORT [replicaof PORT]: redis-server on PORT over $dir/PORT, its pid in pid[PORT]; true
# once it answers PING (5 s).
node() {
  local port=$1 i; shift
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --logfile "$dir/$port/redis.log" \
    --appendonly yes --appendfsync everysec --save "" ${1:+--replicaof 127.0.0.1 "$2"} >/dev/null 2>&1 &
  pid[$port]=$!
  pids+=("${pid[$port]}")
  for ((i = 0; i < 50; i++)); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}
kill9() { kill -KILL "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null; }
# until_true SECONDS COMMAND...: COMMAND every 0.1 s until it succeeds, at most SECONDS.
until_true() {
  local i n=$(( $1 * 10 )); shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
link_up() { redis-cli -p "$1" info replication | grep -q "master_link_status:up"; }
# synced MASTER: a write on one connection and WAIT 1 on it: the replica has everything before.
synced() { [ "$(printf 'SET rw:test:sync 1\nWAIT 1 200\n' | redis-cli -p "$1" | tail -1)" = 1 ]; }
sentinel_knows_replica() { redis-cli -p "$ps" sentinel replicas ringway | grep -qx "127.0.0.1:$1"; }
master_is() {
  [ "$(redis-cli -p "$ps" sentinel get-master-addr-by-name ringway | tail -1)" = "$1" ] &&
    redis-cli -p "$1" role | head -1 | grep -qx master
}
failover() { redis-cli -p "$ps" sentinel failover ringway | grep -qx OK; }
has_rule() { "$rw" rule show alice 2>/dev/null | grep -q "\"name\": \"$1\""; }
lacks_line() { ! grep -qx "$1" <<<"$2"; }

check "master starts" node "$pa"
check "replica starts" node "$pb" replicaof "$pa"
check "replica linked to the master (10 s)" until_true 10 link_up "$pb"
cat >"$dir/sentinel.conf" <<EOF
port $ps
bind 127.0.0.1
dir $dir
sentinel monitor ringway 127.0.0.1 $pa 1
sentinel down-after-milliseconds ringway 1000
sentinel failover-timeout ringway 4000
EOF
redis-server "$dir/sentinel.conf" --sentinel --logfile "$dir/sentinel.log" >/dev/null 2>&1 &
pids+=($!)
check "sentinel sees the replica (15 s)" until_true 15 sentinel_knows_replica "$pb"

# 1. Saved with a replica's acknowledgement, then the master dies at once and the replica takes over.
check "user added through the sentinel (exit 0)" "$rw" user add alice --ext 2001 --password alice-pw
out=$("$rw" rule set alice pinned '{"name":"safe","action":"divert","to":"+447700900111"}' 2>&1); rc=$?
kill9 "$pa"
check "1: rule saved (exit 0)" [ $rc -eq 0 ]
check "1: it printed 'rule saved'" grep -q "^rule saved$" <<<"$out"
check "1: SENTINEL FAILOVER accepted (20 s)" until_true 20 failover
check "1: the replica is the master (20 s)" until_true 20 master_is "$pb"
check "1: the saved rule is on the new master" has_rule safe

# 2. The old master back as the new one's replica, then made unreachable.
check "2: the old master restarts as a replica" node "$pa" replicaof "$pb"
check "2: it is linked (10 s)" until_true 10 link_up "$pa"
check "2: it has caught up (10 s)" until_true 10 synced "$pb"
check "2: sentinel sees it as a replica (15 s)" until_true 15 sentinel_knows_replica "$pa"
check "2: a hunt group saved (exit 0)" "$rw" group add sales 3001 members=alice
kill -STOP "${pid[$pa]}"
out=$("$rw" rule set alice pinned '{"name":"unsafe","action":"divert","to":"+447700900222"}' 2>&1); rc=$?
check "2: with the replica unreachable the save exits 3" [ $rc -eq 3 ]
check "2: and says it is not safe against a failover" grep -qx \
  "ringway: saved on the master but not yet on a replica after 1000 ms: not safe against a failover" <<<"$out"
check "2: and never says 'rule saved'" lacks_line "rule saved" "$out"
out=$("$rw" --json rule clear alice pinned unsafe 2>&1); rc=$?
check "2: --json: exit 3 too" [ $rc -eq 3 ]
check "2: --json: the reason as JSON on stderr" grep -q '^{"ok":false,"saved_on_master":true,"error":"saved on the master but not yet on a replica after 1000 ms' <<<"$out"
check "2: a rule set again, still unsafe (exit 3)" bash -c \
  "'$rw' rule set alice pinned '{\"name\":\"unsafe\",\"action\":\"divert\",\"to\":\"+447700900222\"}' >/dev/null 2>&1; [ \$? -eq 3 ]"
out=$("$rw" agent login alice sales 2>&1); rc=$?
check "2: an agent log-in with the replica unreachable exits 3 too" [ $rc -eq 3 ]
check "2: and says why" grep -q "not yet on a replica after 1000 ms: not safe against a failover" <<<"$out"
kill9 "$pb"
kill -CONT "${pid[$pa]}"
check "2: the resumed replica is promoted (20 s)" until_true 20 bash -c \
  "$(declare -f failover master_is); ps=$ps; failover; master_is $pa"
if has_rule unsafe; then echo "2: the change reported unsafe reached the replica after all"
else echo "2: the change reported unsafe was lost with the master"; fi
check "2: the change of step 1 still is" has_rule safe

echo "passed $pass, failed $failed"
[ "$failed" -eq 0 ]
