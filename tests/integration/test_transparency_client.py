"""test_transparency_client: the client side of directory transparency
(DESIGN.md "Directory transparency", "What clients check") against a real
cdsd: every bucket checked against the signed head of its version.

- a bucket altered after sealing (a tampering proxy flips one byte of a
  bucket answer, of its proof, or names another version) is refused, by
  discover and by sync, and a sync through a proxy showing another
  transparency key is refused (the cache pinned the first);
- `cds monitor` stays quiet (exit 0) after the account's own key change and
  reports, with exit 3, a handle of the account taken by another account
  through verification;
- `cds audit` passes twice (the second fetches only the new versions) and
  fails with exit 3 naming the version whose stored history was altered
  behind the server's back.
"""
import base64
import json
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import create_account, new_key  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (Proxy, buckets_body, buckets_doc, cds,  # noqa: E402
                        json_body, until, write_book)
from verifyutil import Outbox, ask_ok, bind  # noqa: E402


def phone(n):
    """A canonical handle that "(201) 555-01NN" in a book becomes."""
    return "tel:+120155501%02d" % n


class World:
    """cdsd (prefix_bits 4, sealing every 100 ms) with an outbox, two
    registered accounts and an address book holding them and a stranger."""

    def __init__(self):
        self.dd = cdstest.DataDir(prefix_bits=4)
        self.ob = Outbox()
        self.srv = cdstest.Server(self.dd, "--verify-outbox", self.ob.path,
                                  "--transparency-interval", "100")
        self.tmp = tempfile.mkdtemp(prefix="cds-tclient-")
        self.key = new_key()
        self.acct, self.token = create_account(self.srv, self.dd,
                                               [phone(1), phone(2)], self.key)
        create_account(self.srv, self.dd, [phone(3)])
        self.book = write_book([("One", "(201) 555-0101", None),
                                ("Three", "(201) 555-0103", None),
                                ("Nobody", "(201) 555-0109", None)])
        self.wait_head(0)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def head(self):
        st, _, body = self.srv.request("GET", "/v1/transparency/head")
        return body["version"] if st == 200 else 0

    def wait_head(self, after):
        """Every change made so far sealed and served, in a version after
        `after` (cdsd seals what changed within an interval and a poll):
        the store's last version reflects its last change (tstore.h
        `seq`), and the server answers that version."""
        def sealed():
            db = sqlite3.connect(os.path.join(self.dd.path, "cds.sqlite3"))
            try:
                change = db.execute("SELECT max(seq) FROM changes").fetchone()[0]
                v, seq = db.execute("SELECT version, seq FROM tversions"
                                    " ORDER BY version DESC LIMIT 1"
                                    ).fetchone() or (0, -1)
            finally:
                db.close()
            return (seq >= (change or 0) and v > after and
                    self.head() >= v and v)
        return until(sealed, "a version after %d with every change" % after)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.srv.stop()
        self.ob.cleanup()
        self.dd.cleanup()
        os.unlink(self.book)


def refused(url, w, needle, *args, cache=None):
    p = cds(url, w.token, *args, "--json", w.book, cache=cache, check=False)
    eq(p.returncode, 1, "exit code with %r: %s" % (needle, p.stderr))
    if needle not in p.stderr:
        raise AssertionError("expected %r in: %s" % (needle, p.stderr))
    eq(p.stdout, "", "no results printed")


def flip(s, at):
    raw = bytearray(base64.b64decode(s))
    raw[at % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def bucket_alter(fn):
    """Rewrite every bucket item of POST /v1/buckets answers with fn."""
    def alter(method, path, status, hdrs, body):
        if method != "POST" or path != "/v1/buckets" or status != 200:
            return None
        doc = buckets_doc(hdrs, body)
        for b in doc["buckets"]:
            fn(b)
        return status, hdrs, buckets_body(hdrs, doc)
    return alter


def nonempty_entries(b):
    if b.get("entries"):
        b["entries"] = flip(b["entries"], 7)  # a fingerprint byte


def test_altered_bucket_refused():
    with World() as w:
        msg = "does not match the signed head of version"
        with Proxy(w.srv, bucket_alter(nonempty_entries)) as px:
            refused(px.url(), w, msg, "discover")
            refused(px.url(), w, msg, "sync", cache=w.path("c1"))
        with Proxy(w.srv, bucket_alter(
                lambda b: b.update(proof=flip(b["proof"], 40)))) as px:
            refused(px.url(), w, msg, "discover")
        # Straight to the server, everything checks out.
        p = cds(w.srv.url(), w.token, "discover", "--json", w.book)
        rows = {r["handle"]: r for r in json.loads(p.stdout)}
        eq(rows[phone(1)]["account"], w.acct, "found directly")
        # not_modified answers are checked too, against the cached bytes:
        # a cache whose bucket was altered on disk is caught although the
        # server only says "not modified".
        cache = w.path("c2")
        cds(w.srv.url(), w.token, "--cache", cache, "sync", w.book)
        db = sqlite3.connect(cache)
        prefix, entries = db.execute("SELECT prefix, entries FROM buckets"
                                     " WHERE length(entries) > 0").fetchone()
        entries = bytearray(entries)
        entries[60] ^= 0x01
        db.execute("UPDATE buckets SET entries = ? WHERE prefix = ?",
                   (bytes(entries), prefix))
        db.commit()
        db.close()
        p = cds(w.srv.url(), w.token, "--cache", cache, "sync", w.book,
                check=False)
        eq(p.returncode, 1, "altered cached bucket: " + p.stderr)
        if "bucket %d" % prefix not in p.stderr or msg not in p.stderr:
            raise AssertionError(p.stderr)


def test_changed_transparency_key_refused():
    with World() as w:
        cache = w.path("c")
        cds(w.srv.url(), w.token, "--cache", cache, "sync", w.book)

        def other_key(method, path, status, hdrs, body):
            if path != "/v1/params":
                return None
            doc = json_body(body)
            doc["transparency_key"] = flip(doc["transparency_key"], 0)
            return status, hdrs, json.dumps(doc).encode()
        with Proxy(w.srv, other_key) as px:
            # The proxy's URL is another server to the cache: use the
            # same URL by sending the params through the proxy only.
            p = cds(px.url(), w.token, "discover", w.book, check=False)
        eq(p.returncode, 1, "heads signed by another key: " + p.stderr)
        if "bad signature" not in p.stderr:
            raise AssertionError(p.stderr)
        st, _, params = w.srv.request("GET", "/v1/params")
        db = sqlite3.connect(cache)
        db.execute("UPDATE meta SET value = ? WHERE key = 'transparency_key'",
                   (base64.b64decode(flip(params["transparency_key"], 3)),))
        db.commit()
        db.close()
        p = cds(w.srv.url(), w.token, "--cache", cache, "sync", w.book,
                check=False)
        eq(p.returncode, 1, "pinned key differs")
        if "another transparency key" not in p.stderr:
            raise AssertionError(p.stderr)


def monitor(w, cache):
    p = cds(w.srv.url(), w.token, "--cache", cache, "monitor", "--json",
            check=False)
    if p.returncode not in (0, 3):
        raise AssertionError("monitor failed: %s" % p.stderr)
    return p.returncode, json.loads(p.stdout)


def test_monitor():
    with World() as w:
        cache = w.path("mon")
        rc, events = monitor(w, cache)
        eq(rc, 0, "first run: nothing taken")
        bound = {e["handle"] for e in events if e["event"] == "bound"}
        eq(bound, {phone(1), phone(2)}, "first run: the account's handles")
        eq(monitor(w, cache), (0, []), "nothing new")
        # The account's own key change: quiet.
        v = w.head()
        key2 = new_key()
        st, _, body = w.srv.request("PUT", "/v1/accounts/me/identity_key",
                                    {"identity_key": key2}, token=w.token)
        eq(st, 200, "key change: %r" % (body,))
        w.wait_head(v)
        rc, events = monitor(w, cache)
        eq(rc, 0, "own key change is not a takeover: %r" % events)
        eq({(e["event"], e["identity_key"]) for e in events},
           {("bound", key2)}, "bound to the new key")
        # Another account verifies phone(2): it moves, and is reported.
        v = w.head()
        other, other_token = create_account(w.srv, w.dd, [phone(5)])
        vid = ask_ok(w.srv, phone(2), other_token)
        st, _, body = bind(w.srv, other_token, vid, w.ob.code(vid))
        eq(st, 200, "bound by the other account: %r" % (body,))
        w.wait_head(v)
        rc, events = monitor(w, cache)
        eq(rc, 3, "taken: %r" % events)
        taken = [e for e in events if e["event"] == "taken"]
        eq([(e["handle"], e["account"]) for e in taken], [(phone(2), other)],
           "the taken handle and its new owner")
        if not all(isinstance(e["version"], int) and e["version"] > v
                   for e in taken):
            raise AssertionError("version of the takeover: %r" % taken)
        eq(monitor(w, cache)[1], [], "reported once")


def audit(url, state, check=True):
    p = cds(url, None, "audit", "--state", state, "--json", check=False)
    if check and p.returncode != 0:
        raise AssertionError("audit failed (%d): %s" % (p.returncode, p.stderr))
    return p.returncode, json.loads(p.stdout), p.stderr


def test_audit():
    with World() as w:
        state = w.path("audit.sqlite3")
        _, first, _ = audit(w.srv.url(), state)
        eq(first["ok"], True, "first audit")
        eq(first["first_version"], 1, "from the first version")
        last = first["last_version"]
        eq(first["versions"], last, "every version")
        eq(first["entries"], 3, "three handles held")
        v = w.head()
        create_account(w.srv, w.dd, [phone(6), phone(7)])
        w.wait_head(v)
        with Proxy(w.srv, lambda *a: None) as px:
            rc, second, _ = audit(px.url(), state, check=False)
            versions = [p for m, p in px.seen
                        if p.startswith("/v1/transparency/versions/")]
        # The proxy is another URL: the state belongs to the first one.
        eq(rc, 1, "a state is bound to its server URL")
        _, second, _ = audit(w.srv.url(), state)
        eq(second["first_version"], last + 1, "incremental")
        eq(second["entries"], 5, "five handles held")
        if versions:
            raise AssertionError("the refused run fetched versions: %r" % versions)
        # Alter the history of a version the auditor has not seen yet.
        v = w.head()
        create_account(w.srv, w.dd, [phone(8)])
        bad = w.wait_head(v)
        db = sqlite3.connect(os.path.join(w.dd.path, "cds.sqlite3"))
        row = db.execute("SELECT prefix, added FROM tchanges WHERE version = ?"
                         " AND length(added) > 0", (bad,)).fetchone()
        if row is None:
            raise AssertionError("version %d added nothing" % bad)
        added = bytearray(row[1])
        added[50] ^= 0x01
        db.execute("UPDATE tchanges SET added = ? WHERE version = ? AND"
                   " prefix = ?", (bytes(added), bad, row[0]))
        db.commit()
        db.close()
        rc, third, err = audit(w.srv.url(), state, check=False)
        eq(rc, 3, "altered history: " + err)
        eq(third["version"], bad, "names the version")
        if "version %d" % bad not in err:
            raise AssertionError(err)


def test_audit_fetches_only_new_versions():
    with World() as w:
        state = w.path("a.sqlite3")
        with Proxy(w.srv, lambda *a: None) as px:
            _, first, _ = audit(px.url(), state)
            v = w.head()
            create_account(w.srv, w.dd, [phone(9)])
            w.wait_head(v)
            px.seen.clear()
            _, second, _ = audit(px.url(), state)
            fetched = sorted({int(p.split("/")[4].split("?")[0])
                              for m, p in px.seen
                              if p.startswith("/v1/transparency/versions/")})
        eq(fetched, list(range(first["last_version"] + 1,
                               second["last_version"] + 1)),
           "only the new versions")


if __name__ == "__main__":
    cdstest.main(globals())
