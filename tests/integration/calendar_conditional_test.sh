#!/usr/bin/env bash
# tests/integration/calendar_conditional_test.sh — ICS feeds read with conditional GETs
# (docs/calendar.md "ICS feeds: conditional GET"): ringway-calendar, its clock two days before
# alice's one-off meeting, and the test's HTTP server (calendar_feeds.py: ETag and
# Last-Modified on its files). A whole read (200) keeps the feed's validators in rw:cal:alice;
# each later read sends If-None-Match and gets 304: counted in
# ringway_calendar_ics_not_modified_total, nothing parsed (syncs_total stays), the schedule
# and meeting presence kept; the feed changed (the one-off meeting deleted) is read whole at the
# next sync and the meeting is gone. A feed with Last-Modified only (/noetag/) gets
# If-Modified-Since: 304 while unchanged, 200 once its time moved on. Every read is triggered
# with `ringway calendar sync` and counted in the server's log (no verdict waits on a poll).
# shellcheck source=tests/integration/calendar_lib.bash
. "$(dirname "$0")/calendar_lib.bash"

metric() {  # NAME: its value in the instance's /metrics (0 when absent)
  curl -fsS "http://127.0.0.1:$chttp/metrics" | awk -v m="ringway_calendar_$1" '$1 == m { v = $2 } END { print v + 0 }'
}
served() {  # PATH STATUS: how many requests for PATH the feed server answered STATUS
  grep -c "^GET $1 $2\$" "$dir/web.log"
}
field() { rcli hget rw:cal:alice "$1"; }
# read_as PATH STATUS: a sync of alice's calendar, answered STATUS by the server (one request)
read_as() {
  local n200 n304
  n200=$(served "$1" 200); n304=$(served "$1" 304)
  "$rw" calendar sync alice >>"$dir/sync.out" 2>&1 || return 1
  if [ "$2" = 200 ]; then n200=$((n200 + 1)); else n304=$((n304 + 1)); fi
  [ "$(served "$1" 200)" -eq "$n200" ] && [ "$(served "$1" 304)" -eq "$n304" ] && return 0
  echo "  $1: $(served "$1" 200) x 200 (want $n200), $(served "$1" 304) x 304 (want $n304)" >&2
  return 1
}
# set_as URL PATH: alice's feed set to URL, which the running instance reads at once (200)
set_as() {
  local before n200 i
  before=$(field synced_ms); n200=$(served "$2" 200)
  "$rw" calendar set alice ics "$1" >/dev/null || return 1
  for ((i = 0; i < 100 * RW_SCALE; i++)); do [ "$(field synced_ms)" != "$before" ] && break; sleep 0.05; done
  [ "$(field synced_ms)" != "$before" ] && [ "$(served "$2" 200)" -eq $((n200 + 1)) ] && return 0
  echo "  $2: $(served "$2" 200) x 200 (want $((n200 + 1)))" >&2
  return 1
}
has_oneoff() { grep -q "${S[oneoff]}-${E[oneoff]}" <<<"$(field blocks)"; }

cal_start main $(( S[oneoff] - 2 * 24 * 60 * MIN )) || { echo "FAIL: calendar did not start" >&2; exit 1; }

# 1. A whole read keeps the validators.
check "alice's ICS feed set: read whole at once (200)" set_as "$feed_url" /alice.ics
parsed=$(metric syncs_total)
tag=$(field tag)
check "the feed's ETag and Last-Modified kept in rw:cal:alice's tag" \
  grep -Eq $'^ics\t[0-9a-f]{16}\t"[0-9a-f]{16}"\t[A-Z][a-z]{2}, ' <<<"$tag"
check "the one-off meeting is in the schedule" has_oneoff
blocks=$(field blocks)
check "and is alice's calendar presence, written ahead" \
  [ "$(rcli hget rw:presence:src:alice calendar)" = "in_meeting ${E[oneoff]} ${S[oneoff]}" ]

# 2. Unchanged: 304, no parse, the schedule kept.
nm=$(metric ics_not_modified_total)
check "the next sync is answered 304 (If-None-Match)" read_as /alice.ics 304
check "and the one after" read_as /alice.ics 304
check "ics_not_modified_total counts both" [ "$(metric ics_not_modified_total)" -eq $((nm + 2)) ]
check "nothing parsed (syncs_total unchanged)" [ "$(metric syncs_total)" -eq "$parsed" ]
check "the schedule is the same" [ "$(field blocks)" = "$blocks" ]
check "the validators are the same" [ "$(field tag)" = "$tag" ]
check "the meeting presence is the same" \
  [ "$(rcli hget rw:presence:src:alice calendar)" = "in_meeting ${E[oneoff]} ${S[oneoff]}" ]
check "no error recorded" [ -z "$(field error)" ]
check "/metrics has its HELP" bash -c "curl -fsS http://127.0.0.1:$chttp/metrics | grep -q '^# HELP ringway_calendar_ics_not_modified_total '"

# 3. The feed changes: read whole at the next sync, the deleted meeting gone.
python3 "$feeds" feed "$dir/www" 2 >/dev/null
check "the sync after a change reads it whole (200, a new ETag)" read_as /alice.ics 200
check "parsed (syncs_total + 1)" [ "$(metric syncs_total)" -eq $((parsed + 1)) ]
check "the deleted one-off meeting is gone" bash -c "! grep -q '${S[oneoff]}-${E[oneoff]}' <<<'$(field blocks)'"
check "new validators kept" [ "$(field tag)" != "$tag" ]
check "unchanged again: 304" read_as /alice.ics 304

# 4. Last-Modified only: If-Modified-Since.
check "alice's feed set to the /noetag/ copy: read whole (200)" set_as "http://127.0.0.1:$web/noetag/alice.ics" /noetag/alice.ics
check "its Last-Modified kept (no ETag)" grep -Eq $'^ics\t[0-9a-f]{16}\t\t[A-Z][a-z]{2}, ' <<<"$(field tag)"
check "the next is answered 304 (If-Modified-Since)" read_as /noetag/alice.ics 304
touch -d "@$(( $(date +%s) + 5 ))" "$dir/www/alice.ics"     # its time moves on (HTTP dates are whole seconds)
check "once its time moved on, read whole (200)" read_as /noetag/alice.ics 200
check "304s counted (4 in all)" [ "$(metric ics_not_modified_total)" -eq $((nm + 4)) ]

cal_stop
check "calendar exits 0 on SIGTERM" [ "${cal_exits[0]}" -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir"/calendar-*.log
echo "calendar_conditional_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
