"""test_ledger_head: the published, signed ledger head and `cdsctl legal
verify --head` against a real data directory (DESIGN.md "Legal process").

Each attack leaves a ledger whose own hash chain verifies, and each is
caught: a deleted ledger file, a truncated tail with ledger_head rewritten,
and a full re-hash of the chain (also with the store's mark rewritten to
match, the case only a published head can catch)."""
import hashlib
import json
import os
import sqlite3
import struct

import apiutil
import cdstest
from cdstest import DataDir, Server, eq

ZERO = "0" * 64


def exported(n):
    """A data dir with a query log and n exports; (dd, account)."""
    dd = DataDir()
    with Server(dd, "--plain-lookup", "on", "--durability", "sync") as srv:
        a, ta = apiutil.create_account(srv, dd, [apiutil.phone(1)])
        apiutil.lookup(srv, ta, [apiutil.phone(2)])
    for i in range(n):
        dd.ctl("legal", "export", "--order", "H-%d" % i, "--requester", a)
    return dd, a


def report_head(dd):
    return json.loads(dd.ctl("legal", "transparency").stdout)["ledger_head"]


def verify(dd, *args):
    return dd.ctl("legal", "verify", *args, check=False)


def expect_fail(p, words, what):
    eq(p.returncode, 1, what + ": exit code (stderr %r)" % p.stderr)
    for w in words:
        if w not in p.stderr:
            raise AssertionError("%s: %r does not say %r" % (what, p.stderr,
                                                            w))


def ledger_db(dd):
    db = sqlite3.connect(os.path.join(dd.path, "legal", "ledger.sqlite3"))
    db.executescript("DROP TRIGGER IF EXISTS ledger_no_update;"
                     "DROP TRIGGER IF EXISTS ledger_no_delete;")
    return db


def lp(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def entry_hash(row, prev):
    """ledger.c's entry_hash, recomputed as a forger would."""
    seq, time_us, order, stype, svalue, window, count, sha = row
    m = (b"cds/v1/ledger-entry\0" + struct.pack(">QQ", seq, time_us) +
         lp(order) + lp(stype) + lp(svalue) + lp(window) +
         struct.pack(">Q", count) + lp(sha) + lp(prev))
    return hashlib.sha256(m).hexdigest()


def rehash_all(db):
    """Recompute every entry_hash and prev_hash and rewrite ledger_head:
    afterwards the chain verifies on its own.  Returns the new head."""
    prev = ZERO
    rows = db.execute("SELECT seq, time_us, order_id, scope_type, "
                      "scope_value, time_window, record_count, export_sha256 "
                      "FROM ledger ORDER BY seq").fetchall()
    for row in rows:
        h = entry_hash(row, prev)
        db.execute("UPDATE ledger SET prev_hash = ?, entry_hash = ? "
                   "WHERE seq = ?", (prev, h, row[0]))
        prev = h
    db.execute("UPDATE ledger_head SET seq = ?, entry_hash = ?",
               (len(rows), prev))
    db.commit()
    return len(rows), prev


def test_report_carries_signed_head():
    dd, _ = exported(2)
    try:
        h = report_head(dd)
        eq(h["entries"], 2, "entries")
        eq(len(h["head"]), 80, "head hex")
        eq(len(h["signed_head"]), 208, "signed head hex")
        eq(h["signed_head"][:80], h["head"], "signed head starts with head")
        eq(h["head"][16:], h["hash"], "head = count || hash")
        eq(int(h["head"][:16], 16), 2, "count big-endian")
        key = os.path.join(dd.path, "keys", "ledger.key")
        eq(os.stat(key).st_mode & 0o777, 0o600, "ledger key mode")
        p = verify(dd, "--head", h["signed_head"])
        eq(p.returncode, 0, "own signed head: " + p.stderr)
        if "extends the published head of 2 entries" not in p.stdout:
            raise AssertionError(p.stdout)
        eq(verify(dd, "--head", h["head"]).returncode, 0, "unsigned head")
        # The ledger grows: the old head is still extended.
        dd.ctl("legal", "export", "--order", "H-9", "--ip", "127.0.0.1")
        eq(verify(dd, "--head", h["signed_head"]).returncode, 0,
           "extended by a longer ledger")
        md = dd.ctl("legal", "transparency", "--format", "md").stdout
        if report_head(dd)["signed_head"] not in md:
            raise AssertionError("markdown report lacks the head: " + md)
    finally:
        dd.cleanup()


def test_head_bad_input():
    dd, _ = exported(1)
    try:
        h = report_head(dd)
        for bad in ["", "00", "zz" * 40, h["head"] + "0", h["head"][:-2]]:
            p = verify(dd, "--head", bad)
            eq(p.returncode, 2, "usage error for %r" % bad)
            if "--head" not in p.stderr:
                raise AssertionError(p.stderr)
        forged = h["signed_head"][:-2] + (
            "00" if h["signed_head"][-2:] != "00" else "01")
        expect_fail(verify(dd, "--head", forged), ["signature"],
                    "forged signature")
        other = "%016x" % 1 + "ab" * 32
        expect_fail(verify(dd, "--head", other), ["rewritten"],
                    "a head this ledger never had")
    finally:
        dd.cleanup()


def test_deleted_ledger_caught():
    dd, _ = exported(2)
    try:
        h = report_head(dd)
        os.unlink(os.path.join(dd.path, "legal", "ledger.sqlite3"))
        expect_fail(verify(dd), ["missing", "2 entries"],
                    "deleted, no head given: the store's mark")
        expect_fail(verify(dd, "--head", h["signed_head"]),
                    ["missing"], "deleted, published head")
        eq(dd.ctl("legal", "transparency", check=False).returncode, 1,
           "no report from a deleted ledger")
    finally:
        dd.cleanup()


def test_emptied_ledger_caught():
    dd, _ = exported(2)
    try:
        h = report_head(dd)
        db = ledger_db(dd)
        db.executescript("DELETE FROM ledger; DELETE FROM ledger_head;")
        db.close()
        expect_fail(verify(dd), ["entries removed"], "emptied")
        expect_fail(verify(dd, "--head", h["head"]), ["entries removed"],
                    "emptied, published head")
    finally:
        dd.cleanup()


def test_truncated_tail_with_rewritten_head_caught():
    dd, _ = exported(3)
    try:
        h = report_head(dd)
        db = ledger_db(dd)
        db.executescript("DELETE FROM ledger WHERE seq = 3;"
                         "UPDATE ledger_head SET seq = 2, entry_hash = "
                         "(SELECT entry_hash FROM ledger WHERE seq = 2);")
        db.close()
        expect_fail(verify(dd, "--head", h["signed_head"]),
                    ["entry 3", "entries removed"], "truncated tail")
    finally:
        dd.cleanup()


def test_full_rehash_caught_by_published_head():
    dd, _ = exported(3)
    try:
        h = report_head(dd)
        db = ledger_db(dd)
        db.execute("UPDATE ledger SET record_count = 0 WHERE seq = 2")
        n, last = rehash_all(db)
        db.close()
        expect_fail(verify(dd), ["rewritten"],
                    "re-hashed: the store's mark still differs")
        # A forger who can also write the store moves its mark along...
        st = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
        st.execute("UPDATE ledger_mark SET entries = ?, entry_hash = ?",
                   (n, bytes.fromhex(last)))
        st.commit()
        st.close()
        eq(verify(dd).returncode, 0, "the chain and the mark now agree")
        # ...and only the published head tells.
        expect_fail(verify(dd, "--head", h["signed_head"]),
                    ["entry 3", "rewritten"], "re-hashed, published head")
    finally:
        dd.cleanup()


def test_no_export_ever_is_fine():
    dd = DataDir()
    try:
        p = verify(dd)
        eq(p.returncode, 0, "fresh data dir: " + p.stderr)
        eq(p.stdout.splitlines()[0],
           "ledger ok: 0 entries (no disclosures recorded)", "message")
        h = report_head(dd)
        eq((h["entries"], h["hash"]), (0, ZERO), "empty head")
        eq(verify(dd, "--head", h["signed_head"]).returncode, 0,
           "the empty head")
    finally:
        dd.cleanup()


cdstest.main(globals())
