#!/usr/bin/env bash
# tests/integration/kill_supervisor_test.sh — SIGKILL under load (100 calls/s, 20 s) to
# sip-edge's supervisor: its workers keep serving and the restarted supervisor adopts them.
# At least 99.9 % of the calls must complete (tests/integration/kill_under_load.bash).
set -uo pipefail
# shellcheck source=tests/integration/kill_under_load.bash
. "${RINGWAY_SOURCE_DIR:?}/tests/integration/kill_under_load.bash" supervisor
