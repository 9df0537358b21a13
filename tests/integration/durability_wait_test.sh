#!/usr/bin/env bash
# tests/integration/durability_wait_test.sh — the wait for replicas as configured
# (redis.durable_replicas, redis.durable_timeout_ms; docs/configuration.md), against a master
# and one replica on loopback, the CLI given the master's address (no Sentinel):
#  - durable_replicas 1, replica live: exit 0, and the replica already has the change;
#  - durable_replicas 2 with one replica: exit 3 "on 1 of 2 replicas after 300 ms";
#  - the default (-1) without sentinels waits for nobody: exit 0 with the replica stopped;
#  - durable_replicas 1, replica stopped, --json: exit 3, the reason as JSON on stderr, stdout empty;
#  - out-of-range values are refused (exit 2) naming the variable.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir
read -r pa pb < <("$RINGWAY_FREE_PORT" 2 | tr '\n' ' ')
unset RINGWAY_CONFIG RINGWAY_REDIS_SENTINELS RINGWAY_REDIS_DURABLE_REPLICAS RINGWAY_REDIS_DURABLE_TIMEOUT_MS
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$pa

node() {  # PORT [replicaof PORT]: true once it answers PING (5 s); its pid in $last
  local port=$1 i; shift
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --logfile "$dir/$port/redis.log" \
    --appendonly yes --appendfsync everysec --save "" ${1:+--replicaof 127.0.0.1 "$2"} >/dev/null 2>&1 &
  last=$!
  pids+=("$last")
  for ((i = 0; i < 50; i++)); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}
until_true() {  # SECONDS COMMAND...
  local i n=$(( $1 * 10 )); shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
link_up() { redis-cli -p "$1" info replication | grep -q "master_link_status:up"; }
rule() { echo "{\"name\":\"$1\",\"action\":\"divert\",\"to\":\"+447700900123\"}"; }

check "master starts" node "$pa"
check "replica starts" node "$pb" replicaof "$pa"
replica=$last
check "replica linked (10 s)" until_true 10 link_up "$pb"

out=$(RINGWAY_REDIS_DURABLE_REPLICAS=1 "$rw" user add alice --ext 2001 --password alice-pw 2>&1); rc=$?
check "durable_replicas 1, replica live: user saved (exit 0)" [ $rc -eq 0 ]
RINGWAY_REDIS_DURABLE_REPLICAS=1 "$rw" rule set alice pinned "$(rule one)" >/dev/null 2>&1; rc=$?
check "durable_replicas 1, replica live: rule saved (exit 0)" [ $rc -eq 0 ]
check "the replica has the rule when the CLI returns" bash -c \
  "RINGWAY_REDIS_PORT=$pb '$rw' rule show alice | grep -q '\"name\": \"one\"'"

out=$(RINGWAY_REDIS_DURABLE_REPLICAS=2 RINGWAY_REDIS_DURABLE_TIMEOUT_MS=300 "$rw" rule set alice pinned "$(rule two)" 2>&1); rc=$?
check "durable_replicas 2 with one replica: exit 3" [ $rc -eq 3 ]
check "durable_replicas 2 with one replica: says 1 of 2 after 300 ms" grep -qx \
  "ringway: saved on the master but on 1 of 2 replicas after 300 ms: not safe against a failover" <<<"$out"

kill -STOP "$replica"
out=$("$rw" rule set alice pinned "$(rule three)" 2>&1); rc=$?
check "default without sentinels waits for no replica: exit 0 with the replica stopped" [ $rc -eq 0 ]
check "and says 'rule saved'" grep -qx "rule saved" <<<"$out"
RINGWAY_REDIS_DURABLE_REPLICAS=1 RINGWAY_REDIS_DURABLE_TIMEOUT_MS=200 "$rw" --json \
  rule set alice pinned "$(rule four)" >"$dir/j.out" 2>"$dir/j.err"; rc=$?
check "durable_replicas 1, replica stopped, --json: exit 3" [ $rc -eq 3 ]
check "--json: nothing on stdout" [ ! -s "$dir/j.out" ]
check "--json: the reason as one JSON object on stderr" grep -qx \
  '{"ok":false,"saved_on_master":true,"error":"saved on the master but not yet on a replica after 200 ms: not safe against a failover"}' "$dir/j.err"
out=$(RINGWAY_REDIS_DURABLE_REPLICAS=1 RINGWAY_REDIS_DURABLE_TIMEOUT_MS=200 "$rw" presence set alice busy 2>&1); rc=$?
check "presence set, replica stopped: exit 3" [ $rc -eq 3 ]
out=$(RINGWAY_REDIS_DURABLE_REPLICAS=1 RINGWAY_REDIS_DURABLE_TIMEOUT_MS=200 "$rw" calendar set alice ics http://127.0.0.1:9/a.ics 2>&1); rc=$?
check "calendar set, replica stopped: exit 3" [ $rc -eq 3 ]
check "calendar set: says it is not safe" grep -q "not safe against a failover" <<<"$out"
kill -CONT "$replica"
check "the change reported unsafe stays on the master" bash -c "'$rw' rule show alice | grep -q '\"name\": \"four\"'"

out=$(RINGWAY_REDIS_DURABLE_REPLICAS=17 "$rw" rule show alice 2>&1); rc=$?
check "durable_replicas 17 refused (exit 2)" [ $rc -eq 2 ]
check "naming the variable" grep -q "RINGWAY_REDIS_DURABLE_REPLICAS: 17 is above the maximum 16" <<<"$out"
out=$(RINGWAY_REDIS_DURABLE_TIMEOUT_MS=0 "$rw" rule show alice 2>&1); rc=$?
check "durable_timeout_ms 0 refused (exit 2)" [ $rc -eq 2 ]
check "naming the variable" grep -q "RINGWAY_REDIS_DURABLE_TIMEOUT_MS" <<<"$out"

echo "passed $pass, failed $failed"
[ "$failed" -eq 0 ]
