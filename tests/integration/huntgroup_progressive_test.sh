#!/usr/bin/env bash
# tests/integration/huntgroup_progressive_test.sh — ring_progressive over a real call
# (huntgroup_call.bash: SIPp caller and agents, a real sip-edge, the router, two huntgroup
# instances, a real redis-server). prog_start=1, prog_step_s=1: bob rings first, carol joins
# after a second, dave after two; bob and carol ring until cancelled, dave answers. Checked:
# three offers, the order bob, carol, dave, carol rung at least 1 s and dave 2 s after the
# caller's INVITE (the script adds one agent per prog_step_s of the caller's wait: a lower
# bound, whatever the machine's speed), all three rung within the same offer's
# dialog (one Call-ID) and bob's and carol's phones cancelled at dave's answer.
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "group prog (ring_progressive)" "$rw" group add prog 2950 members=bob,carol,dave strategy=ring_progressive
check "prog: 1 at first, one more every second" \
  "$rw" group set prog prog_start=1 prog_step_s=1 ring_ms=20000 wrapup_s=0 autopause=0
for u in bob carol dave; do check "$u logs in" "$rw" agent login $u; done
check "register bob's phone" register 2002 bob-pw "$pb"
check "register carol's phone" register 2003 carol-pw "$pc"
check "register dave's phone" register 2004 dave-pw "$pd"

bgs p-bob -m 1 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs p-carol -m 1 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$pc"; uc=$!
bgs p-dave -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pd"; ud=$!
rw_wait_udp "$pb" 5; rw_wait_udp "$pc" 5; rw_wait_udp "$pd" 5
check "call to 2950 answered" \
  fg p -m 1 -sf "$sc/call_uac_peer.xml" -s 2950 -key caller 3000 -i 127.0.0.1 -p "$peer" -trace_msg -message_file "$dir/p.msg" "$S"
wait $ub; check "bob rang and was cancelled" [ $? -eq 0 ]
wait $uc; check "carol rang and was cancelled" [ $? -eq 0 ]
wait $ud; check "dave answered" [ $? -eq 0 ]
at() {  # name: when that phone's INVITE arrived, in ms of the day (SIPp's trace)
  awk '/^-+ [0-9-]+ [0-9:.]+$/ { t = $3 } $1 == "INVITE" && $2 ~ /^sip:/ { split(t, a, ":"); printf "%d\n", (a[1] * 3600 + a[2] * 60 + a[3]) * 1000; exit }' "$dir/$1.msg"
}
t0=$(at p)
after() {  # name: ms after the caller's INVITE; a run across midnight wraps the times of day
  local d=$(( $(at "$1") - t0 ))
  [ "$d" -lt -43200000 ] && d=$((d + 86400000))
  echo "$d"
}
tb=$(after p-bob); tc=$(after p-carol); td=$(after p-dave)
echo "INVITEs at (ms after the caller's): bob $tb, carol $tc, dave $td"
check "in the order bob, carol, dave" bash -c "[ $tb -lt $tc ] && [ $tc -lt $td ]"
check "carol at least 1 s after the caller joined, dave at least 2 s" \
  bash -c "[ $tc -ge 1000 ] && [ $td -ge 2000 ]"
ids=$(for p in p-bob p-carol p-dave; do awk '$1 == "INVITE" && $2 ~ /^sip:/ { s = 1; next } s && /^Call-ID:/ { print $2; exit }' "$dir/$p.msg"; done | sort -u | wc -l)
check "one offer: the three INVITEs share its Call-ID" [ "$ids" -eq 1 ]
done_() { [ "$(stat prog offered)" -eq 3 ] && [ "$(stat prog answered)" -eq 1 ]; }
check "huntgroup counted 3 offers, 1 answered" wait_for 5 done_

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_progressive_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
