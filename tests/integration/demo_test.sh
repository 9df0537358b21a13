#!/usr/bin/env bash
# tests/integration/demo_test.sh — `make demo`'s runner as a person uses it: it comes up on
# ports chosen by environment, every service answers /health and /metrics, the CLI explains a
# call through the running router, and SIGTERM (as Ctrl-C) leaves no process behind.
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
       RINGWAY_BUS_PORT=$bus_base RINGWAY_SIP_PORT=$sip_port
setsid "$top/tools/demo.sh" "$build" >"$out" 2>&1 &
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

plan=$(RINGWAY_REDIS_PORT=$redis_port "$build/tools/ringway" explain 2002 --from 2001) \
  || fail "ringway explain failed"
echo "$plan" | grep -q "sip:2002@ringway.local" || fail "explain 2002: $plan"
grep -q "2001 alice" "$out" || fail "demo accounts not printed"

pgid=$demo
kill -TERM $demo
for _ in $(seq 1 $((100 * RW_SCALE))); do kill -0 $demo 2>/dev/null || break; sleep 0.1; done
kill -0 $demo 2>/dev/null && fail "demo ignored SIGTERM"
sleep 0.2
left=$(pgrep -g "$pgid" || true)
[ -z "$left" ] || fail "processes left behind: $(ps -o pid,cmd -p $left)"
grep -q '"event":"stopped"' "$state/ringway-demo/logs/router.log" || fail "router did not stop cleanly"
rw_valgrind_clean "$state"/ringway-demo/logs/*.log || fail "valgrind reported errors or leaks"
trap - EXIT
rm -rf "$state"
echo "demo_test: 1 passed, 0 failed"
