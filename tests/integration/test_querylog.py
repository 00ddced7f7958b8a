"""test_querylog: the query log of a real cdsd (DESIGN.md "Query log").

Plain lookups land in the day file with the IP policy applied; the IP never
reaches the disk under `truncated` or `none`; retention 0 creates nothing;
`sync` survives kill -9 right after a reply; `batch` leaves files that open
and pass integrity_check after kill -9; `cdsctl log sweep` removes old days.
"""
import glob
import json
import os
import shutil
import signal
import sqlite3
import time

import apiutil
import cdstest
from cdstest import DataDir, Server, eq

TARGET = "tel:+15551234567"
OTHER = "tel:+15559876543"


def day_files(dd):
    return sorted(glob.glob(os.path.join(dd.path, "querylog",
                                         "????-??-??.sqlite3")))


def records(dd, where="1", args=()):
    """All records of every day file (the test may straddle midnight)."""
    rows = []
    for f in day_files(dd):
        db = sqlite3.connect(f)
        try:
            db.row_factory = sqlite3.Row
            rows += [dict(r) for r in db.execute(
                "SELECT * FROM records WHERE " + where + " ORDER BY time_us",
                args)]
        finally:
            db.close()
    return rows


def all_bytes_under(path):
    """Every byte of every file under path (the -wal and -shm too)."""
    out = []
    for root, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out.append((os.path.join(root, f), fh.read()))
    return out


def test_plain_lookup_logged_full_ip():
    dd = DataDir()
    try:
        with Server(dd, "--plain-lookup", "on", "--log-ip", "full",
                    "--durability", "sync") as srv:
            acct, token = apiutil.create_account(srv, dd, [TARGET])
            st, _, _ = apiutil.lookup(srv, token, [TARGET, OTHER])
            eq(st, 200, "lookup")
            srv.request("GET", "/v1/params")
        lk = records(dd, "endpoint = 'lookup'")
        eq(len(lk), 1, "one lookup record")
        eq(lk[0]["handles"], TARGET + "\n" + OTHER, "handles as asked")
        eq(lk[0]["ip"], "127.0.0.1", "full IP")
        eq(lk[0]["ip_bits"], 32, "ip_bits")
        eq(lk[0]["account"], acct, "requesting account")
        eq(lk[0]["items"], 2, "items")
        eq(lk[0]["status"], 200, "status")
        other = records(dd, "endpoint != 'lookup'")
        if not other:
            raise AssertionError("non-lookup requests were not logged")
        for r in other:
            eq(r["handles"], None, "no handles outside plain lookup")
        # The configuration in force is stated in the day file.
        db = sqlite3.connect(day_files(dd)[-1])
        cfg = db.execute("SELECT plain_lookup, ip_policy, retention_days "
                         "FROM config ORDER BY time_us DESC").fetchone()
        db.close()
        eq(cfg, (1, "full", 30), "config row")
    finally:
        dd.cleanup()


def test_export_by_target_and_requester():
    dd = DataDir()
    try:
        with Server(dd, "--plain-lookup", "on", "--durability", "sync") as srv:
            a, ta = apiutil.create_account(srv, dd, [apiutil.phone(1)])
            b, tb = apiutil.create_account(srv, dd, [apiutil.phone(2)])
            apiutil.lookup(srv, ta, [TARGET, OTHER])
            apiutil.lookup(srv, tb, [OTHER])
            # Contains TARGET as a prefix: a target search must not match.
            apiutil.lookup(srv, tb, [TARGET + "8"])
        p = dd.ctl("legal", "export", "--order", "T-1", "--target", TARGET)
        doc = json.loads(p.stdout)
        eq(doc["record_count"], 1, "target matches exactly once")
        eq(doc["records"][0]["account"], a, "found A's lookup")
        eq(doc["records"][0]["handles"], [TARGET], "only the target listed")
        eq(doc["records"][0]["ip"], "127.0.0.0", "default policy truncated")
        if "plain lookups" not in doc["note"]:
            raise AssertionError("note does not explain: " + doc["note"])
        if not any(m["plain_lookup"] is True for m in doc["modes_in_window"]):
            raise AssertionError("modes do not show plain lookup on")
        p = dd.ctl("legal", "export", "--order", "T-2", "--requester", b)
        doc = json.loads(p.stdout)
        if doc["record_count"] < 2:
            raise AssertionError("B's lookups missing: %r" % doc)
        for r in doc["records"]:
            eq(r["account"], b, "only B's records")
        p = dd.ctl("legal", "verify")
        eq(p.stdout.splitlines()[0], "ledger ok: 2 entries", "ledger")
    finally:
        dd.cleanup()


def check_ip_never_written(policy, want_ip):
    dd = DataDir()
    try:
        with Server(dd, "--plain-lookup", "on", "--log-ip", policy,
                    "--durability", "sync") as srv:
            acct, token = apiutil.create_account(srv, dd, [TARGET])
            apiutil.lookup(srv, token, [TARGET])
            srv.request("GET", "/v1/health")
            srv.request("GET", "/v1/params")
            # While running too (WAL and shared-memory files exist now).
            for path, data in all_bytes_under(dd.path):
                if b"127.0.0.1" in data:
                    raise AssertionError("%s holds 127.0.0.1 under %s"
                                         % (path, policy))
        for path, data in all_bytes_under(dd.path):
            if b"127.0.0.1" in data:
                raise AssertionError("%s holds 127.0.0.1 under %s"
                                     % (path, policy))
        rows = records(dd)
        if not rows:
            raise AssertionError("nothing logged under " + policy)
        for r in rows:
            eq(r["ip"], want_ip, "ip under " + policy)
    finally:
        dd.cleanup()


def test_ip_none_never_on_disk():
    check_ip_never_written("none", None)


def test_ip_truncated_never_on_disk():
    check_ip_never_written("truncated", "127.0.0.0")


def test_retention_zero_creates_nothing():
    dd = DataDir()
    try:
        with Server(dd, "--plain-lookup", "on", "--retention-days", "0") as srv:
            acct, token = apiutil.create_account(srv, dd, [TARGET])
            eq(apiutil.lookup(srv, token, [TARGET])[0], 200, "lookup")
            srv.request("GET", "/v1/health")
        if os.path.exists(os.path.join(dd.path, "querylog")):
            raise AssertionError("querylog created with retention 0: %r"
                                 % os.listdir(os.path.join(dd.path,
                                                           "querylog")))
    finally:
        dd.cleanup()


def test_sync_survives_kill9():
    dd = DataDir()
    try:
        srv = Server(dd, "--plain-lookup", "on", "--durability", "sync")
        try:
            acct, token = apiutil.create_account(srv, dd, [TARGET])
            st, _, _ = apiutil.lookup(srv, token, [OTHER])
            eq(st, 200, "lookup")
        finally:
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
        lk = records(dd, "endpoint = 'lookup'")
        eq([r["handles"] for r in lk], [OTHER], "the replied lookup is logged")
    finally:
        dd.cleanup()


def committed_lookups(dd, timeout=60.0):
    """Wait until the running server's writer has committed lookup records
    (batch mode commits about every 100 ms, later on a loaded machine);
    return how many."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            n = len(records(dd, "endpoint = 'lookup'"))
        except sqlite3.Error:  # the day file is being created
            n = 0
        if n:
            return n
        time.sleep(0.05)
    raise AssertionError("no lookup record committed within %.0f s" % timeout)


def test_batch_kill9_integrity():
    dd = DataDir()
    try:
        srv = Server(dd, "--plain-lookup", "on", "--durability", "batch")
        try:
            acct, token = apiutil.create_account(srv, dd, [TARGET])
            for i in range(150):
                apiutil.lookup(srv, token, [apiutil.phone(i)])
            committed = committed_lookups(dd)
        finally:
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
        files = day_files(dd)
        if not files:
            raise AssertionError("no day file after batch run")
        for f in files:
            db = sqlite3.connect(f)
            eq(db.execute("PRAGMA integrity_check").fetchone()[0], "ok",
               "integrity of " + f)
            db.execute("SELECT count(*) FROM records").fetchone()
            db.close()
        # A crash in batch mode may lose what was not committed yet; what
        # was committed before the kill is all there.
        n = len(records(dd, "endpoint = 'lookup'"))
        if n < committed:
            raise AssertionError("%d lookups committed before the kill, %d "
                                 "after" % (committed, n))
    finally:
        dd.cleanup()


def test_log_sweep_cli():
    dd = DataDir()
    try:
        with Server(dd, "--plain-lookup", "on", "--durability", "sync") as srv:
            srv.request("GET", "/v1/health")
        today = day_files(dd)[-1]
        qdir = os.path.dirname(today)
        for day in ("2020-01-01", "2020-01-02"):
            shutil.copy(today, os.path.join(qdir, day + ".sqlite3"))
        open(os.path.join(qdir, "2020-01-02.sqlite3-wal"), "w").close()
        open(os.path.join(qdir, "2020-01-01.sqlite3-journal"), "w").close()
        p = dd.ctl("log", "sweep")
        if "removed 2020-01-01" not in p.stdout or \
                "removed 2020-01-02" not in p.stdout:
            raise AssertionError("sweep output: " + p.stdout)
        left = sorted(os.listdir(qdir))
        for f in left:
            if f.startswith("2020-"):
                raise AssertionError("left behind: %r" % left)
        if os.path.basename(today) not in left:
            raise AssertionError("today's file removed: %r" % left)
        # --now far ahead: today's file is past 30 days, then gone.
        p = dd.ctl("log", "sweep", "--now", "2099-01-01T00:00:00Z")
        eq(day_files(dd), [], "everything past retention removed")
        p = dd.ctl("log", "sweep", "--retention-days", "0")
        eq(p.stdout.strip(), "swept 0 day file(s)", "nothing left to sweep")
    finally:
        dd.cleanup()


def test_log_bad_input():
    dd = DataDir()
    try:
        for args in (["log"], ["log", "sweep", "--now", "yesterday"],
                     ["log", "sweep", "--now"],
                     ["log", "sweep", "--retention-days", "-1"],
                     ["log", "sweep", "--retention-days", "x"],
                     ["log", "sweep", "--retention-days", "1", "--bogus", "1"],
                     ["log", "sweep", "extra"], ["log", "rotate"]):
            p = dd.ctl(*args, check=False)
            eq(p.returncode, 2, " ".join(args))
            if not p.stderr.strip():
                raise AssertionError("no message for " + " ".join(args))
        p = cdstest.run([cdstest.exe("cdsctl"), "--data",
                         os.path.join(dd.path, "missing"), "log", "sweep"],
                        check=False)
        eq(p.returncode, 2, "missing data dir")
        eq(os.path.exists(os.path.join(dd.path, "missing")), False,
           "nothing created")
    finally:
        dd.cleanup()


cdstest.main(globals())
