#!/usr/bin/env bash
# tests/integration/cli_config_test.sh — the `ringway` CLI finds the services' Redis the way the
# services do (a service's own configuration file with -c or RINGWAY_CONFIG, RINGWAY_REDIS_*
# variables, a password, Sentinel) and speaks to operators as documented: --help on stdout,
# bad flags and commands named (exit 2), refusals exit 1, --json errors as JSON on stderr,
# times without a zone refused, progress lines on stderr.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir
read -r port pport sport unused < <("$RINGWAY_FREE_PORT" 4 | tr '\n' ' ')
rw_redis_start "$port" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
unset RINGWAY_REDIS_HOST RINGWAY_REDIS_PORT RINGWAY_REDIS_SENTINELS RINGWAY_REDIS_PASSWORD RINGWAY_CONFIG

# 1. The configuration file of a service (sip-edge's, with keys the CLI does not use) and the
# environment: no --redis flag anywhere below.
cat >"$dir/sip-edge.conf" <<EOF
instance = edge-1
[sip]
port = 5999
realm = ringway.local
[auth]
nonce_secret = s3cret
[redis]
host = 127.0.0.1
port = $port
EOF
out=$("$rw" -c "$dir/sip-edge.conf" import "$top/compose/demo-directory.json" 2>"$dir/import.err"); rc=$?
check "-c FILE: a sip-edge configuration file reaches its Redis" [ $rc -eq 0 ]
check "import prints the result on stdout" grep -q "imported 4 users" <<<"$out"
check "import progress on stderr" grep -q "^ringway: import: users 4 of 4$" "$dir/import.err"
check "RINGWAY_CONFIG=FILE does the same" bash -c "RINGWAY_CONFIG='$dir/sip-edge.conf' '$rw' user list | grep -q '^alice '"
check "RINGWAY_REDIS_PORT overrides the file" bash -c "RINGWAY_REDIS_PORT=$unused '$rw' -c '$dir/sip-edge.conf' user list 2>&1 | grep -q 'cannot reach Redis at 127.0.0.1:$unused'"
check "RINGWAY_REDIS_PORT alone is enough" bash -c "RINGWAY_REDIS_PORT=$port '$rw' user show alice | grep -q '^ext *2001'"
out=$(RINGWAY_REDIS_PORT=$unused "$rw" user list 2>&1); rc=$?
check "Redis down: exit 1 naming the address and how to set it" bash -c "[ $rc -eq 1 ] && grep -q 'cannot reach Redis at 127.0.0.1:$unused (set -c FILE, RINGWAY_REDIS_\* or --redis)' <<<\"\$0\"" "$out"
printf '[redis]\nport = abc\n' >"$dir/bad.conf"
out=$("$rw" -c "$dir/bad.conf" user list 2>&1); rc=$?
check "a bad configuration is named, exit 2" bash -c "[ $rc -eq 2 ] && grep -q \"bad.conf:2: redis.port: 'abc' is not an integer\" <<<\"\$0\"" "$out"

# 2. A password (redis.password / RINGWAY_REDIS_PASSWORD).
redis-server --port "$pport" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --requirepass 'pw with space' \
  --logfile "$dir/redis-pw.log" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 $((50 * RW_SCALE))); do redis-cli -p "$pport" -a 'pw with space' --no-auth-warning ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
out=$(RINGWAY_REDIS_PORT=$pport "$rw" user list 2>&1); rc=$?
check "without the password: exit 1 with Redis's reason" bash -c "[ $rc -eq 1 ] && grep -qi 'auth' <<<\"\$0\"" "$out"
check "RINGWAY_REDIS_PASSWORD logs in" bash -c "RINGWAY_REDIS_PORT=$pport RINGWAY_REDIS_PASSWORD='pw with space' '$rw' import '$top/compose/demo-directory.json' >/dev/null 2>&1"
printf '[redis]\nport = %s\npassword = "pw with space"\n' "$pport" >"$dir/pw.conf"
check "redis.password in the file logs in" bash -c "'$rw' -c '$dir/pw.conf' user show bob | grep -q '^ext *2002'"

# 3. Sentinel: the master's address comes from a sentinel; redis.host points nowhere.
cat >"$dir/sentinel.conf" <<EOF
port $sport
bind 127.0.0.1
daemonize no
dir $dir
sentinel monitor ringway 127.0.0.1 $port 1
EOF
redis-server "$dir/sentinel.conf" --sentinel >"$dir/sentinel.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 $((50 * RW_SCALE))); do
  redis-cli -p "$sport" sentinel get-master-addr-by-name ringway 2>/dev/null | grep -q "$port" && break; sleep 0.1
done
check "RINGWAY_REDIS_SENTINELS finds the master" bash -c "RINGWAY_REDIS_HOST=192.0.2.1 RINGWAY_REDIS_SENTINELS=127.0.0.1:$sport '$rw' user show carol | grep -q '^ext *2003'"
out=$(RINGWAY_REDIS_SENTINELS=127.0.0.1:$sport RINGWAY_REDIS_MASTER_NAME=other "$rw" user list 2>&1); rc=$?
check "an unknown master name: exit 1 naming the sentinels" bash -c "[ $rc -eq 1 ] && grep -q \"master 'other' through sentinels 127.0.0.1:$sport\" <<<\"\$0\"" "$out"

# 4. Usage: --help on stdout (exit 0), errors named on stderr (exit 2), refusals exit 1.
export RINGWAY_REDIS_PORT=$port
"$rw" --help >"$dir/help.out" 2>"$dir/help.err"; rc=$?
check "--help exits 0" [ $rc -eq 0 ]
check "--help prints usage on stdout" grep -q "^usage: ringway" "$dir/help.out"
check "--help lists the new commands" bash -c "grep -q 'presence set USER STATE' '$dir/help.out' && grep -q 'regs USER' '$dir/help.out' && grep -q 'events \[TOPIC\]' '$dir/help.out'"
check "--help prints nothing on stderr" [ ! -s "$dir/help.err" ]
usage_case() { # what expected-message args...
  local what=$1 msg=$2; shift 2
  local out rc
  out=$("$rw" "$@" 2>&1 >/dev/null); rc=$?
  check "$what: exit 2" [ $rc -eq 2 ]
  check "$what: named" grep -qF -- "$msg" <<<"$out"
}
usage_case "a bad flag" "unknown option '--frobnicate'" user list --frobnicate 1
usage_case "a bad command" "unknown command 'frobnicate'" frobnicate
usage_case "a bad verb" "unknown command 'user frob'" user frob
usage_case "a missing argument" "usage: ringway rule set USER PROFILE|pinned 'RULE-JSON'" rule set alice
usage_case "a flag without its value" "--at needs a value" explain 2001 --at
usage_case "no command" "no command given"
usage_case "--at without a zone" "'2026-03-30T09:04:00' has no zone" explain 2001 --at 2026-03-30T09:04:00
usage_case "--until that is no time" "'tomorrow' is not" presence set alice away --until tomorrow
usage_case "an event topic that is no topic" "'Call!' is not a topic" events 'Call!'
out=$("$rw" user show nobody 2>&1); rc=$?
check "a refusal exits 1 with the reason" bash -c "[ $rc -eq 1 ] && grep -q \"ringway: no such user 'nobody'\" <<<\"\$0\"" "$out"
"$rw" --json rule set bob office '{"name":"fwd","action":"divert","to":"user:alice"}' >"$dir/j.out" 2>"$dir/j.err"; rc=$?
check "--json refusal exits 1" [ $rc -eq 1 ]
check "--json refusal: nothing on stdout" [ ! -s "$dir/j.out" ]
check "--json refusal: JSON with the reason on stderr" grep -q '^{"ok":false,"error":"this would close a divert loop: bob -> alice -> bob"}$' "$dir/j.err"
check "--json success: JSON on stdout" bash -c "'$rw' --json profile switch alice office | grep -q '^{\"ok\":true'"
out=$("$rw" --json user show nobody 2>&1 >/dev/null)
check "--json unknown user names it" grep -q "\"error\":\"no such user 'nobody'\"" <<<"$out"

echo "cli_config_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
