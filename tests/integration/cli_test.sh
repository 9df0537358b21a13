#!/usr/bin/env bash
# tests/integration/cli_test.sh — the `ringway` CLI against a real redis-server: imports (good,
# invalid JSON, bad entries named), user list/show in text and JSON, exit codes, what the
# directory refuses on save, and `explain` against a router for combinations of rules.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): the router runs under it
port=$("$RINGWAY_FREE_PORT" 1)
dir=$(mktemp -d)
rw_redis_start "$port" "$dir"
redis=$RW_REDIS_PID
trap 'kill $redis 2>/dev/null; wait $redis 2>/dev/null; rm -rf "$dir"' EXIT
export RINGWAY_REDIS_PORT=$port

out=$("$rw" import "$top/compose/demo-directory.json" 2>&1)
check "import demo directory" [ $? -eq 0 ]
check "import says how many" grep -q "imported 4 users" <<<"$out"
check "the demo's rules all can apply (no warning)" bash -c "! grep -q warning <<<\"\$0\"" "$out"

check "user list" bash -c "'$rw' user list | grep -q '^alice *2001 *+441632960001 *Alice Archer'"
check "user list --json" bash -c "'$rw' --json user list | grep -q '\"id\":\"bob\",\"ext\":\"2002\"'"
check "user show" bash -c "'$rw' user show carol | grep -q 'home *number +441632960999'"
check "user show unknown exits 1" bash -c "! '$rw' user show nobody 2>/dev/null"

printf '{"users": [ {"id":"ok1","ext":"3001","password":"x"}, {"id":"bad","ext":"3002","number":"12ab","password":"x"} ]}' >"$dir/bad.json"
out=$("$rw" import "$dir/bad.json" 2>&1); rc=$?
check "bad entry exits 1" [ $rc -eq 1 ]
check "bad entry is named" grep -q "users\[1\]: number '12ab' is not a valid public number" <<<"$out"
check "entry before it was written" bash -c "'$rw' user show ok1 >/dev/null"

printf '{"users": [ {"id":"dup","ext":"2001","password":"x"} ]}' >"$dir/dup.json"
out=$("$rw" import "$dir/dup.json" 2>&1)
check "taken extension names its owner" grep -q "2001 already belongs to user 'alice'" <<<"$out"

printf '{"users": [ \n oops ]}' >"$dir/broken.json"
out=$("$rw" import "$dir/broken.json" 2>&1); rc=$?
check "invalid JSON exits 1 with line" bash -c "[ $rc -eq 1 ] && grep -q 'broken.json:2:' <<<\"\$0\"" "$out"

out=$("$rw" explain 2001 --router tcp://127.0.0.1:1 2>&1); rc=$?
check "explain with no router exits 1" [ $rc -eq 1 ]
check "explain says no answer" grep -q "no answer from a router" <<<"$out"
check "usage exits 2" bash -c "'$rw' frobnicate 2>/dev/null; [ \$? -eq 2 ]"
check "redis down exits 1" bash -c "RINGWAY_REDIS_PORT=1 '$rw' user list 2>&1 | grep -q 'cannot reach Redis'"

# Rules, profiles, loops, devices, trunks, the fallback queue, and explain at a given time.
redis-cli -p "$port" flushall >/dev/null
"$rw" import "$top/compose/demo-directory.json" >/dev/null
check "demo rules stored" bash -c "'$rw' --json rule show alice | grep -q '\"active\":\"office\"'"
out=$("$rw" rule set bob office '{"name":"fwd","action":"divert","to":"user:alice"}' 2>&1); rc=$?
check "loop refused with exit 1" [ $rc -eq 1 ]
check "loop is named" grep -q "divert loop: bob -> alice -> bob" <<<"$out"
out=$("$rw" rule set alice home '{"name":"late","time":"18:00-20:00","action":"dnd"}' 2>&1)
check "overlapping schedules refused" grep -q "schedules of rules 'quiet-evening' and 'late' overlap" <<<"$out"
out=$("$rw" rule set alice office '{"name":"x","action":"ring","ring":["pager"]}' 2>&1)
check "missing device refused" grep -q "device 'pager' which does not exist" <<<"$out"
out=$("$rw" device rm alice mobile 2>&1)
check "device used by a rule cannot go" grep -q "used by rule 'school'" <<<"$out"
out=$("$rw" user rm bob 2>&1); rc=$?
check "a divert target cannot be removed" [ $rc -eq 1 ]
check "its referrers are named" grep -q "user 'bob' is still a divert target of alice; change their rules first" <<<"$out"
check "the refused user is kept" bash -c "'$rw' user show bob >/dev/null"
check "profile switch" bash -c "'$rw' profile switch alice on-leave | grep -q switched"
check "unknown profile exits 1" bash -c "! '$rw' profile switch alice nope 2>/dev/null"
check "trunk add" bash -c "'$rw' trunk add fr +33 sip:fr.example --order 3 | grep -q saved"
check "bad trunk exits 1" bash -c "! '$rw' trunk add bad 33 sip:x 2>/dev/null"
check "rule set usage exits 2" bash -c "'$rw' rule set alice 2>/dev/null; [ \$? -eq 2 ]"
check "fallback rebuild queues every user" bash -c "'$rw' --json fallback rebuild | grep -q '\"queued_users\":4'"
check "divert set" bash -c "'$rw' divert set bob +447700900777 2026-01-01T00:00:00Z 2030-01-01T00:00:00Z | grep -q saved"
# What the directory refuses on save, and the change counter `user show` prints.
out=$("$rw" divert set alice pager 2036-01-01T09:00:00Z 2036-01-01T10:00:00Z 2>&1); rc=$?
check "calendar divert to a missing device exits 1" [ $rc -eq 1 ]
check "calendar divert to a missing device is named" grep -q "divert to device 'pager' which does not exist" <<<"$out"
out=$("$rw" user add eve --ext 2005 --tz Europe/Londn --password x 2>&1); rc=$?
check "unknown time zone refused" bash -c "[ $rc -eq 1 ] && grep -q \"tz 'Europe/Londn' is not a time zone\" <<<\"\$0\"" "$out"
"$rw" rule set dev office '{"name":"all","action":"ring","ring":["softphone"]}' >/dev/null
out=$("$rw" rule set dev office '{"name":"night","time":"22:00-06:00","action":"dnd"}' 2>&1); rc=$?
check "a rule after a rule for every call is saved (exit 0)" [ $rc -eq 0 ]
check "with a warning that it can never apply" grep -q "warning: office: rule 'night' can never apply: rule 'all' before it" <<<"$out"
"$rw" rule clear dev office >/dev/null
check "overnight and working-day windows live together" bash -c "'$rw' rule set dev office '{\"name\":\"night\",\"time\":\"22:00-06:00\",\"action\":\"dnd\"}' >/dev/null && '$rw' rule set dev office '{\"name\":\"day\",\"days\":\"mon-fri\",\"time\":\"09:00-17:00\",\"action\":\"ring\",\"ring\":[\"softphone\"]}' >/dev/null"
v1=$("$rw" --json user show dev | sed -n 's/.*"ver":\([0-9]*\).*/\1/p')
"$rw" profile switch dev office >/dev/null
v2=$("$rw" --json user show dev | sed -n 's/.*"ver":\([0-9]*\).*/\1/p')
check "every write bumps the version user show prints ($v1 -> $v2)" test -n "$v1" -a "$v2" = "$((v1 + 1))"
check "user show prints the version" bash -c "'$rw' user show dev | grep -q '^version $v2 '"
"$rw" rule clear dev office >/dev/null
"$rw" rule set carol pinned '{"name":"withheld","callers":["anonymous"],"action":"dnd"}' >/dev/null
"$rw" divert set dev +447700900777 2036-01-01T09:00:00Z 2036-01-01T10:00:00Z >/dev/null
rport=$("$RINGWAY_FREE_PORT" 1); hport=$("$RINGWAY_FREE_PORT" 1)
RINGWAY_HTTP_PORT=$hport RINGWAY_ROUTER_BIND=tcp://127.0.0.1:$rport "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>"$dir/router.log" &
router=$!
trap 'kill $router $redis 2>/dev/null; wait $router $redis 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 $((50 * RW_SCALE))); do [ "$(redis-cli -p "$port" llen rw:dir:changes)" = 0 ] && break; sleep 0.1; done
rw_wait_tcp "$rport"
check "the change list is drained (a router announced the changes)" [ "$(redis-cli -p "$port" llen rw:dir:changes)" = 0 ]
out=$("$rw" explain 2001 --router tcp://127.0.0.1:$rport --at 2026-03-30T09:04:00Z 2>&1)
check "explain on leave diverts to bob" grep -q "rule 'cover' matched: divert always -> colleague bob" <<<"$out"
out=$("$rw" explain 2001 --router tcp://127.0.0.1:$rport --from +441632960500 2>&1)
check "explain: pinned school rule beats leave" grep -q "rule 'school' matched" <<<"$out"
out=$("$rw" explain 2002 --router tcp://127.0.0.1:$rport --at 2026-03-30T09:04:00Z --json 2>&1)
check "explain --json shows the calendar divert" grep -q '"dest":"+447700900777"' <<<"$out"
check "bad --at exits 2" bash -c "'$rw' explain 2001 --at yesterday 2>/dev/null; [ \$? -eq 2 ]"
# Combinations: the evening rule of the home profile, its exception for bob calling from his
# desk (his extension, matched by his public number), callers in national format or withheld,
# office hours across the spring DST change, and the calendar divert's [start, end).
ex() { "$rw" explain "$@" --router "tcp://127.0.0.1:$rport" 2>&1; }
"$rw" profile switch alice home >/dev/null
out=$(ex 2001 --at 2026-06-01T20:00:00Z)
check "home in the evening: do not disturb" grep -q "rule 'quiet-evening' matched: do not disturb" <<<"$out"
out=$(ex 2001 --from 2002 --at 2026-06-01T20:00:00Z)
check "bob at his desk is the exception" grep -q "caller 2002 is an exception" <<<"$out"
check "and rings both" grep -q "rule 'both' matched" <<<"$out"
out=$(ex 2001 --from "01632 960500" --at 2026-06-01T20:00:00Z)
check "a national-format caller matches the pinned rule" grep -q "rule 'school' matched" <<<"$out"
out=$(ex 2003 --from Anonymous)
check "a withheld caller (any case) meets the withheld rule" grep -q "rule 'withheld' matched" <<<"$out"
check "dnd without a mailbox is busy" grep -q "then: busy" <<<"$out"
"$rw" profile switch alice office >/dev/null
out=$(ex 2001 --at 2026-03-27T07:30:00Z)
check "07:30 GMT before the change: out of hours" grep -q "07:30 Fri, Europe/London" <<<"$out"
check "out of hours rings the default" grep -q "no ring rule" <<<"$out"
out=$(ex 2001 --at 2026-03-30T07:30:00Z)
check "07:30Z after the change is 08:30 BST: in hours" bash -c "grep -q '08:30 Mon' <<<\"\$0\" && grep -q \"rule 'workday' matched\" <<<\"\$0\"" "$out"
out=$(ex 2004 --at 2036-01-01T09:00:00Z)
check "calendar divert in force at its start" grep -q "calendar divert' matched" <<<"$out"
out=$(ex 2004 --at 2036-01-01T10:00:00Z)
check "calendar divert over at its end" bash -c "! grep -q 'calendar divert' <<<\"\$0\"" "$out"
rw_stop $router; rc=$?
trap 'kill $redis 2>/dev/null; wait $redis 2>/dev/null; rm -rf "$dir"' EXIT
check "router exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/router.log"

# Two writers changing one user's rules at once (12 rules each, into two profiles): each change
# is kept (a write lands only while the settings are still what its writer read; the loser
# reads again).
"$rw" rule clear dev office >/dev/null 2>&1
writer() {
  for i in $(seq 10 21); do
    "$rw" rule set dev "race$1" "{\"name\":\"$1$i\",\"callers\":[\"+44207946$2$i\"],\"action\":\"divert\",\"to\":\"voicemail\"}" \
      >/dev/null 2>"$dir/err$1" || { echo "$1$i failed:"; cat "$dir/err$1"; }
  done
}
writer a 01 >"$dir/wa" & wa=$!
writer b 02 >"$dir/wb" & wb=$!
wait $wa $wb
kept=$("$rw" --json rule show dev | grep -o '"name":"[ab][0-9]*"' | sort -u | wc -l)
check "two concurrent writers: all 24 rules kept ($kept)" [ "$kept" -eq 24 ]
check "no concurrent write failed" bash -c "! [ -s '$dir/wa' ] && ! [ -s '$dir/wb' ]"

echo "cli_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
