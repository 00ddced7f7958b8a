"""test_client: the `cds` client against a real cdsd: private discovery of
registered, unregistered, removed, re-added and re-keyed handles; the JSON
shape DESIGN.md pins; plain mode only when asked and offered; refusal of a
forged proof, a wrong public key, an altered evaluation, a tampered bucket
entry and malformed replies (through a tampering proxy); rate limits; usage
errors; and the example program over the public API."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (Proxy, add_account, by_handle, cds, cds_json,  # noqa: E402
                        buckets_body, buckets_doc, json_body, new_key,
                        summary, until, write_book)

ALICE_TEL = "tel:+12015550123"
ALICE_MAIL = "mailto:alice@example.org"
BOB_TEL = "tel:+442079460958"
CAROL_TEL = "tel:+12015550147"
BOOK = [
    ("Alice", "(201) 555-0123", "Alice@Example.org"),
    ("Bob", "+44 20 7946 0958", ""),
    ("Carol", "201-555-0147", ""),
    ("Nobody", "12", ""),
]


class World:
    """A data directory, a running cdsd, the accounts and the book."""

    def __init__(self, *flags, prefix_bits=8):
        self.dd = cdstest.DataDir(prefix_bits=prefix_bits)
        self.alice_key = new_key()
        self.alice, self.alice_token = add_account(
            self.dd, self.alice_key, ALICE_TEL, ALICE_MAIL)
        self.bob_key = new_key()
        self.bob, _ = add_account(self.dd, self.bob_key, BOB_TEL)
        # The account whose token the client uses.
        _, self.token = add_account(self.dd, new_key(), "tel:+12015550199")
        self.srv = cdstest.Server(self.dd, *flags)
        self.book = write_book(BOOK)

    def discover(self, *args, url=None):
        rows, err = cds_json(url or self.srv.url(), self.token, "discover",
                             *args, self.book)
        return by_handle(rows), err

    def close(self):
        self.srv.stop()
        self.dd.cleanup()
        os.unlink(self.book)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
            return
        if self.srv.proc.poll() is None:
            self.srv.kill()
        sys.stderr.write("--- cdsd stderr ---\n" + self.srv.stderr()[-3000:])
        self.dd.cleanup()
        os.unlink(self.book)


def test_discover_states():
    with World() as w:
        rows, err = w.discover()
        eq(sorted(rows), sorted([ALICE_TEL, ALICE_MAIL, BOB_TEL, CAROL_TEL]),
           "handles")
        a = rows[ALICE_TEL]
        eq(a["registered"], True, "alice registered")
        eq(a["account"], w.alice, "alice account")
        eq(a["identity_key"], w.alice_key, "alice key")
        eq(a["name"], "Alice", "name")
        eq(rows[ALICE_MAIL]["account"], w.alice, "e-mail normalised and found")
        eq(rows[BOB_TEL]["identity_key"], w.bob_key, "bob key")
        eq(rows[CAROL_TEL]["registered"], False, "carol not registered")
        s = summary(err)
        eq((s["contacts"], s["handles"], s["registered"], s["oprf"]),
           (4, 4, 3, 4), "summary")
        if "Nobody" not in err or "'12'" not in err:
            raise AssertionError("problem entry not reported: " + err)

        # Removed, then re-added under a new account and key.
        w.dd.ctl("account", "remove", w.bob)
        until(lambda: not w.discover()[0][BOB_TEL]["registered"], "bob removed")
        new_bob_key = new_key()
        new_bob, _ = add_account(w.dd, new_bob_key, BOB_TEL)
        row = until(lambda: w.discover()[0][BOB_TEL]["registered"] and
                    w.discover()[0][BOB_TEL], "bob re-added")
        eq(row["account"], new_bob, "re-added account")
        eq(row["identity_key"], new_bob_key, "re-added key")

        # Re-keyed through the API with Alice's own token.
        rekey = new_key()
        st, _, body = w.srv.request("PUT", "/v1/accounts/me/identity_key",
                                    {"identity_key": rekey},
                                    token=w.alice_token)
        if st not in (200, 204):
            raise AssertionError("re-key: %d %r" % (st, body))
        until(lambda: w.discover()[0][ALICE_TEL]["identity_key"] == rekey,
              "alice re-keyed")
        eq(w.discover()[0][ALICE_MAIL]["account"], w.alice, "same account")


def test_json_shape_and_table():
    with World() as w:
        p = cds(w.srv.url(), w.token, "discover", "--json", w.book)
        rows = json.loads(p.stdout)
        if not isinstance(rows, list):
            raise AssertionError("JSON output is not an array")
        for r in rows:
            want = {"name", "handle", "registered"}
            if r["registered"]:
                want |= {"account", "identity_key"}
            eq(set(r), want, "keys of " + r["handle"])
            eq(type(r["registered"]), bool, "registered is a boolean")
        # Contact order, then handle order within a contact.
        eq([r["handle"] for r in rows],
           [ALICE_TEL, ALICE_MAIL, BOB_TEL, CAROL_TEL], "order")
        table = cds(w.srv.url(), w.token, "discover", w.book).stdout
        lines = table.strip().splitlines()
        eq(len(lines), 5, "table rows")
        if "HANDLE" not in lines[0] or w.alice not in table:
            raise AssertionError("table: " + table)
        # stdin works as the book.
        with open(w.book) as f:
            p = cds(w.srv.url(), w.token, "discover", "--json", "-",
                    input=f.read())
        eq(len(json.loads(p.stdout)), 4, "rows from stdin")


def test_region_and_decoys():
    with World() as w:
        book = write_book([("Gb", "020 7946 0958", "")])
        try:
            rows, _ = cds_json(w.srv.url(), w.token, "discover", "--region",
                               "GB", "--decoys", "5", book)
            eq(rows[0]["handle"], BOB_TEL, "GB number")
            eq(rows[0]["registered"], True, "found")
            p = cds(w.srv.url(), w.token, "discover", "--region", "gb",
                    "--decoys", "5", book)
            if "(5 decoys)" not in p.stderr:
                raise AssertionError("decoys not fetched: " + p.stderr)
        finally:
            os.unlink(book)


def test_plain_mode():
    with World("--plain-lookup", "on") as w:
        private, _ = w.discover()
        plain, err = w.discover("--plain")
        eq(plain, private, "plain and private agree")
        if "warning" not in err or "may log" not in err:
            raise AssertionError("no plain-lookup warning: " + err)
        eq(summary(err)["oprf"], 0, "plain spends no OPRF")
    with World() as w:
        p = cds(w.srv.url(), w.token, "discover", "--plain", w.book,
                check=False)
        eq(p.returncode, 1, "plain refused when not offered")
        if "does not offer plain lookup" not in p.stderr:
            raise AssertionError(p.stderr)


def refused(w, alter, needle):
    """Discover through a proxy that applies alter; cds must exit 1 with
    needle in its message and print no results."""
    with Proxy(w.srv, alter) as px:
        p = cds(px.url(), w.token, "discover", "--json", w.book, check=False)
    eq(p.returncode, 1, "exit code with " + needle)
    if needle not in p.stderr:
        raise AssertionError("expected %r in: %s" % (needle, p.stderr))
    eq(p.stdout, "", "no results printed")
    return p


def only(path_prefix, method, fn, as_json=False):
    """Rewrite the JSON of one route's answers with fn.  POST /v1/buckets'
    binary answer is rewritten as its JSON twin and sent back binary, or,
    with as_json, sent as JSON (a server that ignores the Accept)."""
    def alter(m, path, status, hdrs, body):
        if m == method and path.startswith(path_prefix) and status == 200:
            if path == "/v1/buckets":
                doc = json.loads(fn(buckets_doc(hdrs, body)))
                if as_json:
                    hdrs = dict(hdrs, **{"Content-Type": "application/json"})
                    return status, hdrs, json.dumps(doc).encode()
                return status, hdrs, buckets_body(hdrs, doc)
            return status, hdrs, fn(json_body(body))
        return None
    return alter


def test_json_bucket_answers():
    """cds asks for POST /v1/buckets' binary answer; a server that answers
    in JSON all the same (DESIGN.md pins only JSON) gives the same
    results."""
    seen = []

    def same(doc):
        seen.append(len(doc["buckets"]))
        return json.dumps(doc).encode()
    with World() as w:
        direct, _ = w.discover()
        with Proxy(w.srv, only("/v1/buckets", "POST", same,
                               as_json=True)) as px:
            rows, _ = w.discover(url=px.url())
        if not seen:
            raise AssertionError("no bucket answer went through the proxy")
        eq(rows, direct, "the same results from JSON answers")
        eq(rows[ALICE_TEL]["registered"], True, "alice found")


def flip_b64(s, at):
    raw = bytearray(base64.b64decode(s))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_forged_proof():
    def fn(doc):
        doc["proof"] = flip_b64(doc["proof"], 5)
        return json.dumps(doc).encode()
    with World() as w:
        refused(w, only("/v1/discover", "POST", fn),
                "server proof did not verify: refusing results")


def test_wrong_public_key():
    with open(os.path.join(cdstest.DATA, "vectors", "cds-v1.json")) as f:
        other = base64.b64encode(bytes.fromhex(json.load(f)["pkS"])).decode()

    def fn(doc):
        doc["public_key"] = other
        return json.dumps(doc).encode()
    with World() as w:
        refused(w, only("/v1/params", "GET", fn), "server proof did not verify")


def test_altered_evaluation():
    with World() as w:
        # Another valid group element in place of the first evaluation.
        st, _, params = w.srv.request("GET", "/v1/params")

        def fn(doc):
            doc["evaluated"][0] = params["public_key"]
            return json.dumps(doc).encode()
        refused(w, only("/v1/discover", "POST", fn), "did not verify")


def test_tampered_entry():
    def fn(doc):
        for b in doc["buckets"]:
            raw = bytearray(base64.b64decode(b["entries"]))
            for off in range(0, len(raw), 104):
                raw[off + 60] ^= 0x80  # inside the ciphertext
            b["entries"] = base64.b64encode(bytes(raw)).decode()
        return json.dumps(doc).encode()
    with World() as w:
        # The bucket no longer matches the signed head of its version
        # (directory transparency), which is checked before any entry is
        # opened; the error names the bucket and the version.  The same
        # in the binary answer and in JSON.
        for as_json in (False, True):
            p = refused(w, only("/v1/buckets", "POST", fn, as_json),
                        "does not match the signed head of version")
            if "bucket " not in p.stderr:
                raise AssertionError("error does not name the bucket: " +
                                     p.stderr)


def test_malformed_replies():
    cases = [
        ("/v1/params", "GET", lambda d: b"{not json", "GET /v1/params"),
        ("/v1/params", "GET",
         lambda d: json.dumps(dict(d, version=2)).encode(), "version 2"),
        ("/v1/discover", "POST",
         lambda d: json.dumps(dict(d, evaluated=d["evaluated"][1:])).encode(),
         "evaluated"),
        ("/v1/discover", "POST",
         lambda d: json.dumps(dict(d, epoch=d["epoch"] + 1)).encode(),
         "epoch"),
        ("/v1/buckets", "POST",
         lambda d: json.dumps(dict(d, buckets=d["buckets"][1:])).encode(),
         "buckets"),
    ]
    with World() as w:
        for path, method, fn, needle in cases:
            refused(w, only(path, method, fn), needle)
        refused(w, only("/v1/buckets", "POST", cases[-1][2], as_json=True),
                "buckets")

        def error_500(m, path, status, hdrs, body):
            if path.startswith("/v1/discover"):
                return 500, {"Content-Type": "text/html"}, b"<h1>oops</h1>"
            return None
        refused(w, error_500, "HTTP 500")


def test_auth_and_rate_limit():
    with World("--rate-allowance", "6", "--rate-refill", "1") as w:
        p = cds(w.srv.url(), "not-a-token", "discover", w.book, check=False)
        eq(p.returncode, 1, "bad token")
        if "401" not in p.stderr:
            raise AssertionError(p.stderr)
        cds(w.srv.url(), w.token, "discover", w.book)  # 4 of 6 spent
        p = cds(w.srv.url(), w.token, "discover", w.book, check=False)
        eq(p.returncode, 1, "rate limited")
        # The daily allowance is not waited out: said at once, with when
        # it refills.
        if "allowance" not in p.stderr or "refills" not in p.stderr or \
                "UTC" not in p.stderr or "waiting" in p.stderr:
            raise AssertionError(p.stderr)


def test_network_and_usage():
    book = write_book(BOOK)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CDS_SERVER", "CDS_TOKEN")}
    try:
        port = cdstest.free_port()
        p = cds("http://127.0.0.1:%d" % port, "t", "discover", book,
                check=False)
        eq(p.returncode, 1, "unreachable server")
        if "cannot reach" not in p.stderr:
            raise AssertionError(p.stderr)
        for args in (["discover", book],                      # no --server
                     ["--server", "http://x", "discover"],    # no FILE
                     ["--server", "http://x", "discover", "--bogus", book],
                     ["--server", "http://x", "discover", "--region", "USA",
                      book],
                     ["--server", "http://x", "discover", "--decoys", "-1",
                      book],
                     ["--server", "ftp://x", "discover", book],
                     ["--server", "http://x", "sync", book],  # no --cache
                     ["--server", "http://x", "frobnicate"]):
            p = cdstest.run([cdstest.exe("cds")] + args, check=False,
                            env=env)
            eq(p.returncode, 2, "usage: %r" % args)
            eq(len(p.stderr.strip().splitlines()), 1,
               "one-line message for %r: %s" % (args, p.stderr))
        p = cds("http://127.0.0.1:%d" % port, "t", "discover",
                "/nonexistent/book.csv", check=False)
        eq(p.returncode, 1, "missing book")
        if "/nonexistent/book.csv" not in p.stderr:
            raise AssertionError(p.stderr)
        for args in (["--help"], ["discover", "--help"], ["sync", "--help"]):
            p = cdstest.run([cdstest.exe("cds")] + args)
            if "usage:" not in p.stdout:
                raise AssertionError("no usage for %r" % args)
    finally:
        os.unlink(book)


def test_large_book():
    """Past a few hundred handles the client splits the OPRF work in one
    batch per core (two requests here) and still gets every answer."""
    with World() as w:
        out = os.path.join(w.dd.path, "synth.txt")
        w.dd.ctl("synth", "--count", "600", "--seed", "7", "--out", out)
        with open(out) as f:
            handles = [ln.strip() for ln in f if ln.strip()]
        eq(len(handles), 600, "synthetic handles")
        rows = [("S%d" % i, h[len("tel:"):], "") for i, h in
                enumerate(handles)]
        rows += [("U%d" % i, "", "nobody%d@example.org" % i)
                 for i in range(100)]
        book = write_book(rows)
        try:
            until(lambda: sum(x["registered"] for x in cds_json(
                w.srv.url(), w.token, "discover", book)[0]) == 600,
                "synthetic accounts visible")
            before = metric_requests(w.srv, "discover")
            got, _ = cds_json(w.srv.url(), w.token, "discover", book)
            eq(len(got), 700, "rows")
            eq(metric_requests(w.srv, "discover") - before, 2,
               "one batch per core")
            eq({r["handle"] for r in got if r["registered"]}, set(handles),
               "exactly the registered ones")
        finally:
            os.unlink(book)


def metric_requests(srv, endpoint):
    st, _, body = srv.request("GET", "/metrics", raw=True,
                              token=srv.datadir.metrics_token)
    total = 0
    for line in body.decode().splitlines():
        if line.startswith('cds_http_requests_total{endpoint="%s"' % endpoint):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_example_program():
    exe = os.path.join(cdstest.BUILD, "examples", "example_client")
    if not os.path.exists(exe):
        raise AssertionError("example_client was not built: " + exe)
    with World() as w:
        p = cdstest.run([exe, w.srv.url(), w.token, "(201) 555-0123",
                         "nobody@example.org"])
        eq(p.stdout.splitlines(), [
            "%s registered %s" % (ALICE_TEL, w.alice),
            "mailto:nobody@example.org not registered"], "example output")
        p = cdstest.run([exe, w.srv.url(), w.token, "12"], check=False)
        eq(p.returncode, 1, "bad entry")
        p = cdstest.run([exe], check=False)
        eq(p.returncode, 2, "usage")


cdstest.main(globals())
