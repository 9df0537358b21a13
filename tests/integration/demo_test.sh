#!/usr/bin/env bash
# tests/integration/demo_test.sh — `make demo`'s runner as a person uses it: it comes up on
# ports chosen by environment, every service answers /health and /metrics, the CLI line the
# banner prints explains a call through the running router, a second demo on the same ports
# stops before touching anything and names them, a service killed with SIGKILL (router,
# sip-edge's supervisor, redis-server) is logged and started again while the others go on
# (sip-edge's workers adopted, not replaced; Redis's data kept), and SIGINT to its process group (Ctrl-C)
# leaves no process behind, the adopted workers included.
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}
build=${RINGWAY_BUILD_DIR:?}
fail() { echo "FAIL: $*" >&2; cat "$out" >&2; exit 1; }
# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): tools/demo.sh runs the services under it

read -r redis_port http_base bus_base sip_port < <("$RINGWAY_FREE_PORT" 4 | tr '\n' ' ')
state=$(mktemp -d)
out=$state/demo.out
export XDG_STATE_HOME=$state RINGWAY_REDIS_PORT=$redis_port RINGWAY_HTTP_PORT=$http_base \
       RINGWAY_BUS_PORT=$bus_base RINGWAY_SIP_PORT=$sip_port \
       RINGWAY_SIP_PEERS="callers 127.0.0.1:0 proxy"     # the test's SIPp calls as a trusted peer
setsid env --default-signal=INT "$top/tools/demo.sh" "$build" >"$out" 2>&1 &   # INT as at a terminal
demo=$!
trap 'kill -TERM $demo 2>/dev/null; sleep 1; pkill -KILL -s $demo 2>/dev/null; rm -rf "$state"' EXIT

for _ in $(seq 1 $((150 * RW_SCALE))); do grep -q "Ctrl-C stops everything" "$out" && break; sleep 0.1; done
grep -q "Ctrl-C stops everything" "$out" || fail "demo did not come up"

ports=$(grep -o 'http://127.0.0.1:[0-9]*/health' "$out" | sed 's/.*:\([0-9]*\)\/health/\1/')
[ -n "$ports" ] || fail "demo printed no service"
for p in $ports; do
  curl -fsS "http://127.0.0.1:$p/health" | grep -q '"status":"ok"' || fail "/health on $p"
  metrics=$(curl -fsS "http://127.0.0.1:$p/metrics") || fail "/metrics on $p"   # not piped into grep -q:
  grep -q '^# TYPE ' <<<"$metrics" || fail "/metrics on $p"                      # pipefail + early exit
done

# The gateway: the page's address and a demo login from the banner work.
grep -q "Web page   http://127.0.0.1:$http_base/" "$out" || fail "the banner prints no web page address"
login=$(sed -n 's/^  Web logins \([^ ]*\) \/ \([^ ]*\) (staff).*/{"username":"\1","password":"\2"}/p' "$out")
page=$(curl -fsS "http://127.0.0.1:$http_base/") && grep -qi "<html" <<<"$page" \
  || fail "the web page is not served on $http_base"
token=$(curl -fsS -X POST -d "$login" "http://127.0.0.1:$http_base/api/v1/login") && grep -q '"token"' <<<"$token" \
  || fail "the banner's staff login ($login) was refused"

plan=$(RINGWAY_REDIS_PORT=$redis_port "$build/tools/ringway" explain 2002 --from 2001) \
  || fail "ringway explain failed"
echo "$plan" | grep -q "sip:2002@ringway.local" || fail "explain 2002: $plan"
grep -q "2001 alice" "$out" || fail "demo accounts not printed"

cli=$(sed -n 's/^  The CLI: *//p' "$out")
[ -n "$cli" ] || fail "the banner prints no CLI command line"
plan=$(eval "$(sed "s|explain 2001|explain 2002 --from 2001|" <<<"$cli")") \
  || fail "the banner's CLI line failed: $cli"
echo "$plan" | grep -q "sip:2002@ringway.local" || fail "banner's CLI line: $plan"

# The demo's voicemail and "PSTN" answer: explain promises voicemail (configured, read from the
# banner's ringway.conf), alice's pinned school rule rings her mobile through a demo trunk, and a
# divert to voicemail reaches the demo's voicemail server.
plan=$(eval "$cli") || fail "the banner's CLI line failed: $cli"
grep -q "then voicemail" <<<"$plan" && ! grep -q "not configured" <<<"$plan" \
  || fail "explain 2001 does not promise a configured voicemail: $plan"
sc=$top/tests/integration/sip
call() {  # name callee caller: a trusted peer's call, answered, hung up by the caller
  timeout $((30 * RW_SCALE)) sipp -sf "$sc/call_uac_peer.xml" -s "$2" -key caller "$3" -i 127.0.0.1 \
    -p "$("$RINGWAY_FREE_PORT" 1)" -m 1 -nostdin -timeout $((25 * RW_SCALE))s -timeout_error \
    -trace_err -error_file "$state/$1.err" "127.0.0.1:$sip_port" >/dev/null 2>&1
}
call school 2001 +441632960500 || fail "the school's call to alice was not answered: $(cat "$state/school.err")"
grep -q "^INVITE sip:+447700900001@127.0.0.1" "$state/ringway-demo/logs/pstn-messages.log" \
  || fail "alice's mobile did not ring at the demo's PSTN"
# A divert from a day before now to 8 days after: in force at the real time and at either pinned
# instant of tests/harness/at.sh (up to a week ahead), whatever the day of the run.
now_ms=$(( $(date +%s) * 1000 ))
RINGWAY_REDIS_PORT=$redis_port "$build/tools/ringway" divert set alice voicemail $((now_ms - 86400000)) \
  $((now_ms + 8 * 86400000)) >/dev/null || fail "divert set alice voicemail"
call vm 2001 +441632960999 || fail "a call to alice diverted to voicemail was not answered: $(cat "$state/vm.err")"
grep -q "^INVITE sip:alice@127.0.0.1" "$state/ringway-demo/logs/voicemail-messages.log" \
  || fail "the demo's voicemail server got no call for alice's mailbox"

# A second demo on the same ports: refused before it touches anything, naming the ports.
second=$state/second.out
timeout 20 "$top/tools/demo.sh" "$build" >"$second" 2>&1; rc=$?
[ $rc -eq 1 ] || { cat "$second" >&2; fail "a second demo on busy ports exited $rc, not 1"; }
grep -q "tcp port $redis_port (redis; RINGWAY_REDIS_PORT) is already in use" "$second" \
  || { cat "$second" >&2; fail "the second demo did not name the Redis port"; }
grep -q "udp port $sip_port (SIP; RINGWAY_SIP_PORT) is already in use" "$second" || fail "the SIP port not named"
grep -q "imported" "$second" && fail "the second demo imported the directory"

# wait_for WHAT COMMAND...: COMMAND true within 10 s (scaled), else fail.
wait_for() {
  local what=$1 i; shift
  for ((i = 0; i < 100 * RW_SCALE; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "$what"
}
health() { curl -fsS "http://127.0.0.1:$1/health" | grep -q '"status":"ok"'; }
service_pid() {  # the running process of a service binary (not a worker)
  pgrep -s "$demo" -f "$build/services/$1/ringway-$1\$" | head -1
}
restarted_log() {  # name: the runner logged its death by signal 9 and the restart
  grep -Eq "^demo: $1 died \(signal 9\) after [0-9]+\.[0-9] s; restarting in 0\.1 s\$" "$out"
}

# The router killed: logged, started again, answers; the demo goes on.
router_pid=$(service_pid router)
[ -n "$router_pid" ] || fail "no router process"
kill -KILL "$router_pid"
wait_for "the router's death was not logged" restarted_log router
wait_for "the router did not answer /health again" health $((http_base + 1))
[ "$(service_pid router)" != "$router_pid" ] || fail "the router was not restarted"

# sip-edge's supervisor killed: its workers keep running and the new supervisor adopts them.
workers=$(curl -fsS "http://127.0.0.1:$((http_base + 4))/workers" | grep -o '"pid":[0-9]*' | cut -d: -f2 | sort | tr '\n' ' ')
[ "$(wc -w <<<"$workers")" -eq 2 ] || fail "sip-edge /workers: $workers"
sup_pid=$(service_pid sip-edge)
kill -KILL "$sup_pid"
wait_for "sip-edge's supervisor's death was not logged" restarted_log sip-edge
adopted() {
  local w; w=$(curl -fsS "http://127.0.0.1:$((http_base + 4))/workers") || return 1
  [ "$(grep -o '"pid":[0-9]*' <<<"$w" | cut -d: -f2 | sort | tr '\n' ' ')" = "$workers" ] \
    && [ "$(grep -o '"adopted":true' <<<"$w" | wc -l)" -eq 2 ]
}
# Under valgrind (make valgrind) the supervisor cannot adopt: valgrind 3.19 answers pidfd_open
# ENOSYS, so it stops the old workers ("worker_stray_stopped", "cannot watch it") and starts two
# of its own. Wrapped, the test checks that instead.
replaced() {
  local w; w=$(curl -fsS "http://127.0.0.1:$((http_base + 4))/workers") || return 1
  [ "$(grep -o '"alive":true' <<<"$w" | wc -l)" -eq 2 ] && grep -q '"event":"worker_stray_stopped"' \
    "$state/ringway-demo/logs/sip-edge.log"
}
if rw_wrapped; then
  wait_for "the new supervisor did not stop workers $workers and start two of its own" replaced
  workers=""
else
  wait_for "the new supervisor did not adopt workers $workers" adopted
fi
health $((http_base + 4)) || fail "the new supervisor is not healthy"
for p in $workers; do kill -0 "$p" 2>/dev/null || fail "worker $p died with its supervisor"; done

# redis-server killed: started again on the same data (append-only file, fsync every second).
redis-cli -p "$redis_port" set demo:test:kept yes >/dev/null || fail "redis SET"
in_aof() { grep -rqs "demo:test:kept" "$state/ringway-demo/redis/"; }
wait_for "the write did not reach the append-only file" in_aof
redis_pid=$(pgrep -s "$demo" -f "redis-server 127.0.0.1:$redis_port" | head -1)
[ -n "$redis_pid" ] || fail "no redis-server on $redis_port"
kill -KILL "$redis_pid"
wait_for "redis-server's death was not logged" restarted_log redis-server
kept() { [ "$(redis-cli -p "$redis_port" get demo:test:kept)" = yes ]; }
wait_for "redis-server restarted without its data" kept
explains() {   # the router announces itself again in the restarted Redis within its heartbeat
  local plan; plan=$(RINGWAY_REDIS_PORT=$redis_port "$build/tools/ringway" explain 2002 --from 2001) \
    && grep -q "sip:2002@ringway.local" <<<"$plan"
}
wait_for "ringway explain did not work again after the Redis restart" explains

# SIGINT to the demo's process group, as Ctrl-C at a terminal: only the runner is in it (each
# service runs in a group of its own), so the services are stopped by the runner in order and
# none is mistaken for dead and started again.
died_before=$(grep -c ' died ' "$out")
kill -INT -- -$demo
for _ in $(seq 1 $((100 * RW_SCALE))); do kill -0 $demo 2>/dev/null || break; sleep 0.1; done
kill -0 $demo 2>/dev/null && fail "demo ignored SIGINT"
sleep 0.2
left=$(ps -eo pid=,sid=,stat= | awk -v s="$demo" '$2 == s && $3 !~ /^Z/ { print $1 }')   # its session; zombies: not running
[ -z "$left" ] || fail "processes left behind: $(ps -o pid,cmd -p $left)"
for p in $workers; do grep -qs ringway-sip-edge "/proc/$p/cmdline" && fail "adopted worker $p left behind"; done
[ "$(grep -c ' died ' "$out")" -eq "$died_before" ] || fail "a service was restarted while the demo stopped"
grep -q '^demo: stopped$' "$out" || fail "the runner did not log its stop"
grep -q '"event":"stopped"' "$state/ringway-demo/logs/router.log" || fail "router did not stop cleanly"
rw_valgrind_clean "$state"/ringway-demo/logs/*.log || fail "valgrind reported errors or leaks"
trap - EXIT
rm -rf "$state"
echo "demo_test: 1 passed, 0 failed"
