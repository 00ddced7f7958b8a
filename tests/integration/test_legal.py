"""test_legal: `cdsctl legal` over the query log of a real cdsd
(DESIGN.md "Legal process"): exports by scope and window, the ledger entry
of each export and its hash chain, the transparency report, and every bad
input exiting 2 with nothing written.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile

import apiutil
import cdstest
from cdstest import DataDir, Server, eq

TARGET = "tel:+15551234567"


def populated():
    """A data dir whose log holds plain lookups by two accounts and a few
    other requests, under the default (truncated) IP policy."""
    dd = DataDir()
    with Server(dd, "--plain-lookup", "on", "--durability", "sync") as srv:
        a, ta = apiutil.create_account(srv, dd, [apiutil.phone(1)])
        b, tb = apiutil.create_account(srv, dd, [apiutil.phone(2)])
        apiutil.lookup(srv, ta, [TARGET, apiutil.phone(2)])
        apiutil.lookup(srv, tb, [TARGET])
        apiutil.lookup(srv, tb, [apiutil.phone(3)])
        srv.request("GET", "/v1/params")
    return dd, a, b


def ledger_rows(dd):
    path = os.path.join(dd.path, "legal", "ledger.sqlite3")
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT seq, order_id, scope_type, scope_value, "
                          "record_count, export_sha256 FROM ledger "
                          "ORDER BY seq").fetchall()
    finally:
        db.close()


def test_export_file_and_ledger():
    dd, a, b = populated()
    try:
        out = os.path.join(dd.path, "order-1.json")
        p = dd.ctl("legal", "export", "--order", "ORDER 1/2026", "--target",
                   TARGET, "--out", out)
        eq(p.stdout, "", "nothing on stdout with --out")
        eq(os.stat(out).st_mode & 0o777, 0o600, "export file mode")
        with open(out, "rb") as f:
            data = f.read()
        doc = json.loads(data)
        eq(doc["order"], "ORDER 1/2026", "order")
        eq(doc["scope"], {"type": "target", "value": TARGET}, "scope")
        eq(doc["record_count"], 2, "both lookups of the target")
        eq(sorted(r["account"] for r in doc["records"]), sorted([a, b]),
           "requesters")
        for key in ("window", "generated", "retention_days",
                    "modes_in_window", "note"):
            if key not in doc:
                raise AssertionError("header lacks " + key)
        sha = hashlib.sha256(data).hexdigest()
        rows = ledger_rows(dd)
        eq(rows, [(1, "ORDER 1/2026", "target", TARGET, 2, sha)], "ledger")
        if sha not in p.stderr:
            raise AssertionError("export hash not reported: " + p.stderr)
        # The export is never overwritten, and no second entry appears.
        p = dd.ctl("legal", "export", "--order", "ORDER 1/2026", "--target",
                   TARGET, "--out", out, check=False)
        eq(p.returncode, 2, "existing export refused")
        with open(out, "rb") as f:
            eq(f.read(), data, "export unchanged")
        eq(len(ledger_rows(dd)), 1, "no entry for the refused export")
    finally:
        dd.cleanup()


def test_requester_window_csv():
    dd, a, b = populated()
    try:
        p = dd.ctl("legal", "export", "--order", "O-2", "--requester", b,
                   "--format", "csv", "--since", "2000-01-01",
                   "--until", "2100-01-01T00:00:00Z")
        lines = p.stdout.splitlines()
        header = [l for l in lines if l.startswith("# ")]
        rows = [l for l in lines if not l.startswith("#")]
        for key in ("order", "scope", "window", "generated", "record_count",
                    "retention_days", "modes_in_window", "note"):
            if not any(l.startswith("# %s: " % key) for l in header):
                raise AssertionError("CSV header lacks " + key)
        eq(rows[0], "time,time_us,ip,ip_bits,account,endpoint,items,status,"
           "handles,via", "CSV columns")
        if len(rows) < 3:
            raise AssertionError("B's two lookups missing: %r" % rows)
        for r in rows[1:]:
            eq(r.split(",")[4], b, "only B's records")
        # A window before the log: nothing, but still a ledger entry.
        p = dd.ctl("legal", "export", "--order", "O-3", "--requester", b,
                   "--until", "2001-01-01")
        doc = json.loads(p.stdout)
        eq(doc["record_count"], 0, "empty window")
        eq(len(ledger_rows(dd)), 2, "both exports in the ledger")
    finally:
        dd.cleanup()


def test_ip_scope_truncated():
    dd, a, b = populated()
    try:
        p = dd.ctl("legal", "export", "--order", "O-4", "--ip", "127.0.0.99")
        doc = json.loads(p.stdout)
        if doc["record_count"] < 3:
            raise AssertionError("truncated records not matched: %r" % doc)
        for r in doc["records"]:
            eq((r["ip"], r["ip_bits"]), ("127.0.0.0", 24), "truncated form")
        if "truncated" not in doc["note"]:
            raise AssertionError("note does not explain truncation")
        p = dd.ctl("legal", "export", "--order", "O-5", "--ip", "127.0.1.1")
        eq(json.loads(p.stdout)["record_count"], 0, "other /24")
    finally:
        dd.cleanup()


def tampered_copy(dd, sql):
    """A copy of dd's data dir with sql applied to its ledger."""
    d = tempfile.mkdtemp(prefix="cds-test-")
    shutil.rmtree(d)
    shutil.copytree(dd.path, d)
    db = sqlite3.connect(os.path.join(d, "legal", "ledger.sqlite3"))
    db.executescript("DROP TRIGGER ledger_no_update; "
                     "DROP TRIGGER ledger_no_delete; " + sql)
    db.commit()
    db.close()
    return d


def test_verify_detects_tampering():
    dd, a, b = populated()
    try:
        for i in range(3):
            dd.ctl("legal", "export", "--order", "V-%d" % i, "--requester", a)
        p = dd.ctl("legal", "verify")
        eq(p.stdout.splitlines()[0], "ledger ok: 3 entries", "intact ledger")
        cases = [
            ("UPDATE ledger SET record_count = 99 WHERE seq = 2", "entry 2"),
            ("UPDATE ledger SET order_id = 'X' WHERE seq = 1", "entry 1"),
            ("DELETE FROM ledger WHERE seq = 2", "entry 2"),
            ("DELETE FROM ledger WHERE seq = 3", "entry 3"),
            ("UPDATE ledger SET seq = 10 WHERE seq = 1;"
             "UPDATE ledger SET seq = 1 WHERE seq = 2;"
             "UPDATE ledger SET seq = 2 WHERE seq = 10;", "entry 1"),
        ]
        for sql, where in cases:
            d = tampered_copy(dd, sql)
            try:
                p = cdstest.run([cdstest.exe("cdsctl"), "--data", d, "legal",
                                 "verify"], check=False)
                eq(p.returncode, 1, "verify after: " + sql)
                if where not in p.stderr:
                    raise AssertionError("%r: message %r does not name %s"
                                         % (sql, p.stderr, where))
                p = cdstest.run([cdstest.exe("cdsctl"), "--data", d, "legal",
                                 "transparency"], check=False)
                eq(p.returncode, 1, "no report from a broken ledger")
            finally:
                shutil.rmtree(d, ignore_errors=True)
    finally:
        dd.cleanup()


def test_transparency():
    dd, a, b = populated()
    try:
        p = dd.ctl("legal", "verify")
        eq(p.stdout.splitlines()[0],
           "ledger ok: 0 entries (no disclosures recorded)",
           "no ledger yet")
        doc = json.loads(dd.ctl("legal", "transparency").stdout)
        eq(doc["periods"], [], "no disclosures, no periods")
        dd.ctl("legal", "export", "--order", "T-1", "--target", TARGET)
        dd.ctl("legal", "export", "--order", "T-1", "--requester", a)
        dd.ctl("legal", "export", "--order", "T-2", "--ip", "127.0.0.1")
        doc = json.loads(dd.ctl("legal", "transparency").stdout)
        last = doc["periods"][-1]
        eq((last["orders"], last["exports"]), (2, 3), "orders, exports")
        eq(last["by_scope"]["target"]["records"], 2, "target records")
        eq(last["by_scope"]["ip"]["exports"], 1, "ip exports")
        md = dd.ctl("legal", "transparency", "--format", "md",
                    "--since", "2000-01-01").stdout
        if "| window | 2 | 3 |" not in md:
            raise AssertionError("markdown report: " + md)
    finally:
        dd.cleanup()


def test_bad_input_exits_2_and_writes_nothing():
    dd, a, b = populated()
    out = os.path.join(dd.path, "x.json")
    full = os.path.join(dd.path, "full.json")
    with open(full, "w") as f:
        f.write("keep me")
    ex = ["legal", "export"]
    cases = [
        ex, ex + ["--target", TARGET],
        ex + ["--order", "", "--target", TARGET],
        ex + ["--order", "   ", "--target", TARGET],
        ex + ["--order", "O\x01", "--target", TARGET],
        ex + ["--order", "O" * 129, "--target", TARGET],
        ex + ["--order", "O"],
        ex + ["--order", "O", "--target", TARGET, "--requester", a],
        ex + ["--order", "O", "--target", TARGET, "--ip", "127.0.0.1"],
        ex + ["--order", "O", "--requester", a[:-1]],
        ex + ["--order", "O", "--requester", a + "0"],
        ex + ["--order", "O", "--requester", "z" * 32],
        ex + ["--order", "O", "--target", "+15551234567"],
        ex + ["--order", "O", "--target", "tel:+1 555 123 4567"],
        ex + ["--order", "O", "--target", "mailto:Bob@example.org"],
        ex + ["--order", "O", "--ip", "127.0.0"],
        ex + ["--order", "O", "--ip", "127.0.0.1/24"],
        ex + ["--order", "O", "--ip", "localhost"],
        ex + ["--order", "O", "--ip", "::g"],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--since", "last week"],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--until", "2026-02-30"],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--since", "2026-02-01",
              "--until", "2026-01-01"],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--format", "xml"],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--out",
              os.path.join(dd.path, "no", "such", "dir.json")],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--out", dd.path],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--out", full],
        ex + ["--order", "O", "--ip", "127.0.0.1", "--bogus", "1"],
        ex + ["--order", "O", "--ip", "127.0.0.1", "extra"],
        ex + ["--order", "O", "--ip"],
        ex + ["--order", "--ip", "127.0.0.1"],
        ex + ["--order", "O", "--order", "P", "--ip", "127.0.0.1"],
        ["legal"], ["legal", "bogus"], ["legal", "verify", "extra"],
        ["legal", "transparency", "--format", "csv"],
        ["legal", "transparency", "--since", "soon"],
        ["legal", "transparency", "--since", "2026-02-01", "--until",
         "2026-01-01"],
        ["legal", "transparency", "--bogus"],
    ]
    try:
        for args in cases:
            if "--out" not in args and args[:2] == ex:
                args = args + ["--out", out]
            p = dd.ctl(*args, check=False)
            eq(p.returncode, 2, repr(args))
            one_line = "\n" not in p.stderr.strip()
            if not p.stderr.strip() or (args[:2] == ex and not one_line):
                raise AssertionError("want one message line for %r: %r"
                                     % (args, p.stderr))
            eq(os.path.exists(os.path.join(dd.path, "legal")), False,
               "no ledger after %r" % (args,))
            eq(os.path.exists(out), False, "no export after %r" % (args,))
        with open(full) as f:
            eq(f.read(), "keep me", "existing file untouched")
        p = cdstest.run([cdstest.exe("cdsctl"), "--data",
                         os.path.join(dd.path, "missing"), "legal", "export",
                         "--order", "O", "--ip", "127.0.0.1"], check=False)
        eq(p.returncode, 2, "missing data dir")
        for args in (ex + ["--help"], ["legal", "verify", "--help"],
                     ["legal", "transparency", "--help"], ["legal", "--help"]):
            p = dd.ctl(*args)
            if "usage" not in p.stdout:
                raise AssertionError("no usage for %r" % (args,))
        eq(os.path.exists(os.path.join(dd.path, "legal")), False,
           "help writes nothing")
    finally:
        dd.cleanup()


cdstest.main(globals())
