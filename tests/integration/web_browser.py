#!/usr/bin/python3
"""tests/integration/web_browser.py — the web page in a real browser: Debian's chromium,
headless, driven through chromium-driver by python3-selenium, as a 375 x 800 phone.

web_browser_test.sh starts the stack (tools/demo.sh: redis-server, router, sip-edge, huntgroup,
presence, gateway) and runs this with the page's address, the banner's staff, admin and
supervisor logins and the commands it needs: `ringway explain --json` (same configuration), a
change of the staff user's profile by the CLI, the queue's length in Redis, a SIPp caller to the
hunt group that waits in the queue until it is sent a SIP MESSAGE (its signal to hang up:
CANCEL), and the gateway's kill and readiness. Checked: labels, a refused login; the staff
view's number and sentence, a profile switch that changes the sentence within 1 s and that
`ringway explain --json` agrees with within 1 s, a stale switch (412), a quick divert and its
clear, a missed call put in the user's recent calls (rw:recent:<user>) listed by number; the admin's users as links; the supervisor's wallboard showing the caller waiting within
1 s of the join and none within 1 s of the CANCEL, and coming back by itself after the gateway
is killed and started again; no sideways scroll at 375 px on each view, nothing loaded from
anywhere but the gateway, no unexpected error in the console. Every wait is for a condition,
bounded.
On a failure a screenshot and the page's HTML (fail-NN.png, fail-NN.html) are kept in
--workdir; the page's console log is always written there (console.log).
Prints "ok: ..." / "FAIL: ..." lines like tests/harness/wrap.sh's check and exits 1 on a failure.
"""
import argparse
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

WIDTH, HEIGHT = 375, 800


class Browser:
    """A headless chromium emulating a phone screen, with its console kept."""

    def __init__(self, workdir, scale):
        self.workdir = workdir
        self.scale = scale
        self.console = []
        opts = webdriver.ChromeOptions()
        opts.binary_location = os.environ.get("RINGWAY_CHROMIUM", "/usr/bin/chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-default-apps", "--metrics-recording-only",
                    "--window-size=%d,%d" % (WIDTH, HEIGHT),
                    "--user-data-dir=" + os.path.join(workdir, "chromium-profile")):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(os.environ.get("RINGWAY_CHROMEDRIVER", "/usr/bin/chromedriver"),
                          log_output=os.path.join(workdir, "chromedriver.log")) \
            if "log_output" in Service.__init__.__code__.co_varnames else \
            Service(os.environ.get("RINGWAY_CHROMEDRIVER", "/usr/bin/chromedriver"),
                    log_path=os.path.join(workdir, "chromedriver.log"))
        self.d = webdriver.Chrome(service=service, options=opts)
        self.d.set_page_load_timeout(30 * scale)
        # A phone: 375 CSS px wide, touch, the page's viewport meta honoured.
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 2,
                                "mobile": True})

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def text(self, elem_id):
        """The element's text, "" when it is not there."""
        return self.js("const e = document.getElementById(arguments[0]);"
                       "return e ? e.textContent.trim() : '';", elem_id)

    def visible(self, elem_id):
        return self.js("const e = document.getElementById(arguments[0]);"
                       "return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;",
                       elem_id)

    def wait(self, seconds, cond, poll=0.02):
        """Until cond() is true, at most seconds: the time it took, or None."""
        start = time.monotonic()
        end = start + seconds
        while True:
            try:
                if cond():
                    return time.monotonic() - start
            except WebDriverException:
                pass
            if time.monotonic() >= end:
                return None
            time.sleep(poll)

    def keep(self, name):
        """Screenshot and HTML of the page now, in the work directory."""
        try:
            self.d.save_screenshot(os.path.join(self.workdir, name + ".png"))
            with open(os.path.join(self.workdir, name + ".html"), "w") as f:
                f.write(self.d.page_source)
            print("  kept %s.png and %s.html" % (name, name), file=sys.stderr)
        except WebDriverException as e:
            print("  could not keep %s: %s" % (name, e.msg), file=sys.stderr)

    def drain_console(self):
        try:
            self.console.extend(self.d.get_log("browser"))
        except WebDriverException:
            pass
        return self.console

    def quit(self):
        self.drain_console()
        with open(os.path.join(self.workdir, "console.log"), "w") as f:
            for e in self.console:
                f.write("%s %s %s\n" % (e.get("timestamp"), e.get("level"), e.get("message")))
        self.d.quit()


class Checks:
    def __init__(self, browser):
        self.b = browser
        self.passed = 0
        self.failed = 0
        self.n = 0

    def check(self, what, ok, detail=""):
        self.n += 1
        if ok:
            self.passed += 1
            print("ok: " + what + (" (" + detail + ")" if detail else ""))
        else:
            self.failed += 1
            print("FAIL: " + what + (": " + detail if detail else ""), file=sys.stderr)
            if self.b:
                self.b.keep("fail-%02d" % self.n)
        return ok


def sh(cmd, timeout):
    """Runs a shell command: (exit code, stdout)."""
    try:
        p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        return 124, ""


def cli_sentence(out):
    """The sentence of `ringway explain --json`'s answer, "" when there is none."""
    try:
        return json.loads(out).get("sentence", "")
    except (ValueError, AttributeError):
        return ""


def queue_len(args):
    rc, out = sh(args.queue_len, 10 * args.scale)
    try:
        return int(out.strip()) if rc == 0 else -1
    except ValueError:
        return -1


def shown_error(b):
    """The page's error notice when one is shown, else ""."""
    return b.text("error") if b.visible("error") else ""


def login(b, user, password):
    b.d.find_element(By.ID, "login-user").clear()
    b.d.find_element(By.ID, "login-user").send_keys(user)
    b.d.find_element(By.ID, "login-password").send_keys(password)
    b.d.find_element(By.ID, "login-submit").click()


def no_sideways_scroll(b):
    w = b.js("return [window.innerWidth, document.documentElement.scrollWidth,"
             " document.documentElement.clientWidth]")
    return w[0] == WIDTH and w[1] <= WIDTH and w[1] <= w[2], "innerWidth %d, scrollWidth %d, clientWidth %d" % tuple(w)


def only_same_origin(b):
    """Every resource the page loaded came from the gateway that served it."""
    urls = b.js("return [location.origin].concat("
                "performance.getEntriesByType('resource').map(e => e.name))")
    origin, rest = urls[0], urls[1:]
    foreign = [u for u in rest if not (u.startswith(origin + "/") or u.startswith("data:"))]
    return not foreign, "%d resources, foreign: %s" % (len(rest), foreign or "none")


def staff_part(c, b, args):
    user, password = args.staff.split(":", 1)
    if args.redis_cli:
        # a missed call as the gateway's hub records it from call.failed (docs/gateway.md)
        rec = json.dumps({"call_id": "web-recent-1", "from": "+447700900456", "to": "2001",
                          "outcome": "missed", "target": "", "cause": 486, "reason": "busy",
                          "talk_ms": 0, "ts_ms": int(time.time() * 1000)})
        rc, _ = sh("%s lpush rw:recent:%s %s" % (args.redis_cli, shlex.quote(user), shlex.quote(rec)),
                   10 * args.scale)
        c.check("a recent call of %s is in Redis" % user, rc == 0)
    login(b, user, password)
    sentence_ready = lambda: b.visible("view-staff") and b.text("sentence") not in ("", "Loading…")
    c.check("staff %s logs in and sees the staff view" % user, b.wait(15 * args.scale, sentence_ready) is not None,
            shown_error(b))
    number = b.text("number-line")
    c.check("the number line names the number and the extension",
            re.search(args.expect_number, number) is not None, number)
    before = b.text("sentence")
    print("  sentence: " + before)
    c.check("the sentence says where a call rings now", re.search(r"ring|voicemail|divert|goes", before, re.I) is not None,
            before)
    c.check("the devices are listed, registered or not",
            b.js("return document.querySelectorAll('#devices li[data-device]').length") >= 1
            and re.search(r"registered", b.text("devices")) is not None, b.text("devices"))
    c.check("the rules are listed with what they do", len(b.text("rules")) > 20, b.text("rules")[:120])
    if args.redis_cli:
        missed = lambda: "Missed call from 07700 900456" in b.text("calls")
        c.check("the recent calls list the missed call from 07700 900456 with its reason",
                b.wait(10 * args.scale, missed) is not None and "(busy)" in b.text("calls"), b.text("calls")[:200])
    ok, detail = no_sideways_scroll(b)
    c.check("staff view: no sideways scroll at 375 px", ok, detail)
    ok, detail = only_same_origin(b)
    c.check("nothing loaded from anywhere but the gateway", ok, detail)

    rc, out = sh(args.explain, 20 * args.scale)
    cli_before = cli_sentence(out)
    c.check("ringway explain says the same sentence (before the switch)", rc == 0 and cli_before == before,
            "CLI: %s" % (cli_before or out[-300:]))

    radio = "profile-" + args.profile
    c.check("profile %s is offered with a switch (a toggle button)" % args.profile, b.visible(radio)
            and b.js("return document.getElementById(arguments[0]).getAttribute('aria-pressed')", radio) == "false")
    # The CLI is a process of its own (slow to start under a sanitizer): from the click on, runs
    # of `ringway explain --json` follow one another (until one says something new, at most for
    # 1 s); the agreement is a run started within 1 s of the click that says the page's new
    # sentence.
    runs = []

    def cli_runs():
        while time.monotonic() - t0 <= args.limit:
            started = time.monotonic() - t0
            rc, out = sh(args.explain, 20 * args.scale)
            said = cli_sentence(out) if rc == 0 else ""
            runs.append((started, time.monotonic() - t0, said or out[-300:]))
            if said and said != before:
                return
    t0 = time.monotonic()
    b.d.find_element(By.ID, radio).click()
    runner = threading.Thread(target=cli_runs)
    runner.start()
    changed = b.wait(args.limit, lambda: b.text("sentence") not in (before, "", "Loading…"))
    after = b.text("sentence")
    runner.join()
    agreeing = [r for r in runs if r[2] == after and r[0] <= args.limit]
    agreed = bool(agreeing)
    started, answered, cli = agreeing[0] if agreeing else (runs[-1] if runs else (0.0, 0.0, "no run"))
    c.check("the sentence changes within 1 s of the switch", changed is not None,
            "%.0f ms: %s" % (changed * 1000, after) if changed is not None else "still: " + after)
    c.check("the new sentence names the new profile's destination",
            re.search(args.expect_sentence, after) is not None, after)
    c.check("ringway explain agrees within 1 s of the switch", agreed,
            "a run started %.0f ms after the click, answered at %.0f ms" % (started * 1000, answered * 1000)
            if agreed else "CLI: " + cli)
    c.check("the profile shows as in use (pressed)",
            b.wait(2 * args.scale, lambda: b.js("return document.getElementById(arguments[0])"
                                                ".getAttribute('aria-pressed')", radio) == "true") is not None)

    # A change someone else made meanwhile: the page's next change is refused (412) and reloads.
    if args.foreign_change:
        rc, out = sh(args.foreign_change, 20 * args.scale)
        c.check("a change from elsewhere (the CLI)", rc == 0, out[-200:])
        back = "profile-" + args.profile_back
        b.d.find_element(By.ID, back).click()
        told = b.wait(5 * args.scale, lambda: "changed elsewhere" in b.text("error").lower())
        c.check("a stale switch says \"changed elsewhere, reloaded\"", told is not None, b.text("error"))
        args.console_from = len(b.drain_console())     # the 412 is logged: expected

    # A quick divert to a number until the time the form offers (an hour ahead): the sentence
    # names the number; a destination the directory refuses is told in its words; cleared,
    # the sentence no longer names it.
    names_divert = lambda: re.search(r"\+447700900123|07700 900123", b.text("sentence")) is not None
    b.d.find_element(By.ID, "divert-to").send_keys("07700 900123")
    b.d.find_element(By.ID, "divert-set").click()
    c.check("a quick divert to 07700 900123: the sentence names it",
            b.wait(10 * args.scale, names_divert) is not None, b.text("sentence"))
    c.check("the divert is shown with its end", b.text("divert-now").startswith("Diverted to 07700 900123 until"),
            b.text("divert-now"))
    b.d.find_element(By.ID, "divert-to").send_keys("nowhere")
    b.d.find_element(By.ID, "divert-set").click()
    c.check("a divert to no such device is refused in the directory's words",
            b.wait(10 * args.scale, lambda: "nowhere" in shown_error(b)) is not None, shown_error(b))
    b.d.find_element(By.ID, "divert-to").clear()
    b.d.find_element(By.ID, "divert-clear").click()
    c.check("the divert cleared: the sentence no longer names it",
            b.wait(10 * args.scale, lambda: not names_divert() and b.text("divert-now") == "No divert.") is not None,
            b.text("sentence"))
    args.console_from = len(b.drain_console())     # the refused divert's 422 is logged: expected

    b.d.find_element(By.ID, "logout").click()
    c.check("log out: the login form again, the token gone",
            b.wait(5 * args.scale, lambda: b.visible("view-login")) is not None
            and b.js("return sessionStorage.getItem('ringway.token')") is None)


def admin_part(c, b, args):
    """An admin's users, each a link to that user's view."""
    user, password = args.admin.split(":", 1)
    login(b, user, password)
    c.check("admin %s logs in" % user,
            b.wait(15 * args.scale, lambda: b.visible("nav-admin")) is not None, shown_error(b))
    b.d.find_element(By.ID, "nav-admin").click()
    links = lambda: b.js("return [...document.querySelectorAll('#users a')].map(a => a.getAttribute('href'))")
    c.check("the users are listed, each a link", b.wait(10 * args.scale, lambda: "#/user/alice" in links()) is not None,
            str(links()))
    b.d.find_element(By.CSS_SELECTOR, "#users a[href='#/user/alice']").click()
    c.check("the link opens alice's view for the admin",
            b.wait(10 * args.scale, lambda: re.search(r"'s number " + args.expect_number, b.text("number-line"))
                   is not None and b.text("sentence") not in ("", "Loading…")) is not None,
            b.text("number-line"))
    ok, detail = no_sideways_scroll(b)
    c.check("users list and user view: no sideways scroll at 375 px", ok, detail)
    b.d.find_element(By.ID, "logout").click()
    b.wait(5 * args.scale, lambda: b.visible("view-login"))


def send_hangup_signal(port, call_id):
    """A SIP MESSAGE in the caller's dialog: the SIPp scenario's cue to send CANCEL."""
    msg = ("MESSAGE sip:caller@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-web-signal\r\n"
           "From: <sip:test@127.0.0.1>;tag=web-signal\r\n"
           "To: <sip:caller@127.0.0.1>\r\n"
           "Call-ID: %s\r\n"
           "CSeq: 1 MESSAGE\r\n"
           "Max-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n") % (port, call_id)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.sendto(msg.encode(), ("127.0.0.1", port))
    s.close()


def queue_cycle(c, b, args, group, label):
    """A SIPp caller joins the group's queue (nobody answers), then hangs up."""
    waiting = "wb-%s-waiting" % group
    caller = subprocess.Popen(["bash", "-c", args.caller], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    joined = b.wait(15 * args.scale, lambda: queue_len(args) == 1, poll=0.02)
    t_join = time.monotonic()
    c.check("%s: the SIPp caller joins the queue of %s" % (label, group), joined is not None)
    shown = b.wait(max(0.0, t_join + args.limit - time.monotonic()), lambda: b.text(waiting) == "1")
    c.check("%s: the wallboard shows 1 waiting within 1 s of the join" % label,
            shown is not None, "%.0f ms" % ((time.monotonic() - t_join) * 1000) if shown is not None
            else "shows " + b.text(waiting))
    if args.caller_number:
        callers = "wb-%s-callers" % group
        c.check("%s: the caller is listed with their number and wait" % label,
                b.wait(2 * args.scale, lambda: re.search(re.escape(args.caller_number) + r" \d+:\d\d",
                                                          b.text(callers)) is not None) is not None,
                b.text(callers))
    ok, detail = no_sideways_scroll(b)
    c.check("%s: wallboard with a caller waiting, no sideways scroll" % label, ok, detail)

    t_cancel = time.monotonic()
    send_hangup_signal(args.caller_port, args.call_id)
    cleared = b.wait(args.limit, lambda: b.text(waiting) == "0")
    c.check("%s: the caller hangs up (CANCEL): 0 waiting within 1 s" % label, cleared is not None,
            "%.0f ms" % ((time.monotonic() - t_cancel) * 1000) if cleared is not None
            else "shows " + b.text(waiting))
    try:
        rc = caller.wait(timeout=15 * args.scale)
    except subprocess.TimeoutExpired:
        caller.kill()
        rc = caller.wait()
    c.check("%s: the caller's CANCEL got 200 and its INVITE 487" % label, rc == 0, "sipp exit %d" % rc)
    c.check("%s: nobody left in the queue" % label, queue_len(args) == 0)


def supervisor_part(c, b, args):
    user, password = args.supervisor.split(":", 1)
    group = args.group
    login(b, user, password)
    c.check("supervisor %s logs in" % user,
            b.wait(15 * args.scale, lambda: not b.visible("view-login") and b.visible("nav")) is not None,
            shown_error(b))
    b.d.find_element(By.ID, "nav-wallboard").click()
    link = "wb-%s-link" % group
    live = lambda: b.js("const e = document.getElementById(arguments[0]);"
                        "return e ? e.dataset.state : ''", link) == "live" and b.text("wb-%s-waiting" % group) == "0"
    c.check("the wallboard of %s is live with nobody waiting" % group,
            b.wait(15 * args.scale, live) is not None,
            "%s, waiting %s" % (b.text(link), b.text("wb-%s-waiting" % group)))
    ok, detail = no_sideways_scroll(b)
    c.check("wallboard: no sideways scroll at 375 px", ok, detail)
    errors = [e for e in b.drain_console()[args.console_from:] if e.get("level") == "SEVERE"]
    c.check("no unexpected error in the page's console (the refused login, 412 and 422 are expected)",
            not errors, json.dumps(errors)[:400])

    queue_cycle(c, b, args, group, "first caller")

    if args.restart:
        rc, out = sh(args.restart, 30 * args.scale)
        c.check("the gateway is killed (its runner starts it again)", rc == 0, out[-200:])
        state = lambda: b.js("const e = document.getElementById(arguments[0]);"
                             "return e ? e.dataset.state : ''", link)
        went = b.wait(10 * args.scale, lambda: state() != "live")
        c.check("the wallboard sees the stream end", went is not None, state())
        back = b.wait(30 * args.scale, live)
        c.check("the wallboard reconnects by itself after the restart, no reload",
                back is not None, b.text(link))
        if args.gateway_ready:
            rc, out = sh(args.gateway_ready, 30 * args.scale)
            c.check("the new gateway follows the hunt groups' events", rc == 0, out[-200:])
        queue_cycle(c, b, args, group, "after the restart")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="the page, http://127.0.0.1:PORT/")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--scale", type=int, default=int(os.environ.get("RW_SCALE", "1")))
    ap.add_argument("--staff", required=True, help="USER:PASSWORD of a staff account")
    ap.add_argument("--expect-number", required=True, help="regex the number line matches")
    ap.add_argument("--profile", required=True, help="the profile to switch to")
    ap.add_argument("--expect-sentence", required=True, help="regex of the new sentence")
    ap.add_argument("--explain", required=True,
                    help="shell command: ringway explain --json of the staff number (same configuration)")
    ap.add_argument("--foreign-change", default="", help="shell command changing the settings elsewhere")
    ap.add_argument("--profile-back", default="", help="the profile a stale switch asks for")
    ap.add_argument("--admin", default="", help="USER:PASSWORD of an admin account")
    ap.add_argument("--supervisor", required=True, help="USER:PASSWORD of a supervisor account")
    ap.add_argument("--group", required=True)
    ap.add_argument("--queue-len", required=True, help="shell command printing the callers queued")
    ap.add_argument("--redis-cli", default="", help="redis-cli with the demo's port: seeds a recent call")
    ap.add_argument("--caller", required=True, help="shell command: the SIPp caller")
    ap.add_argument("--caller-port", type=int, required=True)
    ap.add_argument("--call-id", required=True, help="the caller's Call-ID")
    ap.add_argument("--caller-number", default="", help="the number the board lists the caller by")
    ap.add_argument("--restart", default="", help="shell command killing the gateway")
    ap.add_argument("--gateway-ready", default="",
                    help="shell command: true once the restarted gateway follows the queue events")
    args = ap.parse_args()
    # The page's promise: 1 s. Only under a wrapper (make valgrind: every service many times
    # slower, RW_SCALE) is it stretched with the test's other waits.
    args.limit = 1.0 * args.scale

    c = Checks(None)
    try:
        b = Browser(args.workdir, args.scale)
    except WebDriverException as e:
        c.check("headless chromium starts", False, e.msg)
        print("web_browser: %d passed, %d failed" % (c.passed, c.failed))
        return 1
    c.b = b
    try:
        b.d.get(args.url)
        c.check("the page loads with its login form",
                b.wait(10 * args.scale, lambda: b.visible("login-form")) is not None
                and b.d.title == "Ringway", b.d.title)
        ok, detail = no_sideways_scroll(b)
        c.check("login form: no sideways scroll at 375 px", ok, detail)
        c.check("every field has a label",
                b.js("return [...document.querySelectorAll('input:not([type=radio]), select')]"
                     ".every(e => e.labels && e.labels.length > 0)"))
        login(b, args.staff.split(":", 1)[0], "not-the-password")
        c.check("a wrong password is refused in plain words",
                b.wait(10 * args.scale, lambda: b.visible("error") and len(b.text("error")) > 5) is not None
                and b.visible("view-login"), b.text("error"))
        b.d.find_element(By.ID, "login-password").clear()
        args.console_from = len(b.drain_console())     # the refused login's 401 is logged: expected
        staff_part(c, b, args)
        if args.admin:
            admin_part(c, b, args)
        supervisor_part(c, b, args)
    except WebDriverException as e:
        c.check("the browser session", False, e.msg)
    finally:
        b.quit()
    print("web_browser: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
