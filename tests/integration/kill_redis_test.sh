#!/usr/bin/env bash
# tests/integration/kill_redis_test.sh — SIGKILL under load (100 calls/s, 20 s) to
# redis-server: calls served from the caches and fallbacks while it is away; a REGISTER after it is back is written.
# At least 99.9 % of the calls must complete (tests/integration/kill_under_load.bash).
set -uo pipefail
# shellcheck source=tests/integration/kill_under_load.bash
. "${RINGWAY_SOURCE_DIR:?}/tests/integration/kill_under_load.bash" redis
