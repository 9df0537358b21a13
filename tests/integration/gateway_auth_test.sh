#!/usr/bin/env bash
# tests/integration/gateway_auth_test.sh — ringway-gateway's identity, rights and HTTP layer
# against a real redis-server and a test OpenID Connect provider whose JWKS is served over local
# HTTP (tests/integration/gateway_auth.py): local login (200, wrong password 401, the 6th failure
# 429 with Retry-After, even with the right password), tokens signed by another key, expired,
# for another audience or issuer, or HS256 under another secret: 401 each; RS256 and ES256
# tokens of the provider accepted with their claims mapped; staff reading another user 403; a
# change audited and read back by an admin; bad JSON 400 with the position; a 10 MB body 413 and
# the next request answered; the web page served and no way out of its directory (".." in any
# spelling, symbolic links leading out); 404 and 405 as
# JSON; the figures on /metrics; a rotated provider key accepted; twelve logins at once; every
# path of the OpenAPI document answering and the document valid; `ringway account passwd` and
# `rm` ending the tokens issued before; an event stream (a supervisor's, OIDC) open at
# SIGTERM ends and the gateway exits 0 (under the sanitizers: no leak); a configuration without a
# token secret, with a short one, with a host name to listen on or an issuer without audience:
# exit 2, the key named.
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}
rw=$build/tools/ringway
py=/usr/bin/python3                   # Debian's, with python3-jwt and python3-cryptography
helper=$top/tests/integration/gateway_auth.py

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"        # RINGWAY_WRAP (make valgrind): the gateway runs under it
rw_workdir
read -r rport gport hport jport rhport rbport < <("$RINGWAY_FREE_PORT" 6 | tr '\n' ' ')
rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
export RINGWAY_REDIS_PORT=$rport

"$rw" import "$top/compose/demo-directory.json" >/dev/null 2>&1
"$rw" group import "$top/compose/demo-directory.json" >/dev/null
account() {  # name password settings...
  local name=$1 pw=$2; shift 2
  printf '%s\n' "$pw" >"$dir/pw"
  "$rw" account add "$name" "$@" --password-file "$dir/pw" >/dev/null
}
check "account add alice" account alice alice-secret-1 user=alice
check "account add bob" account bob bob-secret-22 user=bob
check "account add admin" account admin admin-secret-333 roles=admin
out=$("$rw" account add eve user=eve --password never-on-argv 2>&1); rc=$?
check "a password on the command line refused (exit 2)" bash -c "[ $rc -eq 2 ] && grep -q 'never given on the command line' <<<\"\$0\"" "$out"
check "account list" bash -c "'$rw' account list | grep -q '^admin .*roles staff,admin'"
check "no password stored" bash -c "! redis-cli -p $rport hgetall rw:account:alice | grep -q alice-secret-1"

# A router, for the explain path of the OpenAPI probe (found in the registry).
RINGWAY_HTTP_PORT=$rhport RINGWAY_ROUTER_BIND=tcp://127.0.0.1:$rbport RINGWAY_INSTANCE=router-gw-auth \
  RINGWAY_BUS_PUB= "$build/services/router/ringway-router" >"$dir/router.log" 2>&1 &
pids+=($!)
check "router healthy" rw_wait_health "$rhport"

"$py" "$helper" keys "$dir"
"$py" "$helper" serve "$dir" "$jport" &
pids+=($!)
check "JWKS served" rw_wait_tcp "$jport"
iss=https://id.example.test/realms/ringway
aud=ringway-api

# Bad configuration: refused at start with the key named, exit 2.
refused() {  # what VAR=VALUE...: the gateway exits 2 naming what
  local what=$1 out rc; shift
  out=$(env RINGWAY_HTTP_PORT=0 RINGWAY_GATEWAY_PORT=0 RINGWAY_BUS_PUB= "$@" "${RW_WRAP[@]}" \
        "$build/services/gateway/ringway-gateway" 2>&1); rc=$?
  [ $rc -eq 2 ] && grep -q "\"event\":\"config_invalid\".*$what" <<<"$out"
}
check "no token secret: exit 2" refused gateway.token_secret
check "a short token secret: exit 2" refused gateway.token_secret RINGWAY_GATEWAY_TOKEN_SECRET=short
check "a listen name, not an address: exit 2" refused gateway.listen \
  RINGWAY_GATEWAY_TOKEN_SECRET=test-secret-of-the-gateway-0123456789 RINGWAY_GATEWAY_LISTEN=localhost
check "an issuer without audience: exit 2" refused gateway.oidc_audience \
  RINGWAY_GATEWAY_TOKEN_SECRET=test-secret-of-the-gateway-0123456789 RINGWAY_GATEWAY_OIDC_ISSUER=https://x.test

# The web root: the page's files, and symbolic links that lead out of it (never followed out).
mkdir -p "$dir/web/sub"
cp -r "$top/web/." "$dir/web/"
ln -s /etc/hostname "$dir/web/leak.txt"
ln -s /etc/hostname "$dir/web/sub/index.html"

RINGWAY_GATEWAY_PORT=$gport RINGWAY_HTTP_PORT=$hport RINGWAY_INSTANCE=gw-auth RINGWAY_BUS_PUB= \
  RINGWAY_GATEWAY_TOKEN_SECRET=test-secret-of-the-gateway-0123456789 \
  RINGWAY_GATEWAY_OIDC_ISSUER=$iss RINGWAY_GATEWAY_OIDC_AUDIENCE=$aud \
  RINGWAY_GATEWAY_OIDC_JWKS=http://127.0.0.1:$jport/jwks.json RINGWAY_GATEWAY_OIDC_JWKS_REFRESH_S=1 \
  RINGWAY_GATEWAY_WEB_ROOT="$dir/web" RINGWAY_GATEWAY_MAX_BODY=1048576 \
  "${RW_WRAP[@]}" "$build/services/gateway/ringway-gateway" >"$dir/gw.log" 2>&1 &
gw=$!
pids+=("$gw")
check "gateway healthy" rw_wait_health "$hport"
check "API listening" rw_wait_tcp "$gport"
api=http://127.0.0.1:$gport/api/v1

# req METHOD PATH [TOKEN] [BODY]: status on the first line, then the body, headers in $dir/h
req() {
  local args=(-s -o "$dir/body" -D "$dir/h" -w '%{http_code}' -X "$1" "$api$2")
  [ -n "${3:-}" ] && args+=(-H "Authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  curl "${args[@]}"
  echo
  cat "$dir/body"
}
status() { req "$@" | head -1; }
login() { req POST /login "" "{\"username\":\"$1\",\"password\":\"$2\"}"; }
# has TEXT PATTERN...: every pattern (grep -E) is in TEXT
has() { local t=$1 p; shift; for p in "$@"; do grep -qE -- "$p" <<<"$t" || return 1; done; }
token_of() { login "$1" "$2" | tail -n +2 | "$py" -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }

out=$(login alice alice-secret-1)
check "login ok: 200 with a token" has "$out" '^200$' '"token":"ey' '"expires":[0-9]+'

alice=$(token_of alice alice-secret-1)
check "wrong password: 401" [ "$(status POST /login '' '{"username":"alice","password":"nope"}')" = 401 ]
check "unknown user: 401 the same" [ "$(status POST /login '' '{"username":"nobody","password":"nope"}')" = 401 ]
for i in 1 2 3 4 5; do
  s=$(status POST /login "" '{"username":"bob","password":"wrong"}')
  [ "$s" = 401 ] || echo "failure $i answered $s" >&2
done
s=$(status POST /login "" '{"username":"bob","password":"wrong"}')
check "6th failure: 429" [ "$s" = 429 ]
ra=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/Ip' "$dir/h")
check "429 says Retry-After (${ra:-none} s)" bash -c "[ -n '$ra' ] && [ '$ra' -gt 0 ] && [ '$ra' -le 300 ]"
check "the right password during the lock-out: 429" [ "$(status POST /login '' '{"username":"bob","password":"bob-secret-22"}')" = 429 ]
check "another user is not locked out" [ "$(status POST /login '' '{"username":"admin","password":"admin-secret-333"}')" = 200 ]
admin=$(token_of admin admin-secret-333)

out=$(req GET /me "$alice")
check "/me with a local token: 200" has "$out" '^200$' '"user":"alice"' '"via":"local"' '"roles":\["staff"\]'
check "/me without a token: 401" [ "$(status GET /me)" = 401 ]
check "401 says WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$dir/h"
for kind in stranger expired wrong-aud wrong-iss hs256-other; do
  t=$("$py" "$helper" mint "$dir" "$kind" "$iss" "$aud")
  s=$(status GET /me "$t")
  check "token $kind: 401 ($(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' "$dir/body"))" [ "$s" = 401 ]
done
# one character in the middle of the signature changed (the last one carries padding bits)
c=${alice: -10:1}; [ "$c" = A ] && c=B || c=A
check "a forged token: 401" [ "$(status GET /me "${alice:0:${#alice}-10}$c${alice: -9}")" = 401 ]
for kind in rs256 es256; do
  t=$("$py" "$helper" mint "$dir" "$kind" "$iss" "$aud")
  out=$(req GET /me "$t")
  check "OIDC $kind token accepted, claims mapped" has "$out" '^200$' '"user":"bob"' '"sub":"oidc-bob-1"' \
    '"roles":\["staff","supervisor"\]' '"groups":\["helpdesk"\]' '"via":"oidc"'
done

# The provider rotates its keys: a token of the new key is accepted once the gateway has read
# the JWKS again (on the unknown kid, at most once a second here: wait for it, bounded).
"$py" "$helper" rotate "$dir"
t=$("$py" "$helper" mint "$dir" rotated "$iss" "$aud")
for ((i = 0; i < 50 * RW_SCALE; i++)); do
  [ "$(status GET /me "$t")" = 200 ] && break
  sleep 0.1
done
check "a rotated key accepted after the JWKS is read again" [ "$(status GET /me "$t")" = 200 ]
t=$("$py" "$helper" mint "$dir" stranger "$iss" "$aud")
check "a key never published still refused" [ "$(status GET /me "$t")" = 401 ]
check "HEAD: 200, headers only" bash -c "[ \"\$(curl -s -I -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $alice' $api/me)\" = 200 ]"

# Twelve logins at once (the Argon2 verifications take turns, four at a time): all 200.
seq 12 | xargs -P 12 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST \
  -d '{"username":"alice","password":"alice-secret-1"}' "$api/login" >"$dir/parallel"
check "12 logins at once: 12 answered 200" [ "$(grep -c '^200$' "$dir/parallel")" = 12 ]

# Rights: staff on another user, staff on the audit; an admin reads the audit of a change.
check "staff alice reading bob: 403" [ "$(status GET /users/bob "$alice")" = 403 ]
check "staff alice reading alice: 200" [ "$(status GET /users/alice "$alice")" = 200 ]
check "staff alice on the audit: 403" [ "$(status GET /audit "$alice")" = 403 ]
s=$(status PUT /users/alice/presence "$alice" '{"state":"busy"}')
check "alice sets her presence ($s)" [ "$s" = 200 ]
out=$(req GET "/audit?limit=5" "$admin")
check "the change audited: who, what, from where" has "$out" '^200$' '"sub":"alice"' '"via":"local"' \
  '"action":"presence.set"' '"target":"alice"' '"remote":"127.0.0.1"' '"ts":[0-9]+'
out=$(req GET '/audit?limit=1' "$admin")
check "audit: limit 1 gives a next cursor" has "$out" '"next":"[0-9]+-[0-9]+"'

# Bad input: the body is refused with a reason, nothing else stops.
out=$(req PUT /users/alice/presence "$alice" '{"state": busy}')
check "bad JSON: 400 with the position" has "$out" '^400$' '"code":"bad_json"' 'line 1, column [0-9]+'
head -c 10485760 /dev/zero | tr '\0' 'a' >"$dir/big"
s=$(curl -s -o "$dir/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$dir/big" "$api/login")
check "10 MB body: 413 ($(cat "$dir/body"))" [ "$s" = 413 ]
check "the gateway answers after it" [ "$(status GET /me "$alice")" = 200 ]
check "unknown path: 404 JSON" has "$(req GET /nothing "$alice")" '^404$' '"code":"not_found"'
check "wrong method: 405" [ "$(status DELETE /me "$alice")" = 405 ]
check "405 says Allow: GET" grep -qi '^Allow: GET' "$dir/h"

# The web page, and nothing outside its directory.
s=$(curl -s -o "$dir/page" -D "$dir/h" -w '%{http_code}' "http://127.0.0.1:$gport/")
check "/ is the page (text/html)" bash -c "[ $s = 200 ] && grep -qi '^Content-Type: text/html' '$dir/h'"
check "the page says Content-Security-Policy: default-src 'self'" grep -qi "^Content-Security-Policy: default-src 'self'" "$dir/h"
etag=$(sed -n 's/^ETag: *\([^[:space:]]*\).*/\1/Ip' "$dir/h")
s=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://127.0.0.1:$gport/index.html")
check "the page again with its ETag: 304" [ "$s" = 304 ]
for p in "/../../../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/..%2f..%2fetc/passwd" "/x/../../etc/hostname" \
         "/leak.txt" "/sub/" "/sub"; do
  s=$(curl -s --path-as-is -o "$dir/body" -w '%{http_code}' "http://127.0.0.1:$gport$p")
  check "$p: $s, not the file" bash -c "[ $s = 404 ] && ! grep -q 'root:' '$dir/body' && ! grep -qx '$(cat /etc/hostname)' '$dir/body'"
done

# The figures (moved to /metrics by the loop within a fraction of a second: wait, bounded).
metrics_show() {
  local i
  for ((i = 0; i < 50 * RW_SCALE; i++)); do
    curl -fsS "http://127.0.0.1:$hport/metrics" >"$dir/metrics" 2>/dev/null && grep -q "$1" "$dir/metrics" && return 0
    sleep 0.1
  done
  return 1
}
check "metrics: a rate-limited login" metrics_show 'ringway_gateway_logins_total{result="rate_limited"} [1-9]'
check "metrics: requests by route and status" metrics_show 'ringway_gateway_api_requests_total{route="/api/v1/users/{id}",status="403"} 1'
check "metrics: latency histogram" metrics_show 'ringway_gateway_api_request_seconds_count [1-9]'

# The OpenAPI document: valid, every path of docs/gateway.md, every path answering.
out=$("$py" "$helper" openapi "$api/openapi.json" "$top/docs/gateway.md" "$admin" 2>&1); rc=$?
echo "$out" | tail -20
check "OpenAPI document valid and every path answers" [ $rc -eq 0 ]

# ringway account passwd ends the tokens of the old password, rm those of the account.
printf 'alice-secret-2\n' >"$dir/pw2"
out=$("$rw" account passwd alice --password-file "$dir/pw2" 2>&1); rc=$?
check "account passwd: saved (exit 0)" bash -c "[ $rc -eq 0 ] && grep -q 'password changed, saved' <<<\"\$0\"" "$out"
check "the old password's token: 401" [ "$(status GET /me "$alice")" = 401 ]
check "the old password: 401" [ "$(status POST /login '' '{"username":"alice","password":"alice-secret-1"}')" = 401 ]
check "the new password: 200" [ "$(status POST /login '' '{"username":"alice","password":"alice-secret-2"}')" = 200 ]
check "account rm admin" bash -c "'$rw' account rm admin >/dev/null"
check "a removed account's token: 401" [ "$(status GET /me "$admin")" = 401 ]
check "account rm of nobody: exit 1" bash -c "'$rw' account rm admin 2>/dev/null; [ \$? -eq 1 ]"
sup=$("$py" "$helper" mint "$dir" rs256 "$iss" "$aud")   # an OIDC supervisor of helpdesk

# A live stream (server-sent events) open while the gateway stops: the stream ends, exit 0.
curl -s -N -D "$dir/sse.h" -o "$dir/sse" -H "Authorization: Bearer $sup" "$api/groups/helpdesk/events" &
sse=$!
for ((i = 0; i < 50 * RW_SCALE; i++)); do grep -qi '^Content-Type: text/event-stream' "$dir/sse.h" 2>/dev/null && break; sleep 0.1; done
check "events: text/event-stream" grep -qi '^Content-Type: text/event-stream' "$dir/sse.h"
check "events: Cache-Control: no-cache, no length" bash -c "grep -qi '^Cache-Control: no-cache' '$dir/sse.h' && ! grep -qi '^Content-Length' '$dir/sse.h'"

rw_stop "$gw"; rc=$?
check "SIGTERM: exit 0 (no leak, no sanitizer report)" [ $rc -eq 0 ]
for ((i = 0; i < 50 * RW_SCALE; i++)); do kill -0 $sse 2>/dev/null || break; sleep 0.1; done
check "the stream ended with the gateway" bash -c "! kill -0 $sse 2>/dev/null"
check "no sanitizer or valgrind report in the log" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' '$dir/gw.log'"
check "valgrind clean" rw_valgrind_clean "$dir/gw.log"
grep -q '"level":"error"' "$dir/gw.log" && grep '"level":"error"' "$dir/gw.log" | head -5 >&2

echo "gateway_auth_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
