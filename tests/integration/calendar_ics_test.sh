#!/usr/bin/env bash
# tests/integration/calendar_ics_test.sh — staff calendars turned into routing, end to end: a
# real redis-server, the router, ringway-calendar and an ICS feed served by a local HTTP server
# (tests/integration/calendar_feeds.py). alice's rules divert to bob in meetings; for each
# meeting — a weekly series across the change to summer time, an EXDATE, a one-off meeting
# then deleted from the feed, an all-day event, a moved instance, a cancelled instance — the
# calendar service is run with its clock shortly before it (RINGWAY_CLOCK_OFFSET_MS) and
# `ringway explain --at` must ring alice before, divert to bob during and ring alice after.
# The meetings lie in the weeks around the next DST change at least 15 days ahead, and the
# routing is asked at given instants, so no verdict depends on the day or hour of the run.
# Then: broken sources (HTTP 500, a redirect loop, 10 MB, truncated, an invalid date, a TLS
# failure) are each refused with the user and reason in the log, counted on /metrics, with the
# last good schedule kept and the password in no log or output; a calendar instance killed
# (SIGKILL) while it holds users' leases loses nothing: another takes them once the leases end.
# Last, figures: users synced per second by one instance (300 users, one feed), then the same
# users again while the feed is unchanged (each a conditional GET answered 304).
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/integration/calendar_lib.bash
. "$top/tests/integration/calendar_lib.bash"

check "calendar set alice (ics)" "$rw" calendar set alice ics "$feed_url"
out=$("$rw" calendar set alice ics "http://u:p@127.0.0.1:$web/alice.ics" 2>&1); rc=$?
check "a URL with credentials inside is refused (exit 1)" [ $rc -eq 1 ]
check "... and says to use --user/--password-file" grep -q "give them with --user and --password-file" <<<"$out"
out=$("$rw" calendar set alice webcal "$feed_url" 2>&1); rc=$?
check "an unknown kind is a usage error (exit 2)" [ $rc -eq 2 ]

check "excluded (EXDATE): calendar read" sync_at $(( S[excluded] - 30 * MIN ))
check "excluded (EXDATE): not diverted during" not_diverted $(( S[excluded] + 30 * MIN ))
around oneoff
want="in_meeting ${E[oneoff]} ${S[oneoff]}"
check "the meeting is the calendar source of alice's presence, written ahead (docs/presence.md)" \
  [ "$(rcli HGET rw:presence:src:alice calendar)" = "$want" ]
check "the divert ends by itself at the meeting's end (PEXPIREAT)" [ "$(rcli PEXPIRETIME rw:divert:alice)" = "${E[oneoff]}" ]
python3 "$feeds" feed "$dir/www" 2 >/dev/null
check "deleted meeting: calendar read again" sync_at $(( S[oneoff] - 30 * MIN ))
check "deleted meeting: no longer diverted" not_diverted $(( S[oneoff] + 30 * MIN ))
around allday
check "allday: diverted at noon" diverted $(( S[allday] + 12 * 60 * MIN ))
around before_dst
around after_dst
check "after_dst: 10:30 local (09:30 UTC) is after the meeting" not_diverted $(( S[after_dst] + 90 * MIN ))
check "moved: calendar read before the original time" sync_at $(( S[moved_from] - 30 * MIN ))
check "moved: not diverted at the original time" not_diverted $(( S[moved_from] + 30 * MIN ))
check "moved: diverted at the new time" diverted $(( S[moved_to] + 30 * MIN ))
out=$("$rw" calendar show alice 2>&1)
check "calendar show lists the meetings ahead (the moved one)" grep -q "Weekly review (moved)" <<<"$out"
check "cancelled instance: calendar read" sync_at $(( S[cancelled] - 30 * MIN ))
check "cancelled instance: not diverted" not_diverted $(( S[cancelled] + 30 * MIN ))

# Events: an instance whose clock is inside the moved meeting publishes calendar.meeting_started
# and calendar.divert_set with the block's times. A subscriber may join after a publish
# (ZeroMQ connects asynchronously), so the sync is repeated (at most 5 times, the meeting state
# reset each time) until `ringway events` has printed both.
rcli ZADD rw:cal:due 99999999999999 alice >/dev/null
"$rw" --json events calendar --for "$(rw_secs 120)" >"$dir/events.out" 2>"$dir/events.err" &
events_pid=$!; pids+=("$events_pid")
CAL_PUB="tcp://127.0.0.1:$pub" cal_start events $(( S[moved_to] + 30 * MIN )) || { echo "FAIL: calendar did not start" >&2; exit 1; }
for ((i = 0; i < 100 * RW_SCALE; i++)); do grep -q "listening to 1 publisher" "$dir/events.err" && break; sleep 0.1; done
check "ringway events listens to the calendar instance" grep -q "listening to 1 publisher" "$dir/events.err"
started="\"type\":\"calendar.meeting_started\".*\"user\":\"alice\".*\"start_ms\":${S[moved_to]},\"end_ms\":${E[moved_to]}"
heard() { grep -q "$started" "$dir/events.out" && grep -q '"type":"calendar.divert_set".*"user":"alice"' "$dir/events.out"; }
attempt=0
while [ $attempt -lt 5 ] && ! heard; do
  attempt=$((attempt + 1))
  rcli HSET rw:cal:alice in_meeting "" >/dev/null
  rcli DEL rw:divert:alice >/dev/null
  "$rw" calendar sync alice >/dev/null 2>&1
  for ((i = 0; i < 20 * RW_SCALE; i++)); do heard && break; sleep 0.1; done
done
check "calendar.meeting_started published with the meeting's times" grep -q "$started" "$dir/events.out"
check "calendar.divert_set published" grep -q '"type":"calendar.divert_set".*"user":"alice"' "$dir/events.out"
kill "$events_pid" 2>/dev/null; wait "$events_pid" 2>/dev/null
cal_stop

# Broken sources, one instance whose clock is the day before the first meeting (the feed's
# meetings may lie up to a year ahead of today). carol reads the good feed first.
base=$(( S[excluded] - 24 * 60 * MIN ))
printf 'secret-calendar-pw-42\n' >"$dir/pw"
check "calendar set carol with --user/--password-file" \
  "$rw" calendar set carol ics "$feed_url" --user carol --password-file "$dir/pw"
CAL_TIMEOUT_MS=15000 CAL_LEASE_MS=30000 cal_start broken "$base" || { echo "FAIL: calendar did not start" >&2; exit 1; }
check "carol's good feed is read" "$rw" calendar sync carol
good=$("$rw" --json calendar show carol)
count() { python3 -c 'import json,sys; print(len(json.loads(sys.stdin.read())["meetings"]))' <<<"$1"; }
n_good=$(count "$good")
check "carol has meetings ahead ($n_good)" [ "$n_good" -ge 1 ]
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:t\r\nDTSTART:20300101T100000Z\r\n' >"$dir/www/trunc.ics"
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTART:20301345T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' >"$dir/www/baddate.ics"
broken() {  # REASON URL: the source fails for REASON, counted, logged, the schedule kept
  local reason=$1 url=$2 out rc before after
  before=$(curl -fsS "http://127.0.0.1:$chttp/metrics" | sed -n "s/^ringway_calendar_sync_failures_total{reason=\"$reason\"} //p")
  "$rw" calendar set carol ics "$url" --user carol --password-file "$dir/pw" >/dev/null || return 1
  out=$("$rw" calendar sync carol 2>&1); rc=$?
  echo "$reason: $out" >>"$dir/broken.out"
  [ $rc -eq 1 ] || { echo "  sync exit $rc: $out" >&2; return 1; }
  after=$(curl -fsS "http://127.0.0.1:$chttp/metrics" | sed -n "s/^ringway_calendar_sync_failures_total{reason=\"$reason\"} //p")
  # (set queues a sync and sync another: one or two failures)
  [ "${after:-0}" -gt "${before:-0}" ] || { echo "  counter $reason: $before -> $after" >&2; return 1; }
  grep -q "\"event\":\"calendar_source_failed\".*\"user\":\"carol\".*\"reason\":\"$reason\"" "$dir/calendar-broken.log" || return 1
  [ "$(count "$("$rw" --json calendar show carol)")" = "$n_good" ]
}
check "HTTP 500: refused, counted, logged, schedule kept" broken http "http://127.0.0.1:$web/status/500"
check "redirect loop: refused, counted, logged, schedule kept" broken redirects "http://127.0.0.1:$web/loop"
check "10 MB body: refused, counted, logged, schedule kept" broken size "http://127.0.0.1:$web/big"
check "truncated ICS: refused, counted, logged, schedule kept" broken invalid "http://127.0.0.1:$web/trunc.ics"
check "invalid date: refused, counted, logged, schedule kept" broken invalid "http://127.0.0.1:$web/baddate.ics"
check "TLS failure: refused, counted, logged, schedule kept" broken tls "https://127.0.0.1:$web/alice.ics"
check "the sync says why (HTTP 500)" grep -q "^http: .*HTTP 500 (the last good schedule is kept)" "$dir/broken.out"
out=$("$rw" --json calendar show carol; "$rw" calendar show carol)
check "calendar show never prints the password" bash -c '! grep -q secret-calendar-pw <<<"$0"' "$out"
check "calendar show says a password is set" grep -q "with a password" <<<"$out"
check "no log holds the password" bash -c '! grep -q secret-calendar-pw "$0"/*.log "$0"/*.out' "$dir"
cal_stop

# A stopped and a killed instance: each holds bob's and carol's leases (their source never answers) and dies;
# another instance takes them once the leases end, with nothing lost.
rcli HSET rw:cal:bob kind ics url "http://127.0.0.1:$web/hang" >/dev/null
rcli HSET rw:cal:carol url "http://127.0.0.1:$web/hang" >/dev/null
rcli ZADD rw:cal:due 0 bob 0 carol >/dev/null
leased() { [ -n "$(rcli GET rw:cal:lease:bob)" ] && [ -n "$(rcli GET rw:cal:lease:carol)" ]; }
wait_leased() { for ((i = 0; i < 100 * RW_SCALE; i++)); do leased && break; sleep 0.05; done; leased; }
# First SIGTERM while a transfer hangs (its timeout 20 s): the transfer is ended and the
# instance exits 0 within rw_stop's bound (10 s).
CAL_TIMEOUT_MS=20000 CAL_LEASE_MS=40000 cal_start stopped "$base" || { echo "FAIL: calendar did not start" >&2; exit 1; }
check "a stopping instance holds both leases" wait_leased
cal_stop
check "SIGTERM during a hanging transfer: the instance exits 0 at once" [ "${cal_exits[-1]}" -eq 0 ]
rcli DEL rw:cal:lease:bob rw:cal:lease:carol >/dev/null   # its leases would end in 40 s:
rcli ZADD rw:cal:due 0 bob 0 carol >/dev/null               # as if they had
CAL_TIMEOUT_MS=1000 CAL_LEASE_MS=2000 cal_start killed "$base" || { echo "FAIL: calendar did not start" >&2; exit 1; }
check "the instance holds both leases" wait_leased
kill -KILL "$cal_pid"; wait "$cal_pid" 2>/dev/null
rcli HSET rw:cal:bob url "$feed_url" >/dev/null
rcli HSET rw:cal:carol url "$feed_url" >/dev/null
CAL_TIMEOUT_MS=1000 CAL_LEASE_MS=2000 cal_start survivor "$base" || { echo "FAIL: calendar did not start" >&2; exit 1; }
check "another instance syncs bob after the lease" "$rw" calendar sync bob
check "... and carol" "$rw" calendar sync carol
check "carol's schedule is whole again" [ "$(count "$("$rw" --json calendar show carol)")" = "$n_good" ]
cal_stop

# Figure: users synced per second by one instance (300 users, the same feed, 16 at a time).
# The clock is read only to print the figure; no verdict depends on it (the check is "all synced").
n=300
for ((i = 0; i < n; i++)); do echo "HSET rw:cal:load$i kind ics url $feed_url"; echo "ZADD rw:cal:due 0 load$i"; done | rcli >/dev/null
t0=$(date +%s%3N)
cal_start load "$base" || { echo "FAIL: calendar did not start" >&2; exit 1; }
synced() { [ "$(rcli EVAL "local n=0 for i=0,$((n - 1)) do if redis.call('HEXISTS','rw:cal:load'..i,'last_ok_ms')==1 then n=n+1 end end return n" 0)" = "$n" ]; }
for ((i = 0; i < 600 * RW_SCALE; i++)); do synced && break; sleep 0.1; done
t1=$(date +%s%3N)
check "all $n load users synced" synced
echo "figure: $n users synced by one instance in $(( t1 - t0 )) ms (start included): $(( n * 1000 / (t1 - t0 + 1) )) users/s"
# The same users due again: each feed answers 304 to the conditional GET (nothing parsed).
not_modified() { curl -fsS "http://127.0.0.1:$chttp/metrics" | awk '$1 == "ringway_calendar_ics_not_modified_total" { v = $2 } END { print v + 0 }'; }
nm0=$(not_modified)
for ((i = 0; i < n; i++)); do echo "ZADD rw:cal:due 0 load$i"; done | rcli >/dev/null
t0=$(date +%s%3N)
for ((i = 0; i < 600 * RW_SCALE; i++)); do [ "$(not_modified)" -ge $((nm0 + n)) ] && break; sleep 0.1; done
t1=$(date +%s%3N)
check "all $n load users synced again, each by a 304" [ "$(not_modified)" -ge $((nm0 + n)) ]
echo "figure: $n unchanged users synced again (304) in $(( t1 - t0 )) ms: $(( n * 1000 / (t1 - t0 + 1) )) users/s"
cal_stop

for i in "${!cal_exits[@]}"; do check "calendar instance $i exited 0" [ "${cal_exits[$i]}" -eq 0 ]; done
check "no valgrind report" rw_valgrind_clean "$dir"/calendar-*.log
echo "calendar_ics_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
