"""test_pg_replicas: three cdsd replicas of one real PostgreSQL store
(pgreplicas.py: the first data directory made by `cdsctl init --store`, the
others by `cdsctl join`).  `cdsctl join` refuses a wrong KEK, a database
without a store, and a directory that has one, leaving nothing behind.
The replicas publish one gateway key config and one OPRF epoch; a key
rotation through any data directory (`key rotate`, `key rotate --ohttp`)
reaches every replica with no file copied; a dump of the database holds
no key in the clear.  An account spreading its requests over the three
gets its allowance once, not three times.  A change through any replica's
API, or through cdsctl, reaches every replica's answers within the
product's 5 s.  A new replica seeded with another's index snapshot
(`cdsctl index seed`) evaluates only the handles changed since."""
import base64
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
import pgserver  # noqa: E402
from apiutil import (create_account, lookup, metric_value, metrics,  # noqa: E402
                     phone, registered, wait_for)
from cdstest import eq  # noqa: E402
from pgreplicas import JoinedDir, Replicas  # noqa: E402

LIMIT = 5.0  # DESIGN.md: every replica sees every change within 5 s
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


def params(srv):
    st, _, body = srv.request("GET", "/v1/params")
    eq(st, 200, "params")
    return body["epoch"], body["public_key"]


def gateway_config(srv):
    st, _, body = srv.request("GET", "/v1/ohttp/keys", raw=True)
    eq(st, 200, "ohttp keys")
    return body


def test_key_rotation_reaches_all():
    with Replicas(PG, 3, "--epoch-grace", "60") as r:
        e1 = {params(s) for s in r.servers}
        eq(len(e1), 1, "one epoch and public key on every replica")
        g1 = {gateway_config(s) for s in r.servers}
        eq(len(g1), 1, "one gateway key config on every replica")
        # Rotate through the second replica's directory.
        eq(r.dirs[1].ctl("key", "rotate").stdout.strip(), "2", "new epoch")
        for i, s in enumerate(r.servers):
            took = wait_for(lambda: params(s)[0] == 2, 30,
                            "replica %d serves epoch 2" % i)
            sys.stdout.write("replica %d on epoch 2 after %.1f s\n" % (i, took))
        eq(len({params(s) for s in r.servers}), 1, "same new public key")
        # Rotate the gateway key through the third.
        eq(r.dirs[2].ctl("key", "rotate", "--ohttp").stdout.strip(), "2",
           "new gateway key id")
        for i, s in enumerate(r.servers):
            wait_for(lambda: gateway_config(s)[2] == 2, 30,  # after the length
                     "replica %d publishes gateway key 2" % i)
        eq(len({gateway_config(s) for s in r.servers}), 1,
           "one new gateway key config")
        check_dump(r)
        for d in r.dirs:
            eq(sorted(os.listdir(os.path.join(d.path, "keys"))).count(
                "epoch-2.key"), 0, "no key file in " + d.path)


def check_dump(r):
    """pg_dump of the whole database: no key text, no secret line."""
    dump = subprocess.run([PG._tool("pg_dump"), "-d", r.uri],
                          capture_output=True, timeout=120)
    eq(dump.returncode, 0, "pg_dump: %r" % dump.stderr[-500:])
    for marker in (b"cds-oprf-key", b"cds-ohttp-keys", b"secret "):
        if marker in dump.stdout:
            raise AssertionError("the dump holds %r" % marker)
    if b"sealed" not in dump.stdout:
        raise AssertionError("the dump has no sealed table")


def wait_accounts(r, n):
    """Until every replica's mirror holds n accounts (free of rate limits:
    a lookup to check would spend the allowance under test)."""
    for i, s in enumerate(r.servers):
        wait_for(lambda: metric_value(metrics(s), "cds_index_accounts") == n,
                 LIMIT, "replica %d holds %d accounts" % (i, n))


def test_rate_limit_across_replicas():
    allowance = 12
    with Replicas(PG, 3, "--plain-lookup", "on", "--rate-allowance",
                  str(allowance), "--rate-refill", "0") as r:
        srv0 = r.servers[0]
        _, token = create_account(srv0, r.first, [phone(1)])
        wait_accounts(r, 1)
        granted = 0
        for i in range(3 * allowance):
            st, hdrs, body = lookup(r.servers[i % 3], token, [phone(2)])
            if st == 200:
                granted += 1
            else:
                eq(st, 429, "over the allowance: %r" % body)
                if "retry-after" not in hdrs:
                    raise AssertionError("429 without Retry-After")
        eq(granted, allowance, "lookups granted over three replicas")
        # Concurrent requests from everywhere cannot overdraw either.
        _, token = create_account(srv0, r.first, [phone(3)])
        wait_accounts(r, 2)
        procs = [subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(s.port), token, "8"],
            stdout=subprocess.PIPE, text=True) for s in r.servers]
        got = sum(int(p.communicate(timeout=120)[0]) for p in procs)
        eq(got, allowance, "granted under concurrency")


# Send N single-handle lookups to one port; print how many were granted.
CONCURRENT = r"""
import http.client, json, sys
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ok = 0
for _ in range(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/lookup", json.dumps({"handles": ["tel:+12015550100"]}),
              {"Authorization": "Bearer " + token,
               "Content-Type": "application/json"})
    ok += c.getresponse().status == 200
    c.close()
print(ok)
"""


def test_changes_reach_every_replica():
    with Replicas(PG, 3, "--plain-lookup", "on") as r:
        _, token = create_account(r.servers[0], r.first, [phone(10)])
        wait_accounts(r, 1)  # the observer's token works everywhere
        # Through replica 1's API (a joined directory: no admin token
        # there, the operator's token works on every replica).
        st, _, body = r.servers[1].request("POST", "/v1/accounts", {
            "identity_key": base64.b64encode(os.urandom(32)).decode(),
            "handles": [phone(11)]}, token=r.first.admin_token)
        eq(st, 201, "account through replica 1: %r" % body)
        for i, s in enumerate(r.servers):
            wait_for(lambda: registered(s, token, phone(11))[0], LIMIT,
                     "replica %d sees the account made through replica 1" % i)
        # Through cdsctl on a joined directory.
        out = r.dirs[2].ctl("account", "add", "--identity-key",
                            base64.b64encode(os.urandom(32)).decode(),
                            phone(12)).stdout
        acct = __import__("json").loads(out)["account"]
        for i, s in enumerate(r.servers):
            wait_for(lambda: registered(s, token, phone(12))[0], LIMIT,
                     "replica %d sees cdsctl's account" % i)
        r.first.ctl("account", "remove", acct)
        for i, s in enumerate(r.servers):
            wait_for(lambda: not registered(s, token, phone(12))[0], LIMIT,
                     "replica %d sees the removal" % i)


def evaluations(srv):
    return metric_value(metrics(srv), "cds_index_evaluations_total")


def test_snapshot_start():
    uri = PG.new_database()
    first = cdstest.DataDir(prefix_bits=6, store=uri)
    kek = os.path.join(first.path, "keys", "kek")
    seeded, plain = JoinedDir(uri, kek), JoinedDir(uri, kek)
    try:
        first.ctl("synth", "--count", "200")
        with cdstest.Server(first, "--plain-lookup", "on") as a:
            eq(evaluations(a), 200, "the first replica evaluates every handle")
            # A copy of the running replica's snapshot, as scp would take.
            snap = os.path.join(seeded.path, "other.snap")
            shutil.copyfile(os.path.join(first.path, "index", "epoch-1.snap"),
                            snap)
            _, token = create_account(a, first, [phone(20)])
            for i in range(21, 24):
                first.ctl("account", "add", "--identity-key",
                          base64.b64encode(os.urandom(32)).decode(), phone(i))
        # Bad seeds: refused, nothing written.
        junk = os.path.join(seeded.path, "junk.snap")
        with open(junk, "wb") as f:
            f.write(b"CDSINDEX" + os.urandom(200))
        expect_fail(seeded, ["index", "seed", junk], 1,
                    ["not an index snapshot"])
        expect_fail(seeded, ["index", "seed", junk + ".missing"], 1,
                    ["cannot read"])
        if os.path.exists(os.path.join(seeded.path, "index")):
            raise AssertionError("a refused seed wrote DIR/index")
        os.unlink(junk)
        out = seeded.ctl("index", "seed", snap).stdout
        os.unlink(snap)
        if "200 handles" not in out:
            raise AssertionError("seed output: " + out)
        with cdstest.Server(seeded, "--plain-lookup", "on") as b, \
                cdstest.Server(plain, "--plain-lookup", "on") as c:
            eq(evaluations(b), 4, "the seeded replica evaluates the 4 "
               "handles changed since the snapshot")
            eq(evaluations(c), 204, "an unseeded replica evaluates all")
            for i in range(20, 24):
                eq(registered(b, token, phone(i))[0], True,
                   "seeded replica answers a later change")
            if "from snapshot" not in b.stderr():
                raise AssertionError("no word of the snapshot: " + b.stderr())
    finally:
        for d in (first, seeded, plain):
            d.cleanup()


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    with pgserver.PgServer() as PG:
        cdstest.main(globals())
