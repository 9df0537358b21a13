#!/usr/bin/env bash
# bench/kill-under-load.sh [BUILD_DIR] — "no single process stops calls", measured: calls at
# RATE/s for SECS s (default 200/s for 90 s, each held HOLD_MS = 1000 then hung up by the caller)
# from a trusted SIPp caller (one UDP socket) to a registered SIPp device that answers, while one
# process of each kind is killed with SIGKILL, 15 s apart:
#   Ringway (as `make demo` runs it, tools/demo.sh restarting what dies; sip-edge with two
#   workers): router at 15 s, the sip-edge worker carrying the caller at 30 s, sip-edge's
#   supervisor at 45 s, redis-server at 60 s;
#   Kamailio (bench/kamailio/run.sh tuned, two UDP workers, as in bench/sip-cps.sh): its busiest
#   worker at 15 s.
# Prints calls created / completed per system in a table (docs/operations.md keeps one).
# Environment: RATE, SECS, HOLD_MS, KILL_EVERY (15). Needs sipp and kamailio
# (tools/install-deps.sh bench).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd) || { echo "kill-under-load: no build directory ${1:-}" >&2; exit 2; }
rate=${RATE:-200}
secs=${SECS:-90}
hold=${HOLD_MS:-1000}
every=${KILL_EVERY:-15}
ncalls=$((rate * secs))
BENCH_NAME=kill-under-load
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
command -v sipp >/dev/null || { bench_log "sipp not installed (tools/install-deps.sh bench)"; exit 1; }
command -v kamailio >/dev/null || { bench_log "kamailio not installed (tools/install-deps.sh bench)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rw-kill.XXXXXX")
cleanup() {
  bench_stop_all
  [ -n "${demo:-}" ] && { kill -TERM "$demo" 2>/dev/null; wait "$demo" 2>/dev/null; }
  if [ -n "${KEEP:-}" ]; then bench_log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
results=()

# register DIR EXT PASSWORD PROXY_PORT UAS_PORT: one digest REGISTER; true on 200.
register() {
  mkdir -p "$1"
  printf 'SEQUENTIAL\n%s;%s;[authentication username=%s password=%s];%s;\n' "$2" "$3" "$2" "$3" "$2" >"$1/users.csv"
  (cd "$1" && timeout 30 sipp -sf "$here/sip/register.xml" -inf users.csv -key uas_port "$5" -i 127.0.0.1 \
     -m 1 -nostdin -timeout 20s -trace_stat -stf stat.csv -fd 1 "127.0.0.1:$4" >out.txt 2>&1)
}

# load DIR PROXY_PORT UAS_PORT KILLS...: the device and the caller; each KILL is "SECONDS COMMAND"
# run that many seconds after the first call. Appends "created completed" to DIR/result.
load() {
  local d=$1 proxy=$2 uas=$3; shift 3
  mkdir -p "$d/uac"
  sipp -sf "$here/sip/uas.xml" -i 127.0.0.1 -p "$uas" -nostdin -buff_size 4194304 \
    -timeout "$((secs + 120))s" >"$d/uas.out" 2>&1 &
  local u=$!
  bench_wait_udp "$uas" 10 || { bench_log "the device did not start"; return 1; }
  printf 'SEQUENTIAL\n2002;\n' >"$d/callees.csv"
  # A 200 without a 180 before it is a completed call, as for any phone (the 180 is lost with
  # a proxy worker killed after forwarding the INVITE; the 200 is retransmitted).
  sed 's|<recv response="180" rtd="1"/>|<recv response="180" rtd="1" optional="true"/>|' "$here/sip/uac.xml" >"$d/uac.xml"
  (cd "$d/uac" && exec sipp -sf "$d/uac.xml" -inf "$d/callees.csv" -d "$hold" -i 127.0.0.1 \
     -r "$rate" -m "$ncalls" -l $((rate * 8 + 200)) -buff_size 4194304 -recv_timeout 5000 -nostdin \
     -timeout "$((secs + 60))s" -trace_stat -stf stat.csv -fd 1 -trace_err "127.0.0.1:$proxy" >out.txt 2>&1) &
  local c=$! t0=$SECONDS k at cmd
  for k in "$@"; do
    at=${k%% *} cmd=${k#* }
    while [ $((SECONDS - t0)) -lt "$at" ] && kill -0 "$c" 2>/dev/null; do sleep 0.2; done
    bench_log "$(date +%T) +$((SECONDS - t0)) s: $cmd"
    eval "$cmd"
  done
  wait "$c"
  kill "$u" 2>/dev/null; wait "$u" 2>/dev/null
  echo "$(bench_stat "$d/uac/stat.csv" TotalCallCreated) $(bench_stat "$d/uac/stat.csv" 'SuccessfulCall(C)')" >"$d/result"
}

# ---- Ringway under tools/demo.sh --------------------------------------------------------------
rw=$work/ringway
mkdir -p "$rw"
redis_port=$(bench_free_port); sip_port=$(bench_free_port); uas_port=$(bench_free_port)
http_base=$(bench_free_port); bus_base=$(bench_free_port)
export XDG_STATE_HOME=$rw RINGWAY_REDIS_PORT=$redis_port RINGWAY_HTTP_PORT=$http_base \
       RINGWAY_BUS_PORT=$bus_base RINGWAY_SIP_PORT=$sip_port RINGWAY_SIP_PROCESSES=2 \
       RINGWAY_SIP_PEERS="callers 127.0.0.1:0 proxy" RINGWAY_LOG_LEVEL=warn
setsid "$top/tools/demo.sh" "$build" >"$rw/demo.out" 2>&1 &
demo=$!
for _ in $(seq 1 300); do grep -q "Ctrl-C stops everything" "$rw/demo.out" && break; sleep 0.1; done
grep -q "Ctrl-C stops everything" "$rw/demo.out" || { cat "$rw/demo.out" >&2; bench_log "the demo did not come up"; exit 1; }
register "$rw/reg" 2002 bob-demo-2002 "$sip_port" "$uas_port" || { bench_log "Ringway: 2002 did not register"; exit 1; }
edge=$((http_base + 4))
busy_worker() {  # the worker that took most INVITEs (the caller's socket hashes to it)
  local a b
  a=$(curl -fsS "http://127.0.0.1:$((edge + 1))/metrics" | awk '$1 == "ringway_sip_edge_calls_offered_total" { print $2 + 0 }')
  b=$(curl -fsS "http://127.0.0.1:$((edge + 2))/metrics" | awk '$1 == "ringway_sip_edge_calls_offered_total" { print $2 + 0 }')
  curl -fsS "http://127.0.0.1:$edge/workers" | grep -o '"pid":[0-9]*' | cut -d: -f2 | sed -n "$(( ${a:-0} >= ${b:-0} ? 1 : 2 ))p"
}
load "$rw" "$sip_port" "$uas_port" \
  "$every kill -KILL \$(pgrep -f '$build/services/router/ringway-router\$')" \
  "$((every * 2)) kill -KILL \$(busy_worker)" \
  "$((every * 3)) kill -KILL \$(pgrep -f '$build/services/sip-edge/ringway-sip-edge\$')" \
  "$((every * 4)) kill -KILL \$(pgrep -f 'redis-server 127.0.0.1:$redis_port')"
kill -TERM "$demo"; wait "$demo" 2>/dev/null; demo=""
grep '^demo: .* died' "$rw/demo.out" >&2
read -r created completed <"$rw/result"
results+=("Ringway (router, sip-edge worker, sip-edge supervisor, redis-server killed; demo runner)|$created|$completed")

# ---- Kamailio ----------------------------------------------------------------------------------
km=$work/kamailio
bench_kam_db 10 "$km/db"
kport=$(bench_free_port); kuas=$(bench_free_port)
"$here/kamailio/run.sh" tuned "$kport" "$km/db" 2 >"$km/kamailio.log" 2>&1 &
kam=$!
bench_pids+=("$kam")
bench_wait_udp "$kport" 20 || { bench_log "Kamailio did not start"; exit 1; }
register "$km/reg" 2002 pw-2002 "$kport" "$kuas" || { bench_log "Kamailio: 2002 did not register"; exit 1; }
kam_busiest() {  # the Kamailio child that used most CPU (a UDP worker under this load)
  local main; main=$(pgrep -x kamailio -P "$kam" | head -1)
  ps -o pid=,time= --ppid "$main" | sort -k2 | tail -1 | awk '{ print $1 }'
}
load "$km" "$kport" "$kuas" "$every kill -KILL \$(kam_busiest)"
read -r created completed <"$km/result"
results+=("Kamailio 5.6 (one of its 2 UDP workers killed)|$created|$completed")

printf '\n%s calls/s for %s s, %s ms hold, one SIGKILL every %s s\n\n' "$rate" "$secs" "$hold" "$every"
printf '| system | calls created | completed | %% |\n|---|---:|---:|---:|\n'
for r in "${results[@]}"; do
  IFS='|' read -r name c m <<<"$r"
  printf '| %s | %s | %s | %s |\n' "$name" "$c" "$m" "$(awk -v c="$c" -v m="$m" 'BEGIN { printf "%.2f", c ? 100 * m / c : 0 }')"
done
