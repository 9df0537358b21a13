#!/usr/bin/env bash
# tests/integration/huntgroup_strategies_test.sh — the hunt group semantics of docs/huntgroup.md
# over real calls: SIPp callers (trusted peers) and SIPp agents through a real sip-edge, the
# router, two ringway-huntgroup instances and a real redis-server (huntgroup_call.bash).
# Checked: linear always rings the first free agent in the order; ringall rings every agent and
# cancels the others at the first answer; fewest_calls picks the agent with fewer answered
# calls; tier 2 rings only while tier 1 is paused; an agent in wrap-up is not offered until it
# ends; an agent who misses `autopause` offers is paused (`ringway agent status`); a priority
# caller presented in national format (normalised to E.164 by sip-edge) is answered before an
# earlier caller; `ringway queue show` and /metrics count what the calls did.
top=${RINGWAY_SOURCE_DIR:?}
# shellcheck source=tests/integration/huntgroup_call.bash
. "$top/tests/integration/huntgroup_call.bash"

group() {  # id ext members strategy settings...: a group, then its settings (one `group set`)
  local id=$1 ext=$2 members=$3 strategy=$4; shift 4
  "$rw" group add "$id" "$ext" members="$members" strategy="$strategy" >/dev/null && "$rw" group set "$id" "$@"
}
common=(wrapup_s=0 autopause=0 ring_ms=5000)
check "group lin (linear)" group lin 2100 bob,carol,dave linear "${common[@]}"
check "group all (ringall)" group all 2200 bob,carol,dave ringall "${common[@]}"
check "group few (fewest_calls)" group few 2300 bob,carol fewest_calls "${common[@]}"
check "group tier (bob tier 1, tier_wait_s=0)" group tier 2400 bob linear tier_wait_s=0 "${common[@]}"
check "carol joins tier as tier 2" "$rw" member add tier carol tier=2
check "group wrap (linear, $((12 * RW_SCALE)) s wrap-up)" group wrap 2500 bob,carol linear wrapup_s=$((12 * RW_SCALE)) autopause=0
check "group ap (linear, paused after 2 missed offers)" group ap 2600 dave,carol linear wrapup_s=0 autopause=2 ring_ms=1000
check "group prio (priority caller +441632960999)" group prio 2700 bob linear join_empty=yes priority=+441632960999 "${common[@]}"
check "group sl (service level)" group sl 2800 carol linear join_empty=yes "${common[@]}"
for u in bob carol dave; do check "$u logs in to every group" "$rw" agent login $u; done
check "register bob's phone" register 2002 bob-pw "$pb"
check "register carol's phone" register 2003 carol-pw "$pc"
check "register dave's phone" register 2004 dave-pw "$pd"

state_is() {  # user state: the agent's state as `ringway agent status` says (wrap-up ends by time)
  "$rw" agent status "$1" | grep -q "^$1 $2 "
}
all_available() { state_is bob available && state_is carol available && state_is dave available; }
invites() { local n; n=$(grep -c '^INVITE sip:' "$dir/$1.msg" 2>/dev/null); echo "${n:-0}"; }
answered_is() { [ "$(stat "$1" answered)" -eq "$2" ]; }
agents() {  # section scenario count: bob's, carol's and dave's phones in the background ($ub $uc $ud)
  bgs "$1-bob" -m "$3" -sf "$2" -i 127.0.0.1 -p "$pb"; ub=$!
  bgs "$1-carol" -m "$3" -sf "$2" -i 127.0.0.1 -p "$pc"; uc=$!
  bgs "$1-dave" -m "$3" -sf "$2" -i 127.0.0.1 -p "$pd"; ud=$!
  rw_wait_udp "$pb" 5; rw_wait_udp "$pc" 5; rw_wait_udp "$pd" 5
}
phones_off() { kill -TERM "$ub" "$uc" "$ud" 2>/dev/null; wait "$ub" "$uc" "$ud" 2>/dev/null; }
settled() {  # no agent is ringing or on a call (the last call's outcomes are all in)
  local u s
  for u in bob carol dave; do
    s=$(redis-cli -p "$rport" hget "rw:hg:agent:$u" state)
    [ "$s" = offered ] || [ "$s" = on_call ] && return 1
  done
  return 0
}
calls() {  # name ext count: calls one after another from the peer, each answered; before the
           # next, the agents have settled (so which one is free does not depend on timing)
  local i
  for ((i = 1; i <= $3; i++)); do
    fg "$1-$i" -m 1 -sf "$sc/call_uac_peer.xml" -s "$2" -key caller 3000 -i 127.0.0.1 -p "$peer" "$S" || return 1
    wait_for 5 settled || return 1
  done
}

# 1. linear: every call goes to bob (first in the order, always free again); with bob paused,
#    to carol (the next in the order), never to dave.
agents lin "$sc/uas_answer.xml" 20
check "6 calls to the linear group answered" calls lin1 2100 6
check "huntgroup counted 6 answered" wait_for 5 answered_is lin 6
check "all 6 rang bob, none carol or dave" bash -c "[ $(invites lin-bob) -eq 6 ] && [ $(invites lin-carol) -eq 0 ] && [ $(invites lin-dave) -eq 0 ]"
check "bob pauses" "$rw" agent pause bob lunch
check "3 more calls answered with bob paused" calls lin2 2100 3
check "huntgroup counted 9 answered" wait_for 5 answered_is lin 9
echo "linear: bob $(invites lin-bob), carol $(invites lin-carol), dave $(invites lin-dave)"
check "the 3 rang carol (next in the order), not dave" bash -c "[ $(invites lin-bob) -eq 6 ] && [ $(invites lin-carol) -eq 3 ] && [ $(invites lin-dave) -eq 0 ]"
check "bob resumes" "$rw" agent resume bob
phones_off
check "all agents available" wait_for 5 all_available

# 2. ringall: every agent rings; bob answers, carol's and dave's phones are cancelled.
bgs all-bob -m 2 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
bgs all-carol -m 2 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$pc"; uc=$!
bgs all-dave -m 2 -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$pd"; ud=$!
rw_wait_udp "$pb" 5; rw_wait_udp "$pc" 5; rw_wait_udp "$pd" 5
check "2 calls to the ringall group answered" calls all 2200 2
wait "$ub"; check "bob's phone answered both" [ $? -eq 0 ]
wait "$uc"; check "carol's phone rang twice and was cancelled both times" [ $? -eq 0 ]
wait "$ud"; check "dave's phone rang twice and was cancelled both times" [ $? -eq 0 ]
check "ringall: 6 offers (3 per call), 2 answered" bash -c "[ \$(redis-cli -p $rport hget rw:hg:stats:all offered) -eq 6 ] && [ \$(redis-cli -p $rport hget rw:hg:stats:all answered) -eq 2 ]"
check "all agents available" wait_for 5 all_available

# 3. fewest_calls: bob has answered 3 calls of the group, carol none: carol takes the next 3,
#    then ties go to the first in the order (bob), so 6 calls ring carol 4 times and bob twice
#    (round robin would be 3 and 3, linear 6 and 0).
redis-cli -p "$rport" hset rw:hg:ac:few bob:calls 3 >/dev/null
agents few "$sc/uas_answer.xml" 20
check "6 calls to the fewest_calls group answered" calls few 2300 6
check "huntgroup counted 6 answered" wait_for 5 answered_is few 6
phones_off
echo "fewest_calls: bob $(invites few-bob), carol $(invites few-carol)"
check "carol answered 4, bob 2" bash -c "[ $(invites few-carol) -eq 4 ] && [ $(invites few-bob) -eq 2 ]"
check "answered calls: bob 5, carol 4" bash -c "[ \$(redis-cli -p $rport hget rw:hg:ac:few bob:calls) -eq 5 ] && [ \$(redis-cli -p $rport hget rw:hg:ac:few carol:calls) -eq 4 ]"
check "all agents available" wait_for 5 all_available

# 4. tiers (tier_wait_s=0): tier 2 (carol) rings only while tier 1 (bob) is not free.
agents tier "$sc/uas_answer.xml" 20
check "3 calls to the tier group answered" calls tier1 2400 3
check "huntgroup counted 3 answered" wait_for 5 answered_is tier 3
check "all 3 rang bob (tier 1), none carol" bash -c "[ $(invites tier-bob) -eq 3 ] && [ $(invites tier-carol) -eq 0 ]"
check "bob pauses" "$rw" agent pause bob training
check "2 calls answered with tier 1 paused" calls tier2 2400 2
check "huntgroup counted 5 answered" wait_for 5 answered_is tier 5
check "those 2 rang carol (tier 2)" bash -c "[ $(invites tier-bob) -eq 3 ] && [ $(invites tier-carol) -eq 2 ]"
check "bob resumes" "$rw" agent resume bob
phones_off
check "all agents available" wait_for 5 all_available

# 5. wrap-up: bob answers, goes to wrap-up for 12 s (the second call must come within it, so
#    it is long enough for a slow machine); the next call goes to carol; once bob's
#    wrap-up is over (waited for: his state turns available by itself), he is first again.
agents wrap "$sc/uas_answer.xml" 20
check "first call to the wrap group answered" calls wrap1 2500 1
check "bob is in wrap-up after his call" wait_for 5 state_is bob wrap_up
check "second call answered while bob wraps up" calls wrap2 2500 1
check "it rang carol, not bob" bash -c "[ $(invites wrap-bob) -eq 1 ] && [ $(invites wrap-carol) -eq 1 ]"
check "bob available again when wrap-up ends" wait_for 20 state_is bob available
check "third call answered" calls wrap3 2500 1
check "it rang bob again" bash -c "[ $(invites wrap-bob) -eq 2 ] && [ $(invites wrap-carol) -eq 1 ]"
phones_off
check "all agents available" wait_for 20 all_available   # bob: wrap-up after call 3

# 6. auto-pause (autopause=2): dave (first) is busy at both offers and is paused; carol answers.
sed "s/\[status\]/486/" "$sc/uas_status.xml" >"$dir/uas_486.xml"
bgs ap-dave -m 2 -sf "$dir/uas_486.xml" -i 127.0.0.1 -p "$pd"; ud=$!
bgs ap-carol -m 1 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
ub=; rw_wait_udp "$pd" 5; rw_wait_udp "$pc" 5
check "call to the ap group answered" calls ap 2600 1
wait "$uc"; check "carol's phone answered" [ $? -eq 0 ]
kill -TERM "$ud" 2>/dev/null; wait "$ud" 2>/dev/null
check "dave is paused" state_is dave paused
check "ringway agent status dave: paused (missed 2 offers)" bash -c "'$rw' agent status dave | grep -q 'paused (missed 2 offers)'"
check "ap: 3 offers (dave twice, carol once), 1 answered" bash -c "[ \$(redis-cli -p $rport hget rw:hg:stats:ap offered) -eq 3 ] && [ \$(redis-cli -p $rport hget rw:hg:stats:ap answered) -eq 1 ]"
check "dave resumes" "$rw" agent resume dave

# 7. priority: bob paused; caller 3000 queues first, then +441632960999 presented in national
#    format (01632960999): sip-edge sends it in E.164, so it matches the priority list and goes
#    ahead; bob resumes and is offered the priority caller first.
check "bob pauses" "$rw" agent pause bob lunch
qlen() { [ "$(redis-cli -p "$rport" zcard rw:hg:q:prio)" -eq "$1" ]; }
bgs qa -m 1 -sf "$sc/call_uac_peer.xml" -s 2700 -key caller 3000 -i 127.0.0.1 -p "$c1" "$S"; qa=$!
check "caller 3000 waits in prio's queue" wait_for 5 qlen 1
bgs qb -m 1 -sf "$sc/call_uac_peer.xml" -s 2700 -key caller 01632960999 -i 127.0.0.1 -p "$c2" "$S"; qb=$!
check "caller 01632960999 waits too" wait_for 5 qlen 2
check "it joined as a priority caller, in E.164" bash -c "redis-cli -p $rport --scan --pattern 'rw:hg:call:*' | while read -r k; do redis-cli -p $rport hmget \$k caller prio; done | tr '\n' ' ' | grep -q '+441632960999 1'"
bgs prio-bob -m 2 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pb"; ub=$!
rw_wait_udp "$pb" 5
check "bob resumes" "$rw" agent resume bob
wait "$qa"; check "caller 3000 answered" [ $? -eq 0 ]
wait "$qb"; check "the priority caller answered" [ $? -eq 0 ]
wait "$ub"; check "bob's phone answered both" [ $? -eq 0 ]
order=$(invites_from "$dir/prio-bob.msg" | tr '\n' ' ')
echo "prio: bob was offered, in order: $order"
check "bob was offered the priority caller first" [ "$order" = "01632960999 3000 " ]

# 8. service level: 2 calls answered at once, 1 abandoned while carol is paused.
bgs sl-carol -m 2 -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$pc"; uc=$!
rw_wait_udp "$pc" 5
check "2 calls to the sl group answered" calls sl 2800 2
wait "$uc"; check "carol answered both" [ $? -eq 0 ]
check "carol pauses" "$rw" agent pause carol lunch
check "a caller to sl hangs up while queued" fg slc -m 1 -sf "$sc/call_uac_peer_cancel.xml" -s 2800 -key caller 3001 -i 127.0.0.1 -p "$peer" "$S"
check "huntgroup counted the abandon" wait_for 8 bash -c "[ \$(redis-cli -p $rport hget rw:hg:stats:sl abandoned) -eq 1 ]"
show=$("$rw" queue show sl); echo "$show" | head -3
check "queue show: joined 3, answered 2, abandoned 1" bash -c "grep -q 'joined 3  offered 2  answered 2  abandoned 1  overflowed 0' <<<'$show'"
check "queue show: SL 100.0% of answered, 66.7% of answered+abandoned" \
  bash -c "grep -q 'SL 20 s: 100.0% of answered, 66.7% of answered+abandoned' <<<'$show'"
metric() { curl -fsS "http://127.0.0.1:$hh1/metrics" | grep -q "^ringway_huntgroup_$1{group=\"sl\"} $2\$"; }
m_ok() { metric answered_total 2 && metric abandoned_total 1 && metric answered_sl_total 2; }
check "/metrics: answered 2, abandoned 1, answered within SL 2" wait_for 10 m_ok

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
for p in $hg1 $hg2; do rw_stop "$p"; rc=$?; check "huntgroup $p exits 0 on SIGTERM" [ $rc -eq 0 ]; done
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/hg1.log" "$dir/hg2.log" "$dir/router.log"

echo "huntgroup_strategies_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
