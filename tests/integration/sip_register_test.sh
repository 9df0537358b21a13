#!/usr/bin/env bash
# tests/integration/sip_register_test.sh — the registrar as devices meet it: a real redis-server,
# a directory imported with the ringway CLI, ringway-sip-edge, SIPp REGISTER scenarios
# (tests/integration/sip/register_*.xml) and one real UA (baresip) registering with digest.
# Asserts the SIP answers SIPp sees and the bindings in Redis (rw:loc:<aor>).
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
src=${RINGWAY_SOURCE_DIR:?}
edge_bin=$build/services/sip-edge/ringway-sip-edge
cli=$build/tools/ringway
sc=$src/tests/integration/sip
if [ ! -x "$edge_bin" ] || ! command -v sipp >/dev/null; then
  echo "sip_register_test: ringway-sip-edge or sipp missing" >&2; exit 1
fi

# shellcheck source=tests/harness/wrap.sh
. "$src/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): sip-edge runs under it
rw_workdir                         # $dir and $pids, cleaned up on exit (KEEP=1 keeps $dir)
read -r rport sip1 http1 sip2 http2 ua bua < <("$RINGWAY_FREE_PORT" 7 | tr '\n' ' ')
secret=test-secret-$$
realm=ringway.local

rw_redis_start "$rport" "$dir" || { echo "FAIL: redis-server did not start" >&2; exit 1; }
pids+=("$RW_REDIS_PID")
R() { redis-cli -p "$rport" "$@"; }

cat >"$dir/dir.json" <<EOF
{ "realm": "$realm",
  "users": [
    { "id": "alice", "ext": "2001", "name": "Alice", "password": "alice-pw",
      "devices": [ { "id": "softphone", "kind": "sip" } ] },
    { "id": "bob", "ext": "2002", "name": "Bob", "password": "bob-pw" },
    { "id": "carol", "ext": "2003", "name": "Carol", "password": "carol-pw" } ] }
EOF
check "directory imported" "$cli" --redis "127.0.0.1:$rport" import "$dir/dir.json"
check "HA1s stored, no password" bash -c "[ \$(redis-cli -p $rport hget rw:user:alice ha1 | wc -c) -eq 33 ] && ! redis-cli -p $rport hgetall rw:user:alice | grep -q alice-pw"

start_edge() { # sip-port http-port log
  RINGWAY_REDIS_PORT=$rport RINGWAY_SIP_PORT=$1 RINGWAY_HTTP_PORT=$2 RINGWAY_SIP_TRANSPORTS=udp \
  RINGWAY_AUTH_NONCE_SECRET=$secret RINGWAY_AUTH_NONCE_TTL_S=300 RINGWAY_AUTH_FAIL_LIMIT=6 \
  RINGWAY_AUTH_FAIL_WINDOW_S=120 RINGWAY_AUTH_LOCKOUT_S=30 RINGWAY_REG_MIN_EXPIRES=2 \
  RINGWAY_REG_MAX_EXPIRES=600 RINGWAY_REG_DEFAULT_EXPIRES=300 RINGWAY_LOG_LEVEL=debug \
    "${RW_WRAP[@]}" "$edge_bin" >>"$3" 2>&1 &
  last_pid=$!
  pids+=($last_pid)
  rw_wait_health "$2"
}
start_edge "$sip1" "$http1" "$dir/edge1.log"; edge1=$last_pid

n=0
sipp_run() { # port scenario user password contact expires [more sipp args...]
  local port=$1 scen=$2 user=$3 pw=$4 contact=$5 exp=$6; shift 6
  n=$((n+1))
  timeout "$(rw_secs 20)" sipp "127.0.0.1:$port" -sf "$sc/$scen" -m 1 -l 1 -i 127.0.0.1 -p "$ua" -t u1 \
    -au "$user" -ap "$pw" -key user "$user" -key contact "$contact" -key expires "$exp" \
    -timeout "$(rw_secs 10)" -timeout_error -nostdin -trace_err -error_file "$dir/sipp$n.err" \
    -trace_msg -message_file "$dir/sipp$n.msg" -trace_logs -log_file "$dir/sipp$n.log" "$@" \
    >/dev/null 2>&1
}
aor=sip:2001@$realm
loc=rw:loc:$aor
me="<sip:2001@127.0.0.1:$ua>"

# 1. challenge then 200 with the binding
check "401 challenge then 200" sipp_run "$sip1" register_ok.xml 2001 alice-pw "$me" 120
check "binding in Redis" bash -c "redis-cli -p $rport hget '$loc' 'sip:2001@127.0.0.1:$ua' | grep -q sipp-register"
check "challenge is qop=auth MD5 in our realm" grep -q "WWW-Authenticate: Digest realm=\"$realm\", nonce=\"[0-9a-f]\{40\}\", algorithm=MD5, qop=\"auth\"" "$dir/sipp$n.msg"
check "200 lists the contact with expires" grep -q "Contact: <sip:2001@127.0.0.1:$ua>;expires=1[12][0-9]" "$dir/sipp$n.msg"
check "key expires with the binding" bash -c "t=\$(redis-cli -p $rport pttl '$loc'); [ \$t -gt 100000 ] && [ \$t -le 181000 ]"

# 2. wrong password and unknown user: the same answer (403), nothing about who exists
check "wrong password -> 403" sipp_run "$sip1" register_forbidden.xml 2001 wrong-pw "$me" 120
wrong=$(grep -A1 "^SIP/2.0 403" "$dir/sipp$n.msg" | head -1)
check "unknown user -> 403" sipp_run "$sip1" register_forbidden.xml 2999 alice-pw "<sip:2999@127.0.0.1:$ua>" 120
unknown=$(grep -A1 "^SIP/2.0 403" "$dir/sipp$n.msg" | head -1)
check "both answers identical" bash -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$wrong" "$unknown"
check "no binding for the unknown user" [ "$(R exists rw:loc:sip:2999@$realm)" = 0 ]
check "failures logged" grep -q '"event":"auth_failed"' "$dir/edge1.log"

# 3. stale nonce: a genuine nonce issued 1000 s ago -> 401 stale=true
old=$(( $(date +%s) - 1000 ))
head=$(printf '%08x%08x' "$old" 12345)
mac=$(printf '%s' "$head" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= //' | cut -c1-24)
auth="Digest username=\"2001\", realm=\"$realm\", nonce=\"$head$mac\", uri=\"sip:$realm\", response=\"00000000000000000000000000000000\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\""
check "expired nonce -> 401 stale=true" sipp_run "$sip1" register_stale.xml 2001 x "$me" 120 -key auth "$auth"

# 4. credentials computed here (the test knows the secret and the password): MD5 and SHA-256
#    accepted; the same nonce count sent again is refused with 401 stale=true
mknonce() { local h; h=$(printf '%08x%08x' "$1" "$RANDOM"); printf '%s%s' "$h" "$(printf '%s' "$h" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= //' | cut -c1-24)"; }
H() { printf '%s' "$2" | openssl dgst "-$1" | sed 's/^.*= //'; }
digest() { # alg(md5|sha256) name(MD5|SHA-256) user password nonce nc
  local ha1 ha2 resp
  ha1=$(H "$1" "$3:$realm:$4"); ha2=$(H "$1" "REGISTER:sip:$realm")
  resp=$(H "$1" "$ha1:$5:$6:c0ffee:auth:$ha2")
  printf 'Digest username="%s", realm="%s", nonce="%s", uri="sip:%s", response="%s", algorithm=%s, qop=auth, nc=%s, cnonce="c0ffee"' "$3" "$realm" "$5" "$realm" "$resp" "$2" "$6"
}
nonce=$(mknonce "$(date +%s)")
check "MD5 digest accepted" sipp_run "$sip1" register_given.xml 2001 x "$me" 120 -key auth "$(digest md5 MD5 2001 alice-pw "$nonce" 00000001)"
check "next nonce count accepted" sipp_run "$sip1" register_given.xml 2001 x "$me" 120 -key auth "$(digest md5 MD5 2001 alice-pw "$nonce" 00000002)"
check "replayed nonce count -> 401 stale=true" sipp_run "$sip1" register_stale.xml 2001 x "$me" 120 -key auth "$(digest md5 MD5 2001 alice-pw "$nonce" 00000002)"
retrans_auth=$(digest md5 MD5 2001 alice-pw "$nonce" 00000003)
check "a REGISTER answered 200" sipp_run "$sip1" register_retrans.xml 2001 x "$me" 120 -key auth "$retrans_auth" -key tid "t$$" -cid_str "retrans-t$$@127.0.0.1"
first=$n
check "its retransmission (same branch, Call-ID, CSeq, nonce count) answered 200 again" \
  sipp_run "$sip1" register_retrans.xml 2001 x "$me" 120 -key auth "$retrans_auth" -key tid "t$$" -cid_str "retrans-t$$@127.0.0.1"
to_tag() { grep -A12 '^SIP/2.0 200' "$dir/sipp$1.msg" | grep -i '^To:' | grep -o 'tag=[^;>]*' | head -1; }
check "the same answer: the same To tag ($(to_tag $first))" [ -n "$(to_tag $first)" -a "$(to_tag $first)" = "$(to_tag $n)" ]
check "the retransmission was absorbed" bash -c "curl -fsS http://127.0.0.1:$http1/metrics | grep -Eq '^ringway_sip_edge_register_retransmissions_total [1-9]'"
check "SHA-256 digest accepted" sipp_run "$sip1" register_given.xml 2001 x "$me" 120 -key auth "$(digest sha256 SHA-256 2001 alice-pw "$(mknonce "$(date +%s)")" 00000001)"

# 5. Expires below the minimum -> 423 with Min-Expires
check "Expires 1 -> 423" sipp_run "$sip1" register_brief.xml 2001 alice-pw "$me" 1
check "423 carries Min-Expires: 2" grep -q "^Min-Expires: 2" "$dir/sipp$n.msg"

# 6. several contacts with q-values; refresh keeps one binding per contact / instance
two="<sip:2001@127.0.0.1:7001>;q=0.5, <sip:2001@127.0.0.1:7002>;q=0.9"
check "two contacts registered" sipp_run "$sip1" register_ok.xml 2001 alice-pw "$two" 120
check "three bindings now" [ "$(R hlen "$loc")" = 3 ]
check "200 lists all, q kept" bash -c "grep -q 'q=0.9' '$dir/sipp$n.msg' && grep -q 'q=0.5' '$dir/sipp$n.msg'"
check "refresh of the same contacts" sipp_run "$sip1" register_ok.xml 2001 alice-pw "$two" 300
check "still three bindings after refresh" [ "$(R hlen "$loc")" = 3 ]
inst='+sip.instance="<urn:uuid:0f0e0d0c-0000-4000-8000-000000000001>"'
check "instance registered" sipp_run "$sip1" register_ok.xml 2001 alice-pw "<sip:2001@127.0.0.1:7100>;$inst" 120
check "instance moves to a new contact" sipp_run "$sip1" register_ok.xml 2001 alice-pw "<sip:2001@127.0.0.1:7101>;$inst" 120
check "one binding per instance" bash -c "[ \$(redis-cli -p $rport hlen '$loc') = 4 ] && redis-cli -p $rport hget '$loc' '<urn:uuid:0f0e0d0c-0000-4000-8000-000000000001>' | grep -q ':7101'"
check "query lists the bindings" sipp_run "$sip1" register_query.xml 2001 alice-pw "" 120
check "highest q first" bash -c "sed -n '/^SIP\/2.0 200/,/^Content-Length/p' '$dir/sipp$n.msg' | grep -i '^Contact' | tr -d '\n' | grep -Eq '7002>;expires=[0-9]+;q=0.9.*7001>;expires=[0-9]+;q=0.5'"

# 7. Expires 0 removes one binding; "*" with Expires 0 removes them all
check "Expires 0 removes a binding" sipp_run "$sip1" register_ok.xml 2001 alice-pw "<sip:2001@127.0.0.1:7001>" 0
check "that binding gone" bash -c "[ \$(redis-cli -p $rport hlen '$loc') = 3 ] && [ -z \"\$(redis-cli -p $rport hget '$loc' sip:2001@127.0.0.1:7001)\" ]"

# 8. bindings survive a restart and are seen by a second instance sharing Redis
rw_stop "$edge1"; rc0=$?
check "sip-edge exits 0 on SIGTERM (restart)" [ $rc0 -eq 0 ]
check "sip-edge stopped cleanly" grep -q '"event":"stopped"' "$dir/edge1.log"
start_edge "$sip1" "$http1" "$dir/edge1.log"; edge1=$last_pid
check "after restart: query answered" sipp_run "$sip1" register_query.xml 2001 alice-pw "" 120
check "after restart the bindings are listed" grep -Eq "^Contact: .*127.0.0.1:7101>" "$dir/sipp$n.msg"
start_edge "$sip2" "$http2" "$dir/edge2.log"; edge2=$last_pid
check "second instance: query answered" sipp_run "$sip2" register_query.xml 2001 alice-pw "" 120
check "second instance lists the same bindings" grep -Eq "^Contact: .*127.0.0.1:7101>" "$dir/sipp$n.msg"
check "* with Expires 0 removes all" sipp_run "$sip2" register_ok.xml 2001 alice-pw "*" 0
check "no binding left" [ "$(R exists "$loc")" = 0 ]

# 9. a binding that runs out is never returned
check "short registration" sipp_run "$sip1" register_ok.xml 2002 bob-pw "<sip:2002@127.0.0.1:7200>" 2
sleep 3.6
check "expired binding not listed" sipp_run "$sip1" register_empty.xml 2002 bob-pw "" 120
check "expiry swept from Redis" bash -c "[ \$(redis-cli -p $rport hlen rw:loc:sip:2002@$realm) = 0 ]"

# 10. a real UA: baresip registers with digest
if command -v baresip >/dev/null; then
  bdir=$dir/baresip; mkdir -p "$bdir"
  cat >"$bdir/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$bua
sip_transports		udp
net_interface		127.0.0.1
module_path		/usr/lib/baresip/modules
module			g711.so
module_app		account.so
EOF
  echo "<sip:2003@127.0.0.1:$sip1;transport=udp>;auth_pass=carol-pw;regint=120" >"$bdir/accounts"
  baresip -f "$bdir" </dev/null >"$dir/baresip.log" 2>&1 &
  bpid=$!; pids+=($bpid)
  for _ in $(seq 1 $((50 * RW_SCALE))); do [ "$(R hlen rw:loc:sip:2003@$realm)" = 1 ] && break; sleep 0.1; done
  check "baresip registered with digest (binding in Redis)" bash -c "redis-cli -p $rport hvals rw:loc:sip:2003@$realm | grep -q '127.0.0.1:$bua'"
  check "baresip saw 200" grep -q "200 OK" "$dir/baresip.log"
  kill -TERM "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null
  check "baresip unregistered on exit (Expires 0)" [ "$(R exists rw:loc:sip:2003@$realm)" = 0 ]
else
  check "baresip installed (tools/install-deps.sh test)" false
fi

# 11. lockout: failures from one source are slowed, then refused for a while
for i in 1 2 3 4 5 6; do sipp_run "$sip1" register_forbidden.xml 2001 guess$i "$me" 120; done
check "locked out source gets 503 + Retry-After" sipp_run "$sip1" register_locked.xml 2001 alice-pw "$me" 120
check "even with the right password" sipp_run "$sip1" register_locked.xml 2001 alice-pw "$me" 120
check "lockout logged" grep -q '"event":"auth_lockout"' "$dir/edge1.log"
check "lockout counted in /metrics" bash -c "curl -fs http://127.0.0.1:$http1/metrics | grep -q '^ringway_sip_edge_auth_lockouts_total 1'"
check "refusals counted in /metrics" bash -c "curl -fs http://127.0.0.1:$http1/metrics | grep -q 'auth_total{result=\"locked_out\"} [1-9]'"
check "the other instance refuses it too (lockout shared through Redis)" sipp_run "$sip2" register_locked_auth.xml 2001 alice-pw "$me" 120
check "the shared lockout is in Redis" bash -c "[ \$(redis-cli -p $rport pttl rw:authlock:127.0.0.1) -gt 0 ]"

rw_stop "$edge1"; rc1=$?
rw_stop "$edge2"; rc2=$?
check "sip-edge exits 0 on SIGTERM" [ $rc1 -eq 0 ]
check "the second sip-edge exits 0 on SIGTERM" [ $rc2 -eq 0 ]
check "no valgrind report" rw_valgrind_clean "$dir/edge1.log" "$dir/edge2.log"
check "no sanitizer reports" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' '$dir/edge1.log' '$dir/edge2.log'"
if [ $failed -ne 0 ]; then
  for f in "$dir"/*.err; do [ -s "$f" ] && { echo "== $f"; tail -5 "$f"; }; done
  tail -30 "$dir/edge1.log"
fi
echo "sip_register_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
