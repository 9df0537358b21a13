#!/usr/bin/env bash
# tests/integration/huntgroup_personal_test.sh — an agent on a call of their own is skipped, from
# the call events of a real sip-edge (huntgroup_call.bash with HG_EDGE_PUB: sip-edge publishes
# call.*, both huntgroup instances follow them through the registry). A linear group, bob first
# then carol. Checked: a direct call to bob, answered, marks him (call.answered names him) and
# its BYE clears him (call.ended names no user: huntgroup finds whom that call marked); while
# bob is on such a call a queue call rings carol and not bob; once bob's call is over the next
# queue call rings bob again. sip-edge runs with huntgroup.queued_status = 182: the queued
# callers hear 182 Queued, never a 180.
top=${RINGWAY_SOURCE_DIR:?}
export RINGWAY_HUNTGROUP_QUEUED_STATUS=182
HG_EDGE_PUB="tcp://127.0.0.1:$("${RINGWAY_FREE_PORT:?}" 1)"
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "group duty (linear: bob, then carol)" "$rw" group add duty 2600 members=bob,carol strategy=linear ring_ms=5000
check "duty: no wrap-up, no automatic pause" "$rw" group set duty wrapup_s=0 autopause=0
check "bob logs in" "$rw" agent login bob
check "carol logs in" "$rw" agent login carol
check "register bob's phone" register 2002 bob-pw "$pb"
check "register carol's phone" register 2003 carol-pw "$pc"
own_calls() { v=$(redis-cli -p "$rport" scard rw:hg:personal:bob); echo "${v:-0}"; }
bob_free() { [ "$(own_calls)" -eq 0 ]; }
bob_busy() { [ "$(own_calls)" -eq 1 ]; }
events_in() {  # both huntgroup instances have received call events from sip-edge
  local p m
  for p in "$hh1" "$hh2"; do   # read whole first: grep -q would cut curl's pipe (pipefail)
    m=$(curl -fsS "http://127.0.0.1:$p/metrics") || return 1
    grep -qE '^ringway_huntgroup_bus_sub_events_total\{seq="[a-z]+"\} [1-9]' <<<"$m" || return 1
  done
}
direct_call() {  # name: a short call to bob's extension, answered by his phone, the caller hangs up
  bgs "$1-bob" -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; local ub=$!
  rw_wait_udp "$pb" 5
  fg "$1" -m 1 -sf "$sc/call_uac_peer.xml" -s 2002 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"; local rc=$?
  wait $ub; return $(( rc | $? ))
}

# ZeroMQ's slow joiner: short calls to bob until both instances hear sip-edge's events (bounded).
for ((i = 0; i < 10; i++)); do
  events_in && break
  direct_call "warm$i" || break
done
check "both huntgroup instances receive sip-edge's call events" events_in
check "bob's short calls left no mark: their BYEs' call.ended cleared it" wait_for 5 bob_free

# 1. bob on a call of his own (his phone hangs up after 6 s): the queue call rings carol.
bgs own-bob -m 1 -sf "$sc/uas_answer_hangup.xml" -d "$((6000 * RW_SCALE))" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
bgs own -m 1 -sf "$sc/call_uac_peer_callee_bye.xml" -s 2002 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"; uo=$!
check "bob's own call answered: huntgroup marks him (call.answered names him)" wait_for 5 bob_busy
bgs q1-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pc" 5
check "queue call to 2600 answered (182 Queued, then 200)" \
  fg q1 -m 1 -sf "$sc/call_uac_peer_queued.xml" -s 2600 -key caller 3001 -i 127.0.0.1 -p "${cports[0]}" -trace_msg -message_file "$dir/q1.msg" "$S"
check "the queued caller heard 182 Queued and no 180" \
  bash -c "grep -q '^SIP/2.0 182 Queued' '$dir/q1.msg' && ! grep -q '^SIP/2.0 180' '$dir/q1.msg'"
wait $uc; check "carol's phone answered it" [ $? -eq 0 ]
check "bob was still on his own call meanwhile" bob_busy
wait $uo; check "bob's own call ended by his BYE" [ $? -eq 0 ]
wait $ub; rc=$?
check "bob's phone rang once (his own call only)" \
  bash -c "[ $rc -eq 0 ] && [ \$(grep -c '^INVITE sip:' '$dir/own-bob.msg') -eq 1 ]"
check "bob's BYE (call.ended naming no user) clears the mark" wait_for 5 bob_free
offered() { [ "$(stat duty offered)" -eq 1 ] && [ "$(stat duty answered)" -eq 1 ]; }
check "duty: one offer (carol's), answered" wait_for 5 offered

# 2. bob free again: linear rings him first.
bgs q2-bob -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
check "queue call to 2600 answered" fg q2 -m 1 -sf "$sc/call_uac_peer_queued.xml" -s 2600 -key caller 3001 -i 127.0.0.1 -p "${cports[0]}" "$S"
wait $ub; check "bob's phone answered it" [ $? -eq 0 ]
check "bob took the call (fewest calls counts one each)" \
  bash -c "[ \"\$(redis-cli -p $rport hget rw:hg:ac:duty bob:calls)\" = 1 ] && [ \"\$(redis-cli -p $rport hget rw:hg:ac:duty carol:calls)\" = 1 ]"

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_personal_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/hg1.log" >&2; fi
[ "$failed" -eq 0 ]
