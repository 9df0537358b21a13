#!/usr/bin/env bash
# tests/integration/sip_torture_test.sh — throws the torture corpus (tests/integration/sip/
# torture/*.msg, RFC 4475's categories) at a real sip-edge on loopback: each message is sent
# with rw-sip-send, the status answered is checked against expected.txt, and after every
# message the edge must still answer an OPTIONS to itself with 200 (and /health with 200).
# Environment (from ctest): RINGWAY_BUILD_DIR, RINGWAY_SOURCE_DIR, RINGWAY_SIP_SEND.
# SIP_TORTURE_TARGET=HOST:PORT sends to an already running server instead (e.g. Kamailio from
# bench/kamailio/run.sh, for development); SIP_TORTURE_REPORT_ONLY=1 prints the answers without
# judging them (liveness is still checked).
# Without a built sip-edge it prints a skip line and "0 passed, 0 failed" and exits 0.
set -uo pipefail
src=${RINGWAY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${RINGWAY_BUILD_DIR:-$src/build/test}
send=${RINGWAY_SIP_SEND:-$build/tests/rw-sip-send}
corpus=$src/tests/integration/sip/torture
edge=$build/services/sip-edge/ringway-sip-edge
# shellcheck source=bench/lib.sh
. "$src/bench/lib.sh"
# shellcheck source=tests/harness/wrap.sh
. "$src/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): sip-edge runs under it
BENCH_NAME=sip_torture

[ -x "$send" ] || { echo "sip_torture: $send is not built"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rw-torture.XXXXXX")
trap 'bench_stop_all; rm -rf "$work"' EXIT
http=""
if [ -n "${SIP_TORTURE_TARGET:-}" ]; then
  host=${SIP_TORTURE_TARGET%:*} port=${SIP_TORTURE_TARGET##*:}
else
  if [ ! -x "$edge" ]; then
    echo "sip_torture: FAIL: $edge is not built"
    echo "0 passed, 1 failed"
    exit 1
  fi
  bench_redis_start "$work/redis" || exit 1
  bench_pids+=("$BENCH_REDIS_PID")
  host=127.0.0.1 port=$(bench_free_port) http=$(bench_free_port)
  env RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT="$BENCH_REDIS_PORT" RINGWAY_HTTP_PORT="$http" \
    RINGWAY_SIP_ADDR=127.0.0.1 RINGWAY_SIP_PORT="$port" RINGWAY_INSTANCE=sip-edge-torture \
    RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$(bench_free_port)" RINGWAY_LOG_LEVEL=warn \
    "${RW_WRAP[@]}" "$edge" 2>"$work/sip-edge.log" &
  edge_pid=$!
  bench_pids+=("$edge_pid")
  rw_wait_health "$http" 10 && rw_wait_udp "$port" 5 ||
    { echo "sip_torture: sip-edge did not start"; cat "$work/sip-edge.log"; exit 1; }
fi

alive() {
  local s
  s=$("$send" -w $((2000 * RW_SCALE)) "$host" "$port" "$corpus/valid_options.msg")
  case "$s" in "SIP/2.0 200 "*) ;; *) echo "    OPTIONS to the edge answered: $s"; return 1 ;; esac
  if [ -n "$http" ]; then curl -fsS -o /dev/null "http://127.0.0.1:$http/health" || return 1; fi
  if [ -n "${edge_pid:-}" ]; then kill -0 "$edge_pid" 2>/dev/null || return 1; fi
}

pass=0 fail=0
alive || { echo "sip_torture: the edge does not answer OPTIONS before the corpus"; exit 1; }
while read -r name mode want; do
  case "$name" in ''|'#'*) continue ;; esac
  case "$mode" in tcp) opt=(-t) ;; raw) opt=(-r) ;; *) opt=() ;; esac
  line=$("$send" "${opt[@]}" -w $((700 * RW_SCALE)) "$host" "$port" "$corpus/$name.msg") || line="(not sent)"
  code=none
  [[ "$line" =~ ^SIP/2\.0\ ([0-9]{3}) ]] && code=${BASH_REMATCH[1]}
  verdict=ok
  if [ -z "${SIP_TORTURE_REPORT_ONLY:-}" ] && [[ "|$want|" != *"|$code|"* ]]; then verdict="FAIL (want $want)"; fi
  if [ "$line" = "(not sent)" ]; then verdict="FAIL (could not send)"; fi
  if ! alive; then verdict="FAIL (edge not alive after it)"; fi
  printf '  %-28s %-4s %-40s %s\n' "$name" "$mode" "${line:0:40}" "$verdict"
  if [ "$verdict" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done <"$corpus/expected.txt"
if [ -n "${edge_pid:-}" ]; then
  rw_stop "$edge_pid"; rc=$?
  printf '  %-73s %s\n' "sip-edge exits 0 on SIGTERM (status $rc)" "$([ $rc -eq 0 ] && echo ok || echo FAIL)"
  if [ $rc -eq 0 ] && rw_valgrind_clean "$work/sip-edge.log"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
fi
echo "$pass passed, $fail failed"
if [ "$fail" -gt 0 ] && [ -f "$work/sip-edge.log" ]; then tail -n 30 "$work/sip-edge.log"; fi
[ "$fail" -eq 0 ]
