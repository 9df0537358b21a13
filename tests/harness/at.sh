#!/usr/bin/env bash
# tests/harness/at.sh INSTANT COMMAND [ARG...] — run COMMAND with every Ringway process it
# starts reading its wall clock at INSTANT (RINGWAY_CLOCK_OFFSET_MS, common/clock.h), so the
# suites whose results depend on schedules are run at fixed local times, whatever the day:
#   weekday-1000   the next Monday, 10:00 Europe/London (office hours)
#   sunday-0300    the next Sunday, 03:00 Europe/London (night, weekend)
# The instant is always in the future (up to a week ahead): redis-server keeps its real clock,
# and keys the services set to expire at a shifted time then live longer, never shorter.
# The first line printed names the instant, so a failure says when it was "run".
set -euo pipefail
when=${1:?usage: at.sh weekday-1000|sunday-0300 COMMAND...}
shift
case "$when" in
  weekday-1000) spec='next monday 10:00' ;;
  sunday-0300)  spec='next sunday 03:00' ;;
  *) echo "at.sh: unknown instant '$when'" >&2; exit 2 ;;
esac
target=$(TZ=Europe/London date -d "$spec" +%s)
now=$(date +%s)
offset_ms=$(( (target - now) * 1000 ))
echo "at.sh: running as at $(TZ=Europe/London date -d "@$target" '+%a %F %T %Z') (offset ${offset_ms} ms)"
export RINGWAY_CLOCK_OFFSET_MS=$offset_ms
exec "$@"
