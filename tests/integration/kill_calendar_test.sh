#!/usr/bin/env bash
# tests/integration/kill_calendar_test.sh — SIGKILL under load (100 calls/s, 20 s) to ringway-calendar,
# which is not on an ordinary call's path: no call may notice, and the runner has it healthy again.
# At least 99.9 % of the calls must complete (tests/integration/kill_under_load.bash).
set -uo pipefail
# shellcheck source=tests/integration/kill_under_load.bash
. "${RINGWAY_SOURCE_DIR:?}/tests/integration/kill_under_load.bash" calendar
