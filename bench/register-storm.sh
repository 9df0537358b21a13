#!/usr/bin/env bash
# bench/register-storm.sh — digest-authenticated REGISTERs per second, Ringway's sip-edge and
# Kamailio's registrar in the same run. SIPp (bench/sip/register.xml) keeps a fixed number of
# registrations in flight (closed loop), each REGISTER -> 401 -> REGISTER with credentials -> 200,
# until every binding is made. B bindings are spread over U users (extensions 1000.., at most
# 7,000 users: Ringway's 4-digit plan), up to 16 contacts each (both registrars allow 16).
# Prints per target: bindings made, failed, seconds, REGISTERs/s (authenticated ones, i.e.
# completed registrations), retransmissions, CPU per registration; for Ringway also Redis bytes
# per binding (INFO memory used_memory delta / bindings) and sip-edge's resident memory (VmRSS).
#
# Usage: bench/register-storm.sh [--bindings B] [--full] [--inflight N]
#                                [--targets "kamailio-tuned kamailio-default ringway"] [BUILD_DIR]
# Defaults: 10,000 bindings, 400 in flight; --full: 100,000 bindings.
set -uo pipefail
BENCH_NAME=register-storm
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
BENCH_FIRST_EXT=1000

bindings=10000 inflight=400 build=build/release targets="kamailio-tuned kamailio-default ringway"
while [ $# -gt 0 ]; do
  case "$1" in
    --bindings) bindings=$2; shift ;;
    --full) bindings=100000 ;;
    --inflight) inflight=$2; shift ;;
    --targets) targets=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "register-storm: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
command -v sipp >/dev/null || { echo "register-storm: sipp not installed" >&2; exit 1; }
users=$(( bindings < 7000 ? bindings : 7000 ))
[ $(( (bindings + users - 1) / users )) -le 16 ] || { echo "register-storm: at most 112,000 bindings" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rw-reg-storm.XXXXXX")
cleanup() { bench_stop_all; [ -n "${BENCH_KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_storm_csv "$bindings" "$users" "$work/storm.csv"
bench_kam_db "$users" "$work/kamdb"
contact_port=$(bench_free_port)   # nothing listens there: registrations only

# storm DIR PORT PID... -> prints "ok failed seconds retrans cpu_us_per_reg"
storm() {
  local d=$1 port=$2 t0 t1 cpu0 cpu1 ok
  shift 2
  cpu0=$(bench_tree_cpu_ms "$@")
  t0=$(date +%s%N)
  (cd "$d" && sipp -sf "$here/sip/register.xml" -inf "$work/storm.csv" -key uas_port "$contact_port" \
      -i 127.0.0.1 -buff_size 4194304 -p "$(bench_free_port)" -r 1000000 -l "$inflight" -m "$bindings" \
      -timeout 600s -nostdin -trace_stat -stf reg.csv -fd 1 "127.0.0.1:$port" >reg.out 2>&1)
  t1=$(date +%s%N)
  cpu1=$(bench_tree_cpu_ms "$@")
  ok=$(bench_stat "$d/reg.csv" "SuccessfulCall(C)")
  awk -v ok="$ok" -v n="$bindings" -v ns=$((t1 - t0)) -v r="$(bench_stat "$d/reg.csv" "Retransmissions(C)")" \
      -v cpu=$((cpu1 - cpu0)) \
      'BEGIN { printf "%d %d %.2f %d %d\n", ok, n - ok, ns / 1e9, r, (ok > 0 ? cpu * 1000 / ok : 0) }'
}

printf 'register storm: %d bindings over %d users, %d in flight, digest auth (MD5)\n' "$bindings" "$users" "$inflight"
printf '%-17s %9s %7s %8s %11s %8s %7s %14s %12s %s\n' target bindings failed seconds "REGISTER/s" \
  retrans cpu_us "redis_B/bind" "edge_rss_MB" load
for t in $targets; do
  d="$work/$t"; mkdir -p "$d"
  load=$(cut -d' ' -f1 /proc/loadavg)
  case "$t" in
    kamailio-tuned|kamailio-default)
      port=$(bench_free_port)
      "$here/kamailio/run.sh" "${t#kamailio-}" "$port" "$work/kamdb" >"$d/kamailio.log" 2>&1 &
      pid=$!
      bench_wait_udp "$port" 10 || { bench_log "$t did not start"; bench_stop "$pid"; continue; }
      read -r ok failed secs retr cpu < <(storm "$d" "$port" "$pid")
      bench_stop "$pid"
      mem="-" rss="-" ;;
    ringway)
      if [ ! -x "$build/services/sip-edge/ringway-sip-edge" ]; then
        bench_log "ringway: SKIPPED, $build/services/sip-edge/ringway-sip-edge is not built yet"; continue
      fi
      bench_redis_start "$d/redis" || continue
      bench_pids+=("$BENCH_REDIS_PID")
      bench_ringway_json "$users" "$d/directory.json"
      RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$BENCH_REDIS_PORT \
        "$build/tools/ringway" import "$d/directory.json" >"$d/import.log" 2>&1 ||
        { bench_log "ringway: import failed (see $d/import.log)"; continue; }
      bench_ringway_start "$build" "$d" || continue
      mem0=$(bench_redis_mem "$BENCH_REDIS_PORT")
      read -r ok failed secs retr cpu < <(storm "$d" "$BENCH_SIP_PORT" "$BENCH_EDGE_PID")
      mem1=$(bench_redis_mem "$BENCH_REDIS_PORT")
      rss=$(awk -v k="$(bench_rss_kb "$BENCH_EDGE_PID")" 'BEGIN { printf "%.1f", k / 1024 }')
      mem=$(awk -v a="$mem0" -v b="$mem1" -v n="$ok" 'BEGIN { printf "%d", (n > 0 ? (b - a) / n : 0) }')
      bench_stop "$BENCH_EDGE_PID" "$BENCH_ROUTER_PID" "$BENCH_REDIS_PID" ;;
    *) bench_log "unknown target $t"; continue ;;
  esac
  rate=$(awk -v ok="$ok" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? ok / s : 0) }')
  printf '%-17s %9d %7d %8s %11s %8d %7d %14s %12s %s\n' "$t" "$ok" "$failed" "$secs" "$rate" "$retr" \
    "$cpu" "$mem" "$rss" "$load"
done
