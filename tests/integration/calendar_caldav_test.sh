#!/usr/bin/env bash
# tests/integration/calendar_caldav_test.sh — a CalDAV calendar (RFC 4791) on a real server the
# test starts (Debian `radicale`, htpasswd authentication): alice's events are PUT one resource
# per event, and Ringway is given only the server's root URL, so it must find her principal,
# calendar home and calendar (PROPFIND) and read them (calendar-query REPORT), expanding the
# recurrences itself (Radicale does not); a sync with nothing changed reads nothing but the
# calendar's getctag. Routing is checked with `ringway explain --at` around
# meetings before and after the change to summer time, a moved and a cancelled instance; an
# event deleted on the server stops diverting after the next sync; a wrong password fails the
# sync (HTTP 401) with the last good schedule kept. Instants as in calendar_ics_test.sh.
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/integration/calendar_lib.bash
. "$top/tests/integration/calendar_lib.bash"

dav_start dav-secret-77
printf 'wrong\n' >"$dir/pw-wrong"
base=http://127.0.0.1:$dav
put() { curl -fsS -u alice:dav-secret-77 "$@" >/dev/null; }
check "a calendar is made on the server (MKCALENDAR)" put -X MKCALENDAR "$base/alice/meetings/"
for f in "$dir"/www/dav/*.ics; do
  check "event $(basename "$f") is PUT" put -X PUT -H "Content-Type: text/calendar" --data-binary "@$f" \
    "$base/alice/meetings/$(basename "$f")"
done

check "calendar set alice caldav (the server's root URL only)" \
  "$rw" calendar set alice caldav "$base/" --user alice --password-file "$dir/pw"

around before_dst
cal_start tags $(( S[before_dst] - 30 * MIN )) || { echo "FAIL: calendar did not start" >&2; exit 1; }
"$rw" calendar sync alice >/dev/null 2>&1
check "a second sync with nothing changed on the server reads nothing (getctag unchanged)" \
  "$rw" calendar sync alice
unchanged=$(curl -fsS "http://127.0.0.1:$chttp/metrics" | sed -n 's/^ringway_calendar_syncs_unchanged_total //p')
check "... counted in syncs_unchanged_total ($unchanged)" [ "${unchanged:-0}" -ge 1 ]
cal_stop
around after_dst
check "after_dst: 10:30 local (09:30 UTC) is after the meeting" not_diverted $(( S[after_dst] + 90 * MIN ))
check "moved: calendar read before the original time" sync_at $(( S[moved_from] - 30 * MIN ))
check "moved: not diverted at the original time" not_diverted $(( S[moved_from] + 30 * MIN ))
check "moved: diverted at the new time" diverted $(( S[moved_to] + 30 * MIN ))
check "cancelled instance: calendar read" sync_at $(( S[cancelled] - 30 * MIN ))
check "cancelled instance: not diverted" not_diverted $(( S[cancelled] + 30 * MIN ))
around oneoff
check "the one-off event is deleted on the server" put -X DELETE "$base/alice/meetings/oneoff.ics"
check "deleted: calendar read again" sync_at $(( S[oneoff] - 30 * MIN ))
check "deleted: no longer diverted" not_diverted $(( S[oneoff] + 30 * MIN ))

good=$("$rw" --json calendar show alice)
"$rw" calendar set alice caldav "$base/" --user alice --password-file "$dir/pw-wrong" >/dev/null
cal_start wrong-pw $(( S[oneoff] - 30 * MIN )) || { echo "FAIL: calendar did not start" >&2; exit 1; }
out=$("$rw" calendar sync alice 2>&1); rc=$?
cal_stop
check "a wrong password fails the sync (exit 1)" [ $rc -eq 1 ]
check "... saying HTTP 401" grep -q "HTTP 401" <<<"$out"
check "... with the last good schedule kept" [ "$("$rw" --json calendar show alice | sed 's/"synced_ms":[0-9]*,//; s/"error":"[^"]*",//; s/"error_ms":[0-9]*,//')" = \
  "$(sed 's/"synced_ms":[0-9]*,//; s/"error":"[^"]*",//; s/"error_ms":[0-9]*,//' <<<"$good")" ]
check "no log or output holds the password" bash -c '! grep -rq dav-secret-77 "$0"/*.log "$0"/*.out' "$dir"

for i in "${!cal_exits[@]}"; do check "calendar instance $i exited 0" [ "${cal_exits[$i]}" -eq 0 ]; done
check "no valgrind report" rw_valgrind_clean "$dir"/calendar-*.log
echo "calendar_caldav_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
