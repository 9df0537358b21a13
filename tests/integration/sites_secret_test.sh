#!/usr/bin/env bash
# tests/integration/sites_secret_test.sh — no deployment runs on a secret anyone can read:
# sip-edge refuses to start (exit 2, before it opens a port or touches Redis) while
# auth.nonce_secret is empty or the example value ringway-change-me, from the environment or
# from compose/config/sip-edge.conf as shipped, and its log line says how to generate one; with
# a secret of its own the same configuration passes the check.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
edge=$build/services/sip-edge/ringway-sip-edge

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir

# refused NAME CONFIG ENV...: sip-edge (with -c CONFIG unless it is empty) in the environment
# changed by ENV (env(1) words) exits 2 within 10 s and logs the config_error for
# auth.nonce_secret with the hint.
refused() {
  local name=$1 cfg=$2 rc; shift 2
  timeout 10 env "$@" "${RW_WRAP[@]}" "$edge" ${cfg:+-c "$cfg"} >"$dir/$name.out" 2>"$dir/$name.err"; rc=$?
  echo "$name: exit $rc; $(grep -m1 config_error "$dir/$name.err")"
  [ "$rc" -eq 2 ] || return 1
  grep -q '"event":"config_error".*"key":"auth.nonce_secret"' "$dir/$name.err" &&
    grep -q "openssl rand -base64 32" "$dir/$name.err"
}
port=$("$RINGWAY_FREE_PORT" 1)
base=(RINGWAY_SIP_PORT="$port" RINGWAY_HTTP_PORT="$("$RINGWAY_FREE_PORT" 1)" RINGWAY_REDIS_PORT=1)

check "the example value ringway-change-me is refused (exit 2, hint)" \
  refused example "" "${base[@]}" RINGWAY_AUTH_NONCE_SECRET=ringway-change-me
check "it says it is the example value" grep -q '"error":"is the example value ringway-change-me"' "$dir/example.err"
check "an empty secret is refused (exit 2, hint)" refused empty "" "${base[@]}" RINGWAY_AUTH_NONCE_SECRET=
check "it says it is empty" grep -q '"error":"is empty"' "$dir/empty.err"
check "no secret at all is refused (exit 2, hint)" refused unset "" -u RINGWAY_AUTH_NONCE_SECRET "${base[@]}"
check "compose/config/sip-edge.conf as shipped is refused (exit 2)" \
  refused shipped "$top/compose/config/sip-edge.conf" -u RINGWAY_AUTH_NONCE_SECRET "${base[@]}"
check "the refused sip-edge never bound its SIP port" [ -z "$(ss -Hlun "sport = :$port")" ]

# With a secret of its own the same start goes on: sip-edge comes up (sip_edge_ready, its Redis
# on port 1 refused meanwhile) and stops cleanly on SIGTERM.
env -u RINGWAY_AUTH_NONCE_SECRET "${base[@]}" RINGWAY_AUTH_NONCE_SECRET="$(head -c 32 /dev/urandom | base64)" \
  "${RW_WRAP[@]}" "$edge" >/dev/null 2>"$dir/own.err" &
own=$!
pids+=("$own")
ready() { grep -q '"event":"sip_edge_ready"' "$dir/own.err"; }
for ((i = 0; i < 100 * RW_SCALE; i++)); do ready && break; kill -0 "$own" 2>/dev/null || break; sleep 0.1; done
check "with a generated secret sip-edge starts (sip_edge_ready within 10 s)" ready
check "and logs no config_error for auth.nonce_secret" bash -c "! grep -q '\"key\":\"auth.nonce_secret\"' '$dir/own.err'"
rw_stop "$own"; rc=$?
check "and stops on SIGTERM with exit 0 (got $rc)" [ "$rc" -eq 0 ]

for t in compose.yml README.md; do
  check "compose/$t does not ship the example value" bash -c "! grep -q 'nonce_secret *= *ringway-change-me\|NONCE_SECRET: *ringway-change-me' '$top/compose/$t'"
done

# The compose file's secrets job (compose/bin/ringway-secrets.sh): the shared secrets and the
# bus's CurveZMQ key pair, made once (a second run keeps them), the secret halves private.
sec=$dir/secrets
mkdir -p "$sec"
secrets_job() { env -u RINGWAY_AUTH_NONCE_SECRET -u RINGWAY_GATEWAY_TOKEN_SECRET PATH="$build/tools:$PATH" \
                  sh "$top/compose/bin/ringway-secrets.sh" "$sec" >"$dir/secrets.out" 2>&1; }
check "the secrets job runs" secrets_job
check "it made the bus key pair, its secret half 0600" \
  test "$(stat -c %a "$sec/bus.cert_secret" 2>/dev/null)" = 600 -a -s "$sec/bus.cert"
check "and the nonce secret, 0400" test "$(stat -c %a "$sec/nonce_secret" 2>/dev/null)" = 400
sums=$(cat "$sec/bus.cert_secret" "$sec/nonce_secret" | md5sum)
check "a second run keeps them" secrets_job
check "unchanged" test "$(cat "$sec/bus.cert_secret" "$sec/nonce_secret" | md5sum)" = "$sums"

echo "sites_secret_test: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
