#!/usr/bin/env bash
# tests/integration/sip_scan_test.sh — a SIP scanner (sipvicious, Debian) against a real sip-edge
# on loopback. 1) svwar walks extensions 1990-2019 (2000-2004 exist) with REGISTER and with
# INVITE: it must not single out the real ones (it reports none, or every one it tried).
# 2) svcrack guesses passwords for 2001: none is found, and afterwards a REGISTER from the same
# address is no longer challenged (401) but refused (403/503/429): the source is locked out
# after auth.fail_limit failures (set to 5 here).
# Environment (from ctest): RINGWAY_BUILD_DIR, RINGWAY_SOURCE_DIR, RINGWAY_SIP_SEND.
# SIP_SCAN_TARGET=HOST:PORT scans an already running server instead (development).
# Without a built sip-edge it prints a skip line and "0 passed, 0 failed" and exits 0.
set -uo pipefail
src=${RINGWAY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${RINGWAY_BUILD_DIR:-$src/build/test}
send=${RINGWAY_SIP_SEND:-$build/tests/rw-sip-send}
edge=$build/services/sip-edge/ringway-sip-edge
# shellcheck source=bench/lib.sh
. "$src/bench/lib.sh"
# shellcheck source=tests/harness/wrap.sh
. "$src/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): sip-edge runs under it
BENCH_NAME=sip_scan

for t in svwar svcrack; do
  command -v "$t" >/dev/null || { echo "sip_scan: $t missing (tools/install-deps.sh test installs sipvicious)"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/rw-scan.XXXXXX")
trap 'bench_stop_all; rm -rf "$work"' EXIT
if [ -n "${SIP_SCAN_TARGET:-}" ]; then
  host=${SIP_SCAN_TARGET%:*} port=${SIP_SCAN_TARGET##*:}
else
  if [ ! -x "$edge" ]; then
    echo "sip_scan: FAIL: $edge is not built"
    echo "0 passed, 1 failed"
    exit 1
  fi
  bench_redis_start "$work/redis" || exit 1
  bench_pids+=("$BENCH_REDIS_PID")
  BENCH_FIRST_EXT=2000 bench_ringway_json 5 "$work/directory.json"
  RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$BENCH_REDIS_PORT \
    "$build/tools/ringway" import "$work/directory.json" >"$work/import.log" 2>&1 ||
    { echo "sip_scan: import failed"; cat "$work/import.log"; exit 1; }
  host=127.0.0.1 port=$(bench_free_port) http=$(bench_free_port)
  env RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT="$BENCH_REDIS_PORT" RINGWAY_HTTP_PORT="$http" \
    RINGWAY_SIP_ADDR=127.0.0.1 RINGWAY_SIP_PORT="$port" RINGWAY_INSTANCE=sip-edge-scan \
    RINGWAY_AUTH_FAIL_LIMIT=5 RINGWAY_AUTH_FAIL_WINDOW_S=60 RINGWAY_AUTH_LOCKOUT_S=60 \
    RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$(bench_free_port)" RINGWAY_LOG_LEVEL=warn \
    "${RW_WRAP[@]}" "$edge" 2>"$work/sip-edge.log" &
  edge_pid=$!
  bench_pids+=($edge_pid)
  rw_wait_health "$http" 10 && rw_wait_udp "$port" 5 ||
    { echo "sip_scan: sip-edge did not start"; cat "$work/sip-edge.log"; exit 1; }
fi

pass=0 fail=0
check() {  # name condition-status
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "  ok    $1"; else fail=$((fail + 1)); echo "  FAIL  $1"; fi
}

# 1) enumeration: the extensions svwar reports, for REGISTER and INVITE
for m in REGISTER INVITE; do
  timeout 120 svwar -m "$m" -e 1990-2019 -P "$(bench_free_port)" -b 127.0.0.1 -t 0.05 --force \
    -p "$port" "$host" >"$work/svwar-$m.out" 2>&1
  found=$(grep -oE '^\| *[0-9]{4} +\|' "$work/svwar-$m.out" | grep -oE '[0-9]{4}' | sort -u | tr '\n' ' ')
  n=$(wc -w <<<"$found")
  echo "  svwar $m reported ${n} extension(s): ${found:-none}"
  [ "$n" -eq 0 ] || [ "$n" -eq 30 ]
  check "svwar -m $m cannot tell which extensions exist" $?
done

# 2) password guessing, then lockout of the source address
seq 1 40 >"$work/dict.txt"
timeout 120 svcrack -u 2001 -d "$work/dict.txt" -P "$(bench_free_port)" -b 127.0.0.1 -t 0.05 \
  -p "$port" "$host" >"$work/svcrack.out" 2>&1
if grep -qE '^\| *2001 +\| *[0-9]+' "$work/svcrack.out"; then r=1; else r=0; fi
check "svcrack finds no password for 2001" $r
cat >"$work/register.msg" <<'EOF'
REGISTER sip:ringway.local SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK@RAND@;rport
Max-Forwards: 70
From: <sip:2001@ringway.local>;tag=@RAND@
To: <sip:2001@ringway.local>
Call-ID: @RAND@@scan
CSeq: 1 REGISTER
Contact: <sip:2001@127.0.0.1:9>
Authorization: Digest username="2001", realm="ringway.local", nonce="0", uri="sip:ringway.local", response="00000000000000000000000000000000"
Content-Length: 0

EOF
line=$("$send" -w $((1500 * RW_SCALE)) "$host" "$port" "$work/register.msg")
echo "  a REGISTER after the guessing was answered: $line"
[[ "$line" =~ ^SIP/2\.0\ (403|503|429) ]]
check "the guessing source is locked out (403/503/429, not 401)" $?
if [ -n "${edge_pid:-}" ]; then
  rw_stop "$edge_pid"; rc=$?
  [ $rc -eq 0 ] && rw_valgrind_clean "$work/sip-edge.log"
  check "sip-edge exits 0 on SIGTERM, no valgrind report (status $rc)" $?
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
