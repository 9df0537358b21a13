#!/usr/bin/env bash
# tools/install-deps.sh — install the Debian packages Ringway needs, only those missing.
# Usage: tools/install-deps.sh [build|test|demo|fuzz|bench]   (default: test)
# Runs apt-get non-interactively; uses sudo only when not root.
set -euo pipefail

what=${1:-test}
build=(build-essential cmake pkg-config libsofia-sip-ua-dev libczmq-dev libzmq3-dev
       libhiredis-dev libmsgpack-dev libmicrohttpd-dev libjansson-dev libinih-dev
       libcurl4-openssl-dev nettle-dev libgoogle-perftools-dev libical-dev
       libxml2-dev libjwt-dev libargon2-dev libcjose-dev)
runtime=(redis-server redis-tools curl sip-tester)
testing=(check libsubunit-dev sip-tester valgrind baresip-core sipvicious iproute2 python3 radicale systemd docker-compose python3-yaml
         python3-tz chromium chromium-driver python3-selenium python3-jwt python3-cryptography)
benchmarks=(kamailio sip-tester linux-perf)
fuzzing=(clang libclang-rt-14-dev)

case "$what" in
  build) want=("${build[@]}") ;;
  demo)  want=("${build[@]}" "${runtime[@]}") ;;
  test)  want=("${build[@]}" "${runtime[@]}" "${testing[@]}") ;;
  fuzz)  want=("${build[@]}" "${testing[@]}" "${fuzzing[@]}") ;;
  bench) want=("${build[@]}" "${runtime[@]}" "${testing[@]}" "${benchmarks[@]}") ;;
  *) echo "install-deps: unknown set '$what' (build|test|demo|fuzz|bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
