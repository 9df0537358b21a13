#!/usr/bin/env bash
# tests/integration/huntgroup_call_kill_test.sh — no caller is lost with a huntgroup instance:
# 5 SIPp callers queue one after another for a group whose only agent is paused (the queue
# holds them in arrival order, every `next` answered by either of two ringway-huntgroup
# instances), one instance is killed with SIGKILL, the agent resumes, and the agent's SIPp
# phone answers all 5 calls, in arrival order, each caller's BYE freeing the agent for the next
# (sip-edge's bus client asks the surviving instance). Setup: huntgroup_call.bash.
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

check "group kill (one agent)" "$rw" group add kill 2500 members=bob strategy=rrmemory ring_ms=5000
check "kill: no wrap-up, no automatic pause" "$rw" group set kill wrapup_s=0 autopause=0
check "bob logs in" "$rw" agent login bob
check "bob pauses" "$rw" agent pause bob training
check "register bob's phone" register 2002 bob-pw "$pb"

bgs bob -m 5 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
queued() { [ "$(redis-cli -p "$rport" zcard rw:hg:q:kill)" -eq "$1" ]; }
callers=()
for i in 1 2 3 4 5; do
  bgs "caller$i" -m 1 -sf "$sc/call_uac_peer.xml" -s 2500 -key caller "300$i" -i 127.0.0.1 -p "${cports[$((i - 1))]}" "$S"
  callers+=($!)
  # the next caller starts once this one holds its place: the arrival order is known
  check "caller $i queued (position $i)" wait_for 5 queued "$i"
done
# every caller's edge asks again each retry_ms: both instances have answered for them
asked() { curl -fsS "http://127.0.0.1:$1/metrics" | grep -qE '^ringway_huntgroup_requests_total\{op="next"\} [1-9]'; }
check "instance 1 answered next requests" wait_for 5 asked "$hh1"
check "instance 2 answered next requests" wait_for 5 asked "$hh2"
kill -9 "$hg1"; wait "$hg1" 2>/dev/null
check "instance 1 is gone" bash -c "! kill -0 $hg1 2>/dev/null"
check "still 5 callers queued after the kill" queued 5
check "bob resumes" "$rw" agent resume bob

i=0
for c in "${callers[@]}"; do
  i=$((i + 1))
  wait "$c"; check "caller $i answered (180 while queued, 200 from bob, BYE)" [ $? -eq 0 ]
done
wait $ub; check "bob's phone answered 5 calls" [ $? -eq 0 ]
order=$(invites_from "$dir/bob.msg" | tr '\n' ' ')
echo "bob answered, in order: $order"
check "in arrival order" [ "$order" = "3001 3002 3003 3004 3005 " ]
answered() { [ "$(stat kill answered)" -eq 5 ]; }
check "huntgroup counted 5 answered" wait_for 5 answered
check "and none abandoned" [ "$(stat kill abandoned)" -eq 0 ]

for p in $edge_pid $hg2; do
  rw_stop "$p"; rc=$?
  check "process $p exits 0 on SIGTERM" [ $rc -eq 0 ]
done
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_call_kill_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
