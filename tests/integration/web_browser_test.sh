#!/usr/bin/env bash
# tests/integration/web_browser_test.sh — the web page in a real browser (web_browser.py: Debian
# chromium headless, chromium-driver, python3-selenium, as a 375 px phone) against the whole
# stack as `make demo` runs it (tools/demo.sh on free ports, its state under this test's work
# directory): redis-server, router, sip-edge, huntgroup, presence and the gateway serving web/.
# With the banner's web logins: alice (staff) switches her profile to on-leave: the sentence
# changes and `ringway explain --json` (the banner's CLI line, same configuration) says the same
# within 1 s; a switch after the CLI changed it is told "changed elsewhere"; a quick divert is
# named by the sentence, a bad one refused in plain words; the helpdesk's supervisor
# watches its wallboard while a SIPp caller waits in the queue (both agents paused: nobody
# answers) and then hangs up (CANCEL): 1 waiting within 1 s of the join, 0 within 1 s of the
# CANCEL; the gateway killed with SIGKILL is started again by the runner and the wallboard
# reconnects by itself. Without chromium (or its driver, or selenium) tools/install-deps.sh
# installs them; only when that cannot be done the test prints why and skips (exit 0).
# The work directory is under the build tree (web_browser.XXXXXX); it is kept, and its path
# printed, when a check fails: screenshots, page HTML, the page's console log, every log.
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}
build=${RINGWAY_BUILD_DIR:?}
# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"     # RINGWAY_WRAP (make valgrind): tools/demo.sh runs the services under it
py=/usr/bin/python3                # Debian's, with python3-selenium (a python3 on PATH may lack it)

have_browser() {
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && "$py" -c 'import selenium' 2>/dev/null
}
if ! have_browser; then
  echo "web_browser_test: chromium, chromium-driver or python3-selenium missing: tools/install-deps.sh test"
  "$top/tools/install-deps.sh" test >&2 || true
  if ! have_browser; then
    echo "web_browser_test: SKIP: no headless browser (Debian chromium, chromium-driver, python3-selenium) and they could not be installed"
    echo "web_browser_test: 0 passed, 0 failed"
    exit 0
  fi
fi
for bin in services/gateway/ringway-gateway tools/ringway; do
  [ -x "$build/$bin" ] || { echo "FAIL: $build/$bin is not built" >&2; exit 1; }
done

work=$(mktemp -d "$build/web_browser.XXXXXX")
read -r redis_port http_base bus_base sip_port caller_port < <("$RINGWAY_FREE_PORT" 5 | tr '\n' ' ')
out=$work/demo.out
export XDG_STATE_HOME=$work RINGWAY_REDIS_PORT=$redis_port RINGWAY_HTTP_PORT=$http_base \
       RINGWAY_BUS_PORT=$bus_base RINGWAY_SIP_PORT=$sip_port RINGWAY_SIP_PROCESSES=1 \
       RINGWAY_SIP_PEERS="callers 127.0.0.1:0 proxy"     # the test's SIPp caller as a trusted peer
state=$work/ringway-demo
setsid "$top/tools/demo.sh" "$build" >"$out" 2>&1 &
demo=$!
finish() {
  local rc=$1
  kill -TERM "$demo" 2>/dev/null
  for ((i = 0; i < 300 * RW_SCALE; i++)); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
  pkill -KILL -s "$demo" 2>/dev/null
  wait "$demo" 2>/dev/null
  if [ "$rc" -ne 0 ] || [ -n "${KEEP:-}" ]; then
    echo "web_browser_test: work directory kept: $work (screenshots, page HTML, console.log, demo logs in ringway-demo/logs)" >&2
  else
    rm -rf "$work"
  fi
}
trap 'finish $?' EXIT
fail() { echo "FAIL: $*" >&2; tail -n 40 "$out" >&2; exit 1; }

for _ in $(seq 1 $((300 * RW_SCALE))); do grep -q "Ctrl-C stops everything" "$out" && break; sleep 0.1; done
grep -q "Ctrl-C stops everything" "$out" || fail "the demo did not come up"
page=$(sed -n 's|^  Web page *\(http://[^ ]*/\) .*|\1|p' "$out")
[ -n "$page" ] || fail "the demo's banner gives no address for the web page"
curl -fsS -o "$work/index.html" "$page" && grep -q '<title>Ringway</title>' "$work/index.html" \
  || fail "$page does not serve web/index.html"
cli=$(sed -n 's/^  The CLI: *//p' "$out")
[ -n "$cli" ] || fail "the banner prints no CLI command line"
rw=${cli%% *}
conf=$state/ringway.conf
# The banner's web logins: alice (staff) and the helpdesk's supervisor.
logins=$(sed -n 's/^  Web logins *//p' "$out")
login_of() {  # role words: "NAME:PASSWORD" of the login the banner gives for that role
  sed -n "s|\(.*, \)\{0,1\}\([^ ,]*\) / \([^ ,]*\) ($1).*|\2:\3|p" <<<"$logins"
}
staff=$(login_of staff); super=$(login_of 'supervisor of helpdesk'); admin=$(login_of admin)
[ -n "$staff" ] && [ -n "$super" ] && [ -n "$admin" ] || fail "the banner gives no staff, supervisor or admin login: $logins"
# Nobody answers helpdesk: both agents stay logged in, paused, so a caller waits in the queue.
for a in bob carol; do "$rw" -c "$conf" agent pause "$a" web-test >/dev/null || fail "ringway agent pause $a"; done

# The caller: joins 2100 (helpdesk) as a trusted peer, waits in the queue until the test sends
# it a SIP MESSAGE in its dialog (Call-ID web-queue-N), then sends CANCEL (200, then 487).
cat >"$work/queue_caller.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="web_queue_caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-webq-[pid]-[call_number]
From: <sip:[caller]@ringway.local>;tag=[pid]webq[call_number]
To: <sip:[service]@ringway.local>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[caller]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=uac 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio 6002 RTP/AVP 0
]]></send>
  <label id="1"/>
  <recv response="100" optional="true" next="1"/>
  <recv response="180" optional="true" next="1"/>
  <recv response="183" optional="true" next="1"/>
  <recv request="MESSAGE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-webq-[pid]-[call_number]
From: <sip:[caller]@ringway.local>;tag=[pid]webq[call_number]
To: <sip:[service]@ringway.local>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
  <label id="2"/>
  <recv response="180" optional="true" next="2"/>
  <recv response="200"/>
  <recv response="487"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-webq-[pid]-[call_number]
From: <sip:[caller]@ringway.local>;tag=[pid]webq[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
</scenario>
XML
caller="timeout $(rw_secs 60) sipp -sf '$work/queue_caller.xml' -s 2100 -key caller +441632960777 \
  -cid_str 'web-queue-%u' -i 127.0.0.1 -p $caller_port -m 1 -nostdin -timeout $(rw_secs 50)s -timeout_error \
  -trace_err -error_file '$work/caller.err' -trace_msg -message_file '$work/caller.msg' 127.0.0.1:$sip_port >/dev/null 2>&1"
# The gateway killed with SIGKILL (the runner starts it again), and when the new one follows the
# hunt groups' events: it logs its view of the registry's huntgroup.events once it has read it.
views() { grep -c '"event":"bus_view_changed","key":"rw:svc:huntgroup.events"' "$state/logs/gateway.log"; }
cat >"$work/restart_gateway.sh" <<SH
grep -c '"event":"bus_view_changed","key":"rw:svc:huntgroup.events"' '$state/logs/gateway.log' >'$work/views_before'
pid=\$(pgrep -s $demo -f '$build/services/gateway/ringway-gateway\$' | head -1)
[ -n "\$pid" ] && kill -KILL "\$pid"
SH
cat >"$work/gateway_ready.sh" <<SH
for ((i = 0; i < $((300 * RW_SCALE)); i++)); do
  [ "\$(grep -c '"event":"bus_view_changed","key":"rw:svc:huntgroup.events"' '$state/logs/gateway.log')" -gt "\$(cat '$work/views_before')" ] && exit 0
  sleep 0.1
done
exit 1
SH
[ -n "$(pgrep -s "$demo" -f "$build/services/gateway/ringway-gateway\$")" ] || fail "no gateway process in the demo"
for _ in $(seq 1 $((100 * RW_SCALE))); do [ "$(views)" -gt 0 ] && break; sleep 0.1; done
[ "$(views)" -gt 0 ] || fail "the gateway does not follow huntgroup.events"

"$py" "$top/tests/integration/web_browser.py" --url "$page" --workdir "$work" --scale "$RW_SCALE" \
  --staff "$staff" --expect-number '01632 960001 \(ext 2001\)' \
  --profile on-leave --expect-sentence '2002' --explain "$cli --json" \
  --foreign-change "$rw -c $conf profile switch alice home" --profile-back office \
  --admin "$admin" --supervisor "$super" --group helpdesk \
  --queue-len "redis-cli -p $redis_port zcard rw:hg:q:helpdesk" \
  --redis-cli "redis-cli -p $redis_port" \
  --caller "$caller" --caller-port "$caller_port" --call-id web-queue-1 --caller-number +441632960777 \
  --restart "bash $work/restart_gateway.sh" --gateway-ready "bash $work/gateway_ready.sh"
rc=$?
grep -q 'died (signal 9)' "$out" || { echo "FAIL: the runner did not log the gateway's death" >&2; rc=1; }
rw_valgrind_clean "$state"/logs/*.log || rc=1
exit $rc
