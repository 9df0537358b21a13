#!/usr/bin/env bash
# tests/integration/durability_kill_test.sh — a change the CLI said was saved survives a SIGKILL
# of redis-server run as `make demo` and compose/ run it (append-only file, appendfsync
# everysec): five rounds of `ringway rule set` (exit 0), SIGKILL to redis-server at once,
# redis-server again on the same directory; every rule saved so far is there. A control round
# without the append-only file shows the check catches a lost write: there the rule is gone.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir
read -r port < <("$RINGWAY_FREE_PORT" 1)
unset RINGWAY_CONFIG RINGWAY_REDIS_SENTINELS RINGWAY_REDIS_DURABLE_REPLICAS
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$port

# redis_up DATA_DIR ARGS...: redis-server on $port over DATA_DIR, its pid in $redis; true once
# it answers PING with the data loaded (5 s).
redis_up() {
  local data=$1 i; shift
  redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --logfile "$data/redis.log" "$@" \
    >/dev/null 2>&1 &
  redis=$!
  pids+=("$redis")
  for ((i = 0; i < 50; i++)); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}
# kill9: SIGKILL to redis-server and wait until it is gone (no clean shutdown, no last fsync).
kill9() { kill -KILL "$redis"; wait "$redis" 2>/dev/null; }
has_rule() { "$rw" rule show alice 2>/dev/null | grep -q "\"name\": \"$1\""; }
lacks_rule() { ! has_rule "$1"; }

aof=(--appendonly yes --appendfsync everysec --save "")
mkdir -p "$dir/aof" "$dir/none"
check "redis-server with the append-only file starts" redis_up "$dir/aof" "${aof[@]}"
check "user added" "$rw" user add alice --ext 2001 --password alice-pw
kill9
check "redis-server restarts on the same directory" redis_up "$dir/aof" "${aof[@]}"
check "the user saved just before the SIGKILL is there" "$rw" user show alice
for i in 1 2 3 4 5; do
  out=$("$rw" rule set alice pinned "{\"name\":\"r$i\",\"action\":\"divert\",\"to\":\"+447700900$i$i$i\"}" 2>&1)
  rc=$?
  kill9
  check "round $i: the CLI said saved (exit 0)" [ $rc -eq 0 ]
  check "round $i: it printed 'rule saved'" grep -q "^rule saved$" <<<"$out"
  check "round $i: redis-server restarts on the same directory" redis_up "$dir/aof" "${aof[@]}"
  for ((k = 1; k <= i; k++)); do
    check "round $i: rule r$k is there after the SIGKILL" has_rule "r$k"
  done
done
kill9

# Control: no append-only file and no snapshot, the setting `make demo` had before. The same
# save and SIGKILL lose the rule, so the rounds above would have seen a loss.
check "control: redis-server without persistence starts" redis_up "$dir/none" --appendonly no --save ""
check "control: user added" "$rw" user add alice --ext 2001 --password alice-pw
check "control: rule saved (exit 0)" "$rw" rule set alice pinned '{"name":"lost","action":"divert","to":"+447700900999"}'
kill9
check "control: redis-server restarts" redis_up "$dir/none" --appendonly no --save ""
check "control: without the append-only file the rule is lost" lacks_rule lost
kill9

echo "passed $pass, failed $failed"
[ "$failed" -eq 0 ]
