#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — run every benchmark with defaults that finish in a few minutes on
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
