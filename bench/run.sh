#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — run every benchmark (the C bench_* programs, then the SIP ones:
# bench/sip-cps.sh, bench/register-storm.sh and bench/sip-syscalls.sh) with defaults that finish
# in a few minutes on two cores, printing figures. Build with -DCMAKE_BUILD_TYPE=Release first (`make bench` does).
set -euo pipefail
build=${1:-build/release}
# The benches that start services find them under RINGWAY_BUILD_DIR (bench_huntgroup has no
# other way: run from the source tree, ./services/... is not the build's).
RINGWAY_BUILD_DIR=$(cd "$build" && pwd); export RINGWAY_BUILD_DIR
echo "== bus request round trip (bench/bus_rtt.c): 100,000 requests, then 64 in flight"
"$build/bench/bench_bus_rtt" 100000 64
echo "== hunt group decisions (bench/huntgroup_bench.c): 20 agents, 16 callers in flight, 5 s, 1 then 2 instances"
"$build/bench/bench_huntgroup" 5 16 20 || echo "bench_huntgroup: failed (exit $?)"
for b in "$build"/bench/bench_*; do
  case "$(basename "$b")" in bench_bus_rtt | bench_huntgroup) continue ;; esac
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
echo "== SIP call set-up rate, direct / Kamailio tuned / Ringway (bench/sip-cps.sh, quick ladder 2000..8000 calls/s)"
"$(dirname "$0")/sip-cps.sh" "$build" || echo "sip-cps: failed (exit $?)"
echo "== REGISTER storm with digest auth (bench/register-storm.sh, 10,000 bindings)"
"$(dirname "$0")/register-storm.sh" "$build" || echo "register-storm: failed (exit $?)"
echo "== system calls and context switches per call, by name and thread (bench/sip-syscalls.sh, 2000 calls/s, 1 sip-edge process)"
"$(dirname "$0")/sip-syscalls.sh" "$build" || echo "sip-syscalls: failed or skipped (exit $?; 77: perf missing or not allowed)"
