#!/usr/bin/env bash
# tests/integration/sites_release_test.sh — the two-site checks at the target rate, 200 calls/s,
# on the release build (build/release, which `make test` builds beside the test build; the
# ASan+UBSan services do not carry 200 calls/s on two cores, docs/operations.md "Two sites"):
#   1. sites_test.sh with SITES_RATE=200: site A cut and killed under load, 0 calls failed on
#      B, B promoted, no registration lost, hunt group callers re-offered, A rejoins by itself;
#   2. sites_kill.bash: SIGKILL of the sip-edge worker carrying the caller, the router, the
#      huntgroup service and redis-server, 4000 calls each at 200 calls/s, >= 99.9 % each.
# Skipped (exit 77) when the release tree has no binaries, or, unless RINGWAY_RELEASE_DIR names
# the tree, when its sip-edge is older than the test build's (`make test` builds the release
# tree after the test build). Root.
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}
rel=${RINGWAY_RELEASE_DIR:-$top/build/release}
for b in services/sip-edge/ringway-sip-edge services/router/ringway-router \
         services/huntgroup/ringway-huntgroup tools/ringway; do
  if [ ! -x "$rel/$b" ]; then
    echo "SKIP: sites_release_test: no $b in $rel (make release)"
    exit 77
  fi
done
# A release tree built before this test build is stale (make test builds it after): skip.
tb=${RINGWAY_BUILD_DIR:-}/services/sip-edge/ringway-sip-edge
if [ -z "${RINGWAY_RELEASE_DIR:-}" ] && [ -x "$tb" ] && [ "$rel/services/sip-edge/ringway-sip-edge" -ot "$tb" ]; then
  echo "SKIP: sites_release_test: $rel is older than $RINGWAY_BUILD_DIR (make release, or set RINGWAY_RELEASE_DIR)"
  exit 77
fi
rc=0
RINGWAY_BUILD_DIR=$rel SITES_RATE=${SITES_RATE:-200} bash "$top/tests/integration/sites_test.sh" || rc=1
RINGWAY_BUILD_DIR=$rel SITES_KILL_RATE=${SITES_RATE:-200} bash "$top/tests/integration/sites_kill.bash" || rc=1
exit $rc
