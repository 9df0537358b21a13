#!/usr/bin/env bash
# tests/integration/sip_options_test.sh — out-of-dialog requests other than INVITE and REGISTER
# through ringway-sip-edge: a real redis-server, a directory imported with the ringway CLI,
# sip-edge (no router: these requests never need one) and SIPp as devices and a trusted peer.
# OPTIONS to the edge -> 200 with Allow/Accept/Supported; OPTIONS and MESSAGE to a registered
# user (by extension, number and user id; from a peer, and from a device with digest auth) reach
# the device with Max-Forwards 69 and no credentials, and its answer comes back; a user with two
# devices gets both (one 480, one 200 -> 200; 486 and 503 -> 486; two 401s -> one 401 with both
# challenges); registered nowhere -> 480; nobody -> 404; a method for the edge itself -> 405
# with Allow; a registration pointing back at the edge -> 482.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
if ! command -v sipp >/dev/null; then echo "sip_options_test: sipp missing" >&2; exit 1; fi

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): sip-edge runs under it
read -r rport http sip a1 b1 b2 peer dev < <("$RINGWAY_FREE_PORT" 8 | tr '\n' ' ')
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
  { "id": "carol", "ext": "2003", "password": "carol-pw" } ] }
JSON
"$build/tools/ringway" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }

RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="" RINGWAY_LOG_LEVEL=info \
RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy" \
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
scenario() {  # template method status: a copy with both filled in (SIPp checks them at load time)
  local f=$dir/${1##*/}-$2-$3.xml
  [ -f "$f" ] || sed -e "s/\[method\]/$2/g" -e "s/\[status\]/$3/g" "$sc/$1.xml" >"$f"
  echo "$f"
}
# peer_to name method user expect: a trusted peer sends METHOD to USER and must get EXPECT.
peer_to() { run "$1" -sf "$(scenario uac_request "$2" "$4")" -s "$3" -i 127.0.0.1 -p "$peer" "$S"; }
# device answers: name port method status; pid in $!
device() { bg "$1" -sf "$(scenario uas_request "$3" "$4")" -i 127.0.0.1 -p "$2"; rw_wait_udp "$2" 5; }

# 1. Keep-alive OPTIONS to the edge itself.
check "OPTIONS to the edge: 200 with Allow, Accept, Supported" run self -sf "$sc/options_self.xml" -i 127.0.0.1 -p "$dev" "$S"

# 2. Registrations: alice one phone, bob two; carol none.
register() {  # ext password port
  run "reg-$1-$3" -sf "$sc/call_register.xml" -s "$1" -au "$1" -ap "$2" -i 127.0.0.1 -p "$3" "$S"
}
check "register alice's phone" register 2001 alice-pw "$a1"
check "register bob's first phone" register 2002 bob-pw "$b1"
check "register bob's second phone" register 2002 bob-pw "$b2"

# 3. To a registered user from a trusted peer: by extension, by number, by user id.
device opt-a1 "$a1" OPTIONS 200; u=$!
check "peer OPTIONS to 2001: alice's phone answers 200, it comes back" peer_to opt-2001 OPTIONS 2001 200
wait $u; check "alice's phone got the OPTIONS with Max-Forwards 69" [ $? -eq 0 ]
device msg-a1 "$a1" MESSAGE 200; u=$!
check "peer MESSAGE to +441632960001 (alice's number) reaches her: 200" peer_to msg-num MESSAGE +441632960001 200
wait $u; check "alice's phone got the MESSAGE" [ $? -eq 0 ]
check "the MESSAGE body reached the phone" grep -q "^hello +441632960001" "$dir/msg-a1.msg"
device id-a1 "$a1" OPTIONS 202; u=$!
check "peer OPTIONS to user id 'alice': the phone's 202 comes back" peer_to opt-id OPTIONS alice 202
wait $u; check "alice's phone got it" [ $? -eq 0 ]

# 4. From a device: digest auth as for an INVITE (407, then with credentials); the credentials
#    go no further than the edge.
device auth-a1 "$a1" MESSAGE 200; u=$!
check "bob's MESSAGE to 2001: 407, then 200 from alice's phone" \
  run msg-auth -sf "$(scenario uac_request_auth MESSAGE 200)" -s 2001 -key caller 2002 -au 2002 -ap bob-pw -i 127.0.0.1 -p "$dev" "$S"
wait $u; check "alice's phone got the MESSAGE" [ $? -eq 0 ]
check "no Proxy-Authorization reached the phone" bash -c "! grep -qi '^Proxy-Authorization' '$dir/auth-a1.msg'"
check "without credentials a device gets 407" run msg-noauth -sf "$(scenario uac_request MESSAGE 407)" -s 2001 -i 127.0.0.1 -p "$dev" "$S"

# 5. Forked to both of bob's phones: a 2xx wins; among failures the best (486 over 503).
device fork-b1 "$b1" MESSAGE 480; u1=$!
device fork-b2 "$b2" MESSAGE 200; u2=$!
check "MESSAGE to bob (two phones: 480 and 200): 200" peer_to fork-ok MESSAGE 2002 200
wait $u1; check "bob's phone 1 got it" [ $? -eq 0 ]
wait $u2; check "bob's phone 2 got it" [ $? -eq 0 ]
device best-b1 "$b1" OPTIONS 486; u1=$!
device best-b2 "$b2" OPTIONS 503; u2=$!
check "OPTIONS to bob (486 and 503): the best failure, 486" peer_to fork-best OPTIONS 2002 486
wait $u1; wait $u2

# 5b. Both phones challenge: the caller gets one 401 carrying both challenges (16.7 step 7).
bg chal-b1 -sf "$(scenario uas_challenge MESSAGE x)" -key realm phone-one -i 127.0.0.1 -p "$b1"; u1=$!
rw_wait_udp "$b1" 5
bg chal-b2 -sf "$(scenario uas_challenge MESSAGE x)" -key realm phone-two -i 127.0.0.1 -p "$b2"; u2=$!
rw_wait_udp "$b2" 5
check "MESSAGE to bob (both phones 401): 401" peer_to chal MESSAGE 2002 401
wait $u1; wait $u2
check "that 401 carries both phones' challenges" \
  bash -c "grep -q 'realm=\"phone-one\"' '$dir/chal.msg' && grep -q 'realm=\"phone-two\"' '$dir/chal.msg'"

# 6. Nobody there, nobody at all, the edge itself.
check "OPTIONS to carol (no registration): 480" peer_to opt-carol OPTIONS 2003 480
check "MESSAGE to an unknown extension: 404" peer_to msg-unknown MESSAGE 2999 404
check "SUBSCRIBE to an unknown user id: 404" peer_to sub-unknown SUBSCRIBE nobody 404
sed -e 's/sip:\[service\]@ringway.local SIP/sip:[remote_ip]:[remote_port] SIP/' "$(scenario uac_request MESSAGE 405)" >"$dir/to-edge.xml"
check "MESSAGE to the edge itself: 405" run to-edge -sf "$dir/to-edge.xml" -i 127.0.0.1 -p "$peer" "$S"
check "that 405 has Allow: OPTIONS, REGISTER" grep -q "^Allow: OPTIONS, REGISTER" "$dir/to-edge.msg"
# 7. A registration pointing back at the edge: the forwarded MESSAGE comes back with our Via
#    while the first is still in progress -> 482, relayed to the caller as the best answer.
sed -e "s/Contact: <sip:\[service\]@\[local_ip\]:\[local_port\]>/Contact: <sip:[service]@127.0.0.1:$sip>/" \
  "$sc/call_register.xml" >"$dir/register_loop.xml"
check "register carol's contact as the edge itself" \
  run reg-loop -sf "$dir/register_loop.xml" -s 2003 -au 2003 -ap carol-pw -i 127.0.0.1 -p "$dev" "$S"
check "MESSAGE to carol loops back: 482" peer_to msg-loop MESSAGE 2003 482
check "the loop counted in /metrics" \
  bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -qE '^ringway_sip_edge_loops_total [1-9]'"
check "forwarded requests counted in /metrics" \
  bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -qE '^ringway_sip_edge_requests_forwarded_total [5-9]'"

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no sanitizer or valgrind report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$dir/edge.log'"
check "no valgrind report" rw_valgrind_clean "$dir/edge.log"

echo "sip_options_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
