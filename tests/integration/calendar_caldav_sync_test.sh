#!/usr/bin/env bash
# tests/integration/calendar_caldav_sync_test.sh — a CalDAV calendar read by its changes only
# (RFC 6578 sync-collection; docs/calendar.md "CalDAV"), on a real Radicale the test starts:
# alice's calendar holds 40 one-hour meetings, one resource each. The first sync reads them
# whole (calendar-query: 40 events fetched) and keeps them with their ETags; one meeting moved
# on the server is one event fetched at the next sync (caldav_reads_total{read="changes"},
# caldav_events_fetched_total + 1, the log's events_fetched 1) and the schedule has it at its
# new time; one deleted is no event fetched and its meeting gone; nothing changed reads nothing
# (syncs_unchanged_total); a sync-token the server refuses (403 valid-sync-token) falls back to
# a whole read with the schedule unchanged; and with calendar.poll_ms at 1 s a meeting deleted
# on the server leaves the schedule within one interval (waited for, bounded), by a delta read;
# a server with a getctag and no sync-token (the test's own /ctagdav/) is read whole when its
# ctag changes and never sent a sync-collection.
# The instance's clock is pinned a day before the first meeting (RINGWAY_CLOCK_OFFSET_MS).
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/integration/calendar_lib.bash
. "$top/tests/integration/calendar_lib.bash"

dav_start dav-secret-78
base=http://127.0.0.1:$dav
cal_url=$base/alice/meetings
put() { curl -fsS -u alice:dav-secret-78 "$@" >/dev/null; }

# 40 meetings: day k (1..40) after the pinned instant's day, 10:00-11:00 UTC; ev DIR K START_MS
at=$(( S[excluded] - 24 * 60 * MIN ))
day0=$(( S[excluded] / 86400000 * 86400000 ))
start_of() { echo $(( day0 + $1 * 86400000 + 10 * 60 * MIN + ${2:-0} )); }
utc() { date -u -d "@$(( $1 / 1000 ))" +%Y%m%dT%H%M%SZ; }
ev() {  # K [SHIFT_MS]: event eK as an iCalendar resource on stdout
  local s; s=$(start_of "$1" "${2:-0}")
  printf '%s\r\n' BEGIN:VCALENDAR VERSION:2.0 "PRODID:-//ringway tests//EN" BEGIN:VEVENT "UID:e$1@test" \
    "SUMMARY:Meeting $1" DTSTAMP:20260101T000000Z "DTSTART:$(utc "$s")" "DTEND:$(utc $(( s + 3600000 )))" \
    END:VEVENT END:VCALENDAR
}
block() { local s; s=$(start_of "$1" "${2:-0}"); echo "$s-$(( s + 3600000 ))"; }
check "a calendar is made on the server (MKCALENDAR)" put -X MKCALENDAR "$cal_url/"
ok=0
for k in $(seq 1 40); do ev "$k" | put -X PUT -H "Content-Type: text/calendar" --data-binary @- "$cal_url/e$k.ics" && ok=$((ok + 1)); done
check "40 events PUT" [ $ok -eq 40 ]

metric() {  # NAME: its value in the instance's /metrics (0 when absent)
  curl -fsS "http://127.0.0.1:$chttp/metrics" | awk -v m="ringway_calendar_$1" '$1 == m { v = $2 } END { print v + 0 }'
}
whole() { metric 'caldav_reads_total{read="whole"}'; }
changes() { metric 'caldav_reads_total{read="changes"}'; }
fetched() { metric caldav_events_fetched_total; }
blocks() { rcli hget rw:cal:alice blocks; }
has() { grep -q "$1" <<<"$(blocks)"; }
lacks() { ! grep -q "$1" <<<"$(blocks)"; }
sync() { "$rw" calendar sync alice >>"$dir/sync.out" 2>&1; }
last_synced() { grep '"event":"calendar_synced"' "$dir"/calendar-*.log | tail -1; }

"$rw" calendar set alice caldav "$base/" --user alice --password-file "$dir/pw" >/dev/null
cal_start main "$at" || { echo "FAIL: calendar did not start" >&2; exit 1; }
check "the first sync" sync
check "read whole once (calendar-query)" [ "$(whole)" -eq 1 ] && [ "$(changes)" -eq 0 ]
check "40 events fetched" [ "$(fetched)" -eq 40 ]
check "40 meetings in the schedule" [ "$(blocks | tr ',' '\n' | grep -c .)" -eq 40 ]
check "the events are kept with their ETags (rw:cal:ev:alice)" [ "$(rcli hlen rw:cal:ev:alice)" -eq 40 ]
check "the calendar's sync-token is its tag" grep -q '^dav1 [0-9a-f]\{8\}:s:' <<<"$(rcli hget rw:cal:alice tag)"

# One meeting moved on the server: one event fetched.
ev 5 $(( 4 * 60 * MIN )) | put -X PUT -H "Content-Type: text/calendar" --data-binary @- "$cal_url/e5.ics"
check "sync after e5 moved" sync
check "read by its changes (sync-collection)" [ "$(changes)" -eq 1 ] && [ "$(whole)" -eq 1 ]
check "one event fetched (41 in all)" [ "$(fetched)" -eq 41 ]
check "the log says events_fetched 1" grep -q '"read":"changes","events_fetched":1,"events_deleted":0' <<<"$(last_synced)"
check "e5 at its new time" has "$(block 5 $(( 4 * 60 * MIN )))"
check "not at its old time" lacks "$(block 5)"
check "the others kept (40 meetings)" [ "$(blocks | tr ',' '\n' | grep -c .)" -eq 40 ]

# One deleted on the server: nothing fetched, its meeting gone.
check "e6 deleted on the server" put -X DELETE "$cal_url/e6.ics"
check "sync after e6 was deleted" sync
check "read by its changes" [ "$(changes)" -eq 2 ]
check "no event fetched (41 in all)" [ "$(fetched)" -eq 41 ]
check "the log says events_deleted 1" grep -q '"events_fetched":0,"events_deleted":1' <<<"$(last_synced)"
check "e6's meeting is gone" lacks "$(block 6)"
check "39 meetings, 39 events kept" [ "$(blocks | tr ',' '\n' | grep -c .)" -eq 39 ] && [ "$(rcli hlen rw:cal:ev:alice)" -eq 39 ]

# Nothing changed: nothing read.
u=$(metric syncs_unchanged_total)
check "a sync with nothing changed" sync
check "reads nothing (syncs_unchanged_total + 1, nothing fetched)" [ "$(metric syncs_unchanged_total)" -eq $((u + 1)) ] && [ "$(fetched)" -eq 41 ]

# A token the server refuses: read whole instead.
good=$(blocks)
rcli hset rw:cal:alice tag "$(rcli hget rw:cal:alice tag | sed 's/:s:.*/:s:http:\/\/radicale.org\/ns\/sync\/0000/')" >/dev/null
ev 7 | sed 's/SUMMARY:Meeting 7/SUMMARY:Meeting 7 (renamed)/' | put -X PUT -H "Content-Type: text/calendar" --data-binary @- "$cal_url/e7.ics"
check "sync with a refused sync-token" sync
check "read whole instead (39 events fetched)" [ "$(whole)" -eq 2 ] && [ "$(fetched)" -eq 80 ]
check "the schedule is the same" [ "$(blocks)" = "$good" ]
cal_stop

# Polled every second: a deletion on the server leaves the schedule within one interval.
RINGWAY_CALENDAR_POLL_MS=1000 cal_start polled "$at" || { echo "FAIL: calendar did not start" >&2; exit 1; }
check "a sync (alice due again after 1 s from now on)" sync
check "e8 deleted on the server" put -X DELETE "$cal_url/e8.ics"
gone_within() {  # until e8's meeting left the schedule (poll 1 s; bounded at 5 s, scaled)
  local i
  for ((i = 0; i < 50 * RW_SCALE; i++)); do lacks "$(block 8)" && return 0; sleep 0.1; done
  return 1
}
check "e8's meeting gone within one interval" gone_within
check "by a delta read" [ "$(changes)" -ge 1 ]
cal_stop

# A server without sync-token (the test's /ctagdav/: a getctag only): read whole when its ctag
# changes, never asked for a sync-collection.
cal_start ctag "$at" || { echo "FAIL: calendar did not start" >&2; exit 1; }
"$rw" calendar set alice caldav "http://127.0.0.1:$web/ctagdav/" >/dev/null
check "a sync of the ctag-only calendar" sync
w=$(whole)
check "read whole" [ "$w" -ge 1 ] && [ "$(changes)" -eq 0 ]
check "its tag is its getctag" grep -q '^dav1 [0-9a-f]\{8\}:c:"' <<<"$(rcli hget rw:cal:alice tag)"
check "the one-off meeting is in the schedule" has "${S[oneoff]}-${E[oneoff]}"
u=$(metric syncs_unchanged_total)
check "a sync with nothing changed" sync
check "reads nothing (syncs_unchanged_total + 1)" [ "$(metric syncs_unchanged_total)" -eq $((u + 1)) ] && [ "$(whole)" -eq "$w" ]
python3 "$feeds" feed "$dir/www" 2 >/dev/null        # the one-off event deleted: the ctag changes
check "a sync after the change" sync
check "read whole again (no sync-token to read changes from)" [ "$(whole)" -eq $((w + 1)) ] && [ "$(changes)" -eq 0 ]
check "the one-off meeting is gone" lacks "${S[oneoff]}-${E[oneoff]}"
check "no sync-collection was sent to it" bash -c "! grep -q 'sync-collection' '$dir/web.log'"
cal_stop

for i in "${!cal_exits[@]}"; do check "calendar instance $i exited 0" [ "${cal_exits[$i]}" -eq 0 ]; done
check "no log or output holds the password" bash -c '! grep -rq dav-secret-78 "$0"/*.log "$0"/*.out' "$dir"
check "no valgrind report" rw_valgrind_clean "$dir"/calendar-*.log
echo "calendar_caldav_sync_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
