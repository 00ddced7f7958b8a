"""cdstest: the harness every integration test uses.

Starts real programs from the build directory ($CDS_BUILD) on a fresh data
directory and a free loopback port, and talks to them over HTTP with the
standard library only.  A test file defines functions named test_* and ends
with `cdstest.main(globals())`, which runs them in order and prints
"N passed, M failed".
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get("CDS_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
DATA = os.environ.get("CDS_TEST_DATA") or os.path.join(
    os.path.dirname(__file__), "..", "data")


def exe(name):
    return os.path.join(BUILD, name)


def run(args, input=None, check=True, env=None):
    """Run a program; return CompletedProcess with text stdout/stderr."""
    p = subprocess.run(args, input=input, capture_output=True, text=True,
                       env=env, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (
            " ".join(args), p.returncode, p.stderr.strip()))
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_started(name, proc, ready, log, timeout=60):
    """Wait until the program `name` running as proc answers: ready()
    returns True (an OSError counts as not yet).  Fails, with log()'s text,
    if the program exits first or the timeout passes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("%s exited %d at start: %s" % (
                name, proc.returncode, log()))
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("%s did not become ready: %s" % (name, log()))


def exchange(conn, method, path, body=None, token=None, headers=None,
             raw=False):
    """Send one request on conn (an http.client connection, closed here).
    body: dict/list (JSON), bytes or str.  Returns (status, headers dict
    lower-case, parsed JSON or bytes)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    if not raw and hdrs.get("content-type", "").startswith(
            "application/json"):
        data = json.loads(data)
    return r.status, hdrs, data


class DataDir:
    """A fresh data directory initialised with `cdsctl init`."""

    def __init__(self, prefix_bits=None, init=True, store=None):
        self.path = tempfile.mkdtemp(prefix="cds-test-")
        if init:
            args = [exe("cdsctl"), "--data", self.path, "init"]
            if prefix_bits is not None:
                args += ["--prefix-bits", str(prefix_bits)]
            if store is not None:
                args += ["--store", store]
            run(args)

    @property
    def admin_token(self):
        with open(os.path.join(self.path, "admin.token")) as f:
            return f.read().strip()

    @property
    def metrics_token(self):
        with open(os.path.join(self.path, "metrics.token")) as f:
            return f.read().strip()

    def ctl(self, *args, check=True, input=None):
        return run([exe("cdsctl"), "--data", self.path] + list(args),
                   check=check, input=input)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Server:
    """A running cdsd.  Use as a context manager; stop() checks exit 0."""

    def __init__(self, datadir, *flags, wait=True):
        self.datadir = datadir
        self.host = "127.0.0.1"
        # free_port() can race with another process taking the port
        # between its probe and cdsd's bind: then try another one.
        for attempt in range(5):
            self._spawn(flags)
            if not wait:
                return
            try:
                self.wait_ready()
                return
            except AssertionError:
                if attempt == 4 or "cannot listen" not in self.stderr():
                    raise

    def _spawn(self, flags):
        self.port = free_port()
        self.errlog = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [exe("cdsd"), "--data", self.datadir.path,
             "--listen", "127.0.0.1:%d" % self.port] + list(flags),
            stdout=subprocess.DEVNULL, stderr=self.errlog)

    def wait_ready(self, timeout=60):
        wait_started("cdsd", self.proc, lambda: self.request(
            "GET", "/v1/health")[0] == 200, self.stderr, timeout)

    def stderr(self):
        self.errlog.seek(0)
        return self.errlog.read()

    def request(self, method, path, body=None, token=None, headers=None,
                raw=False):
        """Send one request: see exchange()."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return exchange(conn, method, path, body, token, headers, raw)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self, sig=signal.SIGTERM, expect=0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("cdsd did not stop on signal")
        if expect is not None and self.proc.returncode != expect:
            raise AssertionError("cdsd exited %d: %s" % (
                self.proc.returncode, self.stderr()[-2000:]))

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop()
        else:
            if self.proc.poll() is None:
                self.kill()
            sys.stderr.write("--- cdsd stderr ---\n" + self.stderr()[-4000:])


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what, b, a))


def main(tests):
    names = [n for n in tests if n.startswith("test_") and callable(tests[n])]
    only = sys.argv[1:]
    passed = failed = 0
    for n in names:
        if only and n not in only:
            continue
        t0 = time.time()
        try:
            tests[n]()
            passed += 1
            print("ok   %s (%.1fs)" % (n, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % n, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
