#!/usr/bin/env bash
# tests/integration/fallback_schedule_test.sh — survivable routing is right at the time of the
# call. A real redis-server, the real router and sip-edge, SIPp as alice's softphone, as the
# trunk (her mobile and divert numbers) and as the callers. Every router is killed (SIGKILL);
# then a rule changed with the CLI is followed by the very next call, and with no router
# running a schedule boundary (Monday 17:30 London) and the end of a time-limited divert are
# followed too. sip-edge's clock is pinned per run (RINGWAY_CLOCK_OFFSET_MS, common/clock.h)
# to instants on the next Monday (the route request carries the edge's time, so the router's and
# the CLI's clocks decide nothing), so no verdict depends on the day or the hour of the run.
# Also: a redirect-mode (302) caller never gets a rule's divert number; the call is proxied.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport bus http sip a1 t1 peer pbx < <("$RINGWAY_FREE_PORT" 8 | tr '\n' ' ')
rw_workdir

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
rw=$build/tools/ringway
workday_to() {  # device: alice's office-hours rule ringing that device
  echo "{\"name\":\"workday\",\"days\":\"mon-fri\",\"time\":\"09:00-17:30\",\"action\":\"ring\",\"ring\":[\"$1\"]}"
}
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw", "tz": "Europe/London",
    "devices": [ { "id": "softphone", "kind": "sip" },
                 { "id": "mobile", "kind": "number", "address": "+447700900123" } ],
    "rules": { "active": "office", "profiles": { "office": [ $(workday_to softphone),
      { "name": "evening", "action": "ring", "ring": ["mobile"] } ] } } },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw", "tz": "Europe/London",
    "devices": [ { "id": "desk", "kind": "sip" } ],
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "away", "action": "divert", "to": "+447700900555" } ] } } } ] }
JSON
out=$("$rw" import "$dir/dir.json" 2>/dev/null) || { echo "FAIL: import" >&2; exit 1; }
check "import says the fallback is current" grep -q "^fallback: current (sip-edge evaluates these settings at call time if no router answers)$" <<<"$out"

# Instants on the next Monday (always ahead: Redis keeps its real clock), London time.
monday() { TZ=Europe/London date -d "next monday $1" +%s; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router_pid=$!; pids+=("$router_pid")
rw_wait_tcp "$bus"

edge_pid=
start_edge() {  # "HH:MM" on the next Monday, London: sip-edge's clock starts there
  local at
  at=$(monday "$1")
  RINGWAY_CLOCK_OFFSET_MS=$(( (at - $(date +%s)) * 1000 )) \
  RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" \
  RINGWAY_LOG_LEVEL=info RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy; pbx 127.0.0.1:$pbx redirect; t1 127.0.0.1:$t1 trunk +44" \
    "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge-$1.log" &
  edge_pid=$!; pids+=("$edge_pid")
  rw_wait_health "$http" || return 1
  register   # bindings carry the edge's clock: each pinned edge gets a fresh one
}
edge_exits=()
stop_edge() { rw_stop "$edge_pid"; edge_exits+=($?); }   # each must exit 0 (valgrind: 99 on a leak)

S="127.0.0.1:$sip"
fg() {  # name, args...: SIPp in the foreground, its exit code
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" "$@" >"$dir/$name.out" 2>&1
}
bgs() {  # name, args...: SIPp in the background (messages traced to $dir/name.msg); pid in $!
  local name=$1; shift
  rm -f "$dir/$name.msg"
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1 &
}
register() { fg "reg-$a1" -sf "$sc/call_register.xml" -s 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S"; }

# call NAME NUMBER FROM-PORT WHERE [DIALLED]: a trusted caller on FROM-PORT calls NUMBER; WHERE
# (softphone or trunk) answers; true when the call was answered there and the trunk, if it
# answered, was asked for DIALLED.
call() {
  local name=$1 number=$2 from=$3 where=$4 dialled=${5:-} port uas
  if [ "$where" = softphone ]; then port=$a1; else port=$t1; fi
  bgs "$name-uas" -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$port"; uas=$!
  rw_wait_udp "$port" 5
  fg "$name" -sf "$sc/call_uac_peer.xml" -s "$number" -key caller 3000 -i 127.0.0.1 -p "$from" "$S" || { wait $uas; return 1; }
  wait $uas || return 1
  [ -z "$dialled" ] || grep -q "^INVITE sip:$dialled@" "$dir/$name-uas.msg"
}

start_edge 10:00 || { echo "FAIL: sip-edge did not start" >&2; exit 1; }
check "register alice's softphone" true

# 1. Redirect mode: bob's rule diverts to a number, which must not leave in a 302: the PBX's
#    call is proxied to the trunk and answered there (a 302 fails this scenario).
check "redirect caller: bob's divert number is proxied, not put in a 302" \
  call redirect 2002 "$pbx" trunk "+447700900555"

# 2. With the router: Monday 10:00 is office hours, the softphone rings.
check "router running, Monday 10:00: the softphone answers" call router-1000 2001 "$peer" softphone

# 3. Every router killed; the rule is changed with the CLI, and the next call follows it.
kill -KILL "$router_pid"; wait "$router_pid" 2>/dev/null
out=$("$rw" rule set alice office "$(workday_to mobile)")
changed_ns=$(date +%s%N)
check "rule set says the fallback is current" grep -q "^fallback: current (sip-edge evaluates these settings at call time if no router answers)$" <<<"$out"
check "no router: the next call follows the new rule (the mobile, through the trunk)" \
  call changed 2001 "$peer" trunk "+447700900123"
# When the trunk saw the INVITE, after the change was saved (SIPp's trace: "---- DATE TIME").
rang_ns=$(awk '/^----+ [0-9-]+[ \t]+[0-9:.]+/ { ts = $2 " " $3 } /^INVITE sip:/ { print ts; exit }' "$dir/changed-uas.msg" | xargs -I{} date -d {} +%s%N)
[ -n "$rang_ns" ] && echo "change to fallback in force: the first call after it rang the new target $(( (rang_ns - changed_ns) / 1000000 )) ms after the CLI returned"
check "the fallback was evaluated by sip-edge (call_fallback kind evaluated)" grep -q '"event":"call_fallback".*"kind":"evaluated"' "$dir/edge-10:00.log"
check "JSON writes carry the fallback field" bash -c "'$rw' --json rule set alice office '$(workday_to softphone)' | grep -q '\"fallback\":\"current\"'"
stop_edge

# 4. A schedule boundary, no router: 17:28 is office hours (softphone), 17:31 is not (mobile).
start_edge 17:28 || { echo "FAIL: sip-edge did not start" >&2; exit 1; }
check "no router, Monday 17:28: the workday rule rings the softphone" call at-1728 2001 "$peer" softphone
stop_edge
start_edge 17:31 || { echo "FAIL: sip-edge did not start" >&2; exit 1; }
check "no router, Monday 17:31: past the window, the evening rule rings the mobile" \
  call at-1731 2001 "$peer" trunk "+447700900123"
stop_edge

# 5. A time-limited divert, no router: in force at 10:02, over at 10:06 (it ends at 10:05).
out=$("$rw" divert set alice +447700900555 "$(iso "$(monday 09:00)")" "$(iso "$(monday 10:05)")")
check "divert set says the fallback is current" grep -q "^fallback: current" <<<"$out"
start_edge 10:02 || { echo "FAIL: sip-edge did not start" >&2; exit 1; }
check "no router, 10:02: the divert is in force" call div-1002 2001 "$peer" trunk "+447700900555"
stop_edge
start_edge 10:06 || { echo "FAIL: sip-edge did not start" >&2; exit 1; }
check "no router, 10:06: the divert ended, the softphone rings" call div-1006 2001 "$peer" softphone
check "evaluated fallbacks counted in /metrics" bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -E '^ringway_sip_edge_fallback_evaluated_total [1-9]'"
stop_edge
check "every sip-edge exits 0 on SIGTERM (${edge_exits[*]})" [ "$(printf '%s' "${edge_exits[@]}" | tr -d 0)" = "" ]
check "no valgrind report" rw_valgrind_clean "$dir"/*.log

echo "fallback_schedule_test: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
