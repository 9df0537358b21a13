# tests/harness/wrap.sh — sourced by the shell integration tests: check() and a private
# redis-server (rw_redis_start) for all of them, and for those that start Ringway services
# the shell side of RINGWAY_WRAP (tests/harness/proc.c is the C side). With
# RINGWAY_WRAP="valgrind --error-exitcode=99 ..." (`make valgrind`) every service a test starts
# runs as "${RW_WRAP[@]}" SERVICE ..., its waits are RW_SCALE times longer (default 10,
# RINGWAY_WRAP_SCALE overrides) and a service must exit 0 on SIGTERM: valgrind's error exit
# code (a memory error or a leak) fails the test, and so does a valgrind report in a log
# (rw_valgrind_clean: processes a service execs, such as sip-edge's workers under
# --trace-children, report there). Without RINGWAY_WRAP nothing changes.

RW_WRAP=()
RW_SCALE=1
if [ -n "${RINGWAY_WRAP:-}" ]; then
  read -r -a RW_WRAP <<<"$RINGWAY_WRAP"
  RW_SCALE=${RINGWAY_WRAP_SCALE:-10}
fi

# True when services run under a wrapper (valgrind).
rw_wrapped() { [ ${#RW_WRAP[@]} -gt 0 ]; }

# rw_secs N: N seconds, scaled for the wrapper.
rw_secs() { echo $(( $1 * RW_SCALE )); }

# rw_wait_health PORT [SECONDS=5]: until http://127.0.0.1:PORT/health answers 200 (scaled).
rw_wait_health() {
  local i n=$(( ${2:-5} * 10 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/health" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# rw_wait_tcp PORT [SECONDS=5]: until something listens on TCP 127.0.0.1:PORT (scaled).
rw_wait_tcp() {
  local i n=$(( ${2:-5} * 10 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}

# rw_wait_udp PORT [SECONDS=5]: until a UDP socket is bound to 127.0.0.1:PORT (scaled), e.g. a
# SIPp UAS just started in the background (a fixed sleep races a loaded machine).
rw_wait_udp() {
  local i n=$(( ${2:-5} * 10 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do
    [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  return 1
}

# rw_stop PID: SIGTERM, then up to 10 s (scaled) for it to exit; returns its exit status
# (valgrind's --error-exitcode when it found an error or a leak), 124 when it had to be
# killed. PID must be a child of the calling shell.
rw_stop() {
  local pid=$1 i n=$(( 100 * RW_SCALE ))
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
  for ((i = 0; i < n; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
  fi
  wait "$pid" 2>/dev/null
}

# rw_valgrind_clean LOG...: no valgrind report ("==PID== ..." lines) in the logs; prints them
# when there is one. Always true without a wrapper.
rw_valgrind_clean() {
  rw_wrapped || return 0
  if grep -l '^==[0-9]*==' "$@" >/dev/null 2>&1; then
    grep -h -A3 '^==[0-9]*==' "$@" | head -60 >&2
    return 1
  fi
  return 0
}

# check WHAT COMMAND...: runs COMMAND and counts it in pass or failed, saying which.
pass=0; failed=0
check() {
  local what=$1; shift
  if "$@"; then pass=$((pass+1)); echo "ok: $what"; else failed=$((failed+1)); echo "FAIL: $what" >&2; fi
}

# rw_redis_start PORT DIR: a private redis-server on 127.0.0.1:PORT in the background (no
# persistence; its log in DIR/redis.log), its pid in RW_REDIS_PID; true once it answers PING
# (5 s, scaled).
rw_redis_start() {
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --dir "$2" \
    --logfile "$2/redis.log" >/dev/null 2>&1 &
  RW_REDIS_PID=$!
  local i n=$(( 50 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}

# rw_workdir: a temporary directory in $dir and an empty list $pids of background processes;
# on exit every one of them is stopped and the directory removed (KEEP=1 keeps it, to read the
# logs and SIPp traces).
rw_workdir() {
  dir=$(mktemp -d)
  pids=()
  trap rw_cleanup EXIT
}
rw_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
