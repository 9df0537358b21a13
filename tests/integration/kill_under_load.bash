# tests/integration/kill_under_load.bash KIND — sourced by kill_<kind>_test.sh: the whole stack
# as `make demo` runs it (tools/demo.sh: redis-server, router, sip-edge with two workers, each
# restarted when it dies), calls flowing from a trusted caller (SIPp, one UDP socket, so every
# call reaches the same worker) to a registered device that answers (a SIPp UAS registered with
# digest as 2002), each held KILL_HOLD_MS then hung up by the caller. Once KILL_AFTER calls are
# answered, one process of KIND is killed with SIGKILL:
#   router      ringway-router
#   worker      the sip-edge worker that carries the caller's calls
#   supervisor  sip-edge's supervisor (its workers must go on and be adopted)
#   redis       redis-server (calls served from the caches and fallbacks meanwhile; a REGISTER
#               after it is back must be written)
#   huntgroup, presence, calendar
#               that service (not on an ordinary call's path: no call may notice; it must be
#               healthy again; queued hunt-group callers: huntgroup_call_kill_test.sh)
# Prints `calls created N completed M (P %)` and fails below KILL_MIN_PCT (99.9). Defaults: 100
# calls/s for 20 s (KILL_RATE, KILL_CALLS; a tenth of the rate under RINGWAY_WRAP), 1 s hold;
# waits are for conditions, never for time. KILL_TRACE=1 (with KEEP=1) keeps the caller's messages.
kind=${1:?kind: router|worker|supervisor|redis|huntgroup|presence|calendar}
top=${RINGWAY_SOURCE_DIR:?}
build=${RINGWAY_BUILD_DIR:?}
# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rate=${KILL_RATE:-100}
ncalls=${KILL_CALLS:-2000}
if rw_wrapped; then rate=${KILL_RATE:-10}; ncalls=${KILL_CALLS:-200}; fi   # make valgrind: a tenth
hold=${KILL_HOLD_MS:-1000}
kill_after=${KILL_AFTER:-$((ncalls / 3))}
min_pct=${KILL_MIN_PCT:-99.9}
bsc=$top/bench/sip

rw_workdir                          # $dir, $pids; cleaned up on exit (KEEP=1 keeps $dir)
fail() { echo "FAIL: kill_$kind: $*" >&2; tail -n 20 "$dir/demo.out" >&2; exit 1; }

# Ports: demo.sh checks them all and names any that is taken.
read -r redis_port sip_port uas_port < <("$RINGWAY_FREE_PORT" 3 | tr '\n' ' ')
base_free() {  # port offsets...: all of port+offset free (TCP)
  local p=$1 o; shift
  for o in "$@"; do [ -z "$(ss -Hltn "sport = :$((p + o))")" ] || return 1; done
}
for _ in $(seq 1 50); do http_base=$("$RINGWAY_FREE_PORT" 1); base_free "$http_base" 1 2 3 4 5 6 7 && break; done
for _ in $(seq 1 50); do bus_base=$("$RINGWAY_FREE_PORT" 1); base_free "$bus_base" 1 2 3 4 5 6 7 && [ "$bus_base" != "$http_base" ] && break; done
export XDG_STATE_HOME=$dir RINGWAY_REDIS_PORT=$redis_port RINGWAY_HTTP_PORT=$http_base \
       RINGWAY_BUS_PORT=$bus_base RINGWAY_SIP_PORT=$sip_port RINGWAY_SIP_PROCESSES=2 \
       RINGWAY_SIP_PEERS="callers 127.0.0.1:0 proxy" RINGWAY_LOG_LEVEL=warn
setsid "$top/tools/demo.sh" "$build" >"$dir/demo.out" 2>&1 &
demo=$!
stop_demo() {
  kill -TERM "$demo" 2>/dev/null
  local i
  for ((i = 0; i < 200 * RW_SCALE; i++)); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
  pkill -KILL -s "$demo" 2>/dev/null
  rw_cleanup
}
trap stop_demo EXIT
for _ in $(seq 1 $((300 * RW_SCALE))); do grep -q "Ctrl-C stops everything" "$dir/demo.out" && break; sleep 0.1; done
grep -q "Ctrl-C stops everything" "$dir/demo.out" || fail "the demo did not come up"
edge_http=$((http_base + 4))

metric() {  # port name -> value (0 when absent)
  curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}
answered() { echo $(( $(metric $((edge_http + 1)) ringway_sip_edge_calls_answered_total) \
                      + $(metric $((edge_http + 2)) ringway_sip_edge_calls_answered_total) )); }
stat_field() {  # stat.csv column -> its last value
  awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { v = $k } END { print v + 0 }' "$1"
}
register() {  # name ext password: one digest REGISTER with the UAS as Contact; true when it got 200
  mkdir -p "$dir/$1"
  printf 'SEQUENTIAL\n%s;%s;[authentication username=%s password=%s];%s;\n' "$2" "$3" "$2" "$3" "$2" >"$dir/$1/users.csv"
  (cd "$dir/$1" && timeout 30 sipp -sf "$bsc/register.xml" -inf users.csv -key uas_port "$uas_port" \
     -i 127.0.0.1 -m 1 -nostdin -timeout 20s -trace_stat -stf stat.csv -fd 1 "127.0.0.1:$sip_port" >out.txt 2>&1)
}
register reg 2002 bob-demo-2002 || fail "2002 did not register"

# The device: answers every call, echoes Record-Route, takes the caller's BYE.
timeout 120 sipp -sf "$bsc/uas.xml" -i 127.0.0.1 -p "$uas_port" -nostdin -buff_size 4194304 \
  -timeout 100s -trace_stat -stf "$dir/uas.csv" -fd 1 >"$dir/uas.out" 2>&1 &
pids+=($!)
rw_wait_udp "$uas_port" 5 || fail "the device (SIPp UAS) did not start"

printf 'SEQUENTIAL\n2002;\n' >"$dir/callees.csv"
# The bench caller, except that a 200 without a 180 before it is a completed call, as for any
# phone: a worker killed after forwarding an INVITE loses the callee's 180 (relayed to the dead
# worker, never retransmitted), while the 200's retransmissions reach its successor.
sed 's|<recv response="180" rtd="1"/>|<recv response="180" rtd="1" optional="true"/>|' "$bsc/uac.xml" >"$dir/uac.xml"
grep -q 'response="180" rtd="1" optional="true"' "$dir/uac.xml" || fail "bench/sip/uac.xml changed: no 180 to make optional"
mkdir -p "$dir/uac"
(cd "$dir/uac" && exec timeout 150 sipp -sf "$dir/uac.xml" -inf "$dir/callees.csv" -d "$hold" -i 127.0.0.1 \
   -r "$rate" -m "$ncalls" -l $((rate * 5 + 200)) -buff_size 4194304 -recv_timeout 10000 -nostdin \
   -trace_stat -stf stat.csv -fd 1 -trace_err ${KILL_TRACE:+-trace_msg} "127.0.0.1:$sip_port" >out.txt 2>&1) &
uac=$!
pids+=($uac)

# Kill once KILL_AFTER calls were answered.
for ((i = 0; i < 600 * RW_SCALE; i++)); do
  [ "$(answered)" -ge "$kill_after" ] && break
  kill -0 "$uac" 2>/dev/null || fail "the caller ended before $kill_after calls were answered"
  sleep 0.1
done
[ "$(answered)" -ge "$kill_after" ] || fail "$kill_after calls were not answered in time"
worker_pids() { curl -fsS "http://127.0.0.1:$edge_http/workers" | grep -o '"pid":[0-9]*' | cut -d: -f2; }
case "$kind" in
  router)     victim=$(pgrep -s "$demo" -f "$build/services/router/ringway-router\$" | head -1) ;;
  supervisor) victim=$(pgrep -s "$demo" -f "$build/services/sip-edge/ringway-sip-edge\$" | head -1)
              workers=$(worker_pids | sort | tr '\n' ' ') ;;
  worker)     o0=$(metric $((edge_http + 1)) ringway_sip_edge_calls_offered_total)
              o1=$(metric $((edge_http + 2)) ringway_sip_edge_calls_offered_total)
              victim=$(worker_pids | sed -n "$(( o0 >= o1 ? 1 : 2 ))p") ;;
  redis)      victim=$(pgrep -s "$demo" -f "redis-server 127.0.0.1:$redis_port" | head -1) ;;
  huntgroup|presence|calendar)
              victim=$(pgrep -s "$demo" -f "$build/services/$kind/ringway-$kind\$" | head -1) ;;
  *) fail "unknown kind $kind" ;;
esac
[ -n "$victim" ] || fail "no $kind process found"
echo "kill_$kind: SIGKILL to pid $victim after $(answered) answered calls"
kill -KILL "$victim"

# The runner logs the death and starts it again.
proc_name=$kind; case "$kind" in supervisor) proc_name=sip-edge ;; redis) proc_name=redis-server ;; esac
restarted() { [ "$kind" = worker ] || grep -q "^demo: $proc_name died (signal 9)" "$dir/demo.out"; }
for ((i = 0; i < 100 * RW_SCALE; i++)); do restarted && break; sleep 0.1; done
check "the runner logged the $kind's death" restarted
if [ "$kind" = redis ]; then
  for ((i = 0; i < 100 * RW_SCALE; i++)); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  # sip-edge reconnects on its own schedule: until then a REGISTER is answered 503.
  registered() {
    local i
    for ((i = 0; i < 20 * RW_SCALE; i++)); do register "reg2-$i" 2003 carol-demo-2003 && return 0; sleep 0.5; done
    return 1
  }
  check "a REGISTER of 2003 after Redis came back is answered 200 (within 10 s)" registered
  bound() { [ "$(redis-cli -p "$redis_port" hlen "rw:loc:sip:2003@ringway.local")" -ge 1 ]; }
  check "and written to Redis (writes resume)" bound
fi
if [ "$kind" = supervisor ]; then
  adopted() { [ "$(worker_pids | sort | tr '\n' ' ')" = "$workers" ] \
              && curl -fsS "http://127.0.0.1:$edge_http/workers" | grep -q '"adopted":true.*"adopted":true'; }
  for ((i = 0; i < 100 * RW_SCALE; i++)); do adopted && break; sleep 0.1; done
  check "the restarted supervisor adopted the running workers ($workers)" adopted
fi
case "$kind" in   # the service's HTTP port in the demo (tools/demo.sh)
  huntgroup) svc_http=$((http_base + 3)) ;; presence) svc_http=$((http_base + 2)) ;;
  calendar) svc_http=$((http_base + 7)) ;; *) svc_http= ;;
esac
if [ -n "$svc_http" ]; then
  healthy_again() { ! pgrep -s "$demo" -f "$build/services/$kind/ringway-$kind\$" | grep -qx "$victim" \
                    && curl -fsS -o /dev/null "http://127.0.0.1:$svc_http/health"; }
  for ((i = 0; i < 100 * RW_SCALE; i++)); do healthy_again && break; sleep 0.1; done
  check "the $kind started in its place answers /health" healthy_again
fi
if [ "$kind" = worker ]; then
  replaced() { ! worker_pids | grep -qx "$victim" && [ "$(worker_pids | wc -l)" -eq 2 ] \
               && curl -fsS -o /dev/null "http://127.0.0.1:$edge_http/health"; }
  for ((i = 0; i < 100 * RW_SCALE; i++)); do replaced && break; sleep 0.1; done
  check "the supervisor started another worker in its place" replaced
fi

wait "$uac"
created=$(stat_field "$dir/uac/stat.csv" 'TotalCallCreated')
completed=$(stat_field "$dir/uac/stat.csv" 'SuccessfulCall(C)')
failed_calls=$(stat_field "$dir/uac/stat.csv" 'FailedCall(C)')
pct=$(awk -v c="$created" -v m="$completed" 'BEGIN { printf "%.2f", c ? 100 * m / c : 0 }')
echo "kill_$kind: calls created $created completed $completed ($pct %), failed $failed_calls"
check "every call was created ($created of $ncalls)" [ "$created" -eq "$ncalls" ]
at_least() { awk -v p="$pct" -v m="$min_pct" 'BEGIN { exit !(p >= m) }'; }
check "at least $min_pct % of the calls completed" at_least
if [ "$failed" -ne 0 ]; then for f in "$dir"/uac/*errors.log; do [ -s "$f" ] && tail -40 "$f" >&2; done; fi

echo "kill_${kind}_test: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
