#!/usr/bin/env bash
# tests/integration/cli_test.sh — the `ringway` CLI against a real redis-server: imports (good,
# invalid JSON, bad entries named), user list/show in text and JSON, exit codes.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway
pass=0; failed=0
check() {  # description, command...
  local what=$1; shift
  if "$@"; then pass=$((pass+1)); else failed=$((failed+1)); echo "FAIL: $what" >&2; fi
}

port=$("$RINGWAY_FREE_PORT" 1)
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  --logfile "$dir/redis.log" --daemonize no &
redis=$!
trap 'kill $redis 2>/dev/null; wait $redis 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
export RINGWAY_REDIS_PORT=$port

out=$("$rw" import "$top/compose/demo-directory.json" 2>&1)
check "import demo directory" [ $? -eq 0 ]
check "import says how many" grep -q "imported 4 users" <<<"$out"

check "user list" bash -c "'$rw' user list | grep -q '^alice *2001 *+441632960001 *Alice Archer'"
check "user list --json" bash -c "'$rw' --json user list | grep -q '\"id\":\"bob\",\"ext\":\"2002\"'"
check "user show" bash -c "'$rw' user show carol | grep -q 'home *number +441632960999'"
check "user show unknown exits 1" bash -c "! '$rw' user show nobody 2>/dev/null"

printf '{"users": [ {"id":"ok1","ext":"3001","password":"x"}, {"id":"bad","ext":"3002","number":"12ab","password":"x"} ]}' >"$dir/bad.json"
out=$("$rw" import "$dir/bad.json" 2>&1); rc=$?
check "bad entry exits 1" [ $rc -eq 1 ]
check "bad entry is named" grep -q "users\[1\]: number '12ab' is not a valid public number" <<<"$out"
check "entry before it was written" bash -c "'$rw' user show ok1 >/dev/null"

printf '{"users": [ {"id":"dup","ext":"2001","password":"x"} ]}' >"$dir/dup.json"
out=$("$rw" import "$dir/dup.json" 2>&1)
check "taken extension names its owner" grep -q "2001 already belongs to user 'alice'" <<<"$out"

printf '{"users": [ \n oops ]}' >"$dir/broken.json"
out=$("$rw" import "$dir/broken.json" 2>&1); rc=$?
check "invalid JSON exits 1 with line" bash -c "[ $rc -eq 1 ] && grep -q 'broken.json:2:' <<<\"\$0\"" "$out"

out=$("$rw" explain 2001 --router tcp://127.0.0.1:1 2>&1); rc=$?
check "explain with no router exits 1" [ $rc -eq 1 ]
check "explain says no answer" grep -q "no answer from a router" <<<"$out"
check "usage exits 2" bash -c "'$rw' frobnicate 2>/dev/null; [ \$? -eq 2 ]"
check "redis down exits 1" bash -c "RINGWAY_REDIS_PORT=1 '$rw' user list 2>&1 | grep -q 'cannot reach Redis'"

echo "cli_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
