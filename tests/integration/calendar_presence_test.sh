#!/usr/bin/env bash
# tests/integration/calendar_presence_test.sh — a meeting in a staff calendar becomes the
# user's effective presence, end to end: a real redis-server, ringway-calendar reading alice's
# ICS feed (served by calendar_lib.bash's local HTTP server) and ringway-presence merging it,
# both run with their clocks at pinned instants around the feed's one-off meeting
# (RINGWAY_CLOCK_OFFSET_MS, common/clock.h; always ahead of the real clock, which Redis keeps).
# A minute before the meeting the entry is written ahead but not in force (offline,
# registration); during it rw:presence:alice is in_meeting from the calendar until the
# meeting's end and presence.changed says so (ringway events); a manual dnd wins over the
# meeting and, cleared, gives the meeting back (docs/presence.md "Precedence"); a minute after
# its end (a second calendar and presence run) alice is offline from her registrations again.
# Every instance exits 0 on SIGTERM. No verdict depends on the day or hour of the run.
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/integration/calendar_lib.bash
. "$top/tests/integration/calendar_lib.bash"
# calendar_lib.bash's CalDAV and publisher ports are free in an ICS-only test: presence's.
phttp=$dav pbus=$pub
export RINGWAY_BUS_DISCOVERY_POLL_MS=100

# Presence instances: pres_start AT_MS [RECONCILE_MS=200]: one whose clock is AT_MS, its pid in
# pres_pid (600000: no reconciliation pass during the test, only the merges asked for by
# rw:presence:dirty); pres_stop: SIGTERM, its exit status recorded (each must exit 0).
pres_pid=
pres_exits=()
pres_start() {
  RINGWAY_CLOCK_OFFSET_MS=$(( $1 - $(date +%s%3N) )) RINGWAY_HTTP_PORT=$phttp \
  RINGWAY_BUS_PUB="tcp://127.0.0.1:$pbus" RINGWAY_INSTANCE=presence-cal RINGWAY_LOG_LEVEL=info \
  RINGWAY_PRESENCE_RECONCILE_MS=${2:-200} \
    "${RW_WRAP[@]}" "$build/services/presence/ringway-presence" 2>>"$dir/presence.log" &
  pres_pid=$!; pids+=("$pres_pid")
  rw_wait_health "$phttp"
}
pres_stop() { rw_stop "$pres_pid"; pres_exits+=($?); }
# at MS COMMAND...: the CLI with its clock at MS (its merge runs read the caller's time).
at() { local ms=$1; shift; RINGWAY_CLOCK_OFFSET_MS=$(( ms - $(date +%s%3N) )) "$@"; }

# effective: alice's "state/source/until_ms" as stored for the router
effective() { rcli HMGET rw:presence:alice state source until_ms | paste -sd/; }
# wait_state WANT [SECONDS=5]: until alice's effective state is WANT (bounded, scaled)
wait_state() {
  local i n=$(( ${2:-5} * 20 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do [ "$(effective)" = "$1" ] && return 0; sleep 0.05; done
  echo "  alice is $(effective), not $1" >&2; return 1
}
# rec_start NAME AT_MS: a recorder of presence.changed in $dir/NAME.txt (following the
# registry), ready once it shows a change the CLI (clock at AT_MS) made to carol; rec_stop.
rec_pid=
rec_start() {
  local i k
  "$rw" events presence.changed --follow >"$dir/$1.txt" 2>"$dir/$1.err" &
  rec_pid=$!; pids+=("$rec_pid"); events=$dir/$1.txt
  for ((i = 0; i < 40 * RW_SCALE; i++)); do
    at "$2" "$rw" presence set carol away >/dev/null; at "$2" "$rw" presence clear carol >/dev/null
    for ((k = 0; k < 10; k++)); do grep -q 'user=carol state=away' "$events" && return 0; sleep 0.05; done
  done
  return 1
}
rec_stop() { kill "$rec_pid" 2>/dev/null; wait "$rec_pid" 2>/dev/null; }
# wait_event PATTERN: until a presence.changed line recorded matches PATTERN (bounded, scaled)
wait_event() {
  local i n=$(( 5 * 20 * RW_SCALE ))
  for ((i = 0; i < n; i++)); do grep -q -- "$1" "$events" && return 0; sleep 0.05; done
  echo "  '$1' not seen in $events" >&2; return 1
}
# alice_events: alice's recorded changes as "state:source ..."
alice_events() { sed -n 's/.*user=alice state=\([a-z_]*\) source=\([a-z_]*\).*/\1:\2/p' "$events" | paste -sd' '; }

s=${S[oneoff]} e=${E[oneoff]}
check "calendar set alice (ics)" "$rw" calendar set alice ics "$feed_url"

# A minute before: the meeting is written ahead as the calendar source, not yet in force.
before=$(( s - MIN ))
check "calendar read a minute before the meeting" sync_at "$before"
check "the meeting is alice's calendar source, written ahead" \
  [ "$(rcli HGET rw:presence:src:alice calendar)" = "in_meeting $e $s" ]
pres_start "$before" || { echo "FAIL: presence did not start" >&2; exit 1; }
check "a minute before, alice is offline from her registrations" wait_state "offline/registration/0"
pres_stop

# During the meeting (30 minutes in): the reconciliation pass takes up the entry whose start came.
during=$(( s + 30 * MIN ))
pres_start "$during" || { echo "FAIL: presence did not start" >&2; exit 1; }
check "during the meeting alice is in_meeting from the calendar until its end" wait_state "in_meeting/calendar/$e"
check "calendar read during the meeting leaves it so" sync_at "$during"
check "... still in_meeting until the meeting's end" wait_state "in_meeting/calendar/$e"
check "the router diverts alice's calls to bob" diverted "$during"
check "ringway events hears the presence instance" rec_start events-during "$during"
# A manual dnd wins over the meeting; cleared, the meeting is back (docs/presence.md).
check "presence set alice dnd" at "$during" "$rw" presence set alice dnd
check "dnd wins over the meeting" wait_state "dnd/manual/0"
check "presence.changed: dnd from manual" wait_event "user=alice state=dnd source=manual"
check "presence clear alice" at "$during" "$rw" presence clear alice
check "the meeting is back" wait_state "in_meeting/calendar/$e"
check "presence.changed: in_meeting from the calendar until the meeting's end" \
  wait_event "user=alice state=in_meeting source=calendar until_ms=$e"
check "in that order" [ "$(alice_events | tr " " "\n" | tail -2 | paste -sd" ")" = "dnd:manual in_meeting:calendar" ]
rec_stop
pres_stop

# A minute after the meeting's end: a second calendar run and presence with their clocks there.
# No reconciliation pass in this instance: alice is merged once, when the calendar's new entry
# (the next meeting, written ahead) marks her dirty.
after=$(( e + MIN ))
pres_start "$after" 600000 || { echo "FAIL: presence did not start" >&2; exit 1; }
check "ringway events hears the second presence instance" rec_start events-after "$after"
check "calendar read a minute after the meeting" sync_at "$after"
check "the calendar source is the next meeting, written ahead" \
  [ "$(rcli HGET rw:presence:src:alice calendar)" = "in_meeting ${E[allday]} ${S[allday]}" ]
check "alice is offline from her registrations again" wait_state "offline/registration/0"
check "presence.changed: offline from registration" wait_event "user=alice state=offline source=registration"
check "published once" [ "$(alice_events)" = "offline:registration" ]
check "the router no longer diverts" not_diverted "$after"
rec_stop
pres_stop

for i in "${!pres_exits[@]}"; do check "presence instance $i exited 0" [ "${pres_exits[$i]}" -eq 0 ]; done
for i in "${!cal_exits[@]}"; do check "calendar instance $i exited 0" [ "${cal_exits[$i]}" -eq 0 ]; done
check "no valgrind report" rw_valgrind_clean "$dir"/calendar-*.log "$dir/presence.log"
echo "calendar_presence_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
