#!/bin/sh
# compose/bin/ringway-env.sh COMMAND... — every Ringway container's entrypoint: the shared
# secrets the `secrets` job wrote (/run/ringway-secrets) become RINGWAY_AUTH_NONCE_SECRET and
# RINGWAY_GATEWAY_TOKEN_SECRET, and its bus key pair RINGWAY_BUS_CURVE_CERT (CurveZMQ), unless
# already set, then COMMAND runs in place of this shell.
d=/run/ringway-secrets
if [ -z "${RINGWAY_AUTH_NONCE_SECRET:-}" ] && [ -r "$d/nonce_secret" ]; then
  RINGWAY_AUTH_NONCE_SECRET=$(cat "$d/nonce_secret"); export RINGWAY_AUTH_NONCE_SECRET
fi
if [ -z "${RINGWAY_GATEWAY_TOKEN_SECRET:-}" ] && [ -r "$d/gateway_token_secret" ]; then
  RINGWAY_GATEWAY_TOKEN_SECRET=$(cat "$d/gateway_token_secret"); export RINGWAY_GATEWAY_TOKEN_SECRET
fi
if [ -z "${RINGWAY_BUS_CURVE_CERT:-}" ] && [ -r "$d/bus.cert_secret" ]; then
  RINGWAY_BUS_CURVE_CERT=$d/bus.cert; export RINGWAY_BUS_CURVE_CERT
fi
exec "$@"
