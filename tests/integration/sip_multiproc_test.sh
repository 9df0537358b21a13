#!/usr/bin/env bash
# tests/integration/sip_multiproc_test.sh — ringway-sip-edge with sip.processes = 2: a supervisor
# and two workers sharing one SIP port. Real redis-server, router and sip-edge; SIPp as devices
# and callers, the callers from one UDP socket per call (sipp -t un) so the kernel spreads them
# over the workers. Proves: both workers hold the SIP port (UDP and TCP); registrations and calls
# complete with no failure and both workers carried calls; MESSAGEs spread over both workers are
# all answered (responses relayed to their worker); BYEs from the called side (which land
# on whichever worker their address hashes to) complete; a worker killed with SIGKILL is
# restarted and calls go on; SIGTERM to the supervisor stops everything with exit code 0.
# With sip.steer_responses (the default) each worker learns its socket index by probes and the
# reuseport program hands it the responses to its own requests: none need a relay; with
# sip.spread_requests (the default) it spreads one sender's requests over both workers by their
# branch. With SIP_MULTIPROC_STEER=0 (ctest's integration.sip_multiproc_relay_test) both are off:
# the callee's responses reach their worker by the relay, one sender's calls reach one worker.
# sip-edge is not run under RINGWAY_WRAP here: its workers are exec'd without the wrapper.
set -uo pipefail
steer=${SIP_MULTIPROC_STEER:-1}
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
sc=$top/tests/integration/sip
bsc=$top/bench/sip
true_if() { [ "$1" -eq 1 ]; }    # check "what" true_if $(( a == b && c > 0 ))

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport bus sip uas dev < <("$RINGWAY_FREE_PORT" 5 | tr '\n' ' ')
# The supervisor's HTTP port and the two after it (the workers': http.port + 1 + I).
for _ in $(seq 1 20); do
  http=$("$RINGWAY_FREE_PORT" 1)
  [ -z "$(ss -Hltn "( sport = :$((http + 1)) or sport = :$((http + 2)) )")" ] && break
done
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
users=20
awk -v n=$users 'BEGIN { printf "{ \"realm\": \"ringway.local\", \"users\": [\n"
  for (i = 0; i < n; i++) { e = 2000 + i
    printf "  { \"id\": \"u%d\", \"ext\": \"%d\", \"password\": \"pw-%d\", \"devices\": [ { \"id\": \"phone\", \"kind\": \"sip\" } ] }%s\n", e, e, e, (i < n - 1 ? "," : "") }
  print "] }" }' >"$dir/dir.json"
"$build/tools/ringway" import "$dir/dir.json" >/dev/null || { echo "FAIL: import"; exit 1; }
awk -v n=$((users - 1)) 'BEGIN { print "SEQUENTIAL"
  for (i = 0; i < n; i++) { e = 2000 + i; printf "%d;pw-%d;[authentication username=%d password=pw-%d];%d;\n", e, e, e, e, e } }' >"$dir/users.csv"
awk -v n=$((users - 1)) 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < n; i++) printf "%d;\n", 2000 + i }' >"$dir/callees.csv"

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
pids+=($!); rw_wait_tcp "$bus"

RINGWAY_SIP_STEER_RESPONSES=$([ "$steer" = 1 ] && echo true || echo false) \
RINGWAY_SIP_SPREAD_REQUESTS=$([ "$steer" = 1 ] && echo true || echo false) \
RINGWAY_HTTP_PORT=$http RINGWAY_SIP_PORT=$sip RINGWAY_SIP_PROCESSES=2 RINGWAY_INSTANCE=edge \
RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" RINGWAY_SIP_PEERS="callers 127.0.0.1:0 proxy" \
  "$build/services/sip-edge/ringway-sip-edge" 2>>"$dir/edge.log" &
edge_pid=$!; pids+=("$edge_pid")
rw_wait_health "$http" 10
check "supervisor /health ok (both workers alive)" curl -fsS "http://127.0.0.1:$http/health"
check "worker 0 /health" rw_wait_health $((http + 1))
check "worker 1 /health" rw_wait_health $((http + 2))

worker_pids() { curl -fsS "http://127.0.0.1:$http/workers" | grep -o '"pid":[0-9]*' | cut -d: -f2 | sort; }
port_pids() {  # proto flag (u/t): the pids holding the SIP port
  ss -Hl"$1"np "sport = :$sip" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}
two_workers_hold_port() {
  local w u t; w=$(worker_pids | tr '\n' ' '); u=$(port_pids u | tr '\n' ' '); t=$(port_pids t | tr '\n' ' ')
  if [ "$(wc -w <<<"$w")" -eq 2 ] && [ "$u" = "$w" ] && [ "$t" = "$w" ]; then return 0; fi
  echo "workers: $w udp: $u tcp: $t" >&2; return 1
}
check "ss: two processes on the SIP port, UDP and TCP, and they are the workers" two_workers_hold_port
for p in $(worker_pids); do
  check "worker $p is the supervisor's child" [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$edge_pid" ]
done
check "log lines carry the worker's instance" grep -q '"inst":"edge-w1"' "$dir/edge.log"

metric() {  # port name -> value (0 when absent)
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}
sipp_ok() {  # name: SIPp's final successful / failed counts from its stat file
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i }; next }
             { ok = $s; bad = $f } END { print ok + 0, bad + 0 }' "$dir/$1/stat.csv"
}
run_sipp() {  # name, args...: sipp with a stat file in $dir/name
  local name=$1; shift
  mkdir -p "$dir/$name"
  (cd "$dir/$name" && timeout 60 sipp -nostdin -max_socket 1000 -timeout 40s -trace_stat -stf stat.csv -fd 1 -trace_err "$@" >out.txt 2>&1)
}

# 1. REGISTER from one socket per registration: the Contact of users 2000..2018 is the load UAS
#    (2019 is the device that hangs up, below).
run_sipp reg -sf "$bsc/register.xml" -inf "$dir/users.csv" -key uas_port "$uas" -t un -i 127.0.0.1 \
  -r 50 -m $((users - 1)) "127.0.0.1:$sip"
read -r ok bad < <(sipp_ok reg)
check "$((users - 1)) REGISTERs with digest auth from as many sockets: $ok ok, $bad failed" \
  true_if $(( ok == users - 1 && bad == 0 ))

# 2. Calls from one socket per call, answered by one UAS standing for every device.
calls() {  # name count -> 0 when every call completed
  local name=$1 n=$2
  timeout 90 sipp -sf "$bsc/uas.xml" -i 127.0.0.1 -p "$uas" -nostdin -timeout 60s >"$dir/uas-$name.out" 2>&1 &
  local u=$!
  rw_wait_udp "$uas" 5
  run_sipp "$name" -sf "$bsc/uac.xml" -inf "$dir/callees.csv" -d 50 -t un -i 127.0.0.1 -r 40 -m "$n" "127.0.0.1:$sip"
  kill "$u" 2>/dev/null; wait "$u" 2>/dev/null
  read -r ok bad < <(sipp_ok "$name")
  echo "$name: $ok of $n calls completed, $bad failed"
  [ "$ok" -eq "$n" ] && [ "$bad" -eq 0 ]
}
counts() {  # offered and answered per worker: "o0 o1 a0 a1"
  echo "$(metric $((http + 1)) ringway_sip_edge_calls_offered_total) $(metric $((http + 2)) ringway_sip_edge_calls_offered_total)" \
       "$(metric $((http + 1)) ringway_sip_edge_calls_answered_total) $(metric $((http + 2)) ringway_sip_edge_calls_answered_total)"
}
# Each worker's socket index in the port's group, learnt by its probes (-1: unknown).
indices_learnt() {
  local i j
  for _ in $(seq 1 50); do
    i=$(metric $((http + 1)) ringway_sip_edge_steer_index); j=$(metric $((http + 2)) ringway_sip_edge_steer_index)
    [ "$i" -ge 0 ] && [ "$j" -ge 0 ] && [ "$i" -ne "$j" ] && return 0
    sleep 0.1
  done
  echo "steer_index: worker 0 $i, worker 1 $j" >&2
  return 1
}
if [ "$steer" = 1 ]; then
  check "each worker learnt its own socket index in the SIP port's group" indices_learnt
fi
read -r o0 o1 a0 a1 < <(counts)
check "200 calls from many source ports: all complete" calls load1 200
read -r p0 p1 b0 b1 < <(counts)
w0=$((p0 - o0)) w1=$((p1 - o1)) n0=$((b0 - a0)) n1=$((b1 - a1))
echo "calls offered: worker 0 $w0, worker 1 $w1; answered: worker 0 $n0, worker 1 $n1"
check "both workers carried calls ($w0 + $w1 = 200)" true_if $(( w0 > 0 && w1 > 0 && w0 + w1 == 200 ))
# The callee (one SIPp socket) sends every response from one address, so the kernel hands them
# all to one worker; that worker relays the other's responses to it (their Via branch names the
# worker). Without the relay the other worker would forward them as strays: the caller would
# still see its call complete, but the owner would never count the call answered.
check "each worker saw the answer of every call it forwarded" true_if $(( n0 == w0 && n1 == w1 ))
r0=$(metric $((http + 1)) ringway_sip_edge_responses_relayed_total)
r1=$(metric $((http + 2)) ringway_sip_edge_responses_relayed_total)
echo "responses relayed: worker 0 ${r0:-0}, worker 1 ${r1:-0}"
if [ "$steer" = 1 ]; then
  # 200 calls, two responses each (180, 200) from one address: half of them would need a relay.
  check "the callee's responses went straight to their worker (relayed ${r0:-0} + ${r1:-0})" \
    true_if $(( ${r0:-0} + ${r1:-0} <= 4 ))
else
  check "responses that reached the wrong worker were relayed to the right one" true_if $(( ${r0:-0} + ${r1:-0} > 0 ))
fi

# 2b. MESSAGEs (forward.c) from one socket each, to 2000's registration (the same UAS): both
#     workers forward them, the UAS's answers all land on one worker and reach the other by the
#     relay (the legs' Via branches name their worker), so every MESSAGE gets its 200.
sed -e 's/\[method\]/MESSAGE/g' -e 's/\[status\]/200/g' "$sc/uac_request.xml" >"$dir/uac_message.xml"
sed -e 's/\[method\]/MESSAGE/g' -e 's/\[status\]/200/g' "$sc/uas_request.xml" >"$dir/uas_message.xml"
timeout 60 sipp -sf "$dir/uas_message.xml" -i 127.0.0.1 -p "$uas" -m 40 -nostdin -timeout 40s >"$dir/uas-msg.out" 2>&1 &
u=$!
rw_wait_udp "$uas" 5
f0=$(metric $((http + 1)) ringway_sip_edge_requests_forwarded_total)
f1=$(metric $((http + 2)) ringway_sip_edge_requests_forwarded_total)
rl=$(( $(metric $((http + 1)) ringway_sip_edge_responses_relayed_total) + $(metric $((http + 2)) ringway_sip_edge_responses_relayed_total) ))
run_sipp messages -sf "$dir/uac_message.xml" -s 2000 -t un -i 127.0.0.1 -r 20 -m 40 "127.0.0.1:$sip"
wait $u; uas_rc=$?
read -r ok bad < <(sipp_ok messages)
f0=$(( $(metric $((http + 1)) ringway_sip_edge_requests_forwarded_total) - f0 ))
f1=$(( $(metric $((http + 2)) ringway_sip_edge_requests_forwarded_total) - f1 ))
echo "MESSAGEs forwarded: worker 0 $f0, worker 1 $f1"
check "40 MESSAGEs from many source ports: all answered 200 ($ok ok, $bad failed)" true_if $(( ok == 40 && bad == 0 ))
check "the UAS got all 40 with Max-Forwards 69" [ "$uas_rc" -eq 0 ]
check "both workers forwarded MESSAGEs ($f0 + $f1 = 40)" true_if $(( f0 > 0 && f1 > 0 && f0 + f1 == 40 ))
rl=$(( $(metric $((http + 1)) ringway_sip_edge_responses_relayed_total) + $(metric $((http + 2)) ringway_sip_edge_responses_relayed_total) - rl ))
if [ "$steer" = 1 ]; then
  check "the answers for each worker's MESSAGEs went straight to it (relayed $rl)" true_if $(( rl == 0 ))
else
  check "the answers for one worker's MESSAGEs were relayed to it ($rl)" true_if $(( rl >= (f0 < f1 ? f0 : f1) && rl > 0 ))
fi

# 2c. One sender (a trunk, an SBC: one socket for every call and registration). With
#     sip.spread_requests (on with steering here) the reuseport program spreads its requests
#     over both workers by their branch; without it the kernel's hash of its address gives them
#     all to one worker. Digest REGISTERs from that socket complete either way (a challenge and
#     the REGISTER answering it may meet different workers: the nonce is checked in Redis).
run_sipp reg1 -sf "$bsc/register.xml" -inf "$dir/users.csv" -key uas_port "$uas" -i 127.0.0.1 \
  -r 50 -m $((users - 1)) "127.0.0.1:$sip"
read -r ok bad < <(sipp_ok reg1)
check "$((users - 1)) REGISTERs with digest auth from one socket: $ok ok, $bad failed" \
  true_if $(( ok == users - 1 && bad == 0 ))
one_socket_calls() {  # name count -> 0 when every call completed (the caller: one socket)
  local name=$1 n=$2
  timeout 90 sipp -sf "$bsc/uas.xml" -i 127.0.0.1 -p "$uas" -nostdin -timeout 60s >"$dir/uas-$name.out" 2>&1 &
  local u=$!
  rw_wait_udp "$uas" 5
  run_sipp "$name" -sf "$bsc/uac.xml" -inf "$dir/callees.csv" -d 50 -i 127.0.0.1 -r 40 -m "$n" "127.0.0.1:$sip"
  kill "$u" 2>/dev/null; wait "$u" 2>/dev/null
  read -r ok bad < <(sipp_ok "$name")
  echo "$name: $ok of $n calls completed, $bad failed"
  [ "$ok" -eq "$n" ] && [ "$bad" -eq 0 ]
}
read -r o0 o1 a0 a1 < <(counts)
check "100 calls from one socket: all complete" one_socket_calls trunk 100
read -r p0 p1 b0 b1 < <(counts)
w0=$((p0 - o0)) w1=$((p1 - o1)) n0=$((b0 - a0)) n1=$((b1 - a1))
echo "calls from one socket offered: worker 0 $w0, worker 1 $w1; answered: worker 0 $n0, worker 1 $n1"
check "each worker saw the answer of every call from one socket it forwarded" true_if $(( n0 == w0 && n1 == w1 && w0 + w1 == 100 ))
if [ "$steer" = 1 ]; then
  check "one sender's calls were spread over both workers (worker 0: $w0 of 100)" true_if $(( w0 >= 20 && w1 >= 20 ))
else
  check "without spreading one sender's calls all reached one worker (worker 0: $w0 of 100)" true_if $(( w0 == 0 || w1 == 0 ))
fi

# 3. The called side hangs up. Its BYEs all come from one address and so reach one worker,
#    while the INVITEs were spread over both: the other worker's calls end by a BYE handled by
#    a process that never saw their INVITE (Record-Route, no dialog state).
run_sipp devreg -sf "$sc/call_register.xml" -s 2019 -au 2019 -ap pw-2019 -i 127.0.0.1 -p "$dev" -m 1 "127.0.0.1:$sip"
read -r ok bad < <(sipp_ok devreg)
check "the hanging-up device registered" [ "$ok" -eq 1 ]
timeout 60 sipp -sf "$sc/uas_answer_bye.xml" -i 127.0.0.1 -p "$dev" -m 20 -nostdin -timeout 40s \
  -trace_err -error_file "$dir/dev.err" >"$dir/dev.out" 2>&1 &
u=$!
rw_wait_udp "$dev" 5
w0a=$(metric $((http + 1)) ringway_sip_edge_calls_offered_total)
run_sipp calleebye -sf "$sc/call_uac_peer_callee_bye.xml" -s 2019 -key caller 3000 -t un -i 127.0.0.1 \
  -r 10 -m 20 "127.0.0.1:$sip"
wait $u; dev_rc=$?
w0=$(( $(metric $((http + 1)) ringway_sip_edge_calls_offered_total) - w0a ))
read -r ok bad < <(sipp_ok calleebye)
check "20 calls ended by the callee's BYE: callers got the BYE ($ok ok, $bad failed)" true_if $(( ok == 20 && bad == 0 ))
check "the callee got 200 for every BYE" [ "$dev_rc" -eq 0 ]
check "those INVITEs were spread over both workers (worker 0: $w0 of 20)" true_if $(( w0 > 0 && w0 < 20 ))

# 4. SIGKILL one worker: the supervisor starts another in its place; calls go on.
old=$(worker_pids | head -1)
kill -KILL "$old"
restarted() {
  for _ in $(seq 1 50); do
    [ "$(metric "$http" ringway_sip_edge_worker_restarts_total)" -ge 1 ] && curl -fsS -o /dev/null "http://127.0.0.1:$http/health" \
      && ! worker_pids | grep -qx "$old" && return 0
    sleep 0.1
  done
  return 1
}
check "killed worker $old restarted, supervisor healthy again" restarted
check "/metrics: 1 restart, 2 workers alive" \
  true_if $(( $(metric "$http" ringway_sip_edge_worker_restarts_total) == 1 && $(metric "$http" ringway_sip_edge_workers_alive) == 2 ))
for i in 1 2; do rw_wait_health $((http + i)) >/dev/null; done
check "ss: two processes on the SIP port again" two_workers_hold_port
if [ "$steer" = 1 ]; then
  # The killed worker's socket left the group and its place went to the last one: the indices
  # moved, and the next probe round (1 s) finds them again.
  check "after the restart each worker learnt its socket index again" indices_learnt
fi
check "100 calls after the restart: all complete" calls load2 100

# 5. SIGTERM to the supervisor: workers stop first, it exits 0, nothing is left on the port.
wpids=$(worker_pids)
rw_stop "$edge_pid"; rc=$?
check "supervisor exits 0 on SIGTERM" [ $rc -eq 0 ]
left=""; for p in $wpids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "no worker left behind" [ -z "$left" ]
check "nothing holds the SIP port" [ -z "$(ss -Hlun "sport = :$sip")" ]
check "both workers logged a clean stop" [ "$(grep -c '"event":"worker_stopped".*"exit_code":0' "$dir/edge.log")" -eq 2 ]

echo "sip_multiproc_test: $pass passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 40 "$dir/edge.log" >&2; fi
[ "$failed" -eq 0 ]
