#!/usr/bin/env bash
# tests/integration/sites_kill.bash — SIGKILL of one process under SITES_KILL_RATE (200)
# calls/s on one site, for each of: the sip-edge worker carrying the caller, the router, the
# huntgroup service and redis-server (the master: the only node of the site's Redis under
# tools/demo.sh; with Sentinel, sites_test covers the master's loss). Each kind is one run of
# tests/integration/kill_under_load.bash (the whole stack under tools/demo.sh, restarted by it)
# at that rate for SITES_KILL_SECS (20) seconds; each must complete at least 99.9 % of its calls.
# Prints `kill_<kind>: calls created N completed M (P %)` per kind, then the four side by side.
# Not in ctest (the kill_*_test.sh run the same kinds at 100 calls/s there); run it with the test
# environment, e.g.
#   RINGWAY_BUILD_DIR=build/test RINGWAY_SOURCE_DIR=$PWD RINGWAY_FREE_PORT=build/test/tests/rw-free-port \
#   RINGWAY_AUTH_NONCE_SECRET=$(openssl rand -base64 32) bash tests/integration/sites_kill.bash
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}
: "${RINGWAY_BUILD_DIR:?}"
rate=${SITES_KILL_RATE:-200}
secs=${SITES_KILL_SECS:-20}
kinds=${SITES_KILL_KINDS:-worker router huntgroup redis}
pass=0 failed=0 summary=()
for kind in $kinds; do
  out=$(KILL_RATE=$rate KILL_CALLS=$((rate * secs)) bash "$top/tests/integration/kill_under_load.bash" "$kind" 2>&1); rc=$?
  printf '%s\n' "$out" | sed "s/^/[$kind] /"
  line=$(grep -m1 "^kill_$kind: calls created" <<<"$out")
  summary+=("${line:-kill_$kind: no figures (see above)}")
  if [ $rc -eq 0 ]; then pass=$((pass + 1)); echo "ok: kill $kind at $rate calls/s"
  else failed=$((failed + 1)); echo "FAIL: kill $kind at $rate calls/s" >&2; fi
done
echo "sites_kill at $rate calls/s, $secs s each:"
printf '  %s\n' "${summary[@]}"
echo "sites_kill: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
