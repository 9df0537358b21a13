#!/usr/bin/env bash
# tests/integration/sip_overload_test.sh — the overload guard under a real flood: redis-server,
# router and sip-edge with a small call cap (overload.max_calls), a trunk (SIPp UAS) that only
# rings, and a SIPp trusted peer sending 2,000 INVITEs at 1,000/s that each ring 1 s and are
# cancelled. Checks: the excess is answered 503 with Retry-After before any state (counted in
# ringway_sip_edge_shed_total), every call the edge took ends cleanly (SIPp
# sees no unexpected message), the edge's RSS stays under a bound, and afterwards a normal call
# completes.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): router and sip-edge run under it
# Under a wrapper the flood and the cap are RW_SCALE times smaller (valgrind is that much slower).
rate=$((1000 / RW_SCALE)) total=$((2000 / RW_SCALE))
read -r rport bus http sip t1 peer msgport < <("$RINGWAY_FREE_PORT" 7 | tr '\n' ' ')
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw",
    "devices": [ { "id": "mobile", "kind": "number", "address": "+447700900123" } ],
    "rules": { "active": "main", "profiles": { "main": [
      { "name": "mobile", "action": "ring", "ring": ["mobile"] } ] } } } ] }
JSON
"$build/tools/ringway" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }
RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
router=$!; pids+=($router)
rw_wait_tcp "$bus"
max_calls=$((200 / RW_SCALE))
RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_BUS_PUB="" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" \
RINGWAY_OVERLOAD_MAX_CALLS=$max_calls RINGWAY_OVERLOAD_RETRY_AFTER_S=7 RINGWAY_OVERLOAD_REFUSE_UNPARSED=true RINGWAY_LOG_LEVEL=warn \
RINGWAY_SIP_PEERS="peer 127.0.0.1:$peer proxy; t1 127.0.0.1:$t1 trunk +44" \
  "${RW_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge=$!; pids+=($edge)
rw_wait_health "$http"
check "sip-edge /health" curl -fsS "http://127.0.0.1:$http/health"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$edge/status"; }
metric() { curl -fsS "http://127.0.0.1:$http/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# The trunk rings every call until it is cancelled.
timeout "$(rw_secs 60)" sipp -sf "$sc/uas_cancelled.xml" -i 127.0.0.1 -p "$t1" -nostdin >"$dir/uas.out" 2>&1 &
uas=$!; pids+=($uas)
rw_wait_udp "$t1" 5
rss0=$(rss)
peak=$rss0
timeout "$(rw_secs 40)" sipp -sf "$sc/flood_uac.xml" -s 2003 -key caller 3000 -i 127.0.0.1 -p "$peer" -r "$rate" -m "$total" \
  -l 3000 -timeout "$(rw_secs 30)s" -nostdin -trace_err -error_file "$dir/flood.err" -trace_stat -stf "$dir/flood.csv" \
  -trace_msg -message_file "$dir/flood.msg" "127.0.0.1:$sip" >"$dir/flood.out" 2>&1 &
flood=$!
# While the cap sheds INVITEs, a MESSAGE to a user is new work too: 503 before any state.
sed -e 's/\[method\]/MESSAGE/g; s/\[service\]/2003/g; s/\[status\]/503/g' "$sc/uac_request.xml" >"$dir/message.xml"
msg_code=none
while kill -0 "$flood" 2>/dev/null; do
  r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r
  if [ "$msg_code" != 0 ] && [ "$(metric 'ringway_sip_edge_shed_total{reason="calls"}')" -gt 0 ] 2>/dev/null; then
    timeout "$(rw_secs 10)" sipp -sf "$dir/message.xml" -m 1 -i 127.0.0.1 -p "$msgport" -timeout "$(rw_secs 5)s" \
      -timeout_error -nostdin "127.0.0.1:$sip" >"$dir/message.out" 2>&1
    msg_code=$?
  fi
  sleep 0.2
done
wait "$flood"; code=$?
# the call cap sheds most; on a loaded machine the SIP socket's queue signal may shed some too
shed_calls=$(metric 'ringway_sip_edge_shed_total{reason="calls"}')
shed=$(curl -fsS "http://127.0.0.1:$http/metrics" | awk '$1 ~ /^ringway_sip_edge_shed_total\{reason="(calls|queue|routing|latency)"\}$/ { s += $2 } END { print s + 0 }')
# calls answered 503 (distinct Call-IDs: a retransmitted INVITE may get the 503 again)
n503=$(awk '/^SIP\/2.0 / { s = $2 } /^Call-ID:/ { if (s == 503 && !($2 in ids)) { ids[$2] = 1; n++ } s = 0 }
            END { print n + 0 }' "$dir/flood.msg")
echo "flood: sipp exit $code, $n503 answered 503, shed_total{calls}=$shed_calls (all INVITE reasons $shed), RSS ${rss0} -> peak ${peak} kB"
check "the flood finished with every call ending as expected (sipp exit 0)" [ "$code" -eq 0 ]
check "the excess got 503" [ "${n503:-0}" -gt 0 ]
check "the 503s carry Retry-After" grep -q '^Retry-After: 7' "$dir/flood.msg"
check "shed_total counts them" [ "${shed:-0}" -ge "$n503" ]
# Once the guard refuses INVITEs, the next ones are refused from their raw datagram
# (fastshed.h) and the ACKs of those 503s end there: the 503 and Retry-After checks above
# read them too, and every refused call ended (sipp exit 0).
unparsed=$(metric ringway_sip_edge_shed_unparsed_total)
unparsed_acks=$(metric ringway_sip_edge_shed_unparsed_acks_total)
echo "refused unparsed: ${unparsed:-none}, their ACKs dropped unparsed: ${unparsed_acks:-none}"
check "503s were written from the raw INVITE" [ "${unparsed:-0}" -gt 0 ]
check "their ACKs were dropped unparsed" [ "${unparsed_acks:-0}" -gt 0 ]
check "the call cap shed some" [ "${shed_calls:-0}" -gt 0 ]
check "calls within the cap were carried (at least $max_calls)" [ $((total - n503)) -ge "$max_calls" ]
check "a MESSAGE to a user during the overload got 503 (sipp exit $msg_code)" [ "$msg_code" = 0 ]
# (under a wrapper the RSS is valgrind's, not the edge's)
rw_wrapped || check "RSS grew less than 150 MB during the flood" [ $((peak - rss0)) -lt 153600 ]

# Afterwards the edge carries a normal call: the trunk answers.
kill "$uas" 2>/dev/null
sleep 0.5
# No -m 1: a CANCEL the edge still retransmits for a flood call (the first trunk died before
# answering it) must not use up the answering trunk's only call.
timeout "$(rw_secs 20)" sipp -sf "$sc/uas_answer.xml" -i 127.0.0.1 -p "$t1" -nostdin \
  -trace_stat -stf "$dir/uas2.csv" -fd 1 >"$dir/uas2.out" 2>&1 & u=$!
rw_wait_udp "$t1" 5
after_call() {
  timeout "$(rw_secs 20)" sipp -m 1 -timeout "$(rw_secs 15)s" -timeout_error -nostdin -sf "$sc/call_uac_peer.xml" -s 2003 \
    -key caller 3000 -i 127.0.0.1 -p "$peer" "127.0.0.1:$sip" >"$dir/after.out" 2>&1
}
check "after the flood a call completes" after_call
sleep 1.2                          # one more statistics line (-fd 1)
kill -INT "$u" 2>/dev/null; wait "$u" 2>/dev/null
answered=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i; next }
                      { v = $c } END { print v + 0 }' "$dir/uas2.csv" 2>/dev/null)
check "the trunk answered it" [ "${answered:-0}" -ge 1 ]
check "sip-edge still alive" kill -0 "$edge"
rw_stop "$edge"; rc=$?
check "sip-edge exits 0 on SIGTERM" [ $rc -eq 0 ]
rw_stop "$router"; rc=$?
check "router exits 0 on SIGTERM" [ $rc -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge.log" "$dir/router.log"

echo "sip_overload_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 20 "$dir/edge.log" "$dir/flood.err" >&2 2>/dev/null; fi
[ "$failed" -eq 0 ]
