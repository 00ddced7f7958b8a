"""test_transparency: directory transparency on the server side (DESIGN.md
"Directory transparency"), over HTTP: sealed versions, inclusion proofs on
bucket answers, the version log's consistency proofs (RFC 9162, checked here
in a few lines of Python; tlogutil.py), the four /v1/transparency routes,
restarts, key rotations, a directory made before transparency, PostgreSQL
replicas with one sealer (and another taking over when it is killed); and
GET /v1/accounts/me, which `cds monitor` starts from."""
import base64
import hashlib
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
import tlogutil as tl  # noqa: E402
from apiutil import (create_account, expect_error, metric_value,  # noqa: E402
                     metrics, new_key, phone, wait_for)
from cdstest import eq  # noqa: E402
from replicas import Cluster  # noqa: E402

BITS = 3
# DESIGN.md: a change is visible within 5 s.
VISIBLE_S = 5


def head(srv, version=None):
    q = "" if version is None else "?version=%d" % version
    st, hdrs, h = srv.request("GET", "/v1/transparency/head" + q)
    eq(st, 200, "head %s" % q)
    return h, hdrs


def tkey(srv):
    st, _, p = srv.request("GET", "/v1/params")
    eq(st, 200, "params")
    key = tl.b64d(p["transparency_key"])
    eq(len(key), 32, "transparency key bytes")
    return key


def wait_version_after(srv, v):
    """The first head past version v (within the 5 s DESIGN.md allows)."""
    got = {}

    def newer():
        got["h"] = head(srv)[0]
        return got["h"]["version"] > v
    wait_for(newer, VISIBLE_S, "a version after %d" % v)
    return got["h"]


def all_heads(srv, key):
    """Every head 1..latest, each signed, each log_root the RFC 9162 root of
    the records so far (recomputed here)."""
    last = head(srv)[0]
    heads, leaves = [], []
    for v in range(1, last["version"] + 1):
        h, hdrs = head(srv, v)
        eq(h["version"], v, "head %d" % v)
        tl.verify_head(h, key)
        leaves.append(tl.log_leaf(h))
        eq(tl.b64d(h["log_root"]), tl.mth(leaves), "log root of %d" % v)
        if "immutable" not in hdrs.get("cache-control", ""):
            raise AssertionError("named head not immutable: %r" % hdrs)
        heads.append(h)
    eq(heads[-1], last, "the latest head is the last named one")
    return heads


def check_consistency(srv, heads):
    """A consistency proof between every pair of versions verifies, and a
    proof for other roots does not."""
    for a in heads:
        for b in heads:
            m, n = a["version"], b["version"]
            if m > n:
                continue
            st, hdrs, doc = srv.request(
                "GET", "/v1/transparency/consistency?from=%d&to=%d" % (m, n))
            eq(st, 200, "consistency %d..%d" % (m, n))
            eq((doc["from"], doc["to"]), (m, n), "consistency fields")
            proof = [tl.b64d(x) for x in doc["proof"]]
            if not tl.verify_consistency(m, n, tl.b64d(a["log_root"]),
                                         tl.b64d(b["log_root"]), proof):
                raise AssertionError("consistency %d..%d fails" % (m, n))
            if m < n and tl.verify_consistency(
                    m, n, tl.b64d(a["root"]), tl.b64d(b["log_root"]), proof):
                raise AssertionError("a wrong first root verifies")


def audit(srv, heads):
    """Rebuild every bucket from the versions routes (paged), recompute each
    version's root, and check the served buckets are the last version's."""
    epochs = {}
    for h in heads:
        doc, changes, _ = tl.version_changes(srv_get(srv), h["version"],
                                             count=3)
        eq({k: doc[k] for k in ("epoch", "version", "time_ms", "root")},
           {k: h[k] for k in ("epoch", "version", "time_ms", "root")},
           "version %d's document" % h["version"])
        buckets = epochs.setdefault(h["epoch"], {})
        if not buckets:
            # An epoch's first version adds every entry.
            for ch in changes:
                eq(ch["removed"], [], "first version removes nothing")
        tl.apply_changes(buckets, changes)
        root = tl.tree_root(BITS, h["epoch"], {
            p: tl.bucket_bytes(b) for p, b in buckets.items()})
        eq(root, tl.b64d(h["root"]), "root of version %d" % h["version"])
    return epochs


def srv_get(srv):
    return lambda path: srv.request("GET", path)


def check_buckets(srv, epoch, key, want=None):
    """Every bucket, JSON and raw, verifies against its version's signed
    head; returns prefix -> bytes."""
    got = {}
    for p in range(1 << BITS):
        st, _, b = srv.request("GET", "/v1/buckets/%d?epoch=%d" % (p, epoch))
        eq(st, 200, "bucket %d" % p)
        raw = tl.b64d(b["entries"])
        h, _ = head(srv, b["version"])
        tl.verify_head(h, key)
        eq(h["epoch"], epoch, "the version is of the bucket's epoch")
        eq(tl.proof_root(BITS, p, tl.bucket_leaf(epoch, p, raw),
                         tl.b64d(b["proof"])), tl.b64d(h["root"]),
           "bucket %d's proof leads to version %d's root" % (p, h["version"]))
        st, hdrs, octets = srv.request(
            "GET", "/v1/buckets/%d?epoch=%d" % (p, epoch), raw=True,
            headers={"Accept": "application/octet-stream"})
        eq(st, 200, "raw bucket")
        h2, _ = head(srv, int(hdrs["cds-version"]))
        eq(tl.proof_root(BITS, p, tl.bucket_leaf(epoch, p, octets),
                         tl.b64d(hdrs["cds-proof"])), tl.b64d(h2["root"]),
           "raw bucket %d's CDS-Proof" % p)
        got[p] = raw
    if want is not None:
        eq(got, want, "the same bytes")
    return got


def check_audited(srv, key, epochs, epoch):
    """The served buckets of epoch are those the audit rebuilt; returns
    them."""
    served = check_buckets(srv, epoch, key)
    eq(served, {p: tl.bucket_bytes(epochs[epoch].get(p, {}))
                for p in range(1 << BITS)},
       "epoch %d's served buckets are its last version's" % epoch)
    return served


def test_account_me():
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        with cdstest.Server(dd) as srv:
            key = new_key()
            acct, token = create_account(
                srv, dd, [phone(2), "mailto:me@example.org", phone(1)], key)
            st, hdrs, body = srv.request("GET", "/v1/accounts/me",
                                         token=token)
            eq(st, 200, "own record")
            eq(body, {"account": acct, "identity_key": key,
                      "handles": sorted([phone(1), phone(2),
                                         "mailto:me@example.org"])},
               "account, key and handles in handle order")
            eq(hdrs.get("cache-control"), "no-store", "never cached")
            key2 = new_key()
            st, _, _ = srv.request("PUT", "/v1/accounts/me/identity_key",
                                   {"identity_key": key2}, token=token)
            eq(st, 200, "key change")
            st, _, _ = srv.request("PUT", "/v1/accounts/me/handles",
                                   {"remove": [phone(2)]}, token=token)
            eq(st, 200, "handle removed")
            _, _, body = srv.request("GET", "/v1/accounts/me", token=token)
            eq((body["identity_key"], body["handles"]),
               (key2, sorted([phone(1), "mailto:me@example.org"])),
               "the record as it is now")
            expect_error(srv.request("GET", "/v1/accounts/me"), 401,
                         "unauthorized", what="no token")
            expect_error(srv.request("GET", "/v1/accounts/me",
                                     token=token + "x"), 401,
                         "unauthorized", what="wrong token")
            st, _, _ = srv.request("DELETE", "/v1/accounts/me", token=token)
            eq(st, 200, "account deleted")
            expect_error(srv.request("GET", "/v1/accounts/me", token=token),
                         401, "unauthorized", what="deleted account")
    finally:
        dd.cleanup()


def test_versions_and_proofs():
    dd = cdstest.DataDir(prefix_bits=BITS)
    try:
        with cdstest.Server(dd) as srv:
            key = tkey(srv)
            h1, hdrs = head(srv)
            eq(h1["version"], 1, "a new directory's first version")
            eq(hdrs.get("cache-control"), "no-cache", "latest head")
            tl.verify_head(h1, key)
            # A change through the API and one through cdsctl each appear
            # as a new version.
            handles = [phone(i) for i in range(12)]
            acct, token = create_account(srv, dd, handles[:6])
            h2 = wait_version_after(srv, 1)
            dd.ctl("account", "add", "--identity-key", new_key(),
                   *handles[6:])
            h3 = wait_version_after(srv, h2["version"])
            srv.request("PUT", "/v1/accounts/me/handles",
                        {"remove": [handles[0]]}, token=token)
            h4 = wait_version_after(srv, h3["version"])
            heads = all_heads(srv, key)
            eq(heads[-1]["version"], h4["version"], "every version seen")
            check_consistency(srv, heads)
            served = check_audited(srv, key, audit(srv, heads), 1)
            eq(sum(len(b) for b in served.values()), 11 * tl.ENTRY_BYTES,
               "eleven handles registered")
            check_not_modified(srv, served, key)
            check_history(srv, heads, handles[0])
            text = metrics(srv)
            for ep in ("transparency_head", "transparency_consistency",
                       "transparency_version", "transparency_history"):
                if metric_value(text, 'cds_http_requests_total{endpoint="%s"'
                                ',status="200"}' % ep) < 1:
                    raise AssertionError("%s not counted" % ep)
    finally:
        dd.cleanup()


def test_restart_same_heads_and_bytes():
    dd = cdstest.DataDir(prefix_bits=BITS)
    try:
        with cdstest.Server(dd) as srv:
            key = tkey(srv)
            create_account(srv, dd, [phone(i) for i in range(8)])
            wait_version_after(srv, 1)
            heads = all_heads(srv, key)
            served = check_buckets(srv, 1, key)
        # No index snapshot: the view comes from the store alone, and the
        # working index is its copy (nothing evaluated).
        if os.path.exists(os.path.join(dd.path, "index")):
            raise AssertionError("an index snapshot was written")
        with cdstest.Server(dd) as srv:
            eq(evaluations(srv), 0, "a restart evaluates nothing")
            eq(tkey(srv), key, "the same transparency key")
            eq(all_heads(srv, key), heads, "the same heads")
            check_buckets(srv, 1, key, want=served)
            # The log goes on from there.
            create_account(srv, dd, [phone(100)])
            h = wait_version_after(srv, heads[-1]["version"])
            eq(h["version"], heads[-1]["version"] + 1, "no gap")
            check_consistency(srv, all_heads(srv, key))
    finally:
        dd.cleanup()


def refused(dd, what):
    """cdsd on dd exits 1 at start-up, saying what."""
    srv = cdstest.Server(dd, wait=False)
    try:
        srv.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        srv.kill()
        raise AssertionError("cdsd started without its transparency key")
    eq(srv.proc.returncode, 1, "cdsd refuses to start")
    if what not in srv.stderr():
        raise AssertionError("cdsd's message lacks %r: %s" % (
            what, srv.stderr()[-1000:]))


def test_transparency_key_missing_or_replaced():
    """Once versions are signed, a lost or other transparency key is refused
    (a fresh one would break every client that pinned the old one)."""
    dd = cdstest.DataDir(prefix_bits=BITS)
    path = os.path.join(dd.path, "keys", "transparency.key")
    try:
        with cdstest.Server(dd) as srv:
            key = tkey(srv)
            wait_for(lambda: head(srv)[0]["version"] >= 1, VISIBLE_S,
                     "the first version")
        with open(path, "rb") as f:
            saved = f.read()
        os.remove(path)
        refused(dd, "no transparency key, but the store holds")
        eq(os.path.exists(path), False, "and makes no new key")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(base64.b64encode(os.urandom(32)) + b"\n")
        refused(dd, "is not the one that signed version")
        with open(path, "wb") as f:
            f.write(saved)
        with cdstest.Server(dd) as srv:
            eq(tkey(srv), key, "the restored key serves again")
    finally:
        dd.cleanup()


def test_key_rotation():
    dd = cdstest.DataDir(prefix_bits=BITS)
    try:
        with cdstest.Server(dd, "--epoch-grace", "3600") as srv:
            key = tkey(srv)
            create_account(srv, dd, [phone(i) for i in range(10)])
            before = wait_version_after(srv, 1)
            dd.ctl("key", "rotate")
            wait_for(lambda: srv.request("GET", "/v1/params")[2]["epoch"] == 2,
                     30, "epoch 2 served")
            first = head(srv)[0]
            eq(first["epoch"], 2, "epoch 2's first version is the latest")
            doc, changes, _ = tl.version_changes(srv_get(srv),
                                                 first["version"])
            eq(sum(len(c["added"]) for c in changes), 10,
               "epoch 2's first version adds every entry")
            eq(sum(len(c["removed"]) for c in changes), 0, "removes none")
            # While two epochs are served a change seals one version each.
            create_account(srv, dd, [phone(50)])
            wait_for(lambda: head(srv)[0]["version"] >= first["version"] + 2,
                     VISIBLE_S, "a version for each epoch")
            heads = all_heads(srv, key)
            eq(sorted(h["epoch"] for h in heads[first["version"]:]), [1, 2],
               "one version per served epoch")
            if heads[before["version"] - 1] != before:
                raise AssertionError("an old head changed")
            check_consistency(srv, heads)
            epochs = audit(srv, heads)
            for e in (1, 2):
                check_audited(srv, key, epochs, e)
            eq(sum(len(b) for b in epochs[2].values()), 11,
               "eleven entries in epoch 2")
    finally:
        dd.cleanup()


def test_directory_made_before_transparency():
    """A data directory from before transparency (schema 4, no key): the
    first cdsd makes the key and seals the epoch's first version, every
    entry added."""
    dd = cdstest.DataDir(prefix_bits=BITS)
    try:
        dd.ctl("account", "add", "--identity-key", new_key(), phone(1),
               phone(2), phone(3))
        os.remove(os.path.join(dd.path, "keys", "transparency.key"))
        db = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
        db.executescript("DROP TABLE tchanges; DROP TABLE tversions;"
                         "PRAGMA user_version = 4;")
        db.close()
        with cdstest.Server(dd) as srv:
            key = tkey(srv)
            heads = all_heads(srv, key)
            eq([(h["epoch"], h["version"]) for h in heads], [(1, 1)],
               "one version")
            doc, changes, _ = tl.version_changes(srv_get(srv), 1)
            eq(sum(len(c["added"]) for c in changes), 3, "every entry")
            check_audited(srv, key, audit(srv, heads), 1)
        st = os.stat(os.path.join(dd.path, "keys", "transparency.key"))
        eq(st.st_mode & 0o777, 0o600, "the key file's mode")
    finally:
        dd.cleanup()


def test_bad_inputs():
    dd = cdstest.DataDir(prefix_bits=BITS)
    try:
        with cdstest.Server(dd) as srv:
            create_account(srv, dd, [phone(1)])
            last = wait_version_after(srv, 1)["version"]
            bad = [
                ("/v1/transparency/head?version=0", 400),
                ("/v1/transparency/head?version=abc", 400),
                ("/v1/transparency/head?version=-1", 400),
                ("/v1/transparency/head?version=01", 400),
                ("/v1/transparency/head?version=18446744073709551616", 400),
                ("/v1/transparency/head?version=%d" % (last + 1), 404),
                ("/v1/transparency/consistency?from=1", 400),
                ("/v1/transparency/consistency?to=1", 400),
                ("/v1/transparency/consistency?from=2&to=1", 400),
                ("/v1/transparency/consistency?from=0&to=1", 400),
                ("/v1/transparency/consistency?from=1&to=%d" % (last + 1),
                 404),
                ("/v1/transparency/consistency?from=1&to=1x", 400),
                ("/v1/transparency/versions/0", 400),
                ("/v1/transparency/versions/x", 400),
                ("/v1/transparency/versions/%d" % (last + 1), 404),
                ("/v1/transparency/versions/1?count=0", 400),
                ("/v1/transparency/versions/1?count=1025", 400),
                ("/v1/transparency/versions/1?from=%d" % (1 << BITS), 400),
                ("/v1/transparency/versions/1?from=1e3", 400),
                ("/v1/transparency/buckets/%d/history?epoch=1" % (1 << BITS),
                 400),
                ("/v1/transparency/buckets/x/history?epoch=1", 400),
                ("/v1/transparency/buckets/1/history", 400),
                ("/v1/transparency/buckets/1/history?epoch=0", 400),
                ("/v1/transparency/buckets/1/history?epoch=9", 404),
                ("/v1/transparency/buckets/1/history?epoch=1&since=%d" % (
                    last + 1), 404),
                ("/v1/transparency/buckets/1/history?epoch=1&since=x", 400),
                ("/v1/transparency/buckets//history?epoch=1", 404),
                ("/v1/transparency/buckets/1/2/history?epoch=1", 404),
                ("/v1/transparency/buckets/1", 404),
                ("/v1/transparency/versions/1/2", 404),
            ]
            for path, status in bad:
                code = {400: "invalid", 404: "not_found"}[status]
                expect_error(srv.request("GET", path), status, code,
                             what=path)
            expect_error(srv.request("POST", "/v1/transparency/head", {}),
                         405, "method_not_allowed", what="POST head")
            # Nothing was harmed: the history is whole.
            check_consistency(srv, all_heads(srv, tkey(srv)))
    finally:
        dd.cleanup()


def sealer_of(cluster):
    """The replica that says it seals (exactly one)."""
    sealing = [i for i, r in enumerate(cluster.replicas)
               if i not in cluster.killed and
               "transparency: sealing versions" in r.stderr()]
    eq(len(sealing), 1, "one sealer among the replicas")
    return sealing[0]


def test_pg_replicas_one_sealer():
    with Cluster(n=2, prefix_bits=BITS) as c:
        a, b = c.replicas
        key = tkey(a)
        eq(tkey(b), key, "one transparency key for every replica")
        wait_for(lambda: head(b)[0]["version"] >= 1, VISIBLE_S,
                 "the follower serves the first version")
        create_account(a, c.dirs[0], [phone(i) for i in range(6)])
        v = wait_version_after(a, 1)["version"]
        wait_version_after(b, v - 1)
        eq(head(a)[0], head(b)[0], "both replicas answer the same head")
        heads = all_heads(b, key)
        eq(all_heads(a, key), heads, "and the same history")
        eq(check_buckets(b, 1, key), check_buckets(a, 1, key),
           "and the same bytes")
        eq(bucket_etags(b), bucket_etags(a),
           "and the same ETags, so a cache behind the balancer revalidates "
           "against any replica")
        s = sealer_of(c)
        survivor = c.replicas[1 - s]
        eq(evaluations(survivor), 0, "a follower evaluates nothing")
        c.kill(s)
        # The survivor takes over at its next poll and seals the change.
        # The new handle shares its bucket with registered ones, so a
        # working index made by evaluation (other nonces) would show:
        # the whole bucket removed and re-added.
        new = next(phone(i) for i in range(100, 1000)
                   if bucket_of(phone(i)) in
                   {bucket_of(phone(j)) for j in range(6)})
        create_account(survivor, c.dirs[1 - s], [new])
        h = wait_version_after(survivor, v)
        eq(h["version"], v + 1, "the next version, no gap")
        eq(sealer_of(c), 1 - s, "the survivor seals now")
        _, changes, _ = tl.version_changes(srv_get(survivor), v + 1)
        eq([(ch["prefix"], len(ch["removed"]), len(ch["added"]))
            for ch in changes], [(bucket_of(new), 0, 1)],
           "the new sealer's version adds the one new entry, nothing else")
        if evaluations(survivor) > 2:
            raise AssertionError("the new sealer evaluated %d handles, not "
                                 "just the new one" % evaluations(survivor))
        heads = all_heads(survivor, key)
        check_consistency(survivor, heads)
        epochs = audit(survivor, heads)
        check_audited(survivor, key, epochs, 1)
        eq(sum(len(x) for x in epochs[1].values()), 7, "seven entries")


def evaluations(srv):
    """OPRF evaluations for index entries (lib/server/metrics.c)."""
    return metric_value(metrics(srv), "cds_index_evaluations_total")


def bucket_etags(srv):
    """Every bucket's ETag of epoch 1, as POST /v1/buckets gives them."""
    st, _, doc = srv.request("POST", "/v1/buckets", {
        "epoch": 1, "prefixes": list(range(1 << BITS))})
    eq(st, 200, "buckets")
    return [b["etag"] for b in doc["buckets"]]


def check_not_modified(srv, served, key):
    """POST /v1/buckets: a not_modified bucket carries the current version
    and a proof that the client's cached bytes verify with."""
    prefixes = list(range(1 << BITS))
    st, _, doc = srv.request("POST", "/v1/buckets",
                             {"epoch": 1, "prefixes": prefixes})
    eq(st, 200, "buckets")
    etags = [b["etag"] for b in doc["buckets"]]
    st, _, doc = srv.request("POST", "/v1/buckets", {
        "epoch": 1, "prefixes": prefixes, "etags": etags})
    eq(st, 200, "revalidation")
    for p, b in zip(prefixes, doc["buckets"]):
        eq(b.get("not_modified"), True, "bucket %d not modified" % p)
        h, _ = head(srv, b["version"])
        eq(tl.proof_root(BITS, p, tl.bucket_leaf(1, p, served[p]),
                         tl.b64d(b["proof"])), tl.b64d(h["root"]),
           "not_modified bucket %d's proof" % p)


def check_history(srv, heads, handle):
    """A bucket's history lists every version that changed it."""
    p = bucket_of(handle)
    st, _, doc = srv.request(
        "GET", "/v1/transparency/buckets/%d/history?epoch=1" % p)
    eq(st, 200, "history")
    eq((doc["epoch"], doc["prefix"]), (1, p), "history fields")
    want = []
    for h in heads:
        _, changes, _ = tl.version_changes(srv_get(srv), h["version"])
        want += [{"version": h["version"], "removed": c["removed"],
                  "added": c["added"]} for c in changes if c["prefix"] == p]
    eq(doc["versions"], want, "history of bucket %d" % p)
    if len(want) < 2:
        raise AssertionError("bucket %d changed only %d times" % (p, len(want)))
    since = want[0]["version"]
    st, _, doc = srv.request(
        "GET", "/v1/transparency/buckets/%d/history?epoch=1&since=%d" % (
            p, since))
    eq(doc["versions"], want[1:], "history since %d" % since)


def bucket_of(handle):
    """The bucket of a handle (test_discover_api checks this rule)."""
    d = hashlib.sha256(b"cds/v1/bucket" + handle.encode()).digest()
    return int.from_bytes(d[:4], "big") >> (32 - BITS)


if __name__ == "__main__":
    cdstest.main(dict(globals()))
