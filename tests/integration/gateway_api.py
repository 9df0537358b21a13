#!/usr/bin/python3
"""tests/integration/gateway_api.py — the API checks of gateway_api_test.sh against a real
gateway (its services started by the script): staff reading and changing their own settings
and not a colleague's, If-Match (two PUTs with one ETag: 200 then 412, the directory keeps the
first), 422 with the directory's sentence and nothing changed, 400 on bad JSON, the explain
sentence equal to `ringway --json explain`'s for the same time and after a divert, an admin's
user and group that answer a real call, a supervisor's own group and not another's, and the
wallboard's server-sent events within 1 s of a SIPp caller joining and then abandoning.

Environment (set by the script): GW (http://127.0.0.1:PORT), RW (the ringway CLI), ROUTER (the
router's bus endpoint), SIPP_CALL (a command placing one call: extension, scenario, name, caller
number), SIPP_REGISTER (dave's phone registers), SIPP_ANSWER / SIPP_ANSWER_WAIT (dave's phone
answering one call, and the wait for it to listen), CANCEL_XML (a caller who hangs up 2 s after
180), UAC480_XML (a caller expecting 480), SCALE (RW_SCALE). Prints "ok: ..." or "FAIL: ..." per check and
exits 1 when one failed."""
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

GW = urllib.parse.urlparse(os.environ["GW"])
RW = os.environ["RW"]
ROUTER = os.environ["ROUTER"]
SCALE = int(os.environ.get("SCALE", "1"))
passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok: " + what, flush=True)
    else:
        failed += 1
        print("FAIL: %s %s" % (what, detail), file=sys.stderr, flush=True)


def call(method, path, token=None, body=None, if_match=None, raw=None):
    """(status, etag, json or None) of one request."""
    conn = http.client.HTTPConnection(GW.hostname, GW.port, timeout=10 * SCALE)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if if_match:
        headers["If-Match"] = if_match
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = None
    return resp.status, resp.getheader("ETag"), doc


def message(doc):
    return ((doc or {}).get("error") or {}).get("message", "")


def login(name, password):
    status, _, doc = call("POST", "/api/v1/login", body={"username": name, "password": password})
    check("login " + name, status == 200 and doc and doc.get("token"), str(doc))
    return (doc or {}).get("token")


def cli_explain(number, at):
    out = subprocess.run([RW, "--json", "explain", number, "--at", at, "--router", ROUTER],
                         capture_output=True, text=True, timeout=30 * SCALE)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"stdout": out.stdout, "stderr": out.stderr}


def wait_for(seconds, cond):
    """Until cond() is true, at most seconds (scaled): its last value."""
    end = time.monotonic() + seconds * SCALE
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(0.05)


class Stream(threading.Thread):
    """A server-sent-event stream read in the background: (arrival ms, event, data) each."""

    def __init__(self, path, token):
        super().__init__(daemon=True)
        self.path, self.token = path, token
        self.messages, self.status, self.ctype = [], None, None
        self.lock = threading.Lock()
        self.conn = None

    def run(self):
        self.conn = http.client.HTTPConnection(GW.hostname, GW.port, timeout=60 * SCALE)
        self.conn.request("GET", self.path, headers={"Authorization": "Bearer " + self.token,
                                                     "Accept": "text/event-stream"})
        resp = self.conn.getresponse()
        self.status, self.ctype = resp.status, resp.getheader("Content-Type")
        event, data = None, []
        try:
            while True:
                line = resp.fp.readline()
                if not line:
                    return
                line = line.decode().rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and (event or data):
                    with self.lock:
                        self.messages.append((int(time.time() * 1000), event, json.loads("\n".join(data))))
                    event, data = None, []
        except (OSError, ValueError):
            return

    def find(self, pred):
        with self.lock:
            for m in self.messages:
                if pred(m):
                    return m
        return None

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except OSError:
            pass


def main():
    alice, bob = login("alice", "alice-web-pw"), login("bob", "bob-web-pw")
    carol, admin = login("carol", "carol-web-pw"), login("admin", "admin-web-pw")

    # --- staff: own resources, not a colleague's -----------------------------------------
    status, etag, doc = call("GET", "/api/v1/users/alice", alice)
    check("alice reads herself: 200 with her number and devices", status == 200 and doc["ext"] == "2001"
          and len(doc["devices"]) == 3, str(doc))
    status, _, doc = call("GET", "/api/v1/users/bob", alice)
    check("alice reads bob: 403", status == 403, str(doc))
    status, _, doc = call("PUT", "/api/v1/users/bob/presence", alice, {"state": "busy"})
    check("alice changes bob's presence: 403", status == 403, str(doc))

    # --- settings: ETag, If-Match, concurrent edits ----------------------------------------
    status, etag, doc = call("GET", "/api/v1/users/alice/settings", alice)
    check("alice reads her settings with an ETag", status == 200 and etag, str(doc))
    first = {"active": "office", "profiles": {
        "office": [{"name": "day", "action": "ring", "mode": "sequential",
                    "ring": [{"device": "softphone", "secs": 15}, {"device": "mobile", "secs": 20}]}],
        "home": [{"name": "all", "action": "ring", "ring": ["mobile"]}]}}
    second = {"active": "home", "profiles": {"home": [{"name": "all", "action": "ring", "ring": ["mobile"]}]}}
    s1, e1, d1 = call("PUT", "/api/v1/users/alice/settings", alice, first, if_match=etag)
    s2, _, d2 = call("PUT", "/api/v1/users/alice/settings", alice, second, if_match=etag)
    check("two PUTs with the same ETag: the first 200", s1 == 200, str(d1))
    check("... the second 412 with a readable message", s2 == 412 and "reload" in message(d2), str(d2))
    status, etag, doc = call("GET", "/api/v1/users/alice/settings", alice)
    check("the directory has the first", doc and doc["settings"].get("active") == "office"
          and "office" in doc["settings"]["profiles"], str(doc))
    before = doc["settings"]
    bad = {"active": "office", "profiles": {"office": [{"name": "x", "action": "ring", "ring": ["deskphone"]}]}}
    status, _, doc = call("PUT", "/api/v1/users/alice/settings", alice, bad, if_match=etag)
    check("a rule naming a missing device: 422 with the directory's message", status == 422
          and "deskphone" in message(doc), str(doc))
    status, etag2, doc = call("GET", "/api/v1/users/alice/settings", alice)
    check("... and nothing changed", doc["settings"] == before and etag2 == etag, str(doc))
    status, _, doc = call("PUT", "/api/v1/users/alice/settings", alice, raw="{\"active\": ", if_match=etag)
    check("bad JSON: 400 with a message", status == 400 and message(doc), str(doc))
    status, _, doc = call("PUT", "/api/v1/users/alice/settings", alice, first)
    check("no If-Match: 428", status == 428, str(doc))

    # --- explain: the same sentence as the CLI's -------------------------------------------
    at = "2026-03-30T10:04:00+01:00"
    status, _, doc = call("GET", "/api/v1/users/alice/explain?at=" + urllib.parse.quote(at), alice)
    cli = cli_explain("2001", at)
    check("explain: 200 with a sentence", status == 200 and doc.get("sentence"), str(doc))
    check("explain: the sentence says where calls ring",
          (doc or {}).get("sentence") == "Calls to 2001 ring your softphone for 15 s, then your mobile; then voicemail.",
          str((doc or {}).get("sentence")))
    check("explain: the sentence equals `ringway explain`'s for the same --at",
          doc.get("sentence") == cli.get("sentence"), "%r vs %r" % (doc.get("sentence"), cli.get("sentence")))
    check("explain: the trace equals `ringway explain`'s", doc.get("trace") == cli.get("trace"),
          "%r vs %r" % (doc.get("trace"), cli.get("trace")))
    before_sentence = doc.get("sentence")
    until = int(time.time() * 1000) + 3600 * 1000
    status, _, doc = call("PUT", "/api/v1/users/alice/divert", alice, {"to": "mobile", "until": until})
    check("alice diverts to her mobile for an hour: 200", status == 200 and doc["state"] == "in force", str(doc))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    status, _, doc = call("GET", "/api/v1/users/alice/explain?at=" + urllib.parse.quote(now), alice)
    cli = cli_explain("2001", now)
    check("explain after the divert: the sentence changed and names the mobile",
          doc.get("sentence") != before_sentence and "mobile" in doc.get("sentence", ""), str(doc.get("sentence")))
    check("explain after the divert: the trace shows the divert",
          any("divert" in line for line in doc.get("trace", [])), str(doc.get("trace")))
    check("explain after the divert: the same sentence as the CLI's", doc.get("sentence") == cli.get("sentence"),
          "%r vs %r" % (doc.get("sentence"), cli.get("sentence")))
    status, _, doc = call("DELETE", "/api/v1/users/alice/divert", alice)
    check("the divert is cleared", status == 200, str(doc))

    # --- admin: a user and a group that answer a call --------------------------------------
    status, _, doc = call("POST", "/api/v1/users", alice, {"id": "eve", "ext": "2005", "password": "x"})
    check("staff may not create users: 403", status == 403, str(doc))
    status, _, doc = call("POST", "/api/v1/users", admin, {
        "id": "dave", "ext": "2004", "name": "Dave Davies", "password": "dave-pw",
        "devices": [{"id": "desk", "kind": "sip"}]})
    check("admin creates dave: 201", status == 201, str(doc))
    status, _, doc = call("POST", "/api/v1/groups", admin, {"id": "sales", "ext": "3100", "members": []})
    check("a group without members: 422 with the directory's message", status == 422
          and "no members" in message(doc), str(doc))
    status, _, doc = call("POST", "/api/v1/groups", admin, {
        "id": "sales", "ext": "3100", "strategy": "linear", "ring_ms": 5000, "wrapup_s": 0,
        "members": [{"user": "dave"}]})
    check("admin creates group sales (3100, dave): 201", status == 201, str(doc))
    status, _, doc = call("POST", "/api/v1/groups", admin, {
        "id": "queue", "ext": "3200", "join_empty": True, "max_wait_s": 60, "members": [{"user": "bob"}]})
    check("admin creates group queue (3200, nobody logged in, callers wait): 201", status == 201, str(doc))
    status, _, doc = call("POST", "/api/v1/groups", admin, {"id": "other", "ext": "3300", "members": [{"user": "bob"}]})
    check("admin creates group other: 201", status == 201, str(doc))
    status, _, doc = call("POST", "/api/v1/groups/sales/agents/dave/login", admin)
    check("dave logged in to sales: available", status == 200 and doc["state"] == "available", str(doc))
    reg = subprocess.run(["bash", "-c", os.environ["SIPP_REGISTER"]], timeout=60 * SCALE)
    check("dave's phone registers", reg.returncode == 0)
    status, _, doc = call("GET", "/api/v1/users/dave", admin)
    check("dave's desk shows registered", status == 200 and doc["devices"][0].get("registered") is True, str(doc))
    uas = subprocess.Popen(["bash", "-c", os.environ["SIPP_ANSWER"]])
    subprocess.run(["bash", "-c", os.environ["SIPP_ANSWER_WAIT"]], timeout=30 * SCALE)
    rc = subprocess.run(["bash", "-c", os.environ["SIPP_CALL"] + " 3100 call_uac_peer.xml group 3001"],
                        timeout=60 * SCALE).returncode
    check("a call to the new group 3100 is answered", rc == 0)
    check("dave's phone answered it", uas.wait(timeout=60 * SCALE) == 0)

    # --- admin: pages, export and import, the audit ---------------------------------------
    status, _, doc = call("GET", "/api/v1/users?limit=2", admin)
    check("users, 2 a page: alice and bob, and a cursor", status == 200
          and [u["id"] for u in doc["items"]] == ["alice", "bob"] and doc.get("next"), str(doc))
    status, _, doc2 = call("GET", "/api/v1/users?limit=2&cursor=" + urllib.parse.quote((doc or {}).get("next", "")), admin)
    check("the next page: dave, the last", status == 200 and [u["id"] for u in doc2["items"]] == ["dave"]
          and "next" not in doc2, str(doc2))
    status, _, exported = call("GET", "/api/v1/directory", admin)
    check("the directory exported: 3 users, 3 groups", status == 200 and len(exported["users"]) == 3
          and len(exported["groups"]) == 3, str(exported)[:300])
    status, _, doc = call("POST", "/api/v1/directory", admin, exported)
    check("imported back as it is: 200, 3 users and 3 groups", status == 200 and doc["imported_users"] == 3
          and doc["imported_groups"] == 3, str(doc))
    status, _, doc = call("POST", "/api/v1/directory", admin, {"users": [{"id": "zed", "ext": "99", "password": "x"}]})
    check("an import with a bad extension: 422 naming the entry", status == 422 and "users[0]" in message(doc), str(doc))
    status, _, doc = call("GET", "/api/v1/audit?limit=500", admin)
    actions = [(e.get("action"), e.get("sub")) for e in (doc or {}).get("items", [])]
    check("the audit has alice's settings.put and the admin's group.create",
          ("settings.put", "alice") in actions and ("group.create", "admin") in actions, str(actions)[:300])
    status, _, doc = call("GET", "/api/v1/groups/sales/stats?interval=" + urllib.parse.quote(
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), carol)
    # the call may have fallen in the interval before (a 15-minute boundary): totals count it
    check("sales' stats: this interval's figures, and the answered call in the totals", status == 200
          and len(doc["items"]) == 1 and "sl_pct_answered" in doc["items"][0] and doc["totals"]["answered"] == 1,
          str(doc))

    # --- supervisor: their group, not another -------------------------------------------
    status, _, doc = call("GET", "/api/v1/groups/queue/live", carol)
    check("carol reads the board of queue (hers): 200", status == 200 and doc["group"] == "queue", str(doc))
    status, _, doc = call("GET", "/api/v1/groups/other/live", carol)
    check("carol reads the board of other: 403", status == 403, str(doc))
    status, _, doc = call("GET", "/api/v1/groups/other/events", carol)
    check("carol's stream of other: 403", status == 403, str(doc))

    # --- the wallboard's stream: a caller joins, then abandons ------------------------------
    stream = Stream("/api/v1/groups/queue/events", carol)
    stream.start()
    got = wait_for(10, lambda: stream.find(lambda m: m[1] == "snapshot"))
    check("the stream answers 200 text/event-stream with a snapshot first", got and stream.status == 200
          and (stream.ctype or "").startswith("text/event-stream"), "%s %s" % (stream.status, stream.ctype))
    caller = subprocess.Popen(["bash", "-c", os.environ["SIPP_CALL"] + " 3200 " + os.environ["CANCEL_XML"] + " cancel 3002"])

    def joined(m):
        return m[1] == "queue.joined" and m[2].get("waiting") == 1

    def abandoned(m):
        return m[1] == "queue.abandoned" and m[2].get("waiting") == 0

    j = wait_for(15, lambda: stream.find(joined))
    check("the stream shows the caller joining (waiting 1, the caller listed)", j and
          j[2]["callers"][0]["caller"] == "3002", str(j and j[2]))
    if j:
        late = j[0] - j[2]["event"]["ts_ms"]
        print("joined: on the stream %d ms after the event" % late)
        check("... within 1 s of the event", late <= 1000 * SCALE, str(late))
    a = wait_for(15, lambda: stream.find(abandoned))
    check("the stream shows the caller abandoning (waiting 0)", a, str(stream.messages[-3:]))
    if a:
        late = a[0] - a[2]["event"]["ts_ms"]
        print("abandoned: on the stream %d ms after the event" % late)
        check("... within 1 s of the event", late <= 1000 * SCALE, str(late))
    check("the caller's SIPp saw 180, then its CANCEL answered", caller.wait(timeout=60 * SCALE) == 0)
    stream.close()

    # --- recent calls ---------------------------------------------------------------------
    rc = subprocess.run(["bash", "-c", os.environ["SIPP_CALL"] + " 2001 " + os.environ["UAC480_XML"] + " alice 3003"],
                        timeout=60 * SCALE).returncode
    check("a call to alice ends in 480 (nothing registered, no voicemail at sip-edge)", rc == 0)

    def missed():
        status, _, doc = call("GET", "/api/v1/users/alice/calls", alice)
        return status == 200 and [c for c in doc.get("items", []) if c.get("outcome") == "missed"]

    got = wait_for(10, missed)
    check("alice's recent calls list it once, missed, from the caller", got and len(got) == 1
          and got[0]["from"] == "3003", str(got))
    status, _, doc = call("GET", "/api/v1/users/alice/calls", bob)
    check("bob reads alice's calls: 403", status == 403, str(doc))

    print("gateway_api.py: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
