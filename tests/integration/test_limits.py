"""test_limits: large address books against the server's default limits
(issue 11), and POST /v1/buckets revalidation and its guards.

- A 10,000-handle vCard (folded lines, four countries, non-Latin names)
  is discovered and synced twice against a cdsd with default flags: no 429
  anywhere, every handle answered, and the unchanged re-check makes at
  most ceil(buckets/256) bucket requests and downloads under 5% of the
  first sync.
- Against a tiny per-address limit the client waits out Retry-After and
  finishes; with --max-wait 1 it fails saying why.  A 503 with
  Retry-After is waited out too.
- The "etags" field: not_modified for a current ETag (either
  representation, weak or strong), refusals naming the index for
  malformed, over-long and non-parallel ETags and duplicate prefixes; the
  reply byte cap answers 413 naming the index, and the client splits.
"""
import base64
import json
import math
import os
import pty
import random
import re
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import metrics  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (BUCKETSBIN, Proxy, add_account,  # noqa: E402
                        bucketsbin_decode, by_handle, cds, metric, new_key,
                        summary, write_book)

BUCKETS_POST = "buckets_post"
NAMES = ["Αλεξάνδρα Παπαδοπούλου-Κωνσταντινίδου", "Ёлкина Александра",
         "山田 花子", "Zoë Ångström", "Mỹ Nguyễn", "محمد عبد الله",
         "Κωνσταντίνος", "Łukasz Żółw", "김민준", "Jürgen Groß"]


def fold(line):
    """RFC 6350 folding: lines over 75 octets continue on lines that start
    with a space, never splitting a UTF-8 character."""
    out, cur = [], ""
    for ch in line:
        limit = 75 if not out else 74
        if len((cur + ch).encode()) > limit:
            out.append(cur)
            cur = ""
        cur += ch
    out.append(cur)
    return "\r\n ".join(out)


def foreign_numbers(rng):
    """2,000 UK, 1,500 German and 500 French mobile numbers, distinct, in
    ranges libphonenumber holds valid, written as people write them."""
    uk = rng.sample(range(4 * 10 ** 6), 2000)
    de = rng.sample(range(10 ** 7), 1500)
    fr = rng.sample(range(10 ** 7), 500)
    return (["+44 7%d00 %06d" % ((4, 5, 8, 9)[n // 10 ** 6], n % 10 ** 6)
             for n in uk] +
            ["+49 1511 %07d" % n for n in de] +
            ["+33 6 1%d %02d %02d %02d" % (n // 10 ** 6, n // 10 ** 4 % 100,
                                           n // 100 % 100, n % 100)
             for n in fr])


def us_format(handle):
    d = handle[len("tel:+1"):]
    return "(%s) %s-%s" % (d[:3], d[3:6], d[6:])


def write_vcard(registered, path, seed=11):
    """10,000 distinct handles: the registered US numbers, foreign mobiles
    and e-mail addresses, four to a contact.  Returns the expected result
    per canonical handle (True = registered)."""
    rng = random.Random(seed)
    entries = [("TEL;TYPE=CELL", us_format(h)) for h in registered]
    entries += [("TEL;TYPE=CELL", n) for n in foreign_numbers(rng)]
    n_mail = 10000 - len(entries)
    entries += [("EMAIL;TYPE=INTERNET", "User%d.Mail@Example.ORG" % i)
                for i in range(n_mail)]
    rng.shuffle(entries)
    with open(path, "w", encoding="utf-8", newline="") as f:
        for c in range(0, len(entries), 4):
            name = "%s %d" % (NAMES[c % len(NAMES)], c)
            f.write("BEGIN:VCARD\r\nVERSION:3.0\r\n")
            f.write(fold("FN:" + name) + "\r\n")
            f.write(fold("NOTE:" + "imported from an independent writer; "
                         * 3) + "\r\n")
            for prop, value in entries[c:c + 4]:
                f.write(fold("%s:%s" % (prop, value)) + "\r\n")
            f.write("END:VCARD\r\n")
    return len(entries)


def bucket_requests(srv):
    """POST /v1/buckets requests answered, any status (from /metrics)."""
    body = metrics(srv).encode()
    prefix = 'cds_http_requests_total{endpoint="%s",' % BUCKETS_POST
    return sum(float(line.rsplit(" ", 1)[1])
               for line in body.decode().splitlines()
               if line.startswith(prefix))


def bytes_down(stderr):
    m = re.search(r"(\d+) bytes down in (\d+) requests", stderr)
    if not m:
        raise AssertionError("no transfer figures: %r" % stderr)
    return int(m.group(1))


def cds_on_tty(url, token, *args):
    """Run cds with stderr on a pseudo-terminal (stdout a pipe), as a user
    at a terminal would; returns (exit code, stdout, what the terminal
    showed)."""
    master, slave = pty.openpty()
    shown = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not data:
                return
            shown.append(data)
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    p = subprocess.Popen([cdstest.exe("cds"), "--server", url, "--token",
                          token] + list(args), stdout=subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    out = p.communicate(timeout=600)[0]
    t.join(timeout=60)
    os.close(master)
    return p.returncode, out.decode(), b"".join(shown).decode(errors="replace")


def check_answers(rows, registered, total):
    eq(len(rows), total, "one result per handle")
    got = by_handle(rows)
    eq(len(got), total, "distinct handles")
    reg = {h for h, r in got.items() if r["registered"]}
    eq(reg, set(registered), "exactly the registered handles")


def test_large_book_default_limits():
    # Buckets of about 20 entries, as in a directory of a few million
    # handles split the way cdsctl init splits it (32 to 128 on average,
    # here fewer to keep the test quick): the 5% is about real buckets.
    dd = cdstest.DataDir(prefix_bits=11)
    tmp = tempfile.mkdtemp(prefix="cds-large-")
    try:
        reg_file = os.path.join(tmp, "registered.txt")
        dd.ctl("synth", "--count", "40000", "--out", reg_file)
        with open(reg_file) as f:
            registered = random.Random(5).sample(f.read().split(), 4000)
        _, token = add_account(dd, new_key(), "tel:+12015550199")
        book = os.path.join(tmp, "book.vcf")
        total = write_vcard(registered, book)
        cache = os.path.join(tmp, "cache.sqlite3")
        with cdstest.Server(dd) as srv:
            rc, out, tty = cds_on_tty(srv.url(), token, "discover", "--json",
                                      book)
            eq(rc, 0, "discover: " + tty[-2000:])
            check_answers(json.loads(out), registered, total)
            eq(summary(tty)["handles"], total, "discover: all parsed")
            # Progress on the terminal, ending at the totals.
            m = re.search(r"\rcds: blinded %d/%d, evaluated %d/%d, buckets "
                          r"(\d+)/(\d+) \r?\n" % ((total,) * 4), tty)
            if not m or m.group(1) != m.group(2):
                raise AssertionError("no final progress line: %r" %
                                     tty[-600:])
            p = cds(srv.url(), token, "sync", "--json", book, cache=cache)
            check_answers(json.loads(p.stdout), registered, total)
            first = bytes_down(p.stderr)
            before = bucket_requests(srv)
            p = cds(srv.url(), token, "sync", "--json", book, cache=cache)
            check_answers(json.loads(p.stdout), registered, total)
            s = summary(p.stderr)
            eq((s["oprf"], s["fetched"]), (0, 0), "re-check: buckets only")
            buckets = s["not_modified"]
            made = bucket_requests(srv) - before
            if made > math.ceil(buckets / 256):
                raise AssertionError("re-check of %d buckets made %d bucket "
                                     "requests" % (buckets, made))
            again = bytes_down(p.stderr)
            # Each not_modified bucket carries its version and inclusion
            # proof (DESIGN.md "Directory transparency"): 32 K bytes in
            # base64; the rest stays within 5% of the first sync.
            proofs = buckets * (4 * math.ceil(32 * 11 / 3) + 32)
            if again >= 0.05 * first + proofs:
                raise AssertionError("re-check downloaded %d bytes (%d of "
                                     "them proofs), first sync %d" % (
                                         again, proofs, first))
            eq(metric(srv, "cds_ip_limited_total"), 0, "no per-address 429")
            eq(metric(srv, "cds_rate_limited_total"), 0, "no account 429")
            if "waiting" in p.stderr:
                raise AssertionError(p.stderr)
    finally:
        dd.cleanup()
        for n in os.listdir(tmp):
            os.unlink(os.path.join(tmp, n))
        os.rmdir(tmp)


SMALL = [("N%d" % i, "+1 201 555 %04d" % (100 + i * 37), "") for i in range(16)]


def small_world(*flags):
    dd = cdstest.DataDir(prefix_bits=8)
    _, token = add_account(dd, new_key(), "tel:+12015550100",
                           "tel:+12015550137")
    return dd, token, cdstest.Server(dd, *flags)


def test_tiny_limit_waits_then_gives_up():
    """Each bucket request costs its bytes plus 2,048: a 3,000-byte burst
    at 500 bytes/s admits two, then answers 429 with Retry-After 4."""
    dd, token, srv = small_world("--bucket-bytes-per-ip", "500",
                                 "--bucket-burst-bytes", "3000",
                                 "--max-prefixes", "4")
    book = write_book(SMALL)
    try:
        with srv:
            eq(srv.request("GET", "/v1/params")[2]["max_prefixes"], 4,
               "announced")
            p = cds(srv.url(), token, "discover", "--json", book)
            rows = by_handle(json.loads(p.stdout))
            eq(len(rows), len(SMALL), "every handle answered")
            eq(sorted(h for h, r in rows.items() if r["registered"]),
               ["tel:+12015550100", "tel:+12015550137"], "registered")
            if "waiting" not in p.stderr or "refusals" not in p.stderr:
                raise AssertionError("no wait reported: " + p.stderr)
            if metric(srv, "cds_ip_limited_total") < 1:
                raise AssertionError("the server never refused")
            p = cds(srv.url(), token, "discover", "--max-wait", "1", book,
                    check=False)
            eq(p.returncode, 1, "bounded wait")
            if "gave up" not in p.stderr or "1.0 s" not in p.stderr or \
                    "POST /v1/buckets" not in p.stderr:
                raise AssertionError(p.stderr)
            eq(p.stdout, "", "no partial result")
    finally:
        os.unlink(book)
        dd.cleanup()


def test_503_waited_out():
    """A 503 with Retry-After (here from a proxy) is waited out; without
    Retry-After it is an error at once."""
    dd, token, srv = small_world()
    book = write_book(SMALL)
    refused = []

    def busy_once(method, path, status, headers, body):
        if method == "POST" and path == "/v1/buckets" and not refused:
            refused.append(path)
            return 503, {"Retry-After": "1",
                         "Content-Type": "application/json"}, json.dumps(
                {"error": {"code": "busy", "message": "overloaded"}}).encode()
        return None

    def busy_always(method, path, status, headers, body):
        if method == "POST" and path == "/v1/buckets":
            return 503, {"Content-Type": "application/json"}, b"{}"
        return None
    try:
        with srv, Proxy(srv, busy_once) as px:
            p = cds(px.url(), token, "discover", "--json", book)
            eq(len(json.loads(p.stdout)), len(SMALL), "answered after 503")
            if "HTTP 503" not in p.stderr:
                raise AssertionError(p.stderr)
            eq(refused, ["/v1/buckets"], "refused once")
            with Proxy(srv, busy_always) as px2:
                p = cds(px2.url(), token, "discover", book, check=False)
                eq(p.returncode, 1, "503 without Retry-After")
                if "503" not in p.stderr or "waiting" in p.stderr:
                    raise AssertionError(p.stderr)
    finally:
        os.unlink(book)
        dd.cleanup()


def post(srv, body):
    return srv.request("POST", "/v1/buckets", body)


def expect_400(reply, index, what):
    st, _, body = reply
    eq(st, 400, what)
    eq(body["error"]["code"], "invalid", what)
    eq(body["error"].get("index"), index, what + ": index")


def test_etags_api():
    dd = cdstest.DataDir(prefix_bits=1)
    try:
        dd.ctl("synth", "--count", "60")
        _, token = add_account(dd, new_key(), "tel:+12015550100")
        with cdstest.Server(dd, "--max-bucket-reply", "4096") as srv:
            _, h, one = srv.request("GET", "/v1/buckets/1?epoch=1")
            tag = h["etag"]
            _, hb, _ = srv.request("GET", "/v1/buckets/1?epoch=1", headers={
                "Accept": "application/octet-stream"}, raw=True)
            st, _, body = post(srv, {"epoch": 1, "prefixes": [1]})
            eq(st, 200, "one bucket over the cap is still served")
            eq(body["buckets"][0]["etag"], tag, "POST gives GET's ETag")
            eq(body["buckets"][0]["entries"], one["entries"], "same bytes")
            for t in (tag, "W/" + tag, hb["etag"]):
                st, _, body = post(srv, {"epoch": 1, "prefixes": [1],
                                         "etags": [t]})
                eq(st, 200, t)
                nm = body["buckets"][0]
                # With the version and proof it belongs to (DESIGN.md
                # "Directory transparency"): one prefix bit, 32 bytes.
                eq(len(base64.b64decode(nm.pop("proof"))), 32, "proof")
                eq(nm.pop("version"), 1, "version")
                eq(body["buckets"], [{"prefix": 1, "not_modified": True}], t)
            st, _, body = post(srv, {"epoch": 1, "prefixes": [0, 1],
                                     "etags": [tag, None]})
            eq(st, 413, "two full buckets exceed 4,096 bytes")
            eq(body["error"]["index"], 1, "413 names the first that did "
                                          "not fit")
            st, _, body = post(srv, {"epoch": 1, "prefixes": [0, 1],
                                     "etags": ['"stale"', tag]})
            eq(st, 200, "not_modified ones fit")
            eq(sorted(body["buckets"][1]), ["not_modified", "prefix", "proof",
                                            "version"], "current")
            eq(sorted(body["buckets"][0]), ["entries", "etag", "prefix",
                                            "proof", "version"],
               "stale ETag: full bucket")
            cases = [
                ({"epoch": 1, "prefixes": [0, 1], "etags": [None]}, 1,
                 "shorter"),
                ({"epoch": 1, "prefixes": [0], "etags": [None, None]}, 1,
                 "longer"),
                ({"epoch": 1, "prefixes": [0, 1], "etags": [None, 5]}, 1,
                 "not a string"),
                ({"epoch": 1, "prefixes": [0, 1], "etags": [None, "x"]}, 1,
                 "unquoted"),
                ({"epoch": 1, "prefixes": [0], "etags": ['"%s"' % ("a" * 80)]},
                 0, "too long"),
                ({"epoch": 1, "prefixes": [0, 1], "etags": [None, '"a b"']},
                 1, "space"),
                ({"epoch": 1, "prefixes": [1, 0, 1]}, 2, "duplicate"),
                ({"epoch": 1, "prefixes": [0], "etags": {}}, None,
                 "not an array"),
            ]
            for body, index, what in cases:
                expect_400(post(srv, body), index, what)
            eq(metric(srv, "cds_ip_limited_total"), 0, "defaults")
            book = write_book(SMALL)
            try:
                p = cds(srv.url(), token, "discover", book)
                eq(p.returncode, 0, "the client splits on 413")
            finally:
                os.unlink(book)
    finally:
        dd.cleanup()


def post_bin(srv, body):
    return srv.request("POST", "/v1/buckets", body,
                       headers={"Accept": BUCKETSBIN}, raw=True)


def test_binary_answer():
    """POST /v1/buckets with Accept: application/octet-stream: the JSON
    answer's buckets, versions and proofs, raw (docs/api.md); revalidation
    and the byte cap work alike; errors stay JSON."""
    dd = cdstest.DataDir(prefix_bits=2)
    try:
        dd.ctl("synth", "--count", "60")
        with cdstest.Server(dd, "--max-bucket-reply", "4096") as srv:
            # One bucket at a time in JSON (two would pass the cap).
            js = {"buckets": [post(srv, {"epoch": 1, "prefixes": [p]})[2][
                "buckets"][0] for p in (3, 0)]}
            st, h, raw = post_bin(srv, {"epoch": 1, "prefixes": [3, 0]})
            eq((st, h["content-type"], h["vary"]), (200, BUCKETSBIN, "Accept"),
               "binary answer")
            doc = bucketsbin_decode(raw)
            eq(doc["epoch"], 1, "epoch")
            _, hg, _ = srv.request("GET", "/v1/buckets/3?epoch=1", headers={
                "Accept": BUCKETSBIN}, raw=True)
            eq(doc["buckets"][0]["etag"], hg["etag"], "the raw ETag")
            for b, j in zip(doc["buckets"], js["buckets"]):
                if not j["entries"]:
                    raise AssertionError("an empty bucket proves little")
                for k in ("prefix", "entries", "version", "proof"):
                    eq(b[k], j[k], "bucket %d: %s" % (j["prefix"], k))
            # Revalidation by either representation's ETag.
            st, _, raw = post_bin(srv, {"epoch": 1, "prefixes": [3, 0],
                                        "etags": [doc["buckets"][0]["etag"],
                                                  js["buckets"][1]["etag"]]})
            nm = bucketsbin_decode(raw)["buckets"]
            eq([sorted(b) for b in nm],
               [["not_modified", "prefix", "proof", "version"]] * 2,
               "not modified")
            eq(len(raw), 8 + 2 * (15 + 2 * 32), "bare items")
            # The byte cap counts raw bytes: 413 names the first that did
            # not fit, and what came before it is served.
            st, _, body = srv.request("POST", "/v1/buckets", {
                "epoch": 1, "prefixes": [0, 1, 2, 3]},
                headers={"Accept": BUCKETSBIN})
            eq(st, 413, "four buckets exceed 4,096 bytes")
            at = body["error"]["index"]
            st, _, raw = post_bin(srv, {"epoch": 1,
                                        "prefixes": [0, 1, 2, 3][:at]})
            eq(st, 200, "the ones before the index fit")
            if len(raw) > 4096:
                raise AssertionError("over the cap: %d" % len(raw))
            # Errors are JSON whatever was asked for.
            for req, status in (({"epoch": 2, "prefixes": [0]}, 409),
                                ({"epoch": 1, "prefixes": [9]}, 400)):
                st, h, body = srv.request("POST", "/v1/buckets", req,
                                          headers={"Accept": BUCKETSBIN})
                eq((st, h["content-type"]), (status, "application/json"),
                   json.dumps(req))
    finally:
        dd.cleanup()


cdstest.main(globals())
