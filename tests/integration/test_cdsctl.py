"""test_cdsctl: the operator's commands that build a directory: init,
account add/remove, import, synth and key rotate/list.  Every command's
happy path, --help, exit codes 1 (runtime failure) and 2 (usage error) with
a one-line message naming the bad input, and that a bad import writes
nothing.  One test checks that an account added while cdsd runs reaches it."""
import base64
import json
import os
import re
import shutil
import sqlite3
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from cdstest import eq  # noqa: E402

KEY = base64.b64encode(bytes(range(32))).decode()


def ctl(dd, *args, input=None):
    return dd.ctl(*args, check=False, input=input)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def counts(dd):
    db = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
    try:
        a = db.execute("SELECT count(*) FROM accounts").fetchone()[0]
        h = db.execute("SELECT count(*) FROM handles").fetchone()[0]
        return a, h
    finally:
        db.close()


def prefix_bits(path):
    db = sqlite3.connect(os.path.join(path, "cds.sqlite3"))
    try:
        return db.execute("SELECT prefix_bits FROM meta").fetchone()[0]
    finally:
        db.close()


def expect_fail(p, code, *words):
    """Exit code `code` and one stderr line holding every word."""
    eq(p.returncode, code, "exit code (stderr: %r)" % p.stderr)
    lines = p.stderr.strip().splitlines()
    if not lines or not lines[-1].startswith("cdsctl: "):
        raise AssertionError("no 'cdsctl: ' error line: %r" % p.stderr)
    for w in words:
        if w not in p.stderr:
            raise AssertionError("stderr %r does not name %r" % (p.stderr, w))


def test_help():
    dd = cdstest.DataDir(init=False)
    try:
        for args in (["--help"], ["init", "--help"], ["account", "--help"],
                     ["account", "add", "--help"],
                     ["account", "remove", "--help"], ["import", "--help"],
                     ["synth", "--help"], ["key", "--help"],
                     ["key", "rotate", "--help"], ["key", "list", "--help"]):
            p = ctl(dd, *args)
            eq(p.returncode, 0, "exit of %s" % args)
            if "usage" not in p.stdout.lower():
                raise AssertionError("%s: no usage: %r" % (args, p.stdout))
        # Help works without --data too.
        p = cdstest.run([cdstest.exe("cdsctl"), "import", "--help"],
                        check=False)
        eq(p.returncode, 0, "import --help without --data")
    finally:
        dd.cleanup()


def test_usage_errors():
    dd = cdstest.DataDir(init=False)
    try:
        p = cdstest.run([cdstest.exe("cdsctl"), "init"], check=False)
        expect_fail(p, 2, "--data")
        expect_fail(ctl(dd, "frobnicate"), 2, "frobnicate")
        expect_fail(ctl(dd, "key", "spin"), 2, "spin")
        eq(ctl(dd, "account").returncode, 2, "account without a command")
        expect_fail(ctl(dd, "init", "--prefix-bits", "25"), 2, "25")
        expect_fail(ctl(dd, "init", "--prefix-bits", "x"), 2, "'x'")
        expect_fail(ctl(dd, "init", "--prefix-bits", "3",
                        "--expected-handles", "9"), 2, "not both")
        expect_fail(ctl(dd, "init", "--bogus", "1"), 2, "--bogus")
        eq(os.path.exists(os.path.join(dd.path, "cds.sqlite3")), False,
           "usage errors create nothing")
    finally:
        dd.cleanup()


def test_init():
    base = tempfile.mkdtemp(prefix="cds-test-")
    try:
        path = os.path.join(base, "data")
        p = cdstest.run([cdstest.exe("cdsctl"), "--data", path, "init"])
        for what in ("cds.sqlite3", "keys", "admin.token"):
            if what not in p.stdout:
                raise AssertionError("init does not say it made %s: %r" %
                                     (what, p.stdout))
        eq(mode(path), 0o700, "data directory mode")
        eq(mode(os.path.join(path, "admin.token")), 0o600, "admin.token mode")
        eq(mode(os.path.join(path, "cds.sqlite3")), 0o600, "store mode")
        eq(mode(os.path.join(path, "keys")), 0o700, "keys directory mode")
        eq(mode(os.path.join(path, "keys", "epoch-1.key")), 0o600, "key mode")
        tkey = os.path.join(path, "keys", "transparency.key")
        eq(mode(tkey), 0o600, "transparency key mode")
        with open(tkey) as f:
            seed = f.read()
        if not re.fullmatch(r"[A-Za-z0-9+/]{43}=\n", seed):
            raise AssertionError("transparency key shape: %r" % seed)
        if "transparency.key" not in p.stdout:
            raise AssertionError("init does not say it made the "
                                 "transparency key: %r" % p.stdout)
        with open(os.path.join(path, "admin.token")) as f:
            tok = f.read().strip()
        if not re.fullmatch(r"admin\.[A-Za-z0-9_-]{43}", tok):
            raise AssertionError("admin token shape: %r" % tok)
        eq(prefix_bits(path), 14, "default prefix bits (1,000,000 handles)")
        # A second init refuses and changes nothing.
        p = cdstest.run([cdstest.exe("cdsctl"), "--data", path, "init"],
                        check=False)
        expect_fail(p, 1, path)
        with open(os.path.join(path, "admin.token")) as f:
            eq(f.read().strip(), tok, "admin token kept")
        with open(tkey) as f:
            eq(f.read(), seed, "transparency key kept")
        # Prefix bits from the expected size, or given.
        for args, bits in ((["--expected-handles", "100"], 1),
                           (["--expected-handles", "10000000"], 17),
                           (["--prefix-bits", "0"], 0),
                           (["--prefix-bits=24"], 24)):
            d = os.path.join(base, "d%d" % bits)
            cdstest.run([cdstest.exe("cdsctl"), "--data", d, "init"] + args)
            eq(prefix_bits(d), bits, "prefix bits for %s" % args)
        # A data directory whose parent is missing: a runtime failure.
        p = cdstest.run([cdstest.exe("cdsctl"), "--data",
                         os.path.join(base, "no", "such"), "init"],
                        check=False)
        expect_fail(p, 1, "no/such")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_account_add_remove():
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        p = ctl(dd, "account", "add", "--identity-key", KEY,
                "tel:+15551230001", "mailto:a@example.org")
        eq(p.returncode, 0, "account add: " + p.stderr)
        out = json.loads(p.stdout)
        eq(sorted(out), ["account", "token"], "account add output")
        if not re.fullmatch(r"[0-9a-f]{32}", out["account"]):
            raise AssertionError("account id: %r" % out["account"])
        if not re.fullmatch(re.escape(out["account"]) + r"\.[A-Za-z0-9_-]{43}",
                            out["token"]):
            raise AssertionError("token shape: %r" % out["token"])
        eq(counts(dd), (1, 2), "one account, two handles")

        expect_fail(ctl(dd, "account", "add", "--identity-key", KEY,
                        "tel:+15551230001"), 1, "tel:+15551230001")
        expect_fail(ctl(dd, "account", "add", "--identity-key", "abc",
                        "tel:+15551230002"), 2, "abc")
        expect_fail(ctl(dd, "account", "add", "--identity-key", KEY,
                        "5551230002"), 2, "5551230002")
        expect_fail(ctl(dd, "account", "add", "--identity-key", KEY), 2,
                    "HANDLE")
        expect_fail(ctl(dd, "account", "add", "tel:+15551230002"), 2,
                    "--identity-key")
        eq(counts(dd), (1, 2), "failed adds wrote nothing")

        p = ctl(dd, "account", "remove", out["account"])
        eq(p.returncode, 0, "remove: " + p.stderr)
        eq(counts(dd), (0, 0), "account and handles removed")
        expect_fail(ctl(dd, "account", "remove", out["account"]), 1,
                    out["account"])
        expect_fail(ctl(dd, "account", "remove", "xyz"), 2, "xyz")
        expect_fail(ctl(dd, "account", "remove"), 2)
    finally:
        dd.cleanup()


def write(path, text, mode_=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode_)


def test_import():
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        csv = os.path.join(dd.path, "book.csv")
        toks = os.path.join(dd.path, "tokens.csv")
        write(csv, "handle,identity_key\n"
                   "tel:+15550000001,%s\n\n"
                   "tel:+15550000002,%s\r\n"
                   "mailto:c@example.org,%s\n" % (KEY, KEY, KEY))
        p = ctl(dd, "import", csv, "--tokens", toks)
        eq(p.returncode, 0, "import: " + p.stderr)
        if "imported 3" not in p.stdout:
            raise AssertionError("import summary: %r" % p.stdout)
        eq(counts(dd), (3, 3), "imported")
        eq(mode(toks), 0o600, "tokens file mode")
        with open(toks) as f:
            rows = [line.strip().split(",") for line in f]
        eq(len(rows), 3, "one token per account")
        for acct, tok in rows:
            if not tok.startswith(acct + "."):
                raise AssertionError("token row %r" % [acct, tok])
        # --tokens never overwrites.
        write(csv, "tel:+15550000004,%s\n" % KEY)
        expect_fail(ctl(dd, "import", csv, "--tokens", toks), 1, toks)
        eq(counts(dd), (3, 3), "refused import wrote nothing")
    finally:
        dd.cleanup()


def test_import_bad_file_writes_nothing():
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        dd.ctl("account", "add", "--identity-key", KEY, "tel:+15550000009")
        csv = os.path.join(dd.path, "bad.csv")
        toks = os.path.join(dd.path, "tokens.csv")
        write(csv, "tel:+15550000001,%s\n"      # 1 fine
                   "not a line\n"               # 2
                   "tel:+15550000001,%s\n"      # 3 repeats 1
                   "tel:+15550000009,%s\n"      # 4 registered
                   "tel:+15550000005,short\n"   # 5 bad key
                   "tel:+15550000006,%s\n" % (KEY, KEY, KEY, KEY))
        p = ctl(dd, "import", csv, "--tokens", toks)
        expect_fail(p, 1, "line 2", "line 3", "line 4", "line 5",
                    "tel:+15550000009", "'short'", "nothing was imported")
        if "line 1:" in p.stderr or "line 6" in p.stderr:
            raise AssertionError("good lines reported: %r" % p.stderr)
        eq(counts(dd), (1, 1), "nothing imported")
        eq(os.path.exists(toks), False, "no tokens file left behind")
        # Many bad lines: the first 20 by number, then a count.
        write(csv, "".join("bad %d\n" % i for i in range(30)))
        p = ctl(dd, "import", csv)
        expect_fail(p, 1, "line 20:", "10 more")
        if "line 21:" in p.stderr:
            raise AssertionError("more than 20 lines reported")
        expect_fail(ctl(dd, "import", os.path.join(dd.path, "none.csv")), 1,
                    "none.csv")
        expect_fail(ctl(dd, "import"), 2, "FILE")
        expect_fail(ctl(dd, "import", csv, "--frob"), 2, "--frob")
        expect_fail(ctl(dd, "import", csv, csv), 2)
        eq(counts(dd), (1, 1), "still nothing imported")
    finally:
        dd.cleanup()


def test_synth():
    dd = cdstest.DataDir(prefix_bits=4)
    dd2 = cdstest.DataDir(prefix_bits=4)
    try:
        out = os.path.join(dd.path, "handles.txt")
        p = ctl(dd, "synth", "--count", "300", "--seed", "9", "--out", out)
        eq(p.returncode, 0, "synth: " + p.stderr)
        with open(out) as f:
            handles = f.read().splitlines()
        eq(len(handles), 300, "one handle a line")
        eq(len(set(handles)), 300, "distinct handles")
        eq(handles, sorted(handles), "in registration (ascending) order")
        for h in handles:
            if not re.fullmatch(r"tel:\+1[2-9]\d{2}[2-9]\d{6}", h):
                raise AssertionError("not a valid US number: %r" % h)
        eq(counts(dd), (300, 300), "registered")
        db = sqlite3.connect(os.path.join(dd.path, "cds.sqlite3"))
        stored = sorted(r[0] for r in db.execute("SELECT handle FROM handles"))
        db.close()
        eq(stored, handles, "the file lists exactly the registered handles")

        # Deterministic: the same seed elsewhere gives the same handles.
        out2 = os.path.join(dd2.path, "h.txt")
        dd2.ctl("synth", "--count", "300", "--seed", "9", "--out", out2)
        with open(out2) as f:
            eq(f.read().splitlines(), handles, "same seed, same handles")
        # The same seed again here: refused, nothing written, file kept.
        p = ctl(dd, "synth", "--count", "10", "--seed", "9", "--out", out)
        expect_fail(p, 1, "already registered", "seed 9")
        eq(counts(dd), (300, 300), "nothing written")
        with open(out) as f:
            eq(len(f.read().splitlines()), 300, "earlier --out file kept")
        dd.ctl("synth", "--count", "5", "--seed", "10")
        eq(counts(dd), (305, 305), "another seed")

        expect_fail(ctl(dd, "synth"), 2, "--count")
        expect_fail(ctl(dd, "synth", "--count", "0"), 2, "'0'")
        expect_fail(ctl(dd, "synth", "--count", "ten"), 2, "ten")
        expect_fail(ctl(dd, "synth", "--count", "5", "--seed", "-1"), 2, "-1")
        expect_fail(ctl(dd, "synth", "--count", "5", "extra"), 2, "extra")
    finally:
        dd.cleanup()
        dd2.cleanup()


def test_key_rotate_list():
    dd = cdstest.DataDir(prefix_bits=4)
    nodd = cdstest.DataDir(init=False)
    try:
        eq(dd.ctl("key", "rotate").stdout.strip(), "2", "new epoch printed")
        eq(dd.ctl("key", "rotate").stdout.strip(), "3", "and the next")
        eq(mode(os.path.join(dd.path, "keys", "epoch-3.key")), 0o600,
           "new key mode")
        lines = dd.ctl("key", "list").stdout.strip().splitlines()
        eq([ln.split()[1] for ln in lines], ["3", "2", "1"], "newest first")
        for ln in lines:
            pk = ln.split("public_key ")[1].split()[0]
            eq(len(base64.b64decode(pk, validate=True)), 32, "public key")
        expect_fail(ctl(nodd, "key", "rotate"), 1, "init")
        expect_fail(ctl(dd, "key", "rotate", "now"), 2, "now")
    finally:
        dd.cleanup()
        nodd.cleanup()


def test_cdsd_sees_changes():
    """Accounts that cdsctl adds or removes while cdsd runs reach it within
    5 seconds (DESIGN.md): the new token authenticates, the removed one
    stops working."""
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        with cdstest.Server(dd) as srv:
            out = json.loads(dd.ctl(
                "account", "add", "--identity-key", KEY,
                "tel:+15557770001").stdout)
            body = {"identity_key": KEY}

            def status():
                return srv.request("PUT", "/v1/accounts/me/identity_key",
                                   body=body, token=out["token"])[0]

            deadline = time.time() + 5
            while status() != 200:
                if time.time() > deadline:
                    raise AssertionError("cdsd did not see the new account")
                time.sleep(0.1)
            dd.ctl("account", "remove", out["account"])
            deadline = time.time() + 5
            while status() != 401:
                if time.time() > deadline:
                    raise AssertionError("cdsd still accepts a removed account")
                time.sleep(0.1)
    finally:
        dd.cleanup()


cdstest.main(globals())
