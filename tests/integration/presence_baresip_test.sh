#!/usr/bin/env bash
# tests/integration/presence_baresip_test.sh — a real UA watching a colleague through sip-edge:
# a real redis-server, router, sip-edge and ringway-presence; two baresip instances (Debian
# baresip-core) register with digest through sip-edge as their outbound proxy: alice's soft
# phone (2001) and bob's (2002), whose contacts file marks alice ";presence=p2p", so baresip's
# presence module SUBSCRIBEs to her (authenticated like a call) and reads each NOTIFY's PIDF.
# Checked in bob's baresip output (its SIP trace, -s, and its own contact status lines): alice
# open/available once subscribed; each manual state set with the CLI sends one more NOTIFY with
# basic, note and RPID activity (in_meeting: meeting, busy: on-the-phone, dnd: busy, away: away)
# and baresip, which knows only Online, Busy and Offline, shows in_meeting as Online, busy and
# dnd as Busy, away as Offline, a cleared setting as Online; a call from carol's baresip that
# alice's answers sends busy (Busy) and its end available (Online); alice's baresip stopped (it
# unregisters) sends basic closed, note offline, shown as Offline. Every wait is for a
# condition, bounded.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport rbus ebus ehttp sip ua1 ua2 ua3 phttp pbus < <("$RINGWAY_FREE_PORT" 10 | tr '\n' ' ')
rw_workdir

command -v baresip >/dev/null || { echo "FAIL: baresip installed (tools/install-deps.sh test)" >&2; exit 1; }
rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport RINGWAY_BUS_DISCOVERY_POLL_MS=100
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "password": "alice-pw", "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "password": "bob-pw", "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "carol", "ext": "2003", "password": "carol-pw", "devices": [ { "id": "softphone", "kind": "sip" } ] } ] }
JSON
rw=$build/tools/ringway
"$rw" import "$dir/dir.json" >/dev/null || { echo "FAIL: import" >&2; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$rbus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
pids+=($!)
rw_wait_tcp "$rbus" || { echo "FAIL: router did not start" >&2; exit 1; }
RINGWAY_HTTP_PORT=$ehttp RINGWAY_SIP_PORT=$sip RINGWAY_SIP_ADDR=127.0.0.1 RINGWAY_BUS_PUB="tcp://127.0.0.1:$ebus" \
RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" RINGWAY_INSTANCE=edge-1 RINGWAY_LOG_LEVEL=info \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=("$edge_pid")
rw_wait_health "$ehttp" || { echo "FAIL: sip-edge did not start" >&2; exit 1; }
RINGWAY_HTTP_PORT=$phttp RINGWAY_BUS_PUB="tcp://127.0.0.1:$pbus" RINGWAY_INSTANCE=presence-1 \
  "${RW_WRAP[@]}" "$build/services/presence/ringway-presence" 2>>"$dir/presence.log" &
presence_pid=$!; pids+=("$presence_pid")
rw_wait_health "$phttp" || { echo "FAIL: presence did not start" >&2; exit 1; }

# until SECONDS COMMAND...: until COMMAND succeeds, every 0.1 s for at most SECONDS (scaled)
until_ok() {
  local i n=$(( $1 * 10 * RW_SCALE )); shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
  "$@"
}
# baresip_ua NAME PORT EXT PASSWORD [ACCOUNT-PARAMS [ARG...]]: a baresip soft phone
# registering through sip-edge as its outbound proxy, with the contact and presence modules and
# its SIP trace on stdout ($dir/NAME.log), more account parameters and baresip arguments (-e
# commands) when given;
# its contacts file is $dir/NAME/contacts (written before); pid in ua_pid.
baresip_ua() {
  local d=$dir/$1; mkdir -p "$d"; touch "$d/contacts"
  printf '%s\n' "poll_method epoll" "sip_listen 127.0.0.1:$2" "sip_transports udp" \
    "net_interface 127.0.0.1" "module_path /usr/lib/baresip/modules" "module g711.so" \
    "module aubridge.so" "audio_player aubridge,x" "audio_source aubridge,x" "audio_alert aubridge,x" \
    "module_app account.so" "module_app contact.so" "module_app presence.so" "module_app menu.so" >"$d/config"
  echo "<sip:$3@ringway.local>;auth_pass=$4;outbound=\"sip:127.0.0.1:$sip;lr\";regint=120${5:-}" >"$d/accounts"
  local name=$1; shift 4; [ $# -gt 0 ] && shift
  # --foreground: timeout passes a SIGTERM to baresip alone; without it, it signals its whole
  # process group too, and baresip takes a second SIGTERM as "quit now", before unregistering.
  timeout --foreground "$(rw_secs 40)" baresip -f "$d" -s -t "$(rw_secs 35)" "$@" </dev/null >"$dir/$name.log" 2>&1 &
  ua_pid=$!; pids+=("$ua_pid")
}
bound() { [ "$(redis-cli -p "$rport" exists "rw:loc:sip:$1@ringway.local")" = 1 ]; }
state() { [ "$(redis-cli -p "$rport" hget rw:presence:alice state)" = "$1" ]; }

baresip_ua alice "$ua1" 2001 alice-pw ";answermode=auto"; alice_pid=$ua_pid
check "alice's baresip registers (digest, outbound proxy)" until_ok 10 bound 2001
check "alice is available" until_ok 5 state available
check "sip-edge follows presence.changed" until_ok 5 bash -c "redis-cli -p $rport zcard rw:svc:presence.events | grep -qx 1"

mkdir -p "$dir/bob"
echo '"Alice" <sip:2001@ringway.local>;presence=p2p' >"$dir/bob/contacts"
baresip_ua bob "$ua2" 2002 bob-pw; bob_pid=$ua_pid
check "bob's baresip registers" until_ok 10 bound 2002
check "bob's presence module subscribes to one contact" until_ok 10 grep -q "Subscribing to 1 contacts" "$dir/bob.log"

# notified NOTE BASIC: bob's baresip has received a NOTIFY whose PIDF says BASIC and NOTE
notified() { grep -q "<basic>$2</basic></status><note>$1</note>" "$dir/bob.log"; }
# shown: bob's baresip's changes of alice's contact status so far, in its own words
# ("Online>Busy Busy>Online ..."): it logs a line only when the status it shows changes.
shown() { grep -a "<sip:2001@ringway.local> changed status from" "$dir/bob.log" | sed 's/\x1b\[[0-9;]*m//g' |
            sed -n 's/.* from \([A-Za-z]*\) to \([A-Za-z]*\).*/\1>\2/p' | paste -sd' '; }
shows() { [ "$(shown)" = "$1" ]; }
# nnotified NOTE BASIC: how many such NOTIFYs bob's baresip has received
nnotified() { grep -c "<basic>$2</basic></status><note>$1</note>" "$dir/bob.log"; }
more() { [ "$(nnotified "$1" "$2")" -gt "$3" ]; }  # more NOTE BASIC N: more than N of them
# set_seen STATE NOTE BASIC RPID: alice's manual state set (STATE clear: cleared), then bob's
# baresip receives one more NOTIFY with that PIDF (and RPID activity, when not empty)
set_seen() {
  local before; before=$(nnotified "$2" "$3")
  if [ "$1" = clear ]; then "$rw" presence clear alice >/dev/null; else "$rw" presence set alice "$1" >/dev/null; fi || return 1
  until_ok 5 more "$2" "$3" "$before" || return 1
  [ -z "$4" ] || grep -q "<rpid:$4/>" "$dir/bob.log"
}

check "NOTIFY: alice open, available (after the challenge)" until_ok 15 notified available open
# challenged: bob's baresip received a 401 or 407 answering a SUBSCRIBE (one trace entry each)
challenged() { awk 'BEGIN { RS = "" } /\nSIP\/2.0 40[17] / && /\nCSeq: [0-9]+ SUBSCRIBE/ { n++ } END { exit !n }' "$dir/bob.log"; }
check "sip-edge challenged bob's SUBSCRIBE" challenged
check "in_meeting: NOTIFY open, note in_meeting, rpid meeting" set_seen in_meeting in_meeting open meeting
check "busy: NOTIFY open, note busy, rpid on-the-phone" set_seen busy busy open on-the-phone
check "baresip showed in_meeting as Online, then Busy" until_ok 5 shows "Online>Busy"
check "dnd: NOTIFY open, note dnd, rpid busy" set_seen dnd dnd open busy
check "cleared: NOTIFY open, available" set_seen clear available open ""
check "baresip showed dnd as Busy, then Online" until_ok 5 shows "Online>Busy Busy>Online"
check "away: NOTIFY open, note away, rpid away" set_seen away away open away
check "baresip shows away as Offline" until_ok 5 shows "Online>Busy Busy>Online Online>Offline"
check "cleared again" set_seen clear available open ""
check "baresip shows Online" until_ok 5 shows "Online>Busy Busy>Online Online>Offline Offline>Online"
# A call: carol's baresip dials 2001, alice's answers by itself; stopped, carol's hangs up.
before=$(nnotified busy open)
baresip_ua carol "$ua3" 2003 carol-pw "" -e "/dial 2001"; carol_pid=$ua_pid
check "alice's baresip answers carol's call" until_ok 15 grep -qi "established" "$dir/alice.log"
check "on a call: one more NOTIFY open, note busy" until_ok 5 more busy open "$before"
check "baresip shows the call as Busy" until_ok 5 shows "Online>Busy Busy>Online Online>Offline Offline>Online Online>Busy"
before=$(nnotified available open)
rw_stop "$carol_pid"
check "the call ended: NOTIFY open, available" until_ok 5 more available open "$before"
check "baresip shows Online after the call" until_ok 5 shows "Online>Busy Busy>Online Online>Offline Offline>Online Online>Busy Busy>Online"
rw_stop "$alice_pid"
check "alice's baresip unregisters when stopped" until_ok 5 bash -c "! redis-cli -p $rport exists rw:loc:sip:2001@ringway.local | grep -qx 1"
check "NOTIFY: closed, note offline" until_ok 5 notified offline closed
check "baresip shows alice Offline" until_ok 5 shows "Online>Busy Busy>Online Online>Offline Offline>Online Online>Busy Busy>Online Online>Offline"
rw_stop "$bob_pid"

check "sip-edge exits 0 on SIGTERM" rw_stop "$edge_pid"
check "presence exits 0 on SIGTERM" rw_stop "$presence_pid"
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/presence.log"
echo "presence_baresip_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
