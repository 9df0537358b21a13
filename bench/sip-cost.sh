#!/usr/bin/env bash
# bench/sip-cost.sh — sip-edge's CPU cost per call in instructions, independent of the load on
# the machine: redis-server, ringway-router and ringway-sip-edge (under valgrind's callgrind)
# from BUILD_DIR, sip-edge as one process; SIPp registers user 2000's device with digest, places
# 200 warm-up calls, the counters are zeroed, then CALLS calls at a low rate (the calls of
# sip-cps.sh: bench/sip/call-uac.xml and call-uas.xml, INVITE -> 180 -> 200 -> ACK -> BYE from a
# trusted peer) and the counters are dumped: instructions per call = Ir / calls placed, sip-edge
# only (router and Redis are not counted). The callgrind file is kept (--out DIR) for
# callgrind_annotate.
#
# Usage: bench/sip-cost.sh [--calls N] [--rate R] [--out DIR] [BUILD_DIR]
# Defaults: 2000 calls at 200/s, BUILD_DIR build/release.
set -uo pipefail
BENCH_NAME=sip-cost
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

users=1 calls=2000 rate=200 out="" build=build/release
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls=$2; shift ;;
    --rate) rate=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "sip-cost: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
for c in sipp valgrind callgrind_control; do
  command -v "$c" >/dev/null || { echo "sip-cost: $c not installed" >&2; exit 1; }
done
[ -x "$build/services/sip-edge/ringway-sip-edge" ] || { echo "sip-cost: $build has no sip-edge" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rw-sip-cost.XXXXXX")
out=${out:-$work}
mkdir -p "$out"
cleanup() { bench_stop_all; [ -n "${BENCH_KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_users_csv "$users" "$work/users.csv" SEQUENTIAL
bench_redis_start "$work/redis" || exit 1
bench_pids+=("$BENCH_REDIS_PID")
bench_ringway_json "$users" "$work/directory.json"
RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$BENCH_REDIS_PORT \
  "$build/tools/ringway" import "$work/directory.json" >"$work/import.log" 2>&1 || { echo "sip-cost: import failed" >&2; exit 1; }

uas=$(bench_free_port)
sipp -sf "$here/sip/call-uas.xml" -i 127.0.0.1 -p "$uas" -nostdin -buff_size 4194304 >"$work/uas.out" 2>&1 &
bench_pids+=($!)
bench_wait_udp "$uas" 5 || { echo "sip-cost: the UAS did not start" >&2; exit 1; }
BENCH_EDGE_WRAP=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p")
bench_ringway_start "$build" "$work" || exit 1
bench_pids+=("$BENCH_EDGE_PID" "$BENCH_ROUTER_PID")
(cd "$work" && sipp -sf "$here/sip/register.xml" -inf "$work/users.csv" -key uas_port "$uas" -i 127.0.0.1 \
  -p "$(bench_free_port)" -r 100 -m "$users" -timeout 120s -nostdin -trace_stat -stf reg.csv -fd 1 \
  "127.0.0.1:$BENCH_SIP_PORT" >reg.out 2>&1)
ok=$(bench_stat "$work/reg.csv" "SuccessfulCall(C)")
[ "$ok" -eq "$users" ] || { echo "sip-cost: only $ok of $users registered" >&2; exit 1; }
# Warm-up calls (caches, first allocations), then count.
(cd "$work" && sipp -sf "$here/sip/call-uac.xml" -s "$BENCH_FIRST_EXT" -d 20 -i 127.0.0.1 -p "$(bench_free_port)" \
  -r "$rate" -m 200 -timeout 120s -nostdin "127.0.0.1:$BENCH_SIP_PORT" >warm.out 2>&1)
callgrind_control -z "$BENCH_EDGE_PID" >/dev/null 2>&1
(cd "$work" && sipp -sf "$here/sip/call-uac.xml" -s "$BENCH_FIRST_EXT" -d 20 -i 127.0.0.1 -p "$(bench_free_port)" \
  -r "$rate" -m "$calls" -timeout 300s -nostdin -trace_stat -stf uac.csv -fd 1 "127.0.0.1:$BENCH_SIP_PORT" >uac.out 2>&1)
sleep 1   # the last BYEs' transactions
callgrind_control -d "$BENCH_EDGE_PID" >/dev/null 2>&1
sleep 1
done_calls=$(bench_stat "$work/uac.csv" "SuccessfulCall(C)")
offered=$(bench_stat "$work/uac.csv" "OutgoingCall(C)")
file=$(ls -t "$out"/callgrind.out.* 2>/dev/null | head -1)
ir=$(awk '/^summary:/ { print $2 }' "$file")
echo "sip-edge: $offered calls placed at $rate/s, $done_calls completed; $ir instructions; $((ir / (offered > 0 ? offered : 1))) per call placed"
echo "profile: $file (callgrind_annotate $file)"
