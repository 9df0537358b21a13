#!/usr/bin/env bash
# tests/integration/huntgroup_cli_test.sh — `ringway group|member|agent|queue` against a real
# redis-server and a real ringway-huntgroup: groups saved, shown, exported and imported back;
# what is refused at save time (exit 1, the reason named); a group's member not removed by
# `user rm` (the groups named); `ringway import` loading a file's groups after its users; agents logged in, paused with a
# reason, resumed; and `queue watch` redrawn from the queue.agent_state events the huntgroup
# instance publishes for those CLI changes.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): huntgroup runs under it
rw_workdir
port=$("$RINGWAY_FREE_PORT" 1)
rw_redis_start "$port" "$dir"
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_PORT=$port

"$rw" user add ann --ext 2001 --password a >/dev/null
"$rw" user add ben --ext 2002 --password b >/dev/null
"$rw" device add ben desk sip >/dev/null

out=$("$rw" group add sales 3000 2>&1); rc=$?
check "group without members refused (exit 1)" [ $rc -eq 1 ]
check "no members named" grep -q "group 'sales' has no members: add at least one" <<<"$out"
out=$("$rw" group add sales 3000 members=ann,ben strategy=fastest 2>&1)
check "unknown strategy named" grep -q "unknown strategy 'fastest'" <<<"$out"
out=$("$rw" group add sales 3000 members=ann,zed 2>&1)
check "unknown member named" grep -q "member 'zed' is not a user of the directory" <<<"$out"
out=$("$rw" group add sales 2001 members=ann 2>&1)
check "a user's extension refused" grep -q "2001 already belongs to user 'ann'" <<<"$out"
check "nothing saved" bash -c "[ -z \"\$('$rw' group list)\" ]"

check "group add" bash -c "'$rw' group add sales 3000 members=ann strategy=linear wrapup_s=5 >/dev/null"
out=$("$rw" member add sales ben weight=0 2>&1); rc=$?
check "weight 0 refused (exit 1)" bash -c "[ $rc -eq 1 ] && grep -q 'weight 0 is out of range' <<<\"\$0\"" "$out"
out=$("$rw" member add sales ben weight=-1 2>&1)
check "weight -1 refused" grep -q "weight -1 is out of range" <<<"$out"
check "member add with tier, weight, device" bash -c "'$rw' member add sales ben tier=2 weight=3 device=desk >/dev/null"
check "group show" bash -c "'$rw' group show sales | grep -q 'member ben *tier 2 penalty 0 weight 3 device desk'"
check "group list" bash -c "'$rw' group list | grep -q '^sales *3000 .*linear *2 members'"
"$rw" group export >"$dir/groups.json"; rc=$?
check "export exits 0" [ $rc -eq 0 ]
check "export has both members" bash -c "grep -q '\"user\": \"ben\"' '$dir/groups.json'"
check "group rm" bash -c "'$rw' group rm sales >/dev/null && [ -z \"\$('$rw' group list)\" ]"
out=$("$rw" group import "$dir/groups.json" 2>&1)
check "import of the export" grep -q "1 group imported" <<<"$out"
check "imported as exported" bash -c "'$rw' --json group show sales | grep -q '\"strategy\":\"linear\"'"
check "usage error exits 2" bash -c "'$rw' group add sales 2>/dev/null; [ \$? -eq 2 ]"

# A group's member is not removed from under it: refused, the groups named, nothing removed.
out=$("$rw" user rm ben 2>&1); rc=$?
check "user rm of a group member refused (exit 1)" [ $rc -eq 1 ]
check "the group named" grep -q "user 'ben' is a member of hunt group sales; remove them from it first (ringway member rm GROUP ben)" <<<"$out"
check "ben is still a user and a member" bash -c "'$rw' user show ben >/dev/null && '$rw' group show sales | grep -q 'member ben'"
check "member rm, then user rm" bash -c "'$rw' member rm sales ben >/dev/null && '$rw' user rm ben >/dev/null"
check "ben is gone" bash -c "! '$rw' user show ben >/dev/null 2>&1"

# `ringway import` of a whole directory file loads its hunt groups after its users.
cat >"$dir/whole.json" <<'JSON'
{ "users": [ { "id": "cy", "ext": "2003", "password": "c" }, { "id": "dee", "ext": "2004", "password": "d" } ],
  "groups": [ { "id": "support", "ext": "3100", "strategy": "ringall",
                "members": [ { "user": "cy" }, { "user": "dee", "tier": 2 } ] } ] }
JSON
out=$("$rw" import "$dir/whole.json" 2>/dev/null); rc=$?
check "import of users and groups exits 0" [ $rc -eq 0 ]
check "import says both" grep -q "imported 2 users and 1 group from" <<<"$out"
check "the file's group saved with its members" \
  bash -c "'$rw' group show support | grep -q 'member dee *tier 2' && '$rw' group list | grep -q '^support *3100 .*ringall'"
check "--json counts the groups" bash -c "'$rw' --json import '$dir/whole.json' 2>/dev/null | grep -q '\"imported_groups\":1'"
sed 's/"user": "dee", "tier": 2/"user": "zed"/' "$dir/whole.json" >"$dir/bad.json"
out=$("$rw" import "$dir/bad.json" 2>&1); rc=$?
check "a bad group stops the import (exit 1), named" \
  bash -c "[ $rc -eq 1 ] && grep -q \"groups\[0\]: member 'zed' is not a user of the directory\" <<<\"\$0\"" "$out"

hport=$("$RINGWAY_FREE_PORT" 1)
bport=$("$RINGWAY_FREE_PORT" 1)
RINGWAY_HTTP_PORT=$hport RINGWAY_HUNTGROUP_BIND=tcp://127.0.0.1:$bport RINGWAY_INSTANCE=hg-cli \
  RINGWAY_HUNTGROUP_CALL_EVENTS= "${RW_WRAP[@]}" "$build/services/huntgroup/ringway-huntgroup" \
  >"$dir/hg.log" 2>&1 &
hg=$!
pids+=("$hg")
check "huntgroup healthy" rw_wait_health "$hport"

# The wallboard: it stops after the first queue.* event of the group (bounded by --for).
"$rw" --json queue watch sales --count 1 --for "$(rw_secs 20)" >"$dir/watch" 2>"$dir/watch.err" &
watch=$!
for ((i = 0; i < 50 * RW_SCALE; i++)); do      # until the first board is drawn
  [ -s "$dir/watch" ] && break
  sleep 0.1
done
# ZeroMQ's slow joiner: log in and out until an event reaches the board (bounded)
for ((i = 0; i < 20 * RW_SCALE; i++)); do
  kill -0 $watch 2>/dev/null || break
  "$rw" agent login ann >/dev/null
  sleep 0.3
  kill -0 $watch 2>/dev/null || break
  "$rw" agent logout ann >/dev/null
  sleep 0.3
done
wait $watch; rc=$?
check "queue watch exits 0 (clean under the sanitizers)" [ $rc -eq 0 ]
check "queue watch saw an agent_state event" grep -q '"event":"queue.agent_state agent=ann state=' "$dir/watch"
check "board has the group's agents" grep -q '"agents":{"ann":' "$dir/watch"

check "agent login" bash -c "'$rw' agent login ann | grep -q '^ann available  groups: sales'"
out=$("$rw" agent pause ann 2>&1); rc=$?
check "pause needs a reason (exit 2)" [ $rc -eq 2 ]
check "agent pause" bash -c "'$rw' agent pause ann lunch | grep -q '^ann paused (lunch)'"
check "queue show counts the paused agent" bash -c "'$rw' --json queue show sales | grep -q '\"paused\":1'"
check "agent resume" bash -c "'$rw' agent resume ann | grep -q '^ann available'"
out=$("$rw" agent login zed 2>&1)
check "unknown agent refused" grep -q "unknown user zed" <<<"$out"
check "events of CLI changes published" bash -c "curl -s http://127.0.0.1:$hport/metrics | grep -q '^ringway_huntgroup_events_published_total [1-9]'"
check "huntgroup stops cleanly" rw_stop $hg

echo "huntgroup_cli_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
