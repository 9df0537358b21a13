#!/usr/bin/env bash
# tests/integration/service_test.sh — the service skeleton as an operator meets it, through
# ringway-router: --help, configuration errors (exit 2, one JSON log line naming the fault),
# file + environment precedence, /health degraded without Redis, clean exit 0 on SIGTERM.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
bin=$build/services/router/ringway-router
pass=0; failed=0
check() { local what=$1; shift; if "$@"; then pass=$((pass+1)); else failed=$((failed+1)); echo "FAIL: $what" >&2; fi; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
read -r http bus dead < <("$RINGWAY_FREE_PORT" 3 | tr '\n' ' ')

out=$("$bin" --help); rc=$?
check "--help exits 0" [ $rc -eq 0 ]
check "--help lists env names" grep -q "RINGWAY_ROUTER_BIND" <<<"$out"

RINGWAY_HTTP_PORT=abc "$bin" 2>"$dir/err"; rc=$?
check "bad env exits 2" [ $rc -eq 2 ]
check "bad env logged as JSON" grep -q '"event":"config_invalid".*RINGWAY_HTTP_PORT' "$dir/err"

printf '[router]\nbind = tcp://127.0.0.1:%s\n[sip]\nprot = 5060\n' "$bus" >"$dir/bad.conf"
"$bin" -c "$dir/bad.conf" 2>"$dir/err"; rc=$?
check "unknown key exits 2" [ $rc -eq 2 ]
check "unknown key names file and line" grep -q "bad.conf:4.*sip.prot" "$dir/err"

printf '[router]\nbind = tcp://127.0.0.1:%s\n[http]\nport = 1\n[redis]\nport = %s\n' "$bus" "$dead" >"$dir/ok.conf"
# RINGWAY_WRAP (make valgrind) runs the service under valgrind.
RINGWAY_HTTP_PORT=$http ${RINGWAY_WRAP:-} "$bin" -c "$dir/ok.conf" 2>"$dir/log" &
pid=$!
ok=0
for _ in $(seq 1 300); do
  code=$(curl -s -o "$dir/health" -w '%{http_code}' "http://127.0.0.1:$http/health") && [ "$code" = 503 ] && { ok=1; break; }
  sleep 0.1
done
check "environment overrides the file; /health 503 without Redis" [ $ok -eq 1 ]
check "health says why" grep -q "redis" "$dir/health"
check "/metrics answers" bash -c "curl -fsS http://127.0.0.1:$http/metrics | grep -q '^# HELP ringway_router_decisions_total'"
check "unknown path 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/nope")" = 404 ]
check "POST is 405" [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$http/health")" = 405 ]
kill -TERM $pid
wait $pid; rc=$?
check "SIGTERM exits 0" [ $rc -eq 0 ]
check "logs are JSON lines" bash -c "grep -v '^==' '$dir/log' | grep -v '^{\"ts\":\"[0-9T:.-]*Z\",\"level\":\"[a-z]*\",\"svc\":\"router\"' | wc -l | grep -q '^0$'"
check "stop logged" grep -q '"event":"stopped"' "$dir/log"

RINGWAY_PROCESS_RT_PRIORITY=100 "$bin" 2>"$dir/err"; rc=$?
check "rt_priority above 99 exits 2" [ $rc -eq 2 ]

# process.rt_priority: every thread (libzmq's too) runs SCHED_RR at that priority, or, where
# real-time scheduling is not allowed, the refusal is logged and the service runs on.
RINGWAY_PROCESS_RT_PRIORITY=3 RINGWAY_HTTP_PORT=$http RINGWAY_ROUTER_BIND=tcp://127.0.0.1:$bus \
  RINGWAY_REDIS_PORT=$dead ${RINGWAY_WRAP:-} "$bin" 2>"$dir/rtlog" &
pid=$!
up=0
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/health")" = 503 ] && { up=1; break; }
  sleep 0.1
done
check "serves with rt_priority set" [ $up -eq 1 ]
if chrt -r 1 true 2>/dev/null; then
  rr=0; all=0
  for t in /proc/$pid/task/*; do
    all=$((all+1))
    chrt -p "${t##*/}" | tr '\n' ' ' | grep -q "SCHED_RR.*priority: 3" && rr=$((rr+1))
  done
  check "every thread is SCHED_RR 3 ($rr of $all)" [ "$all" -ge 2 -a "$rr" -eq "$all" ]
  check "rt_priority_set logged" grep -q '"event":"rt_priority_set"' "$dir/rtlog"
else
  check "rt_priority_refused logged" grep -q '"event":"rt_priority_refused"' "$dir/rtlog"
fi
kill -TERM $pid
wait $pid
check "SIGTERM exits 0 with rt_priority" [ $? -eq 0 ]

echo "service_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
