#!/usr/bin/env bash
# tests/integration/presence_test.sh — presence from real registrations and calls: a real
# redis-server, router and sip-edge (publishing its call.* and reg.* events), two
# ringway-presence instances, SIPp as alice's softphone (registering, answering) and as bob
# calling her. Checks the effective state in Redis (rw:presence:alice) and the presence.changed
# events (ringway events): offline before registering, available once registered, ringing then
# on a call then idle for a call (the calling colleague on a call too), offline again when the binding is removed — each change
# published once with two instances running; a manual setting through the CLI published by an
# instance; one instance killed (SIGKILL) loses nothing (the other goes on); both killed during
# a call, so its call.ended is lost: alice is back to available within the documented bound
# (presence.calls_live_ms + a reconciliation pass: sip-edge no longer lists the call in
# rw:calls:<instance>; call_max_ms is an hour here) after one instance restarts; /health, /metrics;
# a calendar entry written into the calendar source is merged; SIGTERM ends each instance with
# exit 0.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport rbus ebus ehttp sip a1 b1 p1http p1bus p2http p2bus < <("$RINGWAY_FREE_PORT" 11 | tr '\n' ' ')
rw_workdir

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport RINGWAY_BUS_DISCOVERY_POLL_MS=100
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] },
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
rw=$build/tools/ringway
"$rw" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$rbus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router_pid=$!; pids+=($router_pid)
rw_wait_tcp "$rbus"
RINGWAY_HTTP_PORT=$ehttp RINGWAY_SIP_PORT=$sip RINGWAY_SIP_ADDR=127.0.0.1 RINGWAY_BUS_PUB="tcp://127.0.0.1:$ebus" \
RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" RINGWAY_INSTANCE=edge-1 \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=($edge_pid)
rw_wait_health "$ehttp"

call_max_s=3600                    # presence.call_max_ms in this test: never reached
calls_live_s=3                     # presence.calls_live_ms (its default)
start_presence() {  # n http bus: instance presence-n in the background, pid in presence_pid
  RINGWAY_HTTP_PORT=$2 RINGWAY_BUS_PUB="tcp://127.0.0.1:$3" RINGWAY_INSTANCE="presence-$1" \
  RINGWAY_PRESENCE_RECONCILE_MS=200 RINGWAY_PRESENCE_RECONCILE_BATCH=2 \
  RINGWAY_PRESENCE_CALL_MAX_MS=$((call_max_s * 1000)) RINGWAY_LOG_LEVEL=info \
    "${RW_WRAP[@]}" "$build/services/presence/ringway-presence" 2>>"$dir/presence-$1.log" &
  presence_pid=$!; pids+=($presence_pid)
  rw_wait_health "$2"
}
start_presence 1 "$p1http" "$p1bus"; p1=$presence_pid
start_presence 2 "$p2http" "$p2bus"; p2=$presence_pid
check "presence-1 /health" curl -fsS -o /dev/null "http://127.0.0.1:$p1http/health"
check "presence-2 /health" curl -fsS -o /dev/null "http://127.0.0.1:$p2http/health"

# effective ID: "state/source/activity" as stored for the router
effective() { redis-cli -p "$rport" hmget "rw:presence:$1" state source activity | paste -sd/; }
# wait_state ID WANT [SECONDS=5]: until the effective state is WANT (bounded, scaled)
wait_state() {
  local i n=$(( ${3:-5} * 20 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do [ "$(effective "$1")" = "$2" ] && return 0; sleep 0.05; done
  echo "  $1 is $(effective "$1"), not $2" >&2; return 1
}
# count PATTERN: presence.changed lines recorded so far matching PATTERN
count() { grep -c -- "$1" "$dir/events.txt"; }
# wait_count PATTERN N: until N recorded lines match (bounded, scaled)
wait_count() {
  local i n=$(( 5 * 20 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do [ "$(count "$1")" -ge "$2" ] && break; sleep 0.05; done
  [ "$(count "$1")" -eq "$2" ] || { echo "  '$1' seen $(count "$1") times, not $2" >&2; return 1; }
}

check "alice with no binding is offline (reconciliation pass)" wait_state alice "offline/registration/idle"

# The recorder of presence.changed: follows the registry; ready once it shows a CLI change.
"$rw" events presence.changed --follow >"$dir/events.txt" 2>"$dir/events.err" &
pids+=($!)
ready=0
for ((i = 0; i < 40 * RW_SCALE && !ready; i++)); do
  "$rw" presence set carol away >/dev/null; "$rw" presence clear carol >/dev/null
  for ((k = 0; k < 10; k++)); do grep -q 'user=carol state=away' "$dir/events.txt" && { ready=1; break; }; sleep 0.05; done
done
check "a manual change through the CLI is published by a presence instance" [ $ready -eq 1 ]

S="127.0.0.1:$sip"
sipp_fg() {  # name, args...: SIPp in the foreground, its exit code
  local name=$1; shift
  timeout "$(rw_secs 30)" sipp -m 1 -timeout "$(rw_secs 20)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/$name.err" "$@" >"$dir/$name.out" 2>&1
}
sed 's/Expires: 600/Expires: 0/' "$sc/call_register.xml" >"$dir/unregister.xml"
check "alice registers" sipp_fg reg-alice -sf "$sc/call_register.xml" -s 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S"
check "alice is available (registration)" wait_state alice "available/registration/idle"
check "bob registers" sipp_fg reg-bob -sf "$sc/call_register.xml" -s 2002 -au 2002 -ap bob-pw -i 127.0.0.1 -p "$b1" "$S"
check "alice's availability is published once (two instances)" wait_count 'user=alice state=available source=registration activity=idle' 1

# A call: bob calls 2001, alice's softphone rings and answers, bob hangs up after a while.
call() {  # pause_ms: bob calls alice, alice answers; returns when both SIPp ended (their codes)
  sed "s/milliseconds=\"300\"/milliseconds=\"$1\"/" "$sc/call_uac_auth.xml" >"$dir/caller.xml"
  timeout "$(rw_secs 40)" sipp -m 1 -timeout "$(rw_secs 30)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/uas.err" -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1" >"$dir/uas.out" 2>&1 &
  uas=$!
  rw_wait_udp "$a1"
  timeout "$(rw_secs 40)" sipp -m 1 -timeout "$(rw_secs 30)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/uac.err" -sf "$dir/caller.xml" -s 2001 -key caller 2002 -au 2002 -ap bob-pw -i 127.0.0.1 -p "$b1" "$S" \
    >"$dir/uac.out" 2>&1 &
  uac=$!
}
call 300
wait "$uac"; uac_rc=$?; wait "$uas"; uas_rc=$?
check "the call completed (caller and callee SIPp exit 0)" [ $uac_rc -eq 0 ] && [ $uas_rc -eq 0 ]
check "alice is idle again after the call" wait_state alice "available/registration/idle"
check "ringing published once" wait_count 'user=alice state=available source=registration activity=ringing' 1
check "on a call published once" wait_count 'user=alice state=busy source=call activity=on_call' 1
check "available again published once (twice in all)" wait_count 'user=alice state=available source=registration activity=idle' 2
check "in that order" bash -c "grep 'user=alice' '$dir/events.txt' | sed -n 's/.*state=\([a-z_]*\).*activity=\([a-z_]*\).*/\1:\2/p' | tail -3 | paste -sd' ' | grep -qx 'available:ringing busy:on_call available:idle'"

# every instance receives every event (and the script decides which reports the change)
wait_merged() {  # http port: until its /metrics counts merged events (bounded, scaled)
  local i
  for ((i = 0; i < 50 * RW_SCALE; i++)); do
    curl -fsS "http://127.0.0.1:$1/metrics" | grep -q '^ringway_presence_events_total [1-9]' && return 0
    sleep 0.1
  done
  return 1
}
check "/metrics of presence-1 counts the call's events" wait_merged "$p1http"
check "/metrics of presence-2 counts them too" wait_merged "$p2http"

# The calendar's source, written as docs/presence.md says (a meeting from a second ago for an
# hour, then the user marked dirty): merged and published once.
now_ms=$(date +%s%3N)
redis-cli -p "$rport" hset rw:presence:src:carol calendar "in_meeting $((now_ms + 3600000)) $((now_ms - 1000))" >/dev/null
redis-cli -p "$rport" rpush rw:presence:dirty carol >/dev/null
check "a calendar entry makes carol in_meeting" wait_state carol "in_meeting/calendar/idle"
check "published once" wait_count 'user=carol state=in_meeting source=calendar' 1
redis-cli -p "$rport" hdel rw:presence:src:carol calendar >/dev/null
redis-cli -p "$rport" rpush rw:presence:dirty carol >/dev/null
check "the entry removed: carol offline again" wait_state carol "offline/registration/idle"

# One instance killed: the other alone carries on, nothing lost.
kill -KILL "$p1"; wait "$p1" 2>/dev/null
"$rw" presence set alice away --until 2036-01-01T00:00:00Z >/dev/null
check "with presence-1 killed, a manual away is in force" wait_state alice "away/manual/idle"
check "and published once" wait_count 'user=alice state=away source=manual' 1
"$rw" presence clear alice >/dev/null
check "cleared: available again" wait_state alice "available/registration/idle"

# Both killed during a call: its call.ended is lost; one restarted repairs it within the bound.
call $((6000 * RW_SCALE))
check "alice is on a call" wait_state alice "busy/call/on_call" 10
check "bob, who called her from his desk, is on a call too" wait_state bob "busy/call/on_call"
kill -KILL "$p2"; wait "$p2" 2>/dev/null
wait "$uac"; uac_rc=$?; wait "$uas"; uas_rc=$?
check "the second call completed while no presence instance ran" [ $uac_rc -eq 0 ] && [ $uas_rc -eq 0 ]
check "its end was not seen: alice still shows on a call" [ "$(effective alice)" = "busy/call/on_call" ]
start_presence 1 "$p1http" "$p1bus"; p1=$presence_pid
# bound: calls_live_ms after the answer, plus one pass (3 users, 2 per 200 ms batch) — 2 s slack
check "the lost call.ended is repaired within calls_live_ms + a pass" wait_state alice "available/registration/idle" $((calls_live_s + 2))
check "for the caller too" wait_state bob "available/registration/idle" 2

check "alice unregisters" sipp_fg unreg-alice -sf "$dir/unregister.xml" -s 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S"
check "alice is offline once her binding is gone" wait_state alice "offline/registration/idle"

metrics=$(curl -fsS "http://127.0.0.1:$p1http/metrics")
check "/metrics counts published changes" grep -q '^ringway_presence_changes_published_total [1-9]' <<<"$metrics"
check "/metrics counts reconciliation passes" grep -q '^ringway_presence_reconcile_passes_total [1-9]' <<<"$metrics"
rw_stop "$p1"; rc=$?
check "presence-1 exits 0 on SIGTERM" [ $rc -eq 0 ]
start_presence 2 "$p2http" "$p2bus"; p2=$presence_pid
rw_stop "$p2"; rc=$?
check "presence-2 exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir"/presence-*.log
rw_stop "$edge_pid" >/dev/null; rw_stop "$router_pid" >/dev/null

echo "presence_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
