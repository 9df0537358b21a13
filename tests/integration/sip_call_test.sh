#!/usr/bin/env bash
# tests/integration/sip_call_test.sh — real calls through ringway-sip-edge: a real redis-server,
# the real router and sip-edge, SIPp as devices (registering with digest auth, then answering,
# ringing, rejecting), as callers (a device with digest auth, a trusted peer, a redirect-mode
# PBX) and as trunks and voicemail. Each scenario checks both sides' SIPp exit codes (0 = every
# expected message was seen). Scenarios: register and call; two devices fork, one answers, the
# other is cancelled; busy diverts to voicemail (also after ringing: sip-edge ACKs the 486 itself);
# caller cancels; BYE both ways; trunk failover
# (503 then answer); redirect 302; router killed -> fallback plan (two stages); Redis stopped ->
# cached bindings and plans.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): router and sip-edge run under it
read -r rport bus http sip a1 b1 b2 vm t1 t2 peer pbx cal d1 ua1 ua2 < <("$RINGWAY_FREE_PORT" 16 | tr '\n' ' ')
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
redis_pid=$RW_REDIS_PID; pids+=($redis_pid)
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw",
    "devices": [ { "id": "desk", "kind": "sip" }, { "id": "voicemail", "kind": "voicemail" } ] },
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw",
    "devices": [ { "id": "mobile", "kind": "number", "address": "+447700900123" } ],
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "mobile", "action": "ring", "ring": ["mobile"] } ] } } },
  { "id": "dave", "ext": "2004", "number": "+441632960004", "password": "dave-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ],
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "cover", "action": "divert", "on": "no_answer", "after": 2, "to": "user:alice" } ] } } },
  { "id": "erin", "ext": "2005", "number": "+441632960005", "password": "erin-pw",
    "devices": [ { "id": "softphone", "kind": "sip" } ] } ] }
JSON
"$build/tools/ringway" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }

start_router() {
  RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
    "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
  router_pid=$!; pids+=($router_pid); rw_wait_tcp "$bus"; sleep 0.5
}
start_router
RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_SIP_ADDR6=::1 RINGWAY_BUS_PUB="" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" \
RINGWAY_VOICEMAIL_URI="sip:vm@127.0.0.1:$vm" RINGWAY_FALLBACK_RING_MS=1500 RINGWAY_LOG_LEVEL=info \
RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy; pbx 127.0.0.1:$pbx redirect; t1 127.0.0.1:$t1 trunk +44; t2 127.0.0.1:$t2 trunk +44" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=($edge_pid)
rw_wait_health "$http"
check "sip-edge /health" curl -fsS "http://127.0.0.1:$http/health"

S="127.0.0.1:$sip"
fg() {  # name, args...: runs in foreground, returns sipp's code
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" "$@" >"$dir/$name.out" 2>&1
}
status_uas() {  # status: a copy of uas_status.xml answering that status (SIPp checks it at load time)
  sed "s/\[status\]/$1/" "$sc/uas_status.xml" >"$dir/uas_$1.xml"; echo "$dir/uas_$1.xml"
}
bgs() {  # name, args...: background; pid in $!
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1 &
}
register() {  # ext password local-port
  fg "reg-$1-$3" -sf "$sc/call_register.xml" -s "$1" -au "$1" -ap "$2" -i 127.0.0.1 -p "$3" "$S"
}
check "register alice's phone" register 2001 alice-pw "$a1"
check "register bob's first phone" register 2002 bob-pw "$b1"
check "register bob's second phone" register 2002 bob-pw "$b2"
check "register dave's phone" register 2004 dave-pw "$d1"

# 1. Register and call: alice (digest) calls 2003? carol has no device: use bob with two phones.
# 2. Two devices ring in parallel: b1 answers, b2 is cancelled; alice hangs up with BYE.
bgs uas-b1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$b1"; u1=$!
bgs uas-b2 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$b2"; u2=$!
rw_wait_udp "$b2" 5
check "alice calls bob with digest auth: 407, 200, BYE 200" fg call1 -sf "$sc/call_uac_auth.xml" -s 2002 -key caller 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$cal" "$S"
wait $u1; check "bob's phone 1 answered and got the BYE" [ $? -eq 0 ]
wait $u2; check "bob's phone 2 got CANCEL and answered 487" [ $? -eq 0 ]

# 3. Callee hangs up: BYE from the called side through the Record-Route.
bgs uas-a1 -sf "$sc/uas_answer_bye.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "peer calls alice, alice hangs up" fg call2 -sf "$sc/call_uac_peer_callee_bye.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone sent BYE and got 200" [ $? -eq 0 ]

# 4. Busy diverts: both of bob's phones answer 486, the plan's final action is voicemail.
s486=$(status_uas 486)   # written once: rewriting it while the first SIPp reads it breaks the load
bgs uas-b1 -sf "$s486" -i 127.0.0.1 -p "$b1"; u1=$!
bgs uas-b2 -sf "$s486" -i 127.0.0.1 -p "$b2"; u2=$!
bgs uas-vm -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$vm"; u3=$!
rw_wait_udp "$vm" 5
check "busy bob diverts to voicemail (200)" fg call3 -sf "$sc/call_uac_peer.xml" -s 2002 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "bob's phone 1 said 486" [ $? -eq 0 ]
wait $u2; check "bob's phone 2 said 486" [ $? -eq 0 ]
wait $u3; check "voicemail answered" [ $? -eq 0 ]

# 4b. Busy after ringing: phone 1 rings, then says 486 (repeated until ACKed). sip-edge let NTA's
#     transaction go at the 180 and ACKs the 486 itself: same Request-URI and Via branch.
bgs uas-b1 -sf "$sc/uas_ring_busy.xml" -i 127.0.0.1 -p "$b1"; u1=$!
bgs uas-b2 -sf "$s486" -i 127.0.0.1 -p "$b2"; u2=$!
bgs uas-vm -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$vm"; u3=$!
rw_wait_udp "$vm" 5
check "bob rings then is busy: diverts to voicemail (200)" fg call3b -sf "$sc/call_uac_peer.xml" -s 2002 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "bob's ringing phone got the ACK for its 486" [ $? -eq 0 ]
wait $u2; wait $u3
first_of() {  # file method field: the first METHOD request's Request-URI (field 2) or top Via branch (via)
  awk -v m="$2" -v f="$3" '$1 == m && $2 ~ /^sip:/ { if (f != "via") { print $2; exit } s = 1; next }
    s && /^Via:/ { match($0, /branch=[^;, ]*/); print substr($0, RSTART + 7, RLENGTH - 7); exit }' "$1"
}
ack_matches() {
  local f=$dir/uas-b1.msg
  [ -n "$(first_of "$f" INVITE via)" ] && [ "$(first_of "$f" ACK via)" = "$(first_of "$f" INVITE via)" ] &&
    [ "$(first_of "$f" ACK uri)" = "$(first_of "$f" INVITE uri)" ]
}
check "that ACK matches the INVITE (Request-URI, Via branch)" ack_matches
check "ringing branches were taken over from NTA (branches_adopted_total)" \
  bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -qE '^ringway_sip_edge_branches_adopted_total [1-9]'"

# 5. Caller cancels while alice's phone rings.
bgs uas-a1 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "caller cancels: 200 for CANCEL, 487" fg call4 -sf "$sc/call_uac_peer_cancel.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone got the CANCEL" [ $? -eq 0 ]

# 6. External number through trunks: t1 answers 503, t2 answers.
bgs t1 -sf "$(status_uas 503)" -i 127.0.0.1 -p "$t1"; u1=$!
bgs t2 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$t2"; u2=$!
rw_wait_udp "$t2" 5
check "call to carol's mobile via trunks: first 503, second answers" fg call5 -sf "$sc/call_uac_peer.xml" -s 2003 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "trunk 1 answered 503" [ $? -eq 0 ]
wait $u2; check "trunk 2 answered the call" [ $? -eq 0 ]


# 7. No answer on stage 1 moves to stage 2: dave's rule "no answer after 2 s -> colleague alice"
#    (the router's plan holds alice's extension; sip-edge routes it again and rings alice).
two_stage() {  # label
  bgs uas-d1 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$d1"; local u1=$!
  bgs uas-a1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1"; local u2=$!
  rw_wait_udp "$a1" 5
  check "$1: call to dave is answered by alice after dave's 2 s" fg "call-2st-$1" -sf "$sc/call_uac_peer.xml" -s 2004 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
  wait $u1; check "$1: dave's phone rang and was cancelled at the end of stage 1" [ $? -eq 0 ]
  wait $u2; check "$1: alice's phone answered stage 2" [ $? -eq 0 ]
}
two_stage router
check "stage 2 carried a Diversion header" grep -q "^Diversion: <sip:2004@ringway.local>;reason=no-answer" "$dir/uas-a1.msg"

# 8. Two real UAs (baresip): erin registers through an outbound proxy (REGISTER with
#    Route: <sip:edge;lr>) and answers automatically; alice's baresip calls her by extension.
baresip_ua() {  # name port ext password [commands]
  local d=$dir/$1; mkdir -p "$d"
  printf '%s\n' "poll_method epoll" "sip_listen 127.0.0.1:$2" "sip_transports udp" \
    "net_interface 127.0.0.1" "module_path /usr/lib/baresip/modules" "module g711.so" \
    "module aubridge.so" "audio_player aubridge,x" "audio_source aubridge,x" "audio_alert aubridge,x" \
    "module_app account.so" "module_app menu.so" >"$d/config"
  echo "<sip:$3@ringway.local>;auth_pass=$4;outbound=\"sip:127.0.0.1:$sip;lr\";regint=120;answermode=auto" >"$d/accounts"
  shift 4
  timeout "$(rw_secs 15)" baresip -f "$d" "$@" </dev/null >"$dir/${d##*/}.log" 2>&1 &
}
if command -v baresip >/dev/null; then
  before=$(curl -fsS "http://127.0.0.1:$http/metrics" | awk '/^ringway_sip_edge_calls_answered_total/ {print $2}')
  baresip_ua erin "$ua1" 2005 erin-pw -t "$(rw_secs 12)"; e_pid=$!
  for _ in $(seq 1 $((50 * RW_SCALE))); do [ "$(redis-cli -p "$rport" exists rw:loc:sip:2005@ringway.local)" = 1 ] && break; sleep 0.1; done
  check "baresip registered through its outbound proxy (Route to the edge)" [ "$(redis-cli -p "$rport" exists rw:loc:sip:2005@ringway.local)" = 1 ]
  baresip_ua alice-ua "$ua2" 2001 alice-pw -t "$(rw_secs 12)" -e "/dial 2005"; c_pid=$!
  for _ in $(seq 1 $((80 * RW_SCALE))); do grep -qi "established" "$dir/alice-ua.log" && break; sleep 0.1; done
  check "baresip call alice -> erin answered (caller side)" grep -qi "established" "$dir/alice-ua.log"
  check "baresip call answered (callee side)" grep -qi "established" "$dir/erin.log"
  after=$(curl -fsS "http://127.0.0.1:$http/metrics" | awk '/^ringway_sip_edge_calls_answered_total/ {print $2}')
  check "sip-edge counted the baresip call as answered" [ "${after:-0}" -gt "${before:-0}" ]
  kill -TERM "$c_pid" "$e_pid" 2>/dev/null; wait "$c_pid" "$e_pid" 2>/dev/null
else
  check "baresip installed (tools/install-deps.sh test)" false
fi

# 9. Other transports: bob calls alice over TCP, then over UDP on IPv6 loopback (digest both).
bgs uas-a1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "TCP: bob calls alice: 407, 200, BYE 200" fg call-tcp -sf "$sc/call_uac_auth.xml" -t t1 -s 2001 -key caller 2002 -au 2002 -ap bob-pw -i 127.0.0.1 "$S"
wait $u1; check "TCP: alice's phone answered and got the BYE" [ $? -eq 0 ]
bgs uas-a1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "IPv6: bob calls alice via [::1]: 407, 200, BYE 200" fg call-v6 -sf "$sc/call_uac_auth.xml" -s 2001 -key caller 2002 -au 2002 -ap bob-pw -i ::1 -p "$cal" "[::1]:$sip"
wait $u1; check "IPv6: alice's phone answered and got the BYE" [ $? -eq 0 ]

# 10. Redirect mode: the PBX asks where alice is and gets 302.
check "redirect peer gets 302" fg call6 -sf "$sc/call_uac_redirect.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$pbx" "$S"

# 11. Router killed: calls still complete, sip-edge evaluating the users' settings itself.
rw_stop "$router_pid"; rc=$?
check "router exits 0 on SIGTERM" [ $rc -eq 0 ]
bgs uas-a1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "router gone: call to alice completes" fg call7 -sf "$sc/call_uac_peer.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone answered (fallback)" [ $? -eq 0 ]
check "fallback evaluated by sip-edge and counted in /metrics" bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -E '^ringway_sip_edge_fallback_evaluated_total [1-9]'"
two_stage fallback

# 12. Redis stopped too: cached bindings/plans still deliver calls to registered users.
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null
bgs uas-a1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "redis gone: call to alice completes" fg call8 -sf "$sc/call_uac_peer.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone answered (memory)" [ $? -eq 0 ]

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/router.log"

echo "sip_call_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
