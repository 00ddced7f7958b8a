"""apiutil: helpers shared by the server's black-box tests (test_api,
test_badinput, test_visibility, test_discover_api).  Standard library only.
"""
import base64
import http.client
import json
import os
import socket
import sqlite3
import time

import cdstest


def b64(data):
    return base64.b64encode(data).decode()


def new_key():
    """A random 32-byte identity key, base64."""
    return b64(os.urandom(32))


def phone(n):
    """A canonical phone handle, distinct per n."""
    return "tel:+1555%07d" % n


def expect_error(resp, status, code, index=None, what=""):
    """Check (status, headers, body) is an API error of the DESIGN shape."""
    st, hdrs, body = resp
    cdstest.eq(st, status, what + " status")
    if not isinstance(body, dict) or "error" not in body:
        raise AssertionError("%s: not an error body: %r" % (what, body))
    err = body["error"]
    cdstest.eq(err.get("code"), code, what + " error code")
    if not isinstance(err.get("message"), str) or not err["message"]:
        raise AssertionError("%s: error without a message: %r" % (what, err))
    if index is not None:
        cdstest.eq(err.get("index"), index, what + " error index")
    return err


def create_account(srv, dd, handles, key=None):
    """POST /v1/accounts with the admin token; returns (account, token)."""
    st, _, body = srv.request("POST", "/v1/accounts", {
        "identity_key": key or new_key(), "handles": handles},
        token=dd.admin_token)
    if st != 201:
        raise AssertionError("account create: %d %r" % (st, body))
    return body["account"], body["token"]


def lookup(srv, token, handles):
    return srv.request("POST", "/v1/lookup", {"handles": handles},
                       token=token)


def registered(srv, token, handle):
    """(registered, account, identity_key) of one handle by plain lookup."""
    st, _, body = lookup(srv, token, [handle])
    cdstest.eq(st, 200, "lookup status")
    r = body["results"][0]
    cdstest.eq(r["handle"], handle, "lookup echoes the handle")
    return r["registered"], r.get("account"), r.get("identity_key")


def raw_exchange(srv, data, timeout=10, must_close=False):
    """Send raw bytes on a fresh socket; return what comes back until the
    server closes or the timeout passes.  With must_close, a server that has
    not closed the connection by then fails the test (timeout is then a
    generous bound on a loaded machine, not a measurement)."""
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        if must_close:
            raise AssertionError("the server kept the connection open %d s "
                                 "after %r" % (timeout, data[:30]))
    except OSError:
        pass
    finally:
        s.close()
    return out


def http_reply(s):
    """Read one HTTP/1.1 reply with a Content-Length body from socket s:
    (status, body).  OSError if the server closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed before a reply: %r" % data[:80])
        data += chunk
    hdr, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in hdr.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed inside a reply body")
        body += chunk
    return int(hdr.split(b" ", 2)[1]), body[:length]


def status_of(raw):
    """HTTP status of a raw response, or None if there is none."""
    if not raw.startswith(b"HTTP/1."):
        return None
    return int(raw.split(b" ", 2)[1])


def store_counts(dd):
    """(accounts, handles) and the integrity check of the directory store."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        dd.path, "cds.sqlite3"), uri=True, timeout=30)
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        a = db.execute("SELECT count(*) FROM accounts").fetchone()[0]
        h = db.execute("SELECT count(*) FROM handles").fetchone()[0]
    finally:
        db.close()
    return ok, a, h


def wait_for(pred, timeout, what):
    """Poll pred() until true; returns seconds taken."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return time.time() - t0
        time.sleep(0.1)
    raise AssertionError("%s: not within %.1f s" % (what, timeout))


def metrics(srv):
    st, hdrs, body = srv.request("GET", "/metrics", raw=True,
                                 token=srv.datadir.metrics_token)
    cdstest.eq(st, 200, "metrics status")
    if not hdrs.get("content-type", "").startswith("text/plain"):
        raise AssertionError("metrics content type %r" % hdrs)
    return body.decode()


def metric_value(text, name):
    """Sum of the samples of metric `name` (with any labels) in text."""
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key = line.split(" ")[0]
        if key == name or key.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    if not found:
        raise AssertionError("metric %s missing" % name)
    return total


def http_conn(srv, timeout=30):
    return http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)


def body_json(data):
    return json.loads(data)
