"""test_pg_replicas: making replicas of one real PostgreSQL store, beside
test_replicas.py (which runs them behind nginx).  `cdsctl join` refuses a
wrong KEK, a KEK file others can read, a database without a store, and a
directory that has one, leaving nothing behind; a joined directory holds
only its KEK, store.conf and metrics token, and lists the same epochs.  A
new replica evaluates no handle: it loads the published views from the
store's history and serves the sealer's bytes.  The legal
ledger's signing key is one key sealed in the database: a head signed
through a joined directory verifies through the first and the other way
round, no directory holds keys/ledger.key, and pg_dump holds no secret
key."""
import base64
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
import pgserver  # noqa: E402
from apiutil import (create_account, lookup, metric_value,  # noqa: E402
                     metrics, phone, registered, wait_for)
from cdstest import eq  # noqa: E402
from replicas import JoinedDir  # noqa: E402

PG = None    # started in __main__


def expect_fail(dd, args, status, words):
    p = dd.ctl(*args, check=False)
    eq(p.returncode, status, "exit status of %s: %s" % (args, p.stderr))
    for w in words:
        if w not in p.stderr:
            raise AssertionError("message lacks %r: %s" % (w, p.stderr))


def test_join_refusals():
    uri = PG.new_database()
    first = cdstest.DataDir(prefix_bits=4, store=uri)
    kek = os.path.join(first.path, "keys", "kek")
    dd = cdstest.DataDir(init=False)
    other = cdstest.DataDir(init=False)
    try:
        eq(os.stat(kek).st_mode & 0o777, 0o600, "KEK mode")
        expect_fail(dd, ["join", "--store", uri], 2, ["--kek"])
        # Another KEK: refused, and DIR keeps nothing of the attempt.
        with open(os.path.join(other.path, "kek"), "w") as f:
            f.write("cds-kek v1\n%s\n" % os.urandom(32).hex())
        os.chmod(os.path.join(other.path, "kek"), 0o600)
        expect_fail(dd, ["join", "--store", uri, "--kek",
                         os.path.join(other.path, "kek")], 1,
                    ["not the key-encryption key"])
        eq(os.listdir(dd.path), [], "nothing left by a refused join")
        # A KEK others can read: refused.
        os.chmod(os.path.join(other.path, "kek"), 0o644)
        expect_fail(dd, ["join", "--store", uri, "--kek",
                         os.path.join(other.path, "kek")], 1, ["chmod 600"])
        # A database without a store.
        expect_fail(dd, ["join", "--store", PG.new_database(), "--kek", kek],
                    1, ["no cds store"])
        eq(os.listdir(dd.path), [], "nothing left by a refused join")
        # The right KEK joins; joining again is refused.
        dd.ctl("join", "--store", uri, "--kek", kek)
        eq(sorted(os.listdir(dd.path)), ["keys", "metrics.token",
                                         "store.conf"], "joined DIR")
        eq(os.listdir(os.path.join(dd.path, "keys")), ["kek"], "keys/")
        expect_fail(dd, ["join", "--store", uri, "--kek", kek], 1,
                    ["already has a store"])
        # key list works from the joined directory, as from the first.
        eq(dd.ctl("key", "list").stdout, first.ctl("key", "list").stdout,
           "the same epochs from both directories")
    finally:
        for d in (first, dd, other):
            d.cleanup()


def evaluations(srv):
    return metric_value(metrics(srv), "cds_index_evaluations_total")


def buckets(srv, bits):
    """Every bucket of epoch 1, as served."""
    got = []
    for p in range(1 << bits):
        st, _, b = srv.request("GET", "/v1/buckets/%d?epoch=1" % p)
        eq(st, 200, "bucket %d" % p)
        got.append((b["version"], b["entries"]))
    return got


def test_new_replica_evaluates_nothing():
    """A replica that joins a running store loads the published views from
    the store's history: it evaluates no handle (what `cdsctl index seed`
    and index snapshots, both retired, used to save) and serves the
    sealer's bytes."""
    uri = PG.new_database()
    first = cdstest.DataDir(prefix_bits=6, store=uri)
    b_dir, c_dir = JoinedDir(uri, first), JoinedDir(uri, first)
    try:
        first.ctl("synth", "--count", "200")
        with cdstest.Server(first, "--plain-lookup", "on") as a:
            eq(evaluations(a), 200, "the sealer evaluates every handle")
            _, token = create_account(a, first, [phone(20)])
            for i in range(21, 24):
                first.ctl("account", "add", "--identity-key",
                          base64.b64encode(os.urandom(32)).decode(), phone(i))
            with cdstest.Server(b_dir, "--plain-lookup", "on") as b, \
                    cdstest.Server(c_dir, "--plain-lookup", "on") as c:
                for i in range(20, 24):
                    wait_for(lambda i=i: registered(b, token, phone(i))[0], 5,
                             "the new replica answers a later change")
                # Read all three until they agree: the sealer may seal one
                # more version between two reads, which a follower applies
                # a poll later.
                wait_for(lambda: buckets(b, 6) == buckets(a, 6) ==
                         buckets(c, 6), 5,
                         "the new replicas serve the sealer's versions and "
                         "bytes")
                eq(evaluations(b), 0, "a new replica evaluates nothing")
                eq(evaluations(c), 0, "nor does another")
    finally:
        for d in (first, b_dir, c_dir):
            d.cleanup()


def signed_head(dd):
    """The head of dd's transparency report (signed with the ledger key)."""
    return json.loads(dd.ctl("legal", "transparency").stdout)["ledger_head"]


def expect_head(dd, head):
    """dd's ledger extends head, and its signature verifies with dd's key."""
    p = dd.ctl("legal", "verify", "--head", head["signed_head"], check=False)
    eq(p.returncode, 0, "verify --head on %s: %s" % (dd.path, p.stderr))


def no_ledger_key_in_dump(uri, pk_hex):
    """The secret key is seed || public key: in the clear, as hex text or
    as bytea (dumped as hex), the dump would hold the public key's hex."""
    dump = subprocess.run([PG._tool("pg_dump"), "-d", uri],
                          capture_output=True, timeout=120)
    eq(dump.returncode, 0, "pg_dump: %r" % dump.stderr[-500:])
    if pk_hex.encode() in dump.stdout.lower():
        raise AssertionError("the dump holds the ledger key pair in the clear")
    if b"ledger\t1\t" not in dump.stdout:
        raise AssertionError("the dump has no sealed row ledger/1")
    if b"transparency\t1\t" not in dump.stdout:
        raise AssertionError("the dump has no sealed row transparency/1 "
                             "(init makes the transparency key)")


def test_ledger_key_shared():
    uri = PG.new_database()
    first = cdstest.DataDir(prefix_bits=4, store=uri)
    joined = JoinedDir(uri, first)
    try:
        with cdstest.Server(first, "--plain-lookup", "on",
                            "--durability", "sync") as srv:
            acct, token = create_account(srv, first, [phone(1)])
            lookup(srv, token, [phone(2)])
        # Exported through the joined directory, checked through the first.
        joined.ctl("legal", "export", "--order", "R-1", "--requester", acct,
                   "--out", os.path.join(joined.path, "r1.json"))
        h1 = signed_head(joined)
        eq(h1["entries"], 1, "the joined directory's head")
        expect_head(first, h1)
        # And the other way round.
        first.ctl("legal", "export", "--order", "R-2", "--requester", acct,
                  "--out", os.path.join(first.path, "r2.json"))
        h2 = signed_head(first)
        eq(h2["public_key"], h1["public_key"], "one ledger key")
        expect_head(joined, h2)
        expect_head(joined, h1)
        # A forged signature is refused on both.
        sig = h2["signed_head"]
        forged = dict(h2, signed_head=sig[:-1] + ("0" if sig[-1] != "0"
                                                  else "1"))
        for dd in (first, joined):
            expect_fail(dd, ["legal", "verify", "--head",
                             forged["signed_head"]], 1, ["does not verify"])
            for name in ("ledger.key", "transparency.key"):
                if os.path.exists(os.path.join(dd.path, "keys", name)):
                    raise AssertionError("%s holds keys/%s" % (dd.path, name))
        no_ledger_key_in_dump(uri, h1["public_key"].lower())
    finally:
        for d in (first, joined):
            d.cleanup()


if __name__ == "__main__":
    pgserver.run_tests(globals())
