"""test_badinput: cdsd against malformed, hostile and oversized input.

Every case checks the documented status and error code (and the index of the
offending batch item where there is one).  Afterwards the server must still
answer, and the store must be intact: PRAGMA integrity_check is "ok" and the
account and handle counts are what the valid requests made them."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import (create_account, expect_error, http_reply,  # noqa: E402
                     new_key, phone, raw_exchange, status_of, store_counts,
                     wait_for)
from cdstest import eq  # noqa: E402

H1 = phone(1)
KEY = new_key()


def cases(token, admin):
    """(what, method, path, body, token, headers, status, code, index)."""
    hs = [phone(i) for i in range(1, 1026)]
    return [
        ("malformed JSON", "POST", "/v1/lookup", "{", token, None,
         400, "invalid", None),
        ("truncated JSON", "POST", "/v1/lookup", '{"handles":["tel:+1', token,
         None, 400, "invalid", None),
        ("not an object", "POST", "/v1/lookup", "[]", token, None,
         400, "invalid", None),
        ("empty body", "POST", "/v1/lookup", "", token, None,
         400, "invalid", None),
        ("trailing garbage", "POST", "/v1/lookup",
         '{"handles":["%s"]} x' % H1, token, None, 400, "invalid", None),
        ("duplicate key", "POST", "/v1/lookup",
         '{"handles":["%s"],"handles":["%s"]}' % (H1, H1), token, None,
         400, "invalid", None),
        ("handles not an array", "POST", "/v1/lookup", {"handles": H1},
         token, None, 400, "invalid", None),
        ("handle not a string", "POST", "/v1/lookup",
         {"handles": [H1, 15551234567]}, token, None, 400, "invalid", 1),
        ("missing field", "POST", "/v1/lookup", {}, token, None,
         400, "invalid", None),
        ("unknown field", "POST", "/v1/lookup",
         {"handles": [H1], "handel": 1}, token, None, 400, "invalid", None),
        ("spaces in phone", "POST", "/v1/lookup",
         {"handles": [H1, "tel:+1 555 000 0001"]}, token, None,
         400, "invalid", 1),
        ("upper-case e-mail", "POST", "/v1/lookup",
         {"handles": ["mailto:a@b.org", H1, "mailto:Alice@Example.org"]},
         token, None, 400, "invalid", 2),
        ("no scheme", "POST", "/v1/lookup", {"handles": ["5551234567"]},
         token, None, 400, "invalid", 0),
        ("leading zero", "POST", "/v1/lookup", {"handles": ["tel:+0555123"]},
         token, None, 400, "invalid", 0),
        ("NUL in handle", "POST", "/v1/lookup",
         '{"handles":["tel:+1555\\u00000001"]}', token, None,
         400, "invalid", None),
        ("non-ASCII handle", "POST", "/v1/lookup",
         {"handles": ["mailto:j\u00fcrgen@example.org"]}, token, None,
         400, "invalid", 0),
        ("invalid UTF-8", "POST", "/v1/lookup",
         b'{"handles":["tel:+1555\xff\xfe"]}', token, None,
         400, "invalid", None),
        ("deep nesting", "POST", "/v1/lookup", "[" * 100000, token, None,
         400, "invalid", None),
        ("huge number", "POST", "/v1/discover",
         '{"epoch":1e400,"elements":["%s"]}' % KEY, token, None,
         400, "invalid", None),
        ("empty batch", "POST", "/v1/lookup", {"handles": []}, token, None,
         400, "invalid", None),
        ("oversized batch", "POST", "/v1/lookup", {"handles": hs}, token,
         None, 413, "too_large", None),
        ("wrong content type", "POST", "/v1/lookup", '{"handles":[]}', token,
         {"Content-Type": "text/plain"}, 415, "unsupported_media_type",
         None),
        ("missing token", "POST", "/v1/lookup", {"handles": [H1]}, None,
         None, 401, "unauthorized", None),
        ("wrong token", "POST", "/v1/lookup", {"handles": [H1]},
         "0" * 32 + ".wrongsecret", None, 401, "unauthorized", None),
        ("right id, wrong secret", "POST", "/v1/lookup", {"handles": [H1]},
         token.split(".")[0] + ".x", None, 401, "unauthorized", None),
        ("malformed token", "POST", "/v1/lookup", {"handles": [H1]},
         "not a token", None, 401, "unauthorized", None),
        ("basic auth", "POST", "/v1/lookup", {"handles": [H1]}, None,
         {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "unauthorized",
         None),
        ("overlong token", "POST", "/v1/lookup", {"handles": [H1]},
         "a" * 5000, None, 401, "unauthorized", None),
        ("admin token on account endpoint", "POST", "/v1/lookup",
         {"handles": [H1]}, admin, None, 401, "unauthorized", None),
        ("admin token on delete", "DELETE", "/v1/accounts/me", None, admin,
         None, 401, "unauthorized", None),
        ("account token on admin endpoint", "POST", "/v1/accounts",
         {"identity_key": KEY, "handles": [phone(50)]}, token, None,
         401, "unauthorized", None),
        ("wrong admin token", "POST", "/v1/accounts",
         {"identity_key": KEY, "handles": [phone(50)]}, "admin.nope", None,
         401, "unauthorized", None),
        ("short identity key", "POST", "/v1/accounts",
         {"identity_key": "AAAA", "handles": [phone(50)]}, admin, None,
         400, "invalid", None),
        ("unpadded identity key", "POST", "/v1/accounts",
         {"identity_key": KEY.rstrip("="), "handles": [phone(50)]}, admin,
         None, 400, "invalid", None),
        ("repeated handle in create", "POST", "/v1/accounts",
         {"identity_key": KEY, "handles": [phone(50), phone(51), phone(50)]},
         admin, None, 400, "invalid", 2),
        ("non-canonical in create", "POST", "/v1/accounts",
         {"identity_key": KEY, "handles": [phone(50), "tel:555"]}, admin,
         None, 400, "invalid", 1),
        ("update without lists", "PUT", "/v1/accounts/me/handles", {}, token,
         None, 400, "invalid", None),
        ("add refused", "PUT", "/v1/accounts/me/handles",
         {"add": [phone(60), phone(61)], "remove": [phone(61)]}, token, None,
         400, "invalid", None),
        ("add alone refused", "PUT", "/v1/accounts/me/handles",
         {"add": [phone(60)]}, token, None, 400, "invalid", None),
        ("repeated handle in remove", "PUT", "/v1/accounts/me/handles",
         {"remove": [phone(60), phone(61), phone(60)]}, token, None,
         400, "invalid", 2),
        ("verification without handle", "POST", "/v1/verifications", {},
         None, None, 400, "invalid", None),
        ("verification of a non-canonical handle", "POST",
         "/v1/verifications", {"handle": "tel:555"}, None, None,
         400, "invalid", None),
        ("verification with a list", "POST", "/v1/verifications",
         {"handle": [H1]}, None, None, 400, "invalid", None),
        ("verification, unknown field", "POST", "/v1/verifications",
         {"handle": H1, "code": "1"}, None, None, 400, "invalid", None),
        ("verification, no channel for it", "POST", "/v1/verifications",
         {"handle": H1}, None, None, 400, "unsupported", None),
        ("verification with a wrong token", "POST", "/v1/verifications",
         {"handle": H1}, "00" * 16 + ".x", None, 401, "unauthorized", None),
        ("register without key", "POST", "/v1/register",
         {"verification": "00" * 16, "code": "12345678"}, None, None,
         400, "invalid", None),
        ("register with a short id", "POST", "/v1/register",
         {"verification": "00", "code": "12345678", "identity_key": KEY},
         None, None, 400, "invalid", None),
        ("register with a code of letters", "POST", "/v1/register",
         {"verification": "00" * 16, "code": "abc", "identity_key": KEY},
         None, None, 400, "invalid", None),
        ("register with a numeric code", "POST", "/v1/register",
         {"verification": "00" * 16, "code": 12345678, "identity_key": KEY},
         None, None, 400, "invalid", None),
        ("register, unknown verification", "POST", "/v1/register",
         {"verification": "00" * 16, "code": "12345678",
          "identity_key": KEY}, None, None, 404, "unknown_verification",
         None),
        ("bind with an identity key", "POST", "/v1/accounts/me/handles",
         {"verification": "00" * 16, "code": "1", "identity_key": KEY},
         token, None, 400, "invalid", None),
        ("bind without a token", "POST", "/v1/accounts/me/handles",
         {"verification": "00" * 16, "code": "1"}, None, None,
         401, "unauthorized", None),
        ("bind, unknown verification", "POST", "/v1/accounts/me/handles",
         {"verification": "00" * 16, "code": "1"}, token, None,
         404, "unknown_verification", None),
        ("bad handle in remove", "PUT", "/v1/accounts/me/handles",
         {"remove": [phone(60), "tel:+1"]}, token, None, 400, "invalid", 1),
        ("identity key not base64", "PUT", "/v1/accounts/me/identity_key",
         {"identity_key": "!" * 44}, token, None, 400, "invalid", None),
        ("identity key wrong type", "PUT", "/v1/accounts/me/identity_key",
         {"identity_key": 7}, token, None, 400, "invalid", None),
        ("unknown path", "GET", "/v1/nothing", None, None, None,
         404, "not_found", None),
        ("bucket path without prefix", "GET", "/v1/buckets/", None, None,
         None, 404, "not_found", None),
        ("wrong method on lookup", "GET", "/v1/lookup", None, token, None,
         405, "method_not_allowed", None),
        ("wrong method on health", "DELETE", "/v1/health", None, None, None,
         405, "method_not_allowed", None),
    ]


def run_cases(srv, token, admin):
    for (what, method, path, body, tok, hdrs, status, code,
         index) in cases(token, admin):
        r = srv.request(method, path, body, token=tok, headers=hdrs)
        expect_error(r, status, code, index, what)
        if status == 405 and not r[1].get("allow"):
            raise AssertionError("%s: 405 without Allow" % what)
        if status == 401 and "www-authenticate" not in r[1]:
            raise AssertionError("%s: 401 without WWW-Authenticate" % what)


def slow_headers(srv, done, halfway, others_served):
    """Send a request's headers a byte at a time; halfway, hold until the
    main thread says others were served meanwhile."""
    req = ("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: %s\r\n\r\n" % (
        "y" * 40)).encode()
    s = socket.create_connection((srv.host, srv.port), timeout=60)
    try:
        for i in range(len(req)):
            s.send(req[i:i + 1])
            if i == len(req) // 2:
                halfway.set()
                others_served.wait(60)
            time.sleep(0.02)
        done.append(s.recv(4096))
    except OSError as e:
        done.append(e)
    finally:
        s.close()


def test_bad_requests_and_store_intact():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            acct, token = create_account(srv, dd, [H1, phone(2)])
            create_account(srv, dd, [phone(3)])
            before = store_counts(dd)
            eq(before, ("ok", 2, 3), "store before")
            run_cases(srv, token, dd.admin_token)
            eq(srv.request("GET", "/v1/health")[0], 200, "still serving")
            eq(store_counts(dd), before, "store unchanged")
    finally:
        dd.cleanup()


def test_oversized_body():
    """A declared body over the limit is refused when the headers arrive,
    before any of it is read; a body without a declared length is cut off
    at the limit (tested with chunked encoding below)."""
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            _, token = create_account(srv, dd, [H1])
            s = socket.create_connection((srv.host, srv.port), timeout=10)
            s.sendall(b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: 2097152\r\n\r\n" + b"x" * 1000)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            eq(status_of(data), 413, "declared length over the limit")
            # Just under the limit is read and parsed (400: not JSON).
            body = "x" * ((1 << 20) - 1)
            expect_error(srv.request("POST", "/v1/lookup", body, token=token,
                                     headers={"Content-Type":
                                              "application/json"}),
                         400, "invalid", what="body at the limit")
        with cdstest.Server(dd, "--plain-lookup", "on", "--max-body",
                            "1000") as small:
            expect_error(small.request(
                "POST", "/v1/lookup", {"handles": [H1] * 60},
                token=token), 413, "too_large", what="--max-body")
            eq(small.request("POST", "/v1/lookup", {"handles": [H1] * 5},
                             token=token)[0], 200, "small body")
    finally:
        dd.cleanup()


def test_slow_client_does_not_block_others():
    # One worker thread, one client trickling its headers: others are
    # served while it is still sending (it waits halfway until they were).
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--threads", "1") as srv:
            done, halfway, others_served = [], threading.Event(), \
                threading.Event()
            t = threading.Thread(target=slow_headers,
                                 args=(srv, done, halfway, others_served))
            t.start()
            halfway.wait(60)
            for _ in range(5):
                eq(srv.request("GET", "/v1/health")[0], 200, "others served")
            others_served.set()
            t.join()
            if not isinstance(done[0], bytes) or status_of(done[0]) != 200:
                raise AssertionError("slow client got %r" % done[0][:80])
    finally:
        dd.cleanup()


def test_idle_connection_is_dropped():
    # --timeout 1: the server must close a connection that stops sending
    # mid-header; the socket's own 60 s timeout bounds the wait.
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--timeout", "1") as srv:
            s = socket.create_connection((srv.host, srv.port), timeout=60)
            s.send(b"GET /v1/health HTTP/1.1\r\nHo")
            try:
                data = s.recv(4096)  # the server closes: b"" (or an error)
            except socket.timeout:
                raise AssertionError("idle client kept 60 s")
            except OSError:
                data = b""
            s.close()
            if data and status_of(data) is None:
                raise AssertionError("unexpected bytes %r" % data[:80])
            eq(srv.request("GET", "/v1/health")[0], 200, "still serving")
    finally:
        dd.cleanup()


def hold_connections(srv, n, tries=50):
    """n keep-alive connections that each got an answer, so the server
    counts all of them.  A connection it has not yet seen closed (the
    readiness probe's) may hold a slot for a moment: then start over."""
    req = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(tries):
        held = [socket.create_connection((srv.host, srv.port), timeout=60)
                for _ in range(n)]
        try:
            for s in held:
                s.sendall(req)
                if not s.recv(4096).startswith(b"HTTP/1.1 200"):
                    raise OSError("refused")
            return held
        except OSError:
            for s in held:
                s.close()
            time.sleep(0.1)
    raise AssertionError("could not hold %d connections" % n)


def test_connection_limit_per_ip():
    # Each held connection has had a request answered, so the server has
    # accepted it and counts it: the limit is then reached for certain.
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--max-conns-per-ip", "3",
                            "--threads", "1") as srv:
            held = hold_connections(srv, 3)
            got = raw_exchange(srv, b"GET /v1/health HTTP/1.1\r\nHost: x"
                               b"\r\n\r\n", timeout=60, must_close=True)
            eq(got, b"", "a 4th connection from one address is closed")
            for s in held:
                s.close()

            def served():
                try:
                    return srv.request("GET", "/v1/health")[0] == 200
                except OSError:
                    return False
            wait_for(served, 60, "served again once the others closed")
    finally:
        dd.cleanup()


def test_garbage_and_huge_headers():
    # libmicrohttpd may not notice a client's EOF after some junk and hold
    # the connection until the idle timeout: a short one keeps this quick,
    # and each exchange must end within it.
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on", "--timeout",
                            "2") as srv:
            _, token = create_account(srv, dd, [H1])
            before = store_counts(dd)
            for junk in [os.urandom(5000), b"\x00" * 100, b"\r\n" * 1000,
                         b"GET / HTTP/9.9\r\n\r\n",
                         b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: -5\r\n\r\n",
                         b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 99999999999999999999999\r\n\r\n",
                         b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"]:
                st = status_of(raw_exchange(srv, junk, timeout=60,
                                            must_close=True))
                if st is not None and not (400 <= st < 500 or st == 505):
                    raise AssertionError("junk %r answered %d" % (
                        junk[:30], st))
            # A header larger than the connection memory: 431 or 413 from
            # libmicrohttpd, or the connection closed.
            big = (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
                   b"a" * 200000 + b"\r\n\r\n")
            st = status_of(raw_exchange(srv, big))
            if st not in (None, 413, 431):
                raise AssertionError("huge header answered %r" % st)
            many = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + b"".join(
                b"X-H%d: v\r\n" % i for i in range(20000)) + b"\r\n"
            st = status_of(raw_exchange(srv, many))
            if st not in (None, 413, 431):
                raise AssertionError("many headers answered %r" % st)
            # A chunked body over the limit is refused too.
            chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
            req = (b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\n"
                   b"Authorization: Bearer " + token.encode() + b"\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 20 +
                   b"0\r\n\r\n")
            st = status_of(raw_exchange(srv, req))
            if st not in (None, 413):
                raise AssertionError("chunked oversize answered %r" % st)
            eq(srv.request("GET", "/v1/health")[0], 200, "still serving")
            eq(store_counts(dd), before, "store unchanged")
    finally:
        dd.cleanup()


cdstest.main(globals())
