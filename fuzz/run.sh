#!/usr/bin/env bash
# fuzz/run.sh — build the libFuzzer targets with clang in build-fuzz/ and run each for N
# seconds (default 30): `fuzz/run.sh [seconds]`. Seeds come from fuzz_make_corpus; new inputs
# collect in build-fuzz/corpus/<target>/, crashes in build-fuzz/findings/. Exits non-zero if
# any target found a crash, a leak or a sanitizer report.
set -euo pipefail

secs="${1:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RINGWAY_FUZZ_BUILD:-$root/build-fuzz}"
targets=(fuzz_route_req fuzz_plan fuzz_event fuzz_sip_edge)

CC=clang cmake -S "$root" -B "$build" -DRINGWAY_FUZZ=ON -DRINGWAY_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_all -j"$(nproc)"

mkdir -p "$build/seeds" "$build/findings"
for t in "${targets[@]}"; do mkdir -p "$build/seeds/$t" "$build/corpus/$t"; done
"$build/fuzz/fuzz_make_corpus" "$build/seeds"
# fuzz_sip_edge: the SIP torture corpus (tokens expanded roughly) and the kept regressions
for f in "$root"/tests/integration/sip/torture/*.msg "$root"/tests/unit/sipedge/fuzz_regress/*; do
    [ -f "$f" ] || continue
    sed -e 's/@TARGET@/127.0.0.1:5060/g' -e 's/@RAND@/a84b4c76e66710/g' -e 's/@PAD[0-9]*@/pad/g' \
        -e 's/@AUTO@/0/' "$f" >"$build/seeds/fuzz_sip_edge/$(basename "$f")"
done

status=0
for t in "${targets[@]}"; do
    echo "== $t for ${secs}s"
    log="$build/findings/$t.log"
    if "$build/fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -dict="$root/fuzz/$([ "$t" = fuzz_sip_edge ] && echo sip.dict || echo protocol.dict)" -artifact_prefix="$build/findings/$t-" -print_final_stats=1 \
        "$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$log" | tail -2 || true
    else
        echo "$t: FINDING (see $log)"
        tail -40 "$log"
        status=1
    fi
done
exit $status
