#!/usr/bin/env bash
# tests/integration/kill_worker_test.sh — SIGKILL under load (100 calls/s, 20 s) to
# the sip-edge worker that carries the caller's calls: the other worker takes the caller's retransmissions and the calls' BYEs.
# At least 99.9 % of the calls must complete (tests/integration/kill_under_load.bash).
set -uo pipefail
# shellcheck source=tests/integration/kill_under_load.bash
. "${RINGWAY_SOURCE_DIR:?}/tests/integration/kill_under_load.bash" worker
