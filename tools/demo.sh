#!/usr/bin/env bash
# tools/demo.sh BUILD_DIR — run Ringway locally: a private redis-server, every service, the demo
# directory, each kept running: a service that dies is logged and started again after a back-off
# (100 ms, doubling with each death after less than 10 s of life, at most 10 s) while the others
# go on. Ctrl-C (or SIGTERM) stops everything it started, in reverse order, sip-edge's workers
# included. Nothing is touched when one of its ports is already in use.
# Ports: RINGWAY_REDIS_PORT (6399), RINGWAY_HTTP_PORT (8080: services' HTTP ports count up from
# it: router +1, presence +2, huntgroup +3, sip-edge +4), RINGWAY_BUS_PORT (7100: bus ports count up from it,
# the same offsets), RINGWAY_SIP_PORT (5060).
# sip-edge runs as RINGWAY_SIP_PROCESSES (2) workers sharing the SIP port under a supervisor on
# HTTP port +4; worker I answers on HTTP port +5+I and publishes on bus port +5+I. The workers
# outlive a supervisor that dies; the one started in its place adopts them (docs/sip-edge.md).
# The calendar service takes the HTTP and bus ports after the workers' (+5+RINGWAY_SIP_PROCESSES).
# The gateway serves the API and the web page on RINGWAY_HTTP_PORT itself (8080) and its own
# /health and /metrics on the HTTP port after the calendar's (+6+RINGWAY_SIP_PROCESSES); its token
# secret is generated on the first run and kept in the state directory (unless
# RINGWAY_GATEWAY_TOKEN_SECRET is set), and the demo's local accounts are written at every start.
# Redis keeps its data under the state directory (append-only file, fsync every second), so a
# restarted redis-server finds it again.
# Voicemail and the "PSTN": two SIPp answering machines (tools/demo/answer.xml), kept running
# like the services, on UDP RINGWAY_DEMO_VOICEMAIL_PORT (SIP port +10) and
# RINGWAY_DEMO_PSTN_PORT (SIP port +20), each with its control port +1 and media ports +2, +4. sip-edge's voicemail.uri points at the first; every
# trunk of the demo directory (and any other number) at the second, so a divert to a mobile
# number rings something. The settings the CLI needs to tell what sip-edge will do are written
# to ringway.conf in the state directory (the banner's CLI line reads it).
# One site of several (tests/integration/sites_test.sh): RINGWAY_DEMO_ADDR (127.0.0.1) is the
# address SIP and the bus listen on (HTTP stays on 127.0.0.1); RINGWAY_DEMO_REDIS=external starts
# no redis-server, the services and the CLI find Redis from the RINGWAY_REDIS_* variables
# (RINGWAY_REDIS_SENTINELS); RINGWAY_DEMO_IMPORT=0 loads no directory and writes no web
# accounts (another site did);
# RINGWAY_DEMO_SITE (demo) ends every instance name.
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
vm_port=${RINGWAY_DEMO_VOICEMAIL_PORT:-$((sip_port + 10))}
pstn_port=${RINGWAY_DEMO_PSTN_PORT:-$((sip_port + 20))}
addr=${RINGWAY_DEMO_ADDR:-127.0.0.1}
site=${RINGWAY_DEMO_SITE:-demo}
own_redis=1; [ "${RINGWAY_DEMO_REDIS:-}" = external ] && own_redis=0
keepers=()       # one background keeper per service, in start order
stopping=0

log() { printf 'demo: %s\n' "$*" >&2; }

# ---- Ports: all free, or nothing starts ----------------------------------------------------
port_busy() {  # port tcp|udp
  [ -n "$(ss -Hln --"$2" "sport = :$1" 2>/dev/null)" ]
}
check_ports() {
  local busy=() entry port proto what var
  local want=("$redis_port tcp redis RINGWAY_REDIS_PORT"
              "$((http_base + 1)) tcp router-HTTP RINGWAY_HTTP_PORT"
              "$((bus_base + 1)) tcp router-bus RINGWAY_BUS_PORT"
              "$((http_base + 2)) tcp presence-HTTP RINGWAY_HTTP_PORT"
              "$((bus_base + 2)) tcp presence-bus RINGWAY_BUS_PORT"
              "$((http_base + 3)) tcp huntgroup-HTTP RINGWAY_HTTP_PORT"
              "$((bus_base + 3)) tcp huntgroup-bus RINGWAY_BUS_PORT"
              "$sip_port udp SIP RINGWAY_SIP_PORT" "$sip_port tcp SIP RINGWAY_SIP_PORT"
              "$vm_port udp voicemail RINGWAY_DEMO_VOICEMAIL_PORT"
              "$((vm_port + 1)) udp voicemail-control RINGWAY_DEMO_VOICEMAIL_PORT"
              "$((vm_port + 2)) udp voicemail-media RINGWAY_DEMO_VOICEMAIL_PORT"
              "$((vm_port + 4)) udp voicemail-media RINGWAY_DEMO_VOICEMAIL_PORT"
              "$pstn_port udp PSTN RINGWAY_DEMO_PSTN_PORT"
              "$((pstn_port + 1)) udp PSTN-control RINGWAY_DEMO_PSTN_PORT"
              "$((pstn_port + 2)) udp PSTN-media RINGWAY_DEMO_PSTN_PORT"
              "$((pstn_port + 4)) udp PSTN-media RINGWAY_DEMO_PSTN_PORT"
              "$((http_base + 4)) tcp sip-edge-HTTP RINGWAY_HTTP_PORT"
              "$((bus_base + 4)) tcp sip-edge-bus RINGWAY_BUS_PORT")
  local i
  for ((i = 0; sip_processes > 1 && i < sip_processes; i++)); do
    want+=("$((http_base + 5 + i)) tcp sip-edge-worker-$i-HTTP RINGWAY_HTTP_PORT"
           "$((bus_base + 5 + i)) tcp sip-edge-worker-$i-bus RINGWAY_BUS_PORT")
  done
  want+=("$((http_base + 5 + sip_processes)) tcp calendar-HTTP RINGWAY_HTTP_PORT"
         "$((bus_base + 5 + sip_processes)) tcp calendar-bus RINGWAY_BUS_PORT"
         "$http_base tcp gateway-API RINGWAY_HTTP_PORT"
         "$((http_base + 6 + sip_processes)) tcp gateway-HTTP RINGWAY_HTTP_PORT")
  [ $own_redis -eq 1 ] || want=("${want[@]:1}")
  for entry in "${want[@]}"; do
    read -r port proto what var <<<"$entry"
    port_busy "$port" "$proto" && busy+=("$proto port $port (${what//-/ }; $var)")
  done
  [ ${#busy[@]} -eq 0 ] && return 0
  for entry in "${busy[@]}"; do log "$entry is already in use"; done
  log "nothing started: stop what holds it (another demo?) or choose other ports by environment"
  return 1
}
check_ports || exit 1

# ---- Keeping services running ----------------------------------------------------------------
# Job control: each keeper (and the service it runs) gets a process group of its own, so Ctrl-C
# at the terminal reaches only this script, which stops them in order; without it the services
# would get the SIGINT too and their keepers would start them again.
set -m
# keep NAME LOG COMMAND...: runs COMMAND in the background (stderr to LOG) and starts it again
# when it dies, after the back-off; SIGTERM/SIGINT to the keeper stops COMMAND and the keeper.
keep() {
  local name=$1 logf=$2; shift 2
  (
    exec 3>&2 2>/dev/null        # bash's own "Killed" job notices are not the demo's messages
    child=0 quit=0 delay=100
    trap 'quit=1; [ "$child" -gt 0 ] && kill -TERM "$child" 2>/dev/null' TERM INT
    while [ $quit -eq 0 ]; do
      started=${EPOCHREALTIME/./}
      "$@" 2>>"$logf" &
      child=$!
      wait "$child"; rc=$?
      if [ $quit -eq 1 ]; then     # stopping: SIGTERM was sent; SIGKILL after 20 s
        for ((t = 0; t < 200; t++)); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$child" 2>/dev/null; then
          log "$name did not stop within 20 s of SIGTERM; killed" 2>&3
          kill -KILL "$child" 2>/dev/null
        fi
        wait "$child" 2>/dev/null
        break
      fi
      child=0
      lived=$(( (${EPOCHREALTIME/./} - started) / 1000 ))
      [ "$lived" -ge 10000 ] && delay=100
      if [ "$rc" -gt 128 ]; then how="signal $((rc - 128))"; else how="exit code $rc"; fi
      log "$name died ($how) after $((lived / 1000)).$((lived % 1000 / 100)) s; restarting in $((delay / 1000)).$((delay % 1000 / 100)) s" 2>&3
      sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))" &
      child=$!
      wait "$child" 2>/dev/null
      child=0
      delay=$(( delay * 2 > 10000 ? 10000 : delay * 2 ))
    done
  ) &
  keepers+=($!)
}

# sip-edge workers whose supervisor was not running at the stop (it had died and was waiting for
# its restart): the run file names them.
stop_orphan_workers() {
  local f pid left=() i
  for f in "$state"/run/ringway-sip-edge-*.run; do
    [ -f "$f" ] || continue
    while read -r _ _ pid _; do
      grep -qs ringway-sip-edge "/proc/$pid/cmdline" && kill -TERM "$pid" 2>/dev/null && left+=("$pid")
    done < <(grep '^worker ' "$f")
  done
  for ((i = 0; i < 100 && ${#left[@]} > 0; i++)); do
    for pid in "${!left[@]}"; do grep -qs ringway-sip-edge "/proc/${left[pid]}/cmdline" || unset "left[pid]"; done
    [ ${#left[@]} -gt 0 ] && sleep 0.1
  done
  [ ${#left[@]} -gt 0 ] && kill -KILL "${left[@]}" 2>/dev/null
  return 0
}

stop_all() {
  trap - INT TERM EXIT
  stopping=1
  local i
  for ((i=${#keepers[@]}-1; i>=0; i--)); do
    kill -TERM "${keepers[i]}" 2>/dev/null
    wait "${keepers[i]}" 2>/dev/null
  done
  stop_orphan_workers
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

mkdir -p "$state/redis" "$state/logs" "$state/run"
# sip-edge refuses to start without a nonce secret of the operator's own: unless
# RINGWAY_AUTH_NONCE_SECRET is set, one is generated on the first run and kept in the state directory.
if [ -z "${RINGWAY_AUTH_NONCE_SECRET:-}" ]; then
  [ -s "$state/nonce_secret" ] || (umask 077; head -c 32 /dev/urandom | base64 >"$state/nonce_secret")
  RINGWAY_AUTH_NONCE_SECRET=$(cat "$state/nonce_secret")
  export RINGWAY_AUTH_NONCE_SECRET
fi
# The gateway refuses to start without a token secret of the operator's own: the same rule.
if [ -z "${RINGWAY_GATEWAY_TOKEN_SECRET:-}" ]; then
  [ -s "$state/gateway_secret" ] || (umask 077; head -c 32 /dev/urandom | base64 >"$state/gateway_secret")
  RINGWAY_GATEWAY_TOKEN_SECRET=$(cat "$state/gateway_secret")
  export RINGWAY_GATEWAY_TOKEN_SECRET
fi
if [ $own_redis -eq 1 ]; then
  keep redis-server "$state/logs/redis.log" redis-server --port "$redis_port" --bind 127.0.0.1 \
    --dir "$state/redis" --save 60 1 --appendonly yes --appendfsync everysec --daemonize no \
    --logfile "$state/logs/redis.log"
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { log "redis-server did not start on $redis_port"; exit 1; }
  export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$redis_port
fi

if [ "${RINGWAY_DEMO_IMPORT:-1}" != 0 ]; then
  "$build/tools/ringway" import "$top/compose/demo-directory.json" || exit 1
  "$build/tools/ringway" group import "$top/compose/demo-directory.json" >/dev/null || exit 1
  for agent in bob carol; do "$build/tools/ringway" agent login "$agent" >/dev/null || exit 1; done
fi

# service name, http port, extra environment
start() {
  local name=$1 port=$2; shift 2
  # shellcheck disable=SC2086   # RINGWAY_WRAP (make valgrind) is a command line
  keep "$name" "$state/logs/$name.log" env RINGWAY_HTTP_PORT="$port" RINGWAY_INSTANCE="$name-$site" "$@" \
    ${RINGWAY_WRAP:-} "$build/services/$name/ringway-$name"
  wait_http "$port" "$name" || exit 1
  services+=("$name  http://127.0.0.1:$port/health  /metrics")
}
services=()
# Voicemail and the PSTN (sipp, Debian's sip-tester): answer, echo the media, wait for the BYE.
vm_uri=${RINGWAY_VOICEMAIL_URI:-sip:vm@127.0.0.1:$vm_port}
peers="${RINGWAY_SIP_PEERS:+$RINGWAY_SIP_PEERS; }uk-main 127.0.0.1:$pstn_port trunk +44; uk-backup 127.0.0.1:$pstn_port trunk +44; pstn 127.0.0.1:$pstn_port trunk"
answerer() {  # role port: SIP on port, media (RTP echo) on port+2 (+4 video), control port+1
  keep "$1" "$state/logs/$1.log" bash -c 'exec "$@" >/dev/null' "sipp-$1" \
    sipp -sf "$top/tools/demo/answer.xml" -i 127.0.0.1 -p "$2" -mp $(($2 + 2)) -cp $(($2 + 1)) \
    -s "$1" -rtp_echo -nostdin -trace_msg -message_file "$state/logs/$1-messages.log" \
    -trace_err -error_file "$state/logs/$1-errors.log"
  services+=("$1  sip:$1@127.0.0.1:$2 (SIPp answering machine, messages in $state/logs/$1-messages.log)")
}
if command -v sipp >/dev/null; then
  answerer voicemail "$vm_port"
  answerer pstn "$pstn_port"
else
  log "sipp (Debian sip-tester) is not installed: no voicemail or PSTN in this demo"
fi
cat >"$state/ringway.conf" <<CONF
; written by tools/demo.sh: what the CLI needs to reach this demo and tell what sip-edge does
[redis]
host = 127.0.0.1
port = $redis_port
[voicemail]
uri = "$vm_uri"
[sip]
peers = "$peers"
CONF
start router $((http_base + 1)) RINGWAY_ROUTER_BIND="tcp://$addr:$((bus_base + 1))"
if [ -x "$build/services/huntgroup/ringway-huntgroup" ]; then   # sip-edge finds it in the registry
  start huntgroup $((http_base + 3)) RINGWAY_HUNTGROUP_BIND="tcp://$addr:$((bus_base + 3))"
fi
if [ -x "$build/services/sip-edge/ringway-sip-edge" ]; then
  start sip-edge $((http_base + 4)) RINGWAY_SIP_PORT="$sip_port" RINGWAY_SIP_ADDR="$addr" \
    RINGWAY_SIP_PROCESSES="$sip_processes" RINGWAY_SIP_RUN_DIR="$state/run" \
    RINGWAY_VOICEMAIL_URI="$vm_uri" RINGWAY_SIP_PEERS="$peers" \
    RINGWAY_ROUTER_ENDPOINTS="tcp://$addr:$((bus_base + 1))" RINGWAY_BUS_PUB="tcp://$addr:$((bus_base + 4))"
  for ((i = 0; sip_processes > 1 && i < sip_processes; i++)); do   # the supervisor's /health waited for them
    wait_http $((http_base + 5 + i)) "sip-edge worker $i" || exit 1
    services+=("sip-edge worker $i  http://127.0.0.1:$((http_base + 5 + i))/health  /metrics")
  done
fi
if [ -x "$build/services/presence/ringway-presence" ]; then   # follows sip-edge's events
  start presence $((http_base + 2)) RINGWAY_BUS_PUB="tcp://$addr:$((bus_base + 2))"
fi
if [ -x "$build/services/calendar/ringway-calendar" ]; then   # users' calendars (docs/calendar.md)
  start calendar $((http_base + 5 + sip_processes)) RINGWAY_BUS_PUB="tcp://$addr:$((bus_base + 5 + sip_processes))"
fi
# The web page and API: demo logins (local accounts, docs/gateway.md), written again at each start.
web_logins=()
if [ -x "$build/services/gateway/ringway-gateway" ]; then
  account() {  # name password settings...
    local name=$1 pw=$2; shift 2
    "$build/tools/ringway" account rm "$name" >/dev/null 2>&1
    printf '%s\n' "$pw" | "$build/tools/ringway" account add "$name" "$@" >/dev/null || exit 1
    web_logins+=("$name / $pw")
  }
  if [ "${RINGWAY_DEMO_IMPORT:-1}" != 0 ]; then   # with the directory
    account alice alice-web-2001 user=alice
    account carol carol-web-2003 user=carol roles=supervisor groups=helpdesk
    account admin admin-web-demo user=dev roles=admin
  fi
  start gateway $((http_base + 6 + sip_processes)) RINGWAY_GATEWAY_PORT="$http_base" RINGWAY_BUS_PUB= \
    RINGWAY_GATEWAY_WEB_ROOT="${RINGWAY_GATEWAY_WEB_ROOT:-$top/web}"
fi
for svc in "$build"/services/*/; do
  name=$(basename "$svc")
  case "$name" in router|sip-edge|presence|huntgroup|calendar|gateway|core|CMakeFiles) continue ;; esac
  [ -x "$svc/ringway-$name" ] || continue
  log "service $name exists but the demo does not start it yet"
done

cat <<MSG

Ringway demo is running (state and logs in $state).
  Redis      127.0.0.1:$redis_port (append-only file in $state/redis)
  SIP        udp/tcp 127.0.0.1:$sip_port ($sip_processes sip-edge processes), realm ringway.local (register as <ext>@ringway.local, proxy/registrar 127.0.0.1:$sip_port)
  Services:
$(printf '    %s\n' "${services[@]}")
  Demo accounts (SIP user = extension, realm ringway.local):
    2001 alice  alice-demo-2001     2002 bob    bob-demo-2002
    2003 carol  carol-demo-2003     2004 dev    dev-demo-2004
  Hunt group: 2100 helpdesk (bob and carol logged in as agents; ringway queue watch helpdesk)
$([ ${#web_logins[@]} -gt 0 ] && printf '  Web page   http://127.0.0.1:%s/  (API http://127.0.0.1:%s/api/v1/, OpenAPI /api/v1/openapi.json)\n' "$http_base" "$http_base")
$([ ${#web_logins[@]} -gt 0 ] && printf '  Web logins %s (staff), %s (supervisor of helpdesk), %s (admin)\n' "${web_logins[@]}")
  Voicemail  $vm_uri    PSTN (every trunk) 127.0.0.1:$pstn_port
  The CLI:   $build/tools/ringway -c $state/ringway.conf explain 2001
A service that dies is started again (logged here). Ctrl-C stops everything.
MSG

# The keepers never end by themselves; wait returns when a signal's trap has run.
while [ $stopping -eq 0 ]; do
  wait
  [ -n "$(jobs -p)" ] || { log "every service keeper ended"; exit 1; }
done
