"""test_private_log: what a private discovery leaves in the query log.

DESIGN.md: "A private discovery records no handle, no bucket, nothing about
targets."  A real `cds discover` and hand-made /v1/discover and bucket
requests run against a cdsd that logs full IPs in `sync` mode; then every
byte of every file under DIR/querylog (day files, -wal, -shm) is searched
for the handles (whole and as bare digits), the blinded elements (raw and
base64) and the bucket paths, and each record is checked field by field.
The same search after a plain lookup must find the handles, so the search
itself is shown to work.
"""
import base64
import hashlib
import os
import sqlite3

import clientutil
import cdstest
from cdstest import DataDir, Server, eq

REGISTERED = ["+12015550123", "+447400123456"]
UNREGISTERED = ["+12015550145", "+819012345678"]
# Canonical ristretto255 encodings of B, 2B, 3B (RFC 9496, A.1).
POINTS = [bytes.fromhex(h) for h in (
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
)]


def bucket(handle, bits):
    d = hashlib.sha256(b"cds/v1/bucket" + handle.encode()).digest()
    return int.from_bytes(d[:4], "big") >> (32 - bits) if bits else 0


def log_bytes(dd):
    out = b""
    for root, _, files in os.walk(os.path.join(dd.path, "querylog")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out += fh.read()
    return out


def log_records(dd):
    rows = []
    qdir = os.path.join(dd.path, "querylog")
    for f in sorted(os.listdir(qdir)):
        if f.endswith(".sqlite3"):
            db = sqlite3.connect(os.path.join(qdir, f))
            db.row_factory = sqlite3.Row
            rows += [dict(r) for r in db.execute("SELECT * FROM records")]
            db.close()
    return rows


def secrets(bits):
    """Byte strings that must never appear in the log of a private query."""
    s = []
    for num in REGISTERED + UNREGISTERED:
        h = "tel:" + num
        s += [h.encode(), num[1:].encode()]
        s.append(("/v1/buckets/%d" % bucket(h, bits)).encode())
    for p in POINTS:
        s += [p, base64.b64encode(p), p.hex().encode()]
    return s


def test_private_discovery_logs_no_target():
    dd = DataDir(prefix_bits=14)
    try:
        for num in REGISTERED:
            clientutil.add_account(dd, clientutil.new_key(), "tel:" + num)
        _, token = clientutil.add_account(dd, clientutil.new_key(),
                                          "tel:+12025550199")
        book = clientutil.write_book(
            [("P%d" % i, n, None) for i, n in enumerate(REGISTERED +
                                                      UNREGISTERED)])
        with Server(dd, "--log-ip", "full", "--durability", "sync",
                    "--plain-lookup", "on") as srv:
            rows, _ = clientutil.cds_json(srv.url(), token, "discover",
                                          "--decoys", "3", book)
            eq(sum(r["registered"] for r in rows), len(REGISTERED),
               "registered contacts found")
            st, _, params = srv.request("GET", "/v1/params")
            eq(st, 200, "params")
            st, _, body = srv.request(
                "POST", "/v1/discover", token=token,
                body={"epoch": params["epoch"],
                      "elements": [base64.b64encode(p).decode()
                                   for p in POINTS]})
            eq(st, 200, "discover of known points")
            for num in REGISTERED + UNREGISTERED:
                b = bucket("tel:" + num, 14)
                st, _, _ = srv.request(
                    "GET", "/v1/buckets/%d?epoch=%d" % (b, params["epoch"]))
                eq(st, 200, "bucket GET")
            st, _, _ = srv.request(
                "POST", "/v1/buckets",
                body={"epoch": params["epoch"],
                      "prefixes": [bucket("tel:" + n, 14)
                                   for n in UNREGISTERED]})
            eq(st, 200, "bucket POST")
        data = log_bytes(dd)
        for s in secrets(14):
            if s in data:
                raise AssertionError("query log holds %r" % s[:40])
        recs = log_records(dd)
        private = [r for r in recs if r["endpoint"] in
                   ("discover", "bucket_get", "buckets_post")]
        if len(private) < 3 + len(REGISTERED + UNREGISTERED):
            raise AssertionError("expected the private requests in the log, "
                                 "got %r" % [r["endpoint"] for r in recs])
        for r in private:
            eq(r["handles"], None, "handles of a %s record" % r["endpoint"])
            eq(set(r) - {"id", "time_us", "ip", "ip_bits", "account",
                         "endpoint", "items", "status", "handles", "via"},
               set(), "record columns")
            eq(r["via"], None, "a direct request's via")
        # The search works: a plain lookup of the same numbers is found.
        with Server(dd, "--log-ip", "full", "--durability", "sync",
                    "--plain-lookup", "on") as srv:
            clientutil.cds(srv.url(), token, "discover", "--plain", book)
        data = log_bytes(dd)
        for num in REGISTERED + UNREGISTERED:
            if ("tel:" + num).encode() not in data:
                raise AssertionError("plain lookup of %s not logged" % num)
        os.unlink(book)
    finally:
        dd.cleanup()


if __name__ == "__main__":
    cdstest.main(globals())
