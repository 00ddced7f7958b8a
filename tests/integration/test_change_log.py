"""test_change_log: pruning of the store's change log and secure_delete
(issue 8): once a removed account's changes are past every consumer, its
handle's bytes are gone from the database files; a restarted server (its
views loaded from the store's history, its working index a copy of them)
still serves every later change and evaluates nothing already sealed; and
pruning never removes changes not yet sealed.

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
        # ...and a restart misses none of them, re-evaluating at most
        # LATER (if it was not sealed yet), never the sealed directory.
        with Server(dd, "--plain-lookup", "on") as srv:
            eq(registered(srv, token, LATER), True, "later after restart")
            eq(registered(srv, token, KEPT), True, "kept after restart")
            eq(registered(srv, token, GONE), False, "gone after restart")
            if evaluations(srv) > 1:
                raise AssertionError("restart evaluated %d handles" %
                                     evaluations(srv))
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


def evaluations(srv):
    return apiutil.metric_value(apiutil.metrics(srv),
                                "cds_index_evaluations_total")


def test_restart_after_pruning_evaluates_nothing():
    """Pruning keeps every change after the last sealed version (the next
    sealer replays them over a copy of the view), so a server restarted
    after the log was pruned to its newest row still evaluates nothing."""
    dd = DataDir()
    try:
        _, token = add(dd, KEPT)
        with Server(dd, "--plain-lookup", "on"):
            pass
        add(dd, LATER)                         # sealed by the next server
        with Server(dd, "--plain-lookup", "on", "--prune-interval",
                    "1") as srv:
            apiutil.wait_for(lambda: changes(dd)[2] == 1, BOUND,
                             "log pruned to its newest row")
            eq(registered(srv, token, LATER), True, "later visible")
        with Server(dd, "--plain-lookup", "on") as srv:
            eq(registered(srv, token, LATER), True, "later after restart")
            eq(evaluations(srv), 0, "nothing evaluated after pruning")
            if "re-evaluating" in srv.stderr():
                raise AssertionError("a pruned change forced a rebuild: " +
                                     srv.stderr())
    finally:
        dd.cleanup()


cdstest.main(globals())
