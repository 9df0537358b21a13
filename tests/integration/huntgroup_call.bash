# tests/integration/huntgroup_call.bash — what the huntgroup_call_*_test.sh scripts share: a
# real redis-server, the router, two ringway-huntgroup instances and one sip-edge (huntgroup
# endpoints static, both instances), the directory (alice, bob, carol, dave as users with a
# SIP device each), and SIPp helpers. Sourced, not run: it sets $dir, $pids, $S, $rw and the
# ports named below (cports: five more trusted callers' ports), and defines hg_start, fg, bgs, register, stat, wait_for.
# Call events stay off unless HG_EDGE_PUB (sip-edge's bus.pub endpoint) is set before sourcing:
# then sip-edge publishes call.* there and the huntgroup instances follow them (personal calls).
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
rw=$build/tools/ringway

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): every service runs under it
read -r rport rbus http sip hb1 hb2 hh1 hh2 vm peer pb pc pd c1 c2 c3 c4 c5 < <("$RINGWAY_FREE_PORT" 18 | tr '\n' ' ')
cports=("$c1" "$c2" "$c3" "$c4" "$c5")   # callers at once: each a trusted peer on its own port
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw",
    "devices": [ { "id": "softphone", "kind": "sip" } ] },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] },
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] },
  { "id": "dave", "ext": "2004", "number": "+441632960004", "password": "dave-pw",
    "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
"$rw" import "$dir/dir.json" >/dev/null || { echo "FAIL: import" >&2; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$rbus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router_pid=$!; pids+=($router_pid)
rw_wait_tcp "$rbus"

hg_start() {  # instance bus-port http-port: a huntgroup instance; its pid in $hg_pid
  RINGWAY_HTTP_PORT=$3 RINGWAY_HUNTGROUP_BIND="tcp://127.0.0.1:$2" RINGWAY_INSTANCE=$1 RINGWAY_BUS_PUB="" \
    RINGWAY_HUNTGROUP_RETRY_MS=200 RINGWAY_HUNTGROUP_CALLER_TIMEOUT_MS=$((3000 * RW_SCALE)) \
    RINGWAY_HUNTGROUP_CALL_EVENTS=${HG_EDGE_PUB:+sip_edge.events} "${RW_WRAP[@]}" "$build/services/huntgroup/ringway-huntgroup" 2>>"$dir/$1.log" &
  hg_pid=$!; pids+=($hg_pid)
  rw_wait_health "$3"
}
hg_start hg1 "$hb1" "$hh1"; hg1=$hg_pid
hg_start hg2 "$hb2" "$hh2"; hg2=$hg_pid

RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="${HG_EDGE_PUB:-}" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$rbus" \
RINGWAY_HUNTGROUP_ENDPOINTS="tcp://127.0.0.1:$hb1, tcp://127.0.0.1:$hb2" RINGWAY_HUNTGROUP_DEADLINE_MS=$((400 * RW_SCALE)) \
RINGWAY_VOICEMAIL_URI="sip:vm@127.0.0.1:$vm" RINGWAY_LOG_LEVEL=info RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy$(for p in "${cports[@]}"; do echo -n "; c$p 127.0.0.1:$p proxy"; done)" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=($edge_pid)
rw_wait_health "$http"

S="127.0.0.1:$sip"
fg() {  # name, args...: runs in the foreground, returns sipp's code
  local name=$1; shift
  timeout "$(rw_secs 30)" sipp -timeout "$(rw_secs 25)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" "$@" >"$dir/$name.out" 2>&1
}
bgs() {  # name, args...: in the background (messages traced in $dir/NAME.msg); pid in $!
  local name=$1; shift
  timeout "$(rw_secs 40)" sipp -timeout "$(rw_secs 35)s" -timeout_error -nostdin -trace_err -error_file "$dir/$name.err" \
    -trace_msg -message_file "$dir/$name.msg" "$@" >"$dir/$name.out" 2>&1 &
}
register() {  # ext password local-port
  fg "reg-$1-$3" -m 1 -sf "$sc/call_register.xml" -s "$1" -au "$1" -ap "$2" -i 127.0.0.1 -p "$3" "$S"
}
stat() {  # group name: one figure of the group's totals (0 when unset)
  local v; v=$(redis-cli -p "$rport" hget "rw:hg:stats:$1" "$2"); echo "${v:-0}"
}
wait_for() {  # seconds command...: until the command succeeds (scaled), 1 if it never did
  local end=$((SECONDS + $(rw_secs "$1"))); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
invites_from() {  # file: the caller (From user) of each INVITE a SIPp device received, in order
  awk '$1 == "INVITE" && $2 ~ /^sip:/ { s = 1; next } s && /^From:/ { match($0, /sip:[^@]*/); print substr($0, RSTART + 4, RLENGTH - 4); s = 0 }' "$1"
}
