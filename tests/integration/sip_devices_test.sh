#!/usr/bin/env bash
# tests/integration/sip_devices_test.sh — the SIP devices of one user are separately
# addressable: a real redis-server, router and sip-edge, SIPp phones registering as
# <ext>-<device> with the user's credentials (digest user name <ext>). alice (2001), bob (2002)
# and carol (2003) each have a desk phone and a soft phone. alice's rule rings only her desk:
# her soft phone must see no INVITE; bob's rule rings both: both ring (the desk answers, the
# soft phone is cancelled); carol has no rule: both ring. Also: an unknown device id gets the
# same 403 as a wrong password, `ringway regs` shows which binding is which device, and a real
# UA (baresip, auth_user) registers as a device.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
cli=$build/tools/ringway
if ! command -v sipp >/dev/null; then
  echo "sip_devices_test: sipp missing (tools/install-deps.sh test)" >&2; exit 1
fi

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): router and sip-edge run under it
read -r rport bus http sip peer ad as bd bs cd cs reg < <("$RINGWAY_FREE_PORT" 12 | tr '\n' ' ')
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
phones='[ { "id": "desk", "kind": "sip" }, { "id": "soft", "kind": "sip" },
          { "id": "mobile", "kind": "number", "address": "+447700900123" } ]'
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "password": "alice-pw", "devices": $phones,
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "desk-only", "action": "ring", "ring": ["desk"] } ] } } },
  { "id": "bob", "ext": "2002", "password": "bob-pw", "devices": $phones,
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "both", "action": "ring", "ring": ["desk", "soft"] } ] } } },
  { "id": "carol", "ext": "2003", "password": "carol-pw", "devices": $phones } ] }
JSON
check "directory imported" "$cli" --redis "127.0.0.1:$rport" import "$dir/dir.json"

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router_pid=$!; pids+=($router_pid)
rw_wait_tcp "$bus"
RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="" RINGWAY_SIP_TRANSPORTS=udp \
RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" RINGWAY_LOG_LEVEL=info \
RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=($edge_pid)
rw_wait_health "$http"
check "sip-edge /health" curl -fsS -o /dev/null "http://127.0.0.1:$http/health"

S="127.0.0.1:$sip"
sipp_fg() {  # name, args...: in the foreground, returns SIPp's code
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/$name.err" -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1
}
sipp_bg() {  # name, args...: in the background, pid in $!; every message it sees in $dir/NAME.msg
  local name=$1; shift
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -trace_err \
    -error_file "$dir/$name.err" -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1 &
}
register() {  # ext device password port: To sip:<ext>-<device>@realm, digest user name <ext>
  sipp_fg "reg-$1-$2" -sf "$sc/call_register.xml" -s "$1-$2" -au "$1" -ap "$3" -i 127.0.0.1 -p "$4" "$S"
}

# 1. Registration identities: each phone registers as its device with the user's password.
check "alice's desk registers as 2001-desk" register 2001 desk alice-pw "$ad"
check "alice's soft phone registers as 2001-soft" register 2001 soft alice-pw "$as"
check "bob's desk registers as 2002-desk" register 2002 desk bob-pw "$bd"
check "bob's soft phone registers as 2002-soft" register 2002 soft bob-pw "$bs"
check "carol's desk registers as 2003-desk" register 2003 desk carol-pw "$cd"
check "carol's soft phone registers as 2003-soft" register 2003 soft carol-pw "$cs"
only_own() {  # the soft phone's 200 (the desk was bound before it) lists the soft phone only
  grep -q '^Contact: <sip:2001-soft@[^>]*>;expires=' "$dir/reg-2001-soft.msg" &&
    ! grep -q '^Contact: .*2001-desk@' "$dir/reg-2001-soft.msg"
}
check "a device's 200 lists only that device's bindings" only_own
forbidden() {  # to-user digest-user password
  timeout "$(rw_secs 20)" sipp "$S" -sf "$sc/register_forbidden.xml" -m 1 -i 127.0.0.1 -p "$reg" \
    -au "$2" -ap "$3" -key user "$1" -key contact "<sip:$1@127.0.0.1:$reg>" -key expires 120 \
    -timeout "$(rw_secs 10)" -timeout_error -nostdin -trace_msg -message_file "$dir/forbidden-$1-$3.msg" \
    >/dev/null 2>&1
}
check "wrong password for a device -> 403" forbidden 2001-desk 2001 wrong-pw
check "unknown device id -> 403" forbidden 2001-laptop 2001 alice-pw
check "a number device cannot register -> 403" forbidden 2001-mobile 2001 alice-pw
same_403() { [ "$(grep -m1 '^SIP/2.0 403' "$dir/forbidden-2001-desk-wrong-pw.msg")" = "$(grep -m1 '^SIP/2.0 403' "$dir/forbidden-2001-laptop-alice-pw.msg")" ]; }
check "unknown device and wrong password get the same 403" same_403
check "the bindings are tagged with their device in rw:loc" bash -c \
  "redis-cli -p $rport hvals rw:loc:sip:2001@ringway.local | grep -q \$'\\tdesk\$' && redis-cli -p $rport hvals rw:loc:sip:2001@ringway.local | grep -q \$'\\tsoft\$'"
"$cli" --redis "127.0.0.1:$rport" regs alice >"$dir/regs-alice.txt" 2>&1
check "ringway regs names each binding's device" bash -c \
  "grep -q 'sip:2001-desk@.*device desk' '$dir/regs-alice.txt' && grep -q 'sip:2001-soft@.*device soft' '$dir/regs-alice.txt'"

# A call from the trusted peer to EXT; the desk answers (uas_answer.xml), the soft phone runs
# uas_cancelled.xml (rings until cancelled). The branches of a stage are sent in the same loop
# turn, before the desk can answer, so when the call is over an INVITE to the soft phone would
# already be in its trace.
call() {  # label ext desk-port soft-port
  sipp_bg "$1-desk" -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$3"; desk_pid=$!
  sipp_bg "$1-soft" -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$4"; soft_pid=$!
  rw_wait_udp "$3" 5; rw_wait_udp "$4" 5
  check "$1: the call to $2 is answered" sipp_fg "$1-caller" -sf "$sc/call_uac_peer.xml" -s "$2" \
    -key caller 3000 -i 127.0.0.1 -p "$peer" "$S"
  wait "$desk_pid"; check "$1: the desk rang, answered and got the BYE" [ $? -eq 0 ]
}

# 2. alice's rule rings only the desk.
call alice 2001 "$ad" "$as"
check "alice: the soft phone saw no INVITE" bash -c "! grep -q '^INVITE sip:' '$dir/alice-soft.msg'"
kill "$soft_pid" 2>/dev/null; wait "$soft_pid" 2>/dev/null
check "alice: the desk's INVITE went to its own contact" grep -q '^INVITE sip:2001-desk@' "$dir/alice-desk.msg"
check "explain --json names the device a target rings" bash -c \
  "'$cli' --redis '127.0.0.1:$rport' --json explain 2001 --router 'tcp://127.0.0.1:$bus' | grep -q '\"device\": *\"desk\"'"

# 3. bob's rule rings both: the soft phone rings and is cancelled when the desk answers.
call bob 2002 "$bd" "$bs"
wait "$soft_pid"; check "bob: the soft phone rang and was cancelled" [ $? -eq 0 ]

# 4. carol has no rule: every SIP device rings.
call carol 2003 "$cd" "$cs"
wait "$soft_pid"; check "carol: the soft phone rang and was cancelled" [ $? -eq 0 ]

# 5. A real UA: baresip registers as alice's soft phone, user 2001-soft, auth_user 2001.
if command -v baresip >/dev/null; then
  d=$dir/baresip; mkdir -p "$d"
  printf '%s\n' "poll_method epoll" "sip_listen 127.0.0.1:$reg" "sip_transports udp" \
    "net_interface 127.0.0.1" "module_path /usr/lib/baresip/modules" "module g711.so" \
    "module aubridge.so" "audio_player aubridge,x" "audio_source aubridge,x" "audio_alert aubridge,x" \
    "module_app account.so" >"$d/config"
  echo "<sip:2001-soft@ringway.local>;auth_user=2001;auth_pass=alice-pw;outbound=\"sip:127.0.0.1:$sip;lr\";regint=120" >"$d/accounts"
  timeout "$(rw_secs 15)" baresip -f "$d" -t "$(rw_secs 12)" </dev/null >"$dir/baresip.log" 2>&1 &
  ua_pid=$!
  soft_ua() { redis-cli -p "$rport" hvals rw:loc:sip:2001@ringway.local | grep -q $'\tbaresip[^\t]*\tsoft$'; }
  for _ in $(seq 1 $((80 * RW_SCALE))); do soft_ua && break; sleep 0.1; done
  check "baresip registered as 2001-soft (auth_user 2001): a binding of the soft phone" soft_ua
  kill -TERM "$ua_pid" 2>/dev/null; wait "$ua_pid" 2>/dev/null
else
  check "baresip installed (tools/install-deps.sh test)" false
fi

rw_stop "$edge_pid"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
rw_stop "$router_pid"; rc=$?
check "router exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/router.log"

echo "sip_devices_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 30 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
