#!/usr/bin/env bash
# tests/integration/huntgroup_reoffer_test.sh — one agent offered the same queue call again:
# each offer is a dialog of its own for the agent's phone (docs/huntgroup.md "Each offer its
# own dialog"). A one-agent rrmemory group; bob's phone (SIPp, uas_merged_482.xml) answers the
# first offer 486 and the next one at once, as a phone holding the first INVITE's
# transaction would: 482 Loop Detected to a merged request (the same Call-ID, From tag and
# CSeq, RFC 3261 8.2.2.2), 200 to a new one. Checked: the caller is answered by bob at the
# second offer, the two INVITEs bob saw have distinct Call-IDs and neither is the caller's,
# the caller only ever sees its own Call-ID (its SIPp matches every response and its BYE
# reaches bob), the BYE ends the queue call (bob available, ended reported); then bob hangs up
# himself: his BYE reaches the caller with the caller's Call-ID and ends the queue call too.
# Same harness as huntgroup_call_test.sh (huntgroup_call.bash).
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "group solo (one agent, rrmemory)" "$rw" group add solo 2500 members=bob strategy=rrmemory ring_ms=5000
check "solo: no wrap-up, no automatic pause" "$rw" group set solo wrapup_s=0 autopause=0
check "bob logs in" "$rw" agent login bob
check "register bob's phone" register 2002 bob-pw "$pb"
bob_available() { [ "$(redis-cli -p "$rport" hget rw:hg:agent:bob state)" = available ]; }
call_ids() {  # file: the Call-ID of each INVITE received, in order
  awk '$1 == "INVITE" && $2 ~ /^sip:/ { s = 1; next } s && /^Call-ID:/ { print $2; s = 0 }' "$1"
}

# 1. Busy, then offered again at once: a new Call-ID, answered; the caller hangs up.
bgs merge -m 2 -deadcall_wait 0 -sf "$sc/uas_merged_482.xml" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
check "call to 2500 answered at bob's second offer" \
  fg re -m 1 -sf "$sc/call_uac_peer.xml" -s 2500 -key caller 3000 -i 127.0.0.1 -p "$peer" -trace_msg -message_file "$dir/re.msg" "$S"
wait $ub; check "bob's phone: a 486, then an answered call, no 482 (its SIPp exits 0)" [ $? -eq 0 ]
mapfile -t ids < <(call_ids "$dir/merge.msg")
caller_id=$(awk '$1 == "INVITE" { s = 1; next } s && /^Call-ID:/ { print $2; exit }' "$dir/re.msg")
echo "caller's Call-ID: $caller_id; bob's INVITEs: ${ids[*]}"
check "bob's phone got two INVITEs" [ "${#ids[@]}" -eq 2 ]
check "with two distinct Call-IDs" [ "${ids[0]:-x}" != "${ids[1]:-x}" ]
check "neither is the caller's" bash -c "[ '${ids[0]:-}' != '$caller_id' ] && [ '${ids[1]:-}' != '$caller_id' ]"
check "no 482 Loop Detected was sent" bash -c "! grep -q '^SIP/2.0 482' '$dir/merge.msg'"
check "the caller saw only its own Call-ID" \
  bash -c "[ \$(grep '^Call-ID:' '$dir/re.msg' | sort -u | wc -l) -eq 1 ]"
check "the caller's BYE reached bob with his offer's Call-ID" \
  bash -c "awk '\$1 == \"BYE\" { s = 1; next } s && /^Call-ID:/ { print \$2; exit }' '$dir/merge.msg' | grep -qx '${ids[1]:-none}'"
offered() { [ "$(stat solo offered)" -eq 2 ] && [ "$(stat solo answered)" -eq 1 ]; }
check "huntgroup counted 2 offers, 1 answered" wait_for 5 offered
check "bob available again after the BYE (ended reported)" wait_for 5 bob_available
check "the queue call's record is gone (ended)" wait_for 5 bash -c "[ \$(redis-cli -p $rport exists rw:hg:call:$caller_id) -eq 0 ]"

# 2. Bob hangs up himself: his BYE carries his offer's Call-ID, the caller gets its own.
bgs hang -m 1 -sf "$sc/uas_answer_hangup.xml" -d 200 -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
check "call to 2500 answered, bob hangs up, the caller takes his BYE" \
  fg hb -m 1 -sf "$sc/call_uac_peer_callee_bye.xml" -s 2500 -key caller 3001 -i 127.0.0.1 -p "$peer" -trace_msg -message_file "$dir/hb.msg" "$S"
wait $ub; check "bob's phone got 200 for its BYE" [ $? -eq 0 ]
check "the caller saw only its own Call-ID" \
  bash -c "[ \$(grep '^Call-ID:' '$dir/hb.msg' | sort -u | wc -l) -eq 1 ]"
check "bob's INVITE had an offer's Call-ID" bash -c "call_ids() { awk '\$1 == \"INVITE\" && \$2 ~ /^sip:/ { s = 1; next } s && /^Call-ID:/ { print \$2; s = 0 }' \"\$1\"; }; call_ids '$dir/hang.msg' | grep -q '^hg[0-9]*-'"
answered2() { [ "$(stat solo answered)" -eq 2 ]; }
check "huntgroup counted the second answered" wait_for 5 answered2
check "bob available again after his BYE (ended reported)" wait_for 5 bob_available

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_reoffer_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
