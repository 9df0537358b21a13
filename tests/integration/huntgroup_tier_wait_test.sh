#!/usr/bin/env bash
# tests/integration/huntgroup_tier_wait_test.sh — tier 2 joins after the caller has waited
# tier_wait_s while tier 1 is busy, over real calls (huntgroup_call.bash: SIPp callers and
# agents, a real sip-edge, the router, two huntgroup instances, a real redis-server). A linear
# group, bob tier 1, carol tier 2, tier_wait_s=2. Checked: while bob is on a queue call a second
# caller waits, then carol rings and answers; that caller's wait (huntgroup's wait_max_ms) is
# at least 2 s, the other's well below it; bob's phone rang for the first call only.
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "group tw (linear, bob tier 1)" "$rw" group add tw 2900 members=bob strategy=linear
check "carol joins tw as tier 2" "$rw" member add tw carol tier=2
check "tw: tier_wait_s=2, no wrap-up, no automatic pause" "$rw" group set tw tier_wait_s=2 wrapup_s=0 autopause=0 ring_ms=5000
check "bob logs in" "$rw" agent login bob
check "carol logs in" "$rw" agent login carol
check "register bob's phone" register 2002 bob-pw "$pb"
check "register carol's phone" register 2003 carol-pw "$pc"
bob_on_call() { [ "$(redis-cli -p "$rport" hget rw:hg:agent:bob state)" = on_call ]; }

# The first caller: bob answers and hangs up after 8 s, the caller waits for his BYE.
bgs a-bob -m 1 -sf "$sc/uas_answer_hangup.xml" -d "$((8000 * RW_SCALE))" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
bgs a -m 1 -sf "$sc/call_uac_peer_callee_bye.xml" -s 2900 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"; ua=$!
check "bob (tier 1) answers the first caller" wait_for 5 bob_on_call
# The second caller, while bob is busy: waits tier_wait_s, then tier 2 rings.
bgs b-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pc" 5
check "the second caller is answered" fg b -m 1 -sf "$sc/call_uac_peer.xml" -s 2900 -key caller 3001 -i 127.0.0.1 -p "${cports[0]}" "$S"
wait $uc; check "by carol (tier 2)" [ $? -eq 0 ]
check "bob was still on the first call then" bob_on_call
wait $ua; check "the first call ends by bob's BYE" [ $? -eq 0 ]
wait $ub; rc=$?
check "bob's phone rang for the first call only" bash -c "[ $rc -eq 0 ] && [ \$(grep -c '^INVITE sip:' '$dir/a-bob.msg') -eq 1 ]"
answered() { [ "$(stat tw answered)" -eq 2 ] && [ "$(stat tw offered)" -eq 2 ]; }
check "huntgroup counted 2 offers, 2 answered" wait_for 5 answered
max=$(stat tw wait_max_ms); sum=$(stat tw wait_sum_ms)
echo "tw waits: longest ${max} ms, both ${sum} ms"
check "the second caller waited at least tier_wait_s (2000 ms)" [ "$max" -ge 2000 ]
check "the first one did not (the sum is the longest plus under 2000 ms)" [ $((sum - max)) -lt 2000 ]

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_tier_wait_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
