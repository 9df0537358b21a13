#!/usr/bin/env bash
# tests/integration/presence_calls_live_test.sh — a call whose sip-edge process dies is
# forgotten within the documented bound, and a live call never is (docs/presence.md "Staleness
# bound"). A real redis-server, router, ringway-sip-edge with two worker processes (each vouching
# for its calls in rw:calls:<instance>), ringway-presence reconciling every second with
# presence.call_max_ms at an hour, SIPp as alice's phone (answering) and bob calling her. Checks:
# a 30 s call stays busy/call/on_call at every sample while it lasts, and its id is in its
# worker's rw:calls set (TTL at most 3 s); then, during a second call, the worker carrying it is
# killed with SIGKILL while the caller still holds the call (no BYE, no call.ended): alice is
# available again within presence.calls_live_ms + a pass (3 s + 1 s; 3 s slack), long before
# call_max_ms, and the registry (its entries live 60 s here) had no part in it.
# sip-edge is not run under RINGWAY_WRAP here: its workers are exec'd without the wrapper.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport rbus sip a1 b1 phttp pbus < <("$RINGWAY_FREE_PORT" 7 | tr '\n' ' ')
# sip-edge's HTTP port and bus port with the two after each free (worker I: port + 1 + I)
for _ in $(seq 1 20); do
  read -r ehttp ebus < <("$RINGWAY_FREE_PORT" 2 | tr '\n' ' ')
  [ -z "$(ss -Hltn "( sport = :$((ehttp + 1)) or sport = :$((ehttp + 2)) or sport = :$((ebus + 1)) or sport = :$((ebus + 2)) )")" ] && break
done
rw_workdir

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport RINGWAY_BUS_DISCOVERY_POLL_MS=100
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
rw=$build/tools/ringway
"$rw" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$rbus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
pids+=($!)
rw_wait_tcp "$rbus"
# Registry entries live 60 s: a killed worker's calls cannot be dropped by the registry check.
RINGWAY_HTTP_PORT=$ehttp RINGWAY_SIP_PORT=$sip RINGWAY_SIP_ADDR=127.0.0.1 RINGWAY_SIP_PROCESSES=2 \
RINGWAY_BUS_PUB="tcp://127.0.0.1:$ebus" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" \
RINGWAY_INSTANCE=edge RINGWAY_BUS_DISCOVERY_TTL_MS=60000 \
  "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=($edge_pid)
rw_wait_health "$ehttp" 10 || { echo "FAIL: sip-edge did not start" >&2; exit 1; }

RINGWAY_HTTP_PORT=$phttp RINGWAY_BUS_PUB="tcp://127.0.0.1:$pbus" RINGWAY_INSTANCE=presence-1 \
RINGWAY_PRESENCE_RECONCILE_MS=1000 RINGWAY_PRESENCE_CALL_MAX_MS=3600000 RINGWAY_LOG_LEVEL=info \
  "${RW_WRAP[@]}" "$build/services/presence/ringway-presence" 2>>"$dir/presence.log" &
presence_pid=$!; pids+=($presence_pid)
rw_wait_health "$phttp" || { echo "FAIL: presence did not start" >&2; exit 1; }

effective() { redis-cli -p "$rport" hmget "rw:presence:$1" state source activity | paste -sd/; }
wait_state() {  # ID WANT [SECONDS=5]: until the effective state is WANT (bounded, scaled)
  local i n=$(( ${3:-5} * 20 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do [ "$(effective "$1")" = "$2" ] && return 0; sleep 0.05; done
  echo "  $1 is $(effective "$1"), not $2" >&2; return 1
}

S="127.0.0.1:$sip"
sipp_fg() {  # name, args...: SIPp in the foreground, its exit code
  local name=$1; shift
  timeout "$(rw_secs 30)" sipp -m 1 -timeout "$(rw_secs 20)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/$name.err" "$@" >"$dir/$name.out" 2>&1
}
check "alice registers" sipp_fg reg-alice -sf "$sc/call_register.xml" -s 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S"
check "bob registers" sipp_fg reg-bob -sf "$sc/call_register.xml" -s 2002 -au 2002 -ap bob-pw -i 127.0.0.1 -p "$b1" "$S"
check "alice is available" wait_state alice "available/registration/idle"

call() {  # pause_ms: bob calls alice, alice answers; pids in uac and uas
  sed "s/milliseconds=\"300\"/milliseconds=\"$1\"/" "$sc/call_uac_auth.xml" >"$dir/caller.xml"
  timeout "$(rw_secs 120)" sipp -m 1 -timeout "$(rw_secs 110)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/uas.err" -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1" >"$dir/uas.out" 2>&1 &
  uas=$!; pids+=($uas)
  rw_wait_udp "$a1"
  timeout "$(rw_secs 120)" sipp -m 1 -timeout "$(rw_secs 110)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/uac.err" -sf "$dir/caller.xml" -s 2001 -key caller 2002 -au 2002 -ap bob-pw \
    -i 127.0.0.1 -p "$b1" "$S" >"$dir/uac.out" 2>&1 &
  uac=$!; pids+=($uac)
}
# the call id alice's presence holds, and the sip-edge worker that published it
call_entry() { redis-cli -p "$rport" hgetall rw:presence:calls:alice | paste -sd' '; }

# 1. A live call of 30 s with a reconciliation pass every second: on-the-phone throughout.
call 30000
check "alice is on a call" wait_state alice "busy/call/on_call" 10
read -r cid _ _ pub _ <<<"$(call_entry)"
check "the call is noted with its worker ($pub)" grep -Eqx 'edge-w[01]' <<<"$pub"
in_set() { [ "$(redis-cli -p "$rport" sismember "rw:calls:$pub" "$cid")" = 1 ]; }
listed() {  # until the call is in its worker's set (its next batch: 1 s; bounded, scaled)
  local i
  for ((i = 0; i < 40 * RW_SCALE; i++)); do in_set && return 0; sleep 0.1; done
  return 1
}
check "its worker lists it in rw:calls:$pub (next batch)" listed
ttl=$(redis-cli -p "$rport" pttl "rw:calls:$pub")
check "rw:calls:$pub expires within 3 s ($ttl ms)" [ "$ttl" -gt 0 ] && [ "$ttl" -le 3000 ]
samples=0; wrong=0
while kill -0 "$uac" 2>/dev/null; do
  st=$(effective alice)
  [ "$st" = "busy/call/on_call" ] || { kill -0 "$uac" 2>/dev/null && { wrong=$((wrong + 1)); echo "  sample: $st" >&2; }; }
  samples=$((samples + 1)); sleep 0.2
done
wait "$uac"; uac_rc=$?; wait "$uas"; uas_rc=$?
check "the 30 s call completed (both SIPp exit 0)" [ $uac_rc -eq 0 ] && [ $uas_rc -eq 0 ]
check "alice was on-the-phone at each of $samples samples while it lasted" [ $wrong -eq 0 ] && [ $samples -ge 50 ]
check "passes ran meanwhile" bash -c "curl -fsS http://127.0.0.1:$phttp/metrics | grep -Eq '^ringway_presence_reconcile_passes_total ([2-9][0-9]|[1-9][0-9]{2,})'"
check "the call ended: alice available" wait_state alice "available/registration/idle"
left_set() {  # until the call is out of its worker's set (its next batch; bounded, scaled)
  local i
  for ((i = 0; i < 40 * RW_SCALE; i++)); do ! in_set && return 0; sleep 0.1; done
  return 1
}
check "and it left its worker's set" left_set

# 2. The worker carrying an answered call killed; the caller holds the call (no BYE yet).
call 100000
check "alice is on the second call" wait_state alice "busy/call/on_call" 10
read -r cid _ _ pub _ <<<"$(call_entry)"
idx=${pub#edge-w}
wpid=$(curl -fsS "http://127.0.0.1:$ehttp/workers" | tr '{' '\n' | grep "\"index\":$idx," | grep -o '"pid":[0-9]*' | cut -d: -f2)
check "the worker carrying it ($pub) has a pid ($wpid)" [ -n "$wpid" ]
kill -KILL "$wpid"
t0=$(date +%s%3N)      # read for the figure printed below only; the verdict is wait_state's
check "alice is available again within calls_live_ms + a pass (+3 s)" wait_state alice "available/registration/idle" 7
echo "  forgotten $(( $(date +%s%3N) - t0 )) ms after the kill"
check "the caller still held the call then (it was no call.ended)" kill -0 "$uac"
check "the killed worker's entry is still in the registry" \
  bash -c "redis-cli -p $rport zrange rw:svc:sip_edge.events 0 -1 | grep -q '^$pub|'"
kill "$uac" "$uas" 2>/dev/null; wait "$uac" "$uas" 2>/dev/null

rw_stop "$presence_pid"; rc=$?
check "presence exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir"/presence.log
rw_stop "$edge_pid" >/dev/null

echo "presence_calls_live_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
