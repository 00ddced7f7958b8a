#!/usr/bin/env python3
"""tstore_growth.py: bytes that directory transparency's history adds to a
SQLite store (docs/operations.md "Storage growth").

Reads the schema step that creates tversions and tchanges out of
lib/store/store_sqlite_schema.c (so the figures follow the real schema),
builds those tables alone in a temporary file with cds's pragmas, and
appends rows as the sealer does (one transaction per version):

  1. an epoch's first version: N entries over 2^K buckets;
  2. V versions of 1 changed bucket, then V versions of 10, each bucket
     with one entry replaced (16 bytes removed, 104 added).

It prints the file's growth per entry, per version and per change.  The
bytes are random: SQLite does not compress, so only sizes matter.

    python3 scripts/tstore_growth.py [--schema lib/store/store_sqlite_schema.c]
                                     [--entries 200000] [--k 12] [--versions 20000]
"""
import argparse
import os
import re
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;"


def schema_step(path):
    """The C string literals of the migration step that makes tversions."""
    with open(path) as f:
        src = f.read()
    steps = src.split("/*")
    for s in steps:
        lits = re.findall(r'^\s*"((?:[^"\\]|\\.)*)"', s, re.M)
        sql = "".join(lits)
        if "CREATE TABLE tversions" in sql:
            return sql
    sys.exit("tstore_growth.py: no step creating tversions in %s" % path)


def size(db):
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    psize = db.execute("PRAGMA page_size").fetchone()[0]
    return (pages - free) * psize


def append(db, version, epoch, changes):
    """One version: its row, then one row per (prefix, removed, added)."""
    r = os.urandom
    with db:
        db.execute("INSERT INTO tversions VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (version, epoch, 1796040000000 + version * 1000,
                    r(32), r(32), r(64), version * 10))
        db.executemany("INSERT INTO tchanges VALUES (?, ?, ?, ?, ?)",
                       [(version, p, epoch, rem, add) for p, rem, add in changes])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--schema", default=os.path.join(
        HERE, "..", "lib", "store", "store_sqlite_schema.c"))
    ap.add_argument("--entries", type=int, default=200000)
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--versions", type=int, default=20000)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "t.sqlite3"), isolation_level=None)
        db.executescript(PRAGMAS)
        db.executescript(schema_step(a.schema))
        base = size(db)

        nb = 1 << a.k
        per = [a.entries // nb + (1 if p < a.entries % nb else 0) for p in range(nb)]
        append(db, 1, 7, [(p, b"", os.urandom(104 * per[p])) for p in range(nb)])
        first = size(db) - base
        print("first version: %d entries in %d buckets: %d bytes, %.1f a entry"
              % (a.entries, nb, first, first / a.entries))

        v = 2
        for width in (1, 10):
            before = size(db)
            for _ in range(a.versions):
                ps = sorted(set(int.from_bytes(os.urandom(4), "big") % nb
                                for _ in range(width)))
                append(db, v, 7, [(p, os.urandom(16), os.urandom(104)) for p in ps])
                v += 1
            grown = size(db) - before
            print("%d versions of %d changed bucket%s: %d bytes, %.0f a version"
                  % (a.versions, width, "" if width == 1 else "s", grown,
                     grown / a.versions))
            if width == 1:
                one = grown / a.versions
            else:
                ten = grown / a.versions
        change = (ten - one) / 9
        print("so: a version %.0f bytes + %.0f per changed bucket (one entry replaced)"
              % (one - change, change))
        print("at R changes/s, each its own bucket, one version a second: "
              "R = 1: %.0f MB a day; R = 10: %.0f MB a day"
              % (86400 * (one - change + change) / 1e6,
                 86400 * (one - change + 10 * change) / 1e6))
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
