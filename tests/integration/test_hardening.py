"""test_hardening: the server-side hardening of issue 8 against a real cdsd:
the total deadline for receiving a request (a client trickling bytes is cut
off), X-Forwarded-For believed only from --trusted-proxy peers (query log
and per-address limits), /metrics behind the metrics token or on the
separate --metrics-listen address, and no core dumps with secrets locked
in memory (or a warning saying they could not be).

Timing: the deadline tests assert only that the server cuts the trickling
client at some point after the deadline and within a generous bound, and
never before the deadline (which no machine load can make happen)."""
import http.client
import os
import socket
import sqlite3
import stat
import time

import cdstest
from cdstest import DataDir, Server, eq
from apiutil import expect_error, metric_value, metrics

DEADLINE = 2          # --request-deadline in these tests (seconds)
CUT_BOUND = 60        # the cut must come within this, however loaded
TRICKLE_EVERY = 0.2   # one byte this often: never idle for --timeout


def trickle_until_cut(srv, head, byte):
    """Send head, then `byte` every TRICKLE_EVERY s until the server closes
    the connection; return seconds from the first byte sent to the cut."""
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    t0 = time.monotonic()
    try:
        s.sendall(head)
        while time.monotonic() - t0 < CUT_BOUND:
            try:
                s.sendall(byte)
                s.settimeout(TRICKLE_EVERY)
                if s.recv(4096) == b"":
                    return time.monotonic() - t0
            except socket.timeout:
                continue
            except OSError:   # reset, broken pipe: cut as well
                return time.monotonic() - t0
        raise AssertionError("trickling client not cut within %d s" %
                             CUT_BOUND)
    finally:
        s.close()


def test_trickled_headers_cut_at_deadline():
    dd = DataDir()
    try:
        with Server(dd, "--timeout", "300", "--request-deadline",
                    str(DEADLINE)) as srv:
            took = trickle_until_cut(
                srv, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a")
            if took < DEADLINE:
                raise AssertionError("cut after %.2f s, before the %d s "
                                     "deadline" % (took, DEADLINE))
            eq(srv.request("GET", "/v1/health")[0], 200, "others served")
            if metric_value(metrics(srv), "cds_http_deadline_cuts_total") < 1:
                raise AssertionError("cut not counted")
    finally:
        dd.cleanup()


def test_trickled_body_cut_at_deadline():
    dd = DataDir()
    try:
        with Server(dd, "--timeout", "300", "--request-deadline",
                    str(DEADLINE)) as srv:
            head = (b"POST /v1/buckets HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n")
            took = trickle_until_cut(srv, head, b" ")
            if took < DEADLINE:
                raise AssertionError("cut after %.2f s" % took)
    finally:
        dd.cleanup()


def test_keep_alive_requests_within_deadline():
    """A connection that sends whole requests promptly is never cut: the
    clock restarts with each request."""
    dd = DataDir()
    try:
        with Server(dd, "--request-deadline", str(DEADLINE)) as srv:
            conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
            for _ in range(3):
                conn.request("GET", "/v1/health")
                r = conn.getresponse()
                r.read()
                eq(r.status, 200, "keep-alive request")
            conn.close()
    finally:
        dd.cleanup()


def log_ips(dd, endpoint):
    rows = []
    for f in sorted(os.listdir(os.path.join(dd.path, "querylog"))):
        if not f.endswith(".sqlite3"):
            continue
        db = sqlite3.connect(os.path.join(dd.path, "querylog", f))
        try:
            rows += [r[0] for r in db.execute(
                "SELECT ip FROM records WHERE endpoint = ? ORDER BY time_us",
                (endpoint,))]
        finally:
            db.close()
    return rows


XFF_CASES = [
    ("203.0.113.7", "203.0.113.7"),
    ("198.51.100.1, 203.0.113.7", "203.0.113.7"),   # rightmost untrusted
    ("203.0.113.9, 127.0.0.5", "203.0.113.9"),      # a trusted hop skipped
    ("not-an-address", "127.0.0.1"),
    ("2001:db8::1", "2001:db8::1"),
]


def test_xff_ignored_from_untrusted_peer():
    dd = DataDir()
    try:
        with Server(dd, "--log-ip", "full", "--durability", "sync",
                    "--trusted-proxy", "10.0.0.0/8") as srv:
            for xff, _ in XFF_CASES:
                srv.request("GET", "/v1/params",
                            headers={"X-Forwarded-For": xff})
        eq(log_ips(dd, "params"), ["127.0.0.1"] * len(XFF_CASES),
           "socket address logged")
    finally:
        dd.cleanup()


def test_xff_honoured_from_trusted_proxy():
    dd = DataDir()
    try:
        with Server(dd, "--log-ip", "full", "--durability", "sync",
                    "--trusted-proxy", "127.0.0.0/8",
                    "--trusted-proxy", "fd00::/8") as srv:
            for xff, _ in XFF_CASES:
                srv.request("GET", "/v1/params",
                            headers={"X-Forwarded-For": xff})
            srv.request("GET", "/v1/params")
        eq(log_ips(dd, "params"), [w for _, w in XFF_CASES] + ["127.0.0.1"],
           "client addresses from X-Forwarded-For")
    finally:
        dd.cleanup()


def bucket(srv, xff):
    return srv.request("GET", "/v1/buckets/0?epoch=1",
                       headers={"X-Forwarded-For": xff})


# A refill so slow that no test run sees a byte come back.  The guard
# charges 2,048 bytes per request plus the reply's body (an empty bucket:
# some 40 bytes), and admits while the balance is positive: a burst of
# 3 x 2,048 bytes admits exactly three such requests.
GUARD = ("--bucket-bytes-per-ip", "0.001", "--bucket-burst-bytes", "6144",
         "--max-prefixes", "2")


def test_ip_guard_per_forwarded_client():
    dd = DataDir(prefix_bits=1)
    try:
        with Server(dd, "--trusted-proxy", "127.0.0.1", *GUARD) as srv:
            for _ in range(3):
                eq(bucket(srv, "203.0.113.1")[0], 200, "A within burst")
            expect_error(bucket(srv, "203.0.113.1"), 429, "rate_limited",
                         what="A over its burst")
            eq(bucket(srv, "203.0.113.2")[0], 200, "B has its own bucket")
    finally:
        dd.cleanup()


def test_ip_guard_ignores_xff_from_untrusted_peer():
    dd = DataDir(prefix_bits=1)
    try:
        with Server(dd, *GUARD) as srv:
            for i in range(3):
                eq(bucket(srv, "203.0.113.%d" % (i + 1))[0], 200,
                   "within the socket address's burst")
            expect_error(bucket(srv, "203.0.113.99"), 429, "rate_limited",
                         what="a new X-Forwarded-For buys nothing")
    finally:
        dd.cleanup()


def test_trusted_proxy_bad_range():
    dd = DataDir()
    try:
        for bad in ["10.0.0.0/33", "nonsense", "::1/129", "/8", ""]:
            p = cdstest.run([cdstest.exe("cdsd"), "--data", dd.path,
                             "--listen", "127.0.0.1:0",
                             "--trusted-proxy", bad], check=False)
            eq(p.returncode, 2, "exit code for %r" % bad)
            if "--trusted-proxy" not in p.stderr:
                raise AssertionError("message does not name the option: %r"
                                     % p.stderr)
    finally:
        dd.cleanup()


def test_metrics_needs_token():
    dd = DataDir()
    try:
        mode = stat.S_IMODE(os.stat(os.path.join(dd.path,
                                                 "metrics.token")).st_mode)
        eq(mode, 0o600, "metrics.token mode")
        admin = dd.admin_token
        with Server(dd) as srv:
            expect_error(srv.request("GET", "/metrics"), 401, "unauthorized",
                         what="no token, even from loopback")
            expect_error(srv.request("GET", "/metrics", token=admin), 401,
                         "unauthorized", what="admin token")
            expect_error(srv.request("GET", "/metrics",
                                     token="metrics.wrong"), 401,
                         "unauthorized", what="wrong token")
            st, _, body = srv.request("GET", "/metrics", raw=True,
                                      token=dd.metrics_token)
            eq(st, 200, "with the metrics token")
            if b"cds_index_handles" not in body:
                raise AssertionError("not the metrics text")
    finally:
        dd.cleanup()


def test_metrics_token_made_for_old_datadir():
    dd = DataDir()
    try:
        os.unlink(os.path.join(dd.path, "metrics.token"))
        with Server(dd) as srv:
            st, _, _ = srv.request("GET", "/metrics", raw=True,
                                   token=dd.metrics_token)
            eq(st, 200, "token created at start-up")
        mode = stat.S_IMODE(os.stat(os.path.join(dd.path,
                                                 "metrics.token")).st_mode)
        eq(mode, 0o600, "created 0600")
    finally:
        dd.cleanup()


def test_metrics_listen_without_token():
    dd = DataDir()
    try:
        mport = cdstest.free_port()
        with Server(dd, "--metrics-listen", "127.0.0.1:%d" % mport) as srv:
            side = Server.__new__(Server)
            side.host, side.port = "127.0.0.1", mport
            st, hdrs, body = side.request("GET", "/metrics", raw=True)
            eq(st, 200, "metrics address, no token")
            if not hdrs["content-type"].startswith("text/plain") or \
                    b"cds_http_requests_total" not in body:
                raise AssertionError("not the metrics text: %r" % hdrs)
            eq(side.request("GET", "/v1/health")[0], 404,
               "only /metrics on the metrics address")
            eq(side.request("POST", "/metrics", b"x")[0], 405, "GET only")
            expect_error(srv.request("GET", "/metrics"), 401, "unauthorized",
                         what="API address still needs the token")
    finally:
        dd.cleanup()


def test_metrics_listen_in_use():
    dd = DataDir()
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = cdstest.run([cdstest.exe("cdsd"), "--data", dd.path,
                         "--listen", "127.0.0.1:%d" % cdstest.free_port(),
                         "--metrics-listen", "127.0.0.1:%d" % port],
                        check=False)
        eq(p.returncode, 1, "exit code")
        if "--metrics-listen" not in p.stderr:
            raise AssertionError("message: %r" % p.stderr)
    finally:
        s.close()
        dd.cleanup()


def proc_field(pid, name, field):
    with open("/proc/%d/%s" % (pid, name)) as f:
        for line in f:
            if line.startswith(field):
                return line
    raise AssertionError("no %r in /proc/%d/%s" % (field, pid, name))


def under_asan():
    """True if cdsd is an AddressSanitizer build."""
    with open(cdstest.exe("cdsd"), "rb") as f:
        return b"__asan_init" in f.read()


def test_no_core_dumps_and_locked_secrets():
    dd = DataDir()
    try:
        dd.ctl("account", "add", "--identity-key",
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
               "tel:+15550004444")
        with Server(dd) as srv:
            pid = srv.proc.pid
            limits = proc_field(pid, "limits", "Max core file size").split()
            eq(limits[4:6], ["0", "0"], "RLIMIT_CORE soft and hard")
            locked = int(proc_field(pid, "status", "VmLck:").split()[1])
            warned = "cannot lock secrets in memory" in srv.stderr()
            if under_asan():
                return  # ASan's mlock interceptor locks nothing
            if not locked and not warned:
                raise AssertionError("secrets neither locked (VmLck 0) nor "
                                     "a warning logged")
    finally:
        dd.cleanup()


cdstest.main(globals())
