#!/usr/bin/env bash
# tests/integration/kill_router_test.sh — SIGKILL under load (100 calls/s, 20 s) to
# the router (ringway-router): sip-edge evaluates the callee's settings itself until the runner has it back.
# At least 99.9 % of the calls must complete (tests/integration/kill_under_load.bash).
set -uo pipefail
# shellcheck source=tests/integration/kill_under_load.bash
. "${RINGWAY_SOURCE_DIR:?}/tests/integration/kill_under_load.bash" router
