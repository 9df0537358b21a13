#!/usr/bin/env bash
# tests/integration/huntgroup_call_test.sh — real calls to hunt groups: SIPp callers (a trusted
# peer) and SIPp agents registered through a real sip-edge, with the router, two
# ringway-huntgroup instances and a real redis-server (huntgroup_call.bash). Checked: 20
# calls to a round robin group spread evenly over its two agents (two instances answering); an
# agent who does not answer is cancelled and the next one rings; a caller who waits max_wait_s
# goes to the group's overflow (voicemail), and at once with nobody logged in (busy: 486;
# another group: answered there); a caller who hangs up while queued is counted
# abandoned; each agent is available again after its call's BYE (ended reported); with the
# router stopped sip-edge's evaluated fallback still queues the caller; with no huntgroup
# instance left the call ends at the plan's final action. Feature codes *71..*74 from a phone
# log the agent in, pause, resume and log out (480 with the state); a non-member gets 403.
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "sip-edge /health" curl -fsS "http://127.0.0.1:$http/health"
check "group helpdesk (rrmemory)" "$rw" group add helpdesk 2100 members=bob,carol strategy=rrmemory ring_ms=5000
check "helpdesk: no wrap-up, no automatic pause" "$rw" group set helpdesk wrapup_s=0 autopause=0
check "group second (rrmemory, 1.5 s offers)" "$rw" group add second 2300 members=bob,carol strategy=rrmemory ring_ms=1500
check "second: no wrap-up, no automatic pause" "$rw" group set second wrapup_s=0 autopause=0
check "group night (nobody logged in, 2 s wait, voicemail)" "$rw" group add night 2400 members=dave join_empty=yes max_wait_s=2 overflow=voicemail:dave
check "ringway explain 2100: the group's stage, queued by sip-edge" \
  bash -c "'$rw' explain 2100 --router tcp://127.0.0.1:$rbus | grep -q 'huntgroup helpdesk  (sip-edge: queued'"
check "bob logs in" "$rw" agent login bob
check "carol logs in" "$rw" agent login carol
check "register bob's phone" register 2002 bob-pw "$pb"
check "register carol's phone" register 2003 carol-pw "$pc"
available() { [ "$(redis-cli -p "$rport" hget rw:hg:agent:bob state)" = available ] &&
              [ "$(redis-cli -p "$rport" hget rw:hg:agent:carol state)" = available ]; }

# 1. Round robin: 20 calls one after another, each answered; rrmemory alternates the agents.
bgs rr-bob -m 20 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs rr-carol -m 20 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pc" 5
check "20 calls to 2100 answered (180 from the queue, 200 from an agent, BYE)" \
  fg rr -m 20 -l 1 -sf "$sc/call_uac_peer.xml" -s 2100 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
answered() { [ "$(stat helpdesk answered)" -eq 20 ]; }
check "huntgroup counted 20 answered" wait_for 5 answered
check "both agents available again after the BYEs (ended reported)" wait_for 5 available
nb=$(redis-cli -p "$rport" hget rw:hg:ac:helpdesk bob:calls); nc=$(redis-cli -p "$rport" hget rw:hg:ac:helpdesk carol:calls)
echo "round robin: bob ${nb:-0}, carol ${nc:-0}"
check "round robin spread: bob and carol answered 10 each, give or take 1" \
  bash -c "[ \$(( ${nb:-0} + ${nc:-0} )) -eq 20 ] && [ ${nb:-0} -ge 9 ] && [ ${nc:-0} -ge 9 ]"
check "agents' INVITEs counted by their phones match" \
  bash -c "[ \$(grep -c '^INVITE sip:' '$dir/rr-bob.msg') -eq ${nb:-0} ] && [ \$(grep -c '^INVITE sip:' '$dir/rr-carol.msg') -eq ${nc:-0} ]"
kill -TERM $ub $uc 2>/dev/null; wait $ub $uc 2>/dev/null
nexts() { curl -fsS "http://127.0.0.1:$1/metrics" | awk '/^ringway_huntgroup_requests_total\{op="next"\}/ {print $2}'; }
n1=$(nexts "$hh1"); n2=$(nexts "$hh2")
echo "next requests answered: instance 1 ${n1:-0}, instance 2 ${n2:-0}"
# which instance each request goes to follows the bus client's turn, shared with the outcome
# requests: only the total is certain (each call asks at least once)
check "the two instances answered at least 20 next requests between them" [ $(( ${n1:-0} + ${n2:-0} )) -ge 20 ]

# 2. No answer: bob (first in the order) rings 1.5 s and is cancelled, then carol answers.
bgs na-bob -m 1 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs na-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pc" 5
check "call to 2300 answered" fg na -m 1 -sf "$sc/call_uac_peer.xml" -s 2300 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $ub; check "bob's phone rang and was cancelled at the end of the offer" [ $? -eq 0 ]
wait $uc; check "carol's phone answered the next offer" [ $? -eq 0 ]
check "the offers were two: bob's, then carol's" bash -c "[ \$(redis-cli -p $rport hget rw:hg:stats:second offered) -eq 2 ]"
check "both agents available again" wait_for 5 available

# 3. Overflow at max wait: nobody logged in to night, the caller waits 2 s, then voicemail.
bgs vm -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$vm"; uv=$!
rw_wait_udp "$vm" 5
check "call to 2400 ends at voicemail after max_wait_s" fg ov -m 1 -sf "$sc/call_uac_peer.xml" -s 2400 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $uv; check "voicemail answered" [ $? -eq 0 ]
check "voicemail was asked for dave's mailbox" grep -q '^INVITE sip:dave@127.0.0.1' "$dir/vm.msg"
check "huntgroup counted the overflow" [ "$(stat night overflowed)" -eq 1 ]

# 3b. Overflow at once: nobody logged in (no join_empty): busy -> 486; group:helpdesk -> queued
#     there and answered by one of its agents.
check "group closed (overflow busy)" "$rw" group add closed 2700 members=dave
check "group spill (overflow to helpdesk)" "$rw" group add spill 2800 members=dave overflow=group:helpdesk
sed "s/\[status\]/486/" "$sc/call_uac_peer_status.xml" >"$dir/uac_486.xml"
check "call to 2700 with nobody logged in: 486" fg closed -m 1 -sf "$dir/uac_486.xml" -s 2700 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
check "huntgroup counted closed's overflow" [ "$(stat closed overflowed)" -eq 1 ]
bgs sp-bob -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs sp-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pc" 5
check "call to 2800 overflows to helpdesk and is answered there" fg spill -m 1 -sf "$sc/call_uac_peer.xml" -s 2800 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
one_rang() { [ $(( $(grep -c '^INVITE sip:' "$dir/sp-bob.msg") + $(grep -c '^INVITE sip:' "$dir/sp-carol.msg") )) -eq 1 ]; }
check "one helpdesk agent's phone rang" wait_for 2 one_rang
kill -TERM $ub $uc 2>/dev/null; wait $ub $uc 2>/dev/null
spilled() { [ "$(stat spill overflowed)" -eq 1 ] && [ "$(stat helpdesk answered)" -eq 21 ]; }
check "spill counted the overflow, helpdesk one more answered" wait_for 5 spilled
check "both agents available again" wait_for 5 available

# 4. The caller hangs up while queued: abandoned.
check "caller to 2400 cancels while queued: 200, 487" fg cancel -m 1 -sf "$sc/call_uac_peer_cancel.xml" -s 2400 -key caller 3001 -i 127.0.0.1 -p "$peer" "$S"
abandoned() { [ "$(stat night abandoned)" -eq 1 ]; }
check "huntgroup counted the caller abandoned" wait_for 8 abandoned
check "nobody is left in night's queue" [ "$(redis-cli -p "$rport" zcard rw:hg:q:night)" -eq 0 ]
check "sip-edge counted the legs" bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -qE '^ringway_sip_edge_hunt_answered_total 22'"

# 5. Feature codes from a phone (digest auth), answered by sip-edge itself: 480 with the state.
final_uac() {  # status: a copy of call_uac_auth_final.xml expecting that final answer
  sed "s/\[status\]/$1/" "$sc/call_uac_auth_final.xml" >"$dir/uac_final_$1.xml"; echo "$dir/uac_final_$1.xml"
}
u480=$(final_uac 480); u403=$(final_uac 403)
dave_state() { [ "$(redis-cli -p "$rport" hget rw:hg:agent:dave state)" = "$1" ]; }
code() {  # code status ext password: one feature-code call
  fg "code$1-$3" -m 1 -sf "$2" -s "$1" -key caller "$3" -au "$3" -ap "$4" -i 127.0.0.1 -p "$pd" \
    -trace_msg -message_file "$dir/code${1#\*}-$3.msg" "$S"
}
check "dave dials *71: 480 Agent dave available" code '*71' "$u480" 2004 dave-pw
check "dave is logged in, available" dave_state available
check "the phone was told the new state" grep -q "^SIP/2.0 480 Agent dave available" "$dir/code71-2004.msg"
check "dave dials *73: paused" code '*73' "$u480" 2004 dave-pw
check "dave is paused (reason phone)" bash -c "[ \"\$(redis-cli -p $rport hget rw:hg:agent:dave reason)\" = phone ]"
check "dave dials *74: available again" code '*74' "$u480" 2004 dave-pw
check "dave is available" dave_state available
check "dave dials *72: logged out" code '*72' "$u480" 2004 dave-pw
check "dave is logged out of night" [ "$(redis-cli -p "$rport" sismember rw:hg:logged:night dave)" -eq 0 ]
check "and was told so" grep -q "^SIP/2.0 480 Agent dave logged_out" "$dir/code72-2004.msg"
check "alice (member of no group) dials *71: 403" code '*71' "$u403" 2001 alice-pw

# 6. Router stopped: sip-edge evaluates the group number itself (the router's code) and queues.
rw_stop "$router_pid"; rc=$?
check "router exits 0 on SIGTERM" [ $rc -eq 0 ]
check "carol logs out: bob is the only agent" "$rw" agent logout carol
bgs fb-bob -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
check "router gone: call to 2100 answered by bob" fg fb -m 1 -sf "$sc/call_uac_peer.xml" -s 2100 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $ub; check "bob's phone answered" [ $? -eq 0 ]
check "the group plan was evaluated by sip-edge" \
  bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -qE '^ringway_sip_edge_fallback_evaluated_total [1-9]'"

# 7. No huntgroup instance at all: the plan's final action (night's overflow, dave's mailbox).
for p in $hg1 $hg2; do
  rw_stop "$p"; rc=$?
  check "huntgroup $p exits 0 on SIGTERM" [ $rc -eq 0 ]
done
bgs vm2 -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$vm"; uv=$!
rw_wait_udp "$vm" 5
check "no huntgroup: call to 2400 ends at the plan's final action (voicemail)" fg err -m 1 -sf "$sc/call_uac_peer.xml" -s 2400 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
wait $uv; check "voicemail answered for dave" bash -c "[ $? -eq 0 ] && grep -q '^INVITE sip:dave@127.0.0.1' '$dir/vm2.msg'"
check "sip-edge counted the leg that found no huntgroup" \
  bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -qE '^ringway_sip_edge_hunt_errors_total 1'"

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_call_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
