#!/usr/bin/env bash
# tools/demo.sh BUILD_DIR — run Ringway locally: a private redis-server, every service, the demo
# directory. Ctrl-C (or SIGTERM) stops everything it started, in reverse order.
# Ports: RINGWAY_REDIS_PORT (6399), RINGWAY_HTTP_PORT (8080: services' HTTP ports count up from
# it), RINGWAY_BUS_PORT (7100: bus ports count up from it), RINGWAY_SIP_PORT (5060).
# sip-edge runs as RINGWAY_SIP_PROCESSES (2) workers sharing the SIP port under a supervisor on
# HTTP port +4; worker I answers on HTTP port +5+I and publishes on bus port +5+I.
set -uo pipefail

build=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
state=${XDG_STATE_HOME:+$XDG_STATE_HOME/ringway-demo}
state=${state:-$top/build/demo-state}
redis_port=${RINGWAY_REDIS_PORT:-6399}
http_base=${RINGWAY_HTTP_PORT:-8080}
bus_base=${RINGWAY_BUS_PORT:-7100}
sip_port=${RINGWAY_SIP_PORT:-5060}
sip_processes=${RINGWAY_SIP_PROCESSES:-2}
pids=()

log() { printf 'demo: %s\n' "$*" >&2; }

stop_all() {
  trap - INT TERM EXIT
  local i
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null; done
  for ((i=${#pids[@]}-1; i>=0; i--)); do wait "${pids[i]}" 2>/dev/null; done
  log "stopped"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

wait_http() {  # port name
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "$2 did not answer /health on port $1"; return 1
}

mkdir -p "$state/redis" "$state/logs"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$state/redis" --save 60 1 \
  --appendonly no --daemonize no --logfile "$state/logs/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { log "redis-server did not start on $redis_port"; exit 1; }

export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$redis_port
"$build/tools/ringway" import "$top/compose/demo-directory.json" || exit 1

# service name, http port, extra environment
start() {
  local name=$1 port=$2; shift 2
  env RINGWAY_HTTP_PORT="$port" RINGWAY_INSTANCE="$name-demo" "$@" \
    ${RINGWAY_WRAP:-} "$build/services/$name/ringway-$name" 2>>"$state/logs/$name.log" &   # WRAP: make valgrind
  pids+=($!)
  wait_http "$port" "$name" || exit 1
  services+=("$name  http://127.0.0.1:$port/health  /metrics")
}
services=()
start router $((http_base + 1)) RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$((bus_base + 1))"
if [ -x "$build/services/sip-edge/ringway-sip-edge" ]; then
  start sip-edge $((http_base + 4)) RINGWAY_SIP_PORT="$sip_port" RINGWAY_SIP_ADDR=127.0.0.1 \
    RINGWAY_SIP_PROCESSES="$sip_processes" \
    RINGWAY_ROUTER_ENDPOINTS="tcp://127.0.0.1:$((bus_base + 1))" RINGWAY_BUS_PUB="tcp://127.0.0.1:$((bus_base + 4))"
  for ((i = 0; sip_processes > 1 && i < sip_processes; i++)); do   # the supervisor's /health waited for them
    wait_http $((http_base + 5 + i)) "sip-edge worker $i" || exit 1
    services+=("sip-edge worker $i  http://127.0.0.1:$((http_base + 5 + i))/health  /metrics")
  done
fi
for svc in "$build"/services/*/; do
  name=$(basename "$svc")
  case "$name" in router|sip-edge|core|CMakeFiles) continue ;; esac
  [ -x "$svc/ringway-$name" ] || continue
  log "service $name exists but the demo does not start it yet"
done

cat <<MSG

Ringway demo is running (state and logs in $state).
  Redis      127.0.0.1:$redis_port
  SIP        udp/tcp 127.0.0.1:$sip_port ($sip_processes sip-edge processes), realm ringway.local (register as <ext>@ringway.local, proxy/registrar 127.0.0.1:$sip_port)
  Services:
$(printf '    %s\n' "${services[@]}")
  Demo accounts (SIP user = extension, realm ringway.local):
    2001 alice  alice-demo-2001     2002 bob    bob-demo-2002
    2003 carol  carol-demo-2003     2004 dev    dev-demo-2004
  Try:  RINGWAY_REDIS_PORT=$redis_port $build/tools/ringway explain 2001
Ctrl-C stops everything.
MSG

wait -n "${pids[@]}"
log "a process ended by itself; stopping the rest"
exit 1
