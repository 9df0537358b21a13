#!/usr/bin/env bash
# bench/lib.sh — helpers shared by the SIP benchmarks (sourced, not run): free loopback ports,
# generated users (SIPp injection files, Kamailio db_text tables, a Ringway directory import),
# starting and stopping the systems under test, and reading SIPp's statistics files.
# Users are extensions FIRST..FIRST+N-1 (default 2000..), digest user = extension, password
# "pw-<ext>", realm ringway.local. All traffic stays on 127.0.0.1.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REALM=ringway.local
BENCH_FIRST_EXT=${BENCH_FIRST_EXT:-2000}
bench_pids=()

bench_log() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }

# A port free for UDP and TCP on 127.0.0.1 (random in 20000..59999).
bench_free_port() {
  local p i
  # Under ctest the harness's picker (checks TCP and UDP, stays below the ephemeral range).
  if [ -n "${RINGWAY_FREE_PORT:-}" ] && [ -x "$RINGWAY_FREE_PORT" ]; then "$RINGWAY_FREE_PORT" 1; return; fi
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))   # 20000-31999: below the ephemeral range
    if [ -z "$(ss -Hln "sport = :$p" 2>/dev/null)" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# Wait until something listens on UDP 127.0.0.1:PORT (up to SECONDS, default 10).
bench_wait_udp() {
  local i n=$(( ${2:-10} * 10 ))
  for ((i = 0; i < n; i++)); do
    [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}

# bench_users_csv N FILE ORDER: SIPp injection file, "ext;password;[authentication ...];contact user;" per line.
bench_users_csv() {
  local n=$1 f=$2 order=${3:-SEQUENTIAL}
  awk -v n="$n" -v first="$BENCH_FIRST_EXT" -v order="$order" \
    'BEGIN { print order; for (i = 0; i < n; i++) { e = first + i
             printf "%d;pw-%d;[authentication username=%d password=pw-%d];%d;\n", e, e, e, e, e } }' >"$f"
}

# bench_storm_csv BINDINGS USERS FILE: BINDINGS registrations spread over USERS users (row i:
# user FIRST + i % USERS, contact user "b<i>"), so one user holds up to 16 bindings.
bench_storm_csv() {
  awk -v n="$1" -v u="$2" -v first="$BENCH_FIRST_EXT" 'BEGIN { print "SEQUENTIAL"
    for (i = 0; i < n; i++) { e = first + i % u
      printf "%d;pw-%d;[authentication username=%d password=pw-%d];b%d;\n", e, e, e, e, i } }' >"$3"
}

# bench_kam_db N DIR: db_text tables for bench/kamailio/kamailio.cfg.
bench_kam_db() {
  local n=$1 d=$2
  mkdir -p "$d"
  printf 'id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n' >"$d/version"
  awk -v n="$n" -v first="$BENCH_FIRST_EXT" -v realm="$BENCH_REALM" 'BEGIN {
    print "id(int,auto) username(string) domain(string) password(string) ha1(string,null) ha1b(string,null) "
    for (i = 0; i < n; i++) printf "%d:%d:%s:pw-%d::\n", i + 1, first + i, realm, first + i }' >"$d/subscriber"
}

# bench_ringway_json N FILE: a directory import (docs/directory.md), one SIP device per user.
bench_ringway_json() {
  local n=$1 f=$2
  awk -v n="$n" -v first="$BENCH_FIRST_EXT" -v realm="$BENCH_REALM" 'BEGIN {
    printf "{\n  \"realm\": \"%s\",\n  \"users\": [\n", realm
    for (i = 0; i < n; i++) {
      e = first + i
      printf "    { \"id\": \"u%d\", \"ext\": \"%d\", \"name\": \"Bench %d\", \"password\": \"pw-%d\", \"devices\": [ { \"id\": \"phone\", \"kind\": \"sip\" } ] }%s\n", e, e, e, e, (i < n - 1 ? "," : "")
    }
    print "  ]\n}" }' >"$f"
}

# Start a command in the background, remembered for bench_stop_all.
bench_spawn() { "$@" & bench_pids+=($!); }

bench_stop() {  # pid...
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

bench_stop_all() {
  local i
  for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do bench_stop "${bench_pids[i]}"; done
  bench_pids=()
}

# bench_stat FILE COLUMN: the column's value in the last row of a SIPp -trace_stat file.
bench_stat() {
  awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
                         { last = $c } END { print (last == "" ? 0 : last) + 0 }' "$1" 2>/dev/null || echo 0
}

# bench_rtt FILE: "count p50 p99 span_ms" from a SIPp -trace_rtt file (response time 1, ms).
bench_rtt() {
  awk -F';' 'NR > 1 && $3 + 0 == 1 { print $2, $1 }' "$1" 2>/dev/null | sort -g |
    awk '{ v[NR] = $1; t = $2 + 0; if (NR == 1 || t < lo) lo = t; if (t > hi) hi = t }
         END { if (NR == 0) { print 0, 0, 0, 0; exit }
               i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
               printf "%d %.3f %.3f %.0f\n", NR, v[i50], v[i99], hi - lo }'
}

# Redis' used_memory in bytes.
bench_redis_mem() { redis-cli -p "$1" info memory | awk -F: '$1 == "used_memory" { print $2 + 0 }'; }

# Resident memory of a process in kB (VmRSS), 0 when gone.
bench_rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Wait until http://127.0.0.1:PORT/health answers 200 (up to 10 s).
bench_wait_health() {
  local i
  for ((i = 0; i < 100; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/health" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# bench_redis_start DIR: a private redis-server on a free port (no persistence);
# sets BENCH_REDIS_PORT and BENCH_REDIS_PID.
bench_redis_start() {
  BENCH_REDIS_PORT=$(bench_free_port)
  mkdir -p "$1"
  redis-server --port "$BENCH_REDIS_PORT" --bind 127.0.0.1 --dir "$1" --save "" --appendonly no \
    --daemonize no --logfile "$1/redis.log" &
  BENCH_REDIS_PID=$!
  for _ in $(seq 1 100); do redis-cli -p "$BENCH_REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  bench_log "redis-server did not start"; return 1
}

# bench_ringway_start BUILD WORKDIR: router + sip-edge (Redis from bench_redis_start, directory
# already imported) with every caller on 127.0.0.1 trusted as a proxy peer, logs in WORKDIR.
# Sets BENCH_SIP_PORT, BENCH_EDGE_PID, BENCH_ROUTER_PID, BENCH_EDGE_HTTP. Extra environment for
# sip-edge comes from BENCH_EDGE_ENV (an array of NAME=VALUE), a wrapper from BENCH_EDGE_WRAP.
# With BENCH_EDGE_PROCESSES N > 1 (and RINGWAY_SIP_PROCESSES=N in BENCH_EDGE_ENV) it also waits
# for the N workers' /health (HTTP ports BENCH_EDGE_HTTP + 1 .. + N).
bench_ringway_start() {
  local build=$1 work=$2 rhttp bus
  rhttp=$(bench_free_port); bus=$(bench_free_port)
  BENCH_EDGE_HTTP=$(bench_free_port); BENCH_SIP_PORT=$(bench_free_port)
  env RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT="$BENCH_REDIS_PORT" RINGWAY_LOG_LEVEL="${BENCH_LOG_LEVEL:-warn}" \
    RINGWAY_HTTP_PORT="$rhttp" RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_INSTANCE=router-bench \
    "$build/services/router/ringway-router" 2>>"$work/router.log" &
  BENCH_ROUTER_PID=$!
  bench_wait_health "$rhttp" || { bench_log "router did not answer /health (see $work/router.log)"; return 1; }
  env RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT="$BENCH_REDIS_PORT" RINGWAY_LOG_LEVEL="${BENCH_LOG_LEVEL:-warn}" \
    RINGWAY_HTTP_PORT="$BENCH_EDGE_HTTP" RINGWAY_SIP_PORT="$BENCH_SIP_PORT" RINGWAY_SIP_ADDR=127.0.0.1 \
    RINGWAY_SIP_PEERS="bench 127.0.0.1:0 proxy" RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$bus" \
    RINGWAY_AUTH_NONCE_SECRET="${RINGWAY_AUTH_NONCE_SECRET:-$(head -c 24 /dev/urandom | base64)}" \
    RINGWAY_INSTANCE=sip-edge-bench "${BENCH_EDGE_ENV[@]}" \
    "${BENCH_EDGE_WRAP[@]}" "$build/services/sip-edge/ringway-sip-edge" 2>>"$work/sip-edge.log" &
  BENCH_EDGE_PID=$!
  bench_wait_health "$BENCH_EDGE_HTTP" && bench_wait_udp "$BENCH_SIP_PORT" 5 ||
    { bench_log "sip-edge did not start (see $work/sip-edge.log)"; return 1; }
  local i
  for ((i = 1; BENCH_EDGE_PROCESSES > 1 && i <= BENCH_EDGE_PROCESSES; i++)); do
    bench_wait_health $((BENCH_EDGE_HTTP + i)) || { bench_log "sip-edge worker $((i - 1)) did not start"; return 1; }
  done
}
BENCH_EDGE_ENV=()
BENCH_EDGE_PROCESSES=1
BENCH_EDGE_WRAP=()   # a command sip-edge runs under (bench/sip-cost.sh: valgrind --tool=callgrind)

# CPU time (user + system, ms) used so far by the processes PID... and all their descendants.
bench_tree_cpu_ms() {
  local todo=("$@") all=() p kids
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}"); all+=("$p")
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null) || true
    for k in $kids; do todo+=("$k"); done
  done
  for p in "${all[@]}"; do cat "/proc/$p/stat" 2>/dev/null; done |
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%d\n", t * 1000 / hz }'
}
