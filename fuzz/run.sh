#!/usr/bin/env bash
# fuzz/run.sh — build the libFuzzer targets with clang in build-fuzz/ and run each for N
# seconds (default 30): `fuzz/run.sh [seconds]`. Seeds come from fuzz_make_corpus and
# fuzz/seeds/<target>/; new inputs collect in build-fuzz/corpus/<target>/, crashes in
# build-fuzz/findings/. Every kept regression input (fuzz/regress/<target>/) is replayed first.
# Exits non-zero if any target found a crash, a leak or a sanitizer report.
# RINGWAY_FUZZ_BUILD chooses the build directory.
set -euo pipefail

secs="${1:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RINGWAY_FUZZ_BUILD:-$root/build-fuzz}"
targets=(fuzz_route_req fuzz_plan fuzz_event fuzz_hg fuzz_sip_edge fuzz_config fuzz_ical fuzz_token)

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

for t in "${targets[@]}"; do
    for f in "$root/fuzz/seeds/$t"/* "$root/fuzz/regress/$t"/*; do
        [ -f "$f" ] && cp "$f" "$build/seeds/$t/"
    done
done

dict() {
    case "$1" in
        fuzz_sip_edge) echo "$root/fuzz/sip.dict" ;;
        fuzz_config) echo "$root/fuzz/config.dict" ;;
        fuzz_ical) echo "$root/fuzz/ical.dict" ;;
        fuzz_token) echo "$root/fuzz/token.dict" ;;
        *) echo "$root/fuzz/protocol.dict" ;;
    esac
}

status=0
for t in "${targets[@]}"; do
    regress=("$root/fuzz/regress/$t"/*)
    if [ -f "${regress[0]}" ] && ! "$build/fuzz/$t" "${regress[@]}" >"$build/findings/$t-regress.log" 2>&1; then
        echo "$t: a kept regression input fails again (see $build/findings/$t-regress.log)"
        status=1
    fi
done
for t in "${targets[@]}"; do
    echo "== $t for ${secs}s"
    log="$build/findings/$t.log"
    if "$build/fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -dict="$(dict "$t")" -artifact_prefix="$build/findings/$t-" -print_final_stats=1 \
        "$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "$log" | tail -2 || true
    else
        echo "$t: FINDING (see $log)"
        tail -40 "$log"
        status=1
    fi
done
exit $status
