#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — run every benchmark (the C bench_* programs, then the SIP ones:
# bench/sip-cps.sh and bench/register-storm.sh) with defaults that finish in a few minutes on
# two cores, printing figures. Build with -DCMAKE_BUILD_TYPE=Release first (`make bench` does).
set -euo pipefail
build=${1:-build/release}
echo "== bus request round trip (bench/bus_rtt.c): 100,000 requests, then 64 in flight"
"$build/bench/bench_bus_rtt" 100000 64
for b in "$build"/bench/bench_*; do
  case "$(basename "$b")" in bench_bus_rtt) continue ;; esac
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
echo "== SIP call set-up rate, Ringway against Kamailio (bench/sip-cps.sh, quick ladder)"
"$(dirname "$0")/sip-cps.sh" "$build" || echo "sip-cps: failed (exit $?)"
echo "== REGISTER storm with digest auth (bench/register-storm.sh, 10,000 bindings)"
"$(dirname "$0")/register-storm.sh" "$build" || echo "register-storm: failed (exit $?)"
