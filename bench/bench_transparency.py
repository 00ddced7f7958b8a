#!/usr/bin/env python3
"""bench_transparency.py: what directory transparency costs a client, a
monitoring phone and an auditor (docs/benchmarks.md, issue 13).

    python3 bench/bench_transparency.py [HANDLES] [CHANGES]

Makes a SQLite directory of HANDLES synthetic handles (default 1,000,000;
`cdsctl init --expected-handles`, `cdsctl synth`), starts cdsd and waits
for the epoch's first sealed version, then:

1. client: bench_client --server --token --book on a 1,000-contact book of
   registered handles: first sync and unchanged re-check, with the bytes of
   inclusion proofs and signed heads beside the entries' bytes (printed by
   bench_client);
2. monitor: `cds monitor` of an account with one handle (through a
   byte-counting proxy): a first run, a run with nothing new, and a run
   after CHANGES (default 2,000) accounts were added through the API; the
   histories of a sample of 512 buckets since before those changes (GET
   /v1/transparency/buckets/P/history), in bytes per (version, bucket)
   change; then the arithmetic for one handle monitored for a day at 10
   changes/s directory-wide, polled hourly;
3. audit: `cds audit` of the whole history from an empty state (time,
   bytes received, state file size) beside the baseline of the same run:
   the entries' own bytes (104 per handle) and a bare SHA-256 over them.

BUILD=build by default.
"""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
os.environ.setdefault("CDS_BUILD", BUILD)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import cdstest  # noqa: E402
from clientutil import Proxy  # noqa: E402

HANDLES = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
BOOK = 1000
DAY_CHANGES = 10 * 86400
FLAGS = ("--rate-allowance", "1000000000", "--rate-refill", "1000000000",
         "--account-writes", "100000000")


def get(srv, path):
    with urllib.request.urlopen(srv.url() + path, timeout=120) as r:
        return r.read()


def head(srv):
    st, _, body = srv.request("GET", "/v1/transparency/head")
    return body["version"] if st == 200 else 0


def wait_head(srv, after, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = head(srv)
        if v > after:
            return v
        time.sleep(0.2)
    raise SystemExit("bench_transparency: no version after %d" % after)


def setup(dd):
    t0 = time.monotonic()
    out = os.path.join(dd.path, "handles.txt")
    dd.ctl("synth", "--count", str(HANDLES), "--seed", "7", "--out", out)
    print("synth: %d handles in %.1f s" % (HANDLES, time.monotonic() - t0))
    with open(out) as f:
        return [line.strip() for line in f if line.strip()]


def bench_account(dd):
    """An account for bench_client, made before cdsd starts (so that it
    knows the token at once)."""
    key = base64.b64encode(os.urandom(32)).decode()
    return json.loads(dd.ctl("account", "add", "--identity-key", key,
                             "tel:+19995550000").stdout)["token"]


def client_figures(srv, token, handles):
    fd, book = tempfile.mkstemp(suffix=".csv")
    with os.fdopen(fd, "w") as f:
        f.write("name,phone,email\n")
        for i, h in enumerate(handles[:BOOK]):
            f.write("c%d,%s,\n" % (i, h[len("tel:"):]))
    print("\n1. client, %d-contact book (bench_client):" % BOOK)
    p = cdstest.run([os.path.join(BUILD, "bench", "bench_client"), "--elements", "2",
                     "--rounds", "1", "--server", srv.url(), "--token",
                     token, "--book", book])
    sys.stdout.write(p.stdout)
    os.unlink(book)


def wait_sealed(srv, dd, timeout=600):
    """Every change in the store sealed (the last version's seq reaches the
    last change) and that version served; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        db = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
        try:
            change = db.execute("SELECT max(seq) FROM changes").fetchone()[0]
            v, seq = db.execute("SELECT version, seq FROM tversions ORDER BY"
                                " version DESC LIMIT 1").fetchone() or (0, -1)
        finally:
            db.close()
        if seq >= (change or 0) and head(srv) >= v > 0:
            return v
        time.sleep(0.2)
    raise SystemExit("bench_transparency: changes not sealed")


def add_accounts(srv, dd, n):
    for i in range(n):
        key = base64.b64encode(os.urandom(32)).decode()
        st, _, body = srv.request("POST", "/v1/accounts", {
            "identity_key": key, "handles": ["tel:+1888%07d" % i]},
            token=dd.admin_token)
        if st != 201:
            raise SystemExit("bench_transparency: account %d %r" % (st, body))
    return wait_sealed(srv, dd)


class Counter:
    """Bytes of the replies (status line, headers, body) through a Proxy."""

    def __init__(self):
        self.bytes = 0

    def __call__(self, method, path, status, hdrs, body):
        self.bytes += len(body) + 17 + sum(len(k) + len(v) + 4
                                           for k, v in hdrs.items())
        return None


def monitor_run(px, count, token, cache):
    """One `cds monitor` through the counting proxy px (one proxy for
    every run: the cache is bound to the URL): (bytes, requests)."""
    count.bytes = 0
    px.seen.clear()
    cdstest.run([os.path.join(BUILD, "cds"), "--server", px.url(),
                 "--token", token, "--cache", cache, "monitor"])
    if os.environ.get("BENCH_DEBUG"):
        print(px.seen)
    return count.bytes, len(px.seen)


def monitor_figures(srv, dd, token, params, tmp):
    k, epoch = params["prefix_bits"], params["epoch"]
    first = head(srv)
    cache = os.path.join(tmp, "monitor.sqlite3")
    count = Counter()
    with Proxy(srv, count) as px:
        b0, r0 = monitor_run(px, count, token, cache)
        b1, r1 = monitor_run(px, count, token, cache)
        t0 = time.monotonic()
        last = add_accounts(srv, dd, CHANGES)
        b2, r2 = monitor_run(px, count, token, cache)
    print("\n2. monitor: %d accounts added in %.1f s, versions %d..%d"
          % (CHANGES, time.monotonic() - t0, first + 1, last))
    print("  cds monitor of one handle: first run %d bytes in %d requests,"
          " nothing new %d bytes in %d, after the changes %d bytes in %d"
          % (b0, r0, b1, r1, b2, r2))
    sizes, versions = 0, 0
    buckets = 1 << k
    for p in range(0, buckets, max(1, buckets // 512)):  # a sample
        body = get(srv, "/v1/transparency/buckets/%d/history?epoch=%d&since=%d"
                   % (p, epoch, first))
        doc = json.loads(body)
        sizes += len(body)
        versions += len(doc["versions"])
        sampled = p // max(1, buckets // 512) + 1
    empty = len(get(srv, "/v1/transparency/buckets/0/history?epoch=%d&since=%d"
                    % (epoch, last)))
    per_change = (sizes - sampled * empty) / max(versions, 1)
    print("  history answers since version %d, %d of the %d buckets: %d bytes"
          " for %d (version, bucket) changes: %.0f bytes per change, %d bytes"
          " for an empty answer" % (first, sampled, buckets, sizes, versions,
                                    per_change, empty))
    per_day = DAY_CHANGES / buckets
    hist = per_day * per_change
    print("  one handle, a day at 10 changes/s directory-wide: %d changes/day"
          " / 2^%d buckets = %.1f changes in its bucket = %.0f bytes of"
          " history bodies; polled hourly, + 24 x %d bytes of a run with"
          " nothing new = %.0f bytes a day"
          % (DAY_CHANGES, k, per_day, hist, b1, hist + 24 * b1))


def audit_figures(srv, dd, tmp):
    state = os.path.join(tmp, "audit.sqlite3")
    t0 = time.monotonic()
    p = cdstest.run([os.path.join(BUILD, "cds"), "--server", srv.url(),
                     "audit", "--state", state, "--json"])
    wall = time.monotonic() - t0
    doc = json.loads(p.stdout)
    entries = doc["entries"] * 104
    blob = os.urandom(entries)
    t1 = time.monotonic()
    hashlib.sha256(blob).digest()
    sha = time.monotonic() - t1
    size = os.path.getsize(state) + (os.path.getsize(state + "-wal")
                                     if os.path.exists(state + "-wal") else 0)
    print("\n3. audit from an empty state: versions %d..%d, %d entries held"
          % (doc["first_version"], doc["last_version"], doc["entries"]))
    print("  wall %.1f s (cds audit's own %.1f s); %d bytes received = %.2f x"
          " the entries' %d bytes; state file %d bytes = %.2f x"
          % (wall, doc["wall_ms"] / 1e3, doc["bytes"], doc["bytes"] / entries,
             entries, size, size / entries))
    print("  baseline: SHA-256 over the entries' bytes %.2f s (audit = %.0f x)"
          % (sha, wall / sha if sha else 0))
    t0 = time.monotonic()
    p = cdstest.run([os.path.join(BUILD, "cds"), "--server", srv.url(),
                     "audit", "--state", state, "--json"])
    doc = json.loads(p.stdout)
    print("  re-audit with nothing new: %.2f s, %d bytes"
          % (time.monotonic() - t0, doc["bytes"]))


def main():
    tmp = tempfile.mkdtemp(prefix="cds-btrans-")
    dd = cdstest.DataDir(init=False)
    dd.ctl("init", "--expected-handles", str(HANDLES))
    try:
        handles = setup(dd)
        token = bench_account(dd)
        with cdstest.Server(dd, *FLAGS, wait=False) as srv:
            t0 = time.monotonic()
            srv.wait_ready(timeout=1800)  # it evaluates every handle first
            print("cdsd ready %.1f s after start" % (time.monotonic() - t0))
            t0 = time.monotonic()
            wait_head(srv, 0)
            print("first version sealed %.1f s after start"
                  % (time.monotonic() - t0))
            _, _, params = srv.request("GET", "/v1/params")
            print("prefix_bits %d" % params["prefix_bits"])
            client_figures(srv, token, handles)
            audit_figures(srv, dd, tmp)
            monitor_figures(srv, dd, token, params, tmp)
    finally:
        dd.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
