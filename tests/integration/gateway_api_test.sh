#!/usr/bin/env bash
# tests/integration/gateway_api_test.sh — the gateway's resources against real parts: a real
# redis-server, the router, a ringway-huntgroup instance (publishing queue.* on the bus), sip-edge
# (publishing call.*) and ringway-gateway under the wrapper, SIPp as phones and callers, local
# accounts made with `ringway account add`. The checks themselves are in gateway_api.py (beside
# this script, run with /usr/bin/python3): staff A reads and changes their own settings, A on B
# 403; two PUTs with one ETag give 200 then 412 and the directory keeps the first; a rule naming
# a missing device 422 and nothing changed; bad JSON 400; the explain sentence equals
# `ringway --json explain`'s for the same --at, and after a divert too; an admin's new user and
# group answer a real call; a supervisor reads their group (200), not another (403); the
# wallboard's stream shows a SIPp caller joining, then abandoning, each within 1 s of the event;
# a missed call is in the user's recent calls once. Then SIGTERM: the gateway exits 0.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
rw=$build/tools/ringway
gwbin=$build/services/gateway/ringway-gateway
pass=0 failed=0

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): every service runs under it
[ -x "$gwbin" ] || { echo "FAIL: $gwbin is not built" >&2; exit 1; }
read -r rport rbus http sip hb hh hpub epub gport gh pd peer < <("$RINGWAY_FREE_PORT" 12 | tr '\n' ' ')
rw_workdir

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" }, { "id": "mobile", "kind": "number", "address": "+447700900001" },
                 { "id": "voicemail", "kind": "voicemail" } ] },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
check "directory imported" bash -c "'$rw' import '$dir/dir.json' >/dev/null"
account() {  # name password settings...
  local name=$1 pw=$2; shift 2
  printf '%s\n' "$pw" | "$rw" account add "$name" "$@" >/dev/null
}
check "account alice (staff)" account alice alice-web-pw user=alice
check "account bob (staff)" account bob bob-web-pw user=bob
check "account carol (supervisor of queue and sales)" account carol carol-web-pw roles=supervisor groups=queue,sales
check "account admin" account admin admin-web-pw roles=admin

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$rbus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
pids+=($!)
rw_wait_tcp "$rbus"
RINGWAY_HTTP_PORT=$hh RINGWAY_HUNTGROUP_BIND="tcp://127.0.0.1:$hb" RINGWAY_INSTANCE=hg1 \
  RINGWAY_BUS_PUB="tcp://127.0.0.1:$hpub" RINGWAY_HUNTGROUP_CALL_EVENTS= \
  "${RW_WRAP[@]}" "$build/services/huntgroup/ringway-huntgroup" 2>>"$dir/hg.log" &
pids+=($!)
check "huntgroup healthy" rw_wait_health "$hh"
RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="tcp://127.0.0.1:$epub" \
  RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" RINGWAY_HUNTGROUP_ENDPOINTS="tcp://127.0.0.1:$hb" \
  RINGWAY_HUNTGROUP_DEADLINE_MS=$((400 * RW_SCALE)) RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
pids+=($!)
check "sip-edge healthy" rw_wait_health "$http"
RINGWAY_HTTP_PORT=$gh RINGWAY_GATEWAY_PORT=$gport RINGWAY_BUS_PUB="" \
  RINGWAY_GATEWAY_TOKEN_SECRET=gateway-api-test-secret-of-32-characters \
  RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" \
  "${RW_WRAP[@]}" "$gwbin" 2>>"$dir/gateway.log" &
gw_pid=$!; pids+=($gw_pid)
check "gateway healthy" rw_wait_health "$gh"
check "gateway API listening" rw_wait_tcp "$gport"
# The gateway follows the publishers it finds in the registry: wait until both are announced.
announced() { [ "$(redis-cli -p "$rport" zcard "rw:svc:$1")" -ge 1 ]; }
wait_for() {  # seconds command...: until the command succeeds (scaled), 1 if it never did
  local end=$((SECONDS + $(rw_secs "$1"))); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
check "huntgroup's queue.* publisher announced" wait_for 10 announced huntgroup.events
check "sip-edge's call.* publisher announced" wait_for 10 announced sip_edge.events

S="127.0.0.1:$sip"
cat >"$dir/call.sh" <<SH
#!/usr/bin/env bash
# extension scenario name caller: one call from the trusted peer
sc=$sc; xml=\$2; [ -f "\$xml" ] || xml=\$sc/\$2
timeout $(rw_secs 40) sipp -timeout $(rw_secs 35)s -timeout_error -nostdin -trace_err -error_file "$dir/\$3.err" \
  -m 1 -sf "\$xml" -s "\$1" -key caller "\$4" -i 127.0.0.1 -p $peer "$S" >"$dir/\$3.out" 2>&1
SH
# a caller who waits 2 s in the queue after its 180, then hangs up
sed 's|<recv response="180"/>|<recv response="180"/>\n  <pause milliseconds="2000"/>|' "$sc/call_uac_peer_cancel.xml" >"$dir/uac_cancel_later.xml"
sed "s/\[status\]/480/" "$sc/call_uac_peer_status.xml" >"$dir/uac_480.xml"
export GW="http://127.0.0.1:$gport" RW="$rw" ROUTER="tcp://127.0.0.1:$rbus" SCALE="$RW_SCALE"
export SIPP_CALL="bash $dir/call.sh" CANCEL_XML="$dir/uac_cancel_later.xml" UAC480_XML="$dir/uac_480.xml"
export SIPP_REGISTER="timeout $(rw_secs 30) sipp -timeout $(rw_secs 25)s -timeout_error -nostdin -m 1 -sf $sc/call_register.xml -s 2004 -au 2004 -ap dave-pw -i 127.0.0.1 -p $pd $S >$dir/reg.out 2>&1"
export SIPP_ANSWER="timeout $(rw_secs 40) sipp -timeout $(rw_secs 35)s -timeout_error -nostdin -m 1 -sf $sc/uas_answer.xml -i 127.0.0.1 -p $pd >$dir/uas.out 2>&1"
export SIPP_ANSWER_WAIT="for i in \$(seq 100); do [ -n \"\$(ss -Hlun 'sport = :$pd')\" ] && exit 0; sleep 0.05; done; exit 1"

/usr/bin/python3 "$top/tests/integration/gateway_api.py"; rc=$?
check "the API checks (gateway_api.py) all pass" [ $rc -eq 0 ]

rw_stop "$gw_pid"; rc=$?
check "the gateway exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/gateway.log"
check "no sanitizer report from the gateway" bash -c "! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$dir/gateway.log'"

echo "gateway_api_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 40 "$dir/gateway.log" >&2; fi
[ "$failed" -eq 0 ]
