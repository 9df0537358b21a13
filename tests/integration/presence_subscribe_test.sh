#!/usr/bin/env bash
# tests/integration/presence_subscribe_test.sh — phones watching a colleague through sip-edge:
# a real redis-server, router, sip-edge and ringway-presence; SIPp as bob's phone subscribing
# to alice (digest auth, 407 then 200) for the presence package (PIDF: open, then dnd once the
# test sets it with the CLI, then Expires: 0 ends it with a NOTIFY terminated) and for the
# dialog package (idle, then early, confirmed and idle again for a call carol makes to alice,
# answered by SIPp as alice's phone). Each SIPp checks every NOTIFY's body (exit 0 = all
# seen as expected). Also: a refresh of a subscription sip-edge does not hold gets 481; sip-edge
# stopped while holding one exits 0.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
ps=$top/tests/integration/presence_sip

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport rbus ebus ehttp sip a1 s1 c1 phttp pbus < <("$RINGWAY_FREE_PORT" 10 | tr '\n' ' ')
rw_workdir

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport RINGWAY_BUS_DISCOVERY_POLL_MS=100
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "password": "alice-pw", "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "password": "bob-pw", "devices": [ { "id": "desk", "kind": "sip" } ] },
  { "id": "carol", "ext": "2003", "password": "carol-pw", "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
rw=$build/tools/ringway
"$rw" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$rbus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router_pid=$!; pids+=($router_pid)
rw_wait_tcp "$rbus"
start_edge() {
  RINGWAY_HTTP_PORT=$ehttp RINGWAY_SIP_PORT=$sip RINGWAY_SIP_ADDR=127.0.0.1 RINGWAY_BUS_PUB="tcp://127.0.0.1:$ebus" \
  RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" RINGWAY_INSTANCE=edge-1 RINGWAY_LOG_LEVEL=info \
    "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
  edge_pid=$!; pids+=($edge_pid)
  rw_wait_health "$ehttp"
}
start_edge
RINGWAY_HTTP_PORT=$phttp RINGWAY_BUS_PUB="tcp://127.0.0.1:$pbus" RINGWAY_INSTANCE=presence-1 \
  "${RW_WRAP[@]}" "$build/services/presence/ringway-presence" 2>>"$dir/presence.log" &
presence_pid=$!; pids+=($presence_pid)
rw_wait_health "$phttp"

S="127.0.0.1:$sip"
check "alice registers" timeout "$(rw_secs 30)" sipp -m 1 -timeout "$(rw_secs 20)s" -timeout_error -nostdin \
  -sf "$sc/call_register.xml" -s 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S" >/dev/null 2>&1
check "alice is available" bash -c "for i in \$(seq 100); do [ \"\$(redis-cli -p $rport hget rw:presence:alice state)\" = available ] && exit 0; sleep 0.05; done; exit 1"
# sip-edge follows the presence publisher once the registry lists it
check "sip-edge follows presence.changed" bash -c "for i in \$(seq 100); do redis-cli -p $rport zcard rw:svc:presence.events | grep -qx 1 && exit 0; sleep 0.05; done; exit 1"

subscriber() {  # name scenario event: bob's phone watching alice, in the background (pid in $sub)
  timeout "$(rw_secs 40)" sipp -m 1 -timeout "$(rw_secs 30)s" -timeout_error -nostdin -trace_err -trace_msg \
    -message_file "$dir/$1.msg" -error_file "$dir/$1.err" -sf "$ps/$2" -s 2001 -key caller 2002 -key event "$3" \
    -au 2002 -ap bob-pw -i 127.0.0.1 -p "$s1" "$S" >"$dir/$1.out" 2>&1 &
  sub=$!
}
notifies() { local n; n=$(grep -c '^NOTIFY sip:' "$dir/$1.msg" 2>/dev/null); echo "${n:-0}"; }
wait_notifies() {  # name n: until SIPp received n NOTIFYs (bounded, scaled)
  local i
  for ((i = 0; i < 200 * RW_SCALE; i++)); do [ "$(notifies "$1")" -ge "$2" ] && return 0; sleep 0.05; done
  return 1
}
# wait_bus_events: sip-edge's subscription to presence.changed is live: a change of a user
# nobody watches reaches it (its bus counter moves, no NOTIFY is sent)
wait_bus_events() {
  local i
  for ((i = 0; i < 100 * RW_SCALE; i++)); do
    "$rw" presence set carol away >/dev/null; "$rw" presence clear carol >/dev/null
    curl -fsS "http://127.0.0.1:$ehttp/metrics" | grep -q '^ringway_sip_edge_bus_sub_events_total{seq="ok"} [1-9]' && return 0
    sleep 0.1
  done
  return 1
}
check "sip-edge receives presence.changed events" wait_bus_events

subscriber pidf subscribe_presence.xml presence
check "bob's phone gets alice's first NOTIFY (presence)" wait_notifies pidf 1
"$rw" presence set alice dnd >/dev/null
wait "$sub"; rc=$?
check "presence: 407, 200, NOTIFY open, NOTIFY dnd, unsubscribed with NOTIFY terminated (SIPp exit 0)" [ $rc -eq 0 ]
"$rw" presence clear alice >/dev/null
check "alice is available again" bash -c "for i in \$(seq 100); do [ \"\$(redis-cli -p $rport hget rw:presence:alice state)\" = available ] && exit 0; sleep 0.05; done; exit 1"

subscriber dialog subscribe_dialog.xml dialog
check "bob's phone gets alice's first NOTIFY (dialog)" wait_notifies dialog 1
timeout "$(rw_secs 40)" sipp -m 1 -timeout "$(rw_secs 30)s" -timeout_error -nostdin -trace_err -error_file "$dir/uas.err" \
  -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1" >"$dir/uas.out" 2>&1 &
uas=$!
rw_wait_udp "$a1"
timeout "$(rw_secs 40)" sipp -m 1 -timeout "$(rw_secs 30)s" -timeout_error -nostdin -trace_err -error_file "$dir/uac.err" \
  -sf "$sc/call_uac_auth.xml" -s 2001 -key caller 2003 -au 2003 -ap carol-pw -i 127.0.0.1 -p "$c1" "$S" >"$dir/uac.out" 2>&1
uac_rc=$?
wait "$uas"; uas_rc=$?
check "carol's call to alice completed" [ $uac_rc -eq 0 ] && [ $uas_rc -eq 0 ]
wait "$sub"; rc=$?
check "dialog: NOTIFYs idle, early, confirmed, idle, then terminated (SIPp exit 0)" [ $rc -eq 0 ]

metrics=$(curl -fsS "http://127.0.0.1:$ehttp/metrics")
check "/metrics counts the subscriptions" grep -q '^ringway_sip_edge_subscriptions_total 2$' <<<"$metrics"
check "/metrics counts the NOTIFYs (2+1 and 4+1)" grep -q '^ringway_sip_edge_notify_sent_total 8$' <<<"$metrics"
check "no subscription is left" grep -q '^ringway_sip_edge_subscriptions 0$' <<<"$metrics"

# A refresh for a subscription this sip-edge does not hold (say, after a restart): 481.
cat >"$dir/stale.msg" <<MSG
SUBSCRIBE sip:2001@@TARGET@ SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK@RAND@;rport
From: <sip:2002@ringway.local>;tag=stale-from
To: <sip:2001@ringway.local>;tag=stale-to
Call-ID: stale-subscription@127.0.0.1
CSeq: 7 SUBSCRIBE
Contact: <sip:2002@127.0.0.1:$s1>
Event: presence
Expires: 600
Max-Forwards: 70
Content-Length: 0

MSG
check "a refresh of an unknown subscription gets 481" bash -c "'$RINGWAY_SIP_SEND' 127.0.0.1 $sip '$dir/stale.msg' | grep -q ' 481 '"

# Stopped while it holds a subscription: a clean exit all the same (no leak, no crash).
subscriber held subscribe_presence.xml presence
pids+=($sub)
check "a subscription is held" wait_notifies held 1
rw_stop "$edge_pid"; rc=$?
check "sip-edge holding a subscription exits 0 on SIGTERM" [ $rc -eq 0 ]
rw_stop "$presence_pid" >/dev/null; rw_stop "$router_pid" >/dev/null
echo "presence_subscribe_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
