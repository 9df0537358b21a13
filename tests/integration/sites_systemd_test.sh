#!/usr/bin/env bash
# tests/integration/sites_systemd_test.sh — compose/systemd/ has a template unit for every
# service the build makes (ringway-<service>@.service, instance = configuration name), each one
# starts the service's binary on /etc/ringway/<service>-%i.conf, is restarted whatever ended it,
# stops it with SIGTERM (the services' clean stop) and runs hardened; `systemd-analyze verify`
# (Debian's systemd) accepts each with its ExecStart pointed at the built binary, and prints
# nothing. A unit with a misspelled directive is shown to be caught the same way.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
units=$top/compose/systemd

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir
check "systemd-analyze is installed (tools/install-deps.sh test: systemd)" command -v systemd-analyze

# verify FILE: systemd-analyze verify accepts FILE and says nothing (a bad directive is only a
# warning on stderr with exit 0, so silence is required too).
verify() {
  local out rc
  out=$(cd "$(dirname "$1")" && systemd-analyze verify --man=no "$(basename "$1")" 2>&1); rc=$?
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  systemd-analyze: /'
  [ "$rc" -eq 0 ] && [ -z "$out" ]
}
has() { grep -qx "$2" "$1"; }

services=()
for d in "$top"/services/*/; do
  s=$(basename "$d")
  [ "$s" = core ] || [ ! -f "$d/CMakeLists.txt" ] || services+=("$s")
done
check "services found in the source tree (${services[*]})" [ ${#services[@]} -ge 5 ]
for s in "${services[@]}"; do
  check "$s has a unit, compose/systemd/ringway-$s@.service" [ -f "$units/ringway-$s@.service" ]
done
verified=0
for u in "$units"/ringway-*@.service; do
  f=$(basename "$u"); s=${f#ringway-}; s=${s%@.service}
  check "$f: a service of the source tree" [ -f "$top/services/$s/CMakeLists.txt" ]
  check "$f: ExecStart runs ringway-$s on /etc/ringway/$s-%i.conf" \
    has "$u" "ExecStart=/usr/local/bin/ringway-$s -c /etc/ringway/$s-%i.conf"
  for line in Restart=always KillSignal=SIGTERM DynamicUser=yes ProtectSystem=strict \
              NoNewPrivileges=yes CapabilityBoundingSet= ProtectHome=yes; do
    check "$f: $line" has "$u" "$line"
  done
  bin=$build/services/$s/ringway-$s
  if [ ! -d "$build/services/$s" ]; then
    echo "note: $s is not part of this build yet (services/CMakeLists.txt): $f checked, not verified"
    continue
  fi
  check "$f: ExecStart names a built binary ($bin)" [ -x "$bin" ]
  sed "s|/usr/local/bin/ringway-$s|$bin|" "$u" >"$dir/ringway-$s@site-a.service"
  check "$f: systemd-analyze verify accepts it, silently" verify "$dir/ringway-$s@site-a.service"
  verified=$((verified + 1))
done
check "units verified: $verified" [ "$verified" -ge 5 ]

# The check can fail: a misspelled value and a missing binary are both reported.
sed 's/^Restart=always/Restart=allways/' "$dir/ringway-router@site-a.service" >"$dir/ringway-bad@site-a.service"
check "a misspelled Restart= is caught" bash -c "$(declare -f verify); ! verify '$dir/ringway-bad@site-a.service' >/dev/null"
sed "s|^ExecStart=[^ ]*|ExecStart=$dir/no-such-binary|" "$dir/ringway-router@site-a.service" >"$dir/ringway-nobin@site-a.service"
check "an ExecStart naming no binary is caught" bash -c "$(declare -f verify); ! verify '$dir/ringway-nobin@site-a.service' >/dev/null"

echo "sites_systemd_test: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
