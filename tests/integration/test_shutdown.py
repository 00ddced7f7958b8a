"""test_shutdown: SIGTERM under traffic, many times over.

cdsd is started and stopped again and again on one data directory while
connections are opening, requests are in flight (headers in, body not yet
sent) and keep-alive connections sit idle.  Every stop must be a clean
exit 0, requests in flight must be answered, new ones refused with 503, and
after each stop the query log must hold a record of every discovery the
test got an answer to, and the stored rate-limit state must have been
charged for exactly the elements evaluated.  Run under ASan too (make
check), this is the proof for the shutdown path of lib/server/daemon.c.
Nothing here waits on a fixed sleep: each step waits for what it needs.
"""
import json
import os
import socket
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import http_reply, new_key, phone  # noqa: E402
from cdstest import eq  # noqa: E402

CYCLES = int(os.environ.get("CDS_SHUTDOWN_CYCLES", "25"))
ALLOWANCE = 100000
# The ristretto255 base point: a valid element.
POINT = "4vKuCmq8TnGohKlhxQBRX1jjC2qlgt2NtqZZReCNLXY="
WAIT = 60  # generous bound for any one step on a loaded machine


def discover_body(n):
    return json.dumps({"epoch": 1, "elements": [POINT] * n}).encode()


def head(token, n, expect_continue=False):
    extra = b"Expect: 100-continue\r\n" if expect_continue else b""
    return (b"POST /v1/discover HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n" + extra +
            b"Content-Length: %d\r\n\r\n" % len(discover_body(n)))


def connect(srv):
    return socket.create_connection((srv.host, srv.port), timeout=WAIT)


def begin_inflight(srv, token, n):
    """A discovery whose headers the server has taken (it answered 100
    Continue) and whose body is still to come."""
    s = connect(srv)
    s.sendall(head(token, n, expect_continue=True))
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError("closed before 100 Continue")
        got += chunk
    if not got.startswith(b"HTTP/1.1 100"):
        raise AssertionError("expected 100 Continue, got %r" % got[:80])
    return s


def idle_keepalive(srv):
    s = connect(srv)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    eq(http_reply(s)[0], 200, "keep-alive request")
    return s


def hammer(srv, stop):
    """Open connections and send requests until told to stop; any outcome
    (200, 503, refused, reset) is fine: this is the background noise."""
    while not stop.is_set():
        try:
            s = socket.create_connection((srv.host, srv.port), timeout=5)
            s.sendall(b"GET /v1/params HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)
            s.close()
        except OSError:
            pass


def draining(srv):
    """True once a new request is refused with 503 shutting_down."""
    try:
        st, _, body = srv.request("GET", "/v1/health")
    except OSError:
        return False
    return st == 503 and body["error"]["code"] == "shutting_down"


def wait_until(pred, what):
    deadline = time.time() + WAIT
    while not pred():
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


def logged_discoveries(dd):
    n = 0
    qdir = os.path.join(dd.path, "querylog")
    for f in sorted(os.listdir(qdir)):
        if f.endswith(".sqlite3"):
            db = sqlite3.connect(os.path.join(qdir, f))
            n += db.execute("SELECT count(*) FROM records WHERE "
                            "endpoint = 'discover' AND status = 200"
                            ).fetchone()[0]
            db.close()
    return n


def stored_tokens(dd):
    db = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
    try:
        row = db.execute("SELECT tokens FROM ratelimit").fetchone()
    finally:
        db.close()
    return row[0] if row else None


def end_cycle(srv, cycle, stop, noise):
    """Stop the noise; cdsd must have exited 0 on its own."""
    stop.set()
    for th in noise:
        th.join()
    if srv.proc.poll() is None:
        srv.kill()
        raise AssertionError("cycle %d: cdsd did not stop" % cycle)
    if srv.proc.returncode != 0:
        raise AssertionError("cycle %d: cdsd exited %d: %s" % (
            cycle, srv.proc.returncode, srv.stderr()[-3000:]))


class Totals:
    answered = 0  # discoveries answered 200
    charged = 0   # elements they evaluated


def one_cycle(dd, token, cycle, t):
    srv = cdstest.Server(dd, "--threads", "2", "--rate-allowance",
                         str(ALLOWANCE), "--rate-refill", "0",
                         "--drain", str(WAIT))
    stop = threading.Event()
    noise = [threading.Thread(target=hammer, args=(srv, stop))
             for _ in range(2)]
    try:
        for th in noise:
            th.start()
        idle = [idle_keepalive(srv) for _ in range(3)]
        sizes = [1 + (cycle + i) % 5 for i in range(3)]
        for n in sizes:
            st, _, _ = srv.request("POST", "/v1/discover",
                                   json.loads(discover_body(n)), token=token)
            eq(st, 200, "discover before the stop")
            t.answered += 1
            t.charged += n
        inflight = [(begin_inflight(srv, token, n), n) for n in (2, 3)]
        srv.proc.send_signal(15)
        wait_until(lambda: draining(srv), "503 while draining")
        for s, n in inflight:
            s.sendall(discover_body(n))
            st, body = http_reply(s)
            eq(st, 200, "in-flight discovery answered during the drain")
            eq(len(json.loads(body)["evaluated"]), n, "evaluated")
            t.answered += 1
            t.charged += n
            s.close()
        srv.proc.wait(timeout=WAIT)
        for s in idle:
            s.close()
    finally:
        end_cycle(srv, cycle, stop, noise)
    eq(logged_discoveries(dd), t.answered,
       "cycle %d: logged discoveries" % cycle)
    eq(stored_tokens(dd), float(ALLOWANCE - t.charged),
       "cycle %d: stored rate-limit tokens" % cycle)


def test_sigterm_under_traffic():
    dd = cdstest.DataDir()
    try:
        out = json.loads(dd.ctl("account", "add", "--identity-key",
                                new_key(), phone(1)).stdout)
        t = Totals()
        t0 = time.time()
        for cycle in range(CYCLES):
            one_cycle(dd, out["token"], cycle, t)
        sys.stdout.write("%d clean stops in %.1f s, %d discoveries logged\n"
                         % (CYCLES, time.time() - t0, t.answered))
    finally:
        dd.cleanup()


def test_sigterm_right_after_start():
    """The abort of issue 12 came ~45 ms after listening: stop at once,
    while the noise connections are still arriving."""
    dd = cdstest.DataDir()
    try:
        for cycle in range(CYCLES):
            srv = cdstest.Server(dd, "--threads", "2")
            stop = threading.Event()
            th = threading.Thread(target=hammer, args=(srv, stop))
            th.start()
            try:
                srv.proc.send_signal(15)
                srv.proc.wait(timeout=WAIT)
            finally:
                end_cycle(srv, cycle, stop, [th])
    finally:
        dd.cleanup()


cdstest.main(globals())
