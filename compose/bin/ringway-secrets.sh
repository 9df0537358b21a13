#!/bin/sh
# compose/bin/ringway-secrets.sh DIR — the compose file's one-shot `secrets` job: writes the
# secrets every instance shares into DIR (a volume the services mount read-only), once:
#   nonce_secret          sip-edge's auth.nonce_secret (digest nonces)
#   gateway_token_secret  the gateway's gateway.token_secret (local tokens)
#   bus.cert, bus.cert_secret  the bus's CurveZMQ key pair (bus.curve_cert, docs/bus.md
#                         "Encryption"): made once by `ringway bus keygen`; copy both files to
#                         the other site's volume so that both sites share it
# Each is taken from the environment when set (RINGWAY_AUTH_NONCE_SECRET,
# RINGWAY_GATEWAY_TOKEN_SECRET: give both sites the same, e.g. from a .env file beside
# compose.yml), else kept from an earlier run, else generated (32 random bytes, base64). An empty
# value or the example ringway-change-me is refused (exit 2), as the services refuse them.
set -eu
dir=${1:?usage: ringway-secrets.sh DIR}
umask 077
put() {  # file value
  if [ -n "$2" ]; then printf '%s\n' "$2" >"$dir/$1.new" && mv "$dir/$1.new" "$dir/$1"
  elif [ ! -s "$dir/$1" ]; then head -c 32 /dev/urandom | base64 >"$dir/$1"; fi
  v=$(cat "$dir/$1")
  if [ -z "$v" ] || [ "$v" = ringway-change-me ]; then
    echo "ringway-secrets: $1 is empty or the example value ringway-change-me; generate one with 'openssl rand -base64 32'" >&2
    exit 2
  fi
  chown ringway "$dir/$1" 2>/dev/null || true
  chmod 0400 "$dir/$1"
  echo "ringway-secrets: $1 ready"
}
put nonce_secret "${RINGWAY_AUTH_NONCE_SECRET:-}"
put gateway_token_secret "${RINGWAY_GATEWAY_TOKEN_SECRET:-}"
if [ ! -s "$dir/bus.cert_secret" ]; then
  rm -f "$dir/bus.cert"
  ringway bus keygen "$dir/bus.cert" >/dev/null
fi
chown ringway "$dir/bus.cert" "$dir/bus.cert_secret" 2>/dev/null || true
echo "ringway-secrets: bus.cert ready"
