#!/usr/bin/env bash
# tests/integration/cli_ops_test.sh — the `ringway` commands an operator uses on a running
# Ringway: a real redis-server, router and sip-edge (started with the same configuration file
# the CLI is given), SIPp as a phone and a trusted caller. Checks that explain says what
# sip-edge really sends (a call that explain says ends in 480 gets 480), trunks and privacy in
# text and JSON, --at with an offset, an unknown number; presence set/show, divert show, regs
# (live bindings), events (a failed call seen on the bus), fallback rebuild progress, and the
# refusal of a divert to one's own public number.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): router and sip-edge run under it
rw_workdir
read -r rport bus rhttp http sip a1 peer t1 vm evport < <("$RINGWAY_FREE_PORT" 10 | tr '\n' ' ')
rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
unset RINGWAY_REDIS_HOST RINGWAY_REDIS_PORT RINGWAY_CONFIG RINGWAY_VOICEMAIL_URI RINGWAY_SIP_PEERS RINGWAY_ROUTER_ENDPOINTS

# One configuration file for sip-edge and the CLI: no voicemail.uri, one trunk for +44.
conf=$dir/ringway.conf
cat >"$conf" <<EOF
[redis]
port = $rport
[sip]
port = $sip
transports = udp
peers = "peer 127.0.0.1:$peer proxy; t1 127.0.0.1:$t1 trunk +44"
[router]
endpoints = tcp://127.0.0.1:$bus
EOF
R() { "$rw" -c "$conf" "$@"; }
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" }, { "id": "mobile", "kind": "number", "address": "+447700900001" },
                 { "id": "voicemail", "kind": "voicemail" } ] },
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw",
    "devices": [ { "id": "mobile", "kind": "number", "address": "+447700900123" } ],
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "mobile", "action": "ring", "ring": ["mobile"] } ] },
      "pinned": [ { "name": "paris", "callers": ["+3399*"], "action": "divert", "to": "+33123456789" } ] } } ],
  "trunks": [ { "name": "t1", "prefixes": ["+44"], "order": 1, "address": "sip:127.0.0.1:$t1" } ] }
JSON
check "directory imported" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R import '$dir/dir.json' >/dev/null 2>&1"

RINGWAY_REDIS_PORT=$rport RINGWAY_HTTP_PORT=$rhttp RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router=$!; pids+=($router)
rw_wait_tcp "$bus"
RINGWAY_HTTP_PORT=$http RINGWAY_BUS_PUB="tcp://127.0.0.1:$evport" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" -c "$conf" 2>>"$dir/edge.log" &
edge=$!; pids+=($edge)
check "sip-edge up" rw_wait_health "$http"
S="127.0.0.1:$sip"
sipp_fg() {  # name, args...
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" "$@" >"$dir/$name.out" 2>&1
}
status_uac() {  # status: the peer's INVITE scenario expecting that final status
  sed "s/\[status\]/$1/" "$sc/call_uac_peer_status.xml" >"$dir/uac_$1.xml"; echo "$dir/uac_$1.xml"
}
uac480=$(status_uac 480)

# 1. Explain says what sip-edge will send: alice's plan ends in voicemail, sip-edge has no
# voicemail.uri, so the caller gets 480, and a real call gets exactly that.
out=$(R explain 2001 2>&1); rc=$?
check "explain alice exits 0" [ $rc -eq 0 ]
check "explain: voicemail is not configured at sip-edge, the caller gets 480" \
  grep -q "^then: voicemail -> voicemail alice (not configured at sip-edge (no voicemail.uri): the caller gets 480 Temporarily Unavailable)$" <<<"$out"
check "explain names where sip-edge's settings came from" grep -q "sip-edge settings read from $conf" <<<"$out"
check "a real call to alice gets 480, as explained" sipp_fg c480 -sf "$uac480" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
out=$(RINGWAY_VOICEMAIL_URI="sip:vm@127.0.0.1:$vm" R explain 2001 2>&1)
check "with voicemail.uri explain says where voicemail goes" grep -q "^then: voicemail -> voicemail alice (sip-edge sends it to sip:alice@127.0.0.1:$vm)$" <<<"$out"
out=$(R explain 2003 2>&1)
check "a number target: the trunk sip-edge uses" grep -q "number +447700900123 via t1 (private).*(sip-edge: via t1)" <<<"$out"
out=$(R explain 2003 --from +33991234567 2>&1)
check "a number no trunk carries is not rung" grep -q "number +33123456789 .*(not rung: no trunk at sip-edge for +33123456789 (sip.peers))" <<<"$out"
out=$(R --json explain 2003 2>&1)
check "explain --json: trunks" grep -q '"dest":"+447700900123","trunks":\["t1"\],"private":true' <<<"$out"
check "explain --json: what sip-edge does with the target" grep -q '"at_edge":{"rings":true,"how":"via t1"}' <<<"$out"
check "explain --json: the final target and what the caller gets" grep -q '"final_at_edge":"not configured at sip-edge (no voicemail.uri): the caller gets 480 Temporarily Unavailable"' <<<"$(R --json explain 2001 2>&1)"
out=$(R explain 2001 --at 2026-03-30T10:04:00+01:00 2>&1); rc=$?
check "--at with an offset is accepted" [ $rc -eq 0 ]
check "--at 10:04+01:00 is 10:04 BST on Monday 30 March" grep -q "10:04 Mon" <<<"$out"
out=$(R explain 2999 2>&1); rc=$?
check "explain of an unknown number exits 1" [ $rc -eq 1 ]
check "and says so" grep -q "no user has the number 2999" <<<"$out"

# 2. Presence, calendar divert, devices as objects.
out=$(R presence set alice away --until 2036-01-01T00:00:00Z 2>&1); rc=$?
check "presence set exits 0" [ $rc -eq 0 ]
check "presence is written as the router reads it (source manual)" \
  bash -c "[ \"\$(redis-cli -p $rport hmget rw:presence:alice state until_ms source | tr '\n' ' ')\" = 'away 2082758400000 manual ' ]"
check "presence show" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R presence show alice | grep -q '^alice: away until 2036-01-01T00:00:00Z (source manual)$'"
check "presence shows in explain" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R explain 2001 | grep -q 'presence=away'"
check "a bad state is refused (exit 1)" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R presence set alice sleepy 2>&1 | grep -q \"'sleepy' is not a presence state\"; [ \${PIPESTATUS[0]} -eq 1 ]"
check "an --until already past is refused (exit 1)" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R presence set alice dnd --until 2020-01-01T00:00:00Z 2>/dev/null; [ \$? -eq 1 ]"
redis-cli -p "$rport" hset rw:presence:carol state busy until_ms 1000 source calendar >/dev/null
check "presence that ended shows as available" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R --json presence show carol | grep -q '\"state\":\"available\",\"set_state\":\"busy\"'"
R divert set carol +447700900777 2036-01-01T09:00:00Z 2036-01-01T10:00:00Z >/dev/null 2>&1
check "divert show" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R divert show carol | grep -q '^carol: divert to +447700900777 from 2036-01-01T09:00:00Z to 2036-01-01T10:00:00Z (later)$'"
check "divert show without one" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R divert show alice | grep -q 'no calendar divert'"
check "user show --json: devices as objects" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R --json user show alice | grep -q '\"devices\":\[{\"id\":\"mobile\",\"kind\":\"number\",\"address\":\"+447700900001\"},{\"id\":\"softphone\",\"kind\":\"sip\",\"address\":\"\"}'"

# 3. A divert to one's own public number loops through the phone network: refused.
out=$(R rule set alice pinned '{"name":"self","action":"divert","to":"01632 960001"}' 2>&1); rc=$?
check "a rule to her own public number: exit 1" [ $rc -eq 1 ]
check "named as a loop" grep -q "pinned: rule 'self' diverts to alice's own public number +441632960001: the call would come back to alice through the phone network (a loop)" <<<"$out"
out=$(R divert set alice +441632960001 2036-01-01T09:00:00Z 2036-01-01T10:00:00Z 2>&1); rc=$?
check "a calendar divert to her own public number: exit 1" bash -c "[ $rc -eq 1 ] && grep -q \"alice's own public number\" <<<\"\$0\"" "$out"
out=$(R rule set alice pinned '{"name":"self","action":"divert","to":"user:alice"}' 2>&1); rc=$?
check "a divert to herself as a colleague: exit 1" bash -c "[ $rc -eq 1 ] && grep -q 'diverts to alice themselves' <<<\"\$0\"" "$out"
check "nothing was written" bash -c "! redis-cli -p $rport hget rw:user:alice settings | grep -q self"

# 4. regs: the live bindings sip-edge stored for the user.
out=$(R regs alice 2>&1)
check "regs before registering: none" grep -q "alice: no live registration (sip:2001@ringway.local)" <<<"$out"
check "alice's phone registers" sipp_fg reg -sf "$sc/call_register.xml" -s 2001 -au 2001 -ap alice-pw -i 127.0.0.1 -p "$a1" "$S"
out=$(R regs alice 2>&1)
check "regs shows the contact, its expiry and q" grep -q "^sip:2001@ringway.local  sip:2001@127.0.0.1:$a1  expires in [0-9]* s  q 1.00  instance -" <<<"$out"
check "regs --json" bash -c "R() { '$rw' -c '$conf' \"\$@\"; }; R --json regs alice | grep -q '\"contact\":\"sip:2001@127.0.0.1:$a1\"'"

# 5. events: a failed call seen on the bus (sip-edge publishes call.failed). ZeroMQ delivers
# only what is published after the subscription arrives, so calls are made until one is seen.
R events call.failed --count 1 --for "$(rw_secs 30)" >"$dir/events.out" 2>"$dir/events.err" &
ev=$!
for _ in $(seq 1 $((50 * RW_SCALE))); do grep -q "listening to 1 publisher" "$dir/events.err" && break; sleep 0.1; done
check "events finds sip-edge's publisher in the registry" grep -q "listening to 1 publisher" "$dir/events.err"
redis-cli -p "$rport" del rw:loc:sip:2001@ringway.local >/dev/null
for i in $(seq 1 20); do
  kill -0 $ev 2>/dev/null || break
  sipp_fg "ev$i" -sf "$uac480" -s 2001 -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
done
wait $ev; rc=$?
check "events stops after --count 1 (exit 0)" [ $rc -eq 0 ]
check "one line for the failed call, with its cause" grep -q "call.failed .* to=2001 .*cause=480" "$dir/events.out"
check "exactly one line" [ "$(wc -l <"$dir/events.out")" -eq 1 ]
out=$(R events --for 0 2>&1); rc=$?
check "events --for 0 ends at once (exit 0)" [ $rc -eq 0 ]

# 6. fallback rebuild with a router running: progress on stderr until the plans are rewritten.
R fallback rebuild >"$dir/fb.out" 2>"$dir/fb.err"; rc=$?
check "fallback rebuild exits 0" [ $rc -eq 0 ]
check "fallback rebuild: queued, on stderr" grep -q "^ringway: fallback rebuild: queued 2 users$" "$dir/fb.err"
check "fallback rebuild: waits for the routers" grep -qE "^ringway: fallback rebuild: every (plan rewritten|user announced)$" "$dir/fb.err"
check "fallback rebuild: the result on stdout" grep -q "^queued 2 users" "$dir/fb.out"

rw_stop $edge; check "sip-edge exits 0 on SIGTERM" [ $? -eq 0 ]
rw_stop $router; check "router exits 0 on SIGTERM" [ $? -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/router.log" "$dir/edge.log"

echo "cli_ops_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
