"""verifyutil: helpers for the verified-handle tests (test_verify,
test_delivery): asking for codes, reading them back from the outbox, a real
SMTP sink (python3-aiosmtpd, in its own process) and a small SMS-gateway
webhook receiver (http.server), both on free loopback ports.
"""
import glob
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import cdstest
from apiutil import new_key

JSON = {"Content-Type": "application/json"}


def request_from(srv, source, method, path, body=None, token=None):
    """Like srv.request, from local address `source` (127.0.0.x)."""
    h = dict(JSON)
    if token:
        h["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, body=json.dumps(body), headers=h)
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    return r.status, hdrs, json.loads(data) if data else None


def ask(srv, handle, token=None):
    """POST /v1/verifications; (status, headers, body)."""
    return srv.request("POST", "/v1/verifications", {"handle": handle},
                       token=token)


def ask_ok(srv, handle, token=None):
    st, _, body = ask(srv, handle, token)
    cdstest.eq(st, 202, "verification of %s: %r" % (handle, body))
    return body["verification"]


def register(srv, vid, code, key=None):
    return srv.request("POST", "/v1/register", {
        "verification": vid, "code": code, "identity_key": key or new_key()})


def bind(srv, token, vid, code):
    return srv.request("POST", "/v1/accounts/me/handles",
                       {"verification": vid, "code": code}, token=token)


class Outbox:
    """The directory given to --verify-outbox."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="cds-outbox-")

    def files(self):
        return sorted(glob.glob(os.path.join(self.path, "*.json")))

    def message(self, vid):
        path = os.path.join(self.path, vid + ".json")
        mode = os.stat(path).st_mode & 0o777
        cdstest.eq(mode, 0o600, "outbox file mode")
        with open(path) as f:
            return json.load(f)

    def code(self, vid):
        return self.message(vid)["code"]

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def python_with_aiosmtpd():
    """An interpreter that can import aiosmtpd (Debian's, if the one running
    the tests is another)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([exe, "-c", "import aiosmtpd"],
                          capture_output=True).returncode == 0:
            return exe
    raise AssertionError("python3-aiosmtpd is missing (scripts/deps.sh)")


class SmtpSink:
    """A real SMTP server on a free loopback port (smtpsink.py)."""

    def __init__(self, refuse=False):
        self.dir = tempfile.mkdtemp(prefix="cds-smtp-")
        self.port = cdstest.free_port()
        args = [python_with_aiosmtpd(),
                os.path.join(os.path.dirname(__file__), "smtpsink.py"),
                str(self.port), self.dir] + (["refuse"] if refuse else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise AssertionError("SMTP sink did not start: %s%s" % (
                line, self.proc.stderr.read()))

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def messages(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "*.json"))):
            with open(p) as f:
                out.append(json.load(f))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Gateway:
    """An SMS gateway's webhook: records each POST (headers and JSON
    body) and answers `status` (settable); while `hold` is set, it answers
    nothing until released (stop() releases it)."""

    def __init__(self, status=200):
        self.status = status
        self.posts = []
        self.hold = False
        self.released = threading.Event()
        gw = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                gw.posts.append({"path": self.path,
                                 "headers": dict(self.headers),
                                 "body": json.loads(body)})
                if gw.hold:
                    gw.released.wait(60)
                    return
                self.send_response(gw.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d/sms/send" % self.httpd.server_port

    def stop(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def code_in(text):
    """The 8-digit code in a message's text."""
    m = re.search(r"\b(\d{8})\b", text)
    if not m:
        raise AssertionError("no code in %r" % text)
    return m.group(1)


def verifications_in_store(dd):
    """Rows of the verifications table (they hold only code hashes)."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        dd.path, "cds.sqlite3"), uri=True, timeout=30)
    try:
        return db.execute("SELECT handle, code_hash FROM verifications"
                          ).fetchall()
    finally:
        db.close()


def wait_until(pred, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("%s: not within %d s" % (what, timeout))
