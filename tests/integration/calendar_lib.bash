# tests/integration/calendar_lib.bash — what the calendar integration tests share (sourced):
# a redis-server, the router, the directory (alice diverts to bob in meetings; bob; carol), the
# test feeds (tests/integration/calendar_feeds.py: alice.ics and one resource per event in
# www/dav/) served on 127.0.0.1:$web, the meetings' instants in S[name] and E[name], and the
# functions below. Every instant lies around the next DST change at least 15 days ahead.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
read -r rport bus chttp web dav pub < <("$RINGWAY_FREE_PORT" 6 | tr '\n' ' ')
rw_workdir
feeds=$top/tests/integration/calendar_feeds.py
rw=$build/tools/ringway
cal=$build/services/calendar/ringway-calendar

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$rport
rcli() { redis-cli -p "$rport" "$@"; }

mkdir -p "$dir/www"
python3 "$feeds" feed "$dir/www" 1 >"$dir/times" || { echo "FAIL: feed" >&2; exit 1; }
python3 "$feeds" serve "$web" "$dir/www" 2>"$dir/web.log" &
pids+=($!)
rw_wait_tcp "$web" || { echo "FAIL: the feed server did not start" >&2; exit 1; }
feed_url=http://127.0.0.1:$web/alice.ics

cat >"$dir/dir.json" <<JSON
{ "realm": "ringway.local", "users": [
  { "id": "alice", "ext": "2001", "number": "+441632960001", "password": "alice-pw", "tz": "Europe/London",
    "devices": [ { "id": "softphone", "kind": "sip" } ],
    "rules": { "active": "office", "profiles": { "office": [
      { "name": "meeting", "presence": ["in_meeting"], "action": "divert", "to": "user:bob" } ] } } },
  { "id": "bob", "ext": "2002", "number": "+441632960002", "password": "bob-pw", "tz": "Europe/London",
    "devices": [ { "id": "desk", "kind": "sip" } ] },
  { "id": "carol", "ext": "2003", "number": "+441632960003", "password": "carol-pw", "tz": "Europe/London",
    "devices": [ { "id": "desk", "kind": "sip" } ] } ] }
JSON
"$rw" import "$dir/dir.json" >/dev/null 2>&1 || { echo "FAIL: import" >&2; exit 1; }

RINGWAY_HTTP_PORT=0 RINGWAY_ROUTER_BIND="tcp://127.0.0.1:$bus" RINGWAY_BUS_PUB="" \
  "${RW_WRAP[@]}" "$build/services/router/ringway-router" 2>>"$dir/router.log" &
pids+=($!)
rw_wait_tcp "$bus" || { echo "FAIL: router did not start" >&2; exit 1; }

# Calendar instances: cal_start NAME [AT_MS]: one with its clock at AT_MS (default: now), its
# pid in cal_pid (publishing on $CAL_PUB when set); cal_stop: SIGTERM, its exit status recorded
# (each must exit 0).
cal_pid=
cal_exits=()
cal_start() {
  local offset=0
  [ -n "${2:-}" ] && offset=$(( $2 - $(date +%s%3N) ))
  RINGWAY_CLOCK_OFFSET_MS=$offset RINGWAY_HTTP_PORT=$chttp RINGWAY_BUS_PUB=${CAL_PUB:-} RINGWAY_LOG_LEVEL=info \
  RINGWAY_CALENDAR_TICK_MS=50 RINGWAY_CALENDAR_TIMEOUT_MS=${CAL_TIMEOUT_MS:-5000} \
  RINGWAY_CALENDAR_LEASE_MS=${CAL_LEASE_MS:-10000} RINGWAY_CALENDAR_MAX_REDIRECTS=3 \
  RINGWAY_CALENDAR_LOOKAHEAD_H=2000 \
    "${RW_WRAP[@]}" "$cal" 2>>"$dir/calendar-$1.log" &
  cal_pid=$!; pids+=("$cal_pid")
  rw_wait_health "$chttp"
}
cal_stop() { rw_stop "$cal_pid"; cal_exits+=($?); }

declare -A S E
while read -r name s e; do S[$name]=$s; E[$name]=$e; done <"$dir/times"
MIN=60000

# sync_at MS: alice's calendar read by an instance whose clock is MS.
sync_at() {
  cal_start "at-$1" "$1" || return 1
  "$rw" calendar sync alice >>"$dir/sync.out" 2>&1
  local rc=$?
  cal_stop
  return $rc
}
# diverted MS: at MS the router diverts alice's calls by her calendar (to bob, 2002).
diverted() {
  local out
  out=$("$rw" explain 2001 --router "tcp://127.0.0.1:$bus" --at "$1" 2>&1)
  echo "--- explain at $1" >>"$dir/explain.out"; echo "$out" >>"$dir/explain.out"
  grep -q "calendar divert" <<<"$out" && grep -q "2002" <<<"$out"
}
not_diverted() {
  local out
  out=$("$rw" explain 2001 --router "tcp://127.0.0.1:$bus" --at "$1" 2>&1) || return 1
  echo "--- explain at $1" >>"$dir/explain.out"; echo "$out" >>"$dir/explain.out"
  ! grep -q "calendar divert" <<<"$out"
}
# around NAME: before, during and after the meeting NAME.
around() {
  check "$1: calendar read shortly before" sync_at $(( S[$1] - 30 * MIN ))
  check "$1: not diverted a minute before" not_diverted $(( S[$1] - MIN ))
  check "$1: diverted to bob during" diverted $(( S[$1] + 30 * MIN ))
  check "$1: not diverted a minute after" not_diverted $(( E[$1] + MIN ))
}

# dav_start PASSWORD: a real Radicale on $dav (htpasswd, alice:PASSWORD, owner-only rights,
# collections under $dir), the password also in $dir/pw; exits the test when it does not start.
dav_start() {
  command -v radicale >/dev/null || { echo "FAIL: radicale is not installed (tools/install-deps.sh test)" >&2; exit 1; }
  printf 'alice:%s\n' "$1" >"$dir/htpasswd"
  printf '%s\n' "$1" >"$dir/pw"
  cat >"$dir/radicale.conf" <<CONF
[server]
hosts = 127.0.0.1:$dav
[auth]
type = htpasswd
htpasswd_filename = $dir/htpasswd
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = $dir/collections
[logging]
level = warning
CONF
  /usr/bin/radicale --config "$dir/radicale.conf" 2>"$dir/radicale.log" &
  pids+=($!)
  rw_wait_tcp "$dav" 10 || { echo "FAIL: radicale did not start" >&2; cat "$dir/radicale.log" >&2; exit 1; }
}
