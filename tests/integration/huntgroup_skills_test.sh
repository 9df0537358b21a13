#!/usr/bin/env bash
# tests/integration/huntgroup_skills_test.sh — skills over real calls (huntgroup_call.bash: SIPp
# callers and agents, a real sip-edge, the router, two huntgroup instances, a real
# redis-server). A linear group, bob first (no skills), carol (french); caller_skills
# +33:french. Checked: a caller presenting +33123456789 needs french and rings carol, not bob
# (the first in the order); a UK caller needs nothing and rings bob, not carol.
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "group sk (linear, bob then carol)" "$rw" group add sk 2960 members=bob strategy=linear
check "carol joins sk with the skill french" "$rw" member add sk carol skills=french
check "sk: callers from +33 need french" "$rw" group set sk caller_skills=+33:french wrapup_s=0 autopause=0 ring_ms=5000
check "bob logs in" "$rw" agent login bob
check "carol logs in" "$rw" agent login carol
check "register bob's phone" register 2002 bob-pw "$pb"
check "register carol's phone" register 2003 carol-pw "$pc"
invites() { local n; n=$(grep -c '^INVITE sip:' "$dir/$1.msg" 2>/dev/null); echo "${n:-0}"; }

bgs fr-bob -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs fr-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pb" 5; rw_wait_udp "$pc" 5
check "a caller from +33123456789 answered" \
  fg fr -m 1 -sf "$sc/call_uac_peer.xml" -s 2960 -key caller +33123456789 -i 127.0.0.1 -p "$peer" "$S"
wait $uc; check "by carol (french)" [ $? -eq 0 ]
check "bob's phone did not ring" [ "$(invites fr-bob)" -eq 0 ]
kill -TERM $ub 2>/dev/null; wait $ub 2>/dev/null
one() { [ "$(stat sk answered)" -eq 1 ]; }
check "huntgroup counted it" wait_for 5 one

bgs uk-bob -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs uk-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pb" 5; rw_wait_udp "$pc" 5
check "a caller from +441632960500 answered" \
  fg uk -m 1 -sf "$sc/call_uac_peer.xml" -s 2960 -key caller +441632960500 -i 127.0.0.1 -p "$peer" "$S"
wait $ub; check "by bob (first in the order, no skill needed)" [ $? -eq 0 ]
check "carol's phone did not ring" [ "$(invites uk-carol)" -eq 0 ]
kill -TERM $uc 2>/dev/null; wait $uc 2>/dev/null

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_skills_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
