#!/usr/bin/env python3
"""tests/integration/calendar_feeds.py — the calendar tests' local HTTP server and feeds.

serve PORT DIR: serves DIR's files on 127.0.0.1:PORT with an ETag (a hash of the content) and
  Last-Modified, answering 304 to a matching If-None-Match, else to an If-Modified-Since not
  before the file's time; /noetag/FILE serves FILE with Last-Modified only. Plus the broken
  sources a calendar may be: /status/500, /loop (redirects to itself), /big (10 MB), /hang
  (answers after 30 s); and /ctagdav/, DIR/dav/ as a CalDAV calendar with a getctag and no
  sync-token. Each request is logged on stderr as "METHOD PATH STATUS".
feed DIR VERSION: writes DIR/alice.ics (VERSION 1 or 2: 2 has the one-off meeting deleted), the
  same events one resource per UID in DIR/dav/<uid>.ics with a VTIMEZONE (for a CalDAV server:
  the zone then comes from the feed's own VTIMEZONE), and prints the meetings' instants, one "name start_ms end_ms" a line. Every instant is computed
  from today: the weeks around the next change to summer time in Europe/London that is at
  least 15 days ahead, so no verdict depends on the day of the run."""
import hashlib
import http.server
import os
import socketserver
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
VTIMEZONE = ["BEGIN:VTIMEZONE", "TZID:Europe/London",
             "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0000", "TZOFFSETTO:+0100", "TZNAME:BST", "DTSTART:19700329T010000",
             "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
             "BEGIN:STANDARD", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0000", "TZNAME:GMT", "DTSTART:19701025T020000",
             "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE"]


def dst_sunday():
    """The next last Sunday of March at least 15 days ahead."""
    today = date.today()
    for year in (today.year, today.year + 1):
        d = date(year, 3, 31)
        d -= timedelta(days=(d.weekday() + 1) % 7)
        if d - today >= timedelta(days=15):
            return d
    raise SystemExit("no DST change found")


def ms(d, hh, mm=0):
    return int(datetime(d.year, d.month, d.day, hh, mm, tzinfo=LONDON).timestamp() * 1000)


def feed(directory, version):
    sun = dst_sunday()
    m0 = sun - timedelta(days=13)          # Monday, two weeks before the change
    m1, m2, m3, m4 = (m0 + timedelta(days=7 * i) for i in (1, 2, 3, 4))
    tue, wed = m0 + timedelta(days=1), m0 + timedelta(days=2)
    f = lambda d, hh=9: d.strftime("%Y%m%d") + "T%02d0000" % hh
    ev = [
        "BEGIN:VEVENT", "UID:weekly@test", "SUMMARY:Weekly review",
        "DTSTART;TZID=Europe/London:" + f(m0), "DTEND;TZID=Europe/London:" + f(m0, 10),
        "RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;TZID=Europe/London:" + f(m0), "END:VEVENT",
        "BEGIN:VEVENT", "UID:weekly@test", "SUMMARY:Weekly review (moved)",
        "RECURRENCE-ID;TZID=Europe/London:" + f(m3),
        "DTSTART;TZID=Europe/London:" + f(m3 + timedelta(days=1), 14),
        "DTEND;TZID=Europe/London:" + f(m3 + timedelta(days=1), 15), "END:VEVENT",
        "BEGIN:VEVENT", "UID:weekly@test", "STATUS:CANCELLED", "RECURRENCE-ID;TZID=Europe/London:" + f(m4),
        "DTSTART;TZID=Europe/London:" + f(m4), "DTEND;TZID=Europe/London:" + f(m4, 10), "END:VEVENT",
        "BEGIN:VEVENT", "UID:offsite@test", "SUMMARY:Offsite", "DTSTART;VALUE=DATE:" + wed.strftime("%Y%m%d"),
        "DTEND;VALUE=DATE:" + (wed + timedelta(days=1)).strftime("%Y%m%d"), "END:VEVENT",
    ]
    if version == 1:
        ev += ["BEGIN:VEVENT", "UID:oneoff@test", "SUMMARY:One-off",
               "DTSTART;TZID=Europe/London:" + f(tue, 10), "DTEND;TZID=Europe/London:" + f(tue, 11), "END:VEVENT"]
    text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ringway tests//EN"] + ev + ["END:VCALENDAR", ""])
    with open(directory + "/alice.ics", "w") as out:
        out.write(text)
    os.makedirs(directory + "/dav", exist_ok=True)
    for old in os.listdir(directory + "/dav"):
        os.remove(directory + "/dav/" + old)
    by_uid = {}
    for block in "\n".join(ev).split("END:VEVENT")[:-1]:
        lines = [x for x in block.split("\n") if x] + ["END:VEVENT"]
        uid = [x for x in lines if x.startswith("UID:")][0][4:].split("@")[0]
        by_uid.setdefault(uid, []).extend(lines)
    for uid, lines in by_uid.items():
        with open("%s/dav/%s.ics" % (directory, uid), "w") as out:
            out.write("\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ringway tests//EN"] + VTIMEZONE + lines
                                    + ["END:VCALENDAR", ""]))
    rows = [("excluded", ms(m0, 9), ms(m0, 10)), ("oneoff", ms(tue, 10), ms(tue, 11)),
            ("allday", ms(wed, 0), ms(wed + timedelta(days=1), 0)), ("before_dst", ms(m1, 9), ms(m1, 10)),
            ("after_dst", ms(m2, 9), ms(m2, 10)), ("moved_from", ms(m3, 9), ms(m3, 10)),
            ("moved_to", ms(m3 + timedelta(days=1), 14), ms(m3 + timedelta(days=1), 15)),
            ("cancelled", ms(m4, 9), ms(m4, 10))]
    for r in rows:
        print(*r)


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def log_request(self, code="-", size="-"):
        path = getattr(self, "asked", self.path)
        sys.stderr.write("%s %s %s\n" % (self.command, path, getattr(code, "value", code)))

    def end_headers(self):
        if getattr(self, "etag", None):
            self.send_header("ETag", self.etag)
        super().end_headers()

    def send_head(self):
        """Files with validators: an ETag unless under /noetag/; If-None-Match first (RFC 9110)."""
        self.etag = None
        self.asked = self.path
        if self.path.startswith("/noetag/"):
            self.path = self.path[len("/noetag"):]
            return super().send_head()
        path = self.translate_path(self.path)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                self.etag = '"%s"' % hashlib.sha256(f.read()).hexdigest()[:16]
            inm = self.headers.get("If-None-Match")
            if inm is not None:
                if self.etag in [t.strip() for t in inm.split(",")]:
                    self.send_response(304)
                    self.end_headers()
                    return None
                del self.headers["If-Modified-Since"]
        return super().send_head()

    def do_GET(self):
        if self.path == "/status/500":
            self.send_error(500, "broken on purpose")
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.end_headers()
            line = b"X-FILLER:" + b"x" * 1014 + b"\r\n"
            self.wfile.write(b"BEGIN:VCALENDAR\r\n")
            for _ in range(10 * 1024):
                self.wfile.write(line)
        elif self.path == "/hang":
            time.sleep(30)
            self.send_error(503)
        else:
            super().do_GET()


    # /ctagdav/: a CalDAV calendar with a getctag and no sync-token (as servers without RFC 6578
    # are), made of DIR/dav/*.ics: PROPFIND says it is a calendar and gives its ctag (a hash of
    # the files), REPORT calendar-query gives every event with its ETag; a sync-collection
    # REPORT is refused (403), and logged, since a client must not send one here.
    def dav_files(self):
        d = os.path.join(self.directory, "dav")
        return sorted((n, open(os.path.join(d, n), "rb").read()) for n in os.listdir(d) if n.endswith(".ics"))

    def dav_answer(self, body):
        data = body.encode()
        self.send_response(207)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dav_request(self):
        if not self.path.startswith("/ctagdav/"):
            self.send_error(405)
            return None
        return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()

    def do_PROPFIND(self):
        if self.dav_request() is None:
            return
        ctag = hashlib.sha256(b"".join(n.encode() + c for n, c in self.dav_files())).hexdigest()[:16]
        self.dav_answer('<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
                        'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">'
                        '<d:response><d:href>/ctagdav/</d:href><d:propstat><d:prop>'
                        '<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>'
                        '<cs:getctag>"%s"</cs:getctag></d:prop><d:status>HTTP/1.1 200 OK</d:status>'
                        '</d:propstat></d:response></d:multistatus>' % ctag)

    def do_REPORT(self):
        body = self.dav_request()
        if body is None:
            return
        if "sync-collection" in body:
            self.asked = self.path + " sync-collection"
            self.send_error(403)
            return
        out = ['<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">']
        for name, content in self.dav_files():
            text = content.decode().replace("&", "&amp;").replace("<", "&lt;")
            out.append('<d:response><d:href>/ctagdav/%s</d:href><d:propstat><d:prop><d:getetag>"%s"</d:getetag>'
                       '<c:calendar-data>%s</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status>'
                       '</d:propstat></d:response>' % (name, hashlib.sha256(content).hexdigest()[:16], text))
        out.append("</d:multistatus>")
        self.dav_answer("".join(out))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    if sys.argv[1] == "feed":
        feed(sys.argv[2], int(sys.argv[3]))
    else:
        port, directory = int(sys.argv[2]), sys.argv[3]
        handler = lambda *a, **k: Handler(*a, directory=directory, **k)
        Server(("127.0.0.1", port), handler).serve_forever()
