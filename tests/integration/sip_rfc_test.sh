#!/usr/bin/env bash
# tests/integration/sip_rfc_test.sh — what RFC 3261 and RFC 3326 ask of sip-edge as a forking
# proxy, beyond the calls sip_call_test.sh makes: a real redis-server, router and sip-edge, SIPp
# as a trusted peer calling and as phones. 1. bob's two phones ring, one answers: the other's
# CANCEL carries `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326), so it
# shows no missed call. 2. The caller cancels with a Reason (Q.850 cause 16): both phones'
# CANCELs carry it. 3. An UPDATE inside an answered call, answered 503 by the callee, reaches
# the caller as 500 (RFC 3261 16.7 step 6: a 503 speaks of the next hop), then BYE. 4. A phone
# sends two reliable 183s (RFC 3262): the caller gets both and PRACKs each. 5. A strict router
# (RFC 3261 16.4: the edge's route value as Request-URI, the target as last Route) calls alice:
# the INVITE, its ACK and the BYE reach her phone. 6. A presence SUBSCRIBE whose Accept names
# only a format the edge cannot write gets 406 with Accept; an INFO inside a subscription's
# dialog gets 405 with Allow (RFC 3261 21.4.6). 7. The caller cancels as alice's phone answers
# (its 200 crosses the CANCEL): the caller gets that 200, not a 487 (RFC 3261 16.10), then ACK
# and BYE reach the phone. 8. The caller cancels a re-INVITE that rings: the CANCEL reaches the
# phone and its 487 the caller (RFC 3261 16.10), the call goes on to its BYE. 9. carol's phone
# is behind NAT (Via and Contact private, registered with received): the caller's ACK and BYE
# reach it where its packets come from. 10. alice calls from behind NAT: carol's BYE reaches her,
# over UDP and over TCP (on her connection). 11. alice watches bob's presence from behind NAT:
# the NOTIFYs reach her. 12. carol's phone behind NAT answers a re-INVITE and sends one, each
# with its private Contact: the dialog's target stays where it is reachable, the BYE reaches it.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
if ! command -v sipp >/dev/null; then echo "sip_rfc_test: sipp missing" >&2; exit 1; fi

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): router and sip-edge run under it
read -r rport bus http sip a1 b1 b2 peer c1 nat < <("$RINGWAY_FREE_PORT" 10 | tr '\n' ' ')
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] },
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
"$build/tools/ringway" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
pids+=($!)
rw_wait_tcp "$bus" || { echo "FAIL: router did not start" >&2; exit 1; }
RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" \
RINGWAY_LOG_LEVEL=info RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=($edge_pid)
rw_wait_health "$http"
check "sip-edge /health" curl -fsS -o /dev/null "http://127.0.0.1:$http/health"

S="127.0.0.1:$sip"
run() {  # name, args...: one SIPp run in the foreground with its messages traced; sipp's code
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/$name.err" -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1
}
bg() {  # name, args...: the same in the background; pid in $!
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/$name.err" -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1 &
}
cancelled_with() {  # name regexp: a copy of uas_cancelled_reason.xml checking that Reason
  local f=$dir/uas_cancelled_$1.xml
  sed "s/\[reason\]/$2/" "$sc/uas_cancelled_reason.xml" >"$f"
  echo "$f"
}
register() {  # ext password local-port
  run "reg-$1-$3" -sf "$sc/call_register.xml" -s "$1" -au "$1" -ap "$2" -i 127.0.0.1 -p "$3" "$S"
}
check "register alice's phone" register 2001 alice-pw "$a1"
check "register bob's first phone" register 2002 bob-pw "$b1"
check "register bob's second phone" register 2002 bob-pw "$b2"

# 1. Answered elsewhere: phone 1 answers, phone 2 must see why it is cancelled.
elsewhere=$(cancelled_with elsewhere 'SIP;cause=200;text=.Call completed elsewhere.')
bg fork-b1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$b1"; u1=$!
bg fork-b2 -sf "$elsewhere" -i 127.0.0.1 -p "$b2"; u2=$!
rw_wait_udp "$b1" 5 && rw_wait_udp "$b2" 5
check "peer calls bob: answered on one phone, BYE 200" run fork-call -sf "$sc/call_uac_peer.xml" -s 2002 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "bob's phone 1 answered and got the BYE" [ $? -eq 0 ]
wait $u2; check "bob's phone 2 got CANCEL with Reason: SIP;cause=200 (call completed elsewhere)" [ $? -eq 0 ]

# 2. The caller's own Reason goes on to every branch it cancels.
q850=$(cancelled_with q850 'Q\.850;cause=16;text=.Normal call clearing.')
bg cancel-b1 -sf "$q850" -i 127.0.0.1 -p "$b1"; u1=$!
bg cancel-b2 -sf "$q850" -i 127.0.0.1 -p "$b2"; u2=$!
rw_wait_udp "$b1" 5 && rw_wait_udp "$b2" 5
check "peer calls bob and cancels with Reason: 200 for CANCEL, 487" run cancel-call -sf "$sc/call_uac_peer_cancel_reason.xml" -s 2002 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "bob's phone 1 got CANCEL with the caller's Reason (Q.850 cause 16)" [ $? -eq 0 ]
wait $u2; check "bob's phone 2 got CANCEL with the caller's Reason (Q.850 cause 16)" [ $? -eq 0 ]

# 3. A 503 to a request inside the dialog is not passed on as 503.
bg update-a1 -sf "$sc/uas_answer_update_503.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "peer calls alice, UPDATE answered 503 by her phone reaches the caller as 500, BYE 200" run update-call -sf "$sc/call_uac_peer_update.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone answered, said 503 to the UPDATE and got the BYE" [ $? -eq 0 ]

# 4. Every reliable provisional reaches the caller, or its PRACK never comes back.
bg prack-a1 -sf "$sc/uas_reliable_183_twice.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "peer calls alice with 100rel: both reliable 183s arrive, both PRACKs 200, CANCEL" run prack-call -sf "$sc/call_uac_peer_prack.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone got a PRACK for each of its 183s" [ $? -eq 0 ]

# 5. Strict routing: the edge puts the last Route entry back as the Request-URI.
bg strict-a1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "a strict router calls alice: 200, ACK and BYE routed to her phone" run strict-call -sf "$sc/call_uac_peer_strict.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone answered, got the ACK and the BYE" [ $? -eq 0 ]

# 6. Presence subscriptions: 406 with Accept, 405 with Allow.
check "alice watches bob: 406 with Accept, 405 with Allow in the dialog, Expires: 0 ends it" run subscribe -sf "$sc/subscribe_accept_allow.xml" -s 2002 -key caller 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S"

# 7. CANCEL crossing the 200: the answer is the branch's.
bg crossed-a1 -sf "$sc/uas_answer_crossing_cancel.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "peer cancels as alice answers: 200 for CANCEL, then her 200 (no 487), ACK, BYE 200" run crossed-call -sf "$sc/call_uac_peer_cancel_crossed.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone answered across the CANCEL, got the ACK and the BYE" [ $? -eq 0 ]

# 8. A re-INVITE cancelled by the caller.
bg reinvite-a1 -sf "$sc/uas_answer_reinvite_cancelled.xml" -i 127.0.0.1 -p "$a1"; u1=$!
rw_wait_udp "$a1" 5
check "peer cancels its re-INVITE to alice: 200 for CANCEL, her 487, ACK, BYE 200" run reinvite-call -sf "$sc/call_uac_peer_reinvite_cancel.xml" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "alice's phone got the CANCEL of the re-INVITE, the ACK of its 487 and the BYE" [ $? -eq 0 ]

# 9. A phone behind NAT answers: in-dialog requests go where it is reachable.
check "register carol's phone from behind NAT" run reg-nat -sf "$sc/register_nat.xml" -s 2003 -au 2003 -ap carol-pw -i 127.0.0.1 -p "$c1" "$S"
bg nat-c1 -sf "$sc/uas_answer_nat.xml" -i 127.0.0.1 -p "$c1"; u1=$!
rw_wait_udp "$c1" 5
check "peer calls carol behind NAT: 200, ACK, BYE 200" run nat-call -sf "$sc/call_uac_peer.xml" -s 2003 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "carol's phone behind NAT got the ACK and the BYE" [ $? -eq 0 ]

# 10. A phone behind NAT calls: the callee's BYE goes where the caller is reachable.
bg natcaller-c1 -sf "$sc/uas_answer_bye.xml" -i 127.0.0.1 -p "$c1"; u1=$!
rw_wait_udp "$c1" 5
check "alice calls carol from behind NAT (digest): 200, and carol's BYE reaches her" run nat-caller -sf "$sc/call_uac_auth_nat.xml" -s 2003 -key caller 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$nat" "$S"
wait $u1; check "carol's phone hung up and got the 200 for its BYE" [ $? -eq 0 ]
bg natcaller-tcp-c1 -sf "$sc/uas_answer_bye.xml" -i 127.0.0.1 -p "$c1"; u1=$!
rw_wait_udp "$c1" 5
check "alice calls carol over TCP from behind NAT: 200, and carol's BYE reaches her on her connection" run nat-caller-tcp -sf "$sc/call_uac_auth_nat.xml" -t t1 -s 2003 -key caller 2001 -au 2001 -ap alice-pw -i 127.0.0.1 "$S"
wait $u1; check "carol's phone hung up on the TCP caller and got the 200 for its BYE" [ $? -eq 0 ]

# 11. A subscriber behind NAT.
check "alice watches bob from behind NAT: 200, NOTIFY, Expires: 0, NOTIFY terminated" run subscribe-nat -sf "$sc/subscribe_nat.xml" -s 2002 -key caller 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$nat" "$S"

# 12. Target refreshes inside a call with a phone behind NAT.
bg nat-reinv-c1 -sf "$sc/uas_answer_nat_reinvites.xml" -i 127.0.0.1 -p "$c1"; u1=$!
rw_wait_udp "$c1" 5
check "peer and carol behind NAT re-INVITE each other, then BYE 200" run nat-reinv -sf "$sc/call_uac_peer_reinvites.xml" -s 2003 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $u1; check "carol's phone behind NAT got every ACK and the BYE" [ $? -eq 0 ]

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM (no leak, no sanitizer report)" [ $rc -eq 0 ]
check "no sanitizer or valgrind report in sip-edge's log" bash -c "! grep -q 'Sanitizer\\|runtime error' '$dir/edge.log'"
check "no valgrind report" rw_valgrind_clean "$dir/edge.log"

echo "sip_rfc_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
