"""test_change_log: pruning of the store's change log and secure_delete
(issue 8): once a removed account's changes are past every consumer, its
handle's bytes are gone from the database files; a server restarted from
its snapshot still serves every later change; and a snapshot older than
the pruned log is refused and rebuilt, never trusted with missing changes.

The conditions are polled with generous bounds, never timed."""
import json
import os
import sqlite3

import apiutil
import cdstest
from cdstest import DataDir, Server, eq

GONE = "tel:+15550007777"     # removed: must vanish from the files
KEPT = "tel:+15550008888"     # stays registered throughout
LATER = "tel:+15550009999"    # added after pruning
BOUND = 60


def add(dd, handle):
    p = dd.ctl("account", "add", "--identity-key", apiutil.new_key(), handle)
    doc = json.loads(p.stdout)
    return doc["account"], doc["token"]


def store_bytes(dd):
    out = b""
    for name in ("cds.sqlite3", "cds.sqlite3-wal"):
        path = os.path.join(dd.path, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                out += f.read()
    return out


def changes(dd):
    db = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
    try:
        return db.execute("SELECT min(seq), max(seq), count(*) "
                          "FROM changes").fetchone()
    finally:
        db.close()


def registered(srv, token, handle):
    return apiutil.registered(srv, token, handle)[0]


def remove_and_wait(dd, srv, token, acct):
    dd.ctl("account", "remove", acct)
    apiutil.wait_for(lambda: not registered(srv, token, GONE), BOUND,
                     "removal visible")


def test_removed_handle_bytes_gone_after_pruning():
    dd = DataDir()
    try:
        gone, _ = add(dd, GONE)
        _, token = add(dd, KEPT)
        if GONE.encode() not in store_bytes(dd):
            raise AssertionError("the handle should be in the file at first")
        with Server(dd, "--plain-lookup", "on", "--prune-interval",
                    "1") as srv:
            remove_and_wait(dd, srv, token, gone)
            apiutil.wait_for(lambda: GONE.encode() not in store_bytes(dd),
                             BOUND, "removed handle's bytes pruned")
            lo, hi, n = changes(dd)
            if n < 1 or lo is None:
                raise AssertionError("the newest change row must stay")
            # Changes after pruning still reach the running server...
            add(dd, LATER)
            apiutil.wait_for(lambda: registered(srv, token, LATER), BOUND,
                             "later change visible")
        # ...and a restart from the snapshot misses none of them.
        with Server(dd, "--plain-lookup", "on") as srv:
            eq(registered(srv, token, LATER), True, "later after restart")
            eq(registered(srv, token, KEPT), True, "kept after restart")
            eq(registered(srv, token, GONE), False, "gone after restart")
            if "from snapshot" not in srv.stderr():
                raise AssertionError("not started from the snapshot: " +
                                     srv.stderr())
        if GONE.encode() in store_bytes(dd):
            raise AssertionError("removed handle back in the file")
    finally:
        dd.cleanup()


def test_without_pruning_the_bytes_stay():
    """The control: with pruning off the removed handle stays in the change
    log, so the test above is one that can fail."""
    dd = DataDir()
    try:
        gone, _ = add(dd, GONE)
        _, token = add(dd, KEPT)
        with Server(dd, "--plain-lookup", "on", "--prune-interval",
                    "0") as srv:
            remove_and_wait(dd, srv, token, gone)
        if GONE.encode() not in store_bytes(dd):
            raise AssertionError("expected the change row to hold it")
    finally:
        dd.cleanup()


def test_snapshot_older_than_pruned_log_is_rebuilt():
    dd = DataDir()
    try:
        _, token = add(dd, KEPT)
        with Server(dd, "--plain-lookup", "on"):
            pass                               # saves a snapshot at seq S
        add(dd, LATER)                         # a change after S
        # A server without snapshots prunes up to its own position, past S.
        with Server(dd, "--plain-lookup", "on", "--no-snapshot",
                    "--prune-interval", "1"):
            apiutil.wait_for(lambda: changes(dd)[2] == 1, BOUND,
                             "log pruned to its newest row")
        with Server(dd, "--plain-lookup", "on") as srv:
            eq(registered(srv, token, LATER), True,
               "the change the old snapshot lacks")
            if "pruned" not in srv.stderr():
                raise AssertionError("stale snapshot not refused: " +
                                     srv.stderr())
    finally:
        dd.cleanup()


cdstest.main(globals())
