"""test_discover_api: POST /v1/discover and the bucket endpoints at the HTTP
level: good requests have the right shape, every bad one gets its status,
code and index, rate limits refuse before evaluating, buckets are cacheable.
(Cryptographic round trips are tested with the real client elsewhere.)"""
import base64
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import (b64, create_account, expect_error, metric_value,  # noqa: E402
                     metrics, phone, wait_for)
from cdstest import eq  # noqa: E402

ENTRY = 104


def valid_points():
    """Canonical ristretto255 points from the RFC 9497 vectors."""
    with open(os.path.join(cdstest.DATA, "vectors",
                           "rfc9497_ristretto255_sha512.json")) as f:
        v = json.load(f)["VOPRF"]
    pts = {v["pkSm"]}
    for t in v["vectors"]:
        for k in ("BlindedElement", "EvaluationElement"):
            pts.update(t[k].split(","))
    return [b64(bytes.fromhex(p)) for p in sorted(pts)]


POINTS = valid_points()


def points(n):
    """n valid elements (repeating the known points as needed)."""
    return (POINTS * (n // len(POINTS) + 1))[:n]


def discover(srv, token, elements, epoch=1):
    return srv.request("POST", "/v1/discover",
                       {"epoch": epoch, "elements": elements}, token=token)


def bucket_of(handle, bits):
    d = hashlib.sha256(b"cds/v1/bucket" + handle.encode()).digest()
    return int.from_bytes(d[:4], "big") >> (32 - bits) if bits else 0


def test_discover_shape():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd) as srv:
            _, token = create_account(srv, dd, [phone(1)])
            els = points(3) + [POINTS[0]]
            st, hdrs, body = discover(srv, token, els)
            eq(st, 200, "discover")
            eq(sorted(body), ["epoch", "evaluated", "proof"], "fields")
            eq(body["epoch"], 1, "epoch")
            ev = [base64.b64decode(e, validate=True)
                  for e in body["evaluated"]]
            eq([len(e) for e in ev], [32] * 4, "evaluated elements")
            eq(len(base64.b64decode(body["proof"], validate=True)), 64,
               "proof is c || s")
            eq(ev[0], ev[3], "same element, same evaluation")
            if len({ev[0], ev[1], ev[2]}) != 3:
                raise AssertionError("distinct elements, equal evaluations")
            if ev[0] == base64.b64decode(els[0]):
                raise AssertionError("evaluation returned the input")
            eq(hdrs.get("cache-control"), "no-store", "not cacheable")
            eq(metric_value(metrics(srv),
                            "cds_oprf_elements_evaluated_total"), 4,
               "elements counted")
    finally:
        dd.cleanup()


def test_discover_bad_input():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--rate-allowance", "20",
                            "--rate-refill", "0") as srv:
            _, token = create_account(srv, dd, [phone(1)])
            good = POINTS[0]
            bad = [
                ("invalid base64", [good, "!!!!" * 11], 1),
                ("31 bytes", [b64(b"\x01" * 31)], 0),
                ("33 bytes", [good, good, b64(b"\x01" * 33)], 2),
                ("unpadded", [good.rstrip("=")], 0),
                ("identity", [good, b64(bytes(32))], 1),
                ("non-canonical", [b64(b"\xff" * 32)], 0),
                ("not a string", [good, 12], 1),
            ]
            for what, els, idx in bad:
                expect_error(discover(srv, token, els), 400, "invalid", idx,
                             what)
            expect_error(discover(srv, token, []), 400, "invalid",
                         what="empty batch")
            expect_error(discover(srv, token, [good] * 1025), 413,
                         "too_large", what="oversized batch")
            expect_error(discover(srv, token, [good], epoch=0), 400,
                         "invalid", what="epoch 0")
            expect_error(srv.request("POST", "/v1/discover",
                                     {"epoch": "1", "elements": [good]},
                                     token=token), 400, "invalid",
                         what="epoch as string")
            expect_error(srv.request("POST", "/v1/discover",
                                     {"elements": [good]}, token=token),
                         400, "invalid", what="missing epoch")
            err = expect_error(discover(srv, token, [good], epoch=7), 409,
                               "epoch", what="unknown epoch")
            eq(err.get("epoch"), 1, "409 names the current epoch")
            if "1" not in err["message"]:
                raise AssertionError("message lacks the epoch: %r" % err)
            expect_error(srv.request("POST", "/v1/discover",
                                     {"epoch": 1, "elements": [good]}), 401,
                         "unauthorized", what="missing token")
            expect_error(discover(srv, token, [good] * 21), 413,
                         "too_large", what="batch over the rate capacity")
            # None of the refused requests was charged: the whole
            # allowance is still there.
            eq(discover(srv, token, [good] * 20)[0], 200,
               "allowance intact after refusals")
            eq(metric_value(metrics(srv),
                            "cds_oprf_elements_evaluated_total"), 20,
               "only the good batch evaluated")
    finally:
        dd.cleanup()


def test_rate_limit_exhaustion():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--rate-allowance", "10", "--rate-refill",
                            "86400") as srv:
            _, token = create_account(srv, dd, [phone(1)])
            _, token2 = create_account(srv, dd, [phone(2)])
            eq(discover(srv, token, points(8))[0], 200, "8 of 10")
            st, hdrs, body = discover(srv, token, points(4))
            expect_error((st, hdrs, body), 429, "rate_limited",
                         what="over the allowance")
            ra = int(hdrs.get("retry-after", "0"))
            # 1 token/s refill: 2 missing tokens need about 2 seconds.
            if not 1 <= ra <= 3:
                raise AssertionError("Retry-After %r" % hdrs)
            eq(metric_value(metrics(srv),
                            "cds_oprf_elements_evaluated_total"), 8,
               "nothing evaluated for the refused request")
            eq(metric_value(metrics(srv), "cds_rate_limited_total"), 1,
               "rejection counted")
            eq(discover(srv, token2, points(10))[0], 200,
               "other accounts unaffected")
    finally:
        dd.cleanup()


def test_bucket_get():
    bits = 4
    dd = cdstest.DataDir(prefix_bits=bits)
    try:
        with cdstest.Server(dd) as srv:
            handles = [phone(i) for i in range(40)]
            create_account(srv, dd, handles[:20])
            create_account(srv, dd, handles[20:])
            want = [0] * (1 << bits)
            for h in handles:
                want[bucket_of(h, bits)] += 1

            # Buckets come from sealed versions: both accounts are in one
            # within the seal interval (DESIGN.md "Directory transparency").
            def sealed():
                return sum(len(base64.b64decode(srv.request(
                    "GET", "/v1/buckets/%d?epoch=1" % p)[2]["entries"]))
                    for p in range(1 << bits)) == len(handles) * ENTRY
            wait_for(sealed, 5, "both changes sealed")
            got = []
            for p in range(1 << bits):
                st, hdrs, body = srv.request(
                    "GET", "/v1/buckets/%d?epoch=1" % p)
                eq(st, 200, "bucket %d" % p)
                eq((body["epoch"], body["prefix"]), (1, p), "bucket fields")
                raw = base64.b64decode(body["entries"], validate=True)
                eq(len(raw) % ENTRY, 0, "whole entries")
                fps = [raw[i:i + 16] for i in range(0, len(raw), ENTRY)]
                eq(fps, sorted(fps), "sorted by fingerprint")
                got.append(len(raw) // ENTRY)
                if not hdrs.get("cache-control", "").startswith("public"):
                    raise AssertionError("not cacheable: %r" % hdrs)
                eq(hdrs.get("vary"), "Accept", "Vary")
            eq(got, want, "entries per bucket follow bucket(h)")
            # ETag and 304, also through W/ and lists.
            p = bucket_of(handles[0], bits)
            path = "/v1/buckets/%d?epoch=1" % p
            st, hdrs, body = srv.request("GET", path)
            etag = hdrs["etag"]
            for inm in (etag, "W/" + etag, '"x", %s' % etag, "*"):
                st, h2, b2 = srv.request("GET", path, raw=True,
                                         headers={"If-None-Match": inm})
                eq((st, b2), (304, b""), "304 for %r" % inm)
                eq(h2.get("etag"), etag, "304 keeps the ETag")
            eq(srv.request("GET", path, headers={
                "If-None-Match": '"other"'})[0], 200, "other ETag: 200")
            # Raw octets: the same bytes, another representation.
            st, h3, raw = srv.request("GET", path, raw=True, headers={
                "Accept": "application/octet-stream"})
            eq(st, 200, "octet-stream")
            eq(h3.get("content-type"), "application/octet-stream", "type")
            eq(raw, base64.b64decode(body["entries"]), "same bytes")
            if h3["etag"] == etag:
                raise AssertionError("raw and JSON share an ETag")
            # A change to the bucket changes its ETag.
            create_account(srv, dd, [h for h in (phone(i) for i in range(
                100, 200)) if bucket_of(h, bits) == p][:1])
            wait_for(lambda: srv.request("GET", path)[1]["etag"] != etag, 5,
                     "the ETag changes once the change is sealed")
            eq(srv.request("GET", path, headers={"If-None-Match": etag})[0],
               200, "stale ETag: 200")
            m = metrics(srv)
            eq(metric_value(m, "cds_bucket_not_modified_total"), 4, "304s")
    finally:
        dd.cleanup()


def test_bucket_bad_input():
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        with cdstest.Server(dd) as srv:
            for path, status, code in [
                    ("/v1/buckets/16?epoch=1", 400, "invalid"),
                    ("/v1/buckets/abc?epoch=1", 400, "invalid"),
                    ("/v1/buckets/-1?epoch=1", 400, "invalid"),
                    ("/v1/buckets/01?epoch=1", 400, "invalid"),
                    ("/v1/buckets/99999999999?epoch=1", 400, "invalid"),
                    ("/v1/buckets/1", 400, "invalid"),
                    ("/v1/buckets/1?epoch=x", 400, "invalid"),
                    ("/v1/buckets/1?epoch=0", 400, "invalid"),
                    ("/v1/buckets/1?epoch=9", 409, "epoch"),
                    ("/v1/buckets/1/2?epoch=1", 404, "not_found")]:
                expect_error(srv.request("GET", path), status, code,
                             what=path)
            post = [
                ({"epoch": 1, "prefixes": [0, 16]}, 400, "invalid", 1),
                ({"epoch": 1, "prefixes": [0, -1]}, 400, "invalid", 1),
                ({"epoch": 1, "prefixes": ["0"]}, 400, "invalid", 0),
                ({"epoch": 1, "prefixes": [1.5]}, 400, "invalid", 0),
                ({"epoch": 1, "prefixes": []}, 400, "invalid", None),
                ({"epoch": 1, "prefixes": [0] * 257}, 413, "too_large",
                 None),
                ({"epoch": 1}, 400, "invalid", None),
                ({"epoch": 2, "prefixes": [0]}, 409, "epoch", None),
                ({"epoch": 1, "prefixes": [0], "x": 1}, 400, "invalid",
                 None),
            ]
            for body, status, code, idx in post:
                expect_error(srv.request("POST", "/v1/buckets", body),
                             status, code, idx, json.dumps(body)[:60])
            expect_error(srv.request("POST", "/v1/buckets", {
                "epoch": 1, "prefixes": [3, 0, 3]}), 400, "invalid", 2,
                "duplicate prefix")
            st, _, body = srv.request("POST", "/v1/buckets",
                                      {"epoch": 1, "prefixes": [3, 0]})
            eq(st, 200, "POST buckets")
            eq([b["prefix"] for b in body["buckets"]], [3, 0], "order")
            _, _, one = srv.request("GET", "/v1/buckets/3?epoch=1")
            eq(body["buckets"][0]["entries"], one["entries"], "same bucket")
    finally:
        dd.cleanup()


def test_bucket_flood_guard():
    """The per-address guard charges bytes: each of these tiny replies
    costs its body plus 2,048 bytes, so a 6,000-byte burst admits three
    (the third into debt) and refuses the fourth."""
    dd = cdstest.DataDir(prefix_bits=2)
    try:
        with cdstest.Server(dd, "--bucket-bytes-per-ip", "0.5",
                            "--bucket-burst-bytes", "6000") as srv:
            for i in range(3):
                eq(srv.request("GET", "/v1/buckets/0?epoch=1")[0], 200,
                   "within burst")
            st, hdrs, body = srv.request("GET", "/v1/buckets/0?epoch=1")
            expect_error((st, hdrs, body), 429, "rate_limited",
                         what="flood")
            if int(hdrs.get("retry-after", "0")) < 1:
                raise AssertionError("no Retry-After: %r" % hdrs)
            expect_error(srv.request("POST", "/v1/buckets", {
                "epoch": 1, "prefixes": [0, 1]}), 429, "rate_limited",
                what="POST refused too")
            eq(srv.request("GET", "/v1/health")[0], 200, "others free")
            eq(metric_value(metrics(srv), "cds_ip_limited_total"), 2,
               "refusals counted")
    finally:
        dd.cleanup()


cdstest.main(globals())
