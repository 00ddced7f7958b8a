"""test_api: the HTTP API v1 of cdsd, driven over loopback: health, params,
accounts (create, handles, identity key, delete), plain lookup on and off,
metrics, and rate-limit state surviving a restart."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import (create_account, expect_error, http_reply,  # noqa: E402
                     lookup, metric_value, metrics, new_key, phone,
                     registered, store_counts, wait_for)
from cdstest import eq  # noqa: E402


def test_health_and_params():
    dd = cdstest.DataDir(prefix_bits=8)
    try:
        with cdstest.Server(dd) as srv:
            st, hdrs, body = srv.request("GET", "/v1/health")
            eq(st, 200, "health")
            eq(body, {"status": "ok"}, "health body")
            eq(hdrs.get("content-type"), "application/json", "content type")
            st, _, body = srv.request("HEAD", "/v1/health", raw=True)
            eq((st, body), (200, b""), "HEAD health")
            st, _, p = srv.request("GET", "/v1/params")
            eq(st, 200, "params")
            eq(list(p)[:8], ["version", "suite", "mode", "epoch",
                             "public_key", "prefix_bits", "max_batch",
                             "plain_lookup"], "DESIGN.md's fields first")
            eq(list(p)[8:], ["max_prefixes", "bucket_limit",
                             "max_bucket_reply", "ohttp_keys",
                             "transparency_key"],
               "then the limits, the gateway's key configurations and "
               "the transparency key")
            eq((p["max_prefixes"], p["max_bucket_reply"]), (256, 16 << 20),
               "default limits")
            eq(p["bucket_limit"], {"bytes_per_s": 8 << 20,
                                   "burst_bytes": 256 << 20,
                                   "request_bytes": 2048},
               "default per-address guard")
            eq((p["version"], p["suite"], p["mode"]),
               (1, "ristretto255-SHA512", "voprf"), "params suite")
            eq(p["epoch"], 1, "first epoch")
            eq(len(base64.b64decode(p["public_key"], validate=True)), 32,
               "public key bytes")
            eq(p["prefix_bits"], 8, "prefix bits from cdsctl init")
            eq(p["max_batch"], 1024, "default max batch")
            eq(p["plain_lookup"], False, "plain lookup off by default")
        with cdstest.Server(dd, "--plain-lookup", "on", "--max-batch",
                            "10") as srv:
            _, _, p = srv.request("GET", "/v1/params")
            eq((p["plain_lookup"], p["max_batch"]), (True, 10),
               "params follow flags")
    finally:
        dd.cleanup()


def test_register_and_lookup():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            key = new_key()
            acct, token = create_account(
                srv, dd, [phone(1), "mailto:alice@example.org"], key)
            eq(len(acct), 32, "account is 32 hex digits")
            int(acct, 16)
            if not token.startswith(acct + "."):
                raise AssertionError("token shape %r" % token)
            st, hdrs, body = lookup(srv, token, [
                phone(1), phone(2), "mailto:alice@example.org"])
            eq(st, 200, "lookup")
            eq(hdrs.get("cache-control"), "no-store", "no caching")
            r = body["results"]
            eq(len(r), 3, "one result per handle")
            eq(r[0], {"handle": phone(1), "registered": True,
                      "account": acct, "identity_key": key}, "registered")
            eq(r[1], {"handle": phone(2), "registered": False},
               "not registered")
            eq(r[2]["account"], acct, "e-mail handle")
            # Duplicate handle: 409 naming the index of the taken handle.
            st, _, body = srv.request("POST", "/v1/accounts", {
                "identity_key": new_key(),
                "handles": [phone(3), phone(1)]}, token=dd.admin_token)
            expect_error((st, _, body), 409, "exists", 1, "taken handle")
            eq(registered(srv, token, phone(3))[0], False,
               "failed create left nothing behind")
            # An account with no handle yet is allowed.
            a2, t2 = create_account(srv, dd, [])
            eq(lookup(srv, t2, [phone(1)])[0], 200, "new token works")
    finally:
        dd.cleanup()


def test_lookup_disabled():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd) as srv:
            _, token = create_account(srv, dd, [phone(1)])
            expect_error(lookup(srv, token, [phone(1)]), 403, "disabled",
                         what="plain lookup off")
    finally:
        dd.cleanup()


def test_handles_update():
    """PUT removes handles; an "add" is refused and changes nothing (a
    handle is bound only by proof of control: test_verify)."""
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            acct, token = create_account(srv, dd, [phone(1), phone(2)])
            st, _, body = srv.request("PUT", "/v1/accounts/me/handles", {
                "remove": [phone(1), phone(77)]}, token=token)
            eq(st, 200, "update")
            eq(body, {"status": "ok", "account": acct}, "update body")
            eq(registered(srv, token, phone(1))[0], False, "removed")
            eq(registered(srv, token, phone(2))[1], acct, "kept")
            before = store_counts(dd)
            for body in ({"add": [phone(3)]},
                         {"add": [phone(3)], "remove": [phone(2)]}):
                r = srv.request("PUT", "/v1/accounts/me/handles", body,
                                token=token)
                err = expect_error(r, 400, "invalid", None, "add refused")
                if "proof of control" not in err["message"]:
                    raise AssertionError("message: %r" % err)
            eq(store_counts(dd), before, "no store change")
            eq(registered(srv, token, phone(3))[0], False, "not added")
            eq(registered(srv, token, phone(2))[1], acct, "not removed")
    finally:
        dd.cleanup()


def test_identity_key_rotation():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            acct, token = create_account(srv, dd, [phone(1)])
            key2 = new_key()
            st, _, body = srv.request("PUT", "/v1/accounts/me/identity_key",
                                      {"identity_key": key2}, token=token)
            eq(st, 200, "rotate")
            eq(registered(srv, token, phone(1)), (True, acct, key2),
               "new key served at once")
    finally:
        dd.cleanup()


def test_delete_account():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            acct, token = create_account(srv, dd, [phone(1), phone(2)])
            _, t2 = create_account(srv, dd, [phone(5)])
            st, _, body = srv.request("DELETE", "/v1/accounts/me",
                                      token=token)
            eq((st, body), (200, {"status": "ok", "account": acct}),
               "delete")
            eq(registered(srv, t2, phone(1))[0], False, "handle gone")
            eq(registered(srv, t2, phone(2))[0], False, "handle gone")
            expect_error(lookup(srv, token, [phone(5)]), 401,
                         "unauthorized", what="deleted account's token")
            # The freed handle can be registered again.
            create_account(srv, dd, [phone(1)])
    finally:
        dd.cleanup()


def test_metrics():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            _, token = create_account(srv, dd, [phone(1)])
            lookup(srv, token, [phone(1), phone(2)])
            srv.request("GET", "/v1/nope")
            text = metrics(srv)
            for needle in [
                    'cds_http_requests_total{endpoint="health",status="200"}',
                    'cds_http_requests_total{endpoint="lookup",status="200"} 1',
                    'cds_http_requests_total{endpoint="account_create",status="201"} 1',
                    'cds_http_requests_total{endpoint="other",status="404"} 1',
                    'cds_http_request_seconds_bucket{endpoint="lookup",le="+Inf"} 1',
                    "cds_index_handles 1", "cds_index_epoch 1",
                    "cds_lookup_handles_total 2"]:
                if needle not in text:
                    raise AssertionError("metrics lack %r:\n%s" % (
                        needle, text))
            metric_value(text, "cds_querylog_written_total")
            metric_value(text, "cds_querylog_refused_total")
            metric_value(text, "cds_rate_limited_total")
            metric_value(text, "cds_oprf_elements_evaluated_total")
            metric_value(text, "cds_bucket_not_modified_total")
    finally:
        dd.cleanup()


def test_rate_limit_survives_restart():
    dd = cdstest.DataDir()
    flags = ("--plain-lookup", "on", "--rate-allowance", "5",
             "--rate-refill", "0")
    try:
        with cdstest.Server(dd, *flags) as srv:
            _, token = create_account(srv, dd, [phone(1)])
            eq(lookup(srv, token, [phone(1), phone(2), phone(3)])[0], 200,
               "3 of 5 tokens")
        with cdstest.Server(dd, *flags) as srv:
            st, hdrs, body = lookup(srv, token, [phone(1), phone(2),
                                                 phone(3)])
            expect_error((st, hdrs, body), 429, "rate_limited",
                         what="state reloaded after restart")
            if int(hdrs.get("retry-after", "0")) < 1:
                raise AssertionError("Retry-After missing: %r" % hdrs)
            eq(lookup(srv, token, [phone(1), phone(2)])[0], 200,
               "the 2 tokens left")
    finally:
        dd.cleanup()


def test_sigint_stops_cleanly():
    import signal
    dd = cdstest.DataDir()
    try:
        srv = cdstest.Server(dd)
        srv.request("GET", "/v1/health")
        srv.stop(sig=signal.SIGINT, expect=0)
        if "stopped" not in srv.stderr():
            raise AssertionError("no stop message: " + srv.stderr())
    finally:
        dd.cleanup()


def log_records(dd):
    """Every query-log record of the data directory, oldest first."""
    import glob
    import sqlite3
    rows = []
    for f in sorted(glob.glob(os.path.join(dd.path, "querylog",
                                           "*.sqlite3"))):
        db = sqlite3.connect(f)
        try:
            rows += db.execute(
                "SELECT endpoint, status, items, account, ip, handles "
                "FROM records ORDER BY time_us, id").fetchall()
        finally:
            db.close()
    return rows


def test_query_log_records():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on", "--log-ip", "full",
                            "--durability", "sync") as srv:
            acct, token = create_account(srv, dd, [phone(1)])
            lookup(srv, token, [phone(1), phone(2)])
            srv.request("GET", "/v1/buckets/0?epoch=1")
            srv.request("POST", "/v1/discover", {"epoch": 1,
                                                 "elements": []}, token=token)
            srv.request("GET", "/v1/nope")
        rows = [r for r in log_records(dd) if r[0] != "health"]
        eq([(r[0], r[1], r[2]) for r in rows], [
            ("account_create", 201, 1), ("lookup", 200, 2),
            ("bucket_get", 200, 1), ("discover", 400, 0),
            ("other", 404, 0)], "one record per request")
        eq(rows[1][3], acct, "lookup record names the account")
        eq(sorted(rows[1][5].split("\n")), [phone(1), phone(2)],
           "plain lookup records its handles")
        eq([r[5] for r in rows if r[0] != "lookup"], [None] * 4,
           "no handles anywhere else")
        if "127.0.0.1" not in (rows[1][4] or ""):
            raise AssertionError("ip under --log-ip full: %r" % (rows[1],))
        with cdstest.Server(dd, "--log-ip", "none") as srv:
            srv.request("GET", "/v1/params")
        eq([r[4] for r in log_records(dd) if r[0] == "params"], [None],
           "no ip under --log-ip none")
    finally:
        dd.cleanup()


def test_sigterm_drains_inflight():
    # The request is in flight once the server has answered 100 Continue
    # to its headers; after SIGTERM, new requests get 503 shutting_down
    # while it is still waited for, then it is answered and cdsd exits 0.
    import signal
    import socket
    dd = cdstest.DataDir()
    try:
        srv = cdstest.Server(dd, "--plain-lookup", "on")
        try:
            _, token = create_account(srv, dd, [phone(1)])
            body = json.dumps({"handles": [phone(1)]}).encode()
            s = socket.create_connection((srv.host, srv.port), timeout=60)
            s.sendall(b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n"
                      b"Expect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            eq(s.recv(4096).split(b"\r\n")[0], b"HTTP/1.1 100 Continue",
               "headers taken")
            srv.proc.send_signal(signal.SIGTERM)

            def refused():
                r = srv.request("GET", "/v1/health")
                return r[0] == 503 and r[2]["error"]["code"] == \
                    "shutting_down" and r[1].get("retry-after") == "1"
            wait_for(refused, 60, "new requests refused while draining")
            eq(srv.proc.poll(), None, "waits for the request in flight")
            s.sendall(body)
            st, data = http_reply(s)
            s.close()
            if st != 200 or b'"registered":true' not in data:
                raise AssertionError("in-flight request got %d %r" % (
                    st, data[:200]))
            srv.proc.wait(timeout=60)
            eq(srv.proc.returncode, 0, "exit status after drain")
        finally:
            if srv.proc.poll() is None:
                srv.kill()
    finally:
        dd.cleanup()


def test_port_in_use():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd) as srv:
            p = cdstest.run([cdstest.exe("cdsd"), "--data", dd.path,
                             "--listen", "127.0.0.1:%d" % srv.port],
                            check=False)
            eq(p.returncode, 1, "second cdsd on the same port")
            if "127.0.0.1:%d" % srv.port not in p.stderr:
                raise AssertionError("error does not name the address: %r"
                                     % p.stderr)
            p = cdstest.run([cdstest.exe("cdsd"), "--data", dd.path,
                             "--threads", "zero"], check=False)
            eq(p.returncode, 2, "usage error")
            eq(len(p.stderr.strip().splitlines()), 1, "one-line error")
    finally:
        dd.cleanup()


cdstest.main(globals())
